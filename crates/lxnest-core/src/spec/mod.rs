//! The nesting spec: YAML files with includes, resolved into a [`model::Stack`].

pub mod defaults;
pub mod encrypt;
pub mod error;
pub mod hook;
pub mod load;
pub mod merge;
pub mod model;
pub mod network;
pub mod positions;
pub mod rootfs;
pub mod runtime;
pub mod scalar;
pub mod validate;
pub mod validate_values;

pub use error::SpecError;
pub use load::{load, parse_str};
pub use model::{ContainerSpec, Stack};

#[cfg(test)]
mod load_tests;
