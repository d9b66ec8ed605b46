//! What the OCI runtime spec asks of the first process beyond a [`crate::plan::model::LevelPlan`]:
//! its user, directory, limits, masks and sysctls. The launcher applies it in the container's
//! init, at the points `lxnest::launch::extras` names.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// One resource limit, as `setrlimit(2)` takes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct RlimitPlan {
    /// Resource number (`RLIMIT_NOFILE` is 7 on Linux).
    pub resource: u32,
    /// Soft limit.
    pub soft: u64,
    /// Hard limit.
    pub hard: u64,
}

/// The first process's settings and the mount-level extras of one OCI container.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct OciProcess {
    /// uid inside the container.
    pub uid: u32,
    /// gid inside the container.
    pub gid: u32,
    /// Supplementary groups.
    pub additional_gids: Vec<u32>,
    /// umask, when set.
    pub umask: Option<u32>,
    /// Working directory inside the container.
    pub cwd: String,
    /// Resource limits.
    pub rlimits: Vec<RlimitPlan>,
    /// Set NO_NEW_PRIVS before exec.
    pub no_new_privileges: bool,
    /// oom_score_adj.
    pub oom_score_adj: Option<i32>,
    /// Paths masked inside the container.
    pub masked_paths: Vec<String>,
    /// Paths made read-only inside the container.
    pub readonly_paths: Vec<String>,
    /// The root is read-only.
    pub readonly_root: bool,
    /// Namespaced sysctls, by dotted name.
    pub sysctl: BTreeMap<String, String>,
    /// The process gets a pseudo-terminal (sent to the console socket).
    pub terminal: bool,
}

/// Linux's resource numbers (asm-generic/resource.h), by the spec's names.
pub const RLIMITS: &[(&str, u32)] = &[
    ("RLIMIT_CPU", 0),
    ("RLIMIT_FSIZE", 1),
    ("RLIMIT_DATA", 2),
    ("RLIMIT_STACK", 3),
    ("RLIMIT_CORE", 4),
    ("RLIMIT_RSS", 5),
    ("RLIMIT_NPROC", 6),
    ("RLIMIT_NOFILE", 7),
    ("RLIMIT_MEMLOCK", 8),
    ("RLIMIT_AS", 9),
    ("RLIMIT_LOCKS", 10),
    ("RLIMIT_SIGPENDING", 11),
    ("RLIMIT_MSGQUEUE", 12),
    ("RLIMIT_NICE", 13),
    ("RLIMIT_RTPRIO", 14),
    ("RLIMIT_RTTIME", 15),
];

/// Sysctl prefixes that belong to a namespace the container owns (as runc allows them);
/// anything else would change the host.
pub const NAMESPACED_SYSCTLS: &[&str] = &[
    "net.",
    "kernel.msgmax",
    "kernel.msgmnb",
    "kernel.msgmni",
    "kernel.sem",
    "kernel.shmall",
    "kernel.shmmax",
    "kernel.shmmni",
    "kernel.shm_rmid_forced",
    "fs.mqueue.",
];

/// Whether `name` is a sysctl of a namespace the container has.
pub fn namespaced_sysctl(name: &str) -> bool {
    NAMESPACED_SYSCTLS.iter().any(|p| {
        if p.ends_with('.') {
            name.starts_with(p)
        } else {
            name == *p
        }
    }) && !name.contains("..")
        && !name.contains('/')
}
