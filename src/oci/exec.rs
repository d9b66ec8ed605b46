//! `exec`: a further process in a running container, through lxnest's attach (the container's
//! namespaces, cgroup, capability bounding set, seccomp and LSM confinement, never looser than
//! its init). From process.json: args, env, cwd, uid and gid. With `--detach` the process runs
//! under a forked waiter whose pid goes to the pid file: the engine's subreaper reaps it and
//! gets the process's exit code.

use super::error::{OciRunError, Result};
use super::state;
use crate::attach::prepare::StdioPlan;
use crate::attach::run::Relay;
use crate::attach::{AttachOptions, EnvPolicy, PtyMode};
use lxnest_core::oci::config::Process;
use nix::unistd::{fork, ForkResult};
use std::path::{Path, PathBuf};

/// `exec`'s options.
#[derive(Debug, Clone, Default)]
pub struct ExecArgs {
    /// `--root`.
    pub root: PathBuf,
    /// Container id.
    pub id: String,
    /// `--process`: the process as JSON.
    pub process: Option<PathBuf>,
    /// Or the command after the id.
    pub command: Vec<String>,
    /// `--detach`.
    pub detach: bool,
    /// `--pid-file`.
    pub pid_file: Option<PathBuf>,
    /// `--tty`.
    pub tty: bool,
    /// `--console-socket`: gets the pty master with `--tty`.
    pub console_socket: Option<PathBuf>,
    /// `--cwd`.
    pub cwd: Option<String>,
    /// `--env`.
    pub env: Vec<String>,
}

fn read_process(path: &Path) -> Result<Process> {
    let text = std::fs::read_to_string(path).map_err(OciRunError::io(path))?;
    serde_json::from_str(&text)
        .map_err(|e| OciRunError::Other(format!("{}: line {}: {e}", path.display(), e.line())))
}

/// The attach options, and whether the process gets a terminal.
fn options(a: &ExecArgs, name: &str) -> Result<(AttachOptions, bool)> {
    let p = match &a.process {
        Some(f) => read_process(f)?,
        None => Process {
            args: a.command.clone(),
            env: a.env.clone(),
            cwd: a.cwd.clone().unwrap_or_default(),
            ..Default::default()
        },
    };
    let terminal = p.terminal || a.tty;
    if terminal && a.console_socket.is_none() {
        return Err(OciRunError::Other(
            "exec with a terminal (--tty, process.terminal) needs --console-socket".into(),
        ));
    }
    if p.args.is_empty() {
        return Err(OciRunError::Other(
            "exec: no command (process.args is empty)".into(),
        ));
    }
    let set = p
        .env
        .iter()
        .filter_map(|kv| kv.split_once('='))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let opts = AttachOptions {
        name: name.into(),
        state_dir: state::lxnest_dir(&a.root),
        command: p.args.clone(),
        env: EnvPolicy {
            clear: true,
            keep: Vec::new(),
            set,
        },
        uid: Some(p.user.uid),
        gid: Some(p.user.gid),
        cwd: Some(if p.cwd.is_empty() {
            "/".into()
        } else {
            p.cwd.clone()
        }),
        pty: PtyMode::Never,
        forward_signals: true,
    };
    Ok((opts, terminal))
}

/// Runs the attach: with the engine's stdio, or with a new pty whose master goes to the
/// console socket (the slave is the process's stdio and controlling terminal).
fn attach(opts: &AttachOptions, console: Option<&Path>) -> Result<i32> {
    let Some(socket) = console else {
        return Ok(crate::attach::attach(opts)?);
    };
    let slave = super::console::open(socket)?;
    let prep = crate::attach::prepare::prepare(opts, StdioPlan::Pty { slave })?;
    let relay = Relay {
        master: None,
        capture: None,
        forward: opts.forward_signals,
        stream: false,
    };
    Ok(crate::attach::run::run(prep, relay)?.0)
}

/// Runs `exec`; returns the exit code this command exits with.
pub fn exec(a: &ExecArgs) -> Result<i32> {
    let r = state::read(&a.root, &a.id)?;
    let status = state::status(&a.root, &r)?;
    if status != "running" {
        return Err(OciRunError::Status {
            id: a.id.clone(),
            status: status.into(),
            why: "exec needs a running container".into(),
        });
    }
    let (opts, terminal) = options(a, &r.name)?;
    let console = a.console_socket.as_deref().filter(|_| terminal);
    if !a.detach {
        if let Some(p) = &a.pid_file {
            super::create::write_pid_file(p, std::process::id() as i32)?;
        }
        return attach(&opts, console);
    }
    // SAFETY: lxnest-oci is single-threaded (no other thread can hold a lock across the fork).
    match unsafe { fork() }.map_err(|e| OciRunError::Other(format!("fork: {e}")))? {
        ForkResult::Child => {
            let code = match attach(&opts, console) {
                Ok(c) => c,
                Err(e) => {
                    eprintln!("lxnest-oci exec: {e}");
                    127
                }
            };
            std::process::exit(code)
        }
        ForkResult::Parent { child } => {
            if let Some(p) = &a.pid_file {
                super::create::write_pid_file(p, child.as_raw())?;
            }
            Ok(0)
        }
    }
}
