//! The pure planner: spec + host snapshot -> [`model::Plan`]. No I/O, no root.

pub mod adhoc;
pub mod apparmor;
pub mod caps;
pub mod cgroup;
pub mod check;
pub mod claims;
pub mod devices;
pub mod encrypt;
pub mod error;
pub mod grant;
pub mod host;
pub mod idblock;
pub mod idmap;
pub mod idreserve;
pub mod landlock;
pub mod model;
pub mod needs;
pub mod network;
pub mod seccomp;
pub mod shared_json;
pub mod subnet;
pub mod walk;

pub use error::{Finding, PlanError};
pub use model::{LevelPlan, Plan};
pub use walk::plan;

#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_pinned;
