//! The error type of attach and execute: every variant names the container and what failed.

pub(crate) use crate::launch::error::step_err;
pub use crate::launch::error::StepFailure;
use thiserror::Error;

/// Why an attach or execute failed (the command itself never ran, or its exit status is lost).
#[derive(Debug, Error)]
pub enum AttachError {
    /// No state directory by that name (at that level).
    #[error("no container named {name} (looked in {looked_in}; see `lxnest ls`)")]
    NotFound {
        /// The name or path asked for.
        name: String,
        /// The state directory searched.
        looked_in: String,
    },
    /// The state exists but the init it names is gone (stopped, crashed, or a stale state).
    #[error("container {name} is not running: its init (pid {pid}) {why}")]
    NotRunning {
        /// Container path.
        name: String,
        /// The recorded pid (in its launcher's pid namespace).
        pid: i32,
        /// What was found instead.
        why: String,
    },
    /// `execute` was asked for a container that runs.
    #[error("container {0} is running: use `lxnest attach -n {0}`")]
    Running(String),
    /// The state file could not be read or parsed.
    #[error("state of {name} in {path}: {message}")]
    State {
        /// Container path.
        name: String,
        /// The file.
        path: String,
        /// What went wrong.
        message: String,
    },
    /// Attaching would leave the process less confined than the container's init.
    #[error("container {name}: refusing to attach: {message}")]
    Weaker {
        /// Container path.
        name: String,
        /// What would differ.
        message: String,
    },
    /// A step on the host side failed (before or while running the command); the steps
    /// (`pidfd`, `cgroup`, `setns`, `seccomp` ...) are those of docs/attach.md.
    #[error("attach: {0}")]
    Step(#[from] crate::launch::error::StepError),
    /// A step in the attaching process failed (it reported it before exiting).
    #[error("container {name}: attach step {step} (in the container): {message}")]
    Child {
        /// Container path.
        name: String,
        /// Step name as the attaching process reported it.
        step: String,
        /// The error text.
        message: String,
    },
    /// The attach or execute ran in an exec'd `lxnest __monitor` (the caller is multi-threaded)
    /// and failed there, or could not run.
    #[error(
        "container {name}: {}",
        crate::launch::error::strip_container(name, source)
    )]
    Helper {
        /// Container path.
        name: String,
        /// What the helper reported, or why it could not run.
        #[source]
        source: crate::launch::helper::HelperError,
    },
    /// The launcher failed (for `execute`).
    #[error(transparent)]
    Launch(#[from] crate::launch::LaunchError),
    /// Invalid options (an empty command, a malformed `-v`).
    #[error("{0}")]
    Usage(String),
}

/// Result alias of the attach module.
pub type Result<T, E = AttachError> = std::result::Result<T, E>;
