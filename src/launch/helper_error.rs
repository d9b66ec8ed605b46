//! How handing a job to an exec'd `lxnest __monitor` can fail (`launch::helper`). A module of its
//! own so the launch error (`launch::error`) and the jobs that may run in the helper
//! (`launch::tarroot`) name it without depending on the helper itself.

use thiserror::Error;

/// Why a job handed to `lxnest __monitor` failed, on the caller's side.
#[derive(Debug, Error)]
pub enum HelperError {
    /// No lxnest executable to exec: a multi-threaded caller must not fork and run lxnest's
    /// code in the child, so it cannot go on without one.
    #[error("this process has several threads, so lxnest runs the {job} in an exec'd `lxnest __monitor`, but no lxnest executable was found (set LXNEST_BINARY to the absolute path of the lxnest executable, or install lxnest on PATH; a file that is not owned by root or by you, or that others may write, is not used)")]
    NoBinary {
        /// The job's kind.
        job: String,
    },
    /// Setting the helper up or waiting for it failed.
    #[error("lxnest __monitor ({binary}): {what}: {source}")]
    Io {
        /// The executable.
        binary: String,
        /// What was being done (`job file`, `report pipe`, `exec`, `wait`).
        what: &'static str,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// The job could not be written as JSON.
    #[error("encoding the {job} job: {source}")]
    Encode {
        /// The job's kind.
        job: String,
        /// The encoder's error.
        #[source]
        source: serde_json::Error,
    },
    /// The helper ended without its one-line report.
    #[error("lxnest __monitor ({binary}) ended ({status}) without a report")]
    NoReport {
        /// The executable.
        binary: String,
        /// Its exit status.
        status: String,
    },
    /// The job failed; the helper's message (which names the container and the step).
    #[error("{0}")]
    Failed(String),
}
