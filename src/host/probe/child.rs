//! Runs one probe body in a forked child and brings its outcome back through a pipe.

use super::Outcome;
use crate::host::HostError;
use nix::sys::wait::{waitpid, WaitStatus};
use nix::unistd::{fork, pipe, ForkResult};
use std::io::Read;
use std::os::fd::AsRawFd;

/// What a probe body reports: the probe ran and the syscall returned this (negative: -errno),
/// or its setup failed with this errno.
pub(crate) enum Step {
    Ran(i64),
    Setup(i32),
}

/// The current errno as a negative return value, the kernel's convention.
pub(crate) fn neg_errno() -> i64 {
    -i64::from(
        std::io::Error::last_os_error()
            .raw_os_error()
            .unwrap_or(libc::EIO),
    )
}

/// Seconds a probe may take; a seccomp user-notification supervisor above could hold a call.
const PROBE_SECONDS: u32 = 5;

/// Forks, runs `body` in the child, and returns its outcome. `body` must only make raw syscalls
/// (the parent may have other threads, so the child must not allocate or take locks).
pub(crate) fn run(name: &str, body: &dyn Fn() -> Step) -> Result<Outcome, HostError> {
    let err = |source| HostError::Probe {
        probe: name.to_string(),
        source,
    };
    let (rd, wr) = pipe().map_err(err)?;
    // SAFETY: the child only runs `body`, whose contract is raw syscalls only, then writes a
    // fixed buffer to a pipe and calls _exit; nothing in it allocates or locks.
    match unsafe { fork() }.map_err(err)? {
        ForkResult::Child => {
            // SAFETY: alarm and _exit are async-signal-safe; the buffer lives on this stack.
            unsafe { libc::alarm(PROBE_SECONDS) };
            let (tag, value) = match body() {
                Step::Ran(v) => (1i64, v),
                Step::Setup(e) => (2i64, i64::from(e)),
            };
            let mut buf = [0u8; 16];
            buf[..8].copy_from_slice(&tag.to_ne_bytes());
            buf[8..].copy_from_slice(&value.to_ne_bytes());
            // SAFETY: writes 16 bytes from a live stack buffer to our pipe end, then exits
            // without running the parent's destructors or atexit handlers.
            unsafe {
                libc::write(wr.as_raw_fd(), buf.as_ptr().cast(), buf.len());
                libc::_exit(0)
            }
        }
        ForkResult::Parent { child } => {
            drop(wr);
            let status = waitpid(child, None).map_err(err)?;
            let mut buf = Vec::new();
            let _ = std::fs::File::from(rd).read_to_end(&mut buf);
            Ok(match status {
                WaitStatus::Signaled(_, nix::sys::signal::Signal::SIGALRM, _) => Outcome::Timeout,
                WaitStatus::Signaled(_, sig, _) => Outcome::Signal(sig as i32),
                _ if buf.len() == 16 => {
                    let tag = i64::from_ne_bytes(buf[..8].try_into().unwrap_or_default());
                    let value = i64::from_ne_bytes(buf[8..].try_into().unwrap_or_default());
                    match (tag, value) {
                        (1, v) if v >= 0 => Outcome::Returned(v),
                        (1, v) => Outcome::Errno(i32::try_from(-v).unwrap_or(libc::EIO)),
                        (_, e) => Outcome::SetupFailed(i32::try_from(e).unwrap_or(libc::EIO)),
                    }
                }
                _ => Outcome::SetupFailed(libc::EIO),
            })
        }
    }
}
