//! lxnest as an OCI runtime (`lxnest-oci`, runc's command line): the pure translation of a
//! bundle is `lxnest_core::oci` (re-exported here); this module reads bundles and state, starts
//! containers through lxnest's launcher with an exec gate, and answers the engine's commands.
//! docs/oci.md says what is supported.

pub use lxnest_core::oci::*;

pub mod cli;
pub mod console;
pub mod create;
pub mod error;
pub mod exec;
pub mod features;
pub mod hooks;
pub mod ops;
pub mod state;

/// The runtime spec version lxnest-oci reads and reports.
pub const OCI_VERSION: &str = "1.2.0";
