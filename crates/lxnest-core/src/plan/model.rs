//! The plan: one [`LevelPlan`] per container, everything the renderers and the launcher need,
//! computed without I/O from a [`crate::spec::Stack`] and a [`crate::plan::host::HostSnapshot`].

use crate::origin::Origin;
use crate::plan::host::{CgroupMode, IdRange};
use crate::seccomp::Policy;
use ipnet::Ipv4Net;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::net::Ipv4Addr;

/// A whole stack, planned. `containers` is in depth-first order: a parent always comes before its
/// children, so starting in order and stopping in reverse is always valid.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Plan {
    /// Stack name.
    pub stack: String,
    /// Spec file the plan came from.
    pub source: String,
    /// The level the planner itself sits at (0 on the host); level-1 containers are at `base + 1`.
    pub base_level: u32,
    /// The bridge lxnest owns at the planner's level for its level-1 containers, if any needs one.
    pub host_bridge: Option<BridgePlan>,
    /// Every container, parents before children.
    pub containers: Vec<LevelPlan>,
    /// Things the user should know that do not stop the plan.
    pub warnings: Vec<String>,
    /// What the plan kept clear of: subnets and host id ranges reserved by other stacks (lxnest's
    /// allocation registry), this stack's own earlier reservations, and other users' subordinate
    /// ids, each with its holder.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub reserved: Vec<crate::plan::host::Reservation>,
}

impl Plan {
    /// The container with this path (`juju-host/unit-1`).
    pub fn get(&self, path: &str) -> Option<&LevelPlan> {
        self.containers.iter().find(|c| c.path == path)
    }

    /// Ancestors of a container, outermost first (not including the container itself).
    pub fn ancestors(&self, path: &str) -> Vec<&LevelPlan> {
        PlanIndex::new(self).ancestors(path)
    }

    /// Direct children of a container.
    pub fn children<'a>(&'a self, path: &'a str) -> impl Iterator<Item = &'a LevelPlan> + 'a {
        self.containers
            .iter()
            .filter(move |c| c.parent.as_deref() == Some(path))
    }
}

/// Path lookups in constant time, for work over every container of a large plan.
pub struct PlanIndex<'a> {
    plan: &'a Plan,
    by_path: std::collections::HashMap<&'a str, usize>,
}

impl<'a> PlanIndex<'a> {
    /// Index a plan.
    pub fn new(plan: &'a Plan) -> Self {
        let by_path = plan
            .containers
            .iter()
            .enumerate()
            .map(|(i, c)| (c.path.as_str(), i))
            .collect();
        PlanIndex { plan, by_path }
    }

    /// The container with this path.
    pub fn get(&self, path: &str) -> Option<&'a LevelPlan> {
        self.by_path.get(path).map(|&i| &self.plan.containers[i])
    }

    /// Ancestors of a container, outermost first.
    pub fn ancestors(&self, path: &str) -> Vec<&'a LevelPlan> {
        let mut out = Vec::new();
        let mut cur = self.get(path).and_then(|c| c.parent.as_deref());
        while let Some(level) = cur.and_then(|p| self.get(p)) {
            out.push(level);
            cur = level.parent.as_deref();
        }
        out.reverse();
        out
    }
}

/// Everything about one container at one level.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LevelPlan {
    /// Own name (`unit-1`).
    pub name: String,
    /// Path from level 1 (`juju-host/unit-1`); unique in the plan.
    pub path: String,
    /// Nesting level: 1 for containers the planner starts directly.
    pub depth: u32,
    /// Path of the parent container, `None` at level 1.
    pub parent: Option<String>,
    /// The nested runtime kind this container hosts, if any.
    pub runtime: Option<crate::spec::model::Runtime>,
    /// Where the container was declared.
    pub origin: Origin,
    /// Root filesystem (`{kind, path}` in a plan's JSON).
    #[serde(with = "crate::spec::rootfs::tagged")]
    pub rootfs: RootfsPlan,
    /// Encryption of the root directory, when asked for (see `lxnest::crypt`). Left out of the
    /// serialized plan when absent, so plans without encryption read exactly as before.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub encrypt: Option<EncryptPlan>,
    /// The first process and its environment.
    pub init: InitPlan,
    /// AppArmor confinement.
    pub apparmor: AppArmorPlan,
    /// seccomp filter of this level and the effective stacked decisions.
    pub seccomp: SeccompPlan,
    /// cgroup placement, limits and delegation.
    pub cgroup: CgroupPlan,
    /// Network.
    pub network: NetPlan,
    /// Capabilities kept (bounding = effective = permitted set of the first process).
    pub capabilities: Vec<String>,
    /// Device nodes created in the container's /dev and allowed by its device policy.
    pub devices: Vec<DevicePlan>,
    /// User namespace id maps, `None` for a privileged container.
    pub idmap: Option<IdMapPlan>,
    /// Mounts, in order.
    pub mounts: Vec<MountPlan>,
    /// Landlock rules for the first process.
    pub landlock: LandlockPlan,
    /// Hooks by LXC hook type (`pre-start` ...), each a shell command line.
    pub hooks: crate::spec::hook::Hooks,
}

/// Root filesystem source: the spec's own type ([`crate::spec::rootfs`] knows its syntax).
pub use crate::spec::rootfs::Rootfs as RootfsPlan;

/// How a container's root directory is encrypted: pure data, applied by `lxnest::crypt`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EncryptPlan {
    /// The method (`fscrypt`).
    pub method: crate::spec::model::EncryptMethod,
    /// The directory that is encrypted (the `dir:` rootfs).
    pub dir: String,
    /// Where the key comes from.
    pub key: crate::spec::model::KeySource,
    /// The policy given to a new encrypted directory.
    pub policy: FscryptPolicyPlan,
    /// Argon2id parameters for a new passphrase-derived key (an existing directory uses the ones
    /// stored in its metadata).
    pub kdf: KdfPlan,
    /// The key metadata file (salt, KDF parameters, key identifier; never the key).
    pub metadata: String,
}

/// An fscrypt policy: cipher names as the kernel documentation spells them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FscryptPolicyPlan {
    /// Policy version (2: HKDF-derived keys, identified by a key identifier).
    pub version: u8,
    /// Contents cipher (`AES-256-XTS`).
    pub contents: String,
    /// File name cipher (`AES-256-CTS`).
    pub filenames: String,
    /// File names are padded to a multiple of this many bytes (4, 8, 16 or 32).
    pub padding: u8,
}

/// Argon2id cost parameters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct KdfPlan {
    /// Memory in KiB.
    pub memory_kib: u32,
    /// Passes over memory.
    pub iterations: u32,
    /// Lanes.
    pub parallelism: u32,
}

/// The container's first process.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InitPlan {
    /// argv of the first process.
    pub command: Vec<String>,
    /// Environment of the first process.
    pub environment: BTreeMap<String, String>,
    /// Hostname (UTS namespace).
    pub hostname: String,
    /// The signal that asks the init to shut down (`SIGRTMIN+3` for systemd, which treats
    /// SIGTERM as "re-execute", as LXC's `lxc.signal.halt`); `None` is SIGTERM. Left out of the
    /// serialized plan when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub halt_signal: Option<String>,
}

impl InitPlan {
    /// The halt signal's number (SIGTERM when none is planned or the name is unknown).
    pub fn halt_signal_number(&self) -> i32 {
        self.halt_signal
            .as_deref()
            .and_then(signal_number)
            .unwrap_or(crate::signal::SIGTERM)
    }
}

/// `SIGTERM`, `SIGPWR`, `SIGRTMIN+3` ... as a number ([`crate::signal`] holds the table).
pub use crate::signal::number as signal_number;

/// AppArmor confinement of one container.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AppArmorPlan {
    /// Profile name (`lxnest-juju-host`).
    pub profile: String,
    /// Policy namespace the profile is loaded into; `None` is the root namespace.
    pub namespace: Option<String>,
    /// The full label the container's processes carry, seen from the root namespace
    /// (`lxnest-juju-host//&:lxnest-juju-host:lxnest-unit-1`).
    pub label: String,
    /// Named template flags that were switched on (`mount_proc`, `pivot_root`, ...).
    pub flags: Vec<String>,
    /// Extra rules from the spec, each with its origin.
    pub extra_rules: Vec<(String, Origin)>,
    /// Rendered profile text.
    pub text: String,
    /// How confinement works at this depth, when it differs from "own namespace".
    pub note: Option<String>,
}

/// seccomp for one container.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SeccompPlan {
    /// This level's own filter. Shared: a fleet's containers mostly have the same filter, and
    /// one copy per distinct filter keeps a large plan small (the JSON is the same).
    #[serde(serialize_with = "crate::plan::shared_json::serialize")]
    pub own: std::sync::Arc<Policy>,
    /// Paths of the containers whose filters sit above this one, outermost first.
    pub inherited_from: Vec<String>,
    /// Whether the container may load filters of its own (it hosts a runtime that stacks them).
    pub allow_nesting: bool,
    /// Effective decisions (all ancestors AND own) for every syscall that is not a plain allow.
    pub effective: BTreeMap<String, EffectiveDecision>,
}

/// The stacked decision is computed by the seccomp layer ([`crate::seccomp::decide`]), which
/// owns its type; the plan only holds it.
pub use crate::seccomp::decide::EffectiveDecision;

/// How the container's cgroup is prepared inside it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Premount {
    /// The container sees its own cgroup as the root of a read-write cgroup mount (cgroup ns).
    Namespaced,
    /// The container's cgroup mount is read-only (it does not manage cgroups).
    ReadOnly,
}

/// cgroup placement for one container.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CgroupPlan {
    /// Path relative to the planner's own cgroup (`lxnest/juju-host`), the same in every hierarchy.
    pub path: String,
    /// Layout the path lives in.
    pub mode: CgroupMode,
    /// Controllers limited or enabled for this container.
    pub controllers: Vec<String>,
    /// Effective limits (already capped by every ancestor).
    pub limits: LimitPlan,
    /// Delegate the subtree to the container's root user (it runs a cgroup-managing runtime).
    pub delegate: bool,
    /// When delegating: the leaf (relative to `path`) where the container's own processes live,
    /// because cgroup v2 forbids processes in a node that enables controllers for children.
    pub init_leaf: Option<String>,
    /// How the container sees cgroupfs.
    pub premount: Premount,
}

/// Resource limits in kernel units.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct LimitPlan {
    /// Bytes.
    pub memory: Option<u64>,
    /// Tasks.
    pub pids: Option<u64>,
    /// CPU bandwidth as (quota, period) in microseconds.
    pub cpu: Option<(u64, u64)>,
}

/// A bridge that a nesting host (or the planner's own level) creates for its children.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BridgePlan {
    /// Interface name (at most 15 bytes).
    pub name: String,
    /// The subnet; the bridge takes the first host address.
    pub subnet: Ipv4Net,
    /// The bridge's own address with prefix.
    pub address: Ipv4Net,
    /// MTU of the bridge and the veths on it.
    pub mtu: u32,
    /// Masquerade the subnet out of the namespace the bridge lives in. Never true on the real
    /// host (level 0): lxnest does not touch the host's firewall.
    pub nat: bool,
    /// Where the subnet choice came from (`picked`, or the spec's file:line).
    pub origin: Origin,
}

/// Network plan of one container.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct NetPlan {
    /// `bridge`, `loopback`, `none` or `user-nic`.
    pub mode: crate::spec::network::NetworkMode,
    /// The parent's bridge this container's veth is attached to.
    pub parent_bridge: Option<String>,
    /// Host-side veth name (in the parent's namespace).
    pub veth_host: Option<String>,
    /// Interface name inside the container.
    pub interface: String,
    /// The container's address with prefix.
    pub address: Option<Ipv4Net>,
    /// Default gateway (the parent bridge's address).
    pub gateway: Option<Ipv4Addr>,
    /// MTU of the container's interface.
    pub mtu: u32,
    /// The bridge this container creates for its own children, if it hosts any.
    pub own_bridge: Option<BridgePlan>,
    /// The bridge the container's nested runtime creates itself (LXC's lxcbr0 through lxc-net,
    /// Docker's docker0, Podman's podman0, LXD's lxdbr0): lxnest plans its subnet so that it
    /// collides with nothing and writes it into the runtime's configuration, but never creates
    /// it; NAT for it is the runtime's own, inside the container's network namespace.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub runtime_bridge: Option<BridgePlan>,
    /// Subnets the nested runtime may carve further networks from (Docker's
    /// `default-address-pools`, Podman's `default_subnet_pools`), split into /24s.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub runtime_pool: Option<Ipv4Net>,
}

/// A device node.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DevicePlan {
    /// Path inside the container (`/dev/fuse`).
    pub path: String,
    /// `c` or `b`.
    pub kind: char,
    /// Major number.
    pub major: u32,
    /// Minor number.
    pub minor: u32,
    /// Access (`rwm`).
    pub access: String,
}

/// One line of a uid or gid map: `inside outside count`, `outside` in the parent's namespace.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct IdMapLine {
    /// First id inside the container.
    pub inside: u32,
    /// First id in the parent's user namespace.
    pub outside: u32,
    /// Count.
    pub count: u32,
}

/// User namespace maps of one container.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IdMapPlan {
    /// uid_map lines.
    pub uid: Vec<IdMapLine>,
    /// gid_map lines.
    pub gid: Vec<IdMapLine>,
    /// The same range seen from the real host (level 0), for `info` and checks.
    pub host_uid: IdRange,
    /// The host gid range.
    pub host_gid: IdRange,
    /// Ids (inside the container, uids and gids alike) reserved for the containers its own
    /// runtime makes (LXC's, LXD's, Podman's, or ad-hoc `lxnest run`): the nesting host's
    /// /etc/subuid and /etc/subgid give them to root. Disjoint from the declared children's
    /// blocks. Left out of the serialized plan when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub runtime: Option<IdRange>,
}

/// One mount, in the order performed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MountPlan {
    /// Source (path, or a pseudo-fs name).
    pub source: String,
    /// Target inside the container's root.
    pub target: String,
    /// Filesystem type, `bind` for a bind mount.
    pub fstype: String,
    /// Options as in `mount -o`.
    pub options: Vec<String>,
    /// Where it was asked for.
    pub origin: Origin,
}

/// Landlock rules: paths (inside the container) and what the first process may do there.
/// Landlock forbids mount and pivot_root to restricted processes, so nesting hosts get none.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LandlockPlan {
    /// Whether a Landlock domain is applied at all.
    pub enabled: bool,
    /// Why not, when not.
    pub reason: Option<String>,
    /// Paths with read access only (and execute).
    pub read_only: Vec<String>,
    /// Paths with full access.
    pub read_write: Vec<String>,
}

#[cfg(test)]
mod signal_tests {
    use super::*;

    #[test]
    fn halt_signals_by_name() {
        assert_eq!(signal_number("SIGRTMIN+3"), Some(libc::SIGRTMIN() + 3));
        assert_eq!(signal_number("PWR"), Some(libc::SIGPWR));
        for (name, sig) in [
            ("SIGTERM", libc::SIGTERM),
            ("TERM", libc::SIGTERM),
            ("SIGINT", libc::SIGINT),
            ("SIGHUP", libc::SIGHUP),
            ("SIGQUIT", libc::SIGQUIT),
            ("SIGUSR1", libc::SIGUSR1),
            ("SIGUSR2", libc::SIGUSR2),
        ] {
            assert_eq!(signal_number(name), Some(sig), "{name}");
        }
        assert_eq!(signal_number("SIGKILLME"), None);
        assert_eq!(signal_number("SIGRTMIN+99"), None);
        let init = InitPlan {
            command: vec![],
            environment: BTreeMap::new(),
            hostname: "h".into(),
            halt_signal: None,
        };
        assert_eq!(init.halt_signal_number(), libc::SIGTERM);
    }
}
