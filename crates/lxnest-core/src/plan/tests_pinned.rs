//! Planner behaviour the mutation run (scripts/mutants.sh, docs/testing.md) found unchecked:
//! each test here fails with the mutation it names applied by hand.

use crate::plan::host::HostSnapshot;
use crate::plan::model::Plan;
use crate::plan::subnet::overlaps;
use crate::plan::{plan, PlanError};
use crate::spec::parse_str;

fn plan_text(text: &str) -> Result<Plan, PlanError> {
    let stack = parse_str(text, "t.yaml").expect("spec parses");
    plan(&stack, &HostSnapshot::laptop())
}

/// The defaults docs/launch.md ("Limits") promises: `pids: 1024`, `memory: 4G` at level 1, and
/// `pids: 4096`, `memory: 8G` for a nesting host. Stated as numbers here, not through the
/// constants, so a wrong constant fails (the mutation run found `4 << 30` -> `4 >> 30` missed).
#[test]
fn default_limits_are_the_documented_ones() {
    let p = plan_text("containers:\n  - name: a\n  - name: h\n    runtime: lxnest\n").unwrap();
    let a = &p.get("a").unwrap().cgroup.limits;
    assert_eq!(
        (a.memory, a.pids),
        (Some(4 * 1024 * 1024 * 1024), Some(1024))
    );
    let h = &p.get("h").unwrap().cgroup.limits;
    assert_eq!(
        (h.memory, h.pids),
        (Some(8 * 1024 * 1024 * 1024), Some(4096))
    );
}

/// Each rootfs form plans as itself; `builtin` is not a path (a guard that took every
/// non-`dir:` value for a tarball made `builtin` the tarball `ltin`).
#[test]
fn rootfs_forms_plan_as_themselves() {
    use crate::plan::model::RootfsPlan;
    let p = plan_text(
        "containers:\n  - name: b\n    rootfs: builtin\n  - name: d\n    rootfs: dir:/srv/d\n  - name: t\n    rootfs: tar:/srv/t.tar\n  - name: n\n",
    )
    .unwrap();
    let r = |n: &str| p.get(n).unwrap().rootfs.clone();
    assert_eq!(r("b"), RootfsPlan::Builtin);
    assert_eq!(r("d"), RootfsPlan::Dir("/srv/d".into()));
    assert_eq!(r("t"), RootfsPlan::Tar("/srv/t.tar".into()));
    assert_eq!(r("n"), RootfsPlan::Builtin);
}

/// A stack's own earlier subnet is kept on a new plan only while the spec does not now fix it
/// for one of its containers: the user's `network.subnet` wins and the host bridge moves.
#[test]
fn an_own_earlier_subnet_yields_to_a_subnet_the_spec_now_fixes() {
    use crate::plan::host::{Reservation, HOST_BRIDGE};
    let net: ipnet::Ipv4Net = "10.123.0.0/24".parse().unwrap();
    let mut host = HostSnapshot::laptop();
    host.reserved.push(Reservation {
        holder: "stack t, container a (-P /run/lxnest, monitor pid 1)".into(),
        stack: Some("t".into()),
        what: HOST_BRIDGE.into(),
        subnet: Some(net),
        uids: None,
        gids: None,
    });
    let text = "name: t\ncontainers:\n  - name: a\n  - name: h\n    runtime: lxnest\n    network: {subnet: 10.123.0.0/24}\n    children:\n      - name: c\n";
    let stack = parse_str(text, "t.yaml").expect("spec parses");
    let p = plan(&stack, &host).unwrap();
    let own = p
        .get("h")
        .unwrap()
        .network
        .own_bridge
        .clone()
        .expect("h's bridge");
    assert_eq!(own.subnet, net, "the fixed subnet");
    let top = p.host_bridge.clone().expect("host bridge");
    assert!(
        !overlaps(&top.subnet, &net),
        "host bridge {} kept the old subnet",
        top.subnet
    );
}

/// A container left without Landlock says which of its workloads mount (the mutation run found
/// the names dropped from that reason missed).
#[test]
fn landlock_off_names_what_mounts() {
    let p = plan_text("containers:\n  - name: d\n    runtime: docker\n  - name: plain\n").unwrap();
    let d = &p.get("d").unwrap().landlock;
    let reason = d.reason.clone().unwrap_or_default();
    assert!(!d.enabled, "{reason}");
    assert!(reason.contains("runs docker"), "{reason}");
    assert!(p.get("plain").unwrap().landlock.enabled);
}

/// Each stack's host bridge has a name of its own that the kernel takes (IFNAMSIZ: 15 bytes),
/// `lxnbr-` and six hex digits of the stack name's hash (the mutation run found a constant
/// name for every stack missed).
#[test]
fn host_bridge_names_differ_per_stack_and_fit_the_kernel() {
    use crate::plan::network::host_bridge_name;
    let (a, b) = (host_bridge_name("a"), host_bridge_name("b"));
    assert_ne!(a, b);
    for n in [&a, &b] {
        let hex = n.strip_prefix("lxnbr-").unwrap_or_else(|| panic!("{n}"));
        assert!(
            hex.len() == 6 && hex.chars().all(|c| c.is_ascii_hexdigit()),
            "{n}"
        );
    }
    let p = plan_text("name: s\ncontainers:\n  - name: a\n").unwrap();
    assert_eq!(p.host_bridge.expect("bridge").name, host_bridge_name("s"));
}

/// The hooks a spec names reach the plan under their LXC names, and no others (the mutation run
/// found the hooks map replaceable unnoticed).
#[test]
fn hooks_reach_the_plan_as_named() {
    let p = plan_text(
        "containers:\n  - name: h\n    hooks:\n      pre-start: [/bin/true]\n      post-stop: [/bin/echo done, /bin/true]\n",
    )
    .unwrap();
    let hooks = &p.get("h").unwrap().hooks;
    use crate::spec::model::{HookKind, Hooks};
    let want = Hooks(
        [
            (HookKind::PreStart, vec!["/bin/true".to_string()]),
            (
                HookKind::PostStop,
                vec!["/bin/echo done".to_string(), "/bin/true".to_string()],
            ),
        ]
        .into_iter()
        .collect(),
    );
    assert_eq!(hooks, &want);
}

/// `init: systemd` runs /sbin/init; otherwise lxnest's own init (the mutation run found the
/// comparison invertible unnoticed).
#[test]
fn the_init_command_follows_the_init_key() {
    let p = plan_text(
        "containers:\n  - name: s\n    runtime: lxc\n    init: systemd\n  - name: l\n    runtime: lxnest\n",
    )
    .unwrap();
    assert_eq!(p.get("s").unwrap().init.command, ["/sbin/init"]);
    assert_eq!(p.get("l").unwrap().init.command, ["lxnest", "init-nested"]);
}

/// A child may have exactly its parent's limits; only more is refused.
#[test]
fn a_child_may_equal_its_parents_limits() {
    let p = plan_text(
        "containers:\n  - name: p\n    runtime: lxnest\n    limits: {memory: 1G, pids: 100}\n    children:\n      - name: c\n        limits: {memory: 1G, pids: 100}\n",
    );
    let p = p.unwrap_or_else(|e| panic!("{e}"));
    let c = &p.get("p/c").unwrap().cgroup.limits;
    assert_eq!((c.memory, c.pids), (Some(1 << 30), Some(100)));
}

/// The no-nesting denials are for containers that host nothing: a leaf gets them, a docker host
/// without listed children (docker makes its own containers) gets none (the mutation run found
/// `&&` -> `||` in that condition missed).
#[test]
fn no_nesting_rules_only_for_containers_that_host_nothing() {
    let p = plan_text("containers:\n  - name: d\n    runtime: docker\n  - name: leaf\n").unwrap();
    let from_no_nesting = |path: &str| {
        p.get(path)
            .unwrap()
            .seccomp
            .own
            .rules
            .iter()
            .filter(|r| r.origin.file.contains("no-nesting"))
            .count()
    };
    assert!(from_no_nesting("leaf") > 0, "a leaf gets them");
    assert_eq!(from_no_nesting("d"), 0, "a docker host gets none");
}

/// A stack planned again takes its own earlier id block back, found by its key among the
/// stack's other claims (the mutation run found `&&` -> `||` in `Reservation::is_own` missed:
/// the stack's host-bridge claim, listed first, then stood for its ids).
#[test]
fn a_stack_takes_its_own_id_block_back_among_its_other_claims() {
    use crate::plan::host::{ids_key, IdRange, Reservation, HOST_BRIDGE};
    let text = "name: t\ncontainers:\n  - name: a\n";
    let first = plan_text(text).unwrap();
    let m = first.get("a").unwrap().idmap.clone().expect("a map");
    // The old block: not the lowest free one, so a fresh pick would differ.
    let old = |r: IdRange| IdRange {
        first: r.first + 4 * r.count,
        count: r.count,
    };
    let claim = |what: String| Reservation {
        holder: "stack t, container a (-P /run/lxnest, monitor pid 1)".into(),
        stack: Some("t".into()),
        what,
        subnet: None,
        uids: None,
        gids: None,
    };
    let mut host = HostSnapshot::laptop();
    host.reserved.push(Reservation {
        subnet: first.host_bridge.as_ref().map(|b| b.subnet),
        ..claim(HOST_BRIDGE.into())
    });
    host.reserved.push(Reservation {
        uids: Some(old(m.host_uid)),
        gids: Some(old(m.host_gid)),
        ..claim(ids_key("a"))
    });
    let stack = parse_str(text, "t.yaml").expect("spec parses");
    let again = plan(&stack, &host).unwrap();
    let m2 = again.get("a").unwrap().idmap.clone().expect("a map");
    assert_eq!(m2.host_uid, old(m.host_uid));
}

/// Sizes in messages are whole units only: 1536M is not "1G" (the mutation run found `&&` ->
/// `||` in the unit choice missed).
#[test]
fn sizes_print_in_whole_units_only() {
    use crate::plan::cgroup::human;
    assert_eq!(human(4 << 30), "4G");
    assert_eq!(human(1536 << 20), "1536M");
    assert_eq!(human(3 << 10), "3K");
    assert_eq!(human(1000), "1000");
}

/// A runtime's bridge and address pool are claimed under keys of their own per container, so
/// two nesting hosts of one stack never share a pinned subnet (the mutation run found constant
/// keys missed).
#[test]
fn runtime_claim_keys_are_per_container_and_kind() {
    use crate::plan::host::{bridge_key, runtime_bridge_key, runtime_pool_key};
    let keys = [
        bridge_key("a"),
        bridge_key("b"),
        runtime_bridge_key("a"),
        runtime_bridge_key("b"),
        runtime_pool_key("a"),
        runtime_pool_key("b"),
    ];
    for (i, k) in keys.iter().enumerate() {
        assert!(!k.is_empty());
        assert!(keys[i + 1..].iter().all(|o| o != k), "{keys:?}");
    }
}

/// A nesting host that loads its children's AppArmor profiles keeps mac_admin, unless its spec
/// drops it (the mutation run found the drop check invertible unnoticed).
#[test]
fn a_dropped_mac_admin_stays_dropped() {
    let text = |drop: &str| {
        format!("containers:\n  - name: h\n    runtime: lxc\n    capabilities: {{drop: [{drop}]}}\n    children:\n      - name: c\n")
    };
    let caps = |drop: &str| {
        plan_text(&text(drop))
            .unwrap()
            .get("h")
            .unwrap()
            .capabilities
            .clone()
    };
    assert!(
        caps("sys_time").iter().any(|c| c == "mac_admin"),
        "{:?}",
        caps("sys_time")
    );
    assert!(!caps("mac_admin").iter().any(|c| c == "mac_admin"));
}
