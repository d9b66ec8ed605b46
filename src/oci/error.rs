//! Errors of the OCI runtime commands.

use std::path::PathBuf;

/// A failed `lxnest-oci` command.
#[derive(Debug, thiserror::Error)]
pub enum OciRunError {
    /// The bundle's config.json was refused.
    #[error(transparent)]
    Config(#[from] lxnest_core::oci::OciError),
    /// A file of the bundle or the state could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// The container id breaks the rule.
    #[error("container id `{0}` is not valid: use letters, digits, `_`, `+`, `-` and `.`, at most 1024 characters, not `.` or `..`")]
    BadId(String),
    /// No container with this id under --root.
    #[error("container `{0}` does not exist")]
    NotFound(String),
    /// A container with this id exists.
    #[error("container `{0}` already exists")]
    Exists(String),
    /// The command does not fit the container's status.
    #[error("container `{id}` is {status}: {why}")]
    Status {
        /// Container id.
        id: String,
        /// Its status.
        status: String,
        /// What the command needed.
        why: String,
    },
    /// The launcher failed.
    #[error(transparent)]
    Launch(#[from] crate::launch::LaunchError),
    /// An exec failed.
    #[error(transparent)]
    Attach(#[from] crate::attach::AttachError),
    /// A hook failed.
    #[error("hook {hook} ({path}): {why}")]
    Hook {
        /// The hook kind (`poststart`).
        hook: String,
        /// Its executable.
        path: String,
        /// What happened.
        why: String,
    },
    /// Anything else, said in words.
    #[error("{0}")]
    Other(String),
}

impl OciRunError {
    /// An I/O error at `path`.
    pub fn io(path: impl Into<PathBuf>) -> impl FnOnce(std::io::Error) -> OciRunError {
        let path = path.into();
        move |source| OciRunError::Io { path, source }
    }
}

/// This module's result.
pub type Result<T, E = OciRunError> = std::result::Result<T, E>;
