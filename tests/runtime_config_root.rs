//! What lxnest writes into nesting hosts for their runtimes (issue 14), as root on this kernel:
//! a `runtime: lxc` host on the built-in rootfs gets a writable /etc of its own (system users, a
//! machine-id, lxc-net and default.conf on the planned subnet, root's subordinate ids inside its
//! map) while the host's /etc stays untouched; files written into a tarball's tree stay inside
//! it whatever its symlinks name; systemd boots to `running` with no failed unit and halts on
//! `lxnest stop` (SIGRTMIN+3) without being killed. Nothing is left behind.

mod support;
use support::*;

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// A container name of this test process (cgroup paths are shared by every state directory).
fn unique(prefix: &str) -> String {
    format!("{prefix}{}", std::process::id())
}

fn write_spec(dir: &Path, text: &str) -> std::path::PathBuf {
    let p = dir.join("spec.yaml");
    std::fs::write(&p, text).expect("spec");
    p
}

/// The plan a running container was started with (`lxnest info --output json`): other sessions
/// on this host add routes, so planning again later may pick other subnets.
fn started_plan(state: &str, name: &str) -> serde_json::Value {
    let info = ok(lxnest(&[
        "info", "-P", state, "-n", name, "--output", "json",
    ]));
    let info: serde_json::Value = serde_json::from_str(&info).expect("info JSON");
    info["plan"].clone()
}

fn cgroup_gone(name: &str) -> bool {
    !Path::new("/sys/fs/cgroup/pids/lxnest").join(name).exists()
}

#[test]
fn an_lxc_host_gets_a_writable_etc_with_its_runtime_configuration_and_the_hosts_etc_is_untouched() {
    if !root() {
        return;
    }
    let dir = traversable_tempdir();
    let state = dir.path().join("state");
    let name = unique("rtlxc");
    let probe = format!("/etc/lxnest-probe-{name}");
    let script = format!(
        "set -e; echo inside > {probe}; cat {probe}; cat /etc/default/lxc-net; \
         cat /etc/lxc/default.conf; echo subuid=$(cat /etc/subuid); \
         echo machine-id=$(cat /etc/machine-id); getent passwd messagebus lxc-dnsmasq; \
         getent group systemd-journal; touch $HOME/x; test -d /etc/docker; \
         test -d /etc/containers; cat /proc/self/uid_map"
    );
    let spec = write_spec(
        dir.path(),
        &format!(
            "name: {name}\ncontainers:\n  - name: {name}\n    runtime: lxc\n    network: {{ mode: loopback }}\n"
        ),
    );
    let st = state.to_str().expect("utf-8").to_string();
    ok(lxnest(&["start", "-P", &st, spec.to_str().expect("utf-8")]));
    let _guard = scopeguard(&st, &[&name]);
    let c = started_plan(&st, &name);
    let subnet = c["network"]["runtime_bridge"]["subnet"]
        .as_str()
        .expect("lxcbr0 planned")
        .to_string();
    let reserved = c["idmap"]["runtime"].clone();
    let out = ok(lxnest(&[
        "attach", "-P", &st, "-n", &name, "--", "/bin/sh", "-c", &script,
    ]));
    assert!(out.starts_with("inside\n"), "{out}");
    assert!(
        !Path::new(&probe).exists(),
        "a write to the container's /etc reached the host's"
    );
    assert!(out.contains(&format!("LXC_NETWORK=\"{subnet}\"")), "{out}");
    assert!(!subnet.starts_with("10.0.3."), "never LXC's default");
    assert!(
        out.contains("lxc.net.0.link = lxcbr0") && out.contains("lxc.seccomp.allow_nesting = 1")
    );
    assert!(
        out.contains(&format!(
            "subuid=root:{}:{}",
            reserved["first"], reserved["count"]
        )),
        "{out}"
    );
    let id = out
        .lines()
        .find_map(|l| l.strip_prefix("machine-id="))
        .expect("machine-id");
    assert!(
        id.len() == 32 && id.chars().all(|c| c.is_ascii_hexdigit()),
        "{id}"
    );
    assert!(out.contains("messagebus:x:") && out.contains("lxc-dnsmasq:x:"));
    assert!(out.contains("systemd-journal:x:"));
    // The reserved range lies inside the container's own map.
    let mapped: u64 = out
        .lines()
        .last()
        .and_then(|l| l.split_whitespace().nth(2))
        .and_then(|n| n.parse().ok())
        .expect("uid_map");
    let end =
        reserved["first"].as_u64().expect("first") + reserved["count"].as_u64().expect("count");
    assert!(
        end <= mapped,
        "reserved ids end at {end}, the map has {mapped}"
    );
    ok(lxnest(&["stop", "-P", &st, "-n", &name]));
    assert_no_state_left(&state);
    assert!(cgroup_gone(&name));
}

/// A busybox tree whose /etc/docker is an absolute symlink naming `victim`, a host directory;
/// the same path exists inside the tree, where the link must resolve.
fn hostile_tarball(path: &Path, victim: &Path) {
    let mut b = tar::Builder::new(flate2::write::GzEncoder::new(
        std::fs::File::create(path).expect("create"),
        flate2::Compression::fast(),
    ));
    let rel = victim.strip_prefix("/").expect("absolute");
    let mut dirs = vec![
        "bin/".to_string(),
        "etc/".into(),
        "tmp/".into(),
        "proc/".into(),
    ];
    dirs.extend(["sys/", "dev/", "root/"].map(String::from));
    let mut acc = String::new();
    for part in rel.iter() {
        acc.push_str(&part.to_string_lossy());
        acc.push('/');
        dirs.push(acc.clone());
    }
    for d in dirs {
        let mut h = tar::Header::new_gnu();
        h.set_entry_type(tar::EntryType::Directory);
        h.set_mode(0o755);
        h.set_size(0);
        h.set_cksum();
        b.append_data(&mut h, d, std::io::empty()).expect("dir");
    }
    let bb = std::fs::read("/bin/busybox").expect("busybox-static installed");
    let mut h = tar::Header::new_gnu();
    h.set_mode(0o755);
    h.set_size(bb.len() as u64);
    h.set_cksum();
    b.append_data(&mut h, "bin/busybox", bb.as_slice())
        .expect("busybox");
    for (link, target) in [
        ("bin/sh", Path::new("busybox")),
        ("bin/cat", Path::new("busybox")),
        ("etc/docker", victim),
    ] {
        let mut h = tar::Header::new_gnu();
        h.set_entry_type(tar::EntryType::Symlink);
        h.set_size(0);
        h.set_mode(0o777);
        b.append_link(&mut h, link, target).expect("link");
    }
    b.into_inner().expect("tar").finish().expect("gzip");
}

#[test]
fn runtime_files_written_into_a_tarball_root_stay_inside_whatever_it_links_to() {
    if !root_with("/bin/busybox", "busybox-static") {
        return;
    }
    let dir = traversable_tempdir();
    let victim = tempfile::tempdir().expect("victim");
    let tarball = dir.path().join("hostile.tar.gz");
    hostile_tarball(&tarball, victim.path());
    let state = dir.path().join("state");
    let name = unique("rtdock");
    let inside = victim.path().join("daemon.json");
    let spec = write_spec(
        dir.path(),
        &format!(
            "name: {name}\ncontainers:\n  - name: {name}\n    runtime: docker\n    rootfs: tar:{}\n    network: {{ mode: loopback }}\n    command: [\"/bin/cat\", \"/etc/docker/daemon.json\", {:?}]\n",
            tarball.display(),
            inside.display()
        ),
    );
    let out = ok(lxnest(&[
        "start",
        "-F",
        "-P",
        state.to_str().expect("utf-8"),
        spec.to_str().expect("utf-8"),
    ]));
    // Both names reach the same file inside the container: the link resolved inside its root.
    assert_eq!(out.matches("\"bip\"").count(), 2, "{out}");
    assert!(
        std::fs::read_dir(victim.path())
            .expect("ls")
            .next()
            .is_none(),
        "the host directory the symlink names got a file"
    );
    let _ = lxnest(&["destroy", "-P", state.to_str().expect("utf-8"), "-n", &name]);
    assert_no_state_left(&state);
    assert!(cgroup_gone(&name));
}

#[test]
fn systemd_boots_to_running_without_failed_units_and_halts_on_stop() {
    if !root_with("/lib/systemd/systemd", "systemd") {
        return;
    }
    let dir = traversable_tempdir();
    let state = dir.path().join("state");
    let st = state.to_str().expect("utf-8").to_string();
    let name = unique("rtsd");
    let spec = write_spec(
        dir.path(),
        &format!(
            "name: {name}\ncontainers:\n  - name: {name}\n    init: systemd\n    network: {{ mode: loopback }}\n"
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
    let inner = ok(lxnest(&[
        "attach",
        "-P",
        &st,
        "-n",
        &adhoc,
        "--",
        "lxnest",
        "run",
        "--",
        "cat",
        "/proc/self/uid_map",
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

/// Stops the named containers when dropped (a failed assertion must not leave them running).
struct Stopper(String, Vec<String>);

fn scopeguard(state: &str, names: &[&String]) -> Stopper {
    Stopper(state.into(), names.iter().map(|n| n.to_string()).collect())
}

impl Drop for Stopper {
    fn drop(&mut self) {
        for n in &self.1 {
            let _ = lxnest(&["stop", "-P", &self.0, "-n", n]);
        }
    }
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

#[test]
fn lxc_net_brings_lxcbr0_up_on_the_planned_subnet_with_nat_inside_only() {
    if !root_with("/usr/libexec/lxc/lxc-net", "lxc")
        || !root_with("/usr/sbin/dnsmasq", "dnsmasq-base")
    {
        return;
    }
    let dir = traversable_tempdir();
    let state = dir.path().join("state");
    let st = state.to_str().expect("utf-8").to_string();
    let name = unique("rtnet");
    let spec = write_spec(
        dir.path(),
        &format!(
            "name: {name}\ncontainers:\n  - name: {name}\n    runtime: lxc\n    network: {{ mode: loopback }}\n"
        ),
    );
    ok(lxnest(&["start", "-P", &st, spec.to_str().expect("utf-8")]));
    let _guard = scopeguard(&st, &[&name]);
    let bridge = started_plan(&st, &name)["network"]["runtime_bridge"].clone();
    let (subnet, address) = (
        bridge["subnet"].as_str().expect("subnet").to_string(),
        bridge["address"].as_str().expect("address").to_string(),
    );
    // Debian's own lxc-net script, unchanged, reading what lxnest wrote.
    let out = ok(lxnest(&[
        "attach",
        "-P",
        &st,
        "-n",
        &name,
        "--",
        "/bin/sh",
        "-c",
        "/usr/libexec/lxc/lxc-net start >/dev/null && ip -4 -o addr show lxcbr0 && \
         cat /run/lxc/dnsmasq.pid >/dev/null && nft list table ip lxc",
    ]));
    assert!(out.contains(&format!("inet {address}")), "{out}");
    assert!(!out.contains("10.0.3."), "{out}");
    assert!(
        out.contains(&format!("ip saddr {subnet}")) && out.contains("masquerade"),
        "NAT for the planned subnet inside the nesting host: {out}"
    );
    let host_rules = Command::new("nft")
        .args(["list", "ruleset"])
        .output()
        .expect("nft");
    assert!(
        !String::from_utf8_lossy(&host_rules.stdout).contains(&subnet),
        "the host's rule set never sees the nested subnet"
    );
    ok(lxnest(&["stop", "-P", &st, "-n", &name]));
    assert_no_state_left(&state);
    assert!(cgroup_gone(&name));
}

#[test]
fn unprivileged_lxc_inside_maps_its_container_from_the_reserved_range() {
    if !root_with("/usr/share/lxc/templates/lxc-busybox", "lxc")
        || !root_with("/bin/busybox", "busybox-static")
    {
        return;
    }
    let dir = traversable_tempdir();
    let state = dir.path().join("state");
    let st = state.to_str().expect("utf-8").to_string();
    let name = unique("rtulx");
    let spec = write_spec(
        dir.path(),
        &format!(
            "name: {name}\ncontainers:\n  - name: {name}\n    runtime: lxc\n    network: {{ mode: loopback }}\n"
        ),
    );
    ok(lxnest(&["start", "-P", &st, spec.to_str().expect("utf-8")]));
    let _guard = scopeguard(&st, &[&name]);
    let first = started_plan(&st, &name)["idmap"]["runtime"]["first"]
        .as_u64()
        .expect("reserved range");
    // LXC's own tools, with nothing but what lxnest wrote: default.conf's lxc.idmap makes the
    // container unprivileged, /etc/subuid lets root map it.
    let out = ok(lxnest(&[
        "attach",
        "-P",
        &st,
        "-n",
        &name,
        "--",
        "/bin/sh",
        "-c",
        "set -e; /usr/libexec/lxc/lxc-net start >/dev/null; \
         lxc-create -t busybox -n u1 >/dev/null 2>&1; \
         echo 'lxc.mount.auto = proc:mixed sys:ro cgroup:mixed' >> /var/lib/lxc/u1/config; \
         lxc-start -n u1; lxc-wait -n u1 -s RUNNING -t 30; \
         lxc-attach -n u1 -- cat /proc/self/uid_map; lxc-stop -n u1 -k",
    ]));
    let line: Vec<&str> = out
        .lines()
        .find(|l| l.split_whitespace().next() == Some("0"))
        .map(|l| l.split_whitespace().collect())
        .unwrap_or_default();
    assert_eq!(
        line,
        ["0", &first.to_string(), "65536"],
        "LXC's container maps root to the reserved range: {out}"
    );
    ok(lxnest(&["stop", "-P", &st, "-n", &name]));
    assert_no_state_left(&state);
    assert!(cgroup_gone(&name));
}
