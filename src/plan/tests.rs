//! Planner tests on the example stacks and small hand-written ones, against the laptop host.

use crate::plan::host::HostSnapshot;
use crate::plan::model::Plan;
use crate::plan::subnet::overlaps;
use crate::plan::{plan, PlanError};
use crate::seccomp::Action;
use crate::spec::parse_str;

fn plan_text(text: &str) -> Result<Plan, PlanError> {
    let stack = parse_str(text, "t.yaml").expect("spec parses");
    plan(&stack, &HostSnapshot::laptop())
}

fn example(name: &str) -> Plan {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("nesting/examples")
        .join(name);
    let stack = crate::spec::load(&path).unwrap();
    plan(&stack, &HostSnapshot::laptop()).unwrap_or_else(|e| panic!("{name}: {e}"))
}

#[test]
fn juju_laptop_has_distinct_subnets_avoiding_the_laptop() {
    let p = example("juju-laptop.yaml");
    let host_bridge = p.host_bridge.clone().expect("level-1 bridge");
    let inner = p
        .get("juju-host")
        .unwrap()
        .network
        .own_bridge
        .clone()
        .expect("juju-host bridge");
    assert!(!overlaps(&host_bridge.subnet, &inner.subnet));
    for taken in ["192.168.1.0/24", "10.0.3.0/24", "172.17.0.0/16"] {
        let t = taken.parse().unwrap();
        assert!(
            !overlaps(&host_bridge.subnet, &t) && !overlaps(&inner.subnet, &t),
            "{taken}"
        );
    }
    assert!(!host_bridge.nat, "never NAT on the real host");
    assert!(inner.nat, "NAT inside juju-host's namespace");
    for unit in ["juju-host/unit-1", "juju-host/unit-2", "juju-host/unit-3"] {
        let u = p.get(unit).unwrap();
        assert!(
            inner.subnet.contains(&u.network.address.unwrap().addr()),
            "{unit}"
        );
        assert_eq!(u.network.gateway, Some(inner.address.addr()));
    }
    let addrs: std::collections::BTreeSet<_> = p
        .containers
        .iter()
        .filter_map(|c| c.network.address)
        .collect();
    assert_eq!(addrs.len(), 4, "every container has its own address");
}

#[test]
fn juju_laptop_cgroups_ids_and_caps_nest() {
    let p = example("juju-laptop.yaml");
    let host = p.get("juju-host").unwrap();
    let unit = p.get("juju-host/unit-1").unwrap();
    assert_eq!(host.cgroup.path, "lxnest/juju-host");
    assert_eq!(unit.cgroup.path, "lxnest/juju-host/unit-1");
    assert!(host.cgroup.delegate && !unit.cgroup.delegate);
    assert_eq!(unit.cgroup.limits.memory, Some(1 << 30));
    let (h, u) = (host.idmap.as_ref().unwrap(), unit.idmap.as_ref().unwrap());
    // Its own range, three units, and the range reserved for LXC's own containers.
    assert_eq!(
        h.host_uid.count,
        4 * 65536 + crate::plan::idreserve::RUNTIME_IDS
    );
    let r = h.runtime.expect("lxc gets a reserved range");
    assert!(
        p.children("juju-host")
            .filter_map(|k| k.idmap.as_ref())
            .all(|m| m.host_uid.first + m.host_uid.count <= h.host_uid.first + r.first),
        "the units' blocks lie before LXC's range"
    );
    assert!(u.host_uid.first >= h.host_uid.first + 65536);
    assert!(u.host_uid.first + u.host_uid.count <= h.host_uid.first + h.host_uid.count);
    assert_eq!(
        u.uid[0].outside,
        u.host_uid.first - h.host_uid.first,
        "child map is in the parent's ids"
    );
    assert!(unit
        .capabilities
        .iter()
        .all(|c| host.capabilities.contains(c)));
    assert!(
        host.capabilities.contains(&"sys_admin".to_string())
            && !unit.capabilities.contains(&"sys_admin".to_string())
    );
    // The nesting host loads its children's profiles into its own policy namespace, which the
    // kernel allows only with mac_admin in its (user-namespaced) capability set.
    let has = |c: &crate::plan::LevelPlan, cap: &str| c.capabilities.iter().any(|x| x == cap);
    assert!(host.apparmor.flags.iter().any(|f| f == "load_policy") && host.idmap.is_some());
    assert!(has(host, "mac_admin") && !has(unit, "mac_admin"));
    assert!(!has(host, "mac_override") && !has(host, "sys_module"));
}

#[test]
fn seccomp_is_least_privilege_per_level() {
    let p = example("juju-laptop.yaml");
    let host = p.get("juju-host").unwrap();
    let unit = p.get("juju-host/unit-1").unwrap();
    let decide = |c: &crate::plan::LevelPlan, s: &str| {
        crate::seccomp::decide::decide(&c.seccomp.own, s).action
    };
    assert_eq!(decide(host, "mount"), Action::Allow, "lxc needs mount");
    assert_ne!(decide(unit, "mount"), Action::Allow, "a leaf does not");
    assert_ne!(decide(host, "kexec_load"), Action::Allow);
    assert_ne!(
        decide(host, "keyctl"),
        Action::Allow,
        "lxc does not need keyctl"
    );
    assert_eq!(unit.seccomp.inherited_from, vec!["juju-host".to_string()]);
    let eff = &unit.seccomp.effective["kexec_load"];
    assert_ne!(eff.action, Action::Allow);
    assert!(host.seccomp.allow_nesting && !unit.seccomp.allow_nesting);
}

#[test]
fn docker_below_opens_keyctl_in_every_filter_above_it_only() {
    let p = example("docker-in-lxc.yaml");
    let decide = |path: &str, s: &str| {
        crate::seccomp::decide::decide(&p.get(path).unwrap().seccomp.own, s).action
    };
    assert_eq!(decide("build-host", "keyctl"), Action::Allow);
    assert_eq!(decide("build-host/docker-ci", "keyctl"), Action::Allow);
    assert_ne!(
        decide("build-host/docker-ci", "ptrace"),
        Action::Allow,
        "Zoe's rule"
    );
    let devs: Vec<_> = p
        .get("build-host")
        .unwrap()
        .devices
        .iter()
        .map(|d| d.path.clone())
        .collect();
    assert!(
        devs.contains(&"/dev/fuse".to_string()),
        "passed through the parent"
    );
}

#[test]
fn a_level_that_denies_what_its_runtime_needs_is_rejected_naming_the_rule() {
    let spec = "containers:\n  - name: juju-host\n    runtime: lxc\n    seccomp:\n      rules: [\"unshare errno 1\"]\n    children:\n      - name: unit-1\n";
    let err = plan_text(spec).unwrap_err();
    let msg = err.to_string();
    assert!(
        msg.contains("juju-host") && msg.contains("level 1") && msg.contains("unshare"),
        "{msg}"
    );
    assert!(msg.contains("t.yaml:5"), "names the rule's line: {msg}");
    assert!(msg.contains("lxc"), "{msg}");
}

#[test]
fn an_ancestor_that_denies_a_descendant_runtime_need_is_rejected() {
    let spec = "containers:\n  - name: l1\n    runtime: lxnest\n    seccomp:\n      rules: [\"keyctl errno 38\"]\n    children:\n      - name: d\n        runtime: docker\n";
    let msg = plan_text(spec).unwrap_err().to_string();
    assert!(
        msg.contains("l1/d") && msg.contains("level 2") && msg.contains("keyctl"),
        "{msg}"
    );
    assert!(
        msg.contains("level-1 filter of l1") && msg.contains("t.yaml:5"),
        "{msg}"
    );
}

#[test]
fn an_inner_allow_of_what_a_parent_denies_is_rejected() {
    let spec = "containers:\n  - name: p\n    runtime: lxnest\n    seccomp:\n      rules: [\"acct errno 1\"]\n    children:\n      - name: c\n        seccomp:\n          rules: [\"acct allow\"]\n";
    let msg = plan_text(spec).unwrap_err().to_string();
    assert!(
        msg.contains("cannot be looser") && msg.contains("p/c"),
        "{msg}"
    );
}

#[test]
fn limits_above_the_parent_and_subnet_collisions_are_rejected() {
    let spec = "containers:\n  - name: p\n    runtime: lxnest\n    limits: {memory: 1G}\n    network: {subnet: 192.168.1.0/24}\n    children:\n      - name: c\n        limits: {memory: 2G}\n";
    let msg = plan_text(spec).unwrap_err().to_string();
    assert!(msg.contains("2G is above the parent's 1G"), "{msg}");
    assert!(msg.contains("192.168.1.0/24 collides"), "{msg}");
}

#[test]
fn third_level_is_planned_with_a_confinement_warning() {
    let p = example("three-levels.yaml");
    assert_eq!(p.get("l1/l2/l3").unwrap().depth, 3);
    assert!(
        p.warnings.iter().any(|w| w.contains("l1/l2/l3")),
        "{:?}",
        p.warnings
    );
    let subnets: Vec<_> = [p.host_bridge.as_ref().unwrap().subnet]
        .into_iter()
        .chain(
            p.containers
                .iter()
                .filter_map(|c| c.network.own_bridge.as_ref().map(|b| b.subnet)),
        )
        .collect();
    assert_eq!(subnets.len(), 3);
    assert!(
        !overlaps(&subnets[0], &subnets[1])
            && !overlaps(&subnets[1], &subnets[2])
            && !overlaps(&subnets[0], &subnets[2])
    );
}

#[test]
fn planning_is_deterministic() {
    assert_eq!(example("juju-laptop.yaml"), example("juju-laptop.yaml"));
}

#[test]
fn landlock_only_for_leaves() {
    let p = example("juju-laptop.yaml");
    assert!(!p.get("juju-host").unwrap().landlock.enabled);
    assert!(p.get("juju-host/unit-1").unwrap().landlock.enabled);
}

#[test]
fn encrypted_root_is_planned_and_a_bad_wish_names_the_container() {
    let ok = plan_text("containers:\n  - name: vault\n    rootfs: dir:/srv/vault\n    encrypt: {method: fscrypt, key: stdin}\n").unwrap();
    let e = ok
        .get("vault")
        .unwrap()
        .encrypt
        .as_ref()
        .expect("encrypt planned");
    assert_eq!(e.dir, "/srv/vault");
    let msg = plan_text("containers:\n  - name: vault\n    encrypt: {method: fscrypt}\n")
        .unwrap_err()
        .to_string();
    assert!(
        msg.contains("vault") && msg.contains("t.yaml:2") && msg.contains("fix"),
        "{msg}"
    );
}

fn plan_as_user(text: &str, host: &HostSnapshot) -> Result<Plan, PlanError> {
    let stack = parse_str(text, "annie.yaml").expect("spec parses");
    plan(&stack, host)
}

const ANNIE_NESTS: &str =
    "containers:\n  - name: box\n    runtime: lxnest\n    children:\n      - name: inner\n";

#[test]
fn an_unprivileged_nesting_host_gives_its_children_ids_inside_its_own_range() {
    let mut host = HostSnapshot::laptop_as_user();
    host.subuids[0].count = 3 * 65536;
    host.subgids[0].count = 3 * 65536;
    let p = plan_as_user(ANNIE_NESTS, &host).unwrap_or_else(|e| panic!("{e}"));
    let (b, i) = (p.get("box").unwrap(), p.get("box/inner").unwrap());
    let (bm, im) = (b.idmap.as_ref().unwrap(), i.idmap.as_ref().unwrap());
    // Annie is root of the box; its other ids are her subordinate ones.
    assert_eq!((bm.uid[0].outside, bm.uid[0].count), (1000, 1));
    assert_eq!((bm.uid[1].inside, bm.uid[1].outside), (1, 100_000));
    assert_eq!(bm.host_uid.count, 2 * 65536);
    // The child's block lies inside the box's ids 1.., seen from the host inside Annie's range.
    assert!(im.uid[0].outside >= 65536 && im.uid[0].outside + im.uid[0].count <= bm.host_uid.count);
    let host_first = im.host_uid.first;
    assert_eq!(host_first, 100_000 + im.uid[0].outside - 1);
    assert!(host_first + im.host_uid.count <= 100_000 + 3 * 65536);
    // No host bridge for an unprivileged user; the box still bridges its own child.
    assert!(p.host_bridge.is_none());
    assert_eq!(b.network.mode, "loopback");
    assert!(b.network.own_bridge.is_some());
    assert_eq!(i.network.mode, "bridge");
}

#[test]
fn an_unprivileged_user_gets_a_clear_finding_for_what_needs_root() {
    let host = HostSnapshot::laptop_as_user();
    let bridge = "containers:\n  - name: b\n    network: {mode: bridge}\n";
    let e = plan_as_user(bridge, &host).unwrap_err().to_string();
    assert!(
        e.contains("annie.yaml") && e.contains("mode: loopback"),
        "{e}"
    );
    let privileged = "containers:\n  - name: p\n    idmap: {privileged: true}\n";
    let e = plan_as_user(privileged, &host).unwrap_err().to_string();
    assert!(e.contains("needs root"), "{e}");
    // 65,536 subordinate ids cannot hold a nesting host (its own range plus its child's).
    let e = plan_as_user(ANNIE_NESTS, &host).unwrap_err().to_string();
    assert!(e.contains("subordinate ids"), "{e}");
}

#[test]
fn without_subordinate_ids_the_user_alone_is_mapped_and_the_plan_says_what_is_lost() {
    let mut host = HostSnapshot::laptop_as_user();
    host.subuids.clear();
    let p = plan_as_user("containers:\n  - name: a\n", &host).unwrap_or_else(|e| panic!("{e}"));
    let m = p.get("a").unwrap().idmap.clone().unwrap();
    assert_eq!(m.uid.len(), 1);
    assert_eq!(
        (m.uid[0].inside, m.uid[0].outside, m.uid[0].count),
        (0, 1000, 1)
    );
    let w = p.warnings.join("\n");
    assert!(
        w.contains("single-id map") && w.contains("/etc/subuid") && w.contains("chown"),
        "{w}"
    );
    let e = plan_as_user(ANNIE_NESTS, &host).unwrap_err().to_string();
    assert!(e.contains("only your own id"), "{e}");
}

#[test]
fn systemd_halts_on_sigrtmin3_unless_the_spec_says_otherwise() {
    let text = "name: s\ncontainers:\n  - name: a\n    init: systemd\n  - name: b\n    init: systemd\n    halt_signal: SIGPWR\n  - name: c\n";
    let stack = crate::spec::load::parse_str(text, "s.yaml").expect("parses");
    let p = crate::plan::plan(&stack, &HostSnapshot::laptop()).expect("plans");
    let halt = |n: &str| p.get(n).and_then(|c| c.init.halt_signal.clone());
    assert_eq!(halt("a").as_deref(), Some("SIGRTMIN+3"));
    assert_eq!(halt("b").as_deref(), Some("SIGPWR"));
    assert_eq!(halt("c"), None);
    let bad = "name: s\ncontainers:\n  - name: a\n    halt_signal: SIGNOPE\n";
    let err = crate::spec::load::parse_str(bad, "s.yaml").expect_err("refused");
    assert!(
        err.to_string().contains("unknown halt_signal `SIGNOPE`"),
        "{err}"
    );
}
