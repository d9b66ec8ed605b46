//! Helpers of the runtime root tests (tests/runtime_config_root.rs, tests/runtime_init_root.rs).
#![allow(dead_code)]

use crate::support::{lxnest, ok};
use std::path::Path;

/// A container name of this test process (cgroup paths are shared by every state directory).
pub fn unique(prefix: &str) -> String {
    format!("{prefix}{}", std::process::id())
}

pub fn write_spec(dir: &Path, text: &str) -> std::path::PathBuf {
    let p = dir.join("spec.yaml");
    std::fs::write(&p, text).expect("spec");
    p
}

/// The plan a running container was started with (`lxnest info --output json`): other sessions
/// on this host add routes, so planning again later may pick other subnets.
pub fn started_plan(state: &str, name: &str) -> serde_json::Value {
    let info = ok(lxnest(&[
        "info", "-P", state, "-n", name, "--output", "json",
    ]));
    let info: serde_json::Value = serde_json::from_str(&info).expect("info JSON");
    info["plan"].clone()
}

pub fn cgroup_gone(name: &str) -> bool {
    !Path::new("/sys/fs/cgroup/pids/lxnest").join(name).exists()
}

/// Stops the named containers when dropped (a failed assertion must not leave them running).
pub struct Stopper(String, Vec<String>);

pub fn scopeguard(state: &str, names: &[&String]) -> Stopper {
    Stopper(state.into(), names.iter().map(|n| n.to_string()).collect())
}

impl Drop for Stopper {
    fn drop(&mut self) {
        for n in &self.1 {
            let _ = lxnest(&["stop", "-P", &self.0, "-n", n]);
        }
    }
}
