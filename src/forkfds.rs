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

/// In a forked process that lives on (the detached monitor): closes every descriptor from 3 up
/// but those in `keep`, so nothing the caller left inheritable (a shell's `9>lock`, a pipe its
/// parent reads) stays open for the container's whole life. Only for descriptors no live object
/// of the child owns: the caller passes the ones it goes on using. System calls only.
pub fn close_all_but(keep: &[i32]) {
    let mut keep: Vec<u32> = keep.iter().filter_map(|&f| u32::try_from(f).ok()).collect();
    keep.sort_unstable();
    let mut first: u32 = 3;
    for k in keep.into_iter().filter(|&k| k >= 3) {
        if k > first {
            close_range(first, k - 1);
        }
        first = first.max(k.saturating_add(1));
    }
    close_range(first, u32::MAX);
}

fn close_range(first: u32, last: u32) {
    // SAFETY: close_range(2) with no flags closes descriptor numbers of this process only; the
    // caller guarantees that no object it still uses owns one of them.
    unsafe { libc::syscall(libc::SYS_close_range, first, last, 0u32) };
}

#[cfg(test)]
mod tests {
    use std::os::fd::AsRawFd;

    /// Run in a child process so closing descriptors cannot touch the test harness's own.
    #[test]
    fn everything_but_the_kept_descriptors_is_closed() {
        let keep = std::fs::File::open("/dev/null").expect("open");
        let gone = std::fs::File::open("/dev/null").expect("open");
        let (k, g) = (keep.as_raw_fd(), gone.as_raw_fd());
        // SAFETY: the child only makes system calls and exits; the harness's threads are not
        // copied into it, and it takes no lock.
        match unsafe { libc::fork() } {
            0 => {
                super::close_all_but(&[k]);
                // SAFETY: fcntl on descriptor numbers; no memory is touched.
                let ok = unsafe {
                    libc::fcntl(k, libc::F_GETFD) >= 0
                        && libc::fcntl(g, libc::F_GETFD) < 0
                        && libc::fcntl(2, libc::F_GETFD) >= 0
                };
                // SAFETY: _exit ends the child without running the harness's atexit handlers.
                unsafe { libc::_exit(if ok { 0 } else { 1 }) }
            }
            pid => {
                let mut status = 0;
                // SAFETY: waits for our own child, into a local.
                unsafe { libc::waitpid(pid, &mut status, 0) };
                assert!(
                    libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0,
                    "{status}"
                );
            }
        }
    }
}
