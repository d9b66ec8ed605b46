//! The writable configuration nested runtimes and systemd need. A nesting host (or a container
//! booting systemd) on the built-in root gets its own /etc: a tmpfs in the container's mount
//! namespace, filled like the plain generated /etc plus the system users and groups that
//! systemd, D-Bus, LXC, LXD, Docker and apt run as, a fresh machine-id and the directories
//! Docker and Podman keep their configuration in; /root becomes a tmpfs too (HOME). Both vanish
//! with the mount namespace when the container stops, and nothing of the host's /etc is bound
//! writable. Then, on the built-in root and a tarball's tree (lxnest's own copy; a `dir:` rootfs
//! is the user's and stays untouched), the files of [`crate::runtimes`] are written inside the
//! root without following the container's symlinks ([`super::inroot`]).

use super::{builtin, RootfsError};
use crate::inroot;
use crate::mounts::{mkdir_p, mount_fs};
use crate::plan::model::{LevelPlan, RootfsPlan};
use crate::runtimes::WriteMode;
use nix::mount::MsFlags;
use std::path::Path;

/// /etc/passwd of a nesting host: root, nobody and the system users runtimes and systemd need.
pub const SYSTEM_PASSWD: &str = include_str!("../../policy/rootfs/system-passwd");
/// /etc/group of a nesting host.
pub const SYSTEM_GROUP: &str = include_str!("../../policy/rootfs/system-group");

/// Whether the container gets the writable system /etc: it hosts a runtime, boots systemd or
/// starts lxnest children (`nesting`).
pub fn wanted(plan: &LevelPlan, nesting: bool) -> bool {
    nesting || plan.runtime.is_some() || plan.init.environment.contains_key("LXNEST_RUNTIMES")
}

/// A machine-id: 128 random bits as 32 hex digits (what systemd-machine-id-setup writes).
fn machine_id() -> Result<String, RootfsError> {
    let mut b = [0u8; 16];
    // SAFETY: `b` is a valid buffer of the length passed; getrandom writes at most that many.
    let n = unsafe { libc::getrandom(b.as_mut_ptr().cast(), b.len(), 0) };
    if n != b.len() as isize {
        return Err(RootfsError::Write {
            path: "/etc/machine-id".into(),
            source: std::io::Error::last_os_error(),
        });
    }
    Ok(b.iter().map(|x| format!("{x:02x}")).collect::<String>() + "\n")
}

fn werr(path: &Path) -> impl FnOnce(std::io::Error) -> RootfsError + '_ {
    move |source| RootfsError::Write {
        path: path.into(),
        source,
    }
}

/// The built-in root's writable /etc and /root (see the module text).
fn builtin_etc(root: &Path, plan: &LevelPlan) -> Result<(), RootfsError> {
    let etc = root.join("etc");
    let flags = MsFlags::MS_NOSUID | MsFlags::MS_NODEV;
    mount_fs("tmpfs", &etc, flags, Some("mode=755,size=16m"))?;
    builtin::populate_etc(root, &plan.init.hostname)?;
    for (name, text) in [
        ("passwd", SYSTEM_PASSWD.to_string()),
        ("group", SYSTEM_GROUP.to_string()),
        ("machine-id", machine_id()?),
    ] {
        let p = etc.join(name);
        std::fs::write(&p, text).map_err(werr(&p))?;
    }
    for d in ["containers", "docker", "lxc", "default", "systemd/system"] {
        mkdir_p(&etc.join(d))?;
    }
    let home = root.join("root");
    mkdir_p(&home)?;
    mount_fs("tmpfs", &home, flags, Some("mode=700,size=64m"))?;
    Ok(())
}

/// Reads `path` inside `root` (resolved in it); `None` when it does not exist.
fn read(root: &std::os::fd::OwnedFd, path: &Path) -> std::io::Result<Option<String>> {
    match inroot::open_in_root(root, path, libc::O_RDONLY | libc::O_NONBLOCK) {
        Ok(fd) => std::io::read_to_string(std::fs::File::from(fd)).map(Some),
        Err(e) if e.raw_os_error() == Some(libc::ENOENT) => Ok(None),
        Err(e) => Err(e),
    }
}

/// Prepares the configuration of `plan`'s runtime in the root at `root` (before pivot_root);
/// `nesting` when the container starts lxnest children.
pub fn prepare(root: &Path, plan: &LevelPlan, nesting: bool) -> Result<(), RootfsError> {
    if !wanted(plan, nesting) {
        return Ok(());
    }
    match plan.rootfs {
        RootfsPlan::Builtin => builtin_etc(root, plan)?,
        // A directory rootfs is the user's own tree, bound in place: lxnest changes nothing in
        // it (`lxnest generate` gives the same files to copy in).
        RootfsPlan::Dir(_) => return Ok(()),
        RootfsPlan::Tar(_) => {}
    }
    let files = crate::runtimes::files(plan).map_err(|e| RootfsError::Write {
        path: root.join("etc"),
        source: std::io::Error::other(e),
    })?;
    if files.is_empty() {
        return Ok(());
    }
    let fd = inroot::create::open_root(root).map_err(werr(root))?;
    for f in files {
        let path = Path::new(f.path);
        let text = match f.mode {
            WriteMode::Replace => f.text,
            WriteMode::MergeRootLine => {
                let old = read(&fd, path).map_err(werr(path))?;
                crate::runtimes::merge_root_line(old.as_deref().unwrap_or(""), &f.text)
            }
            WriteMode::IfAbsent => match read(&fd, path).map_err(werr(path))? {
                Some(_) => continue,
                None => f.text,
            },
        };
        inroot::create::write(&fd, path, &text, 0o644).map_err(werr(path))?;
    }
    Ok(())
}
