//! Descriptors that a process forked by this one must close at once: a lock held through a
//! shared file description (the allocation registry's `flock`) would otherwise stay held for the
//! forked process's whole life (the detached monitor). The holder registers its descriptor here;
//! the forked child calls [`close_inherited`]. Below both the registry and the launcher, so that
//! neither imports the other for it.

use std::sync::atomic::{AtomicI32, Ordering};

/// Registered descriptors; -1 is a free slot.
static HELD_FDS: [AtomicI32; 8] = [const { AtomicI32::new(-1) }; 8];

/// Registers `fd` (held by this process now); `None` when every slot is taken (the child then
/// keeps that copy, as it would without this table).
pub fn register(fd: i32) -> Option<usize> {
    HELD_FDS.iter().position(|s| {
        s.compare_exchange(-1, fd, Ordering::SeqCst, Ordering::SeqCst)
            .is_ok()
    })
}

/// Forgets the descriptor in `slot` (its holder released it).
pub fn unregister(slot: usize) {
    if let Some(s) = HELD_FDS.get(slot) {
        s.store(-1, Ordering::SeqCst);
    }
}

/// In a child just forked: closes the inherited copies of registered descriptors, without
/// allocating or taking locks (async-signal-safe), so the parent alone decides when a lock goes.
pub fn close_inherited() {
    for slot in &HELD_FDS {
        let fd = slot.swap(-1, Ordering::SeqCst);
        if fd >= 0 {
            // SAFETY: close(2) of a descriptor number this process inherited; the parent's copy
            // (and its lock) is unaffected.
            unsafe { libc::close(fd) };
        }
    }
}
