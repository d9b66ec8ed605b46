//! Joining the container's namespaces: every namespace in which its init differs from us. With a
//! pidfd (Linux 5.8+) one `setns(pidfd, flags)` joins them all at once, so the kernel checks the
//! permissions against the target as a whole and no half-joined state is visible; older kernels
//! get `/proc/PID/ns/*` descriptors, opened before any join (the paths stop resolving after the
//! mount namespace changes). A container's pid namespace is owned by the parent of its init's
//! user namespace (see `launch::lock`), so the fallback joins that parent first when it is not
//! ours, and then takes the rest in passes: each join that the capabilities gained so far allow,
//! until all are joined or a pass gains nothing.

use nix::sched::{setns, CloneFlags};
use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::fs::MetadataExt;

/// Namespace kinds by their /proc/PID/ns name, in the order the fallback joins them: the pid
/// namespace (owned by the parent of the init's user namespace) before the user namespace,
/// which owns all the others.
pub const KINDS: &[(&str, CloneFlags)] = &[
    ("pid", CloneFlags::CLONE_NEWPID),
    ("user", CloneFlags::CLONE_NEWUSER),
    ("mnt", CloneFlags::CLONE_NEWNS),
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
    if let Some(parent) = parent_userns(pid)? {
        fds.push((CloneFlags::CLONE_NEWUSER, parent));
    }
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
        let mut left: Vec<&(CloneFlags, OwnedFd)> = self.fds.iter().collect();
        while !left.is_empty() {
            let before = left.len();
            let mut last = nix::errno::Errno::EPERM;
            left.retain(|(flag, fd)| match setns(fd.as_fd(), *flag) {
                Ok(()) => false,
                Err(e) => {
                    last = e;
                    true
                }
            });
            if left.len() == before {
                return Err(last);
            }
        }
        Ok("proc")
    }
}

/// The parent of `pid`'s user namespace, opened, when it is neither ours nor the target's own
/// (`NS_GET_PARENT`); `None` when the target shares our user namespace or its parent is ours.
fn parent_userns(pid: i32) -> std::io::Result<Option<OwnedFd>> {
    use std::os::fd::{AsRawFd, FromRawFd};
    let theirs = ns_id(&pid.to_string(), "user");
    if theirs.is_none() || theirs == ns_id("self", "user") {
        return Ok(None);
    }
    let user = std::fs::File::open(format!("/proc/{pid}/ns/user"))?;
    // NS_GET_PARENT, _IO(0xb7, 0x2) in linux/nsfs.h.
    const NS_GET_PARENT: libc::c_ulong = 0xb702;
    // SAFETY: the ioctl takes no argument and returns a new descriptor (or -1), which we own.
    let fd = unsafe { libc::ioctl(user.as_raw_fd(), NS_GET_PARENT as _) };
    if fd < 0 {
        // EPERM: the parent lies outside our own namespace; then we are inside it already.
        return Ok(None);
    }
    // SAFETY: `fd` was just returned by the kernel and is owned by nothing else.
    let parent = unsafe { OwnedFd::from_raw_fd(fd) };
    let meta = std::fs::File::from(parent.try_clone()?).metadata()?;
    if Some((meta.dev(), meta.ino())) == ns_id("self", "user") {
        return Ok(None);
    }
    Ok(Some(parent))
}
