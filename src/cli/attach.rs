//! Commands: attach (run a command in a running container, at any nesting level) and execute
//! (run a command as the init of a stopped container's configuration). Both go through the
//! library API in `lxnest::attach` only.

use anyhow::{bail, Context};
use lxnest::attach::{self, AttachOptions, EnvPolicy, ExecuteOptions, PtyMode};
use lxnest::launch::{monitor, state};
use lxnest::plan::model::Plan;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

/// attach, execute
#[derive(Debug, clap::Subcommand)]
pub enum AttachCommand {
    /// Run a command (a shell without one) in a running container, confined exactly like its
    /// init: same namespaces, cgroup, capabilities, Landlock, AppArmor and seccomp filters.
    /// `-n A/B` reaches a container that the nesting host A runs. Exits with the command's code.
    Attach {
        /// Container name, or path through nesting hosts (`juju-host/unit-1`).
        #[arg(short = 'n', long, value_parser = lxnest::names::parse_path)]
        name: String,
        /// State directory.
        #[arg(short = 'P', long = "lxpath", default_value_os_t = state::default_dir())]
        state_dir: PathBuf,
        /// Start from the container init's environment only (plus --keep-var, -v, container=lxnest).
        #[arg(long)]
        clear_env: bool,
        /// Keep this variable of ours (repeatable); it wins over the init's value.
        #[arg(long = "keep-var", value_name = "NAME")]
        keep_var: Vec<String>,
        /// Set a variable (repeatable).
        #[arg(short = 'v', long = "set-var", value_name = "NAME=VALUE")]
        set_var: Vec<String>,
        /// uid inside the container.
        #[arg(short = 'u', long)]
        uid: Option<u32>,
        /// gid inside the container.
        #[arg(short = 'g', long)]
        gid: Option<u32>,
        /// Working directory inside the container (default /).
        #[arg(long)]
        cwd: Option<String>,
        /// Allocate a pseudo-terminal even when stdin is not a terminal.
        #[arg(short = 't', long, conflicts_with = "no_pty")]
        pty: bool,
        /// Never allocate a pseudo-terminal.
        #[arg(short = 'T', long)]
        no_pty: bool,
        /// The command.
        #[arg(last = true)]
        command: Vec<String>,
    },
    /// Run a command as the init of a container that is not running, with its full
    /// configuration and policies, in the foreground; everything is removed when it ends.
    Execute {
        /// Container name or path.
        #[arg(short = 'n', long, value_parser = lxnest::names::parse_path)]
        name: String,
        /// Spec (YAML) or plan (JSON); without it, the plan a stale state of NAME saved.
        #[arg(short = 'f', long = "config", value_name = "SPEC")]
        config: Option<PathBuf>,
        /// State directory.
        #[arg(short = 'P', long = "lxpath", default_value_os_t = state::default_dir())]
        state_dir: PathBuf,
        /// Set a variable in the init's environment (repeatable).
        #[arg(short = 'v', long = "set-var", value_name = "NAME=VALUE")]
        set_var: Vec<String>,
        /// Seconds between SIGTERM and SIGKILL when we are stopped.
        #[arg(short = 't', long, default_value_t = monitor::DEFAULT_GRACE.as_secs())]
        timeout: u64,
        /// The command.
        #[arg(last = true, required = true)]
        command: Vec<String>,
    },
}

fn assignments(vars: &[String]) -> anyhow::Result<Vec<(String, String)>> {
    vars.iter()
        .map(|v| {
            attach::env::parse_assignment(v)
                .with_context(|| format!("-v {v:?}: expected NAME=VALUE"))
        })
        .collect()
}

/// A plan from JSON (`lxnest plan --output json`) or a spec planned against this machine.
fn load_plan(path: &Path) -> anyhow::Result<Plan> {
    let text =
        lxnest::source::read_input(path).with_context(|| format!("read {}", path.display()))?;
    if text.trim_start().starts_with('{') {
        return super::json::read_plan(&text, path);
    }
    let loaded = lxnest::input::load(path)?;
    let host = lxnest::host::read().context("reading this machine's facts")?;
    Ok(lxnest::plan::plan(&loaded.stack, &host)?)
}

/// 127 or 126 when `e` says the command could not be executed.
fn exec_failure(e: &attach::AttachError) -> Option<i32> {
    match e {
        attach::AttachError::Child { step, message, .. } if step == "exec" => Some(
            if message.contains("not found") || message.contains("ENOENT") {
                127
            } else {
                126
            },
        ),
        _ => None,
    }
}

fn code(c: i32) -> ExitCode {
    ExitCode::from(u8::try_from(c).unwrap_or(1))
}

impl AttachCommand {
    /// Run the command.
    pub fn run(self) -> anyhow::Result<ExitCode> {
        match self {
            AttachCommand::Attach {
                name,
                state_dir,
                clear_env,
                keep_var,
                set_var,
                uid,
                gid,
                cwd,
                pty,
                no_pty,
                command,
            } => {
                let opts = AttachOptions {
                    name,
                    state_dir,
                    command,
                    env: EnvPolicy {
                        clear: clear_env,
                        keep: keep_var,
                        set: assignments(&set_var)?,
                    },
                    uid,
                    gid,
                    cwd,
                    pty: if pty {
                        PtyMode::Always
                    } else if no_pty {
                        PtyMode::Never
                    } else {
                        PtyMode::Auto
                    },
                    forward_signals: true,
                };
                match attach::attach(&opts) {
                    Ok(c) => Ok(code(c)),
                    // The command could not be executed: the shell's codes (127 not found,
                    // 126 not executable), so scripts can tell it from the command's own 1.
                    Err(e @ attach::AttachError::Child { .. }) if exec_failure(&e).is_some() => {
                        eprintln!("lxnest: {e}");
                        Ok(code(exec_failure(&e).unwrap_or(126)))
                    }
                    Err(e) => Err(e.into()),
                }
            }
            AttachCommand::Execute {
                name,
                config,
                state_dir,
                set_var,
                timeout,
                command,
            } => {
                let plan = match &config {
                    Some(p) => Some(load_plan(p)?),
                    // A container started before is remembered with its plan (lxnest::api).
                    None => lxnest::api::registry::load(&state_dir, &name)
                        .ok()
                        .flatten()
                        .map(|d| d.plan),
                };
                if command.is_empty() {
                    bail!("execute needs a command after --");
                }
                let opts = ExecuteOptions {
                    name,
                    state_dir,
                    plan,
                    command,
                    env: assignments(&set_var)?,
                    grace: Duration::from_secs(timeout),
                };
                Ok(code(attach::execute(&opts)?))
            }
        }
    }
}
