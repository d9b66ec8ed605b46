//! Root tests of the allocation registry (docs/registry.md): many nesting stacks started at once
//! get pairwise disjoint subnets at every level and disjoint host id ranges, released at stop; a
//! dead monitor's reservations are recovered, not leaked. Root's own id range and unprivileged
//! users: tests/registry_ids_root.rs.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

mod support;
use support::TestNetns;
mod registry_support;
use registry_support::*;

/// `lxnest ARGS` in the test's network namespace.
fn in_ns(ns: &TestNetns, args: &[&str]) -> Output {
    Command::new("nsenter")
        .arg(format!("--net=/run/netns/{}", ns.0))
        .arg(bin())
        .args(args)
        .output()
        .expect("nsenter")
}

/// A nesting stack: level-1 host `NAME` with two level-2 children that sleep.
fn write_spec(dir: &Path, stack: &str, host: &str) -> PathBuf {
    let p = dir.join(format!("{stack}.yaml"));
    let kid = |k: &str| format!("      - name: {k}\n        command: [\"/bin/sleep\", \"1000\"]\n");
    std::fs::write(
        &p,
        format!(
            "name: {stack}\ncontainers:\n  - name: {host}\n    runtime: lxnest\n    children:\n{}{}",
            kid("k1"),
            kid("k2")
        ),
    )
    .expect("write spec");
    p
}

/// Starts `(stack, host)` pairs at once, each `lxnest start --nested` its own process.
fn start_all(ns: &TestNetns, dir: &Path, state: &Path, which: &[(String, String)]) {
    let st = state.to_str().expect("utf-8").to_string();
    let handles: Vec<_> = which
        .iter()
        .map(|(stack, host)| {
            let spec = write_spec(dir, stack, host);
            let (st, ns_name) = (st.clone(), ns.0.clone());
            std::thread::spawn(move || {
                let ns = std::mem::ManuallyDrop::new(TestNetns(ns_name));
                in_ns(
                    &ns,
                    &[
                        "start",
                        "--nested",
                        "-P",
                        &st,
                        spec.to_str().expect("utf-8"),
                    ],
                )
            })
        })
        .collect();
    for (h, (_, host)) in handles.into_iter().zip(which) {
        let o = h.join().expect("thread");
        assert!(o.status.success(), "start {host}: {}", text(&o));
    }
}

fn stop_all(state: &Path, names: &[String]) {
    let handles: Vec<_> = names
        .iter()
        .map(|n| {
            let (n, st) = (n.clone(), state.to_path_buf());
            std::thread::spawn(move || {
                Command::new(bin())
                    .args(["stop", "-t", "5", "-n", &n, "-P"])
                    .arg(&st)
                    .output()
                    .expect("stop")
            })
        })
        .collect();
    for (h, n) in handles.into_iter().zip(names) {
        let o = h.join().expect("thread");
        assert!(o.status.success(), "stop {n}: {}", text(&o));
    }
}

/// `(network, prefix)` of every IPv4 address on a bridge, from `ip -j -4 addr` in `netns_args`.
fn bridge_nets(netns_args: &[&str]) -> Vec<(String, ipnet::Ipv4Net)> {
    let o = Command::new(netns_args[0])
        .args(&netns_args[1..])
        .args(["ip", "-j", "-4", "addr"])
        .output()
        .expect("ip addr");
    assert!(o.status.success(), "{}", text(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).expect("ip json");
    let mut out = Vec::new();
    for l in v.as_array().expect("array") {
        let name = l["ifname"].as_str().unwrap_or_default().to_string();
        if !name.starts_with("lxnbr") {
            continue;
        }
        for a in l["addr_info"].as_array().into_iter().flatten() {
            let net = format!(
                "{}/{}",
                a["local"].as_str().unwrap_or_default(),
                a["prefixlen"]
            );
            let net: ipnet::Ipv4Net = net.parse().expect("address");
            out.push((name.clone(), net.trunc()));
        }
    }
    out
}

/// Destinations of the main table's routes, asserting none is there twice.
fn routes_unique(netns_args: &[&str], what: &str) {
    let o = Command::new(netns_args[0])
        .args(&netns_args[1..])
        .args(["ip", "-j", "-4", "route"])
        .output()
        .expect("ip route");
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).expect("ip json");
    let mut seen = BTreeMap::new();
    for r in v.as_array().expect("array") {
        let dst = r["dst"].as_str().unwrap_or_default().to_string();
        *seen.entry(dst).or_insert(0) += 1;
    }
    let dup: Vec<_> = seen.iter().filter(|(_, n)| **n > 1).collect();
    assert!(dup.is_empty(), "{what}: duplicate routes {dup:?}");
}

/// Every assertion of issue 15 on the running hosts.
fn check_disjoint(ns: &TestNetns, state: &Path, hosts: &[String]) {
    let netns = ["ip", "netns", "exec", ns.0.as_str()];
    let mut nets = bridge_nets(&netns);
    routes_unique(&netns, "test netns");
    assert_eq!(
        nets.len(),
        hosts.len(),
        "one host bridge per stack: {nets:?}"
    );
    let mut trees = Vec::new();
    for h in hosts {
        let pid = init_pid(state, h);
        let p = pid.to_string();
        let inside = ["nsenter", "-t", p.as_str(), "-n"];
        let inner = bridge_nets(&inside);
        assert_eq!(inner.len(), 1, "{h} has its own bridge: {inner:?}");
        routes_unique(&inside, h);
        nets.extend(inner.into_iter().map(|(n, net)| (format!("{h}:{n}"), net)));
        let top = host_uids(pid);
        for k in level_two(h, &["k1", "k2"]) {
            let kid = host_uids(k);
            assert!(
                kid.0 >= top.0 && kid.0 + kid.1 <= top.0 + top.1,
                "{h}'s child inside its block"
            );
        }
        trees.push((h.clone(), top));
    }
    for (i, a) in nets.iter().enumerate() {
        for b in &nets[i + 1..] {
            assert!(
                !lxnest::plan::subnet::overlaps(&a.1, &b.1),
                "subnets overlap: {a:?} {b:?}"
            );
        }
    }
    eprintln!("subnets: {nets:?}\nhost uid blocks: {trees:?}");
    let users = users_subuids();
    for (i, a) in trees.iter().enumerate() {
        for b in &trees[i + 1..] {
            assert!(!overlap(a.1, b.1), "uid ranges overlap: {a:?} {b:?}");
        }
        for u in &users {
            assert!(!overlap(a.1, u.1), "{a:?} overlaps {u:?} of /etc/subuid");
        }
    }
}

#[test]
fn registry_root_concurrent_nesting_stacks_get_disjoint_subnets_and_ids() {
    if !support::root_with("/usr/bin/nsenter", "nsenter (util-linux)") {
        return;
    }
    let tag = format!("rg{}x", std::process::id() % 100_000);
    let ns = TestNetns::new(&format!("lxnest-{tag}"));
    let dir = support::traversable_tempdir();
    let state = dir.path().join("state");
    let pair = |i: usize| (format!("{tag}s{i}"), format!("{tag}h{i}"));
    let first: Vec<(String, String)> = (0..8).map(pair).collect();
    let later: Vec<(String, String)> = (8..12).map(pair).collect();
    let _guard = Stacks {
        state: state.clone(),
        names: first.iter().chain(&later).map(|p| p.1.clone()).collect(),
    };
    start_all(&ns, dir.path(), &state, &first);
    let hosts: Vec<String> = first.iter().map(|p| p.1.clone()).collect();
    check_disjoint(&ns, &state, &hosts);
    assert_eq!(
        registry_entries(&tag).len(),
        8,
        "one registry entry per tree"
    );

    // Stop half, start four more at once: the freed subnets and ids may be reused, never shared.
    stop_all(&state, &hosts[..4]);
    assert_eq!(registry_entries(&tag).len(), 4, "released at stop");
    start_all(&ns, dir.path(), &state, &later);
    let running: Vec<String> = hosts[4..]
        .iter()
        .cloned()
        .chain(later.iter().map(|p| p.1.clone()))
        .collect();
    check_disjoint(&ns, &state, &running);

    stop_all(&state, &running);
    assert_eq!(
        registry_entries(&tag),
        Vec::<String>::new(),
        "registry empty of our stacks"
    );
    support::assert_no_state_left(&state);
    let links = Command::new("ip")
        .args(["-n", &ns.0, "-o", "link"])
        .output()
        .expect("ip");
    assert_eq!(
        String::from_utf8_lossy(&links.stdout).lines().count(),
        1,
        "only lo is left in the test's namespace"
    );
    for h in &running {
        assert!(
            pids_in_cgroup(&format!("/lxnest/{h}")).is_empty(),
            "{h} left processes"
        );
    }
}

/// Point 3: a monitor killed with SIGKILL leaves its container running, and the reservations stay
/// with it; once the container is gone too, the next start finds the entry stale and frees it; the
/// stack starts again after `destroy` and is released at stop.
#[test]
fn registry_root_a_dead_monitors_reservations_are_recovered_not_leaked() {
    if !support::root() {
        return;
    }
    let tag = format!("rd{}x", std::process::id() % 100_000);
    let dir = support::traversable_tempdir();
    let state = dir.path().join("state");
    let spec = dir.path().join("d.yaml");
    let host = format!("{tag}h");
    std::fs::write(
        &spec,
        format!("name: {tag}s\ncontainers:\n  - name: {host}\n    network: {{mode: loopback}}\n    command: [\"/bin/sleep\", \"1000\"]\n"),
    )
    .expect("spec");
    let _stacks = Stacks {
        state: state.clone(),
        names: vec![host.clone()],
    };
    let start = || {
        let o = Command::new(bin())
            .args(["start", "-P"])
            .arg(&state)
            .arg(&spec)
            .output()
            .expect("start");
        assert!(o.status.success(), "{}", text(&o));
    };
    start();
    let st: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(state.join(&host).join("state.json")).expect("state"),
    )
    .expect("json");
    let (monitor, init) = (
        st["monitor_pid"].as_i64().expect("monitor") as i32,
        st["pid"].as_i64().expect("pid") as i32,
    );
    let first = host_uids(init);
    let kill = |pid: i32| {
        let _ = nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(pid),
            nix::sys::signal::Signal::SIGKILL,
        );
    };
    kill(monitor);
    std::thread::sleep(Duration::from_millis(300));
    // Another start takes the lock and prunes; the orphaned container still holds its ids.
    let other = dir.path().join("o.yaml");
    std::fs::write(
        &other,
        format!("name: {tag}o\ncontainers:\n  - name: {tag}o\n    network: {{mode: loopback}}\n    command: [\"/bin/true\"]\n"),
    )
    .expect("spec");
    let o = Command::new(bin())
        .args(["start", "-F", "-P"])
        .arg(&state)
        .arg(&other)
        .output()
        .expect("start -F");
    assert!(o.status.success(), "{}", text(&o));
    assert_eq!(
        registry_entries(&tag),
        vec![format!("{tag}s")],
        "kept while its init runs"
    );
    // The container dies as well: its entry is stale now, and the next start frees it.
    kill(init);
    let deadline = Instant::now() + Duration::from_secs(10);
    while std::path::Path::new(&format!("/proc/{init}")).exists() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    let o = Command::new(bin())
        .args(["start", "-F", "-P"])
        .arg(&state)
        .arg(&other)
        .output()
        .expect("start -F");
    assert!(o.status.success(), "{}", text(&o));
    assert!(registry_entries(&tag).is_empty(), "stale entry recovered");
    // destroy cleans the stale state; the stack starts again with a block of the same size.
    let o = Command::new(bin())
        .args(["destroy", "-n", &host, "-P"])
        .arg(&state)
        .output()
        .expect("destroy");
    assert!(o.status.success(), "{}", text(&o));
    start();
    let again = host_uids(init_pid(&state, &host));
    let o = Command::new(bin())
        .args(["stop", "-t", "2", "-n", &host, "-P"])
        .arg(&state)
        .output()
        .expect("stop");
    assert!(o.status.success(), "{}", text(&o));
    assert!(registry_entries(&tag).is_empty(), "released at stop");
    assert_eq!(again.1, first.1);
}

/// Point 3: a stack's second level-1 container, started later on its own, takes the stack's own
/// host bridge subnet back (the bridge exists and routes it), so both sit on one subnet.
#[test]
fn registry_root_a_stack_started_in_two_steps_keeps_its_host_bridge_subnet() {
    if !support::root_with("/usr/bin/nsenter", "nsenter (util-linux)") {
        return;
    }
    let tag = format!("rp{}x", std::process::id() % 100_000);
    let ns = TestNetns::new(&format!("lxnest-{tag}"));
    let dir = support::traversable_tempdir();
    let state = dir.path().join("state");
    let spec = dir.path().join("p.yaml");
    let (a, b) = (format!("{tag}a"), format!("{tag}b"));
    let kid = |n: &str| format!("  - name: {n}\n    command: [\"/bin/sleep\", \"1000\"]\n");
    std::fs::write(
        &spec,
        format!("name: {tag}p\ncontainers:\n{}{}", kid(&a), kid(&b)),
    )
    .expect("spec");
    let _guard = Stacks {
        state: state.clone(),
        names: vec![a.clone(), b.clone()],
    };
    let st = state.to_str().expect("utf-8");
    let sp = spec.to_str().expect("utf-8");
    for n in [&a, &b] {
        let o = in_ns(&ns, &["start", "-n", n, "-P", st, sp]);
        assert!(o.status.success(), "start {n}: {}", text(&o));
    }
    let netns = ["ip", "netns", "exec", ns.0.as_str()];
    let bridges = bridge_nets(&netns);
    assert_eq!(
        bridges.len(),
        1,
        "one host bridge for the stack: {bridges:?}"
    );
    routes_unique(&netns, "test netns");
    for n in [&a, &b] {
        let pid = init_pid(&state, n).to_string();
        let o = Command::new("nsenter")
            .args(["-t", &pid, "-n", "ip", "-j", "-4", "addr", "show", "eth0"])
            .output()
            .expect("ip");
        let v: serde_json::Value = serde_json::from_slice(&o.stdout).expect("json");
        let local: std::net::Ipv4Addr = v[0]["addr_info"][0]["local"]
            .as_str()
            .expect("address")
            .parse()
            .expect("ipv4");
        assert!(
            bridges[0].1.contains(&local),
            "{n} at {local}, bridge {:?}",
            bridges[0]
        );
    }
    stop_all(&state, &[a, b]);
    assert!(registry_entries(&tag).is_empty(), "released at stop");
}
