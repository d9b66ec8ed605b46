//! The subset of the OCI runtime spec's `config.json` that lxnest reads. Every object keeps the
//! keys it does not know in `other`, so that [`super::translate`] can refuse a field lxnest would
//! otherwise drop without a word (a security setting ignored is a security setting lost).

use serde::Deserialize;
use serde_json::Value;
use std::collections::BTreeMap;

/// Keys a struct does not name, by JSON key.
pub type Other = BTreeMap<String, Value>;

/// The bundle's `config.json`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Config {
    /// `ociVersion`.
    #[serde(default)]
    pub oci_version: String,
    /// The first process.
    pub process: Option<Process>,
    /// The root filesystem.
    pub root: Option<Root>,
    /// Hostname of the UTS namespace.
    pub hostname: Option<String>,
    /// Mounts, in order.
    #[serde(default)]
    pub mounts: Vec<Mount>,
    /// Hooks.
    pub hooks: Option<Hooks>,
    /// Annotations (`org.lxnest.nesting`).
    #[serde(default)]
    pub annotations: BTreeMap<String, String>,
    /// Linux specifics.
    pub linux: Option<Linux>,
    /// Anything else.
    #[serde(flatten)]
    pub other: Other,
}

/// `process`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Process {
    /// Give the process a pseudo-terminal.
    #[serde(default)]
    pub terminal: bool,
    /// uid, gid and supplementary groups.
    #[serde(default)]
    pub user: User,
    /// argv.
    #[serde(default)]
    pub args: Vec<String>,
    /// `NAME=VALUE` lines.
    #[serde(default)]
    pub env: Vec<String>,
    /// Working directory inside the container.
    #[serde(default)]
    pub cwd: String,
    /// Capability sets.
    pub capabilities: Option<Capabilities>,
    /// Resource limits.
    #[serde(default)]
    pub rlimits: Vec<Rlimit>,
    /// Set NO_NEW_PRIVS before exec.
    #[serde(default)]
    pub no_new_privileges: bool,
    /// AppArmor profile name.
    pub apparmor_profile: Option<String>,
    /// oom_score_adj of the process.
    pub oom_score_adj: Option<i32>,
    /// SELinux label.
    pub selinux_label: Option<String>,
    /// Console size (used only with `terminal`).
    pub console_size: Option<Value>,
    /// Anything else.
    #[serde(flatten)]
    pub other: Other,
}

/// `process.user`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct User {
    /// uid inside the container.
    #[serde(default)]
    pub uid: u32,
    /// gid inside the container.
    #[serde(default)]
    pub gid: u32,
    /// Supplementary groups.
    #[serde(default)]
    pub additional_gids: Vec<u32>,
    /// umask of the process.
    pub umask: Option<u32>,
    /// Anything else.
    #[serde(flatten)]
    pub other: Other,
}

/// `process.capabilities`: names like `CAP_SYS_ADMIN`.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct Capabilities {
    /// Bounding set.
    #[serde(default)]
    pub bounding: Vec<String>,
    /// Effective set.
    #[serde(default)]
    pub effective: Vec<String>,
    /// Permitted set.
    #[serde(default)]
    pub permitted: Vec<String>,
    /// Inheritable set.
    #[serde(default)]
    pub inheritable: Vec<String>,
    /// Ambient set.
    #[serde(default)]
    pub ambient: Vec<String>,
}

/// One `process.rlimits` entry.
#[derive(Debug, Clone, Deserialize)]
pub struct Rlimit {
    /// `RLIMIT_NOFILE` ...
    #[serde(rename = "type")]
    pub kind: String,
    /// Hard limit.
    pub hard: u64,
    /// Soft limit.
    pub soft: u64,
}

/// `root`.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct Root {
    /// Path, relative to the bundle or absolute.
    pub path: String,
    /// Mount the root read-only.
    #[serde(default)]
    pub readonly: bool,
}

/// One `mounts` entry.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Mount {
    /// Target inside the container.
    pub destination: String,
    /// Filesystem type (`bind` or a type; absent for a bind).
    #[serde(rename = "type")]
    pub kind: Option<String>,
    /// Source.
    pub source: Option<String>,
    /// `mount -o` options (`rbind`, `ro`, `nosuid`, `size=64k`).
    #[serde(default)]
    pub options: Vec<String>,
    /// Id-mapped mounts.
    #[serde(default)]
    pub uid_mappings: Vec<IdMapping>,
    /// Id-mapped mounts.
    #[serde(default)]
    pub gid_mappings: Vec<IdMapping>,
}

/// `hooks`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Hooks {
    /// Deprecated: run in the runtime's namespaces after the container is created.
    #[serde(default)]
    pub prestart: Vec<Hook>,
    /// Run in the runtime's namespaces after the container is created.
    #[serde(default)]
    pub create_runtime: Vec<Hook>,
    /// Run in the container's namespaces (refused).
    #[serde(default)]
    pub create_container: Vec<Hook>,
    /// Run in the container before the user process (refused).
    #[serde(default)]
    pub start_container: Vec<Hook>,
    /// Run after the user process started.
    #[serde(default)]
    pub poststart: Vec<Hook>,
    /// Run at delete.
    #[serde(default)]
    pub poststop: Vec<Hook>,
}

/// One hook: an executable on the host, given the container's state on stdin.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, Deserialize)]
pub struct Hook {
    /// Absolute path of the executable.
    pub path: String,
    /// argv (argv[0] included).
    #[serde(default)]
    pub args: Vec<String>,
    /// Environment.
    #[serde(default)]
    pub env: Vec<String>,
    /// Seconds before it is killed.
    pub timeout: Option<u64>,
}

/// `linux`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Linux {
    /// Namespaces to create (or join, with `path`).
    #[serde(default)]
    pub namespaces: Vec<Namespace>,
    /// uid map of the user namespace.
    #[serde(default)]
    pub uid_mappings: Vec<IdMapping>,
    /// gid map of the user namespace.
    #[serde(default)]
    pub gid_mappings: Vec<IdMapping>,
    /// Device nodes to create.
    #[serde(default)]
    pub devices: Vec<Device>,
    /// The container's cgroup.
    pub cgroups_path: Option<String>,
    /// Resource limits (`memory`, `pids`, `cpu`, `devices`).
    pub resources: Option<Resources>,
    /// seccomp profile, in the runtime spec's JSON form.
    pub seccomp: Option<Value>,
    /// Namespaced sysctls.
    #[serde(default)]
    pub sysctl: BTreeMap<String, String>,
    /// Paths masked (a file by /dev/null, a directory by an empty read-only tmpfs).
    #[serde(default)]
    pub masked_paths: Vec<String>,
    /// Paths made read-only.
    #[serde(default)]
    pub readonly_paths: Vec<String>,
    /// Propagation of the root mount.
    pub rootfs_propagation: Option<String>,
    /// SELinux mount label.
    pub mount_label: Option<String>,
    /// Anything else.
    #[serde(flatten)]
    pub other: Other,
}

/// One `linux.namespaces` entry.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct Namespace {
    /// `pid`, `network`, `mount`, `ipc`, `uts`, `user`, `cgroup`, `time`.
    #[serde(rename = "type")]
    pub kind: String,
    /// A namespace to join instead of a new one.
    pub path: Option<String>,
}

/// One id-map line.
#[derive(Debug, Clone, Copy, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct IdMapping {
    /// First id inside.
    #[serde(rename = "containerID")]
    pub container_id: u32,
    /// First id outside.
    #[serde(rename = "hostID")]
    pub host_id: u32,
    /// Count.
    pub size: u32,
}

/// One `linux.devices` entry.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct Device {
    /// Path inside the container.
    pub path: String,
    /// `c`, `b`, `u` or `p`.
    #[serde(rename = "type")]
    pub kind: String,
    /// Major number.
    #[serde(default)]
    pub major: u32,
    /// Minor number.
    #[serde(default)]
    pub minor: u32,
}

/// `linux.resources`: what lxnest limits, the rest kept to be refused by name.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct Resources {
    /// Memory.
    pub memory: Option<BTreeMap<String, Value>>,
    /// Tasks.
    pub pids: Option<BTreeMap<String, Value>>,
    /// CPU.
    pub cpu: Option<BTreeMap<String, Value>>,
    /// The device cgroup rules (lxnest allows exactly the nodes it creates).
    #[serde(default)]
    pub devices: Vec<Value>,
    /// Anything else.
    #[serde(flatten)]
    pub other: Other,
}
