//! `lxnest-oci`'s command line: runc's, as Podman's conmon and containerd's runc shim call it
//! (global options before the command: `--root DIR --log FILE --log-format json
//! [--systemd-cgroup] create --bundle B --pid-file F [--console-socket S] ID`).

use super::error::{OciRunError, Result};
use clap::{Parser, Subcommand};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// lxnest as an OCI runtime (runc's command line).
#[derive(Debug, Parser)]
#[command(name = "lxnest-oci", version = concat!(env!("CARGO_PKG_VERSION"), "\nspec: 1.2.0"), about)]
pub struct Cli {
    /// State directory (mode 0700).
    #[arg(long, default_value = super::state::DEFAULT_ROOT)]
    root: PathBuf,
    /// Append errors (and `--debug` messages) to this file.
    #[arg(long)]
    log: Option<PathBuf>,
    /// `text` or `json` (one JSON object a line, as runc writes them).
    #[arg(long, default_value = "text")]
    log_format: String,
    /// Log more.
    #[arg(long)]
    debug: bool,
    /// systemd cgroup paths (`slice:prefix:name`) are refused by the config check; accepted
    /// here so that the engine's invocation parses, and the refusal names the field.
    #[arg(long)]
    systemd_cgroup: bool,
    /// Accepted for runc compatibility; lxnest decides about user namespaces from the config.
    #[arg(long, hide = true)]
    rootless: Option<String>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Create a container from a bundle; its process waits for `start`.
    Create {
        /// The bundle directory (holds config.json).
        #[arg(short, long, default_value = ".")]
        bundle: PathBuf,
        /// Write the pid an engine should wait for (lxnest's monitor) here.
        #[arg(long)]
        pid_file: Option<PathBuf>,
        /// Unix socket that gets the pty master when process.terminal is true.
        #[arg(long)]
        console_socket: Option<PathBuf>,
        /// Accepted: lxnest always pivots the root.
        #[arg(long)]
        no_pivot: bool,
        /// Accepted: lxnest always gives the container a fresh session keyring.
        #[arg(long)]
        no_new_keyring: bool,
        /// Extra descriptors to pass (only 0 is offered).
        #[arg(long, default_value_t = 0)]
        preserve_fds: u32,
        /// Container id.
        id: String,
    },
    /// Start a created container's process.
    Start {
        /// Container id.
        id: String,
    },
    /// Print the container's state (runtime spec JSON).
    State {
        /// Container id.
        id: String,
    },
    /// Send a signal to the container's init (or with --all to every process in it).
    Kill {
        /// Every process of the container.
        #[arg(short, long)]
        all: bool,
        /// Container id.
        id: String,
        /// Signal (`TERM`, `SIGKILL`, `9`).
        #[arg(default_value = "SIGTERM")]
        signal: String,
    },
    /// Delete a container (a running one only with --force).
    Delete {
        /// Kill a running container first.
        #[arg(short, long)]
        force: bool,
        /// Container id.
        id: String,
    },
    /// Run a further process in a running container.
    Exec {
        /// The process as the runtime spec's JSON.
        #[arg(short, long)]
        process: Option<PathBuf>,
        /// Return once the process runs (its pid in --pid-file).
        #[arg(short, long)]
        detach: bool,
        /// Where to write the process's pid.
        #[arg(long)]
        pid_file: Option<PathBuf>,
        /// Unix socket for the pty master.
        #[arg(long)]
        console_socket: Option<PathBuf>,
        /// Give the process a terminal.
        #[arg(short, long)]
        tty: bool,
        /// Working directory.
        #[arg(long)]
        cwd: Option<String>,
        /// Environment (`NAME=VALUE`).
        #[arg(short, long)]
        env: Vec<String>,
        /// Extra descriptors to pass (only 0 is offered).
        #[arg(long, default_value_t = 0)]
        preserve_fds: u32,
        /// Container id.
        id: String,
        /// The command, without --process.
        #[arg(trailing_var_arg = true)]
        command: Vec<String>,
    },
    /// The container's processes.
    Ps {
        /// `table` or `json`.
        #[arg(short, long, default_value = "table")]
        format: String,
        /// Container id.
        id: String,
    },
    /// What this runtime implements (features.json).
    Features,
}

fn print_json(v: &serde_json::Value) -> Result<ExitCode> {
    let text = serde_json::to_string_pretty(v).map_err(|e| OciRunError::Other(e.to_string()))?;
    println!("{text}");
    Ok(ExitCode::SUCCESS)
}

fn no_extra_fds(n: u32) -> Result<()> {
    if n == 0 {
        Ok(())
    } else {
        Err(OciRunError::Other(
            "--preserve-fds above 0 is not offered".into(),
        ))
    }
}

fn run(cli: Cli) -> Result<ExitCode> {
    let root = cli.root;
    match cli.command {
        Command::Create {
            bundle,
            pid_file,
            console_socket,
            preserve_fds,
            id,
            ..
        } => {
            no_extra_fds(preserve_fds)?;
            super::create::create(&super::create::CreateArgs {
                root,
                id,
                bundle,
                pid_file,
                console_socket,
            })?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Start { id } => super::ops::start(&root, &id).map(|_| ExitCode::SUCCESS),
        Command::State { id } => print_json(&super::ops::state(&root, &id)?),
        Command::Kill { all, id, signal } => {
            super::ops::kill(&root, &id, &signal, all).map(|_| ExitCode::SUCCESS)
        }
        Command::Delete { force, id } => {
            super::ops::delete(&root, &id, force).map(|_| ExitCode::SUCCESS)
        }
        Command::Exec {
            process,
            detach,
            pid_file,
            console_socket,
            tty,
            cwd,
            env,
            preserve_fds,
            id,
            command,
        } => {
            no_extra_fds(preserve_fds)?;
            let code = super::exec::exec(&super::exec::ExecArgs {
                root,
                id,
                process,
                command,
                detach,
                pid_file,
                tty,
                console_socket,
                cwd,
                env,
            })?;
            Ok(ExitCode::from(code.clamp(0, 255) as u8))
        }
        Command::Ps { format, id } => {
            let pids = super::ops::pids(&root, &id)?;
            if format == "json" {
                print_json(&serde_json::json!(pids))
            } else {
                println!("PID");
                for p in pids {
                    println!("{p}");
                }
                Ok(ExitCode::SUCCESS)
            }
        }
        Command::Features => print_json(&super::features::features()),
    }
}

/// Appends `msg` to the log file in the asked format.
fn log_error(log: Option<&Path>, json: bool, msg: &str) {
    let Some(path) = log else { return };
    let line = if json {
        serde_json::json!({"level": "error", "msg": msg, "time": super::state::now_rfc3339()})
            .to_string()
    } else {
        format!("error: {msg}")
    };
    if let Ok(mut f) = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
    {
        let _ = writeln!(f, "{line}");
    }
}

/// Parses the arguments and runs the command; errors go to stderr and to `--log`.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    let filter = if cli.debug {
        "debug"
    } else {
        "warn,netlink_packet_route=error"
    };
    let _ = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::new(filter))
        .with_writer(std::io::stderr)
        .without_time()
        .try_init();
    let log = cli.log.clone();
    let json = cli.log_format == "json";
    match run(cli) {
        Ok(code) => code,
        Err(e) => {
            let mut msg = e.to_string();
            let mut src = std::error::Error::source(&e);
            while let Some(s) = src {
                let t = s.to_string();
                if !msg.contains(&t) {
                    msg = format!("{msg}: {t}");
                }
                src = s.source();
            }
            eprintln!("lxnest-oci: {msg}");
            log_error(log.as_deref(), json, &msg);
            ExitCode::from(1)
        }
    }
}
