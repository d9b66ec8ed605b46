//! The stdio of a foreground container (`run`, `start -F`, `execute`): never the caller's
//! terminal. A process holding a descriptor of a terminal can type into it with TIOCSTI (this
//! kernel has `dev.tty.legacy_tiocsti=1`), and one that finds it without a session can make it
//! its controlling terminal; a container once typed `id; cat /root/secret` into the root shell
//! that started it. So, as LXC and runc do:
//!
//! - stdin a terminal: a new pseudo-terminal from the host's /dev/ptmx (`attach::pty`); the init
//!   gets the slave as stdin, stdout, stderr and controlling terminal, and lxnest relays between
//!   the caller's terminal (in raw mode meanwhile) and the master;
//! - otherwise the caller's stdio passes through, except that a stdout or stderr that is a
//!   terminal becomes a pipe that lxnest copies to it;
//! - in both cases the init starts a session of its own ([`adopt`]), so the caller's terminal
//!   is not its controlling terminal, and every descriptor from 3 up closes at its exec.

use std::io::{IsTerminal, Write};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};
use std::sync::Arc;

/// What the container's init gets as descriptors 0, 1 and 2.
#[derive(Debug)]
pub struct ChildStdio {
    fds: [OwnedFd; 3],
    /// `fds` are the slave of a pseudo-terminal, to become the init's controlling terminal.
    pty: bool,
}

impl ChildStdio {
    /// Descriptors a caller made itself (an OCI engine's pipes, or a pty slave when `pty`).
    pub fn new(fds: [OwnedFd; 3], pty: bool) -> ChildStdio {
        ChildStdio { fds, pty }
    }

    /// The three descriptors' numbers (a forked monitor keeps them open: `forkfds`).
    pub fn raw_fds(&self) -> [std::os::fd::RawFd; 3] {
        self.fds.each_ref().map(std::os::fd::AsRawFd::as_raw_fd)
    }
}

/// Where lxnest copies from and to while the container runs.
#[derive(Debug)]
enum Route {
    /// Caller's stdin (terminal) -> pty master -> caller's stdout.
    Pty {
        master: Option<OwnedFd>,
        stdin_open: bool,
    },
    /// Pipes standing in for a terminal stdout (index 1) or stderr (index 2).
    Pipes {
        out: Option<OwnedFd>,
        err: Option<OwnedFd>,
    },
}

/// The caller's side of a foreground container's stdio.
#[derive(Debug)]
pub struct Relay {
    route: Route,
    raw: Option<nix::sys::termios::Termios>,
}

fn dup(fd: BorrowedFd<'_>) -> std::io::Result<OwnedFd> {
    fd.try_clone_to_owned()
}

/// Decides the stdio of a foreground container from the caller's descriptors 0-2.
pub fn prepare() -> std::io::Result<(Arc<ChildStdio>, Option<Relay>)> {
    let stdin = std::io::stdin();
    if stdin.is_terminal() {
        let (master, slave) = crate::pty::open(stdin.as_fd()).map_err(std::io::Error::from)?;
        let fds = [dup(slave.as_fd())?, dup(slave.as_fd())?, slave];
        let raw = raw_mode(stdin.as_fd());
        let relay = Relay {
            route: Route::Pty {
                master: Some(master),
                stdin_open: true,
            },
            raw,
        };
        return Ok((Arc::new(ChildStdio { fds, pty: true }), Some(relay)));
    }
    let pipe_if_tty = |fd: BorrowedFd<'_>| -> std::io::Result<(OwnedFd, Option<OwnedFd>)> {
        if !fd.is_terminal() {
            return Ok((dup(fd)?, None));
        }
        let (r, w) =
            nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC).map_err(std::io::Error::from)?;
        Ok((w, Some(r)))
    };
    let (o, out) = pipe_if_tty(std::io::stdout().as_fd())?;
    let (e, err) = pipe_if_tty(std::io::stderr().as_fd())?;
    let relay = (out.is_some() || err.is_some()).then_some(Relay {
        route: Route::Pipes { out, err },
        raw: None,
    });
    let fds = [dup(stdin.as_fd())?, o, e];
    Ok((Arc::new(ChildStdio { fds, pty: false }), relay))
}

/// The caller's terminal in raw mode while the pty relays (restored by [`Relay::finish`]);
/// the saved mode, or `None` when it could not be read.
fn raw_mode(fd: BorrowedFd<'_>) -> Option<nix::sys::termios::Termios> {
    use nix::sys::termios::{self, SetArg};
    let saved = termios::tcgetattr(fd).ok()?;
    let mut raw = saved.clone();
    termios::cfmakeraw(&mut raw);
    // Output post-processing stays on: the container's lines end in "\n", not "\r\n".
    raw.output_flags = saved.output_flags;
    termios::tcsetattr(fd, SetArg::TCSADRAIN, &raw).ok()?;
    Some(saved)
}

/// In the container's init (the cloned child), first thing: a session of its own (no
/// controlling terminal), then `stdio` as descriptors 0-2, and the pty slave as controlling
/// terminal. Without `stdio` (a detached container, or a nesting host's children) only the
/// session.
pub fn adopt(stdio: Option<&ChildStdio>) -> std::io::Result<()> {
    // The clone is not a process-group leader, so setsid cannot fail with EPERM.
    nix::unistd::setsid().map_err(std::io::Error::from)?;
    let Some(s) = stdio else { return Ok(()) };
    for (n, fd) in s.fds.iter().enumerate() {
        // SAFETY: dup2 of a descriptor we own onto a standard descriptor.
        if unsafe { libc::dup2(fd.as_raw_fd(), n as i32) } < 0 {
            return Err(std::io::Error::last_os_error());
        }
    }
    if s.pty {
        // SAFETY: TIOCSCTTY on stdin (the new pty's slave) with an integer argument.
        if unsafe { libc::ioctl(0, libc::TIOCSCTTY, 0) } < 0 {
            return Err(std::io::Error::last_os_error());
        }
    }
    Ok(())
}

fn read_some(fd: BorrowedFd<'_>, buf: &mut [u8]) -> Option<usize> {
    loop {
        match nix::unistd::read(fd, buf) {
            Ok(0) => return None,
            Ok(n) => return Some(n),
            Err(nix::errno::Errno::EINTR) => continue,
            // EIO: the pty's last slave closed; EAGAIN while draining.
            Err(_) => return None,
        }
    }
}

fn write_to(fd: BorrowedFd<'_>, mut data: &[u8]) {
    while !data.is_empty() {
        match nix::unistd::write(fd, data) {
            Ok(n) => data = &data[n..],
            Err(nix::errno::Errno::EINTR) => continue,
            // The caller's reader went away (EPIPE): the output is lost, the container goes on.
            Err(_) => return,
        }
    }
}

impl Relay {
    /// The descriptors to poll, in the order [`Relay::ready`] takes them.
    pub fn fds(&self) -> Vec<BorrowedFd<'_>> {
        match &self.route {
            Route::Pty { master, stdin_open } => {
                let Some(master) = master else {
                    return Vec::new();
                };
                let mut v = vec![master.as_fd()];
                if *stdin_open {
                    // SAFETY: descriptor 0 stays open for the whole life of the process.
                    v.push(unsafe { BorrowedFd::borrow_raw(0) });
                }
                v
            }
            Route::Pipes { out, err } => out.iter().chain(err.iter()).map(|f| f.as_fd()).collect(),
        }
    }

    /// Copies one chunk from the `i`-th descriptor of [`Relay::fds`], which poll reported.
    pub fn ready(&mut self, i: usize) {
        let mut buf = [0u8; 16384];
        let stdout = std::io::stdout();
        let stderr = std::io::stderr();
        match &mut self.route {
            Route::Pty { master, stdin_open } => {
                let Some(m) = master.as_ref() else { return };
                if i == 0 {
                    match read_some(m.as_fd(), &mut buf) {
                        Some(n) => {
                            write_to(stdout.as_fd(), &buf[..n]);
                            let _ = stdout.lock().flush();
                        }
                        // Nothing holds the slave any more; nothing more will come.
                        None => *master = None,
                    }
                } else {
                    // SAFETY: descriptor 0 stays open for the whole life of the process.
                    let stdin = unsafe { BorrowedFd::borrow_raw(0) };
                    match read_some(stdin, &mut buf) {
                        Some(n) => write_to(m.as_fd(), &buf[..n]),
                        None => {
                            // End of our input: the terminal's end-of-file character.
                            write_to(m.as_fd(), &[4]);
                            *stdin_open = false;
                        }
                    }
                }
            }
            Route::Pipes { out, err } => {
                let slots = [out, err];
                let mut k = 0;
                for (slot, dst) in slots.into_iter().zip([stdout.as_fd(), stderr.as_fd()]) {
                    let Some(fd) = slot.as_ref() else { continue };
                    if k == i {
                        match read_some(fd.as_fd(), &mut buf) {
                            Some(n) => write_to(dst, &buf[..n]),
                            None => *slot = None,
                        }
                        return;
                    }
                    k += 1;
                }
            }
        }
    }

    /// After the init exited: copies what is still buffered, without waiting for processes
    /// the container left behind, and restores the caller's terminal mode.
    pub fn finish(self) {
        let stdout = std::io::stdout();
        let stderr = std::io::stderr();
        match &self.route {
            Route::Pty { master, .. } => {
                if let Some(m) = master {
                    drain(m.as_fd(), stdout.as_fd());
                }
            }
            Route::Pipes { out, err } => {
                if let Some(o) = out {
                    drain(o.as_fd(), stdout.as_fd());
                }
                if let Some(e) = err {
                    drain(e.as_fd(), stderr.as_fd());
                }
            }
        }
        // Drop restores the terminal mode.
    }
}

impl Drop for Relay {
    fn drop(&mut self) {
        if let Some(saved) = self.raw.take() {
            let stdin = std::io::stdin();
            let _ = nix::sys::termios::tcsetattr(
                stdin.as_fd(),
                nix::sys::termios::SetArg::TCSADRAIN,
                &saved,
            );
        }
    }
}

impl super::console::Pump for Relay {
    fn fds(&self) -> Vec<BorrowedFd<'_>> {
        Relay::fds(self)
    }

    fn ready(&mut self, i: usize) -> bool {
        Relay::ready(self, i);
        !Relay::fds(self).is_empty()
    }
}

/// Copies what `fd` holds now to `dst`, at most 16 MiB (a process left behind may keep
/// writing).
fn drain(fd: BorrowedFd<'_>, dst: BorrowedFd<'_>) {
    // SAFETY: fcntl on a descriptor we hold, with integer arguments.
    unsafe { libc::fcntl(fd.as_raw_fd(), libc::F_SETFL, libc::O_NONBLOCK) };
    let mut buf = [0u8; 16384];
    for _ in 0..1024 {
        match read_some(fd, &mut buf) {
            Some(n) => write_to(dst, &buf[..n]),
            None => return,
        }
    }
}
