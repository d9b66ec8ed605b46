//! Errors of encrypted roots. Each names the directory or file and, where the user can act,
//! says how.

use super::keyid::KeyId;
use nix::errno::Errno;
use std::path::{Path, PathBuf};
use thiserror::Error;

/// An encryption step failed.
#[derive(Debug, Error)]
pub enum CryptError {
    /// The filesystem (or kernel) cannot encrypt: for ext4, the `encrypt` feature is off.
    #[error(
        "{dir}: the filesystem ({fstype} on {device}) does not support encryption\n  fix: {fix}"
    )]
    NotSupported {
        /// The directory.
        dir: PathBuf,
        /// Filesystem type from mountinfo.
        fstype: String,
        /// The block device (or source) the filesystem is on.
        device: String,
        /// What to do (`tune2fs -O encrypt /dev/...`).
        fix: String,
    },
    /// The key does not belong to the directory.
    #[error("{dir}: wrong key: the directory is encrypted with key {expected}, the given key is {given}")]
    WrongKey {
        /// The directory.
        dir: PathBuf,
        /// Identifier in the directory's policy.
        expected: KeyId,
        /// Identifier of the given key.
        given: KeyId,
    },
    /// The key is already in the filesystem's keyring: the directory is unlocked, by a running
    /// container or by a start that did not clean up.
    #[error("{path}: key {id} is already unlocked ({users} user claim(s))\n  fix: stop the container using it, or lock it (`lxnest crypt lock`) if nothing does")]
    KeyAlreadyPresent {
        /// A path on the filesystem.
        path: PathBuf,
        /// The key.
        id: KeyId,
        /// How many users hold it.
        users: u32,
    },
    /// A directory is encrypted only while it is empty.
    #[error("{dir}: cannot encrypt a directory that is not empty (it holds `{entry}`)\n  fix: start from an empty directory and copy the root in after unlocking")]
    NotEmpty {
        /// The directory.
        dir: PathBuf,
        /// One entry found in it.
        entry: String,
    },
    /// The directory is already encrypted with another key or policy.
    #[error("{dir}: already encrypted ({detail})")]
    AlreadyEncrypted {
        /// The directory.
        dir: PathBuf,
        /// Which key and policy it has.
        detail: String,
    },
    /// The directory is not encrypted.
    #[error("{dir}: not encrypted")]
    NotEncrypted {
        /// The directory.
        dir: PathBuf,
    },
    /// The directory's policy is one lxnest does not create (v1, or other ciphers).
    #[error("{dir}: unsupported encryption policy: {detail}")]
    UnsupportedPolicy {
        /// The directory.
        dir: PathBuf,
        /// What was found.
        detail: String,
    },
    /// A passphrase-protected directory without its metadata: the salt is gone.
    #[error("{dir}: encrypted with a passphrase but its key metadata {metadata} is missing (crypto-erased, or moved): without its salt the passphrase cannot recreate the key")]
    MetadataMissing {
        /// The directory.
        dir: PathBuf,
        /// Where the metadata was expected.
        metadata: PathBuf,
    },
    /// The metadata names another key than the directory's policy.
    #[error("{metadata}: records key {stored}, but {dir} is encrypted with key {policy}")]
    MetadataMismatch {
        /// The metadata file.
        metadata: PathBuf,
        /// The directory.
        dir: PathBuf,
        /// Identifier in the metadata.
        stored: KeyId,
        /// Identifier in the policy.
        policy: KeyId,
    },
    /// The metadata file is unreadable or malformed.
    #[error("{path}: bad key metadata: {message}")]
    Metadata {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// A key or passphrase could not be used as given (length, encoding).
    #[error("key from {source_name}: {message}")]
    BadKey {
        /// Where the key came from (file path, `stdin`).
        source_name: String,
        /// What is wrong (never the key itself).
        message: String,
    },
    /// Argon2 refused its parameters.
    #[error("key derivation: {0}")]
    Kdf(String),
    /// The kernel's random source failed.
    #[error("getrandom: {0}")]
    Random(Errno),
    /// The kernel derived another identifier than lxnest did (should not happen).
    #[error("{path}: the kernel derived key identifier {kernel}, lxnest derived {ours}")]
    IdentifierMismatch {
        /// A path on the filesystem.
        path: PathBuf,
        /// The kernel's.
        kernel: KeyId,
        /// lxnest's.
        ours: KeyId,
    },
    /// The spec asks for something that cannot be planned.
    #[error("{container}: {message}\n  fix: {fix}")]
    Spec {
        /// Container path.
        container: String,
        /// What is wrong.
        message: String,
        /// How to fix it.
        fix: String,
    },
    /// An ioctl failed with an error not covered above.
    #[error("{path}: {op}: {errno}")]
    Ioctl {
        /// The ioctl (`FS_IOC_ADD_ENCRYPTION_KEY`).
        op: &'static str,
        /// The path it was called on.
        path: PathBuf,
        /// The error.
        errno: Errno,
    },
    /// A file operation failed.
    #[error("{path}: {what}: {source}")]
    Io {
        /// What was being done.
        what: &'static str,
        /// The file.
        path: PathBuf,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
}

impl CryptError {
    /// An I/O error with its context.
    pub fn io(what: &'static str, path: &Path, source: std::io::Error) -> Self {
        CryptError::Io {
            what,
            path: path.to_path_buf(),
            source,
        }
    }

    /// An ioctl error with its context.
    pub fn ioctl(op: &'static str, path: &Path, errno: Errno) -> Self {
        CryptError::Ioctl {
            op,
            path: path.to_path_buf(),
            errno,
        }
    }
}

impl From<crate::plan::encrypt::EncryptError> for CryptError {
    fn from(e: crate::plan::encrypt::EncryptError) -> Self {
        CryptError::Spec {
            container: e.container,
            message: e.message,
            fix: e.fix,
        }
    }
}
