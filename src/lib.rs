//! lxnest: one spec for a whole nesting stack (host -> level 1 -> level 2 ...), planned, checked,
//! rendered into AppArmor profiles, seccomp filters and LXC config, and launched.
//!
//! Data flows one way: [`spec`] (parse) -> [`plan`] (pure) -> artifacts ([`apparmor`], [`seccomp`],
//! [`lxc`]) -> apply ([`launch`], [`cgroup`], [`net`], [`rootfs`]). [`host`] reads the facts of the
//! machine into a [`plan::host::HostSnapshot`] value that the pure planner consumes.
#![deny(missing_docs)]

// The pure layers live in the `lxnest-core` crate (no kernel, no libc) and keep their paths here.
pub use lxnest_core::{
    diff, explain, explain_audit, export, input, lxc, lxc_encode, names, openvz, origin, plan,
    runtimes, signal, source, spec,
};

/// Artifacts rendered from a plan ([`lxnest_core::artifacts`]) and, here, written to a directory.
pub mod artifacts {
    pub use lxnest_core::artifacts::*;
    mod render;
    mod write;
    // Shadows the core's sequential `render_all` (same files, two threads).
    pub use render::render_all;
    pub use write::write;
}

/// AppArmor: the profile model and renderer ([`lxnest_core::apparmor`]) and, here, loading
/// profiles into the kernel.
pub mod apparmor {
    pub use lxnest_core::apparmor::*;
    mod install;
    pub mod kernel;
    pub use install::{install, Installed};
}

/// seccomp: the policy model and compiler ([`lxnest_core::seccomp`]) and, here, installing a
/// filter in the kernel.
pub mod seccomp {
    pub use lxnest_core::seccomp::*;
    pub mod install;
    pub use install::{filter_count, install, install_with_listener, NoNewPrivs};
}

pub mod api;
pub mod attach;
pub mod cgroup;
pub mod crypt;
pub mod forkfds;
pub mod hooks;
pub mod host;
pub mod inroot;
pub mod launch;
pub mod mounts;
pub mod net;

/// lxnest as an OCI runtime (`lxnest-oci`, runc's command line): the pure translation of a
/// bundle is `lxnest_core::oci` (re-exported here); the modules below read bundles and state,
/// start containers through lxnest's launcher with an exec gate, and answer the engine's
/// commands. docs/oci.md says what is supported.
pub mod oci {
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
}
pub mod pty;
pub mod registry;
pub mod rootfs;
pub mod statedir;
pub mod tarball;
