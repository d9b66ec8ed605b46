//! seccomp: the policy model, LXC v2 text and OCI JSON forms, stacking across levels, BPF codegen,
//! and installing a filter on the current process.
//!
//! Flow: [`lxc_text::parse`] (or [`lxc_text::parse_rule`] for spec rules) -> [`Policy`] ->
//! [`decide()`]/[`effective`] for the planner and `explain` -> [`compile`] -> `lxnest::seccomp::install` (the kernel side).
//! See docs/seccomp.md for the codegen design.

pub mod bpf;
pub mod builtin;
pub mod codegen;
pub mod decide;
pub mod disasm;
pub mod error;
pub mod interp;
pub mod lxc_compat;
pub mod lxc_text;
pub mod model;
pub mod multiplex;
pub mod oci;
pub mod oci_in;
pub mod syscalls;

pub use codegen::compile;
pub use decide::{decide, decide_call, effective, Decision};
pub use disasm::disasm;
pub use error::SeccompError;
pub use model::{Action, Arch, ArgCmp, CmpOp, Mode, Policy, Rule};
