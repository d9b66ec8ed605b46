//! Nested runtime presets: what a container that hosts containers of a given kind needs from its
//! parent. The data lives in `nesting/runtimes/*.yaml` and is compiled into the binary so that a
//! plan never depends on files next to the executable.

use serde::{Deserialize, Serialize};

/// What one kind of nested runtime needs. Loaded from `nesting/runtimes/<name>.yaml`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RuntimeNeeds {
    /// Kind name (`lxc`).
    pub name: String,
    /// One line for `lxnest plan`.
    pub description: String,
    /// Syscalls every ancestor's filter and the host's own must allow (x86_64 names).
    #[serde(default)]
    pub syscalls: Vec<String>,
    /// Capabilities the nesting host must keep (in its user namespace).
    #[serde(default)]
    pub capabilities: Vec<String>,
    /// Device nodes the nesting host needs (`/dev/fuse`, `/dev/net/tun`).
    #[serde(default)]
    pub devices: Vec<String>,
    /// AppArmor flags switched on in the nesting host's profile (see policy/apparmor/).
    #[serde(default)]
    pub apparmor: Vec<String>,
    /// Filesystem types the runtime mounts for its containers.
    #[serde(default)]
    pub mounts: Vec<String>,
    /// Whether the runtime needs clean proc/sysfs copies (unmasked) to mount into its containers.
    #[serde(default)]
    pub proc_sysfs_copies: bool,
    /// cgroup needs.
    #[serde(default)]
    pub cgroup: CgroupNeeds,
    /// Whether the runtime loads seccomp filters of its own (LXC's `lxc.seccomp.allow_nesting`).
    #[serde(default)]
    pub stacks_seccomp: bool,
    /// Extra header bytes its networking adds (fan, vxlan), lowering the children's MTU.
    #[serde(default)]
    pub encapsulation_overhead: u32,
}

/// cgroup needs of a nested runtime.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct CgroupNeeds {
    /// The runtime creates cgroups for its containers: delegate the subtree.
    #[serde(default)]
    pub delegate: bool,
    /// Controllers it must be able to enable for its children.
    #[serde(default)]
    pub controllers: Vec<String>,
}
