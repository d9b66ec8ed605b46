//! A nesting host on the Debian 12 system rootfs (scripts/build-debian-rootfs.sh) or the built-in
//! rootfs, started in a network namespace the test made, for the real-runtime root tests
//! (`runtimes_*root*.rs`). The namespace carries a link on 10.0.3.1/24, as a laptop with LXC has,
//! so the plan must steer every bridge of the stack away from LXC's default subnet. No traffic
//! leaves the namespace; stop, destroy and the namespace's deletion remove everything.
#![allow(dead_code)]

use crate::support::{lxnest, ok, root_with, TestNetns};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// The Debian rootfs tarball: `LXNEST_DEBIAN_ROOTFS` if set (scripts/test-all.sh builds it
/// first), else the build script's cached tarball, built once per test binary (the script
/// itself locks against other binaries building at the same time).
pub fn debian_rootfs() -> Option<PathBuf> {
    static TARBALL: OnceLock<Option<PathBuf>> = OnceLock::new();
    TARBALL
        .get_or_init(|| {
            if let Some(p) = std::env::var_os("LXNEST_DEBIAN_ROOTFS") {
                return Some(PathBuf::from(p));
            }
            if !root_with("/usr/bin/mmdebstrap", "mmdebstrap (the Debian rootfs build)") {
                return None;
            }
            let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/build-debian-rootfs.sh");
            let o = Command::new(&script)
                .stderr(Stdio::inherit())
                .output()
                .expect("build-debian-rootfs.sh runs");
            assert!(o.status.success(), "{} failed", script.display());
            Some(PathBuf::from(String::from_utf8_lossy(&o.stdout).trim()))
        })
        .clone()
}

/// Read-only views of a network namespace's links, addresses, routes, rules and nftables ruleset
/// (`ip` and `nft` only look).
pub fn network_of(netns: &str) -> String {
    let mut out = String::new();
    let views: [&[&str]; 5] = [
        &["-o", "link"],
        &["-o", "-4", "addr"],
        &["-4", "route", "show", "table", "all"],
        &["-4", "rule"],
        &["-o", "-6", "addr"],
    ];
    for args in views {
        let o = Command::new("ip")
            .args(["-n", netns])
            .args(args)
            .output()
            .expect("ip");
        for l in String::from_utf8_lossy(&o.stdout).lines() {
            let l: Vec<&str> = l.split_whitespace().filter(|w| !w.starts_with("qlen")).collect();
            out.push_str(&l.join(" "));
            out.push('\n');
        }
    }
    let o = Command::new("ip")
        .args(["netns", "exec", netns, "nft", "list", "ruleset"])
        .output()
        .expect("nft");
    out.push_str(&String::from_utf8_lossy(&o.stdout));
    out
}

/// A running nesting host and everything the test made for it.
pub struct Nest {
    /// Container name (unique per test process).
    pub name: String,
    /// State directory.
    pub state: PathBuf,
    /// The network namespace the stack runs in.
    pub netns: TestNetns,
    network_before: String,
    _dir: tempfile::TempDir,
}

impl Nest {
    /// Starts `spec_body` (the YAML of one container, `NAME` replaced by the container's unique
    /// name) in a fresh network namespace that has a dummy link on 10.0.3.1/24.
    pub fn start(tag: &str, container_yaml: &str) -> Nest {
        let name = format!("rt{tag}{}", std::process::id());
        let netns = TestNetns::new(&format!("lxnrt-{tag}-{}", std::process::id()));
        for args in [
            &["link", "set", "lo", "up"][..],
            &["link", "add", "lxcbr0", "type", "dummy"],
            &["addr", "add", "10.0.3.1/24", "dev", "lxcbr0"],
            &["link", "set", "lxcbr0", "up"],
        ] {
            let o = Command::new("ip")
                .args(["-n", &netns.0])
                .args(args)
                .output()
                .expect("ip");
            assert!(o.status.success(), "ip {args:?}: {o:?}");
        }
        let dir = crate::support::traversable_tempdir();
        let state = dir.path().join("state");
        let spec = dir.path().join("spec.yaml");
        let body = container_yaml.replace("NAME", &name);
        std::fs::write(&spec, format!("name: {name}\ncontainers:\n{body}")).expect("spec");
        let network_before = network_of(&netns.0);
        let nest = Nest {
            name,
            state,
            netns,
            network_before,
            _dir: dir,
        };
        let t = Instant::now();
        let o = nest.in_netns(&["start", "-P", nest.state_str(), spec.to_str().expect("utf-8")]);
        assert!(
            o.status.success(),
            "start {}: {}{}",
            nest.name,
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        );
        eprintln!("{} started in {:?}", nest.name, t.elapsed());
        nest
    }

    /// The state directory as a string.
    pub fn state_str(&self) -> &str {
        self.state.to_str().expect("utf-8 tempdir")
    }

    /// lxnest with ARGS, in the test's network namespace.
    pub fn in_netns(&self, args: &[&str]) -> Output {
        Command::new("nsenter")
            .arg(format!("--net=/run/netns/{}", self.netns.0))
            .arg(env!("CARGO_BIN_EXE_lxnest"))
            .args(args)
            .output()
            .expect("nsenter")
    }

    /// `sh -c CMD` in the nesting host (through `lxnest attach`).
    pub fn sh(&self, cmd: &str) -> Output {
        lxnest(&["attach", "-P", self.state_str(), "-n", &self.name, "--", "/bin/sh", "-c", cmd])
    }

    /// [`Nest::sh`], asserting success; its stdout.
    pub fn ok(&self, cmd: &str) -> String {
        let o = self.sh(cmd);
        assert!(
            o.status.success(),
            "in {}: {cmd}\n--- stdout\n{}--- stderr\n{}",
            self.name,
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        );
        String::from_utf8_lossy(&o.stdout).into_owned()
    }

    /// `lxnest info --output json`.
    pub fn info(&self) -> serde_json::Value {
        let text = ok(lxnest(&["info", "-P", self.state_str(), "-n", &self.name, "--output", "json"]));
        serde_json::from_str(&text).expect("info json")
    }

    /// Writes a file into the nesting host through its init's root (the test is root on the host).
    pub fn put(&self, inside: &str, data: &[u8]) {
        let pid = self.info()["pid"].as_i64().expect("pid");
        let p = format!("/proc/{pid}/root{inside}");
        std::fs::write(&p, data).unwrap_or_else(|e| panic!("write {p}: {e}"));
    }

    /// Retries CMD in the nesting host until it succeeds or `secs` pass; its last output.
    pub fn wait_ok(&self, cmd: &str, secs: u64) -> String {
        let deadline = Instant::now() + Duration::from_secs(secs);
        loop {
            let o = self.sh(cmd);
            if o.status.success() {
                return String::from_utf8_lossy(&o.stdout).into_owned();
            }
            assert!(
                Instant::now() < deadline,
                "in {}: `{cmd}` did not succeed within {secs} s: {}{}",
                self.name,
                String::from_utf8_lossy(&o.stdout),
                String::from_utf8_lossy(&o.stderr)
            );
            std::thread::sleep(Duration::from_millis(500));
        }
    }

    /// The planned subnet of the nesting host's own bridge (the nested runtime's).
    pub fn own_subnet(&self) -> ipnet::Ipv4Net {
        let info = self.info();
        let s = info["plan"]["network"]["own_bridge"]["subnet"]
            .as_str()
            .unwrap_or_else(|| panic!("{} has no planned own bridge: {info}", self.name));
        s.parse().expect("subnet")
    }

    /// The Seccomp_filters count of the nesting host's init.
    pub fn own_filters(&self) -> u32 {
        seccomp_filters(&self.ok("cat /proc/1/status"))
    }

    /// Stops and destroys the nesting host; asserts that its cgroups are gone and that the test's
    /// network namespace is as before the start (links, addresses, routes, rules, nftables).
    pub fn stop(self) {
        let cgroups: Vec<PathBuf> = self.info()["cgroups"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|c| c[1].as_str().map(PathBuf::from))
                    .collect()
            })
            .unwrap_or_default();
        assert!(!cgroups.is_empty(), "{} reports its cgroups", self.name);
        let t = Instant::now();
        let o = lxnest(&["stop", "-P", self.state_str(), "-n", &self.name, "-t", "30"]);
        assert!(o.status.success(), "stop: {o:?}");
        eprintln!("{} stopped in {:?}", self.name, t.elapsed());
        ok(lxnest(&["destroy", "-P", self.state_str(), "-n", &self.name]));
        for c in &cgroups {
            assert!(!c.exists(), "cgroup {} removed at stop", c.display());
        }
        assert_eq!(
            network_of(&self.netns.0),
            self.network_before,
            "the stack's namespace has its links, routes, rules and ruleset back"
        );
    }
}

impl Drop for Nest {
    fn drop(&mut self) {
        if std::thread::panicking() {
            let _ = lxnest(&["destroy", "-P", self.state_str(), "-n", &self.name]);
        }
    }
}

/// `Seccomp_filters` from a /proc/PID/status text.
pub fn seccomp_filters(status: &str) -> u32 {
    status
        .lines()
        .find_map(|l| l.strip_prefix("Seccomp_filters:"))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or_else(|| panic!("no Seccomp_filters in {status}"))
}

/// The number of pid namespaces a task sits in, from the NSpid line of its status.
pub fn nspid_depth(status: &str) -> usize {
    status
        .lines()
        .find_map(|l| l.strip_prefix("NSpid:"))
        .map(|v| v.split_whitespace().count())
        .unwrap_or_else(|| panic!("no NSpid in {status}"))
}

/// The first IPv4 address in `text` inside `net`, if any.
pub fn address_in(text: &str, net: &ipnet::Ipv4Net) -> Option<std::net::Ipv4Addr> {
    text.split(|c: char| !(c.is_ascii_digit() || c == '.'))
        .filter_map(|w| w.parse::<std::net::Ipv4Addr>().ok())
        .find(|a| net.contains(a))
}
