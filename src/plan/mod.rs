//! The pure planner: spec + host snapshot -> [`model::Plan`]. No I/O, no root.

pub mod caps;
pub mod cgroup;
pub mod devices;
pub mod error;
pub mod host;
pub mod idmap;
pub mod model;
pub mod needs;
pub mod network;
pub mod subnet;

pub use model::{LevelPlan, Plan};
