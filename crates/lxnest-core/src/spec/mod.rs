//! The nesting spec: YAML files with includes, resolved into a [`model::Stack`].

pub mod error;
pub mod load;
pub mod model;
pub mod runtime;
pub mod validate;
pub mod validate_values;

pub use error::SpecError;
pub use load::{load, parse_str};
pub use model::{ContainerSpec, Stack};

#[cfg(test)]
mod load_tests;
