//! Joining the container's namespaces: every namespace in which its init differs from us. With a
//! pidfd (Linux 5.8+) one `setns(pidfd, flags)` joins them all at once, so the kernel checks the
//! permissions against the target as a whole and no half-joined state is visible; older kernels
//! get `/proc/PID/ns/*` descriptors, opened before any join (the paths stop resolving after the
//! mount namespace changes) and joined user namespace first (its capabilities then cover the
//! others, which it owns).

use nix::sched::{setns, CloneFlags};
use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::fs::MetadataExt;

/// Namespace kinds by their /proc/PID/ns name, user first.
pub const KINDS: &[(&str, CloneFlags)] = &[
    ("user", CloneFlags::CLONE_NEWUSER),
    ("mnt", CloneFlags::CLONE_NEWNS),
    ("pid", CloneFlags::CLONE_NEWPID),
    ("uts", CloneFlags::CLONE_NEWUTS),
    ("ipc", CloneFlags::CLONE_NEWIPC),
    ("net", CloneFlags::CLONE_NEWNET),
    ("cgroup", CloneFlags::CLONE_NEWCGROUP),
    ("time", CloneFlags::from_bits_retain(libc::CLONE_NEWTIME)),
];

/// What to join and how.
#[derive(Debug)]
pub struct NsJoin {
    /// The init's pidfd, when the kernel has pidfds.
    pidfd: Option<OwnedFd>,
    /// Namespaces that differ from ours.
    pub flags: CloneFlags,
    /// Their /proc descriptors, user first (fallback when setns refuses a pidfd).
    fds: Vec<(CloneFlags, OwnedFd)>,
}

fn ns_id(pid: &str, kind: &str) -> Option<(u64, u64)> {
    let m = std::fs::metadata(format!("/proc/{pid}/ns/{kind}")).ok()?;
    Some((m.dev(), m.ino()))
}

/// Finds the namespaces of `pid` that differ from ours and opens them.
pub fn prepare(pid: i32, pidfd: Option<OwnedFd>) -> std::io::Result<NsJoin> {
    let mut flags = CloneFlags::empty();
    let mut fds = Vec::new();
    for (kind, flag) in KINDS {
        let theirs = ns_id(&pid.to_string(), kind);
        if theirs.is_none() || theirs == ns_id("self", kind) {
            continue;
        }
        flags |= *flag;
        fds.push((
            *flag,
            std::fs::File::open(format!("/proc/{pid}/ns/{kind}"))?.into(),
        ));
    }
    Ok(NsJoin { pidfd, flags, fds })
}

impl NsJoin {
    /// Joins every namespace (in the attaching process). Returns how: `pidfd` or `proc`.
    pub fn join(&self) -> nix::Result<&'static str> {
        if self.flags.is_empty() {
            return Ok("none");
        }
        if let Some(pfd) = &self.pidfd {
            match setns(pfd.as_fd(), self.flags) {
                Ok(()) => return Ok("pidfd"),
                // EINVAL: a kernel before 5.8 takes no pidfd in setns; join one by one.
                Err(nix::errno::Errno::EINVAL) => {}
                Err(e) => return Err(e),
            }
        }
        for (flag, fd) in &self.fds {
            setns(fd.as_fd(), *flag)?;
        }
        Ok("proc")
    }
}
