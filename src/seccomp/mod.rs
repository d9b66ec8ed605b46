//! seccomp: the policy model, LXC v2 text and OCI JSON forms, stacking across levels, BPF codegen,
//! and installing a filter on the current process.

pub mod model;

pub use model::{Action, Arch, ArgCmp, CmpOp, Mode, Policy, Rule};
