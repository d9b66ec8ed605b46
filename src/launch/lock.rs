//! Locking the container's setup mounts: a second user namespace between the setup and the
//! container.
//!
//! The kernel marks every mount MNT_LOCKED when it copies a mount namespace into one owned by a
//! less privileged user namespace: a locked mount cannot be unmounted, moved or stripped of its
//! read-only, nosuid, nodev or noexec flags from there. lxnest sets up the root, /dev and /proc
//! (with its masks) in the mount namespace made at clone time, owned by the container's first
//! user namespace; then the child enters a second user namespace that maps the same ids one to
//! one, and a new mount namespace copied from the first, so everything set up so far is locked
//! for the container's root, which lives in the second one. The namespaces the container
//! administers itself (network, UTS, IPC, cgroup) are made after that, owned by the second user
//! namespace, so its root keeps CAP_NET_ADMIN and friends there.
//!
//! Only a process in the parent user namespace may write the new namespace's id maps, so a helper
//! forked before the unshare (still in the first namespace, with its capabilities) writes them.
//! It finds the child in the launcher's /proc (still mounted at /proc before pivot_root) by its
//! parent pid there: the same `/proc/PID/uid_map` path the launcher itself writes, which is what
//! a nesting host's AppArmor profile allows (its children's own /proc is never written through).

use crate::plan::model::{IdMapLine, IdMapPlan};
use nix::sched::{unshare, CloneFlags};
use nix::sys::wait::{waitpid, WaitStatus};
use nix::unistd::{fork, ForkResult};
use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::path::Path;

/// The one-to-one map of the inner user namespace: each inside id maps to itself in the first
/// namespace, which already maps it to the host.
pub fn identity_text(lines: &[IdMapLine]) -> String {
    lines
        .iter()
        .map(|l| format!("{} {} {}\n", l.inside, l.inside, l.count))
        .collect()
}

/// Enters the inner user namespace with its identity map. `launcher_proc` is the launcher's
/// /proc (`/proc` before pivot_root). Call it single-threaded, as the cloned child is.
pub fn enter_inner_userns(map: &IdMapPlan, launcher_proc: &Path) -> std::io::Result<()> {
    // Our setresuid made us non-dumpable, which hands our /proc files to a root the helper is
    // not (the inner namespace maps no root yet); dumpable, they belong to our own uid, the
    // helper's. exec resets the flag as usual for the init.
    nix::sys::prctl::set_dumpable(true).map_err(std::io::Error::from)?;
    let (mut ours, mut theirs) = UnixStream::pair()?;
    let uid = identity_text(&map.uid);
    let gid = identity_text(&map.gid);
    let proc_dir = launcher_proc.to_path_buf();
    // SAFETY: this process is the container's first process, which has a single thread (it was
    // cloned, not spawned by a threaded runtime), so the forked helper runs with consistent
    // allocator and lock state; it only writes two files and exits with `_exit`.
    match unsafe { fork() }.map_err(std::io::Error::from)? {
        ForkResult::Child => {
            drop(ours);
            let rc = match helper(&mut theirs, &proc_dir, &uid, &gid) {
                Ok(()) => 0,
                Err(e) => {
                    // The reason travels back on the socket; the status says it failed.
                    let _ = theirs.write_all(e.to_string().as_bytes());
                    1
                }
            };
            // SAFETY: `_exit` ends the helper without running the parent's exit handlers or
            // destructors, which belong to the container's process.
            unsafe { libc::_exit(rc) }
        }
        ForkResult::Parent { child } => {
            drop(theirs);
            let unshared = unshare(CloneFlags::CLONE_NEWUSER).map_err(std::io::Error::from);
            // Tell the helper either way, so it never waits forever.
            let _ = ours.write_all(if unshared.is_ok() { b"1" } else { b"0" });
            let mut why = String::new();
            let _ = ours.read_to_string(&mut why);
            let status = waitpid(child, None).map_err(std::io::Error::from)?;
            unshared?;
            match status {
                WaitStatus::Exited(_, 0) => Ok(()),
                other => Err(std::io::Error::other(format!(
                    "writing the inner user namespace's id maps: {why} ({other:?})"
                ))),
            }
        }
    }
}

/// The helper: waits for the unshare, then writes gid_map and uid_map of its parent (the child),
/// named by its pid in the launcher's /proc.
fn helper(ch: &mut UnixStream, proc_dir: &Path, uid: &str, gid: &str) -> std::io::Result<()> {
    let status = std::fs::read_to_string(proc_dir.join("self/status"))?;
    let ppid = status
        .lines()
        .find_map(|l| l.strip_prefix("PPid:"))
        .map(str::trim)
        .filter(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()))
        .ok_or_else(|| std::io::Error::other("no parent pid in /proc/self/status"))?;
    let target = proc_dir.join(ppid);
    let mut b = [0u8; 1];
    ch.read_exact(&mut b)?;
    if b[0] != b'1' {
        return Err(std::io::Error::other("unshare failed"));
    }
    // The first namespace denies setgroups when it maps a single gid; the inner one inherits
    // that, so the gid map needs no setgroups write of its own.
    let write = |name: &str, text: &str| {
        let path = target.join(name);
        std::fs::write(&path, text)
            .map_err(|e| std::io::Error::new(e.kind(), format!("{}: {e}", path.display())))
    };
    write("gid_map", gid)?;
    write("uid_map", uid)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identity_keeps_inside_ids_and_counts() {
        let lines = [
            IdMapLine {
                inside: 0,
                outside: 1000,
                count: 1,
            },
            IdMapLine {
                inside: 1,
                outside: 100_000,
                count: 65_535,
            },
        ];
        assert_eq!(identity_text(&lines), "0 0 1\n1 1 65535\n");
    }
}
