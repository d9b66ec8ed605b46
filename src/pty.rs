//! The attached process's terminal: a new pseudo-terminal allocated on the host (our /dev/ptmx)
//! before any namespace is joined, so attach works whatever the container did to its own
//! /dev/pts (unmounted, broken, never mounted). The caller keeps the master and relays; the
//! attached process gets the slave as stdin/stdout/stderr and controlling terminal.

use nix::pty::{openpty, Winsize};
use nix::sys::termios::{self, SetArg, Termios};
use std::os::fd::{AsRawFd, BorrowedFd, OwnedFd};

/// A new pty (master, slave) with the window size of `like` when it is a terminal.
pub fn open(like: BorrowedFd<'_>) -> nix::Result<(OwnedFd, OwnedFd)> {
    let ws = winsize(like);
    let p = openpty(ws.as_ref(), None)?;
    Ok((p.master, p.slave))
}

/// The window size of a terminal.
pub fn winsize(fd: BorrowedFd<'_>) -> Option<Winsize> {
    let mut ws = Winsize {
        ws_row: 0,
        ws_col: 0,
        ws_xpixel: 0,
        ws_ypixel: 0,
    };
    // SAFETY: TIOCGWINSZ writes one `struct winsize` into `ws`, which we own.
    let rc = unsafe { libc::ioctl(fd.as_raw_fd(), libc::TIOCGWINSZ, &mut ws as *mut Winsize) };
    (rc == 0).then_some(ws)
}

/// Copies the window size of `from` to `to` (on SIGWINCH).
pub fn copy_winsize(from: BorrowedFd<'_>, to: BorrowedFd<'_>) {
    if let Some(ws) = winsize(from) {
        // SAFETY: TIOCSWINSZ reads one `struct winsize` from `ws`, which lives across the call.
        unsafe { libc::ioctl(to.as_raw_fd(), libc::TIOCSWINSZ, &ws as *const Winsize) };
    }
}

/// Raw mode on our terminal while relaying; the previous mode comes back on drop.
pub struct RawGuard<'a> {
    fd: BorrowedFd<'a>,
    saved: Termios,
}

impl<'a> RawGuard<'a> {
    /// Puts `fd` into raw mode; `None` when it is not a terminal.
    pub fn new(fd: BorrowedFd<'a>) -> Option<RawGuard<'a>> {
        let saved = termios::tcgetattr(fd).ok()?;
        let mut raw = saved.clone();
        termios::cfmakeraw(&mut raw);
        termios::tcsetattr(fd, SetArg::TCSADRAIN, &raw).ok()?;
        Some(RawGuard { fd, saved })
    }
}

impl Drop for RawGuard<'_> {
    fn drop(&mut self) {
        let _ = termios::tcsetattr(self.fd, SetArg::TCSADRAIN, &self.saved);
    }
}
