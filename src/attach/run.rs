//! The caller's side while the command runs: fork P1 (see [`super::child`]), learn P2's pid,
//! let it go, then relay the terminal, forward signals, collect captured output, and return
//! P1's exit status (which mirrors the command's) once P1 is gone.

use super::child;
use super::error::{step_err, AttachError, Result, StepFailure};
use super::prepare::{Prepared, StdioPlan};
use super::{pty, target};
use crate::launch::capture::Captured;
use nix::fcntl::OFlag;
use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
use nix::sys::signal::{kill, SigSet, SigmaskHow, Signal};
use nix::sys::signalfd::{SfdFlags, SignalFd};
use nix::sys::wait::{waitpid, WaitPidFlag, WaitStatus};
use nix::unistd::{fork, ForkResult, Pid};
use std::io::Write;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};

/// What the caller's side relays besides stdio inheritance.
pub struct Relay {
    /// The pty master (terminal mode).
    pub master: Option<OwnedFd>,
    /// Read ends of stdout and stderr (capturing mode).
    pub capture: Option<(OwnedFd, OwnedFd)>,
    /// Forward signals to the command.
    pub forward: bool,
    /// Copy the captured stdout and stderr to ours as they come instead of collecting them
    /// (stand-ins for a terminal the command must not get, see `attach::attach`).
    pub stream: bool,
}

/// Signals blocked in the calling thread and read from a signalfd; the mask comes back on drop.
struct Forwarder {
    fd: SignalFd,
    old: SigSet,
}

impl Forwarder {
    fn new(winch: bool) -> nix::Result<Forwarder> {
        let mut mask = SigSet::empty();
        for s in [
            Signal::SIGINT,
            Signal::SIGTERM,
            Signal::SIGHUP,
            Signal::SIGQUIT,
        ] {
            mask.add(s);
        }
        if winch {
            mask.add(Signal::SIGWINCH);
        }
        let old = mask.thread_swap_mask(SigmaskHow::SIG_BLOCK)?;
        let fd = SignalFd::with_flags(&mask, SfdFlags::SFD_CLOEXEC | SfdFlags::SFD_NONBLOCK)?;
        Ok(Forwarder { fd, old })
    }
}

impl Drop for Forwarder {
    fn drop(&mut self) {
        let _ = self.old.thread_set_mask();
    }
}

fn code_of(ws: WaitStatus) -> Option<i32> {
    crate::launch::monitor::exit_code(ws)
}

fn wait_p1(p1: Pid) -> i32 {
    loop {
        match waitpid(p1, None) {
            Ok(ws) => {
                if let Some(c) = code_of(ws) {
                    return c;
                }
            }
            Err(nix::errno::Errno::EINTR) => {}
            Err(_) => return 1,
        }
    }
}

/// Reads one line (the first report of P1/P2) from the channel, blocking.
fn read_line(ch: &OwnedFd) -> Option<String> {
    let mut line = Vec::new();
    let mut b = [0u8; 1];
    loop {
        match nix::unistd::read(ch, &mut b) {
            Ok(0) => {
                return (!line.is_empty()).then(|| String::from_utf8_lossy(&line).into_owned())
            }
            Ok(_) if b[0] == b'\n' => return Some(String::from_utf8_lossy(&line).into_owned()),
            Ok(_) => line.push(b[0]),
            Err(nix::errno::Errno::EINTR) => {}
            Err(_) => return None,
        }
    }
}

fn child_error(name: &str, line: &str) -> AttachError {
    let rest = line.strip_prefix("err ").unwrap_or(line);
    let (step, message) = rest.split_once(' ').unwrap_or((rest, ""));
    AttachError::Child {
        name: name.into(),
        step: step.into(),
        message: message.into(),
    }
}

/// Runs the prepared attach; returns (exit code, captured stdout, captured stderr).
pub fn run(mut prep: Prepared, relay: Relay) -> Result<(i32, Vec<u8>, Vec<u8>)> {
    let name = prep.name.clone();
    let (ch_r, ch_w) = nix::unistd::pipe2(OFlag::O_CLOEXEC).map_err(step_err(&name, "fork"))?;
    let (go_r, go_w) = nix::unistd::pipe2(OFlag::O_CLOEXEC).map_err(step_err(&name, "fork"))?;
    // Blocked before the fork, so a Ctrl-C in between reaches the command, not us.
    let fwd = if relay.forward {
        Some(Forwarder::new(relay.master.is_some()).map_err(step_err(&name, "signals"))?)
    } else {
        None
    };
    let Relay {
        master,
        capture,
        stream,
        ..
    } = relay;
    let caller = nix::unistd::getpid();
    // A multi-threaded caller's attach runs in an exec'd helper (attach::helper); checked here.
    crate::launch::helper::single_threaded(&name, "fork")?;
    // SAFETY: this process is single-threaded (checked just now), so no lock another thread
    // held can be held in the child; it uses its copy of `prep` and makes system calls until
    // it execs or exits.
    let p1 = match unsafe { fork() }.map_err(step_err(&name, "fork"))? {
        ForkResult::Child => {
            drop((ch_r, go_w, master, capture, fwd));
            child::first(&mut prep, &ch_w, &go_r, caller)
        }
        ForkResult::Parent { child } => child,
    };
    drop((ch_w, go_r));
    // The attached side's ends (pty slave, capture write ends) must close here, or we would
    // never see end-of-file on them.
    prep.stdio = StdioPlan::Inherit;

    let p2 = match read_line(&ch_r) {
        Some(l) if l.starts_with("pid ") => l[4..].trim().parse::<i32>().ok(),
        Some(l) => {
            wait_p1(p1);
            return Err(child_error(&name, &l));
        }
        None => None,
    };
    let Some(p2) = p2 else {
        let code = wait_p1(p1);
        return Err(step_err(&name, "fork")(StepFailure::refused(format!(
            "the attaching process exited ({code}) without a report"
        )))
        .into());
    };
    if nix::unistd::write(&go_w, b"g").is_err() {
        wait_p1(p1);
        return Err(
            step_err(&name, "fork")(StepFailure::refused("the attaching process is gone")).into(),
        );
    }
    drop(go_w);

    let stdin = std::io::stdin();
    let _raw = master
        .as_ref()
        .and_then(|_| pty::RawGuard::new(stdin.as_fd()));
    let mut io = Io {
        master,
        capture,
        stream,
        out: Captured::default(),
        err: Captured::default(),
        report: Vec::new(),
        stdin_open: true,
    };
    let p1_fd = target::pidfd_open(p1.as_raw()).ok().flatten();
    let code = loop {
        if p1_fd.is_none() {
            if let Ok(ws) = waitpid(p1, Some(WaitPidFlag::WNOHANG)) {
                if let Some(c) = code_of(ws) {
                    break c;
                }
            }
        }
        let exited = io.poll_once(&ch_r, p1_fd.as_ref(), fwd.as_ref(), Pid::from_raw(p2));
        if exited {
            break wait_p1(p1);
        }
    };
    io.drain(&ch_r);
    drop(fwd);
    let report = String::from_utf8_lossy(&io.report).into_owned();
    if let Some(l) = report.lines().find(|l| l.starts_with("err ")) {
        return Err(child_error(&name, l));
    }
    let (out, err) = crate::launch::capture::finish(io.out, io.err);
    Ok((code, out, err))
}

struct Io {
    master: Option<OwnedFd>,
    capture: Option<(OwnedFd, OwnedFd)>,
    stream: bool,
    out: Captured,
    err: Captured,
    report: Vec<u8>,
    stdin_open: bool,
}

#[derive(Clone, Copy)]
enum Src {
    Chan,
    P1,
    Sig,
    Stdin,
    Master,
    Out,
    Err,
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

impl Io {
    /// One poll round; returns true when P1 exited (its pidfd became readable).
    fn poll_once(
        &mut self,
        ch: &OwnedFd,
        p1: Option<&OwnedFd>,
        fwd: Option<&Forwarder>,
        p2: Pid,
    ) -> bool {
        let stdin = std::io::stdin();
        let mut srcs: Vec<(Src, BorrowedFd<'_>)> = vec![(Src::Chan, ch.as_fd())];
        if let Some(p) = p1 {
            srcs.push((Src::P1, p.as_fd()));
        }
        if let Some(f) = fwd {
            srcs.push((Src::Sig, f.fd.as_fd()));
        }
        if let Some(m) = &self.master {
            srcs.push((Src::Master, m.as_fd()));
            if self.stdin_open {
                srcs.push((Src::Stdin, stdin.as_fd()));
            }
        }
        if let Some((o, e)) = &self.capture {
            srcs.push((Src::Out, o.as_fd()));
            srcs.push((Src::Err, e.as_fd()));
        }
        let mut fds: Vec<PollFd<'_>> = srcs
            .iter()
            .map(|(_, fd)| PollFd::new(*fd, PollFlags::POLLIN))
            .collect();
        let timeout = if p1.is_some() {
            PollTimeout::NONE
        } else {
            PollTimeout::from(100u16)
        };
        if poll(&mut fds, timeout).is_err() {
            return false;
        }
        let ready: Vec<(Src, BorrowedFd<'_>)> = srcs
            .iter()
            .zip(fds.iter())
            .filter(|(_, p)| p.revents().is_some_and(|r| !r.is_empty()))
            .map(|(s, _)| *s)
            .collect();
        let mut buf = [0u8; 8192];
        let mut exited = false;
        let mut closed: Vec<i32> = Vec::new();
        for (src, fd) in ready {
            match src {
                Src::P1 => exited = true,
                Src::Chan => match read_some(fd, &mut buf) {
                    Some(n) => self.report.extend_from_slice(&buf[..n]),
                    None => closed.push(fd.as_raw_fd()),
                },
                Src::Sig => forward(fwd, p2, self.master.as_ref()),
                Src::Stdin => match read_some(fd, &mut buf) {
                    Some(n) => write_all(self.master.as_ref(), &buf[..n]),
                    None => {
                        // End of our input: the terminal's end-of-file character tells the
                        // program in the container.
                        write_all(self.master.as_ref(), &[4]);
                        self.stdin_open = false;
                    }
                },
                Src::Master => match read_some(fd, &mut buf) {
                    Some(n) => {
                        let mut out = std::io::stdout().lock();
                        let _ = out.write_all(&buf[..n]).and_then(|_| out.flush());
                    }
                    None => closed.push(fd.as_raw_fd()),
                },
                Src::Out | Src::Err if self.stream => match read_some(fd, &mut buf) {
                    Some(n) => {
                        let _ = if matches!(src, Src::Out) {
                            std::io::stdout().lock().write_all(&buf[..n])
                        } else {
                            std::io::stderr().lock().write_all(&buf[..n])
                        };
                    }
                    None => closed.push(fd.as_raw_fd()),
                },
                Src::Out | Src::Err => match read_some(fd, &mut buf) {
                    Some(n) => if matches!(src, Src::Out) {
                        &mut self.out
                    } else {
                        &mut self.err
                    }
                    .push(&buf[..n]),
                    None => closed.push(fd.as_raw_fd()),
                },
            }
        }
        self.close(ch, &closed);
        exited
    }

    /// Stops polling descriptors that reached end-of-file (the channel keeps its fd; it is
    /// only read again in `drain`).
    fn close(&mut self, _ch: &OwnedFd, closed: &[i32]) {
        if self
            .master
            .as_ref()
            .is_some_and(|m| closed.contains(&m.as_raw_fd()))
        {
            self.master = None;
        }
        if let Some((o, e)) = &self.capture {
            if closed.contains(&o.as_raw_fd()) && closed.contains(&e.as_raw_fd()) {
                self.capture = None;
            }
        }
    }

    /// After P1 exited: take what is still buffered, without waiting for processes the
    /// command left behind that may hold the pipes open.
    fn drain(&mut self, ch: &OwnedFd) {
        let mut buf = [0u8; 8192];
        let nonblock = |fd: BorrowedFd<'_>| {
            let _ = nix::fcntl::fcntl(fd, nix::fcntl::FcntlArg::F_SETFL(OFlag::O_NONBLOCK));
        };
        nonblock(ch.as_fd());
        while let Some(n) = read_some(ch.as_fd(), &mut buf) {
            self.report.extend_from_slice(&buf[..n]);
        }
        if let Some(m) = &self.master {
            nonblock(m.as_fd());
            while let Some(n) = read_some(m.as_fd(), &mut buf) {
                let _ = std::io::stdout().write_all(&buf[..n]);
            }
            let _ = std::io::stdout().flush();
        }
        if let Some((o, e)) = &self.capture {
            for (fd, sink) in [(o, &mut self.out), (e, &mut self.err)] {
                nonblock(fd.as_fd());
                while let Some(n) = read_some(fd.as_fd(), &mut buf) {
                    sink.push(&buf[..n]);
                }
            }
        }
    }
}

fn write_all(fd: Option<&OwnedFd>, mut data: &[u8]) {
    let Some(fd) = fd else { return };
    while !data.is_empty() {
        match nix::unistd::write(fd, data) {
            Ok(n) => data = &data[n..],
            Err(nix::errno::Errno::EINTR) => {}
            Err(_) => return,
        }
    }
}

fn forward(fwd: Option<&Forwarder>, p2: Pid, master: Option<&OwnedFd>) {
    let Some(f) = fwd else { return };
    while let Ok(Some(info)) = f.fd.read_signal() {
        let Ok(sig) = Signal::try_from(info.ssi_signo as i32) else {
            continue;
        };
        if sig == Signal::SIGWINCH {
            if let Some(m) = master {
                pty::copy_winsize(std::io::stdin().as_fd(), m.as_fd());
            }
        } else {
            let _ = kill(p2, sig);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reports_parse_into_errors_and_lines() {
        match child_error("c", "err seccomp filter 1 of 2: EINVAL") {
            AttachError::Child { step, message, .. } => {
                assert_eq!(step, "seccomp");
                assert_eq!(message, "filter 1 of 2: EINVAL");
            }
            other => panic!("{other:?}"),
        }
        let (r, w) = nix::unistd::pipe2(OFlag::O_CLOEXEC).expect("pipe");
        nix::unistd::write(&w, b"pid 42\nerr x y\n").expect("write");
        drop(w);
        assert_eq!(read_line(&r).as_deref(), Some("pid 42"));
        assert_eq!(read_line(&r).as_deref(), Some("err x y"));
        assert_eq!(read_line(&r), None);
        assert_eq!(
            code_of(WaitStatus::Signaled(
                Pid::from_raw(1),
                Signal::SIGKILL,
                false
            )),
            Some(137)
        );
    }
}
