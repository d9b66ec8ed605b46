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
    Source(Box<crate::input::SourceError>),
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
    Host(#[source] Box<crate::host::HostError>),
    /// No built-in host by that name.
    #[error("unknown host fixture `{0}`; the only one is `laptop`")]
    HostFixture(String),
    /// The planner refused the stack or could not finish it.
    #[error(transparent)]
    Plan(Box<crate::plan::PlanError>),
    /// Rendering or writing artifacts failed.
    #[error(transparent)]
    Artifacts(Box<crate::artifacts::ArtifactError>),
    /// An explain question could not be answered (unknown container or syscall).
    #[error(transparent)]
    Explain(Box<crate::explain::ExplainError>),
    /// The launcher failed (start, stop, state).
    #[error(transparent)]
    Launch(Box<crate::launch::LaunchError>),
    /// Attaching to or executing in a container failed.
    #[error(transparent)]
    Attach(Box<crate::attach::AttachError>),
    /// The spec has no container matching what was asked to start.
    #[error("no container to start in {spec}{}", .name.as_ref().map(|n| format!(" named {n}")).unwrap_or_default())]
    NothingToStart {
        /// The spec.
        spec: String,
        /// The name or path asked for.
        name: Option<String>,
    },
    /// lxnest's allocation registry (or root's /etc/subuid entry) could not be used.
    #[error(transparent)]
    Allocation(Box<crate::registry::RegistryError>),
    /// A container's planned subnet or ids are someone else's now.
    #[error("{container}: its {claim} is reserved by {holder}; fix: `lxnest destroy -n {container}` and start it from its spec again (lxnest then picks free ones)")]
    Reserved {
        /// The container.
        container: String,
        /// What it wanted.
        claim: String,
        /// Who holds it.
        holder: String,
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
        use crate::attach::AttachError as A;
        use crate::launch::LaunchError as L;
        let launch = |e: &L| match e {
            L::NotFound(_) => ErrorKind::ContainerNotFound,
            L::Exists(_) => ErrorKind::ContainerExists,
            _ => ErrorKind::Launch,
        };
        match self {
            ApiError::Source(_) | ApiError::PlanFile { .. } => ErrorKind::Spec,
            ApiError::Plan(e) if matches!(**e, crate::plan::PlanError::Rejected(_)) => {
                ErrorKind::PlanRejected
            }
            ApiError::Plan(_) => ErrorKind::Spec,
            ApiError::Launch(e) => launch(e),
            ApiError::Attach(e) => match &**e {
                A::NotFound { .. } => ErrorKind::ContainerNotFound,
                A::Launch(l) if launch(l) != ErrorKind::Launch => launch(l),
                _ => ErrorKind::Attach,
            },
            ApiError::Explain(e)
                if matches!(**e, crate::explain::ExplainError::UnknownContainer(..)) =>
            {
                ErrorKind::ContainerNotFound
            }
            ApiError::NothingToStart { .. } => ErrorKind::ContainerNotFound,
            ApiError::Allocation(e)
                if matches!(**e, crate::registry::RegistryError::Held { .. }) =>
            {
                ErrorKind::ContainerExists
            }
            ApiError::Registry { .. } | ApiError::Allocation(_) | ApiError::Reserved { .. } => {
                ErrorKind::Launch
            }
            ApiError::Host(_)
            | ApiError::HostFixture(_)
            | ApiError::Artifacts(_)
            | ApiError::Explain(_) => ErrorKind::Other,
        }
    }

    /// The error and every cause below it, joined by `: ` as the command line prints them
    /// (`lxnest: <chain>`), each said once.
    pub fn chain(&self) -> String {
        let mut messages = vec![self.to_string()];
        let mut cur = std::error::Error::source(self);
        while let Some(e) = cur {
            messages.push(e.to_string());
            cur = e.source();
        }
        join_causes(messages)
    }
}

/// An error's message and its causes' joined by `: `, leaving out a cause whose text is already
/// there: many errors include their cause in their own message (`{file}: cannot read: {source}`)
/// and also expose it as the source, and printing both said it twice.
pub fn join_causes(messages: impl IntoIterator<Item = String>) -> String {
    let mut out = String::new();
    for m in messages {
        if out.is_empty() {
            out = m;
        } else if !out.contains(&m) {
            out.push_str(": ");
            out.push_str(&m);
        }
    }
    out
}

/// `From` for each module error, boxed: the module errors are large and `Result<T, ApiError>`
/// is returned everywhere.
macro_rules! boxed_from {
    ($($variant:ident: $ty:ty),* $(,)?) => {$(
        impl From<$ty> for ApiError {
            fn from(e: $ty) -> Self {
                ApiError::$variant(Box::new(e))
            }
        }
    )*};
}

boxed_from!(
    Source: crate::input::SourceError,
    Plan: crate::plan::PlanError,
    Artifacts: crate::artifacts::ArtifactError,
    Explain: crate::explain::ExplainError,
    Launch: crate::launch::LaunchError,
    Attach: crate::attach::AttachError,
    Host: crate::host::HostError,
    Allocation: crate::registry::RegistryError,
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chain_includes_every_cause_and_kinds_map() {
        let io = std::io::Error::other("boom");
        let e = ApiError::from(crate::host::HostError::Read {
            path: "/proc/x".into(),
            source: io,
        });
        assert_eq!(
            e.chain(),
            "reading this machine's facts: reading /proc/x: boom"
        );
        assert_eq!(e.kind(), ErrorKind::Other);
        let nf = ApiError::from(crate::launch::LaunchError::NotFound("c1".into()));
        assert_eq!(nf.kind(), ErrorKind::ContainerNotFound);
        assert!(nf.chain().contains("no container named c1"));
        // A cause not in the message is still said.
        assert_eq!(join_causes(["a".into(), "b".into(), "a".into()]), "a: b");
    }
}
