//! Why a bundle's `config.json` cannot run under lxnest.

/// A refused or unreadable `config.json`.
#[derive(Debug, thiserror::Error)]
pub enum OciError {
    /// Not JSON, or a value of the wrong type.
    #[error("{file}: line {line}: {message} (fix: write a config.json of the OCI runtime spec)")]
    Syntax {
        /// The config file.
        file: String,
        /// Line of the error.
        line: usize,
        /// serde's message.
        message: String,
    },
    /// A field lxnest does not carry out; naming it beats dropping it.
    #[error("{file}: `{field}` is not supported by lxnest-oci: {why}")]
    Unsupported {
        /// The config file.
        file: String,
        /// JSON path of the field (`linux.namespaces[2].path`).
        field: String,
        /// Why, and what to do instead.
        why: String,
    },
    /// A field with a value that cannot be right.
    #[error("{file}: `{field}`: {why}")]
    Invalid {
        /// The config file.
        file: String,
        /// JSON path of the field.
        field: String,
        /// What is wrong and the fix.
        why: String,
    },
    /// `linux.seccomp` did not translate.
    #[error("{file}: `linux.seccomp`: {source}")]
    Seccomp {
        /// The config file.
        file: String,
        /// The seccomp reader's error.
        #[source]
        source: crate::seccomp::SeccompError,
    },
}
