//! `execute`: a container that is not running, started with its full configuration and
//! policies (from a plan, or the plan saved in a stale state) and the given command as its init,
//! in the foreground through the launcher's [`crate::launch::run_foreground`], which removes
//! everything again like `stop` when the command ends.

use super::error::{step_err, AttachError, Result};
use super::options::Output;
use crate::launch::capture::Captured;
use crate::launch::{ops, state, LaunchError, StartOptions};
use crate::plan::model::{LevelPlan, Plan};
use nix::sys::wait::waitpid;
use nix::unistd::{fork, ForkResult};
use std::io::Read;
use std::os::fd::{AsRawFd, OwnedFd};
use std::path::PathBuf;
use std::time::Duration;

/// Options of [`execute`] and [`execute_output`].
#[derive(Debug, Clone)]
pub struct ExecuteOptions {
    /// Container name or path in the plan.
    pub name: String,
    /// State directory (`-P`; empty means /run/lxnest).
    pub state_dir: PathBuf,
    /// The plan to take the container from (`-f`); `None` takes the plan a stale state saved.
    pub plan: Option<Plan>,
    /// The command, run as the container's init.
    pub command: Vec<String>,
    /// Variables added to the init's environment (`-v NAME=VALUE`).
    pub env: Vec<(String, String)>,
    /// Time between SIGTERM and SIGKILL when we are asked to stop.
    pub grace: Duration,
}

/// The state directory; empty means the default one.
fn state_dir(opts: &ExecuteOptions) -> PathBuf {
    if opts.state_dir.as_os_str().is_empty() {
        state::default_dir()
    } else {
        opts.state_dir.clone()
    }
}

/// The container's plan with the command in place of its init.
fn level_plan(
    opts: &ExecuteOptions,
) -> Result<(LevelPlan, Option<crate::plan::model::BridgePlan>)> {
    if opts.command.is_empty() {
        return Err(AttachError::Usage("execute needs a command".into()));
    }
    crate::names::check_path(&opts.name).map_err(LaunchError::from)?;
    let saved = match state::read(&state_dir(opts), &opts.name) {
        Ok(st) if state::alive(&st) => return Err(AttachError::Running(opts.name.clone())),
        Ok(st) => {
            // A stale state: what its launcher left behind goes first, as `stop` would do it.
            ops::cleanup(&state_dir(opts), &st)?;
            Some(st.plan)
        }
        // A path of names (`host/child`) has no state of its own here: the plan decides.
        Err(LaunchError::NotFound(_) | LaunchError::Name(_)) => None,
        Err(e) => return Err(e.into()),
    };
    let (mut lp, bridge) = match (&opts.plan, saved) {
        (Some(p), _) => {
            let c = p
                .containers
                .iter()
                .find(|c| c.path == opts.name || c.name == opts.name)
                .ok_or_else(|| AttachError::NotFound {
                    name: opts.name.clone(),
                    looked_in: format!("plan {}", p.stack),
                })?;
            if c.depth > p.base_level + 1 {
                return Err(AttachError::Usage(format!(
                    "{} is a level-{} container: execute runs containers of the level it runs at; run it inside {}",
                    c.path,
                    c.depth,
                    c.parent.as_deref().unwrap_or("its parent")
                )));
            }
            (c.clone(), p.host_bridge.clone())
        }
        (None, Some(lp)) => (lp, None),
        (None, None) => {
            return Err(AttachError::NotFound {
                name: opts.name.clone(),
                looked_in: format!(
                    "{} (no saved state; pass the spec with -f)",
                    state_dir(opts).display()
                ),
            })
        }
    };
    lp.init.command = opts.command.clone();
    for (k, v) in &opts.env {
        lp.init.environment.insert(k.clone(), v.clone());
    }
    Ok((lp, bridge))
}

/// Runs the command in the stopped container `opts.name` with the caller's stdio; returns its
/// exit code.
pub fn execute(opts: &ExecuteOptions) -> Result<i32> {
    let (lp, bridge) = level_plan(opts)?;
    let start = StartOptions {
        state_dir: state_dir(opts),
        bridge,
        ..Default::default()
    };
    Ok(crate::launch::run_foreground(&lp, &start, opts.grace)?)
}

fn read_all(fd: OwnedFd) -> std::thread::JoinHandle<Captured> {
    std::thread::spawn(move || {
        let mut c = Captured::default();
        let mut f = std::fs::File::from(fd);
        let mut buf = [0u8; 8192];
        loop {
            match f.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => c.push(&buf[..n]),
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(_) => break,
            }
        }
        c
    })
}

/// [`execute`] with stdin from /dev/null and stdout/stderr captured. The launcher runs in a
/// forked process whose stdio are the capture pipes (the container's init inherits them).
pub fn execute_output(opts: &ExecuteOptions) -> Result<Output> {
    let (lp, bridge) = level_plan(opts)?;
    let name = lp.path.clone();
    let start = StartOptions {
        state_dir: state_dir(opts),
        bridge,
        ..Default::default()
    };
    // From a multi-threaded caller, the launcher runs in an exec'd lxnest (launch::helper),
    // whose stdio are the capture pipes.
    if crate::launch::helper::multi_threaded() {
        return super::helper::captured(&name, |stdio| {
            crate::launch::start_job::spawn_start(&lp, &start, opts.grace, true, Some(stdio))
                .map_err(|source| AttachError::Helper {
                    name: name.clone(),
                    source,
                })
        });
    }
    let pipe =
        || nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC).map_err(step_err(&name, "stdio"));
    let ((out_r, out_w), (err_r, err_w), (rep_r, rep_w)) = (pipe()?, pipe()?, pipe()?);
    let null: OwnedFd = std::fs::File::open("/dev/null")
        .map_err(step_err(&name, "stdio"))?
        .into();
    crate::launch::helper::single_threaded(&name, "fork")?;
    // SAFETY: this process is single-threaded (checked just now); the child runs the launcher
    // (which forks and execs the init) and exits.
    match unsafe { fork() }.map_err(step_err(&name, "fork"))? {
        ForkResult::Child => {
            for (from, to) in [(&null, 0), (&out_w, 1), (&err_w, 2)] {
                // SAFETY: dup2 onto a standard descriptor from one we own.
                unsafe { libc::dup2(from.as_raw_fd(), to) };
            }
            let code = match crate::launch::run_foreground(&lp, &start, opts.grace) {
                Ok(c) => c,
                Err(e) => {
                    let msg = e.to_string();
                    // SAFETY: writes our own buffer to a descriptor we own.
                    unsafe { libc::write(rep_w.as_raw_fd(), msg.as_ptr().cast(), msg.len()) };
                    1
                }
            };
            // SAFETY: ends the forked child without the parent's atexit handlers.
            unsafe { libc::_exit(code) }
        }
        ForkResult::Parent { child } => {
            drop((out_w, err_w, rep_w, null));
            let (out, err, rep) = (read_all(out_r), read_all(err_r), read_all(rep_r));
            let ws = waitpid(child, None).map_err(step_err(&name, "wait"))?;
            let code = crate::launch::monitor::exit_code(ws).unwrap_or(1);
            let (stdout, stderr) = crate::launch::capture::finish(
                out.join().unwrap_or_default(),
                err.join().unwrap_or_default(),
            );
            let report = rep.join().unwrap_or_default().into_bytes();
            let report = String::from_utf8_lossy(&report).into_owned();
            if !report.is_empty() {
                return Err(
                    step_err(&name, "launch")(super::error::StepFailure::refused(report)).into(),
                );
            }
            Ok(Output {
                code,
                stdout,
                stderr,
            })
        }
    }
}
