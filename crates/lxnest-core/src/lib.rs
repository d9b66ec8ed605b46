//! lxnest's pure layers: a spec (YAML or LXC config) is parsed ([`spec`], read through the one
//! loader [`source`]), planned ([`plan`]: every level's AppArmor, seccomp, cgroup, network, ids),
//! and rendered into artifacts ([`apparmor`], [`seccomp`], [`lxc`], [`runtimes`], [`artifacts`]),
//! explained ([`explain`], [`diff`]). Nothing here touches the kernel: the `lxnest` crate applies
//! a plan. See docs/architecture.md.
#![deny(missing_docs)]

pub mod apparmor;
pub mod artifacts;
pub mod diff;
pub mod explain;
pub mod explain_audit;
pub mod export;
pub mod input;
pub mod lxc;
pub mod lxc_encode;
pub mod names;
pub mod oci;
pub mod openvz;
pub mod origin;
pub mod plan;
pub mod runtimes;
pub mod seccomp;
pub mod signal;
pub mod source;
pub mod spec;
