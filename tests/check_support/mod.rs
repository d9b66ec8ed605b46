//! Shared helpers for the `check` integration tests: a frozen copy of the binary and JSON runs.
#![allow(dead_code)]

use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Command, Output};

/// A private copy of the lxnest binary: the shared target dir can be rebuilt from another
/// branch while tests run, and containers bind-mount the file.
pub fn frozen_binary(dir: &std::path::Path) -> PathBuf {
    let dst = dir.join("lxnest");
    // `cp` writes the copy, not this process: a write fd held here would be inherited by a child
    // another test thread forks meanwhile, and exec of the copy would fail with ETXTBSY until
    // that child execs. cp has exited (its fds closed) before the copy is run.
    let cp = Command::new("cp")
        .arg(env!("CARGO_BIN_EXE_lxnest"))
        .arg(&dst)
        .status()
        .expect("cp runs");
    assert!(cp.success(), "copy the lxnest binary: {cp}");
    let help = Command::new(&dst)
        .args(["check", "--help"])
        .output()
        .expect("run lxnest");
    assert!(
        help.status.success(),
        "the lxnest binary has no check command (rebuilt from another branch?)"
    );
    dst
}

/// Runs `lxnest check --output json <extra>` with an optional hook run in the child before exec.
pub fn run_json(
    bin: &std::path::Path,
    extra: &[&str],
    env: &[(&str, &str)],
    hook: Option<Box<dyn FnMut() -> std::io::Result<()> + Send + Sync>>,
) -> (i32, serde_json::Value, Output) {
    let mut cmd = Command::new(bin);
    cmd.args(["check", "--output", "json"]).args(extra);
    for (k, v) in env {
        cmd.env(k, v);
    }
    if let Some(h) = hook {
        // SAFETY: the hooks used by these tests only make raw syscalls (prctl, seccomp) on
        // memory prepared before the fork.
        unsafe { cmd.pre_exec(h) };
    }
    let out = cmd.output().expect("run lxnest check");
    let code = out.status.code().unwrap_or(-1);
    let json = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "check output is not JSON ({e}): stdout {} stderr {}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    });
    (code, json, out)
}

/// The probe called `name` in a check JSON document.
pub fn probe<'a>(doc: &'a serde_json::Value, name: &str) -> &'a serde_json::Value {
    doc["facts"]["probes"]
        .as_array()
        .expect("probes")
        .iter()
        .find(|p| p["name"] == name)
        .unwrap_or_else(|| panic!("no probe {name}"))
}

/// Blocker messages of the verdict for `kind`.
pub fn blockers(doc: &serde_json::Value, kind: &str) -> Vec<String> {
    let v = doc["verdicts"]
        .as_array()
        .expect("verdicts")
        .iter()
        .find(|v| v["runtime"] == kind)
        .unwrap_or_else(|| panic!("no verdict for {kind}"));
    v["blockers"]
        .as_array()
        .expect("blockers")
        .iter()
        .map(|b| b["message"].as_str().unwrap_or("").to_string())
        .collect()
}

/// This process's bounding capability names.
pub fn own_bounding() -> Vec<String> {
    let status = std::fs::read_to_string("/proc/self/status").expect("status");
    let hex = status
        .lines()
        .find_map(|l| l.strip_prefix("CapBnd:"))
        .expect("CapBnd")
        .trim()
        .to_string();
    lxnest::host::cap_names(u64::from_str_radix(&hex, 16).expect("hex"))
}

/// Blockers that only say a capability is missing from the bounding set.
pub fn is_cap_blocker(msg: &str) -> bool {
    msg.starts_with("cap_") && msg.ends_with(" is not in the bounding set")
}
