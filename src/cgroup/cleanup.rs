//! Removing a container's cgroups: kill every task of the subtree, wait for it to empty, rmdir
//! bottom-up (cgroupfs only removes leaves), then the empty intermediate directories.

use super::place::Place;
use super::{io_err, v2, CgroupError, Result};
use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// Kill, wait, rmdir bottom-up in every place, then remove the now empty intermediate
/// directories of the plan path (`lxnest` of `lxnest/juju-host`) where nothing else lives.
pub(crate) fn teardown(places: &[Place], plan_path: &str) -> Result<()> {
    let mut first_err = None;
    for p in places.iter().rev() {
        if let Err(e) = kill_and_remove(&p.dir, p.is_v2()) {
            first_err.get_or_insert(e);
        }
        let mut parent = p.dir.parent();
        let depth = Path::new(plan_path).components().count();
        for _ in 1..depth {
            match parent {
                Some(d) if d.starts_with(&p.base) && d != p.base => {
                    // Busy or not empty means a sibling container still lives there: fine.
                    let _ = std::fs::remove_dir(d);
                    parent = d.parent();
                }
                _ => break,
            }
        }
    }
    first_err.map_or(Ok(()), Err)
}

/// Every pid listed in `cgroup.procs` of `dir` and its descendants.
pub(crate) fn subtree_pids(dir: &Path) -> Vec<i32> {
    let mut out = Vec::new();
    if let Ok(text) = std::fs::read_to_string(dir.join("cgroup.procs")) {
        out.extend(text.lines().filter_map(|l| l.trim().parse::<i32>().ok()));
    }
    for sub in subdirs(dir) {
        out.extend(subtree_pids(&sub));
    }
    out
}

fn subdirs(dir: &Path) -> Vec<PathBuf> {
    std::fs::read_dir(dir)
        .map(|rd| {
            rd.flatten()
                .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
                .map(|e| e.path())
                .collect()
        })
        .unwrap_or_default()
}

/// rmdir of `dir` after all its subdirectories (cgroupfs refuses to remove a non-leaf).
fn rmdir_tree(dir: &Path) -> std::io::Result<()> {
    for sub in subdirs(dir) {
        rmdir_tree(&sub)?;
    }
    match std::fs::remove_dir(dir) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        r => r,
    }
}

/// Kills every task of the subtree (cgroup.kill on v2 where available, SIGKILL of listed pids
/// otherwise, repeated to catch forks), waits for them to go, and removes the directories.
pub(crate) fn kill_and_remove(dir: &Path, v2_side: bool) -> Result<()> {
    if !dir.exists() {
        return Ok(());
    }
    let me = std::process::id() as i32;
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut killed_v2 = false;
    loop {
        let pids: Vec<i32> = subtree_pids(dir).into_iter().filter(|p| *p != me).collect();
        if v2_side && !killed_v2 && !pids.is_empty() {
            killed_v2 = v2::kill(dir)?;
        }
        for pid in &pids {
            // ESRCH just means it is gone already.
            let _ = kill(Pid::from_raw(*pid), Signal::SIGKILL);
        }
        match rmdir_tree(dir) {
            Ok(()) => return Ok(()),
            Err(e) if Instant::now() >= deadline => {
                let pids = subtree_pids(dir);
                return Err(if pids.is_empty() {
                    io_err("rmdir", dir)(e)
                } else {
                    CgroupError::Busy {
                        path: dir.into(),
                        pids,
                    }
                });
            }
            Err(_) => std::thread::sleep(Duration::from_millis(20)),
        }
    }
}
