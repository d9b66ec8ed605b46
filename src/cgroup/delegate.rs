//! Delegation: hands a container's cgroup subtree to its root user, so that a runtime inside
//! can create and manage child cgroups there and nowhere else.
//!
//! The delegatee owns the directory (to create children) and exactly the files it may write:
//! on cgroup2 those the kernel lists in /sys/kernel/cgroup/delegate (`cgroup.procs`,
//! `cgroup.threads`, `cgroup.subtree_control`, ...), on v1 `tasks` and `cgroup.procs`. Limit
//! files stay root's: the container cannot raise its own limits.

use super::place::Place;
use super::{io_err, Result};
use std::path::Path;

/// Files a cgroup2 delegatee may write when the kernel does not say (pre-4.15 kernels).
const V2_FALLBACK: &[&str] = &["cgroup.procs", "cgroup.threads", "cgroup.subtree_control"];
/// Files a v1 delegatee may write.
const V1_FILES: &[&str] = &["tasks", "cgroup.procs"];

/// The cgroup2 delegation list of the running kernel.
pub fn v2_delegate_files() -> Vec<String> {
    match std::fs::read_to_string("/sys/kernel/cgroup/delegate") {
        Ok(text) => text.split_whitespace().map(String::from).collect(),
        Err(_) => V2_FALLBACK.iter().map(|s| s.to_string()).collect(),
    }
}

fn chown(path: &Path, uid: u32, gid: u32) -> Result<()> {
    std::os::unix::fs::chown(path, Some(uid), Some(gid)).map_err(io_err("chown", path))
}

/// chown of `dir` and of those `files` that exist in it.
fn chown_dir(dir: &Path, files: &[String], uid: u32, gid: u32) -> Result<()> {
    chown(dir, uid, gid)?;
    for f in files {
        let p = dir.join(f);
        if p.exists() {
            chown(&p, uid, gid)?;
        }
    }
    Ok(())
}

/// Delegates every place (and its init leaf) to `uid`/`gid`.
pub(crate) fn delegate(places: &[Place], uid: u32, gid: u32) -> Result<()> {
    let v2_files = v2_delegate_files();
    let v1_files: Vec<String> = V1_FILES.iter().map(|s| s.to_string()).collect();
    for p in places {
        let files = if p.is_v2() { &v2_files } else { &v1_files };
        chown_dir(&p.dir, files, uid, gid)?;
        if let Some(leaf) = &p.leaf {
            chown_dir(leaf, files, uid, gid)?;
        }
    }
    Ok(())
}
