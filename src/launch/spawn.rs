//! Creating the container's first process with `clone(2)` in fresh namespaces.
//!
//! The cgroup namespace is not among the clone flags: the child unshares it only after the parent
//! has moved it into its cgroup, so that this cgroup (not the launcher's) becomes its root. The
//! other namespaces the container administers come with it (see `late_flags`).

use crate::plan::model::LevelPlan;
use nix::sched::CloneFlags;
use nix::unistd::Pid;

/// Stack size of the cloned child before it execs (it runs serde, mounts and the filter build).
const STACK_SIZE: usize = 4 << 20;

/// The namespaces a container gets at clone time: its mount and pid namespaces (and its first
/// user namespace). The namespaces its root administers itself (network, UTS, IPC, cgroup) are
/// made later by the child, see [`late_flags`] and [`super::lock`].
pub fn clone_flags(plan: &LevelPlan) -> CloneFlags {
    let mut flags = CloneFlags::CLONE_NEWNS | CloneFlags::CLONE_NEWPID;
    if plan.idmap.is_some() {
        flags |= CloneFlags::CLONE_NEWUSER;
    }
    flags
}

/// The namespaces the child unshares once its setup mounts are in place (after entering the
/// inner user namespace when `locked`): owned by the container's own user namespace, so its root
/// administers them. Always a network namespace: the spec offers no "share the parent's network"
/// mode, and a user namespace can mount sysfs only with a network namespace of its own. When
/// `locked`, also a mount namespace: the copy that locks the setup mounts.
pub fn late_flags(locked: bool) -> CloneFlags {
    let mut flags = CloneFlags::CLONE_NEWCGROUP
        | CloneFlags::CLONE_NEWUTS
        | CloneFlags::CLONE_NEWIPC
        | CloneFlags::CLONE_NEWNET;
    if locked {
        flags |= CloneFlags::CLONE_NEWNS;
    }
    flags
}

/// Clones a child running `child` in the namespaces of `plan`; returns its pid (in our pid
/// namespace). The child's return value becomes its exit status.
pub fn spawn(plan: &LevelPlan, child: Box<dyn FnMut() -> isize + '_>) -> nix::Result<Pid> {
    let mut stack = vec![0u8; STACK_SIZE];
    // SAFETY: without CLONE_VM the child gets a copy-on-write copy of our memory, so the closure
    // and everything it borrows stay valid in it; `stack` outlives the call in the parent and is
    // the child's own copy there. The launcher is single-threaded (no locks can be held by other
    // threads at clone time), and SIGCHLD lets us wait for the child like a forked one.
    unsafe { nix::sched::clone(child, &mut stack, clone_flags(plan), Some(libc::SIGCHLD)) }
}
