//! Root test of a whole stack: `lxnest start --nested` starts a nesting host at level 1 whose
//! `lxnest init-nested` starts a level-2 container from the handed-over plan, with a bridge, a
//! veth and an address inside the level-1 network namespace (no traffic leaves it).

use lxnest::launch::defaults;
use lxnest::origin::Origin;
use lxnest::plan::model::{BridgePlan, IdMapLine, NetPlan, Plan};
use std::process::Command;

mod support;
use support::TestNetns;

fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_lxnest")
}

fn stack(child_script: &str) -> Plan {
    let mut host =
        defaults::level_plan("nest-host", vec!["/bin/false".into()], true).expect("ad hoc plan");
    host.network.own_bridge = Some(BridgePlan {
        name: "lxnbr-test".into(),
        subnet: "10.213.7.0/24".parse().expect("literal"),
        address: "10.213.7.1/24".parse().expect("literal"),
        mtu: 1500,
        nat: true,
        origin: Origin::builtin("test"),
    });
    let mut kid = defaults::level_plan(
        "kid",
        vec!["/bin/sh".into(), "-c".into(), child_script.into()],
        false,
    )
    .expect("ad hoc plan");
    kid.path = "nest-host/kid".into();
    kid.parent = Some("nest-host".into());
    kid.depth = 2;
    kid.cgroup.path = "lxnest/nest-host/kid".into();
    // The child's ids are the second block of the host's three.
    if let Some(m) = kid.idmap.as_mut() {
        m.uid = vec![IdMapLine {
            inside: 0,
            outside: defaults::BLOCK,
            count: defaults::BLOCK,
        }];
        m.gid = m.uid.clone();
    }
    kid.network = NetPlan {
        mode: lxnest::spec::model::NetworkMode::Bridge,
        parent_bridge: Some("lxnbr-test".into()),
        veth_host: Some("vkid-test".into()),
        interface: "eth0".into(),
        address: Some("10.213.7.2/24".parse().expect("literal")),
        gateway: Some("10.213.7.1".parse().expect("literal")),
        mtu: 1500,
        own_bridge: None,
        ..Default::default()
    };
    Plan {
        stack: "nest".into(),
        source: "<test>".into(),
        base_level: 0,
        host_bridge: None,
        containers: vec![host, kid],
        warnings: Vec::new(),
        reserved: Vec::new(),
    }
}

/// A foreground `start --nested -F`: on drop (an assertion failed first) the stack is stopped
/// and the start reaped.
struct ForegroundStack {
    child: Option<std::process::Child>,
    state: std::path::PathBuf,
    name: &'static str,
}

impl Drop for ForegroundStack {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = Command::new(bin())
                .args(["stop", "-t", "1", "-n", self.name, "-P"])
                .arg(&self.state)
                .output();
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// A detached stack started in a test network namespace: stopped on drop, also after a failed
/// assertion.
struct DetachedStack<'a> {
    netns: &'a str,
    state: &'a str,
    name: &'a str,
}

impl Drop for DetachedStack<'_> {
    fn drop(&mut self) {
        let _ = Command::new("nsenter")
            .arg(format!("--net=/run/netns/{}", self.netns))
            .arg(bin())
            .args(["stop", "-t", "1", "-n", self.name, "-P", self.state])
            .output();
    }
}

#[test]
fn start_nested_root_runs_level_two_from_the_handed_over_plan() {
    let dir = tempfile::tempdir().expect("tempdir");
    let script = r#"
        echo "level2 host=$(hostname)"
        echo "uidmap=$(tr -s ' ' < /proc/self/uid_map | sed 's/^ //')"
        echo "addr=$(ip -4 -o addr show eth0 | tr -s ' ' | cut -d' ' -f4)"
        echo "route=$(ip route show default | cut -d' ' -f1-3)"
        busybox ping -c1 -W3 10.213.7.1 >/dev/null 2>&1; echo "ping=$?"
        sleep 100000
        exit 0
    "#;
    let plan = stack(script);
    let pf = dir.path().join("stack.json");
    std::fs::write(&pf, serde_json::to_string(&plan).expect("json")).expect("write");
    let state = dir.path().join("state");
    let child = Command::new(bin())
        .args([
            "start",
            "--nested",
            "-F",
            "-P",
            state.to_str().expect("utf-8"),
            pf.to_str().expect("utf-8"),
        ])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("spawn");
    // Stops the stack and reaps the foreground start if an assertion fails before the end.
    let mut guard = ForegroundStack {
        child: Some(child),
        state: state.clone(),
        name: "nest-host",
    };
    // Seen from the host, the level-2 init sits in <our cgroup>/lxnest/nest-host/kid: its host
    // created lxnest/nest-host, and it created `kid` relative to its cgroup namespace root. Its
    // `sleep` runs until the test has seen it and ends it (no race with a fixed sleep).
    let mut placed = Vec::new();
    let mut sleeper = None;
    support::wait_until(|| {
        for (pid, comm) in support::procs_in_cgroup(|l| l.ends_with("/lxnest/nest-host/kid")) {
            if comm == "sleep" {
                let status = std::fs::read_to_string(format!("/proc/{pid}/status"));
                placed.push(status.unwrap_or_default());
                sleeper = Some(pid);
            }
        }
        sleeper.is_some()
    });
    let pid = sleeper.expect("level-2 `sleep` found in <own>/lxnest/nest-host/kid");
    // The nesting host's first host uid, read while the stack runs: the plan's, unless another
    // container held that block when it started and the allocation registry gave it a free one
    // (docs/registry.md).
    let nest_base = std::fs::read_to_string(state.join("nest-host/state.json"))
        .ok()
        .and_then(|t| serde_json::from_str::<serde_json::Value>(&t).ok())
        .and_then(|v| v["pid"].as_i64())
        .and_then(|pid| std::fs::read_to_string(format!("/proc/{pid}/uid_map")).ok())
        .and_then(|m| m.split_whitespace().nth(1)?.parse::<u32>().ok());
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(pid),
        nix::sys::signal::Signal::SIGTERM,
    )
    .expect("end the level-2 sleep");
    let child = guard.child.take().expect("child");
    let o = child.wait_with_output().expect("wait");
    let out = format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    println!("{out}");
    let get = |k: &str| {
        out.lines()
            .find_map(|l| l.strip_prefix(&format!("{k}=")))
            .unwrap_or("")
            .to_string()
    };
    assert_eq!(
        o.status.code(),
        Some(0),
        "the level-2 exit code comes back through init-nested: {out}"
    );
    assert!(
        !placed.is_empty(),
        "level-2 init found in <own>/lxnest/nest-host/kid"
    );
    assert!(out.contains("level2 host=kid"), "{out}");
    // Inside, its user namespace maps its ids one to one onto the first one (see launch::lock);
    // on the host, its root is the nesting host's id BLOCK, i.e. host id base + BLOCK.
    assert_eq!(get("uidmap"), format!("0 0 {}", defaults::BLOCK), "{out}");
    let base = nest_base.unwrap_or(defaults::idmap(true).uid[0].outside);
    let host_uid = placed[0]
        .lines()
        .find_map(|l| l.strip_prefix("Uid:"))
        .and_then(|u| u.split_whitespace().next())
        .and_then(|u| u.parse::<u32>().ok());
    assert_eq!(host_uid, Some(base + defaults::BLOCK), "{}", placed[0]);
    assert_eq!(get("addr"), "10.213.7.2/24", "{out}");
    assert_eq!(get("route"), "default via 10.213.7.1", "{out}");
    assert_eq!(
        get("ping"),
        "0",
        "the child reaches its host's bridge: {out}"
    );
    assert!(
        !std::path::Path::new("/sys/class/net/lxnbr-test").exists(),
        "bridge lives in the level-1 netns only"
    );
    support::assert_no_state_left(&state);
}

#[test]
fn start_nested_root_plans_a_yaml_spec_and_brings_up_three_levels() {
    let ns = TestNetns::new(&format!("lxnest-n{}", std::process::id()));
    let dir = tempfile::tempdir().expect("tempdir");
    let spec = dir.path().join("two.yaml");
    std::fs::write(
        &spec,
        r#"name: two
containers:
  - name: top
    runtime: lxnest
    children:
      - name: mid
        runtime: lxnest
        children:
          - name: leaf
            command: ["/bin/sh", "-c", "echo leaf=$(hostname) level=$(cat /run/lxnest/level) filters=$(grep Seccomp_filters /proc/self/status | cut -f2); ip -4 -o addr show eth0 | grep -q inet && echo has-addr; exit 4"]
"#,
    )
    .expect("write spec");
    let state = dir.path().join("state");
    let o = ns.start_nested(&state, &spec);
    let out = format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    assert_eq!(o.status.code(), Some(4), "{out}");
    // Three levels, each under its own filter and every ancestor's.
    let host_filters = std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|st| {
            st.lines().find_map(|l| {
                l.strip_prefix("Seccomp_filters:")
                    .map(|v| v.trim().parse::<u32>().unwrap_or(0))
            })
        })
        .unwrap_or(0);
    assert!(
        out.contains(&format!("leaf=leaf level=3 filters={}", host_filters + 3)),
        "{out}"
    );
    assert!(out.contains("has-addr"), "{out}");
    let links = String::from_utf8_lossy(
        &Command::new("ip")
            .args(["-n", &ns.0, "-o", "link"])
            .output()
            .expect("ip")
            .stdout,
    )
    .to_string();
    assert_eq!(links.lines().count(), 1, "only lo is left: {links}");
    support::assert_no_state_left(&state);
}

#[test]
fn run_nested_root_inner_run_knows_its_level() {
    let dir = tempfile::tempdir().expect("tempdir");
    let o = Command::new(bin())
        .args([
            "run",
            "-P",
            dir.path().to_str().expect("utf-8"),
            "-n",
            "lvl-host",
            "--nested",
            "--",
        ])
        .args(["lxnest", "run", "-n", "lvl-kid", "--", "/bin/sh", "-c"])
        .arg("echo level=$(cat /run/lxnest/level) env=$LXNEST_LEVEL; exit 9")
        .output()
        .expect("spawn");
    let out = format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    assert_eq!(
        o.status.code(),
        Some(9),
        "exit code through two levels of `run`: {out}"
    );
    assert!(out.contains("level=2 env=2"), "{out}");
}

#[test]
fn start_nested_root_detached_stack_stops_cleanly() {
    let ns = TestNetns::new(&format!("lxnest-s{}", std::process::id()));
    let dir = tempfile::tempdir().expect("tempdir");
    let spec = dir.path().join("sleepy.yaml");
    std::fs::write(
        &spec,
        "name: sleepy\ncontainers:\n  - name: s1\n    runtime: lxnest\n    children:\n      - name: s2\n        command: [\"/bin/sleep\", \"1000\"]\n",
    )
    .expect("write spec");
    let state = dir.path().join("state");
    let st = state.to_str().expect("utf-8");
    let netns = format!("--net=/run/netns/{}", ns.0);
    let run = |args: &[&str]| {
        Command::new("nsenter")
            .arg(&netns)
            .arg(bin())
            .args(args)
            .output()
            .expect("nsenter")
    };
    let _stack = DetachedStack {
        netns: &ns.0,
        state: st,
        name: "s1",
    };
    let o = run(&["start", "--nested", "-P", st, spec.to_str().expect("utf-8")]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    // The level-2 init runs, in s1's delegated subtree, seen from the host.
    let found = support::wait_until(|| {
        !support::procs_in_cgroup(|l| l.ends_with("/lxnest/s1/s2")).is_empty()
    });
    assert!(found, "level-2 container running");
    // init-nested passes SIGTERM on at once: the stop ends long before the 60 s grace after
    // which a SIGKILL would end it instead (a bound on a hang, not on speed).
    let t = std::time::Instant::now();
    let o = run(&["stop", "-n", "s1", "-P", st, "-t", "60"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(
        t.elapsed() < std::time::Duration::from_secs(45),
        "init-nested stops its children on SIGTERM, without waiting for the grace period"
    );
    assert!(!state.join("s1").exists());
    let still = std::fs::read_dir("/proc")
        .expect("proc")
        .flatten()
        .any(|e| {
            std::fs::read_to_string(e.path().join("cgroup"))
                .is_ok_and(|cg| cg.lines().any(|l| l.contains("/lxnest/s1")))
        });
    assert!(!still, "nothing left in the stack's cgroups");
    let links = String::from_utf8_lossy(
        &Command::new("ip")
            .args(["-n", &ns.0, "-o", "link"])
            .output()
            .expect("ip")
            .stdout,
    )
    .to_string();
    assert_eq!(links.lines().count(), 1, "only lo is left: {links}");
}
