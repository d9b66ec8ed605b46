//! Errors of the seccomp module: every one names where (file:line, or the step) and what to do.

use crate::origin::Origin;
use thiserror::Error;

/// What went wrong while reading, compiling or installing a seccomp policy.
#[derive(Debug, Error)]
pub enum SeccompError {
    /// A policy line could not be understood.
    #[error("{origin}: {what}; fix: {fix}")]
    Syntax {
        /// File and line of the bad text.
        origin: Origin,
        /// What is wrong.
        what: String,
        /// How to fix it.
        fix: String,
    },
    /// A syscall name that neither the x86_64 nor the i386 table knows.
    #[error("{origin}: unknown syscall `{name}`; fix: {}", close_hint(.close))]
    UnknownSyscall {
        /// Where the name was written.
        origin: Origin,
        /// The name as written.
        name: String,
        /// Known names that look alike, best first.
        close: Vec<String>,
    },
    /// The compiled program is longer than the kernel accepts (`BPF_MAXINSNS`).
    #[error("the compiled filter has {len} instructions, the kernel accepts at most {max}; fix: merge or drop rules")]
    TooLong {
        /// Instructions emitted.
        len: usize,
        /// The kernel's limit.
        max: usize,
    },
    /// A kernel call failed while installing a filter.
    #[error("{step}: {source}")]
    Kernel {
        /// What lxnest was doing (`prctl(PR_SET_NO_NEW_PRIVS)`, `seccomp(SECCOMP_SET_MODE_FILTER)`).
        step: &'static str,
        /// The kernel's answer.
        #[source]
        source: std::io::Error,
    },
    /// `/proc/self/status` could not be read or had no `Seccomp_filters` line.
    #[error("reading Seccomp_filters from /proc/self/status: {0}")]
    Status(String),
}

fn close_hint(close: &[String]) -> String {
    if close.is_empty() {
        "check the spelling against the x86_64 syscall table (`ausyscall --dump`)".to_string()
    } else {
        format!(
            "did you mean {}?",
            close
                .iter()
                .map(|c| format!("`{c}`"))
                .collect::<Vec<_>>()
                .join(", ")
        )
    }
}
