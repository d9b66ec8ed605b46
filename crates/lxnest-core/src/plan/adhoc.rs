//! The plan of a container that has no spec (`lxnest run` without `--spec`, `start` of a
//! command, the launcher's tests): a one-container spec on the built-in rootfs with loopback
//! networking, and lxnest as its runtime when it hosts containers, planned by the same per-topic
//! planners as a spec's containers. Only the machine's facts come from the caller: the level it
//! starts at, the cgroup layout, whether the kernel has Landlock, and the id map its allocation
//! registry reserved.

use crate::origin::Origin;
use crate::plan::error::PlanError;
use crate::plan::host::CgroupLayout;
use crate::plan::model::{IdMapPlan, LevelPlan, RootfsPlan};
use crate::plan::subnet::SubnetAllocator;
use crate::plan::{apparmor, caps, cgroup, devices, landlock, needs, network, seccomp, walk};
use crate::spec::model::{ContainerSpec, NetworkMode, Runtime};

/// What only the machine knows about a container without a spec.
#[derive(Debug, Clone)]
pub struct Facts {
    /// The level the container runs at (one below the launcher's own).
    pub depth: u32,
    /// The launcher's cgroup layout.
    pub cgroup: CgroupLayout,
    /// Whether the kernel has Landlock.
    pub landlock: bool,
    /// The container's id map (the launcher reserves host ids; `None`: no user namespace).
    pub idmap: Option<IdMapPlan>,
}

/// The spec of a container without one: `name` on the built-in rootfs, loopback networking,
/// lxnest as its runtime when it is a nesting host.
pub fn spec(name: &str, nesting: bool) -> ContainerSpec {
    let mut c = ContainerSpec {
        name: name.into(),
        runtime: nesting.then_some(Runtime::Lxnest),
        origin: Origin::builtin("run"),
        ..Default::default()
    };
    c.network.mode = Some(NetworkMode::Loopback);
    c
}

/// The plan of [`spec`]`(name, nesting)` running `command` (empty: the planner's default init).
pub fn level(
    name: &str,
    command: Vec<String>,
    nesting: bool,
    facts: Facts,
) -> Result<LevelPlan, PlanError> {
    let c = spec(name, nesting);
    let (own, subtree) = (needs::own(&c), needs::subtree(&c));
    let findings = |f: Vec<crate::plan::Finding>| PlanError::Rejected(f);
    let cgroup =
        cgroup::plan(&c, name, facts.depth, &own, &facts.cgroup, None).map_err(findings)?;
    // Loopback needs no subnet: the allocator is never asked.
    let mut no_subnets = SubnetAllocator::new(&[], &[], &[]);
    let network = network::container(
        &c,
        name,
        name,
        facts.depth,
        None,
        0,
        0,
        None,
        &mut no_subnets,
    )
    .map_err(|f| findings(vec![*f]))?;
    let apparmor = apparmor::plan(&c, name, &subtree)?;
    let capabilities = caps::for_container(&c, &subtree, None, &apparmor, facts.idmap.is_some());
    // The warnings of seccomp.lxc's text concern `generate`, which a container without a spec
    // never goes through.
    let (seccomp, _lxc_issues) = seccomp::own_policy(
        &mut seccomp::Base::load()?,
        &c,
        &own,
        &subtree,
        &capabilities,
    )?;
    // The defaults and what lxnest's own preset asks for, all of them known devices.
    let wanted: std::collections::BTreeSet<&str> = devices::DEFAULT
        .iter()
        .copied()
        .chain(subtree.devices.iter().map(String::as_str))
        .collect();
    let devices: Vec<_> = wanted.into_iter().filter_map(devices::lookup).collect();
    let mut init = walk::init(&c, name, facts.depth, &own);
    if !command.is_empty() {
        init.command = command;
    }
    Ok(LevelPlan {
        name: name.into(),
        path: name.into(),
        depth: facts.depth,
        parent: None,
        runtime: c.runtime,
        origin: c.origin.clone(),
        rootfs: RootfsPlan::Builtin,
        encrypt: None,
        init,
        apparmor,
        seccomp,
        cgroup,
        network,
        capabilities,
        landlock: landlock::plan(
            (!own.is_empty()).then_some("lxnest"),
            facts.landlock,
            &devices,
        ),
        devices,
        idmap: facts.idmap,
        mounts: Vec::new(),
        hooks: Default::default(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::host::{CgroupMode, HostSnapshot};

    fn facts(idmap: bool) -> Facts {
        Facts {
            depth: 1,
            cgroup: HostSnapshot::laptop().cgroup,
            landlock: true,
            idmap: idmap
                .then(|| crate::plan::idmap::map(100_000, 100_000, 65_536, 100_000, 100_000)),
        }
    }

    #[test]
    fn plain_and_nesting_plans_differ_where_they_should() {
        let p = level("c1", vec!["/bin/true".into()], false, facts(true)).unwrap();
        assert!(p.landlock.enabled && p.runtime.is_none() && !p.cgroup.delegate);
        assert!(!p.capabilities.iter().any(|c| c == "sys_admin"));
        assert!(p.seccomp.own.rules.iter().any(|r| r.syscall == "mount"));
        assert_eq!(p.init.command, ["/bin/true"]);
        assert_eq!(p.network.mode, NetworkMode::Loopback);
        let n = level("h1", Vec::new(), true, facts(true)).unwrap();
        assert!(!n.landlock.enabled && n.cgroup.delegate);
        assert!(n.capabilities.iter().any(|c| c == "sys_admin"));
        assert!(!n.seccomp.own.rules.iter().any(|r| r.syscall == "mount"));
        assert_eq!(n.init.command, ["lxnest", "init-nested"]);
        assert_eq!(n.cgroup.mode, CgroupMode::Hybrid);
    }

    #[test]
    fn the_profile_is_rendered_like_a_spec_containers() {
        // The launcher loads this text where the kernel has AppArmor: an empty one would load
        // nothing and the exec into the planned label would fail.
        let p = level("c1", Vec::new(), false, facts(true)).unwrap();
        assert!(
            p.apparmor.text.contains("profile lxnest-c1"),
            "{}",
            p.apparmor.text
        );
        let n = level("h1", Vec::new(), true, facts(true)).unwrap();
        assert!(n.apparmor.flags.iter().any(|f| f == "load_policy"));
        assert!(n.capabilities.iter().any(|c| c == "mac_admin"));
    }

    #[test]
    fn limits_are_the_level_one_defaults() {
        let p = level("c1", Vec::new(), false, facts(true)).unwrap();
        assert_eq!(p.cgroup.limits.pids, Some(cgroup::DEFAULT_PIDS));
        assert_eq!(p.cgroup.limits.memory, Some(cgroup::DEFAULT_MEMORY));
        let n = level("h1", Vec::new(), true, facts(true)).unwrap();
        assert_eq!(n.cgroup.limits.pids, Some(cgroup::DEFAULT_PIDS_NESTING));
    }

    #[test]
    fn the_same_container_in_a_spec_gets_the_same_policies() {
        // One source of truth: `lxnest run` and a one-container spec agree on every policy.
        let stack = crate::spec::model::Stack {
            name: "s".into(),
            source: "builtin:run".into(),
            containers: vec![spec("c1", true)],
        };
        let planned = crate::plan::plan(&stack, &HostSnapshot::laptop()).unwrap();
        let from_spec = &planned.containers[0];
        let adhoc = level("c1", Vec::new(), true, facts(true)).unwrap();
        assert_eq!(adhoc.capabilities, from_spec.capabilities);
        assert_eq!(adhoc.seccomp.own, from_spec.seccomp.own);
        assert_eq!(adhoc.apparmor.text, from_spec.apparmor.text);
        assert_eq!(adhoc.cgroup, from_spec.cgroup);
        assert_eq!(adhoc.devices, from_spec.devices);
        assert_eq!(adhoc.landlock, from_spec.landlock);
        assert_eq!(adhoc.init, from_spec.init);
    }
}
