//! lxnest as an OCI runtime, the pure part: a bundle's `config.json` read
//! ([`config`]) and translated into an lxnest [`crate::plan::model::LevelPlan`] plus the first
//! process's settings ([`translate`]). `lxnest-oci` (the `lxnest::oci` module) reads the file,
//! the host facts and applies the result; docs/oci.md says what is supported.

pub mod config;
pub mod context;
pub mod error;
pub mod mounts;
pub mod namespaces;
pub mod process;
pub mod resources;
#[cfg(test)]
mod tests;
pub mod translate;

pub use error::OciError;
pub use process::OciProcess;
pub use translate::{parse, Context, Translated, NESTING_ANNOTATION};
