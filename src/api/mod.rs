//! The documented public API of lxnest: what the command line and the Python module both call.
//! Every function here is a thin wrapper over the modules that do the work ([`crate::source`],
//! [`crate::host`], [`crate::plan`], [`crate::artifacts`], [`crate::explain`], [`crate::launch`],
//! [`crate::attach`]),
//! so a program linking lxnest can do everything `lxnest` on the command line can.
//!
//! - Planning, no root needed: [`plan`], [`plan_with`], [`generate`], [`explain_syscall`].
//! - Containers, as root: [`containers`], [`info`], [`start`], [`stop`], [`destroy`], and commands
//!   in them with their output captured: [`attach`] (running), [`execute`] (stopped).
//!
//! Errors are one [`ApiError`] enum whose variants keep the module errors underneath, so the
//! whole cause chain (with the spec's `file:line`) reaches the caller; [`ApiError::chain`] renders
//! it the way the command line prints it.

mod containers;
mod error;
mod planning;
pub mod registry;
mod reserve;
mod run;

pub use containers::{
    containers, destroy, info, start, stop, ContainerInfo, ContainerState, Details, StartOpts,
    StartedContainer,
};
pub use error::{join_causes, ApiError, ErrorKind, Result};
pub use planning::{
    explain_syscall, generate, generate_with, host_snapshot, plan, plan_with, Generated, Planned,
};
pub use registry::Defined;
pub use reserve::{for_run as reserve_for_run, release as release_reservations, RunReservation};
pub use run::{attach, execute, AttachOpts, Output};

/// Default state directory (`-P`) of root, and of whoever runs this process, as the command
/// line uses them.
pub use crate::launch::state::{default_dir, DEFAULT_DIR};

/// The jobs `lxnest __monitor` runs for a multi-threaded caller (see `launch::helper`).
pub const HELPER_JOBS: &[(&str, crate::launch::helper::Handler)] = &[
    (
        crate::launch::helper::JOB_START,
        crate::launch::start_job::start_job,
    ),
    (
        crate::launch::helper::JOB_MAPPED,
        crate::launch::tarroot::mapped_job,
    ),
    (
        crate::attach::helper::JOB_ATTACH,
        crate::attach::helper::attach_job,
    ),
];

/// `lxnest __monitor`: runs the job its caller handed it ([`HELPER_JOBS`]); returns its exit
/// status.
pub fn serve_helper() -> i32 {
    crate::launch::helper::serve(HELPER_JOBS)
}
