//! The API's error: one enum over the module errors, with a coarse [`ErrorKind`] that bindings map
//! to their own exception classes.

use thiserror::Error;

/// Result alias of the API.
pub type Result<T, E = ApiError> = std::result::Result<T, E>;

/// Anything the API can fail with. The module error is kept as the source, so the cause chain
/// names the file and line, the container and the step.
#[derive(Debug, Error)]
pub enum ApiError {
    /// The spec, built-in example or LXC config could not be read.
    #[error(transparent)]
    Source(#[from] crate::source::SourceError),
    /// A plan JSON (as `lxnest plan --output json` writes) could not be read.
    #[error("{path}: {message}")]
    PlanFile {
        /// The file.
        path: String,
        /// What went wrong.
        message: String,
    },
    /// This machine's facts could not be read.
    #[error("reading this machine's facts")]
    Host(#[source] crate::host::HostError),
    /// No built-in host by that name.
    #[error("unknown host fixture `{0}`; the only one is `laptop`")]
    HostFixture(String),
    /// The planner refused the stack or could not finish it.
    #[error(transparent)]
    Plan(#[from] crate::plan::PlanError),
    /// Rendering or writing artifacts failed.
    #[error(transparent)]
    Artifacts(#[from] crate::artifacts::ArtifactError),
    /// An explain question could not be answered (unknown container or syscall).
    #[error(transparent)]
    Explain(#[from] crate::explain::ExplainError),
    /// The launcher failed (start, stop, state).
    #[error(transparent)]
    Launch(#[from] crate::launch::LaunchError),
    /// Attaching to or executing in a container failed.
    #[error(transparent)]
    Attach(#[from] crate::attach::AttachError),
    /// The spec has no container matching what was asked to start.
    #[error("no container to start in {spec}{}", .name.as_ref().map(|n| format!(" named {n}")).unwrap_or_default())]
    NothingToStart {
        /// The spec.
        spec: String,
        /// The name or path asked for.
        name: Option<String>,
    },
    /// The record of a defined (stopped) container could not be read or written.
    #[error("definition of {name} in {path}: {message}")]
    Registry {
        /// Container name.
        name: String,
        /// The file.
        path: String,
        /// What went wrong.
        message: String,
    },
}

/// What kind of failure an [`ApiError`] is, for bindings that raise one exception class per kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// The input (spec, LXC config, plan JSON) is wrong.
    Spec,
    /// The planner rejected the stack: the message lists every finding.
    PlanRejected,
    /// No container by that name.
    ContainerNotFound,
    /// A container by that name already runs.
    ContainerExists,
    /// Starting, stopping or inspecting a container failed.
    Launch,
    /// Running a command in a container failed (not the command's own exit status).
    Attach,
    /// Anything else (host facts, artifacts, explain).
    Other,
}

impl ApiError {
    /// The kind of failure.
    pub fn kind(&self) -> ErrorKind {
        use crate::launch::LaunchError as L;
        match self {
            ApiError::Source(_) | ApiError::PlanFile { .. } => ErrorKind::Spec,
            ApiError::Plan(crate::plan::PlanError::Rejected(_)) => ErrorKind::PlanRejected,
            ApiError::Plan(_) => ErrorKind::Spec,
            ApiError::Launch(L::NotFound(_)) => ErrorKind::ContainerNotFound,
            ApiError::Explain(crate::explain::ExplainError::UnknownContainer(..)) => {
                ErrorKind::ContainerNotFound
            }
            ApiError::NothingToStart { .. } => ErrorKind::ContainerNotFound,
            ApiError::Launch(L::Exists(_)) => ErrorKind::ContainerExists,
            ApiError::Attach(crate::attach::AttachError::NotFound { .. })
            | ApiError::Attach(crate::attach::AttachError::Launch(L::NotFound(_))) => {
                ErrorKind::ContainerNotFound
            }
            ApiError::Attach(crate::attach::AttachError::Launch(L::Exists(_))) => {
                ErrorKind::ContainerExists
            }
            ApiError::Attach(_) => ErrorKind::Attach,
            ApiError::Launch(_) | ApiError::Registry { .. } => ErrorKind::Launch,
            ApiError::Host(_)
            | ApiError::HostFixture(_)
            | ApiError::Artifacts(_)
            | ApiError::Explain(_) => ErrorKind::Other,
        }
    }

    /// The error and every cause below it, joined by `: ` as the command line prints them
    /// (`lxnest: <chain>`).
    pub fn chain(&self) -> String {
        let mut out = self.to_string();
        let mut cur = std::error::Error::source(self);
        while let Some(e) = cur {
            out.push_str(": ");
            out.push_str(&e.to_string());
            cur = e.source();
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chain_includes_every_cause_and_kinds_map() {
        let io = std::io::Error::new(std::io::ErrorKind::Other, "boom");
        let e = ApiError::Host(crate::host::HostError::Read {
            path: "/proc/x".into(),
            source: io,
        });
        assert_eq!(
            e.chain(),
            "reading this machine's facts: reading /proc/x: boom: boom"
        );
        assert_eq!(e.kind(), ErrorKind::Other);
        let nf = ApiError::from(crate::launch::LaunchError::NotFound("c1".into()));
        assert_eq!(nf.kind(), ErrorKind::ContainerNotFound);
        assert!(nf.chain().contains("no container named c1"));
    }
}
