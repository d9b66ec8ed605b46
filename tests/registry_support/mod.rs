//! Helpers of the allocation registry's root tests (tests/registry_root.rs,
//! tests/registry_ids_root.rs).
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

/// The lxnest binary under test.
pub fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_lxnest")
}

pub fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// Stops every container it names on drop, on failure too, so nothing outlives the test.
pub struct Stacks {
    /// State directory.
    pub state: PathBuf,
    /// Container names.
    pub names: Vec<String>,
}

impl Drop for Stacks {
    fn drop(&mut self) {
        for n in &self.names {
            if self.state.join(n).exists() {
                let _ = Command::new(bin())
                    .args(["stop", "-t", "2", "-n", n, "-P"])
                    .arg(&self.state)
                    .output();
            }
        }
    }
}

/// The level-1 init's pid from its state.json.
pub fn init_pid(state: &Path, name: &str) -> i32 {
    let t = std::fs::read_to_string(state.join(name).join("state.json")).expect("state.json");
    let v: serde_json::Value = serde_json::from_str(&t).expect("json");
    v["pid"].as_i64().expect("pid") as i32
}

/// Pids whose cgroup (any hierarchy) ends with `suffix`.
pub fn pids_in_cgroup(suffix: &str) -> Vec<i32> {
    std::fs::read_dir("/proc")
        .expect("proc")
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<i32>().ok())
        .filter(|p| {
            std::fs::read_to_string(format!("/proc/{p}/cgroup"))
                .is_ok_and(|cg| cg.lines().any(|l| l.ends_with(suffix)))
        })
        .collect()
}

/// The first line of /proc/PID/uid_map read from the host: `(first host uid, count)`.
pub fn host_uids(pid: i32) -> (u64, u64) {
    let m = std::fs::read_to_string(format!("/proc/{pid}/uid_map")).expect("uid_map");
    let w: Vec<u64> = m
        .split_whitespace()
        .take(3)
        .map(|x| x.parse().expect("number"))
        .collect();
    (w[1], w[2])
}

pub fn overlap(a: (u64, u64), b: (u64, u64)) -> bool {
    a.0 < b.0 + b.1 && b.0 < a.0 + a.1
}

/// Non-root ranges of /etc/subuid.
pub fn users_subuids() -> Vec<(String, (u64, u64))> {
    std::fs::read_to_string("/etc/subuid")
        .unwrap_or_default()
        .lines()
        .filter_map(|l| {
            let mut f = l.split(':');
            let (o, a, c) = (f.next()?, f.next()?.parse().ok()?, f.next()?.parse().ok()?);
            (o != "root" && o != "0").then(|| (o.to_string(), (a, c)))
        })
        .collect()
}

/// Waits until the level-2 inits `kids` of `host` run; returns their pids.
pub fn level_two(host: &str, kids: &[&str]) -> Vec<i32> {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let k: Vec<i32> = kids
            .iter()
            .flat_map(|k| pids_in_cgroup(&format!("/lxnest/{host}/{k}")))
            .collect();
        let found = kids
            .iter()
            .all(|k| !pids_in_cgroup(&format!("/lxnest/{host}/{k}")).is_empty());
        if found {
            return k;
        }
        assert!(Instant::now() < deadline, "level 2 of {host} never ran");
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// The registry's entries whose stack name starts with `tag`.
pub fn registry_entries(tag: &str) -> Vec<String> {
    let t = std::fs::read_to_string("/run/lxnest/.registry/registry.json").unwrap_or_default();
    let v: serde_json::Value = serde_json::from_str(&t).unwrap_or_default();
    v["entries"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|e| e["stack"].as_str().map(str::to_string))
        .filter(|s| s.starts_with(tag))
        .collect()
}
