//! Attach and execute from a multi-threaded caller: the fork of the attaching process (and the
//! launcher's for `execute`) happens in an exec'd `lxnest __monitor` (`launch::helper`, one
//! protocol for every job), which is single-threaded. The helper gets the caller's stdio, so it
//! makes the same pty / no-controlling-terminal choice and relays the same way; or pipes the
//! caller reads, for the capturing variants. A single-threaded caller (the command line) forks
//! as before, with no extra exec.

use super::error::{AttachError, Result};
use super::options::{AttachOptions, Output};
use crate::launch::helper::{self, HelperError, Spawned};
use nix::sys::signal::{SigSet, SigmaskHow, Signal};
use nix::sys::signalfd::{SfdFlags, SignalFd};
use std::os::fd::{AsFd, OwnedFd};

/// Kind of an attach job.
pub const JOB_ATTACH: &str = "attach";

fn failed(name: &str) -> impl Fn(HelperError) -> AttachError + '_ {
    move |source| AttachError::Helper {
        name: name.into(),
        source,
    }
}

/// The attach job's handler in `lxnest __monitor`: [`super::attach`] with the options as sent.
pub fn attach_job(
    job: serde_json::Value,
) -> std::result::Result<(i64, String), Box<dyn std::error::Error>> {
    let opts: AttachOptions = serde_json::from_value(job)?;
    Ok((i64::from(super::attach(&opts)?), String::new()))
}

/// [`super::attach`] in a helper that shares our stdio; SIGINT, SIGTERM, SIGHUP and SIGQUIT
/// sent to us go to the helper, which forwards them to the command, when `opts` says so.
pub fn attach(opts: &AttachOptions) -> Result<i32> {
    check(opts)?;
    let name = opts.name.as_str();
    let forward = if opts.forward_signals {
        Some(Forwarder::new().map_err(super::error::step_err(name, "signals"))?)
    } else {
        None
    };
    let spawned = helper::spawn(JOB_ATTACH, opts, None).map_err(failed(name))?;
    if let Some(f) = &forward {
        f.relay_until_exit(&spawned)
            .map_err(super::error::step_err(name, "signals"))?;
    }
    let (code, _) = spawned.finish().map_err(failed(name))?;
    Ok(code as i32)
}

/// [`super::attach_output`] in a helper whose stdin is /dev/null and whose stdout and stderr
/// are pipes we read.
pub fn attach_output(opts: &AttachOptions) -> Result<Output> {
    check(opts)?;
    let mut opts = opts.clone();
    opts.pty = super::PtyMode::Never;
    opts.forward_signals = false;
    let name = opts.name.clone();
    captured(&name, |stdio| {
        helper::spawn(JOB_ATTACH, &opts, Some(stdio)).map_err(failed(&name))
    })
}

/// Everything the attach checks before it forks, here in the caller, so that what a caller
/// branches on stays a typed error (not found, not running, weaker than the init, a bad option)
/// instead of the helper's message. What it prepared is dropped again (an `attach` cgroup leaf
/// it made is removed); the helper prepares its own.
fn check(opts: &AttachOptions) -> Result<()> {
    super::prepare::prepare(opts, super::prepare::StdioPlan::Inherit).map(drop)
}

/// Starts a helper with `spawn` on capture pipes, collects its output, and returns it with the
/// exit code it reported.
pub fn captured(name: &str, spawn: impl FnOnce([OwnedFd; 3]) -> Result<Spawned>) -> Result<Output> {
    let pipe = || {
        nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC)
            .map_err(super::error::step_err(name, "stdio"))
    };
    let (out_r, out_w) = pipe()?;
    let (err_r, err_w) = pipe()?;
    let null: OwnedFd = std::fs::File::open("/dev/null")
        .map_err(super::error::step_err(name, "stdio"))?
        .into();
    let spawned = spawn([null, out_w, err_w])?;
    let (stdout, stderr) = spawned
        .collect(out_r, err_r)
        .map_err(super::error::step_err(name, "stdio"))?;
    let (code, _) = spawned.finish().map_err(failed(name))?;
    Ok(Output {
        code: code as i32,
        stdout,
        stderr,
    })
}

/// Signals blocked in the calling thread and read from a signalfd while the helper runs; the
/// mask comes back on drop.
struct Forwarder {
    fd: SignalFd,
    old: SigSet,
}

impl Forwarder {
    fn new() -> nix::Result<Forwarder> {
        let mut mask = SigSet::empty();
        for s in [
            Signal::SIGINT,
            Signal::SIGTERM,
            Signal::SIGHUP,
            Signal::SIGQUIT,
        ] {
            mask.add(s);
        }
        let old = mask.thread_swap_mask(SigmaskHow::SIG_BLOCK)?;
        let fd = SignalFd::with_flags(&mask, SfdFlags::SFD_CLOEXEC | SfdFlags::SFD_NONBLOCK)?;
        Ok(Forwarder { fd, old })
    }

    /// Sends every signal we read to the helper until it exits.
    fn relay_until_exit(&self, helper: &Spawned) -> std::io::Result<()> {
        use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
        let pidfd = helper.pidfd()?;
        let pid = nix::unistd::Pid::from_raw(helper.pid());
        loop {
            let mut fds = [
                PollFd::new(pidfd.as_fd(), PollFlags::POLLIN),
                PollFd::new(self.fd.as_fd(), PollFlags::POLLIN),
            ];
            match poll(&mut fds, PollTimeout::NONE) {
                Ok(_) | Err(nix::errno::Errno::EINTR) => {}
                Err(e) => return Err(e.into()),
            }
            let exited = fds[0].revents().is_some_and(|r| !r.is_empty());
            while let Ok(Some(info)) = self.fd.read_signal() {
                if let Ok(sig) = Signal::try_from(info.ssi_signo as i32) {
                    let _ = nix::sys::signal::kill(pid, sig);
                }
            }
            if exited {
                return Ok(());
            }
        }
    }
}

impl Drop for Forwarder {
    fn drop(&mut self) {
        let _ = self.old.thread_set_mask();
    }
}
