//! A hand-built plan for one-shot containers (`lxnest run`) and for tests: the built-in rootfs,
//! lxnest's base seccomp policy, the default capabilities, a 65,536-id user namespace, loopback
//! networking and a Landlock domain (plain containers) or what a nested lxnest needs (nesting
//! hosts). The spec planner produces the same shapes for spec-driven containers.

use crate::origin::Origin;
use crate::plan::host::CgroupMode;
use crate::plan::model::*;
use crate::seccomp::builtin;
use std::collections::BTreeMap;

/// Ids given to a plain container.
pub const BLOCK: u32 = 65_536;

/// Capabilities a nested lxnest needs on top of the defaults (mounts, namespaces, netns setup,
/// map writing for its own children).
pub const NESTING_CAPS: &[&str] = &[
    "sys_admin",
    "net_admin",
    "sys_resource",
    "sys_ptrace",
    "dac_read_search",
];

/// Whether this process runs in a user namespace other than the initial one.
pub fn in_user_namespace() -> bool {
    std::fs::read_to_string("/proc/self/uid_map")
        .map(|m| m.split_whitespace().collect::<Vec<_>>() != ["0", "0", "4294967295"])
        .unwrap_or(false)
}

/// Root's subordinate range start in `file`, if it has one.
fn root_sub_id(file: &str) -> Option<u32> {
    std::fs::read_to_string(file).ok().and_then(|t| {
        t.lines().find_map(|l| {
            let mut f = l.split(':');
            (f.next() == Some("root"))
                .then(|| f.next().and_then(|v| v.parse().ok()))
                .flatten()
        })
    })
}

/// The id map of a container: nesting hosts get three blocks so their own children fit in the
/// second one. Root's /etc/subuid and /etc/subgid entries decide where the block starts; inside
/// a nesting host lxnest wrote them (the range its plan reserved for ad-hoc containers), and
/// without them a container in a user namespace takes the second block of ours.
pub fn idmap(nesting: bool) -> IdMapPlan {
    let count = if nesting { 3 * BLOCK } else { BLOCK };
    if let Some(map) = user_idmap(count) {
        return map;
    }
    let fallback = if in_user_namespace() { BLOCK } else { 100_000 };
    let uid = root_sub_id("/etc/subuid").unwrap_or(fallback);
    let gid = root_sub_id("/etc/subgid").unwrap_or(fallback);
    crate::plan::idmap::map(uid, gid, count, uid, gid)
}

/// The error of a failed map write, with why it failed when our own maps do not cover the
/// planned ids (a nesting host without a reserved range) and what to do about it.
pub fn explain_map_error(map: &IdMapPlan, err: std::io::Error) -> super::error::StepFailure {
    let own = |f: &str| std::fs::read_to_string(format!("/proc/self/{f}")).unwrap_or_default();
    let failure = super::error::StepFailure::from(err);
    match crate::plan::idreserve::unmapped(map, &own("uid_map"), &own("gid_map")) {
        // What the OS error alone does not say: which ids this user may not map.
        Some(why) => super::error::StepFailure {
            doing: Some(format!("write the id maps ({why})")),
            ..failure
        },
        None => failure,
    }
}

/// An unprivileged user's map, as the planner makes it (the user as root plus subordinate ids,
/// or the user alone); `None` for root.
fn user_idmap(count: u32) -> Option<IdMapPlan> {
    if nix::unistd::geteuid().is_root() {
        return None; // root maps its own way, without reading the whole host
    }
    let ids = crate::host::ids_of_this_user();
    let user = ids.user.as_ref()?;
    if let Some(why) = crate::plan::idmap::single_reason_for(user, &ids.subuids, &ids.subgids) {
        tracing::warn!(
            "single-id map ({why}): {}",
            crate::plan::idmap::SINGLE_LOSES
        );
        return Some(crate::plan::idmap::single(user));
    }
    let largest = |r: &[crate::plan::host::IdRange]| r.iter().copied().max_by_key(|r| r.count);
    let (u, g) = (largest(&ids.subuids)?, largest(&ids.subgids)?);
    // The user's ranges may hold fewer ids than the block: then the container gets what is there.
    let count = count
        .min(u.count.saturating_add(1))
        .min(g.count.saturating_add(1));
    Some(crate::plan::idmap::unprivileged(
        user, u.first, g.first, count,
    ))
}

/// lxnest's base seccomp policy, plus the no-nesting denials for a plain container.
pub fn seccomp(nesting: bool) -> SeccompPlan {
    let mut own = builtin::default_policy()
        .expect("policy/seccomp/default.seccomp is compiled in and tested");
    if !nesting {
        let extra = builtin::no_nesting_policy()
            .expect("policy/seccomp/no-nesting.seccomp is compiled in and tested");
        own.rules.extend(extra.rules);
    }
    SeccompPlan {
        own: std::sync::Arc::new(own),
        inherited_from: Vec::new(),
        allow_nesting: nesting,
        effective: BTreeMap::new(),
    }
}

/// Landlock as the planner gives it ([`crate::plan::landlock`]): a plain container gets the
/// policy (with its devices), a nesting host none (its runtime, lxnest, mounts).
pub fn landlock(nesting: bool, devices: &[DevicePlan]) -> LandlockPlan {
    crate::plan::landlock::plan(nesting.then_some("lxnest"), true, devices)
}

/// The device nodes every container gets.
fn devices() -> Vec<DevicePlan> {
    crate::plan::devices::DEFAULT
        .iter()
        .filter_map(|d| crate::plan::devices::lookup(d))
        .collect()
}

/// The level this process runs at: lxnest's marker `/run/lxnest/level` inside a container it
/// started, 0 on the host.
pub fn own_level() -> u32 {
    std::fs::read_to_string("/run/lxnest/level")
        .ok()
        .and_then(|t| t.trim().parse().ok())
        .unwrap_or(0)
}

/// A level-1 (or, inside a nesting host, next-level) container on the built-in rootfs.
pub fn level_plan(name: &str, command: Vec<String>, nesting: bool) -> LevelPlan {
    let depth = own_level() + 1;
    let mut caps: Vec<String> = crate::plan::caps::DEFAULT_KEEP
        .iter()
        .map(|s| s.to_string())
        .collect();
    if nesting {
        caps.extend(NESTING_CAPS.iter().map(|s| s.to_string()));
    }
    let mode = crate::cgroup::detect()
        .map(|l| l.mode)
        .unwrap_or(CgroupMode::Hybrid);
    let profile = format!("lxnest-{name}");
    LevelPlan {
        name: name.into(),
        path: name.into(),
        depth,
        parent: None,
        runtime: nesting.then_some(crate::spec::model::Runtime::Lxnest),
        origin: Origin::builtin("run"),
        rootfs: RootfsPlan::Builtin,
        encrypt: None,
        init: InitPlan {
            command,
            environment: BTreeMap::from([("LXNEST_LEVEL".to_string(), depth.to_string())]),
            hostname: name.into(),
            halt_signal: None,
        },
        apparmor: AppArmorPlan {
            profile: profile.clone(),
            namespace: None,
            label: profile,
            flags: Vec::new(),
            extra_rules: Vec::new(),
            text: String::new(),
            note: Some("hand-built plan: no profile rendered".into()),
        },
        seccomp: seccomp(nesting),
        cgroup: CgroupPlan {
            path: format!("lxnest/{name}"),
            mode,
            controllers: Vec::new(),
            // The planner's level-1 defaults (docs/launch.md, "Limits").
            limits: LimitPlan {
                memory: Some(if nesting {
                    crate::plan::cgroup::DEFAULT_MEMORY_NESTING
                } else {
                    crate::plan::cgroup::DEFAULT_MEMORY
                }),
                pids: Some(if nesting {
                    crate::plan::cgroup::DEFAULT_PIDS_NESTING
                } else {
                    crate::plan::cgroup::DEFAULT_PIDS
                }),
                cpu: None,
            },
            delegate: nesting,
            init_leaf: None,
            premount: if nesting {
                Premount::Namespaced
            } else {
                Premount::ReadOnly
            },
        },
        network: NetPlan {
            mode: crate::spec::model::NetworkMode::Loopback,
            parent_bridge: None,
            veth_host: None,
            interface: "eth0".into(),
            address: None,
            gateway: None,
            mtu: 1500,
            own_bridge: None,
            runtime_bridge: None,
            runtime_pool: None,
        },
        capabilities: caps,
        devices: devices(),
        idmap: Some(idmap(nesting)),
        mounts: Vec::new(),
        landlock: landlock(nesting, &devices()),
        hooks: Default::default(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_and_nesting_plans_differ_where_they_should() {
        let p = level_plan("c1", vec!["/bin/true".into()], false);
        assert!(p.landlock.enabled && p.runtime.is_none() && !p.cgroup.delegate);
        assert!(!p.capabilities.iter().any(|c| c == "sys_admin"));
        assert!(p.seccomp.own.rules.iter().any(|r| r.syscall == "mount"));
        let n = level_plan("h1", vec!["/bin/sh".into()], true);
        assert!(!n.landlock.enabled && n.cgroup.delegate);
        assert!(n.capabilities.iter().any(|c| c == "sys_admin"));
        assert!(!n.seccomp.own.rules.iter().any(|r| r.syscall == "mount"));
        assert_eq!(n.idmap.as_ref().map(|m| m.uid[0].count), Some(3 * BLOCK));
    }
}
