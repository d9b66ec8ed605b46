//! Root tests of the launcher: real namespaces, cgroups, seccomp and Landlock on this kernel.
//! Each test uses its own state directory and container names, and destroys what it started
//! even when an assertion fails.

use lxnest::hooks::HookKind;
use lxnest::launch::{defaults, inject};
use lxnest::plan::model::{LevelPlan, Plan};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

mod support;
use support::TestNetns;

test_children!(cleanup_on_pure_cgroup2);

fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_lxnest")
}

fn lxnest(args: &[&str]) -> Output {
    Command::new(bin())
        .args(args)
        .output()
        .expect("spawn lxnest")
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// Destroys the named containers of a state directory on drop.
struct Cleanup {
    dir: tempfile::TempDir,
    names: Vec<String>,
}

impl Cleanup {
    fn new(names: &[&str]) -> Cleanup {
        Cleanup {
            dir: tempfile::tempdir().expect("tempdir"),
            names: names.iter().map(|s| s.to_string()).collect(),
        }
    }
    fn p(&self) -> &str {
        self.dir.path().to_str().expect("utf-8 tempdir")
    }
}

impl Drop for Cleanup {
    fn drop(&mut self) {
        for n in &self.names {
            let _ = Command::new(bin())
                .args(["destroy", "-n", n, "-P", self.p()])
                .output();
        }
    }
}

fn plan_file(dir: &Path, c: LevelPlan) -> PathBuf {
    let plan = Plan {
        stack: "test".into(),
        source: "<test>".into(),
        base_level: 0,
        host_bridge: None,
        containers: vec![c],
        warnings: Vec::new(),
        reserved: Vec::new(),
    };
    let p = dir.join(format!("plan-{}.json", std::process::id()));
    std::fs::write(&p, serde_json::to_string(&plan).expect("plan json")).expect("write plan");
    p
}

/// Every cgroup directory named `lxnest/<name>` under any hierarchy (recursively, since our
/// own cgroup may be deep in a hierarchy).
fn cgroup_dirs(name: &str) -> Vec<PathBuf> {
    support::lxnest_cgroup_dirs(name)
}

fn ns_links(pid: &str) -> Vec<(String, String)> {
    ["mnt", "pid", "net", "uts", "ipc", "user", "cgroup"]
        .iter()
        .map(|n| {
            let l = std::fs::read_link(format!("/proc/{pid}/ns/{n}"))
                .map(|p| p.display().to_string())
                .unwrap_or_default();
            (n.to_string(), l)
        })
        .collect()
}

fn status_field(status: &str, key: &str) -> String {
    status
        .lines()
        .find_map(|l| l.strip_prefix(key))
        .map(|v| v.trim().to_string())
        .unwrap_or_default()
}

#[test]
fn run_root_enforces_namespaces_ids_masks_caps_seccomp_landlock_and_passes_exit_code() {
    let c = Cleanup::new(&["rt-enforce"]);
    let script = r#"
        echo "hostname=$(hostname)"
        echo "uidmap=$(cat /proc/self/uid_map | tr -s ' ' | sed 's/^ //')"
        for n in mnt pid net uts ipc user cgroup; do echo "ns_$n=$(readlink /proc/self/ns/$n)"; done
        grep -E '^(CapEff|CapBnd|Seccomp_filters|NoNewPrivs):' /proc/self/status
        echo x > /tmp/ok && echo "tmp=ok"
        echo x > /dev/lxnest-denied 2>/dev/null; echo "shm=$?"
        echo 1 > /proc/sys/kernel/domainname 2>/dev/null; echo "procsys=$?"
        echo "kcore=$(cat /proc/keys 2>/dev/null | wc -c)"
        touch /etc/x 2>/dev/null; echo "rootro=$?"
        echo "pid1=$(cat /proc/1/comm)"
        echo "fds=$(ls /proc/self/fd | tr '\n' ' ')"
        exit 7
    "#;
    let o = lxnest(&[
        "run",
        "-P",
        c.p(),
        "-n",
        "rt-enforce",
        "--",
        "/bin/sh",
        "-c",
        script,
    ]);
    let out = text(&o);
    assert_eq!(o.status.code(), Some(7), "exit code passes through: {out}");
    let get = |k: &str| {
        out.lines()
            .find_map(|l| l.strip_prefix(&format!("{k}=")))
            .unwrap_or("")
            .to_string()
    };
    assert_eq!(get("hostname"), "rt-enforce");
    // Inside, the container's user namespace maps its ids one to one onto the first one (the
    // one that locks its setup mounts, see launch::lock), which maps them to the host's.
    let map = defaults::idmap(false);
    assert_eq!(get("uidmap"), format!("0 0 {}", map.uid[0].count));
    let host = ns_links("self");
    for (n, link) in host {
        assert_ne!(
            get(&format!("ns_{n}")),
            link,
            "namespace {n} differs from the host's: {out}"
        );
    }
    // Capabilities: exactly the default set, nothing else.
    let want: u64 = lxnest::plan::caps::DEFAULT_KEEP
        .iter()
        .map(|n| lxnest::launch::caps::parse(n).expect("known cap").bitmask())
        .sum();
    let eff = u64::from_str_radix(&status_field(&out, "CapEff:"), 16).expect("CapEff hex");
    assert_eq!(eff, want, "CapEff: {out}");
    let host_status = std::fs::read_to_string("/proc/self/status").expect("status");
    let host_filters: u32 = status_field(&host_status, "Seccomp_filters:")
        .parse()
        .expect("host filters");
    assert_eq!(
        status_field(&out, "Seccomp_filters:"),
        (host_filters + 1).to_string(),
        "one filter of our own: {out}"
    );
    assert_eq!(
        status_field(&out, "NoNewPrivs:"),
        "0",
        "setuid keeps working, as in LXC"
    );
    assert_eq!(get("tmp"), "ok", "Landlock allows the scratch dirs: {out}");
    assert_ne!(
        get("shm"),
        "0",
        "Landlock denies writes outside the plan's paths: {out}"
    );
    assert_ne!(get("procsys"), "0", "/proc/sys is read-only: {out}");
    assert_eq!(get("kcore"), "0", "/proc/keys is masked: {out}");
    assert_ne!(get("rootro"), "0", "the built-in root is read-only: {out}");
    assert_eq!(
        get("pid1"),
        "sh",
        "the command is PID 1 of its own pid namespace: {out}"
    );
    // stdio and the directory `ls` itself opened: no descriptor of the launcher leaked.
    assert_eq!(get("fds").trim(), "0 1 2 3", "{out}");
    assert!(
        cgroup_dirs("rt-enforce").is_empty(),
        "cgroups removed after run"
    );
    assert!(
        !c.dir.path().join("rt-enforce").exists(),
        "state removed after run"
    );
}

#[test]
fn start_root_stop_removes_everything() {
    let c = Cleanup::new(&["rt-daemon"]);
    let plan = defaults::level_plan("rt-daemon", vec!["/bin/sleep".into(), "1000".into()], false)
        .expect("ad hoc plan");
    let pf = plan_file(c.dir.path(), plan);
    let o = lxnest(&["start", "-P", c.p(), pf.to_str().expect("utf-8")]);
    assert!(o.status.success(), "start: {}", text(&o));
    let st: lxnest::launch::State = serde_json::from_str(
        &std::fs::read_to_string(c.dir.path().join("rt-daemon/state.json")).expect("state.json"),
    )
    .expect("state parses");
    assert!(lxnest::launch::state::alive(&st));
    // The init is in the container's cgroup in every hierarchy.
    let cg = std::fs::read_to_string(format!("/proc/{}/cgroup", st.pid)).expect("init cgroup");
    assert!(cg.lines().all(|l| l.ends_with("lxnest/rt-daemon")), "{cg}");
    assert!(!cgroup_dirs("rt-daemon").is_empty());
    assert!(
        st.enforced.seccomp_filters >= 1 && st.enforced.landlock.starts_with("fully"),
        "{:?}",
        st.enforced
    );
    let ls = lxnest(&["ls", "-P", c.p(), "--output", "json"]);
    // `ls --output json` is `{"schema": "lxnest/v1", "containers": [...]}` (docs/json.md).
    #[derive(serde::Deserialize)]
    struct Ls {
        schema: String,
        containers: Vec<lxnest::launch::State>,
    }
    let doc: Ls = serde_json::from_slice(&ls.stdout).expect("ls json");
    assert_eq!(doc.schema, "lxnest/v1");
    let listed = doc.containers;
    assert_eq!(
        listed.iter().map(|s| s.name.as_str()).collect::<Vec<_>>(),
        ["rt-daemon"]
    );
    let info = text(&lxnest(&["info", "-n", "rt-daemon", "-P", c.p()]));
    assert!(
        info.contains("seccomp:")
            && info.contains("landlock:    fully")
            && info.contains("apparmor:"),
        "{info}"
    );
    let o = lxnest(&["stop", "-n", "rt-daemon", "-P", c.p(), "-t", "1"]);
    assert!(o.status.success(), "stop: {}", text(&o));
    assert!(
        !c.dir.path().join("rt-daemon").exists(),
        "state dir removed"
    );
    assert!(cgroup_dirs("rt-daemon").is_empty(), "cgroups removed");
    assert!(
        !Path::new(&format!("/proc/{}", st.pid)).exists() || !lxnest::launch::state::alive(&st),
        "init gone"
    );
}

#[test]
fn start_root_failure_at_every_step_leaves_nothing() {
    let c = Cleanup::new(&["rt-fail"]);
    let plan = defaults::level_plan("rt-fail", vec!["/bin/sleep".into(), "1000".into()], false)
        .expect("ad hoc plan");
    let pf = plan_file(c.dir.path(), plan);
    let mut table = Vec::new();
    for step in inject::STEPS {
        let o = Command::new(bin())
            .args(["start", "-P", c.p(), pf.to_str().expect("utf-8")])
            .env(inject::ENV, step)
            .output()
            .expect("spawn");
        let out = text(&o);
        table.push(format!("{step:<14} exit={:?}", o.status.code()));
        assert!(!o.status.success(), "step {step} must fail: {out}");
        assert!(
            out.contains(step) || out.contains("injected"),
            "step {step} named in the error: {out}"
        );
        assert!(
            !c.dir.path().join("rt-fail").exists(),
            "step {step}: state dir left behind"
        );
        assert!(
            cgroup_dirs("rt-fail").is_empty(),
            "step {step}: cgroup left behind: {:?}",
            cgroup_dirs("rt-fail")
        );
    }
    println!("{}", table.join("\n"));
    // And without injection the same plan starts (the failures above were the injected ones).
    let o = lxnest(&["start", "-P", c.p(), pf.to_str().expect("utf-8")]);
    assert!(o.status.success(), "{}", text(&o));
    let o = lxnest(&["stop", "-n", "rt-fail", "-P", c.p(), "-t", "0"]);
    assert!(o.status.success(), "{}", text(&o));
}

#[test]
fn run_root_missing_tarball_fails_cleanly() {
    let c = Cleanup::new(&["rt-tar"]);
    let mut plan =
        defaults::level_plan("rt-tar", vec!["/bin/true".into()], false).expect("ad hoc plan");
    plan.rootfs = lxnest::plan::model::RootfsPlan::Tar("/nonexistent.tar".into());
    let pf = plan_file(c.dir.path(), plan);
    let o = lxnest(&["start", "-F", "-P", c.p(), pf.to_str().expect("utf-8")]);
    assert!(!o.status.success());
    assert!(
        text(&o).contains("step rootfs") && text(&o).contains("/nonexistent.tar"),
        "{}",
        text(&o)
    );
    assert!(!c.dir.path().join("rt-tar").exists());
    assert!(cgroup_dirs("rt-tar").is_empty());
}

impl TestNetns {
    fn links(&self) -> String {
        text(
            &Command::new("ip")
                .args(["-n", &self.0, "-o", "link"])
                .output()
                .expect("ip link"),
        )
    }
}

#[test]
fn start_root_bridge_failure_at_every_step_leaves_no_veth_or_bridge() {
    // Everything network-related happens inside a namespace this test created: the "host"
    // bridge and the veth live there, and no traffic leaves it.
    let ns = TestNetns::new(&format!("lxnest-t{}", std::process::id()));
    let c = Cleanup::new(&["rt-net"]);
    let mut plan = defaults::level_plan("rt-net", vec!["/bin/sleep".into(), "1000".into()], false)
        .expect("ad hoc plan");
    plan.network.mode = lxnest::spec::model::NetworkMode::Bridge;
    plan.network.parent_bridge = Some("lxnbr-t".into());
    plan.network.veth_host = Some("vrt-net".into());
    plan.network.address = Some("10.213.9.2/24".parse().expect("literal"));
    plan.network.gateway = Some("10.213.9.1".parse().expect("literal"));
    let full = Plan {
        stack: "net".into(),
        source: "<test>".into(),
        base_level: 0,
        host_bridge: Some(lxnest::plan::model::BridgePlan {
            name: "lxnbr-t".into(),
            subnet: "10.213.9.0/24".parse().expect("literal"),
            address: "10.213.9.1/24".parse().expect("literal"),
            mtu: 1500,
            nat: false,
            origin: lxnest::origin::Origin::builtin("test"),
        }),
        containers: vec![plan],
        warnings: Vec::new(),
        reserved: Vec::new(),
    };
    let pf = c.dir.path().join("net.json");
    std::fs::write(&pf, serde_json::to_string(&full).expect("json")).expect("write");
    let netns = format!("--net=/run/netns/{}", ns.0);
    let start = |fail: Option<&str>| {
        let mut cmd = Command::new("nsenter");
        cmd.args([
            netns.as_str(),
            bin(),
            "start",
            "-P",
            c.p(),
            pf.to_str().expect("utf-8"),
        ]);
        if let Some(step) = fail {
            cmd.env(inject::ENV, step);
        }
        cmd.output().expect("nsenter")
    };
    for step in inject::STEPS {
        let o = start(Some(step));
        assert!(!o.status.success(), "step {step} must fail: {}", text(&o));
        let links = ns.links();
        assert!(
            !links.contains("vrt-net") && !links.contains("lxnbr-t"),
            "step {step} left links: {links}"
        );
        assert!(
            !c.dir.path().join("rt-net").exists(),
            "step {step}: state dir left behind"
        );
        assert!(
            cgroup_dirs("rt-net").is_empty(),
            "step {step}: cgroup left behind"
        );
    }
    let o = start(None);
    assert!(o.status.success(), "{}", text(&o));
    let links = ns.links();
    assert!(
        links.contains("vrt-net") && links.contains("lxnbr-t"),
        "{links}"
    );
    let o = Command::new("nsenter")
        .args([
            netns.as_str(),
            bin(),
            "stop",
            "-n",
            "rt-net",
            "-P",
            c.p(),
            "-t",
            "0",
        ])
        .output()
        .expect("stop");
    assert!(o.status.success(), "{}", text(&o));
    let links = ns.links();
    assert!(
        !links.contains("vrt-net") && !links.contains("lxnbr-t"),
        "stop removes veth and bridge: {links}"
    );
}

#[test]
fn run_root_hooks_run_in_order_and_the_mount_dir_appears_inside() {
    let c = Cleanup::new(&["rt-hooks"]);
    let log = c.dir.path().join("hooks.log");
    let l = log.display().to_string();
    let mut plan = defaults::level_plan(
        "rt-hooks",
        vec![
            "/bin/sh".into(),
            "-c".into(),
            "cat /shared/hello; cat /run/lxnest/level".into(),
        ],
        false,
    )
    .expect("ad hoc plan");
    // Hooks get `NAME lxc TYPE` appended (LXC's convention); `true` swallows them here.
    let hook = |kind: HookKind, extra: &str| {
        (
            kind,
            vec![format!("echo {kind} \"$LXC_NAME\" >> {l}{extra}; true")],
        )
    };
    plan.hooks = lxnest::hooks::Hooks(
        [
        hook(HookKind::PreStart, "; mkdir -p \"$LXNEST_MOUNT_DIR/shared\"; echo from-pre-start > \"$LXNEST_MOUNT_DIR/shared/hello\""),
        hook(HookKind::PostStop, ""),
        // Inside the container the log path does not exist: the start hook proves itself on stdout.
        (HookKind::Start, vec!["echo start-hook-ran".to_string()]),
    ]
    .into_iter()
    .collect(),
    );
    let pf = plan_file(c.dir.path(), plan);
    let o = lxnest(&["start", "-F", "-P", c.p(), pf.to_str().expect("utf-8")]);
    let out = text(&o);
    assert!(o.status.success(), "{out}");
    assert!(
        out.contains("from-pre-start"),
        "the shared mount dir appears under the root: {out}"
    );
    assert!(out.contains("start-hook-ran"), "{out}");
    assert!(
        out.lines().any(|l| l == "1"),
        "level marker /run/lxnest/level: {out}"
    );
    let logged = std::fs::read_to_string(&log).expect("hook log");
    assert_eq!(logged, "pre-start rt-hooks\npost-stop rt-hooks\n");
    assert!(!c.dir.path().join("rt-hooks").exists());
}

#[test]
fn run_root_require_apparmor_refuses_without_it() {
    if lxnest::apparmor::kernel::status().enabled {
        return; // AppArmor present: nothing to refuse (the load path is exercised instead).
    }
    let c = Cleanup::new(&["rt-aa"]);
    let o = lxnest(&[
        "run",
        "-P",
        c.p(),
        "-n",
        "rt-aa",
        "--require-apparmor",
        "--",
        "/bin/true",
    ]);
    assert!(!o.status.success());
    assert!(text(&o).contains("AppArmor is required"), "{}", text(&o));
    assert!(!c.dir.path().join("rt-aa").exists());
}

#[test]
fn run_root_prints_nothing_on_stderr_at_the_default_log_level() {
    if !support::root() {
        return;
    }
    // A dependency used to warn on every link dump of this kernel (netlink-packet-route and
    // IFLA_INET6_CONF): a bridged start, which dumps links, must be quiet at the default level,
    // and --log must still show the dependency's warning.
    let c = Cleanup::new(&["quiet1"]);
    let ns = TestNetns::new("lxnest-quiet");
    let spec = c.dir.path().join("quiet.yaml");
    std::fs::write(&spec, "name: quiet\ncontainers:\n  - name: quiet1\n").expect("spec");
    let run = |extra: &[&str]| {
        Command::new("nsenter")
            .arg(format!("--net=/run/netns/{}", ns.0))
            .arg(bin())
            .args(["run", "-P", c.p(), "-n", "quiet1", "--spec"])
            .arg(&spec)
            .args(extra)
            .args(["--", "/bin/true"])
            .output()
            .expect("nsenter")
    };
    let o = run(&[]);
    assert!(o.status.success(), "{}", text(&o));
    assert_eq!(
        String::from_utf8_lossy(&o.stderr),
        "",
        "stderr of a plain run"
    );
    let o = run(&["--log", "warn"]);
    assert!(o.status.success(), "{}", text(&o));
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("netlink_packet_route"),
        "--log warn shows the dependency's warnings: {}",
        text(&o)
    );
}

/// The cleanup checks on a pure cgroup2 host, on any machine: a child of this test in a mount
/// namespace where cgroup2 alone is mounted at /sys/fs/cgroup (support::cgroup2). The running
/// container's cgroup is seen there (so the check can fail), and a stop or a failed start at
/// every step leaves none.
#[test]
fn start_root_on_pure_cgroup2_leaves_no_cgroup() {
    if support::root() {
        support::child::assert_ok(&support::child::run("cleanup_on_pure_cgroup2", &[]));
    }
}

/// Child of `start_root_on_pure_cgroup2_leaves_no_cgroup`.
fn cleanup_on_pure_cgroup2() -> i32 {
    support::cgroup2::pure_cgroup2_view();
    let c = Cleanup::new(&["rt-pure"]);
    let mut plan = defaults::level_plan("rt-pure", vec!["/bin/sleep".into(), "1000".into()], false)
        .expect("ad hoc plan");
    // A pure cgroup2 view of a hybrid host has none of the controllers v1 holds (memory, pids):
    // no limits, the cgroup itself is what this test follows.
    plan.cgroup.limits = Default::default();
    let pf = plan_file(c.dir.path(), plan);
    let o = lxnest(&["start", "-P", c.p(), pf.to_str().expect("utf-8")]);
    assert!(o.status.success(), "start: {}", text(&o));
    let running = cgroup_dirs("rt-pure");
    assert_eq!(running.len(), 1, "one hierarchy, one cgroup: {running:?}");
    assert!(running[0].starts_with("/sys/fs/cgroup"), "{running:?}");
    let o = lxnest(&["stop", "-n", "rt-pure", "-P", c.p(), "-t", "1"]);
    assert!(o.status.success(), "stop: {}", text(&o));
    assert!(cgroup_dirs("rt-pure").is_empty(), "cgroup left after stop");
    for step in inject::STEPS {
        let o = Command::new(bin())
            .args(["start", "-P", c.p(), pf.to_str().expect("utf-8")])
            .env(inject::ENV, step)
            .output()
            .expect("spawn");
        assert!(!o.status.success(), "step {step} must fail: {}", text(&o));
        assert!(
            !c.dir.path().join("rt-pure").exists(),
            "step {step}: state dir left behind"
        );
        let left = cgroup_dirs("rt-pure");
        assert!(left.is_empty(), "step {step}: cgroup left behind: {left:?}");
    }
    0
}
