//! Why a plan was refused. A [`Finding`] names the level, the container, the rule that decided and
//! where it was written, and the smallest change that would fix it.

use crate::origin::Origin;
use std::fmt;
use thiserror::Error;

/// One problem found in a stack.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Finding {
    /// Container path (`juju-host/unit-1`).
    pub container: String,
    /// Its level.
    pub level: u32,
    /// The rule that decided (`seccomp: unshare errno 1`), or what was checked.
    pub rule: String,
    /// Where that rule was written.
    pub origin: Origin,
    /// What is wrong.
    pub message: String,
    /// What to change.
    pub fix: String,
}

impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "level {}, container {}: {}\n    rule: {} ({})\n    fix: {}",
            self.level, self.container, self.message, self.rule, self.origin, self.fix
        )
    }
}

/// The plan could not be made.
#[derive(Debug, Error)]
pub enum PlanError {
    /// The checks found problems; all of them are listed.
    #[error("the stack is rejected:\n{}", list(.0))]
    Rejected(Vec<Finding>),
    /// A seccomp file named in the spec could not be read.
    #[error("{origin}: cannot read seccomp file {file}: {source}")]
    SeccompFile {
        /// Where it was named.
        origin: Origin,
        /// The file.
        file: String,
        /// The I/O error.
        source: std::io::Error,
    },
    /// A seccomp rule or file could not be read. The parser's error names the file and line
    /// itself; it is not a `#[source]` so that `{:#}` does not print it twice.
    #[error("{error}")]
    Seccomp {
        /// The spec entry that named it.
        origin: Origin,
        /// The parser's error.
        error: crate::seccomp::SeccompError,
    },
    /// A profile could not be rendered.
    #[error("container {container}: AppArmor profile: {source}")]
    AppArmor {
        /// Container path.
        container: String,
        /// The renderer's error.
        source: crate::apparmor::AppArmorError,
    },
}

fn list(findings: &[Finding]) -> String {
    findings
        .iter()
        .map(|f| format!("  - {f}"))
        .collect::<Vec<_>>()
        .join("\n")
}
