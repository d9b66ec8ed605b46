//! cgroups on the running kernel: layout detection, creating, limiting, delegating and removing trees.
//!
//! - [`layout`] reads `/proc/self/mountinfo` and `/proc/self/cgroup` into a
//!   [`crate::plan::host::CgroupLayout`] and this process's own place in every hierarchy.
//! - [`tree`] creates a container's cgroup in every hierarchy, applies limits, moves tasks,
//!   and removes everything again ([`tree::CgroupGuard`]).
//! - [`delegate`] hands a subtree to the container's root user.
//! - [`devices`] writes the v1 devices allowlist.
//! - [`premount`] mounts the container's cgroup view inside its mount namespace.
//! - [`user`] places an unprivileged user's container in a delegated cgroup2 subtree, if any.
//!
//! v1 controller hierarchies are driven through `cgroups_rs::fs`; everything on the cgroup2 side
//! (hybrid `unified` mount or a pure v2 host) is lxnest's own code in [`v2`], because cgroups-rs
//! ignores the unified mount on a hybrid host.

mod cleanup;
pub mod delegate;
pub mod devbpf;
pub mod devices;
pub mod layout;
mod place;
pub mod premount;
pub mod tree;
pub mod user;
pub mod v2;

use std::io;
use std::path::PathBuf;
use thiserror::Error;

pub use devices::apply_devices;
pub use layout::{detect, own_paths, Hierarchy, HierarchyKind, OwnCgroups};
pub use tree::{create, create_with, remove, remove_with, Base, CgroupGuard, CreateOptions};

/// Errors of the cgroup layer, each with the path or hierarchy it concerns.
#[derive(Debug, Error)]
pub enum CgroupError {
    /// Reading or writing a cgroupfs file or directory failed.
    #[error("{op} {path}: {source}")]
    Io {
        /// What was attempted (`mkdir`, `write`, `read`, `rmdir`, `chown`).
        op: &'static str,
        /// The file or directory.
        path: PathBuf,
        /// The OS error.
        #[source]
        source: io::Error,
    },
    /// A line of /proc/self/mountinfo or /proc/self/cgroup could not be parsed.
    #[error("{file} line {line}: cannot parse {text:?}")]
    Parse {
        /// The file (`/proc/self/mountinfo`).
        file: &'static str,
        /// 1-based line number.
        line: usize,
        /// The offending line.
        text: String,
    },
    /// The container's cgroup exists already: a container of that name runs (perhaps from
    /// another state directory), or a crash left it behind.
    #[error("cgroup {path} exists already: a container of this name is running, or a crashed one left it\n  fix: stop that container, or remove the leftover with `lxnest destroy -n NAME`, or pick another name")]
    Exists {
        /// The directory.
        path: String,
    },
    /// No cgroup filesystem is mounted at all.
    #[error("no cgroup filesystem is mounted (checked /proc/self/mountinfo)")]
    NoCgroupMounts,
    /// This process's cgroup in a hierarchy lies outside what the mount shows.
    #[error("own cgroup {path} of hierarchy {hierarchy} is not visible under mount {mount} (mount root {root})")]
    NotVisible {
        /// Hierarchy label (`memory`, `unified`).
        hierarchy: String,
        /// Path from /proc/self/cgroup.
        path: String,
        /// Mount point.
        mount: PathBuf,
        /// Root of the mount inside the hierarchy.
        root: String,
    },
    /// A limit needs a controller that no hierarchy offers.
    #[error("controller {controller} is needed for {what} but is neither a v1 hierarchy nor available on cgroup2")]
    ControllerUnavailable {
        /// Controller name.
        controller: String,
        /// The limit or feature that needs it.
        what: &'static str,
    },
    /// A cgroup path from a plan is not a plain relative path.
    #[error("cgroup path {0:?} must be relative, non-empty and free of `..`")]
    BadPath(String),
    /// cgroups-rs failed on a v1 hierarchy.
    #[error("cgroups-rs on v1 cgroup {path}: {message}")]
    V1 {
        /// The cgroup path.
        path: String,
        /// cgroups-rs's error text (its error type is not `Send + Sync` friendly to wrap).
        message: String,
    },
    /// Tasks were still alive in a cgroup after they were killed.
    #[error("cgroup {path} still has tasks after kill: {pids:?}")]
    Busy {
        /// The cgroup directory.
        path: PathBuf,
        /// Remaining pids.
        pids: Vec<i32>,
    },
    /// Loading or attaching the cgroup2 device program failed.
    #[error("{what} for {path}: {errno}{}", if log.is_empty() { String::new() } else { format!("; verifier: {log}") })]
    Bpf {
        /// `BPF_PROG_LOAD` or `BPF_PROG_ATTACH`.
        what: String,
        /// The cgroup directory.
        path: PathBuf,
        /// errno.
        errno: nix::errno::Errno,
        /// Verifier log, when there is one.
        log: String,
    },
    /// A mount syscall failed.
    #[error("mount {what} at {target}: {errno}")]
    Mount {
        /// What was mounted (`cgroup2`, `cgroup memory`, `tmpfs`).
        what: String,
        /// Mount target.
        target: PathBuf,
        /// errno.
        errno: nix::errno::Errno,
    },
}

impl CgroupError {
    /// The kernel refused for lack of permission (EACCES, EPERM or a read-only cgroupfs).
    pub fn is_permission_denied(&self) -> bool {
        match self {
            CgroupError::Io { source, .. } => matches!(
                source.raw_os_error(),
                Some(libc::EACCES | libc::EPERM | libc::EROFS)
            ),
            // cgroups-rs keeps only its message.
            CgroupError::V1 { message, .. } => {
                message.contains("Permission denied") || message.contains("Read-only file system")
            }
            _ => false,
        }
    }
}

/// Result alias of the cgroup layer.
pub type Result<T, E = CgroupError> = std::result::Result<T, E>;

/// Builds a [`CgroupError::Io`] from an operation and a path.
pub(crate) fn io_err(
    op: &'static str,
    path: impl Into<PathBuf>,
) -> impl FnOnce(io::Error) -> CgroupError {
    let path = path.into();
    move |source| CgroupError::Io { op, path, source }
}
