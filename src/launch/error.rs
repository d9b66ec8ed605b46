//! The launcher's error type: every error names the step and the container it happened in.

use thiserror::Error;

/// A launcher failure.
#[derive(Debug, Error)]
pub enum LaunchError {
    /// A kernel call or file operation failed during a start step.
    #[error("container {container}: step {step}: {message}")]
    Step {
        /// Container path (`juju-host/unit-1`).
        container: String,
        /// Step name (`spawn`, `idmap`, `mounts` ...), as in docs/launch.md.
        step: &'static str,
        /// What went wrong, with the OS error.
        message: String,
    },
    /// The child reported a failure over the sync channel.
    #[error("container {container}: step {step} (in the container): {message}")]
    Child {
        /// Container path.
        container: String,
        /// Step name as the child reported it.
        step: String,
        /// The child's error text.
        message: String,
    },
    /// A failure injected on purpose (`LXNEST_FAIL_AT=<step>`), for the cleanup tests.
    #[error("container {container}: step {step}: injected failure")]
    Injected {
        /// Container path.
        container: String,
        /// The step that failed on purpose.
        step: &'static str,
    },
    /// The state directory of a container could not be read or written.
    #[error("state of {container} in {path}: {message}")]
    State {
        /// Container name.
        container: String,
        /// File or directory.
        path: String,
        /// What went wrong.
        message: String,
    },
    /// The name cannot be a container's (it would leave the state directory).
    #[error(transparent)]
    Name(#[from] crate::names::NameError),
    /// A container by that name is not known (no state directory).
    #[error("no container named {0} (see `lxnest ls`)")]
    NotFound(String),
    /// A container by that name is already running.
    #[error("container {0} already exists (stop or destroy it first)")]
    Exists(String),
    /// A precondition lxnest will not work around (`--require-apparmor` without AppArmor ...).
    #[error("container {container}: {message}")]
    Refused {
        /// Container path.
        container: String,
        /// Why.
        message: String,
    },
    /// A fork or clone that runs lxnest's code in the child was about to happen in a process
    /// with several threads (see `launch::helper`): refused, it could hang on a lock.
    #[error("container {container}: step {step}: this process has {threads} threads; lxnest forks only in a single-threaded process (a multi-threaded caller's work runs in an exec'd `lxnest __monitor`)")]
    Threaded {
        /// Container path.
        container: String,
        /// The step that would have forked.
        step: &'static str,
        /// Threads counted.
        threads: usize,
    },
    /// The job ran in an exec'd `lxnest __monitor` (for a multi-threaded caller) and failed.
    #[error("container {container}: {}", strip_container(container, source))]
    Helper {
        /// Container path.
        container: String,
        /// What the helper reported, or why it could not run.
        #[source]
        source: super::helper::HelperError,
    },
    /// Preparing the root filesystem failed.
    #[error("container {container}: rootfs: {source}")]
    Rootfs {
        /// Container path.
        container: String,
        /// The rootfs error.
        #[source]
        source: crate::rootfs::RootfsError,
    },
}

impl LaunchError {
    /// [`LaunchError::Helper`] for `container`.
    pub fn helper(container: &str, source: super::helper::HelperError) -> LaunchError {
        LaunchError::Helper {
            container: container.into(),
            source,
        }
    }
}

/// A helper's message without the `container NAME: ` it starts with (the error says it once).
pub fn strip_container(container: &str, e: &impl std::fmt::Display) -> String {
    let text = e.to_string();
    text.strip_prefix(&format!("container {container}: "))
        .map(str::to_string)
        .unwrap_or(text)
}

/// Result alias of the launcher.
pub type Result<T, E = LaunchError> = std::result::Result<T, E>;

/// Context for a failing step: turns any displayable error into [`LaunchError::Step`].
pub(crate) fn step_err<E: std::fmt::Display>(
    container: &str,
    step: &'static str,
) -> impl FnOnce(E) -> LaunchError {
    let container = container.to_string();
    move |e| LaunchError::Step {
        container,
        step,
        message: e.to_string(),
    }
}
