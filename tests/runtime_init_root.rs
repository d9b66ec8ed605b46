//! Runtimes and inits that depend on what lxnest grants along the path (issue 14), as root:
//! systemd in a `runtime: lxc` host boots to `running` with no failed unit, starts lxc-net on
//! the planned subnet and halts on `lxnest stop` (SIGRTMIN+3) without being killed; a docker
//! child of an lxc host keeps docker's capabilities and gets its daemon.json; an lxnest host
//! without children runs ad-hoc containers from its reserved ids, and elsewhere the failed map
//! write says why. Nothing is left behind.

mod support;
use support::stack::*;
use support::*;

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

#[test]
fn systemd_in_an_lxc_host_boots_to_running_without_failed_units_starts_lxc_net_and_halts_on_stop() {
    if !root_with("/lib/systemd/systemd", "systemd")
        || !root_with("/usr/lib/systemd/system/lxc-net.service", "lxc")
    {
        return;
    }
    let name = unique("rtsd");
    let mut stack = Stack::new(
        &format!(
            "name: {name}\ncontainers:\n  - name: {name}\n    runtime: lxc\n    init: systemd\n    network: {{ mode: loopback }}\n"
        ),
    );
    stack.guard(&[&name]);
    let mut fg = Command::new(env!("CARGO_BIN_EXE_lxnest"))
        .args(["start", "-F", "-P", stack.st(), stack.spec_str()])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("lxnest start -F");
    // `--wait` returns when systemd finished booting (the event, not a guess); attach fails only
    // until the container exists.
    let deadline = Instant::now() + Duration::from_secs(120);
    let state_answer = loop {
        let o = stack.attach(&name, &["systemctl", "is-system-running", "--wait"]);
        let text = String::from_utf8_lossy(&o.stdout).trim().to_string();
        // `offline`: systemd's bus is not up yet, `--wait` cannot wait on it.
        if !text.is_empty() && text != "offline" {
            break text;
        }
        assert!(Instant::now() < deadline, "systemd never answered");
        assert!(
            fg.try_wait().expect("wait").is_none(),
            "the container exited"
        );
        std::thread::sleep(Duration::from_millis(100));
    };
    let failed = ok(stack.attach(&name, &["systemctl", "--failed", "--no-legend"]));
    assert_eq!(state_answer, "running", "failed units: {failed}");
    assert_eq!(failed.trim(), "", "no failed unit");
    let info = ok(lxnest(&["info", "-P", stack.st(), "-n", &name]));
    assert!(info.contains("systemd:     running"), "{info}");
    // The juju machine: systemd starts LXC's own lxc-net unit, which reads what lxnest wrote.
    let address = stack.plan_of(&name)["network"]["runtime_bridge"]["address"]
        .as_str()
        .expect("lxcbr0 planned")
        .to_string();
    let lxcbr0 = ok(stack.attach(
        &name,
        &[
            "/bin/sh",
            "-c",
            "systemctl start lxc-net && ip -4 -o addr show lxcbr0",
        ],
    ));
    assert!(lxcbr0.contains(&format!("inet {address}")), "{lxcbr0}");

    // The monitor's own default grace before SIGKILL is 10 s: a clean halt is well within it.
    let grace = 10;
    let t = Instant::now();
    ok(lxnest(&[
        "stop",
        "-P",
        stack.st(),
        "-n",
        &name,
        "-t",
        &grace.to_string(),
    ]));
    let status = fg.wait().expect("start -F ends");
    let took = t.elapsed();
    assert!(
        took < Duration::from_secs(grace),
        "stop took {took:?}: systemd was killed, not halted"
    );
    assert_eq!(status.code(), Some(0), "systemd halted cleanly: {status:?}");
    stack.check_nothing_left();
}

#[test]
fn an_lxnest_host_without_children_runs_adhoc_containers_and_others_say_why_not() {
    if !root() {
        return;
    }
    let (adhoc, docker) = (unique("rtadh"), unique("rtdkr"));
    let mut stack = Stack::new(
        &format!(
            "name: {adhoc}\ncontainers:\n  - name: {adhoc}\n    runtime: lxnest\n    network: {{ mode: loopback }}\n  - name: {docker}\n    runtime: docker\n    network: {{ mode: loopback }}\n"
        ),
    );
    stack.start(&[], &[&adhoc, &docker]);
    let subuid = ok(stack.attach(&adhoc, &["cat", "/etc/subuid"]));
    let first = subuid
        .trim()
        .strip_prefix("root:")
        .and_then(|r| r.split(':').next())
        .expect("root's range")
        .to_string();
    // The ad-hoc container's map as the nesting host sees it (its own /proc/self/uid_map shows
    // the inner one-to-one namespace lxnest adds for the locked mounts).
    let inner = ok(stack.attach(
        &adhoc,
        &[
            "/bin/sh",
            "-c",
            "lxnest run -n adin -- sleep 30 >/dev/null 2>&1 & \
         for i in $(seq 300); do \
           pid=$(lxnest info -n adin 2>/dev/null | sed -n 's/^pid: *//p'); \
           [ -n \"$pid\" ] && break; sleep 0.1; done; \
         cat /proc/$pid/uid_map; lxnest stop -n adin -t 1 >/dev/null",
        ],
    ));
    let outside = inner.split_whitespace().nth(1).expect("uid_map line");
    assert_eq!(
        outside, first,
        "the ad-hoc container takes the reserved ids"
    );

    // A docker host reserves nothing: the failed map write says why and what to do.
    let o = stack.attach(&docker, &["lxnest", "run", "--", "true"]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(!o.status.success());
    assert!(
        err.contains("are not mapped in this user namespace") && err.contains("runtime: lxnest"),
        "{err}"
    );
    stack.stop_and_check();
}

#[test]
fn a_docker_child_of_an_lxc_host_keeps_the_capabilities_docker_needs() {
    if !root() {
        return;
    }
    let host = unique("rtdil");
    let mut stack = Stack::new(
        &format!(
            "name: {host}\ncontainers:\n  - name: {host}\n    runtime: lxc\n    network: {{ mode: loopback }}\n    children:\n      - name: ci\n        runtime: docker\n        network: {{ mode: loopback }}\n"
        ),
    );
    stack.start(&["--nested"], &[&host]);
    let child = format!("{host}/ci");
    // The child comes up after its parent's init started it.
    let status = stack.attach_when_up(&child, &["cat", "/proc/self/status"]);
    let bounding = status
        .lines()
        .find_map(|l| l.strip_prefix("CapBnd:"))
        .and_then(|h| u64::from_str_radix(h.trim(), 16).ok())
        .expect("CapBnd");
    // The lxc preset alone has no sys_ptrace; docker's has, so its lxc parent keeps it too.
    for (cap, bit) in [("sys_ptrace", 19), ("sys_admin", 21), ("net_admin", 12)] {
        assert!(
            bounding & (1 << bit) != 0,
            "{cap} missing at level 2: {bounding:x}"
        );
    }
    // Level 2 got its runtime's configuration too, written by the lxnest inside level 1.
    let daemon = ok(stack.attach(&child, &["cat", "/etc/docker/daemon.json"]));
    let daemon: serde_json::Value = serde_json::from_str(&daemon).expect("daemon.json");
    // Level 2's plan as the lxnest inside level 1 started it.
    let info = ok(stack.attach(&host, &["lxnest", "info", "-n", "ci", "--output", "json"]));
    let info: serde_json::Value = serde_json::from_str(&info).expect("info JSON");
    let docker0 = &info["plan"]["network"]["runtime_bridge"]["address"];
    assert!(docker0.is_string(), "docker0 planned: {info}");
    assert_eq!(&daemon["bip"], docker0);
    stack.stop_and_check();
}
