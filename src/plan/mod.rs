//! The pure planner: spec + host snapshot -> [`model::Plan`]. No I/O, no root.

pub mod host;
pub mod model;

pub use model::{LevelPlan, Plan};
