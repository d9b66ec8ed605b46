//! How unpacking or removing a container's tarball tree fails (`launch::tarroot`); a module of its
//! own so `launch::error` names it without depending on the tree code (which may hand its job to
//! the exec'd helper, which reports through `launch::error`).

use std::path::PathBuf;
use thiserror::Error;

/// Why unpacking or removing a tarball tree failed.
#[derive(Debug, Error)]
pub enum TarRootError {
    /// The 0700 directory above the trees.
    #[error("{}: {source}", path.display())]
    Private {
        /// The directory.
        path: PathBuf,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// Unpacking failed.
    #[error(transparent)]
    Tarball(#[from] crate::tarball::TarError),
    /// Removing the tree failed.
    #[error("remove {}: {source}", path.display())]
    Remove {
        /// The tree.
        path: PathBuf,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// The job as root of the container's user namespace failed.
    #[error(transparent)]
    Userns(#[from] super::userns::UsernsError),
    /// The job ran in an exec'd helper (the caller is multi-threaded) and failed.
    #[error(transparent)]
    Helper(#[from] super::helper_error::HelperError),
}
