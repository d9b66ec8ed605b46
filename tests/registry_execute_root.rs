//! `lxnest execute` on a running container is refused as running, and the refusal leaves the
//! running container's registry reservations alone. (Through the library API, the refusal used
//! to come from the registry as "already holds reservations", the wrong kind of error for
//! callers that branch on it; python/tests/test_containers_root.py found that. This test guards
//! the reservations from any later order of those checks.)

use std::process::{Command, Output};

mod support;

fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_lxnest")
}

fn lxnest(args: &[&str]) -> Output {
    Command::new(bin()).args(args).output().expect("lxnest")
}

/// The registry entries held for stack `stack`, as `lxnest plan --output json` lists them.
fn held_by(spec: &str, stack: &str) -> Vec<serde_json::Value> {
    let o = lxnest(&["plan", spec, "--output", "json"]);
    assert!(o.status.success(), "{o:?}");
    let plan: serde_json::Value = serde_json::from_slice(&o.stdout).expect("json");
    plan["reserved"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .into_iter()
        .filter(|r| r["stack"].as_str() == Some(stack))
        .map(|mut r| {
            // Which process holds the lock file is not the point; what is held is.
            r["holder"] = serde_json::Value::Null;
            r
        })
        .collect()
}

#[test]
fn root_a_refused_execute_keeps_the_running_containers_reservations() {
    if !support::root() {
        return;
    }
    let dir = support::traversable_tempdir();
    let state = dir.path().join("state");
    let st = state.to_str().expect("utf-8");
    let name = format!("exr{}", std::process::id() % 100_000);
    let spec = dir.path().join("s.yaml");
    std::fs::write(
        &spec,
        format!("name: {name}\ncontainers:\n  - name: {name}\n    network: {{mode: loopback}}\n    command: [/bin/sleep, \"1000\"]\n"),
    )
    .expect("spec");
    let other = dir.path().join("other.yaml");
    std::fs::write(
        &other,
        "name: exr-other\ncontainers:\n  - name: exr-other\n",
    )
    .expect("spec");
    let sp = spec.to_str().expect("utf-8");
    let o = lxnest(&["start", "-P", st, sp]);
    assert!(o.status.success(), "{o:?}");
    let guard = support::StopOnDrop {
        state: state.clone(),
        name: name.clone(),
    };
    let before = held_by(other.to_str().expect("utf-8"), &name);
    let o = lxnest(&["execute", "-P", st, "-n", &name, "--", "/bin/true"]);
    let after = held_by(other.to_str().expect("utf-8"), &name);
    drop(guard);
    assert!(!o.status.success(), "execute of a running container: {o:?}");
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("is running"),
        "{o:?}"
    );
    assert!(
        !before.is_empty(),
        "the running container holds reservations"
    );
    assert_eq!(after, before, "the refused execute left them as they were");
}
