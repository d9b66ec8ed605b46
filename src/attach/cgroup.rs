//! Which cgroup an attached process joins, in every hierarchy the container uses (v1 controllers
//! and the unified tree on a hybrid host): the init leaf when the container has one, else an
//! `attach` leaf when the container delegates its cgroup (cgroup v2 forbids processes in a node
//! that enables controllers for its children, and the delegatee may do so at any time), else the
//! container's own cgroup. The `cgroup.procs` files are opened by the caller on the host, and the
//! attaching process writes `0` (itself) into each before it joins the container's user
//! namespace, where it would lose its rights over the host's cgroupfs.
//!
//! A nested container's cgroup paths come from its nesting host's state, in the nesting host's
//! mount namespace: they are resolved inside its root, must be cgroup directories, and everything
//! below them is opened without symlinks or mount crossings (see [`super::inroot`]).

use super::error::StepFailure;
use super::inroot::{fd_path, is_cgroupfs, open_beneath, open_in_root, root_of};
use super::target::Level;
use std::io::{Read, Write};
use std::os::fd::{AsRawFd, OwnedFd};
use std::path::{Path, PathBuf};

/// Name of the leaf made for attached processes of a delegating container without an init leaf.
pub const ATTACH_LEAF: &str = "attach";

/// The opened `cgroup.procs` files to join, and the `attach` leaves to remove afterwards.
#[derive(Debug, Default)]
pub struct CgroupJoin {
    /// `cgroup.procs` of the chosen cgroup in every hierarchy (label, file), open for writing.
    pub procs: Vec<(String, OwnedFd)>,
    /// Container directories in which we made an `attach` leaf.
    leaves: Vec<OwnedFd>,
}

/// The leaf to join below the container's directory `dir` (`None`: the directory itself), and
/// whether it is an `attach` leaf to create.
pub fn choose(dir: &OwnedFd, init_leaf: Option<&str>, delegate: bool) -> (Option<String>, bool) {
    if let Some(l) = init_leaf {
        if open_beneath(dir, Path::new(l), libc::O_PATH | libc::O_DIRECTORY).is_ok() {
            return (Some(l.to_string()), false);
        }
    }
    if delegate {
        return (Some(ATTACH_LEAF.to_string()), true);
    }
    (None, false)
}

/// Opens the container's cgroup directory `dir` of `level` (in its launcher's view).
fn open_dir(level: &Level, dir: &Path) -> Result<OwnedFd, StepFailure> {
    let fd = match level.parent_pid {
        Some(p) => root_of(p).and_then(|r| open_in_root(&r, dir, libc::O_PATH | libc::O_DIRECTORY)),
        None => std::fs::File::open(dir).map(OwnedFd::from),
    }
    .map_err(|e| StepFailure::doing("the container's cgroup")(e).with_path(dir))?;
    if !is_cgroupfs(&fd) {
        return Err(StepFailure::refused(format!(
            "{} is not a cgroup directory",
            dir.display()
        )));
    }
    Ok(fd)
}

/// Opens the `cgroup.procs` files for `level`, creating `attach` leaves where needed.
pub fn prepare(level: &Level) -> Result<CgroupJoin, StepFailure> {
    let plan = &level.state.plan.cgroup;
    let mut join = CgroupJoin::default();
    for (label, dir) in &level.state.cgroups {
        let dirfd = open_dir(level, dir)?;
        let (leaf, is_attach_leaf) = choose(&dirfd, plan.init_leaf.as_deref(), plan.delegate);
        if is_attach_leaf {
            match nix::sys::stat::mkdirat(
                &dirfd,
                ATTACH_LEAF,
                nix::sys::stat::Mode::from_bits_truncate(0o755),
            ) {
                Ok(()) | Err(nix::errno::Errno::EEXIST) => {}
                Err(e) => {
                    return Err(StepFailure::doing(format!("{label}: mkdir"))(e.into())
                        .with_path(dir.join(ATTACH_LEAF)))
                }
            }
            inherit_cpuset(&dirfd).map_err(|e| StepFailure {
                doing: Some(format!("{label}: {}", e.doing.unwrap_or_default())),
                ..e
            })?;
        }
        let rel = leaf.map_or_else(
            || PathBuf::from("cgroup.procs"),
            |l| Path::new(&l).join("cgroup.procs"),
        );
        let procs = open_beneath(&dirfd, &rel, libc::O_WRONLY).map_err(|e| {
            StepFailure::doing(format!("{label}: open"))(e).with_path(dir.join(&rel))
        })?;
        join.procs.push((label.clone(), procs));
        if is_attach_leaf {
            join.leaves.push(dirfd);
        }
    }
    Ok(join)
}

/// A new v1 cpuset cgroup starts with no CPUs and no memory nodes, and the kernel refuses tasks
/// there (ENOSPC): give the `attach` leaf its parent's.
fn inherit_cpuset(dir: &OwnedFd) -> Result<(), StepFailure> {
    for file in ["cpuset.cpus", "cpuset.mems"] {
        let leaf_file = Path::new(ATTACH_LEAF).join(file);
        let Ok(fd) = open_beneath(dir, &leaf_file, libc::O_RDWR) else {
            continue;
        };
        let mut f = std::fs::File::from(fd);
        let mut mine = String::new();
        let _ = f.read_to_string(&mut mine);
        if !mine.trim().is_empty() {
            continue;
        }
        let mut theirs = String::new();
        open_beneath(dir, Path::new(file), libc::O_RDONLY)
            .map(std::fs::File::from)
            .and_then(|mut p| p.read_to_string(&mut theirs))
            .map_err(|e| StepFailure::doing("read")(e).with_path(file))?;
        f.write_all(theirs.trim().as_bytes())
            .map_err(|e| StepFailure::doing("write")(e).with_path(&leaf_file))?;
    }
    Ok(())
}

impl Drop for CgroupJoin {
    fn drop(&mut self) {
        // Another attached process may still be in a leaf (EBUSY): it removes it when it ends.
        for dir in &self.leaves {
            let _ = nix::unistd::unlinkat(dir, ATTACH_LEAF, nix::unistd::UnlinkatFlags::RemoveDir);
            let _ = dir.as_raw_fd();
        }
    }
}

/// The cgroup file a descriptor names, for messages.
pub fn describe(fd: &OwnedFd) -> String {
    std::fs::read_link(fd_path(fd))
        .map(|p| p.display().to_string())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn leaf_choice() {
        let d = tempfile::tempdir().expect("tempdir");
        let dir: OwnedFd = std::fs::File::open(d.path()).expect("open").into();
        assert_eq!(
            choose(&dir, Some("init"), true),
            (Some("attach".into()), true)
        );
        std::fs::create_dir(d.path().join("init")).expect("mkdir");
        assert_eq!(
            choose(&dir, Some("init"), true),
            (Some("init".into()), false)
        );
        assert_eq!(choose(&dir, None, false), (None, false));
        // A delegated plan without an init leaf (a plan.json of an older lxnest).
        assert_eq!(choose(&dir, None, true), (Some("attach".into()), true));
        // A symlinked "init leaf" is not followed.
        std::os::unix::fs::symlink("/", d.path().join("ln")).expect("symlink");
        assert_eq!(choose(&dir, Some("ln"), false), (None, false));
    }
}
