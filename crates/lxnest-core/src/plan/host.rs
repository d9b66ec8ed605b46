//! What the planner needs to know about the machine, as a plain value. `host::read` fills it from
//! the running kernel; tests build it by hand. Nothing here does I/O.

use ipnet::Ipv4Net;
use serde::{Deserialize, Serialize};
use std::net::IpAddr;

/// How cgroups are mounted on the machine lxnest runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CgroupMode {
    /// Only cgroup v1 hierarchies.
    V1,
    /// v1 controller hierarchies plus a cgroup2 mount (usually /sys/fs/cgroup/unified) that may
    /// carry some controllers of its own.
    Hybrid,
    /// A single cgroup2 hierarchy at /sys/fs/cgroup.
    Unified,
}

/// The cgroup layout, as seen from the process that plans.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CgroupLayout {
    /// v1, hybrid or unified.
    pub mode: CgroupMode,
    /// Controllers mounted as v1 hierarchies (`memory`, `pids`, ...; `name=systemd` excluded).
    pub v1_controllers: Vec<String>,
    /// Controllers available on the cgroup2 side (`cgroup.controllers` of its root).
    pub unified_controllers: Vec<String>,
    /// Where cgroup2 is mounted, if anywhere.
    pub unified_mount: Option<String>,
    /// Whether cgroup2 is mounted with `nsdelegate`.
    pub nsdelegate: bool,
}

/// Kernel features that change what a plan can promise.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KernelFeatures {
    /// AppArmor is the enabled LSM (module loaded and `enabled` = Y).
    pub apparmor: bool,
    /// AppArmor supports stacking and policy namespaces.
    pub apparmor_stacking: bool,
    /// Landlock ABI version, if Landlock is enabled.
    pub landlock_abi: Option<u32>,
    /// `SECCOMP_RET_USER_NOTIF` is available.
    pub seccomp_notify: bool,
    /// User namespaces can be created.
    pub userns: bool,
    /// Cgroup namespaces exist.
    pub cgroupns: bool,
    /// Time namespaces exist.
    pub timens: bool,
}

/// A contiguous id range: ids `first..first+count` of the parent's namespace.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct IdRange {
    /// First id of the range.
    pub first: u32,
    /// Number of ids.
    pub count: u32,
}

/// Everything the planner knows of the machine it plans for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HostSnapshot {
    /// Destinations the host already routes (connected and static routes), never reused.
    pub routes: Vec<Ipv4Net>,
    /// The host's own addresses with their prefixes.
    pub addresses: Vec<Ipv4Net>,
    /// DNS servers from resolv.conf; a bridge subnet must not cover them.
    pub dns: Vec<IpAddr>,
    /// MTU of the interface carrying the default route (1500 when unknown).
    pub uplink_mtu: u32,
    /// cgroup layout.
    pub cgroup: CgroupLayout,
    /// Kernel features.
    pub kernel: KernelFeatures,
    /// Subordinate uids the planning user may map (from /etc/subuid), empty when none.
    pub subuids: Vec<IdRange>,
    /// Subordinate gids, likewise.
    pub subgids: Vec<IdRange>,
    /// Whether the planner runs as real root (uid 0 in the initial user namespace).
    pub privileged: bool,
    /// The nesting level the planner itself sits at (0 on the real host).
    pub level: u32,
    /// The unprivileged user the planner runs as; `None` for root (also root of a container).
    #[serde(default)]
    pub user: Option<HostUser>,
    /// What others hold: subnets and host id ranges in lxnest's allocation registry (other stacks,
    /// and this stack's own earlier claims, which it may take again), and other users'
    /// subordinate id ranges. Nothing here is handed out to anyone else.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub reserved: Vec<Reservation>,
}

/// Something already allocated on this host, and who holds it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reservation {
    /// Who holds it: `stack S, container C (-P DIR, monitor pid N)`, or `user alice (/etc/subuid)`.
    pub holder: String,
    /// The stack that holds it, for lxnest's own reservations (`None` for a user's range).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stack: Option<String>,
    /// What it is within the holder: [`HOST_BRIDGE`], `bridge PATH`, `ids PATH`, `subuid`...
    pub what: String,
    /// A subnet in use at any level (host bridge, a nesting host's bridge, a nested runtime's).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subnet: Option<Ipv4Net>,
    /// Host uids.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uids: Option<IdRange>,
    /// Host gids.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gids: Option<IdRange>,
}

/// [`Reservation::what`] of a stack's bridge on the planner's own level.
pub const HOST_BRIDGE: &str = "host bridge";

/// [`Reservation::what`] of the bridge a nesting host makes for its children.
pub fn bridge_key(path: &str) -> String {
    format!("bridge {path}")
}

/// [`Reservation::what`] of the bridge a nesting host's own runtime makes (lxcbr0, docker0...).
pub fn runtime_bridge_key(path: &str) -> String {
    format!("runtime bridge {path}")
}

/// [`Reservation::what`] of the address pool of a nesting host's Docker or Podman.
pub fn runtime_pool_key(path: &str) -> String {
    format!("runtime pool {path}")
}

/// [`Reservation::what`] of a container tree's block of host ids.
pub fn ids_key(path: &str) -> String {
    format!("ids {path}")
}

impl Reservation {
    /// Whether this is `stack`'s own claim of `what` (which the stack may take again).
    pub fn is_own(&self, stack: &str, what: &str) -> bool {
        self.stack.as_deref() == Some(stack) && self.what == what
    }
}

/// An unprivileged user who plans and starts containers (Annie: no root, perhaps subordinate ids).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HostUser {
    /// Login name, when the password database knows the uid.
    pub name: Option<String>,
    /// Real uid.
    pub uid: u32,
    /// Real gid.
    pub gid: u32,
    /// Why the setuid `newuidmap`/`newgidmap` cannot write multi-id maps for this user (missing,
    /// or not setuid root); `None` when both are ready.
    pub map_helpers_problem: Option<String>,
}

impl HostSnapshot {
    /// A typical laptop: hybrid cgroups like these build machines, no AppArmor, a home LAN on
    /// 192.168.1.0/24, and LXC's lxcbr0 already on 10.0.3.0/24. Used by tests and `--host-fixture`.
    pub fn laptop() -> Self {
        HostSnapshot {
            routes: vec![
                "192.168.1.0/24".parse().expect("literal"),
                "10.0.3.0/24".parse().expect("literal"),
            ],
            addresses: vec![
                "192.168.1.20/24".parse().expect("literal"),
                "10.0.3.1/24".parse().expect("literal"),
            ],
            dns: vec!["192.168.1.1".parse().expect("literal")],
            uplink_mtu: 1500,
            cgroup: CgroupLayout {
                mode: CgroupMode::Hybrid,
                v1_controllers: [
                    "blkio", "cpu", "cpuacct", "cpuset", "devices", "freezer", "memory", "pids",
                ]
                .map(String::from)
                .to_vec(),
                unified_controllers: vec!["hugetlb".into()],
                unified_mount: Some("/sys/fs/cgroup/unified".into()),
                nsdelegate: false,
            },
            kernel: KernelFeatures {
                apparmor: false,
                apparmor_stacking: false,
                landlock_abi: Some(4),
                seccomp_notify: true,
                userns: true,
                cgroupns: true,
                timens: true,
            },
            subuids: vec![IdRange {
                first: 100_000,
                count: 1_000_000,
            }],
            subgids: vec![IdRange {
                first: 100_000,
                count: 1_000_000,
            }],
            privileged: true,
            level: 0,
            user: None,
            reserved: Vec::new(),
        }
    }

    /// The laptop as Annie sees it: an unprivileged user (uid 1000) with 65,536 subordinate ids
    /// and working `newuidmap`/`newgidmap`.
    pub fn laptop_as_user() -> Self {
        let range = IdRange {
            first: 100_000,
            count: 65_536,
        };
        HostSnapshot {
            subuids: vec![range],
            subgids: vec![range],
            privileged: false,
            user: Some(HostUser {
                name: Some("annie".into()),
                uid: 1000,
                gid: 1000,
                map_helpers_problem: None,
            }),
            ..HostSnapshot::laptop()
        }
    }
}
