//! Watching a running container: a foreground wait (`run`, `start -F`) or a detached monitor
//! process per container (double fork + setsid) that reaps the init, keeps `state.json`, and on
//! SIGTERM stops the container (SIGTERM to the init, a grace period, then SIGKILL of the whole
//! cgroup) and removes every cgroup, veth and state file.

use super::error::{step_err, LaunchError, Result};
use super::network;
use super::start::{start, StartOptions, Started};
use super::state::{self, State};
use crate::plan::model::LevelPlan;
use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
use nix::sys::signal::{kill, SigSet, Signal};
use nix::sys::signalfd::{SfdFlags, SignalFd};
use nix::sys::wait::{waitpid, WaitPidFlag, WaitStatus};
use nix::unistd::{fork, setsid, ForkResult, Pid};
use std::io::{Read, Write};
use std::os::fd::{AsFd, OwnedFd};
use std::time::{Duration, Instant};

/// How long `stop` waits between SIGTERM and SIGKILL by default.
pub const DEFAULT_GRACE: Duration = Duration::from_secs(10);

/// Exit code of a process as a shell reports it (128 + signal when killed).
pub fn exit_code(ws: WaitStatus) -> Option<i32> {
    match ws {
        WaitStatus::Exited(_, code) => Some(code),
        WaitStatus::Signaled(_, sig, _) => Some(128 + sig as i32),
        _ => None,
    }
}

/// The state record of a started container (also written by a nesting host for its children).
pub(crate) fn state_of(plan: &LevelPlan, s: &Started, monitor_pid: i32) -> State {
    let pid = s.child.pid().as_raw();
    State {
        name: plan.name.clone(),
        path: plan.path.clone(),
        level: plan.depth,
        status: "running".into(),
        pid,
        pid_start: state::start_time(pid).unwrap_or(0),
        monitor_pid,
        cgroups: s.cgroup.dirs(),
        veth: plan.network.veth_host.clone().filter(|_| s.veth.is_some()),
        bridge_created: plan
            .network
            .parent_bridge
            .clone()
            .filter(|_| s.bridge.is_some()),
        enforced: s.enforced.clone(),
        apparmor: s.apparmor.clone(),
        cgroup_note: s.cgroup_note.clone(),
        plan: plan.clone(),
    }
}

/// The signals a monitor waits for. Blocked right after the start (the init has exec'd, so it
/// does not inherit the mask) and before state.json exists, so a `stop` can never kill the
/// monitor before it is listening.
fn wait_mask() -> SigSet {
    let mut mask = SigSet::empty();
    for s in [
        Signal::SIGCHLD,
        Signal::SIGTERM,
        Signal::SIGINT,
        Signal::SIGHUP,
    ] {
        mask.add(s);
    }
    mask
}

/// Waits for the init to exit, turning SIGTERM/SIGINT/SIGHUP into a stop with `grace`.
/// Returns the init's exit code. Signals are blocked only now, after the init exec'd, so the
/// init does not inherit a blocked mask.
pub fn wait(pid: Pid, grace: Duration) -> nix::Result<i32> {
    wait_halting(pid, grace, libc::SIGTERM)
}

/// [`wait`], asking the init to stop with `halt` (the plan's halt signal, see
/// [`crate::plan::model::InitPlan::halt_signal`]: SIGRTMIN+3 for systemd).
pub fn wait_halting(pid: Pid, grace: Duration, halt: i32) -> nix::Result<i32> {
    wait_relaying(pid, grace, halt, None)
}

/// [`wait_halting`], copying a relay meanwhile (a detached container's console into its
/// capped log, or a foreground container's pty or pipes).
fn wait_relaying(
    pid: Pid,
    grace: Duration,
    halt: i32,
    mut pump: Option<&mut dyn super::console::Pump>,
) -> nix::Result<i32> {
    let mask = wait_mask();
    mask.thread_block()?;
    let sfd = SignalFd::with_flags(&mask, SfdFlags::SFD_CLOEXEC | SfdFlags::SFD_NONBLOCK)?;
    let mut deadline: Option<Instant> = None;
    loop {
        match waitpid(pid, Some(WaitPidFlag::WNOHANG)) {
            Ok(WaitStatus::StillAlive) => {}
            Ok(ws) => {
                if let Some(code) = exit_code(ws) {
                    return Ok(code);
                }
            }
            Err(nix::errno::Errno::ECHILD) => return Ok(0),
            Err(e) => return Err(e),
        }
        let timeout = match deadline {
            Some(d) => {
                let left = d.saturating_duration_since(Instant::now());
                if left.is_zero() {
                    // The grace is over: SIGKILL reaches a pid-namespace init even without a handler.
                    let _ = kill(pid, Signal::SIGKILL);
                    deadline = None;
                    PollTimeout::NONE
                } else {
                    PollTimeout::try_from(left.as_millis().min(60_000) as i32)
                        .unwrap_or(PollTimeout::MAX)
                }
            }
            None => PollTimeout::NONE,
        };
        let mut fds = vec![PollFd::new(sfd.as_fd(), PollFlags::POLLIN)];
        if let Some(p) = pump.as_deref() {
            fds.extend(
                p.fds()
                    .into_iter()
                    .map(|f| PollFd::new(f, PollFlags::POLLIN)),
            );
        }
        match poll(&mut fds, timeout) {
            Ok(_) | Err(nix::errno::Errno::EINTR) => {}
            Err(e) => return Err(e),
        }
        let ready: Vec<usize> = fds
            .iter()
            .skip(1)
            .enumerate()
            .filter(|(_, f)| f.revents().is_some_and(|r| !r.is_empty()))
            .map(|(i, _)| i)
            .collect();
        drop(fds);
        // Last first: a pump that stops polling one descriptor shifts only those after it.
        for i in ready.into_iter().rev() {
            if !pump.as_deref_mut().is_some_and(|p| p.ready(i)) {
                pump = None;
                break;
            }
        }
        while let Ok(Some(info)) = sfd.read_signal() {
            let sig = info.ssi_signo as i32;
            if (sig == libc::SIGTERM || sig == libc::SIGINT || sig == libc::SIGHUP)
                && deadline.is_none()
            {
                // SAFETY: kill(2) with a pid and a signal number has no memory effects; `halt`
                // is a valid signal (from InitPlan::halt_signal_number).
                unsafe { libc::kill(pid.as_raw(), halt) };
                deadline = Some(Instant::now() + grace);
            }
        }
    }
}

/// Tears a started container down in the right order; the bridge goes only when unused.
pub fn teardown(s: Started) {
    let plan_hooks = s.hook_plan.clone();
    let state_path = s.state.path().to_path_buf();
    if let Some(p) = &plan_hooks {
        // stop hooks while the container still exists, as in LXC.
        let pid = Some(s.child.pid().as_raw()).filter(|p| *p > 0);
        if let Err(e) = super::hooks::run(p, crate::spec::model::HookKind::Stop, &state_path, pid) {
            tracing::warn!("{e}");
        }
    }
    let Started {
        child,
        veth,
        bridge,
        cgroup,
        state,
        crypt,
        loops,
        ..
    } = s;
    drop(child);
    drop(loops);
    drop(veth);
    // Whoever created the bridge, the last container to leave it removes it.
    if let Some(b) = bridge {
        network::release_bridge(b);
    }
    if let Err(e) = cgroup.remove() {
        tracing::warn!("cgroup cleanup: {e}");
    }
    drop(state);
    lock_root(crypt);
    if let Some(p) = &plan_hooks {
        if let Err(e) =
            super::hooks::run(p, crate::spec::model::HookKind::PostStop, &state_path, None)
        {
            tracing::warn!("{e}");
        }
    }
}

/// Removes an encrypted root's key once the container's processes and mounts are gone; a file
/// still held open (the kernel answers "busy") gets a second try after a moment.
fn lock_root(crypt: Option<(crate::crypt::Opened, crate::plan::model::EncryptPlan)>) {
    let Some((opened, plan)) = crypt else { return };
    let mut outcome = opened.guard.lock();
    // Inodes of processes that just exited can stay busy for a moment; the removal completes
    // once the kernel has evicted them.
    for _ in 0..20 {
        if !matches!(outcome, Ok(crate::crypt::fscrypt::LockOutcome::FilesBusy)) {
            break;
        }
        nix::unistd::sync();
        std::thread::sleep(Duration::from_millis(100));
        outcome = crate::crypt::close_root(&plan);
    }
    match outcome {
        Ok(crate::crypt::fscrypt::LockOutcome::FilesBusy) => {
            tracing::warn!(
                "encrypted root {}: files still busy; run `lxnest crypt lock {}`",
                plan.dir,
                plan.dir
            )
        }
        Ok(_) => {}
        Err(e) => tracing::warn!("locking the encrypted root {}: {e}", plan.dir),
    }
}

/// Starts `plan` and waits in the foreground, in this process (single-threaded: see
/// `launch::entry`); returns the init's exit code.
pub fn run_foreground_here(plan: &LevelPlan, opts: &StartOptions, grace: Duration) -> Result<i32> {
    // Never the caller's terminal: a pty or pipes (launch::fgstdio).
    let mut relay = None;
    let mut opts = opts.clone();
    if !opts.console_log && opts.stdio.is_none() {
        let (stdio, r) = super::fgstdio::prepare().map_err(step_err(&plan.path, "stdio"))?;
        opts.stdio = Some(stdio);
        relay = r;
    }
    let started = start(plan, &opts);
    // Our copies of the init's ends go, or the relay would never see their end-of-file.
    opts.stdio = None;
    let started = started?;
    super::timing::mark(&plan.path, "running");
    let _ = wait_mask().thread_block();
    let st = state_of(plan, &started, std::process::id() as i32);
    if let Err(e) = state::write(&opts.state_dir, &st) {
        teardown(started);
        return Err(e);
    }
    let halt = plan.init.halt_signal_number();
    let code = wait_relaying(
        started.child.pid(),
        grace,
        halt,
        relay.as_mut().map(|r| r as &mut dyn super::console::Pump),
    )
    .map_err(step_err(&plan.path, "monitor"));
    super::timing::mark(&plan.path, "exited");
    if let Some(r) = relay {
        r.finish();
    }
    // The init is reaped (or wait failed): don't let the guard signal a recycled pid.
    let mut started = started;
    if code.is_ok() {
        let pid = std::mem::replace(&mut started.child, super::start::ChildGuard::released());
        let _ = pid.release();
    }
    teardown(started);
    super::timing::mark(&plan.path, "removed");
    Ok(code?)
}

/// A forked monitor's report (`ok PID` or `err MESSAGE`, as `launch::helper` reads them);
/// `None` when `text` is neither.
fn read_report(c: &str, text: &str) -> Option<Result<i32>> {
    let r = super::helper::parse_report(text.lines().next().unwrap_or_default())?;
    Some(r.map_err(|e| LaunchError::helper(c, e)).and_then(|(n, _)| {
        i32::try_from(n).map_err(|_| {
            LaunchError::helper(c, super::helper::HelperError::Failed(text.to_string()))
        })
    }))
}

/// Starts `plan` under a detached monitor process forked from this one (single-threaded: see
/// `launch::entry`); returns the init's pid once it runs.
pub fn start_detached_here(plan: &LevelPlan, opts: &StartOptions, grace: Duration) -> Result<i32> {
    let c = plan.path.as_str();
    // Close-on-exec: the container's init must not inherit the report pipe, or the reader
    // would never see end-of-file.
    let (r, w) =
        nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC).map_err(step_err(c, "monitor"))?;
    // A multi-threaded caller's start was handed to an exec'd helper above; checked, not assumed.
    super::error::single_threaded(c, "monitor")?;
    // SAFETY: this process is single-threaded (checked just now), so the child may run
    // arbitrary code after fork.
    match unsafe { fork() }.map_err(step_err(c, "monitor"))? {
        ForkResult::Parent { child } => {
            drop(w);
            let _ = waitpid(child, None);
            let mut text = String::new();
            let _ = std::fs::File::from(r).read_to_string(&mut text);
            read_report(c, &text).unwrap_or_else(|| {
                Err(LaunchError::helper(
                    c,
                    super::helper::HelperError::Failed(
                        "the monitor exited without a report".into(),
                    ),
                ))
            })
        }
        ForkResult::Child => {
            drop(r);
            // The starting process keeps the allocation registry locked until we report; our
            // inherited copy of its descriptor would hold the lock for the monitor's whole life.
            crate::forkfds::close_inherited();
            // Nor any other descriptor the caller left inheritable (a lock, a pipe its parent
            // reads): the monitor keeps only its report pipe and the container's stdio.
            let mut keep = vec![std::os::fd::AsRawFd::as_raw_fd(&w)];
            if let Some(s) = &opts.stdio {
                keep.extend(s.raw_fds());
            }
            crate::forkfds::close_all_but(&keep);
            let _ = setsid();
            // SAFETY: as above; the intermediate child exits at once so the monitor is reparented.
            match unsafe { fork() } {
                Ok(ForkResult::Child) => {
                    let code = monitor_main(plan, opts, grace, w);
                    std::process::exit(code)
                }
                _ => std::process::exit(0),
            }
        }
    }
}

fn report(w: &mut std::fs::File, line: &str) {
    let _ = w.write_all(line.as_bytes());
}

fn monitor_main(plan: &LevelPlan, opts: &StartOptions, grace: Duration, w: OwnedFd) -> i32 {
    let mut w = std::fs::File::from(w);
    let mut opts = opts.clone();
    opts.console_log = true;
    let started = match start(plan, &opts)
        .and_then(|s| super::inject::check(&plan.path, "monitor").map(|_| s))
    {
        Ok(s) => s,
        Err(e) => {
            report(&mut w, &super::helper::report_line(&Err(e.to_string())));
            return 1;
        }
    };
    let _ = wait_mask().thread_block();
    let st = state_of(plan, &started, std::process::id() as i32);
    if let Err(e) = state::write(&opts.state_dir, &st) {
        report(&mut w, &super::helper::report_line(&Err(e.to_string())));
        teardown(started);
        return 1;
    }
    report(
        &mut w,
        &super::helper::report_line(&Ok((st.pid.into(), String::new()))),
    );
    drop(w);
    // The monitor lives as long as the container: hand the heap the start used (the plan's
    // parse, the CLI's own work before the fork) back to the kernel instead of keeping it
    // resident (docs/performance.md, monitor RSS).
    // SAFETY: malloc_trim only releases free memory at the top of the heap and unused pages of
    // free chunks; no allocation is touched.
    unsafe { libc::malloc_trim(0) };
    let mut console = super::console::take();
    let code = wait_relaying(
        started.child.pid(),
        grace,
        plan.init.halt_signal_number(),
        console.as_mut().map(|c| c as &mut dyn super::console::Pump),
    )
    .unwrap_or(1);
    if let Some(c) = console {
        c.finish();
    }
    let mut started = started;
    let reaped = std::mem::replace(&mut started.child, super::start::ChildGuard::released());
    let _ = reaped.release();
    teardown(started);
    code
}
