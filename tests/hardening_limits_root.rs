//! Issue 17, finding 7: a container cannot fill the host's disk through its console, and a
//! container whose spec sets no limits still gets pids and memory limits (`lxnest run` too).
//! Needs root.

mod support;
use std::path::Path;
use std::time::{Duration, Instant};
use support::*;

fn size(p: &Path) -> u64 {
    std::fs::metadata(p).map(|m| m.len()).unwrap_or(0)
}

#[test]
fn root_a_chatty_container_leaves_a_capped_console_log() {
    if !root() {
        return;
    }
    let d = traversable_tempdir();
    let state = d.path().join("state");
    let st = state.to_str().expect("utf8");
    let name = format!("chatty-{}", std::process::id());
    let spec = d.path().join("s.yaml");
    // 50 MB to stdout, then a marker, then it stays up so the log can be looked at.
    std::fs::write(
        &spec,
        format!("containers:\n  - name: {name}\n    network: {{mode: loopback}}\n    command: [\"/bin/sh\", \"-c\", \"yes xxxxxxxxxxxxxxx | head -c 52428800; echo; echo CHATTY-DONE; exec sleep 300\"]\n"),
    )
    .expect("write");
    ok(lxnest(&["start", "-P", st, spec.to_str().expect("utf8")]));
    let log = state.join(&name).join("console.log");
    let rotated = state.join(&name).join("console.log.1");
    let deadline = Instant::now() + Duration::from_secs(120);
    let mut done = false;
    while Instant::now() < deadline {
        if std::fs::read(&log).is_ok_and(|b| b.windows(11).any(|w| w == b"CHATTY-DONE")) {
            done = true;
            break;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    let (a, b) = (size(&log), size(&rotated));
    ok(lxnest(&["destroy", "-P", st, "-n", &name]));
    assert!(
        done,
        "the container's output never reached the log ({a} + {b} bytes)"
    );
    let cap = lxnest::launch::console::LOG_MAX;
    assert!(
        a <= cap && b <= cap,
        "console.log {a}, console.log.1 {b}, cap {cap}"
    );
    assert!(b > 0, "the log was rotated");
    assert_no_state_left(&state);
}

/// The limit files of a container's cgroups, from `lxnest info --output json`.
fn limits_of(state: &Path, name: &str) -> Vec<(String, String)> {
    let info = ok(lxnest(&[
        "info",
        "-P",
        state.to_str().expect("utf8"),
        "-n",
        name,
        "--output",
        "json",
    ]));
    let v: serde_json::Value = serde_json::from_str(&info).expect("json");
    let mut out = Vec::new();
    for cg in v["cgroups"].as_array().expect("cgroups") {
        let dir = Path::new(cg[1].as_str().expect("dir"));
        for f in ["pids.max", "memory.max", "memory.limit_in_bytes"] {
            if let Ok(t) = std::fs::read_to_string(dir.join(f)) {
                out.push((f.to_string(), t.trim().to_string()));
            }
        }
    }
    out
}

fn assert_limited(limits: &[(String, String)]) {
    let pids = limits.iter().find(|(f, _)| f == "pids.max");
    assert!(
        pids.is_some_and(|(_, v)| v != "max"),
        "no pids limit: {limits:?}"
    );
    let mem = limits.iter().find(|(f, _)| f.starts_with("memory."));
    let unlimited = |v: &str| v == "max" || v.parse::<u64>().is_ok_and(|n| n >= 1 << 62);
    assert!(
        mem.is_some_and(|(_, v)| !unlimited(v)),
        "no memory limit: {limits:?}"
    );
}

#[test]
fn root_containers_without_limits_get_default_limits() {
    if !root() {
        return;
    }
    let d = traversable_tempdir();
    let state = d.path().join("state");
    let st = state.to_str().expect("utf8");
    let id = std::process::id();
    // A spec container with no `limits`.
    let name = format!("nolim-{id}");
    let spec = d.path().join("s.yaml");
    std::fs::write(
        &spec,
        format!("containers:\n  - name: {name}\n    network: {{mode: loopback}}\n    command: [\"/bin/sleep\", \"300\"]\n"),
    )
    .expect("write");
    ok(lxnest(&["start", "-P", st, spec.to_str().expect("utf8")]));
    let limits = limits_of(&state, &name);
    ok(lxnest(&["destroy", "-P", st, "-n", &name]));
    assert_limited(&limits);

    // `lxnest run`: its init reads its own cgroup's limits through the premounted cgroupfs.
    let o = lxnest(&[
        "run",
        "-P",
        st,
        "--",
        "/bin/sh",
        "-c",
        "cat /sys/fs/cgroup/pids/pids.max /sys/fs/cgroup/pids.max 2>/dev/null; cat /sys/fs/cgroup/memory/memory.limit_in_bytes /sys/fs/cgroup/memory.max 2>/dev/null; true",
    ]);
    let out = ok(o);
    let vals: Vec<&str> = out.lines().map(str::trim).collect();
    assert!(
        vals.len() >= 2 && vals.iter().all(|v| *v != "max" && !v.is_empty()),
        "run's limits: {out}"
    );
    assert!(
        vals.iter()
            .any(|v| v.parse::<u64>().is_ok_and(|n| n < 1 << 40 && n > 1 << 20)),
        "run's memory limit: {out}"
    );
    assert_no_state_left(&state);
}

#[test]
fn root_unlimited_in_the_spec_means_no_default() {
    if !root() {
        return;
    }
    let d = traversable_tempdir();
    let state = d.path().join("state");
    let st = state.to_str().expect("utf8");
    let name = format!("unlim-{}", std::process::id());
    let spec = d.path().join("s.yaml");
    std::fs::write(
        &spec,
        format!("containers:\n  - name: {name}\n    network: {{mode: loopback}}\n    limits: {{pids: unlimited, memory: unlimited}}\n    command: [\"/bin/sleep\", \"300\"]\n"),
    )
    .expect("write");
    ok(lxnest(&["start", "-P", st, spec.to_str().expect("utf8")]));
    let limits = limits_of(&state, &name);
    ok(lxnest(&["destroy", "-P", st, "-n", &name]));
    assert!(
        limits.iter().all(|(f, v)| f != "pids.max" || v == "max"),
        "{limits:?}"
    );
}
