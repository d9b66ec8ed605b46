//! lxnest: one spec for a whole nesting stack (host -> level 1 -> level 2 ...), planned, checked,
//! rendered into AppArmor profiles, seccomp filters and LXC config, and launched.
//!
//! Data flows one way: [`spec`] (parse) -> [`plan`] (pure) -> artifacts ([`apparmor`], [`seccomp`],
//! [`lxc`]) -> apply ([`launch`], [`cgroup`], [`net`], [`rootfs`]). [`host`] reads the facts of the
//! machine into a [`plan::host::HostSnapshot`] value that the pure planner consumes.
#![deny(missing_docs)]

pub mod api;
pub mod apparmor;
pub mod artifacts;
pub mod attach;
pub mod cgroup;
pub mod crypt;
pub mod diff;
pub mod explain;
pub mod explain_audit;
pub mod forkfds;
pub mod hooks;
pub mod host;
pub mod input;
pub mod inroot;
pub mod launch;
pub mod lxc;
pub mod lxc_encode;
pub mod mounts;
pub mod names;
pub mod net;
pub mod openvz;
pub mod origin;
pub mod plan;
pub mod pty;
pub mod registry;
pub mod rootfs;
pub mod runtimes;
pub mod seccomp;
pub mod signal;
pub mod source;
pub mod spec;
pub mod statedir;
pub mod tarball;
