//! The juju-laptop stack end to end, as root: level 1 starts level 2 through `lxnest init-nested`;
//! each unit reaches its parent's bridge; subnets differ per level; level-2 cgroups sit under
//! level 1's delegated subtree and its limits cap them; level-2 processes carry both filters; the
//! host's links, routes and nftables rules are unchanged after stop. Also a three-level stack.
//! Traffic goes only to addresses inside the network namespaces the stack itself made.

mod support;
use support::*;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

/// The two stacks share the host's network state, which each test compares before and after.
static SERIAL: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// Read-only views of the host's network state (`ip` and `nft` only look).
fn host_network() -> Vec<String> {
    let mut out = Vec::new();
    for args in [&["-o", "link"][..], &["-o", "-4", "addr"], &["-4", "route"]] {
        let o = Command::new("ip").args(args).output().unwrap();
        let text = String::from_utf8_lossy(&o.stdout);
        out.extend(text.lines().map(|l| {
            l.split_whitespace()
                .filter(|w| !w.starts_with("qlen"))
                .collect::<Vec<_>>()
                .join(" ")
        }));
    }
    if let Ok(o) = Command::new("nft").args(["list", "ruleset"]).output() {
        out.push(String::from_utf8_lossy(&o.stdout).into_owned());
    }
    out
}

/// `lxnest ARGS` in the test's network namespace NS: the stacks' host bridges, veths and NAT
/// rules are made there, never in the host's, and go with the namespace.
fn lxnest_in(ns: &str, args: &[&str]) -> std::process::Output {
    Command::new("nsenter")
        .arg(format!("--net=/run/netns/{ns}"))
        .arg(env!("CARGO_BIN_EXE_lxnest"))
        .args(args)
        .output()
        .expect("nsenter")
}

struct Stack<'a> {
    ns: &'a str,
    state: &'a str,
    top: &'a str,
}

impl Drop for Stack<'_> {
    fn drop(&mut self) {
        let _ = lxnest_in(self.ns, &["destroy", "-P", self.state, "-n", self.top]);
    }
}

fn wait_for(ns: &str, state: &str, name: &str) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while !lxnest_in(ns, &["attach", "-P", state, "-n", name, "--", "true"])
        .status
        .success()
    {
        assert!(Instant::now() < deadline, "{name} did not come up");
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn attach(ns: &str, state: &str, name: &str, cmd: &str) -> String {
    ok(lxnest_in(
        ns,
        &[
            "attach", "-P", state, "-n", name, "--", "/bin/sh", "-c", cmd,
        ],
    ))
}

/// Host pids of the processes in a container's cgroup (pids hierarchy), found from its path.
fn procs_of(cgroup_path: &str) -> Vec<i32> {
    support::dirs_ending_with(Path::new("/sys/fs/cgroup/pids"), cgroup_path)
        .iter()
        .flat_map(|p| {
            let procs = std::fs::read_to_string(p.join("cgroup.procs")).unwrap_or_default();
            procs
                .lines()
                .filter_map(|l| l.parse::<i32>().ok())
                .collect::<Vec<_>>()
        })
        .collect()
}

/// The container's memory cgroup (v1 memory hierarchy, or cgroup2 on a pure-cgroup2 host); an
/// unreadable tree fails instead of passing for "removed" (support::dirs_ending_with).
fn memory_dir(cgroup_path: &str) -> Option<PathBuf> {
    let v1 = Path::new("/sys/fs/cgroup/memory");
    let root = if v1.is_dir() {
        v1
    } else {
        Path::new("/sys/fs/cgroup")
    };
    support::dirs_ending_with(root, cgroup_path)
        .into_iter()
        .next()
}

#[test]
fn root_juju_laptop_stack_end_to_end() {
    if !root() {
        return;
    }
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    // The stack's host side lives in a namespace of this test; the host's own network is only
    // compared before and after, to show nothing reached it.
    let netns = TestNetns::new(&format!("lxnest-nst{}-1", std::process::id()));
    let ns = netns.0.as_str();
    let before = host_network();
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().to_str().unwrap();
    let plan: serde_json::Value = serde_json::from_str(&ok(lxnest_in(
        ns,
        &["plan", "builtin:juju-laptop", "--output", "json"],
    )))
    .unwrap();
    {
        let _stack = Stack {
            ns,
            state,
            top: "juju-host",
        };
        ok(lxnest_in(
            ns,
            &["start", "-P", state, "--nested", "builtin:juju-laptop"],
        ));
        let containers = plan["containers"].as_array().unwrap();
        let host = containers
            .iter()
            .find(|c| c["path"] == "juju-host")
            .unwrap();
        let inner_gw = host["network"]["own_bridge"]["address"]
            .as_str()
            .unwrap()
            .split('/')
            .next()
            .unwrap()
            .to_string();
        let outer_net = host["network"]["address"].as_str().unwrap().to_string();
        for unit in ["juju-host/unit-1", "juju-host/unit-2", "juju-host/unit-3"] {
            wait_for(ns, state, unit);
            let planned = containers.iter().find(|c| c["path"] == unit).unwrap()["network"]
                ["address"]
                .as_str()
                .unwrap()
                .to_string();
            let addrs = attach(ns, state, unit, "cat /proc/net/fib_trie");
            assert!(
                addrs.contains(planned.split('/').next().unwrap()),
                "{unit} has its planned address {planned}"
            );
            assert!(
                !addrs.contains(outer_net.split('/').next().unwrap()),
                "level 2 does not sit on level 1's subnet"
            );
            attach(
                ns,
                state,
                unit,
                &format!("busybox ping -c 1 -W 3 {inner_gw} >/dev/null"),
            );
            // Both filters on the unit's own processes, seen from the host.
            let pids = procs_of(&format!(
                "lxnest/juju-host/{}",
                unit.rsplit('/').next().unwrap()
            ));
            assert!(!pids.is_empty(), "{unit} has processes in its cgroup");
            for pid in pids {
                let status =
                    std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
                assert!(
                    status.is_empty() || status.contains("Seccomp_filters:\t2"),
                    "{unit} pid {pid}: {status}"
                );
            }
        }
        // Level 1's limit caps level 2: unit cgroups are below juju-host's, which has the 4G limit.
        let l1 = memory_dir("lxnest/juju-host").expect("juju-host memory cgroup");
        let limit: u64 = std::fs::read_to_string(l1.join("memory.limit_in_bytes"))
            .unwrap()
            .trim()
            .parse()
            .unwrap();
        assert_eq!(limit, 4 << 30);
        let u1 = memory_dir("lxnest/juju-host/unit-1").expect("unit-1 memory cgroup");
        assert!(
            u1.starts_with(&l1),
            "{} under {}",
            u1.display(),
            l1.display()
        );
        ok(lxnest_in(ns, &["stop", "-P", state, "-n", "juju-host"]));
    }
    assert!(memory_dir("lxnest/juju-host").is_none(), "cgroups removed");
    assert_eq!(
        host_network(),
        before,
        "the host's links, addresses, routes and nft rules are as they were"
    );
}

#[test]
fn root_three_level_stack_stacks_three_filters() {
    if !root() {
        return;
    }
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    // The stack's host side lives in a namespace of this test; the host's own network is only
    // compared before and after, to show nothing reached it.
    let netns = TestNetns::new(&format!("lxnest-nst{}-2", std::process::id()));
    let ns = netns.0.as_str();
    let before = host_network();
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().to_str().unwrap();
    {
        let _stack = Stack {
            ns,
            state,
            top: "l1",
        };
        ok(lxnest_in(
            ns,
            &["start", "-P", state, "--nested", "builtin:three-levels"],
        ));
        wait_for(ns, state, "l1/l2/l3");
        let status = attach(ns, state, "l1/l2/l3", "cat /proc/1/status");
        assert!(status.contains("Seccomp_filters:\t3"), "{status}");
        ok(lxnest_in(ns, &["stop", "-P", state, "-n", "l1"]));
    }
    assert_eq!(host_network(), before);
}
