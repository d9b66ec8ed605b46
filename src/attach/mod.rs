//! Running commands in containers: [`attach`] joins a running container (at any nesting level)
//! exactly as confined as its init; [`execute`] starts a stopped container's configuration with
//! the command as its init, in the foreground, and cleans up like `stop`.
//!
//! Order of the attach steps and the reasons: docs/attach.md. Modules, by job:
//! [`target`] finds the container and its init's pid in our pid namespace; [`prepare`] gathers
//! everything on the host side; [`cgroup`], [`ns`], [`caps`], [`landlock`], [`status`], [`env`]
//! each prepare or apply one part of the confinement; [`child`] is the attaching processes;
//! [`run`] relays stdio, signals and the exit status; [`pty`] is the host-side terminal.
//!
//! ```no_run
//! use lxnest::attach::{attach_output, AttachOptions};
//! let mut opts = AttachOptions::new("juju-host/unit-1");
//! opts.command = vec!["cat".into(), "/proc/self/status".into()];
//! let out = attach_output(&opts)?;
//! println!("exit {}: {}", out.code, String::from_utf8_lossy(&out.stdout));
//! # Ok::<(), lxnest::attach::AttachError>(())
//! ```

pub mod caps;
pub mod cgroup;
pub mod child;
pub mod env;
pub mod error;
pub mod execute;
pub mod handoff;
pub mod helper;
pub use crate::inroot;
pub mod landlock;
pub mod level;
pub mod ns;
pub mod options;
pub mod prepare;
/// The host-side pseudo-terminal (shared with the launcher's foreground mode).
pub use crate::pty;
pub mod run;
pub mod status;
pub mod target;

pub use env::EnvPolicy;
pub use error::{AttachError, Result};
pub use execute::{execute, execute_output, ExecuteOptions};
pub use options::{AttachOptions, Output, PtyMode};

use prepare::StdioPlan;
use std::io::IsTerminal;
use std::os::fd::OwnedFd;

/// Runs the command of `opts` in the running container `opts.name` with the caller's stdio (a new
/// pseudo-terminal when stdin is a terminal, see [`PtyMode`]); returns its exit code (128 +
/// signal number when a signal ended it).
pub fn attach(opts: &AttachOptions) -> Result<i32> {
    // From a multi-threaded caller, the fork happens in an exec'd lxnest (attach::helper).
    if crate::launch::helper::multi_threaded() {
        return helper::attach(opts);
    }
    let want_pty = match opts.pty {
        PtyMode::Auto => std::io::stdin().is_terminal(),
        PtyMode::Always => true,
        PtyMode::Never => false,
    };
    let mut capture = None;
    let (stdio, master) = if want_pty {
        let (master, slave) = pty::open(std::os::fd::AsFd::as_fd(&std::io::stdin()))
            .map_err(error::step_err(&opts.name, "pty"))?;
        (StdioPlan::Pty { slave }, Some(master))
    } else if std::io::stdin().is_terminal()
        || std::io::stdout().is_terminal()
        || std::io::stderr().is_terminal()
    {
        // Without a pty the command must still not get our terminal (TIOCSTI would type into
        // it): a terminal stdin becomes /dev/null, stdout and stderr become pipes we copy.
        let (plan, ends) = no_terminal(&opts.name)?;
        capture = Some(ends);
        (plan, None)
    } else {
        (StdioPlan::Inherit, None)
    };
    let prep = prepare::prepare(opts, stdio)?;
    let (code, _, _) = run::run(
        prep,
        run::Relay {
            master,
            stream: capture.is_some(),
            capture,
            forward: opts.forward_signals,
        },
    )?;
    Ok(code)
}

/// Stdio for an attach without a pty when one of ours is a terminal: our stdin unless it is a
/// terminal (then /dev/null), and pipes for stdout and stderr (their read ends returned).
fn no_terminal(name: &str) -> Result<(StdioPlan, (OwnedFd, OwnedFd))> {
    let pipe =
        || nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC).map_err(error::step_err(name, "stdio"));
    let ((out_r, out_w), (err_r, err_w)) = (pipe()?, pipe()?);
    let stdin = std::io::stdin();
    let input: OwnedFd = if stdin.is_terminal() {
        std::fs::File::open("/dev/null")
            .map_err(error::step_err(name, "stdio"))?
            .into()
    } else {
        std::os::fd::AsFd::as_fd(&stdin)
            .try_clone_to_owned()
            .map_err(error::step_err(name, "stdio"))?
    };
    let plan = StdioPlan::Capture {
        null: input,
        out: out_w,
        err: err_w,
    };
    Ok((plan, (out_r, err_r)))
}

/// [`attach`] with stdin from /dev/null and stdout/stderr captured.
pub fn attach_output(opts: &AttachOptions) -> Result<Output> {
    if crate::launch::helper::multi_threaded() {
        return helper::attach_output(opts);
    }
    let name = opts.name.as_str();
    let (out_r, out_w) =
        nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC).map_err(error::step_err(name, "stdio"))?;
    let (err_r, err_w) =
        nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC).map_err(error::step_err(name, "stdio"))?;
    let null = std::fs::File::open("/dev/null").map_err(error::step_err(name, "stdio"))?;
    let stdio = StdioPlan::Capture {
        null: null.into(),
        out: out_w,
        err: err_w,
    };
    let prep = prepare::prepare(opts, stdio)?;
    let relay = run::Relay {
        master: None,
        stream: false,
        capture: Some((out_r, err_r)),
        forward: opts.forward_signals,
    };
    let (code, stdout, stderr) = run::run(prep, relay)?;
    Ok(Output {
        code,
        stdout,
        stderr,
    })
}
