//! Errors of reading a spec. Each names the file and, where known, the line, and says how to fix it.

use crate::origin::Origin;
use thiserror::Error;

/// A spec could not be read.
#[derive(Debug, Error)]
pub enum SpecError {
    /// The file could not be read.
    #[error("{file}: cannot read: {source}")]
    Read {
        /// File path.
        file: String,
        /// The I/O error.
        source: std::io::Error,
    },
    /// YAML syntax or schema error (unknown key, wrong type).
    #[error("{origin}: {message}")]
    Syntax {
        /// File and line.
        origin: Origin,
        /// What serde said, which lists the expected keys for an unknown one.
        message: String,
    },
    /// An include chain comes back to a file already being read.
    #[error("{origin}: include cycle: {chain}\n  fix: remove one of these includes")]
    IncludeCycle {
        /// Where the offending include is written.
        origin: Origin,
        /// The chain of files, `a -> b -> a`.
        chain: String,
    },
    /// Includes nest deeper than allowed.
    #[error("{origin}: includes nest deeper than {limit} files\n  fix: flatten the include chain")]
    IncludeDepth {
        /// Where the include is written.
        origin: Origin,
        /// The limit.
        limit: usize,
    },
    /// A value is not acceptable.
    #[error("{origin}: {message}\n  fix: {fix}")]
    Invalid {
        /// Where the value was written.
        origin: Origin,
        /// What is wrong.
        message: String,
        /// What to write instead.
        fix: String,
    },
}
