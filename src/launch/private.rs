//! Who may see a container from the host. A container's tree holds files the container
//! controls, setuid programs among them: a host user who can reach one runs it with the
//! container's ids (a planted setuid binary once gave a host user euid 100000 and the power to
//! signal two containers' inits). State files hold the plan (environment, hooks) and the
//! console. So, for root:
//!
//! - the directories that hold unpacked trees (`/var/lib/lxnest/rootfs`, `<statedir>/.rootfs`)
//!   are 0700 root; the cloned child opens its tree before it becomes the container's root and
//!   binds it through that descriptor (`/proc/self/fd/N`), so the container's root never walks
//!   the path (a descriptor opened by the parent would not do: its mount belongs to the
//!   parent's mount namespace, and the kernel refuses to bind it from the child's);
//! - `<statedir>/<name>/` is 0710, group the container's mapped root group (which must still
//!   reach `rootfs/` and `mount/` below it after its identity change), 0700 without a user
//!   namespace;
//! - `state.json`, `console.log` and `.defined/*.json` are 0600, their directories 0700.
//!
//! An unprivileged user's state and trees sit in that user's own directories
//! (`$XDG_RUNTIME_DIR`, `~/.local/share`), whose modes are the user's; files are 0600 there too.

use crate::plan::model::LevelPlan;
use std::io;
use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

/// Mode of the directories that hold container trees and definitions.
pub const DIR_MODE: u32 = 0o700;
/// Mode of a container's state directory when its root group may traverse it.
pub const STATE_DIR_MODE: u32 = 0o710;
/// Mode of state files.
pub const FILE_MODE: u32 = 0o600;

fn is_root() -> bool {
    nix::unistd::geteuid().is_root()
}

/// Creates `dir` (and its parents) and, for root, makes it 0700 even when it already existed
/// with a looser mode (trees unpacked by older versions sat in a 0755 directory).
pub fn private_dir(dir: &Path) -> io::Result<()> {
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(DIR_MODE)
        .create(dir)?;
    if is_root() {
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(DIR_MODE))?;
    }
    Ok(())
}

/// Restricts a freshly made container state directory (see the module documentation).
pub fn restrict_state_dir(dir: &Path, plan: &LevelPlan) -> io::Result<()> {
    if !is_root() {
        return std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o711));
    }
    let group = plan
        .idmap
        .as_ref()
        .and_then(|m| super::idmap::outside_of(&m.gid, 0));
    let mode = match group.map(|gid| std::os::unix::fs::chown(dir, None, Some(gid))) {
        Some(Ok(())) => STATE_DIR_MODE,
        // The group is not mapped where we run (a nested launcher handed a map in another
        // namespace's ids): others may traverse but not list, and the files stay 0600.
        Some(Err(e)) if matches!(e.raw_os_error(), Some(libc::EINVAL | libc::EPERM)) => 0o711,
        Some(Err(e)) => return Err(e),
        None => DIR_MODE,
    };
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(mode))
}

/// Opens (creating it 0600, or truncating) a state file; the mode is also forced on a file
/// that already existed.
pub fn create_file(path: &Path, append: bool) -> io::Result<std::fs::File> {
    let f = std::fs::OpenOptions::new()
        .create(true)
        .write(true)
        .append(append)
        .truncate(!append)
        .mode(FILE_MODE)
        .open(path)?;
    f.set_permissions(std::fs::Permissions::from_mode(FILE_MODE))?;
    Ok(f)
}

/// Writes a state file with mode 0600.
pub fn write_file(path: &Path, text: &str) -> io::Result<()> {
    use std::io::Write;
    create_file(path, false)?.write_all(text.as_bytes())
}

/// A directory held open (`O_PATH`) by the launcher, reachable by the cloned child, which
/// shares the descriptor table copy, at `/proc/self/fd/N` without walking the path.
#[derive(Debug)]
pub struct Held {
    fd: OwnedFd,
}

impl Held {
    /// Opens `dir`.
    pub fn open(dir: &Path) -> io::Result<Held> {
        let fd = nix::fcntl::open(
            dir,
            nix::fcntl::OFlag::O_PATH
                | nix::fcntl::OFlag::O_DIRECTORY
                | nix::fcntl::OFlag::O_CLOEXEC,
            nix::sys::stat::Mode::empty(),
        )
        .map_err(io::Error::from)?;
        Ok(Held { fd })
    }

    /// The path the child uses.
    pub fn proc_path(&self) -> PathBuf {
        PathBuf::from(format!("/proc/self/fd/{}", self.fd.as_raw_fd()))
    }
}

/// In the cloned child, before its identity change (while it still has the launcher's uid,
/// which owns the 0700 directory above the tree): the unpacked tree held open, so the rootfs
/// step can bind it by descriptor from the child's own mount namespace. `None` without a tree.
pub fn hold_tree(tree: Option<&Path>) -> io::Result<Option<Held>> {
    tree.map(Held::open).transpose()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::MetadataExt;

    #[test]
    fn files_are_0600_even_when_they_existed() {
        let d = tempfile::tempdir().expect("tempdir");
        let p = d.path().join("state.json");
        std::fs::write(&p, "x").expect("write");
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o644)).expect("chmod");
        write_file(&p, "{}").expect("write_file");
        assert_eq!(std::fs::metadata(&p).expect("stat").mode() & 0o777, 0o600);
        assert_eq!(std::fs::read_to_string(&p).expect("read"), "{}");
    }

    #[test]
    fn a_held_directory_is_reachable_through_proc() {
        let d = tempfile::tempdir().expect("tempdir");
        std::fs::write(d.path().join("f"), "y").expect("write");
        let h = Held::open(d.path()).expect("open");
        assert_eq!(
            std::fs::read_to_string(h.proc_path().join("f")).expect("read"),
            "y"
        );
    }
}
