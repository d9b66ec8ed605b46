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
            if !root_with(
                "/usr/bin/mmdebstrap",
                "mmdebstrap (the Debian rootfs build)",
            ) {
                return None;
            }
            let script =
                Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/build-debian-rootfs.sh");
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
            let l: Vec<&str> = l
                .split_whitespace()
                // DAD flags and queue length change on their own after a link comes up.
                .filter(|w| !w.starts_with("qlen") && *w != "tentative")
                .collect();
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

/// The spec lines of one nesting host: `keys` (e.g. `runtime: lxc`, one per line) on `rootfs`
/// (a tarball) or the built-in rootfs, idling in a shell that exits on SIGTERM (a stop is quick).
pub fn container_yaml(keys: &[&str], rootfs: Option<&Path>) -> String {
    let mut y = String::from("  - name: NAME\n");
    for k in keys {
        y.push_str(&format!("    {k}\n"));
    }
    if let Some(t) = rootfs {
        y.push_str(&format!("    rootfs: tar:{}\n", t.display()));
    }
    if !keys.iter().any(|k| k.starts_with("init:")) {
        y.push_str(
            "    command: [/bin/sh, -c, \"trap 'exit 0' TERM; while :; do sleep 1; done\"]\n",
        );
    }
    y
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
    /// name) in a fresh network namespace that has a bridge on 10.0.3.1/24.
    pub fn start(tag: &str, container_yaml: &str) -> Nest {
        let name = format!("rt{tag}{}", std::process::id());
        let netns = TestNetns::with_lxc_bridge(&format!("lxnrt-{tag}-{}", std::process::id()));
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
        let o = nest.in_netns(&[
            "start",
            "-P",
            nest.state_str(),
            spec.to_str().expect("utf-8"),
        ]);
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
        lxnest(&[
            "attach",
            "-P",
            self.state_str(),
            "-n",
            &self.name,
            "--",
            "/bin/sh",
            "-c",
            cmd,
        ])
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
        let text = ok(lxnest(&[
            "info",
            "-P",
            self.state_str(),
            "-n",
            &self.name,
            "--output",
            "json",
        ]));
        serde_json::from_str(&text).expect("info json")
    }

    /// Copies the host file `src` to `inside` in the nesting host, through `lxnest attach` and
    /// `cat` in there (never through /proc/PID/root, where the container's symlinks would
    /// resolve against the host's root).
    pub fn put(&self, src: &Path, inside: &str) {
        let o = Command::new(env!("CARGO_BIN_EXE_lxnest"))
            .args(["attach", "-P", self.state_str(), "-n", &self.name, "--"])
            .args(["/bin/sh", "-c", &format!("cat > {inside}")])
            .stdin(std::fs::File::open(src).expect("source file"))
            .output()
            .expect("lxnest attach");
        assert!(o.status.success(), "copy to {inside}: {o:?}");
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

    /// The bridge the plan reserves for the nesting host's runtime (`network.runtime_bridge`:
    /// lxcbr0 through lxc-net, docker0, podman's, lxdbr0), as (name, subnet), if any.
    pub fn runtime_bridge(&self) -> Option<(String, ipnet::Ipv4Net)> {
        let b = &self.info()["plan"]["network"]["runtime_bridge"];
        let subnet = b["subnet"].as_str()?.parse().ok()?;
        Some((b["name"].as_str()?.to_string(), subnet))
    }

    /// The subnet of [`Nest::runtime_bridge`].
    pub fn own_subnet(&self) -> Option<ipnet::Ipv4Net> {
        self.runtime_bridge().map(|(_, s)| s)
    }

    /// The Seccomp_filters count of the nesting host's init.
    pub fn own_filters(&self) -> u32 {
        seccomp_filters(&self.ok("cat /proc/1/status"))
    }

    /// Stops and destroys the nesting host; asserts that its cgroups are gone and that the test's
    /// network namespace is as before the start (links, addresses, routes, rules, nftables).
    /// Returns how long `lxnest stop` took.
    pub fn stop(self) -> Duration {
        let cgroups: Vec<PathBuf> = self.info()["cgroups"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|c| c[1].as_str().map(PathBuf::from))
                    .collect()
            })
            .unwrap_or_default();
        assert!(!cgroups.is_empty(), "{} reports its cgroups", self.name);
        // The whole stack lives in the test's namespace: none of its links is in the host's.
        let info = self.info();
        for link in [&info["veth"], &info["bridge_created"]] {
            if let Some(l) = link.as_str() {
                assert!(
                    !Path::new("/sys/class/net").join(l).exists(),
                    "{l} of {} appears in the host's network namespace",
                    self.name
                );
            }
        }
        let t = Instant::now();
        let o = lxnest(&["stop", "-P", self.state_str(), "-n", &self.name, "-t", "30"]);
        assert!(o.status.success(), "stop: {o:?}");
        let took = t.elapsed();
        eprintln!("{} stopped in {took:?}", self.name);
        ok(lxnest(&[
            "destroy",
            "-P",
            self.state_str(),
            "-n",
            &self.name,
        ]));
        for c in &cgroups {
            assert!(!c.exists(), "cgroup {} removed at stop", c.display());
        }
        assert_eq!(
            network_of(&self.netns.0),
            self.network_before,
            "the stack's namespace has its links, routes, rules and ruleset back"
        );
        took
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

/// Failed checks of one test, collected so that one run reports every broken point, then
/// asserted together at the end.
#[derive(Default)]
pub struct Checks(Vec<String>);

impl Checks {
    /// Records `what` as failed unless `ok`.
    pub fn check(&mut self, ok: bool, what: String) {
        if !ok {
            eprintln!("CHECK FAILED: {what}");
            self.0.push(what);
        }
    }

    /// Records a failed ping (`ping`, run by `nest.sh`) of the gateway `gw` of inner container
    /// `label`, with the first line ping printed.
    pub fn ping_ok(&mut self, label: &str, gw: &str, ping: &Output) {
        let said = format!(
            "{}{}",
            String::from_utf8_lossy(&ping.stdout),
            String::from_utf8_lossy(&ping.stderr)
        );
        self.check(
            ping.status.success(),
            format!(
                "{label}: ping of its gateway `{}`: {}",
                gw.trim(),
                said.lines().last().unwrap_or("")
            ),
        );
    }

    /// Panics with every failed check.
    pub fn assert_all(self) {
        assert!(
            self.0.is_empty(),
            "failed checks:\n- {}",
            self.0.join("\n- ")
        );
    }
}

/// What every real-runtime test asserts on an inner container, from the nesting host's view:
/// `host_status` and `inner_status` are /proc/PID/status texts read in the nesting host,
/// `addrs` the inner container's addresses (any text), `ping` the result of pinging the planned
/// gateway from inside it, `ruleset` the nesting host's `nft list ruleset`.
pub struct Inner<'a> {
    pub label: &'a str,
    pub host_status: &'a str,
    pub inner_status: &'a str,
    pub addrs: &'a str,
    pub ruleset: &'a str,
}

const LXC_DEFAULT_NET: &str = "10.0.3.0/24";

impl Inner<'_> {
    /// Seccomp_filters = nesting host's + 1, NSpid one deeper, an address in `subnet` and never
    /// in 10.0.3.0/24, NAT for `subnet` inside the nesting host and nowhere in `above` (the
    /// stack's namespace).
    pub fn check(&self, c: &mut Checks, subnet: Option<ipnet::Ipv4Net>, above: &str) {
        let l = self.label;
        let (fh, fi) = (
            seccomp_filters(self.host_status),
            seccomp_filters(self.inner_status),
        );
        c.check(
            fi == fh + 1,
            format!("{l}: Seccomp_filters {fi}, want the nesting host's {fh} + 1 (the runtime's own policy stacks)"),
        );
        // The issue's own acceptance check, literally.
        c.check(fi >= 2, format!("{l}: Seccomp_filters {fi}, want >= 2"));
        let (dh, di) = (
            nspid_depth(self.host_status),
            nspid_depth(self.inner_status),
        );
        c.check(
            di == dh + 1,
            format!("{l}: NSpid depth {di}, want {dh} + 1"),
        );
        let lxc_net: ipnet::Ipv4Net = LXC_DEFAULT_NET.parse().expect("literal");
        let any: ipnet::Ipv4Net = "0.0.0.0/0".parse().expect("literal");
        let in_lxc_net = address_in(&self.addrs.replace("127.0.0.1", ""), &lxc_net);
        c.check(
            in_lxc_net.is_none(),
            format!("{l}: address {in_lxc_net:?} in {LXC_DEFAULT_NET}, which the stack's namespace has on a bridge"),
        );
        let Some(subnet) = subnet else {
            let seen = address_in(&self.addrs.replace("127.0.0.1", ""), &any);
            c.check(false, format!("{l}: the plan reserves no subnet for the nested runtime (no network.runtime_bridge); its container got {seen:?}"));
            return;
        };
        c.check(
            !subnet.contains(&lxc_net.network()) && !lxc_net.contains(&subnet.network()),
            format!("{l}: planned subnet {subnet} overlaps {LXC_DEFAULT_NET}"),
        );
        c.check(
            address_in(self.addrs, &subnet).is_some(),
            format!(
                "{l}: no address in the planned subnet {subnet}: {}",
                self.addrs.trim()
            ),
        );
        let net = subnet.network().to_string();
        c.check(
            self.ruleset.contains("masquerade") && self.ruleset.contains(&net),
            format!("{l}: the nesting host does not masquerade {subnet}"),
        );
        c.check(
            !above.contains(&net),
            format!("{l}: {subnet} appears in the stack's namespace: {above}"),
        );
    }
}

/// A nesting host of `runtime` (`runtime: podman`...) on the Debian rootfs `tarball`, holding a
/// busybox image at /tmp/busybox.tar.gz and this build's lxnest-oci at /usr/local/bin/lxnest-oci
/// (the OCI clients' tests).
#[allow(dead_code)] // used by the oci_*_root tests only
pub fn oci_nest(tag: &str, runtime: &str, tarball: &Path) -> Nest {
    let nest = Nest::start(tag, &container_yaml(&[runtime], Some(tarball)));
    let dir = tempfile::tempdir().expect("tempdir");
    let bb = dir.path().join("busybox.tar.gz");
    crate::support::busybox_tarball(&bb, &[]);
    nest.put(&bb, "/tmp/busybox.tar.gz");
    nest.put(
        Path::new(env!("CARGO_BIN_EXE_lxnest-oci")),
        "/usr/local/bin/lxnest-oci",
    );
    nest.ok("chmod 755 /usr/local/bin/lxnest-oci");
    nest
}
