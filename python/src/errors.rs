//! Python exceptions: one base class and one subclass per [`ErrorKind`], each carrying the same
//! message the command line prints (the whole cause chain, with the spec's file:line).

use lxnest::api::{ApiError, ErrorKind};
use pyo3::create_exception;
use pyo3::exceptions::PyException;
use pyo3::prelude::*;

create_exception!(
    lxnest,
    LxnestError,
    PyException,
    "Base class of every lxnest error."
);
create_exception!(
    lxnest,
    SpecError,
    LxnestError,
    "The spec, LXC config or plan file is wrong."
);
create_exception!(
    lxnest,
    PlanRejected,
    LxnestError,
    "The planner rejected the stack; the message lists every finding."
);
create_exception!(
    lxnest,
    ContainerNotFound,
    LxnestError,
    "No container by that name."
);
create_exception!(
    lxnest,
    ContainerExists,
    LxnestError,
    "A container by that name already exists."
);
create_exception!(
    lxnest,
    LaunchError,
    LxnestError,
    "Starting, stopping or inspecting a container failed."
);
create_exception!(
    lxnest,
    AttachError,
    LxnestError,
    "Running a command in a container failed."
);

/// The exception for an API error.
pub fn to_py(e: ApiError) -> PyErr {
    let msg = e.chain();
    match e.kind() {
        ErrorKind::Spec => SpecError::new_err(msg),
        ErrorKind::PlanRejected => PlanRejected::new_err(msg),
        ErrorKind::ContainerNotFound => ContainerNotFound::new_err(msg),
        ErrorKind::ContainerExists => ContainerExists::new_err(msg),
        ErrorKind::Launch => LaunchError::new_err(msg),
        ErrorKind::Attach => AttachError::new_err(msg),
        ErrorKind::Other => LxnestError::new_err(msg),
    }
}

/// Adds the exception classes to the module.
pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    let py = m.py();
    m.add("LxnestError", py.get_type::<LxnestError>())?;
    m.add("SpecError", py.get_type::<SpecError>())?;
    m.add("PlanRejected", py.get_type::<PlanRejected>())?;
    m.add("ContainerNotFound", py.get_type::<ContainerNotFound>())?;
    m.add("ContainerExists", py.get_type::<ContainerExists>())?;
    m.add("LaunchError", py.get_type::<LaunchError>())?;
    m.add("AttachError", py.get_type::<AttachError>())?;
    Ok(())
}
