//! The launcher's error type: every error names the step and the container it happened in.

use std::path::PathBuf;
use thiserror::Error;

/// One container's failed step: what both the launcher's and attach's errors carry
/// ([`LaunchError::Step`], [`crate::attach::AttachError::Step`]).
#[derive(Debug, Error)]
#[error("container {container}: step {step}: {source}")]
pub struct StepError {
    /// Container path (`juju-host/unit-1`).
    pub container: String,
    /// Step name (`spawn`, `idmap`, `mounts` ...), as in docs/launch.md and docs/attach.md.
    pub step: &'static str,
    /// The OS error, with the path and the operation it concerned.
    #[source]
    pub source: StepFailure,
}

/// A launcher failure.
#[derive(Debug, Error)]
pub enum LaunchError {
    /// A kernel call or file operation failed during a start step.
    #[error(transparent)]
    Step(#[from] StepError),
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
        source: super::helper_error::HelperError,
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
    pub fn helper(container: &str, source: super::helper_error::HelperError) -> LaunchError {
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

/// What a failed step ran into: the OS error (its errno kept), the file it concerned and the
/// operation, when the error alone does not say.
#[derive(Debug, Error)]
#[error("{}{}{source}", doing.as_deref().map(|d| format!("{d}: ")).unwrap_or_default(), path.as_ref().map(|p| format!("{}: ", p.display())).unwrap_or_default())]
pub struct StepFailure {
    /// The operation (`setns(NEWNET)`, `write uid_map`), when there is more to say than the
    /// step's name.
    pub doing: Option<String>,
    /// The file or directory, when there is one.
    pub path: Option<PathBuf>,
    /// The OS error (or, for a condition lxnest checks itself, an error of kind `Other` that
    /// says which).
    #[source]
    pub source: std::io::Error,
}

impl StepFailure {
    /// An error at `path`.
    pub fn at(path: impl Into<PathBuf>) -> impl FnOnce(std::io::Error) -> StepFailure {
        let path = path.into();
        move |source| StepFailure {
            doing: None,
            path: Some(path),
            source,
        }
    }

    /// An error of the operation `doing`.
    pub fn doing(doing: impl Into<String>) -> impl FnOnce(std::io::Error) -> StepFailure {
        let doing = doing.into();
        move |source| StepFailure {
            doing: Some(doing),
            path: None,
            source,
        }
    }

    /// A condition lxnest checks itself (no OS error).
    pub fn refused(message: impl Into<String>) -> StepFailure {
        StepFailure {
            doing: None,
            path: None,
            source: std::io::Error::other(message.into()),
        }
    }

    /// The same failure at `path`.
    pub fn with_path(mut self, path: impl Into<PathBuf>) -> StepFailure {
        self.path = Some(path.into());
        self
    }

    /// The errno, when the OS gave one.
    pub fn errno(&self) -> Option<i32> {
        self.source.raw_os_error()
    }
}

impl From<std::io::Error> for StepFailure {
    fn from(source: std::io::Error) -> Self {
        StepFailure {
            doing: None,
            path: None,
            source,
        }
    }
}

impl From<nix::Error> for StepFailure {
    fn from(e: nix::Error) -> Self {
        std::io::Error::from(e).into()
    }
}

/// Errors of other modules that a step can run into: kept whole as the source.
macro_rules! step_cause {
    ($($ty:ty),* $(,)?) => {$(
        impl From<$ty> for StepFailure {
            fn from(e: $ty) -> Self {
                std::io::Error::other(e).into()
            }
        }
    )*};
}

step_cause!(
    super::mounts::MountError,
    super::sync::SyncError,
    super::caps::CapsError,
    ::landlock::RulesetError,
    std::ffi::NulError,
    crate::cgroup::CgroupError,
    crate::apparmor::AppArmorError,
    crate::hooks::HookError,
    crate::seccomp::SeccompError,
    crate::crypt::CryptError,
    crate::net::NetError,
    super::tarroot_error::TarRootError,
    super::helper_error::HelperError,
    serde_json::Error,
);

/// Context for a failing step: turns an OS error (or a [`StepFailure`]) into a [`StepError`],
/// which `?` makes a [`LaunchError`] or an [`crate::attach::AttachError`].
pub(crate) fn step_err<E: Into<StepFailure>>(
    container: &str,
    step: &'static str,
) -> impl FnOnce(E) -> StepError {
    let container = container.to_string();
    move |e| StepError {
        container,
        step,
        source: e.into(),
    }
}

/// [`step_err`] for an OS error at `path`.
pub(crate) fn path_err<E: Into<std::io::Error>>(
    container: &str,
    step: &'static str,
    path: impl Into<PathBuf>,
) -> impl FnOnce(E) -> StepError {
    let container = container.to_string();
    let path = path.into();
    move |e| StepError {
        container,
        step,
        source: StepFailure::at(path)(e.into()),
    }
}

/// Ok when this process is single-threaded ([`super::threads::single_threaded`]), else
/// [`LaunchError::Threaded`] naming the container and the step that would have forked.
pub fn single_threaded(container: &str, step: &'static str) -> Result<()> {
    super::threads::single_threaded(step).map_err(|t| LaunchError::Threaded {
        container: container.into(),
        step,
        threads: t.threads,
    })
}
