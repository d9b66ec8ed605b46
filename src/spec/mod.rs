//! The nesting spec: YAML files with includes, resolved into a [`model::Stack`].

pub mod model;
pub mod runtime;
