//! Runtimes and inits that depend on what lxnest grants along the path (issue 14), as root:
//! systemd in a `runtime: lxc` host boots to `running` with no failed unit, starts lxc-net on
//! the planned subnet and halts on `lxnest stop` (SIGRTMIN+3) without being killed; a docker
//! child of an lxc host keeps docker's capabilities and gets its daemon.json; an lxnest host
//! without children runs ad-hoc containers from its reserved ids, and elsewhere the failed map
//! write says why. Nothing is left behind.

mod runtime_support;
mod support;
use runtime_support::*;
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
    let dir = traversable_tempdir();
    let state = dir.path().join("state");
    let st = state.to_str().expect("utf-8").to_string();
    let name = unique("rtsd");
    let spec = write_spec(
        dir.path(),
        &format!(
            "name: {name}\ncontainers:\n  - name: {name}\n    runtime: lxc\n    init: systemd\n    network: {{ mode: loopback }}\n"
        ),
    );
    let mut fg = Command::new(env!("CARGO_BIN_EXE_lxnest"))
        .args(["start", "-F", "-P", &st])
        .arg(&spec)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("lxnest start -F");
    let _guard = scopeguard(&st, &[&name]);
    // `--wait` returns when systemd finished booting (the event, not a guess); attach fails only
    // until the container exists.
    let deadline = Instant::now() + Duration::from_secs(120);
    let state_answer = loop {
        let o = lxnest(&[
            "attach",
            "-P",
            &st,
            "-n",
            &name,
            "--",
            "systemctl",
            "is-system-running",
            "--wait",
        ]);
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
    let failed = ok(lxnest(&[
        "attach",
        "-P",
        &st,
        "-n",
        &name,
        "--",
        "systemctl",
        "--failed",
        "--no-legend",
    ]));
    assert_eq!(state_answer, "running", "failed units: {failed}");
    assert_eq!(failed.trim(), "", "no failed unit");
    let info = ok(lxnest(&["info", "-P", &st, "-n", &name]));
    assert!(info.contains("systemd:     running"), "{info}");
    // The juju machine: systemd starts LXC's own lxc-net unit, which reads what lxnest wrote.
    let address = started_plan(&st, &name)["network"]["runtime_bridge"]["address"]
        .as_str()
        .expect("lxcbr0 planned")
        .to_string();
    let lxcbr0 = ok(lxnest(&[
        "attach",
        "-P",
        &st,
        "-n",
        &name,
        "--",
        "/bin/sh",
        "-c",
        "systemctl start lxc-net && ip -4 -o addr show lxcbr0",
    ]));
    assert!(lxcbr0.contains(&format!("inet {address}")), "{lxcbr0}");

    // The monitor's own default grace before SIGKILL is 10 s: a clean halt is well within it.
    let grace = 10;
    let t = Instant::now();
    ok(lxnest(&[
        "stop",
        "-P",
        &st,
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
    assert_no_state_left(&state);
    assert!(cgroup_gone(&name));
}

#[test]
fn an_lxnest_host_without_children_runs_adhoc_containers_and_others_say_why_not() {
    if !root() {
        return;
    }
    let dir = traversable_tempdir();
    let state = dir.path().join("state");
    let st = state.to_str().expect("utf-8").to_string();
    let (adhoc, docker) = (unique("rtadh"), unique("rtdkr"));
    let spec = write_spec(
        dir.path(),
        &format!(
            "name: {adhoc}\ncontainers:\n  - name: {adhoc}\n    runtime: lxnest\n    network: {{ mode: loopback }}\n  - name: {docker}\n    runtime: docker\n    network: {{ mode: loopback }}\n"
        ),
    );
    ok(lxnest(&["start", "-P", &st, spec.to_str().expect("utf-8")]));
    let _guard = scopeguard(&st, &[&adhoc, &docker]);
    let subuid = ok(lxnest(&[
        "attach",
        "-P",
        &st,
        "-n",
        &adhoc,
        "--",
        "cat",
        "/etc/subuid",
    ]));
    let first = subuid
        .trim()
        .strip_prefix("root:")
        .and_then(|r| r.split(':').next())
        .expect("root's range")
        .to_string();
    // The ad-hoc container's map as the nesting host sees it (its own /proc/self/uid_map shows
    // the inner one-to-one namespace lxnest adds for the locked mounts).
    let inner = ok(lxnest(&[
        "attach",
        "-P",
        &st,
        "-n",
        &adhoc,
        "--",
        "/bin/sh",
        "-c",
        "lxnest run -n adin -- sleep 30 >/dev/null 2>&1 & \
         for i in $(seq 300); do \
           pid=$(lxnest info -n adin 2>/dev/null | sed -n 's/^pid: *//p'); \
           [ -n \"$pid\" ] && break; sleep 0.1; done; \
         cat /proc/$pid/uid_map; lxnest stop -n adin -t 1 >/dev/null",
    ]));
    let outside = inner.split_whitespace().nth(1).expect("uid_map line");
    assert_eq!(
        outside, first,
        "the ad-hoc container takes the reserved ids"
    );

    // A docker host reserves nothing: the failed map write says why and what to do.
    let o = lxnest(&[
        "attach", "-P", &st, "-n", &docker, "--", "lxnest", "run", "--", "true",
    ]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(!o.status.success());
    assert!(
        err.contains("are not mapped in this user namespace") && err.contains("runtime: lxnest"),
        "{err}"
    );
    for n in [&adhoc, &docker] {
        ok(lxnest(&["stop", "-P", &st, "-n", n]));
    }
    assert_no_state_left(&state);
    assert!(cgroup_gone(&adhoc) && cgroup_gone(&docker));
}

#[test]
fn a_docker_child_of_an_lxc_host_keeps_the_capabilities_docker_needs() {
    if !root() {
        return;
    }
    let dir = traversable_tempdir();
    let state = dir.path().join("state");
    let st = state.to_str().expect("utf-8").to_string();
    let host = unique("rtdil");
    let spec = write_spec(
        dir.path(),
        &format!(
            "name: {host}\ncontainers:\n  - name: {host}\n    runtime: lxc\n    network: {{ mode: loopback }}\n    children:\n      - name: ci\n        runtime: docker\n        network: {{ mode: loopback }}\n"
        ),
    );
    ok(lxnest(&[
        "start",
        "--nested",
        "-P",
        &st,
        spec.to_str().expect("utf-8"),
    ]));
    let _guard = scopeguard(&st, &[&host]);
    let child = format!("{host}/ci");
    // The child comes up after its parent's init started it.
    let deadline = Instant::now() + Duration::from_secs(30);
    let status = loop {
        let o = lxnest(&[
            "attach",
            "-P",
            &st,
            "-n",
            &child,
            "--",
            "cat",
            "/proc/self/status",
        ]);
        if o.status.success() {
            break String::from_utf8_lossy(&o.stdout).into_owned();
        }
        assert!(Instant::now() < deadline, "{child} did not come up");
        std::thread::sleep(Duration::from_millis(100));
    };
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
    let daemon = ok(lxnest(&[
        "attach",
        "-P",
        &st,
        "-n",
        &child,
        "--",
        "cat",
        "/etc/docker/daemon.json",
    ]));
    let daemon: serde_json::Value = serde_json::from_str(&daemon).expect("daemon.json");
    // Level 2's plan as the lxnest inside level 1 started it.
    let info = ok(lxnest(&[
        "attach", "-P", &st, "-n", &host, "--", "lxnest", "info", "-n", "ci", "--output", "json",
    ]));
    let info: serde_json::Value = serde_json::from_str(&info).expect("info JSON");
    let docker0 = &info["plan"]["network"]["runtime_bridge"]["address"];
    assert!(docker0.is_string(), "docker0 planned: {info}");
    assert_eq!(&daemon["bip"], docker0);
    ok(lxnest(&["stop", "-P", &st, "-n", &host]));
    assert_no_state_left(&state);
    assert!(cgroup_gone(&host));
}
