//! Mount helpers used inside the container's mount namespace, and the plan's own mounts.
//!
//! Read-only binds are made in two steps (bind, then remount) because the kernel ignores
//! MS_RDONLY on the first call; the remount keeps the flags the source mount already had
//! (nosuid, nodev, noexec), since in a user namespace those are locked and dropping one is EPERM.

use crate::inroot::create::{mount_point, open_root, Kind};
use crate::inroot::{fd_path, openat2, IN_ROOT};
use crate::plan::model::MountPlan;
use nix::mount::{mount, MsFlags};
use nix::sys::statvfs::{statvfs, FsFlags};
use std::os::fd::OwnedFd;
use std::path::{Path, PathBuf};

/// A mount operation that failed.
#[derive(Debug, thiserror::Error)]
#[error("{op} {target}: {message}")]
pub struct MountError {
    /// What was attempted (`bind /usr`, `mount proc`, `mkdir`).
    pub op: String,
    /// The target path.
    pub target: PathBuf,
    /// The OS error.
    pub message: String,
}

/// Result alias for mount helpers.
pub type MResult<T = ()> = Result<T, MountError>;

fn err(op: impl Into<String>, target: &Path) -> impl FnOnce(nix::Error) -> MountError {
    let op = op.into();
    let target = target.to_path_buf();
    move |e| MountError {
        op,
        target,
        message: e.to_string(),
    }
}

fn ioerr(op: &'static str, target: &Path) -> impl FnOnce(std::io::Error) -> MountError {
    let target = target.to_path_buf();
    move |e| MountError {
        op: op.into(),
        target,
        message: e.to_string(),
    }
}

/// `<root>/<name>` as a real directory of the container's tree, created when missing, where
/// lxnest mounts a filesystem of its own (/proc, /sys, /dev): a symlink there would steer the
/// mount, and every path lxnest then builds below it, out of the tree, so it is refused. Below
/// it, everything is the fresh filesystem lxnest mounts, which the container does not control.
pub fn own_dir(root: &Path, name: &str) -> MResult<PathBuf> {
    let dir = root.join(name);
    let rootfd = open_root(root).map_err(ioerr("open", root))?;
    match nix::sys::stat::mkdirat(
        &rootfd,
        name,
        nix::sys::stat::Mode::from_bits_truncate(0o755),
    ) {
        Ok(()) | Err(nix::errno::Errno::EEXIST) => {}
        Err(e) => return Err(err("mkdir", &dir)(e)),
    }
    let st = nix::sys::stat::fstatat(&rootfd, name, nix::fcntl::AtFlags::AT_SYMLINK_NOFOLLOW)
        .map_err(err("stat", &dir))?;
    if st.st_mode & libc::S_IFMT != libc::S_IFDIR {
        return Err(MountError {
            op: "mount point".into(),
            target: dir,
            message: format!(
                "/{name} in the container's tree is a symlink or not a directory; lxnest mounts its own /{name} there: make it an empty directory"
            ),
        });
    }
    Ok(dir)
}

/// A mount target resolved inside a container's tree, held open: [`InRoot::path`] names exactly
/// that place (`/proc/self/fd/N`) for mount(2), whatever the tree's symlinks say later.
#[derive(Debug)]
pub struct InRoot(OwnedFd);

impl InRoot {
    /// The path naming the resolved target.
    pub fn path(&self) -> PathBuf {
        fd_path(&self.0)
    }
}

/// Resolves `target` (a path inside the container) under `root` with RESOLVE_IN_ROOT, creating
/// the mount point (a directory, or an empty file when `src` is not a directory).
pub fn target_in(root: &OwnedFd, target: &str, src_is_dir: bool) -> MResult<InRoot> {
    let kind = if src_is_dir { Kind::Dir } else { Kind::File };
    let at = mount_point(root, Path::new(target), kind)
        .map_err(ioerr("mount point", Path::new(target)))?;
    // A symlink in the tree (`data -> /`) may resolve the target to the root itself: a mount
    // there would stand in for the whole tree at every later step, so it is refused.
    let id = |fd: &OwnedFd| nix::sys::stat::fstat(fd).map(|s| (s.st_dev, s.st_ino));
    if id(&at).ok() == id(root).ok() {
        return Err(MountError {
            op: "mount point".into(),
            target: PathBuf::from(target),
            message: "resolves to the container's root directory (a symlink in its tree?); mount targets must be below it".into(),
        });
    }
    Ok(InRoot(at))
}

/// `target` resolved again after something was mounted on it: the new mount's root.
pub fn reopen(root: &OwnedFd, target: &str) -> MResult<InRoot> {
    let rel = target.trim_start_matches('/');
    let rel = if rel.is_empty() { "." } else { rel };
    openat2(root, Path::new(rel), libc::O_PATH, IN_ROOT)
        .map(InRoot)
        .map_err(ioerr("reopen", Path::new(target)))
}

/// Binds `src` (a path of the launcher's filesystem) onto `target` inside the tree at `root`,
/// resolved there; returns the new mount, for remounts.
pub fn bind_in(root: &OwnedFd, src: &Path, target: &str, rec: bool) -> MResult<InRoot> {
    let at = target_in(root, target, src.is_dir())?;
    let mut flags = MsFlags::MS_BIND;
    if rec {
        flags |= MsFlags::MS_REC;
    }
    mount(Some(src), &at.path(), None::<&str>, flags, None::<&str>)
        .map_err(err(format!("bind {}", src.display()), Path::new(target)))?;
    reopen(root, target)
}

/// The tree at `root` as a descriptor for [`target_in`] and [`bind_in`].
pub fn root_fd(root: &Path) -> MResult<OwnedFd> {
    open_root(root).map_err(ioerr("open", root))
}

/// `mkdir -p`.
pub fn mkdir_p(p: &Path) -> MResult {
    std::fs::create_dir_all(p).map_err(ioerr("mkdir", p))
}

/// Makes sure `p` exists as a mount point of the same kind as `like` (file or directory).
pub fn mount_point_like(like: &Path, p: &Path) -> MResult {
    if like.is_dir() {
        return mkdir_p(p);
    }
    if let Some(parent) = p.parent() {
        mkdir_p(parent)?;
    }
    if !p.exists() {
        std::fs::File::create(p).map_err(ioerr("create", p))?;
    }
    Ok(())
}

/// Mounts a filesystem.
pub fn mount_fs(fstype: &str, target: &Path, flags: MsFlags, data: Option<&str>) -> MResult {
    mount(Some(fstype), target, Some(fstype), flags, data)
        .map_err(err(format!("mount {fstype}"), target))
}

/// Bind-mounts `src` on `target` (recursively when `rec`), creating the mount point.
pub fn bind(src: &Path, target: &Path, rec: bool) -> MResult {
    mount_point_like(src, target)?;
    let mut flags = MsFlags::MS_BIND;
    if rec {
        flags |= MsFlags::MS_REC;
    }
    mount(Some(src), target, None::<&str>, flags, None::<&str>)
        .map_err(err(format!("bind {}", src.display()), target))
}

/// The flags a mount already has, as remount flags (locked flags must be repeated on remount).
fn kept_flags(target: &Path) -> MResult<MsFlags> {
    let st = statvfs(target).map_err(err("statvfs", target))?;
    let f = st.flags();
    let mut out = MsFlags::empty();
    for (fs, ms) in [
        (FsFlags::ST_NOSUID, MsFlags::MS_NOSUID),
        (FsFlags::ST_NODEV, MsFlags::MS_NODEV),
        (FsFlags::ST_NOEXEC, MsFlags::MS_NOEXEC),
        (FsFlags::ST_NOATIME, MsFlags::MS_NOATIME),
        (FsFlags::ST_NODIRATIME, MsFlags::MS_NODIRATIME),
        (FsFlags::ST_RELATIME, MsFlags::MS_RELATIME),
    ] {
        if f.contains(fs) {
            out |= ms;
        }
    }
    Ok(out)
}

/// Remounts the mount at `target` read-only (plus `extra`), keeping its other flags.
pub fn remount_ro(target: &Path, extra: MsFlags) -> MResult {
    let flags =
        kept_flags(target)? | extra | MsFlags::MS_BIND | MsFlags::MS_REMOUNT | MsFlags::MS_RDONLY;
    mount(None::<&str>, target, None::<&str>, flags, None::<&str>)
        .map_err(err("remount ro", target))
}

/// A read-only bind of `src` on `target`.
pub fn bind_ro(src: &Path, target: &Path, rec: bool) -> MResult {
    bind(src, target, rec)?;
    remount_ro(target, MsFlags::empty())
}

/// `target` inside `root` (plan targets are absolute paths inside the container).
pub fn inside(root: &Path, target: &str) -> PathBuf {
    root.join(target.trim_start_matches('/'))
}

/// Flags and leftover data options of a plan mount's `-o` list.
pub fn parse_options(options: &[String]) -> (MsFlags, bool, String) {
    let mut flags = MsFlags::empty();
    let mut ro = false;
    let mut data = Vec::new();
    for o in options {
        match o.as_str() {
            "ro" => ro = true,
            "rw" | "defaults" | "bind" => {}
            "rbind" => flags |= MsFlags::MS_REC,
            "nosuid" => flags |= MsFlags::MS_NOSUID,
            "nodev" => flags |= MsFlags::MS_NODEV,
            "noexec" => flags |= MsFlags::MS_NOEXEC,
            "noatime" => flags |= MsFlags::MS_NOATIME,
            "relatime" => flags |= MsFlags::MS_RELATIME,
            other => data.push(other.to_string()),
        }
    }
    (flags, ro, data.join(","))
}

/// Performs the plan's own mounts, in order, under `root` (before pivot_root, so that bind
/// sources name paths of the parent's filesystem). Targets are resolved inside the tree.
pub fn apply_plan_mounts(root: &Path, mounts: &[MountPlan]) -> MResult {
    if mounts.is_empty() {
        return Ok(());
    }
    let rootfd = root_fd(root)?;
    for m in mounts {
        let (flags, ro, data) = parse_options(&m.options);
        if m.fstype == "bind" {
            let src = Path::new(&m.source);
            let at = bind_in(&rootfd, src, &m.target, flags.contains(MsFlags::MS_REC))?;
            let target = at.path();
            let extra = flags & !MsFlags::MS_REC;
            if ro {
                remount_ro(&target, extra)?;
            } else if !extra.is_empty() {
                let f = kept_flags(&target)? | extra | MsFlags::MS_BIND | MsFlags::MS_REMOUNT;
                mount(None::<&str>, &target, None::<&str>, f, None::<&str>)
                    .map_err(err("remount", Path::new(&m.target)))?;
            }
        } else {
            let at = target_in(&rootfd, &m.target, true)?;
            let mut f = flags;
            if ro {
                f |= MsFlags::MS_RDONLY;
            }
            let data = (!data.is_empty()).then_some(data.as_str());
            mount(
                Some(m.source.as_str()),
                &at.path(),
                Some(m.fstype.as_str()),
                f,
                data,
            )
            .map_err(err(
                format!("mount {} ({})", m.source, m.origin),
                Path::new(&m.target),
            ))?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn options_split_into_flags_and_data() {
        let o: Vec<String> = ["ro", "nosuid", "size=10m", "rbind", "mode=755"]
            .map(String::from)
            .to_vec();
        let (f, ro, data) = parse_options(&o);
        assert!(ro);
        assert!(f.contains(MsFlags::MS_NOSUID | MsFlags::MS_REC));
        assert_eq!(data, "size=10m,mode=755");
        assert_eq!(
            inside(Path::new("/r"), "/usr/bin"),
            PathBuf::from("/r/usr/bin")
        );
    }
}
