//! Removing a container's state directory without reaching into what is mounted below it. A
//! `pre-start` hook may mount a host directory into the shared `mount/` directory (the
//! documented use), and a loop image stays mounted under `loop/` when its monitor died: a plain
//! recursive removal would empty those host filesystems. So mounts below the directory are
//! detached first, and the removal never crosses onto another filesystem; what it cannot
//! detach stays, and is named in the error.

use std::io;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

/// Mount points strictly below `dir`, deepest first, from /proc/self/mountinfo (field 5,
/// octal-escaped).
fn mounts_below(dir: &Path) -> Vec<PathBuf> {
    let text = std::fs::read_to_string("/proc/self/mountinfo").unwrap_or_default();
    let mut out: Vec<PathBuf> = text
        .lines()
        .filter_map(|l| l.split(' ').nth(4))
        .map(|p| PathBuf::from(crate::host::mountinfo::unescape(p)))
        .filter(|p| p.starts_with(dir) && p != dir)
        .collect();
    out.sort_by_key(|p| std::cmp::Reverse(p.components().count()));
    out.dedup();
    out
}

/// Detaches every mount below `dir`, then removes `dir` without crossing onto another
/// filesystem. `NotFound` when `dir` does not exist.
pub fn remove_state_dir(dir: &Path) -> io::Result<()> {
    let top = std::fs::symlink_metadata(dir)?;
    for m in mounts_below(dir) {
        // Lazy: a process may still hold the mount busy; it is gone from this namespace anyway.
        let _ = nix::mount::umount2(&m, nix::mount::MntFlags::MNT_DETACH);
    }
    remove_same_fs(dir, top.dev())
}

fn remove_same_fs(path: &Path, dev: u64) -> io::Result<()> {
    let meta = std::fs::symlink_metadata(path)?;
    if !meta.is_dir() {
        return std::fs::remove_file(path);
    }
    if meta.dev() != dev {
        return Err(io::Error::other(format!(
            "{} is a mount point lxnest could not detach: left in place, with what is mounted there",
            path.display()
        )));
    }
    let mut first_err = None;
    for e in std::fs::read_dir(path)? {
        if let Err(err) = remove_same_fs(&e?.path(), dev) {
            first_err.get_or_insert(err);
        }
    }
    if let Some(e) = first_err {
        return Err(e);
    }
    std::fs::remove_dir(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn removes_a_plain_tree() {
        let d = tempfile::tempdir().expect("tempdir");
        let top = d.path().join("c");
        std::fs::create_dir_all(top.join("a/b")).expect("mkdir");
        std::fs::write(top.join("a/b/f"), "x").expect("write");
        std::os::unix::fs::symlink("/etc", top.join("a/link")).expect("symlink");
        remove_state_dir(&top).expect("remove");
        assert!(!top.exists());
        assert!(Path::new("/etc/hostname").exists() || Path::new("/etc").exists());
    }
}
