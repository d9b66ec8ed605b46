//! Which cgroup an attached process joins, in every hierarchy the container uses (v1 controllers
//! and the unified tree on a hybrid host): the init leaf when the container has one, else an
//! `attach` leaf when the container delegates its cgroup (cgroup v2 forbids processes in a node
//! that enables controllers for its children, and the delegatee may do so at any time), else the
//! container's own cgroup. The `cgroup.procs` files are opened by the caller on the host, and the
//! attaching process writes `0` (itself) into each before it joins the container's user
//! namespace, where it would lose its rights over the host's cgroupfs.

use super::target::Level;
use std::fs::OpenOptions;
use std::os::fd::OwnedFd;
use std::path::{Path, PathBuf};

/// Name of the leaf made for attached processes of a delegating container without an init leaf.
pub const ATTACH_LEAF: &str = "attach";

/// The opened `cgroup.procs` files to join, and the `attach` leaves to remove afterwards.
#[derive(Debug, Default)]
pub struct CgroupJoin {
    /// `cgroup.procs` of the chosen cgroup in every hierarchy, open for writing.
    pub procs: Vec<(PathBuf, OwnedFd)>,
    leaves: Vec<PathBuf>,
}

/// A state path (as the container's launcher saw it) as a path we can open.
pub fn in_view(view: &Path, p: &Path) -> PathBuf {
    if view.as_os_str().is_empty() {
        p.to_path_buf()
    } else {
        view.join(p.strip_prefix("/").unwrap_or(p))
    }
}

/// The cgroup to join in the hierarchy whose container directory is `dir`.
pub fn choose(dir: &Path, init_leaf: Option<&str>, delegate: bool) -> (PathBuf, bool) {
    if let Some(l) = init_leaf {
        let leaf = dir.join(l);
        if leaf.is_dir() {
            return (leaf, false);
        }
    }
    if delegate {
        return (dir.join(ATTACH_LEAF), true);
    }
    (dir.to_path_buf(), false)
}

/// Opens the `cgroup.procs` files for `level`, creating `attach` leaves where needed.
pub fn prepare(level: &Level) -> Result<CgroupJoin, String> {
    let plan = &level.state.plan.cgroup;
    let mut join = CgroupJoin::default();
    for (label, dir) in &level.state.cgroups {
        let dir = in_view(&level.view, dir);
        if !dir.is_dir() {
            return Err(format!(
                "{label}: the container's cgroup {} is gone",
                dir.display()
            ));
        }
        let (target, is_attach_leaf) = choose(&dir, plan.init_leaf.as_deref(), plan.delegate);
        if is_attach_leaf {
            match std::fs::create_dir(&target) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
                Err(e) => return Err(format!("mkdir {}: {e}", target.display())),
            }
            join.leaves.push(target.clone());
            inherit_cpuset(&dir, &target)?;
        }
        let procs = target.join("cgroup.procs");
        let f = OpenOptions::new()
            .write(true)
            .open(&procs)
            .map_err(|e| format!("open {}: {e}", procs.display()))?;
        join.procs.push((procs, f.into()));
    }
    Ok(join)
}

/// A new v1 cpuset cgroup starts with no CPUs and no memory nodes, and the kernel refuses tasks
/// there (ENOSPC): give the leaf its parent's.
fn inherit_cpuset(parent: &Path, leaf: &Path) -> Result<(), String> {
    for file in ["cpuset.cpus", "cpuset.mems"] {
        let Ok(mine) = std::fs::read_to_string(leaf.join(file)) else {
            continue;
        };
        if !mine.trim().is_empty() {
            continue;
        }
        let theirs = std::fs::read_to_string(parent.join(file))
            .map_err(|e| format!("read {}: {e}", parent.join(file).display()))?;
        std::fs::write(leaf.join(file), theirs.trim())
            .map_err(|e| format!("write {}: {e}", leaf.join(file).display()))?;
    }
    Ok(())
}

impl Drop for CgroupJoin {
    fn drop(&mut self) {
        // Another attached process may still be in a leaf (EBUSY): it removes it when it ends.
        for leaf in &self.leaves {
            let _ = std::fs::remove_dir(leaf);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn leaf_choice() {
        let d = tempfile::tempdir().expect("tempdir");
        let base = d.path();
        assert_eq!(
            choose(base, Some("init"), true),
            (base.join("attach"), true)
        );
        std::fs::create_dir(base.join("init")).expect("mkdir");
        assert_eq!(choose(base, Some("init"), true), (base.join("init"), false));
        assert_eq!(choose(base, None, false), (base.to_path_buf(), false));
        assert_eq!(
            in_view(
                Path::new("/proc/7/root"),
                Path::new("/sys/fs/cgroup/pids/x")
            ),
            PathBuf::from("/proc/7/root/sys/fs/cgroup/pids/x")
        );
        assert_eq!(in_view(Path::new(""), Path::new("/a")), PathBuf::from("/a"));
    }
}
