//! `lxnest attach` against real containers (root): the attached process is exactly as confined
//! as the container's init (status fields, a seccomp-denied syscall, a Landlock-denied write,
//! cgroup), at level 1 and directly into level 2 from the host; Joe's case (the container's
//! /dev/pts unmounted) with and without a terminal; exit codes and signals; errors; no leftovers.
//!
//! Every container runs under its own temporary state directory and is stopped by a guard, also
//! when an assertion fails.

mod support;

use lxnest::attach::{self, AttachOptions, EnvPolicy};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

const LXNEST: &str = env!("CARGO_BIN_EXE_lxnest");

test_children!(join_through_proc);

fn wait_for(what: &str, mut ok: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(40);
    while !ok() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// A container run by `lxnest run` in the background; stopped and reaped on drop.
struct Container {
    name: String,
    dir: tempfile::TempDir,
    child: Child,
}

impl Container {
    fn start(suffix: &str, nested: bool, script: &str) -> Container {
        let name = format!("at{}{suffix}", std::process::id() % 100_000);
        let dir = tempfile::tempdir().expect("tempdir");
        let mut cmd = Command::new(LXNEST);
        cmd.args(["run", "-P"]).arg(dir.path()).args(["-n", &name]);
        if nested {
            cmd.arg("--nested");
        }
        let child = cmd
            .args(["--", "/bin/sh", "-c", script])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn lxnest run");
        let c = Container { name, dir, child };
        let state = c.dir.path().join(&c.name).join("state.json");
        wait_for("the container's state", || state.is_file());
        c
    }

    fn state(&self) -> serde_json::Value {
        let p = self.dir.path().join(&self.name).join("state.json");
        serde_json::from_str(&std::fs::read_to_string(p).expect("state.json")).expect("state json")
    }

    fn pid(&self) -> i32 {
        self.state()["pid"].as_i64().expect("pid") as i32
    }

    fn opts(&self, name: &str, script: &str) -> AttachOptions {
        AttachOptions {
            name: name.into(),
            state_dir: self.dir.path().to_path_buf(),
            command: vec!["/bin/sh".into(), "-c".into(), script.into()],
            env: EnvPolicy {
                clear: true,
                ..Default::default()
            },
            ..Default::default()
        }
    }

    fn cli(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(LXNEST);
        cmd.arg("attach").arg("-P").arg(self.dir.path()).args(args);
        cmd
    }
}

impl Drop for Container {
    fn drop(&mut self) {
        let _ = Command::new(LXNEST)
            .args(["stop", "-t", "1", "-n", &self.name, "-P"])
            .arg(self.dir.path())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// `key -> value` of the confinement lines of a /proc/PID/status dump between two markers.
fn status_fields(out: &str, begin: &str, end: &str) -> BTreeMap<String, String> {
    let part = out
        .split(begin)
        .nth(1)
        .and_then(|r| r.split(end).next())
        .unwrap_or("");
    part.lines()
        .filter_map(|l| l.split_once(':'))
        .filter(|(k, _)| k.starts_with("Cap") || k.starts_with("Seccomp") || *k == "NoNewPrivs")
        .map(|(k, v)| (k.to_string(), v.trim().to_string()))
        .collect()
}

fn section<'a>(out: &'a str, begin: &str, end: &str) -> &'a str {
    out.split(begin)
        .nth(1)
        .and_then(|r| r.split(end).next())
        .unwrap_or("")
        .trim()
}

/// The init records what a denied syscall and a Landlock-denied write do to it, then sleeps.
const INIT_PROBES: &str =
    "unshare -U true 2>/tmp/init-unshare; (echo x > /dev/lxnest-init) 2>/tmp/init-shm; exec sleep 600";

/// The attached process dumps its own and the init's confinement and tries the same things.
const COMPARE: &str = "echo '<self>'; cat /proc/self/status; echo '<init>'; cat /proc/1/status; echo '<cg-self>'; \
cat /proc/self/cgroup; echo '<cg-init>'; cat /proc/1/cgroup; echo '<unshare>'; unshare -U true 2>&1; \
echo '<shm>'; (echo x > /dev/lxnest-attached) 2>&1; echo '<init-unshare>'; cat /tmp/init-unshare; \
echo '<init-shm>'; cat /tmp/init-shm; echo '<end>'";

fn assert_same_confinement(out: &str, filters: &str) {
    let me = status_fields(out, "<self>", "<init>");
    let init = status_fields(out, "<init>", "<cg-self>");
    assert!(me.len() >= 8, "status fields missing:\n{out}");
    assert_eq!(me, init, "attached status differs from the init's:\n{out}");
    assert_eq!(
        me.get("Seccomp_filters").map(String::as_str),
        Some(filters),
        "{out}"
    );
    assert_eq!(
        section(out, "<cg-self>", "<cg-init>"),
        section(out, "<cg-init>", "<unshare>"),
        "cgroups differ:\n{out}"
    );
    let denied = "Operation not permitted";
    assert!(
        section(out, "<unshare>", "<shm>").contains(denied),
        "unshare not denied for the attached process:\n{out}"
    );
    assert!(
        section(out, "<init-unshare>", "<init-shm>").contains(denied),
        "unshare not denied for the init:\n{out}"
    );
    assert!(
        section(out, "<shm>", "<init-unshare>").contains("Permission denied"),
        "Landlock did not deny the attached write:\n{out}"
    );
    assert!(
        section(out, "<init-shm>", "<end>").contains("Permission denied"),
        "Landlock did not deny the init's write:\n{out}"
    );
}

#[test]
fn attach_root_level1_is_confined_like_init() {
    if !support::root() {
        return;
    }
    support::use_built_binary();
    // Controls: outside the container the same attempts succeed, so a denial inside is the
    // container's confinement.
    assert!(Command::new("unshare")
        .args(["-U", "true"])
        .status()
        .expect("unshare")
        .success());
    let c = Container::start("c", false, INIT_PROBES);
    let init = c.pid();
    // As the container's root user seen from the host (mapped in the container's tmpfs).
    let root_uid = c.state()["plan"]["idmap"]["uid"][0]["outside"]
        .as_u64()
        .expect("idmap")
        .to_string();
    let nsenter = Command::new("nsenter")
        .args([
            "-t",
            &init.to_string(),
            "-m",
            "-S",
            &root_uid,
            "-G",
            &root_uid,
            "--",
            "/bin/sh",
            "-c",
        ])
        .arg("echo x > /dev/lxnest-host && rm /dev/lxnest-host")
        .status()
        .expect("nsenter");
    assert!(
        nsenter.success(),
        "the host itself could not write a new entry in the container's /dev"
    );
    wait_for("the init's probes", || {
        std::fs::read_to_string(format!("/proc/{init}/root/tmp/init-shm"))
            .is_ok_and(|s| !s.is_empty())
    });

    // Through the library (the capturing variant) ...
    let out = attach::attach_output(&c.opts(&c.name, COMPARE)).expect("attach_output");
    let s = String::from_utf8_lossy(&out.stdout).into_owned();
    assert_eq!(out.code, 0, "{s}{}", String::from_utf8_lossy(&out.stderr));
    assert_same_confinement(&s, "1");
    // ... and through the CLI.
    let o = c
        .cli(&["-n", &c.name, "--clear-env", "--", "/bin/sh", "-c", COMPARE])
        .output()
        .expect("attach");
    assert_same_confinement(&text(&o), "1");

    // Identity, working directory and environment.
    let mut opts = c.opts(&c.name, "id -u; id -g; pwd; echo \"$container $FOO $PATH\"");
    opts.uid = Some(1000);
    opts.gid = Some(1001);
    opts.cwd = Some("/tmp".into());
    opts.env.set = vec![("FOO".into(), "bar".into())];
    // --keep-var: our PATH wins over the init's.
    opts.env.keep = vec!["PATH".into()];
    let ours = std::env::var("PATH").unwrap_or_default();
    let out = attach::attach_output(&opts).expect("attach as 1000");
    let s = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        s.lines().collect::<Vec<_>>(),
        ["1000", "1001", "/tmp", &format!("lxnest bar {ours}")],
        "{s}"
    );

    // A non-root attached process has no capabilities, as in the init's user namespace.
    let mut opts = c.opts(&c.name, "grep CapEff /proc/self/status");
    opts.uid = Some(1000);
    let out = attach::attach_output(&opts).expect("attach as 1000");
    assert!(String::from_utf8_lossy(&out.stdout).contains("0000000000000000"));

    // Nothing stays behind: only the init in the container's cgroup.
    for (label, dir) in cgroup_dirs(&c) {
        let procs = std::fs::read_to_string(dir.join("cgroup.procs")).expect("cgroup.procs");
        assert_eq!(procs.trim(), init.to_string(), "{label}: stray processes");
    }
}

fn cgroup_dirs(c: &Container) -> Vec<(String, PathBuf)> {
    c.state()["cgroups"]
        .as_array()
        .expect("cgroups")
        .iter()
        .map(|p| {
            (
                p[0].as_str().unwrap_or("").to_string(),
                PathBuf::from(p[1].as_str().unwrap_or("")),
            )
        })
        .collect()
}

#[test]
fn attach_root_level2_from_host_stacks_both_levels() {
    if !support::root() {
        return;
    }
    support::use_built_binary();
    let inner = format!("lxnest run -n inner -- /bin/sh -c '{INIT_PROBES}'");
    let c = Container::start("n", true, &inner);
    let l1 = c.pid();
    let inner_state = PathBuf::from(format!("/proc/{l1}/root/run/lxnest/inner/state.json"));
    wait_for("the level-2 container", || inner_state.is_file());
    let st: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&inner_state).expect("read")).expect("json");
    let l2_filters = st["enforced"]["seccomp_filters"].as_u64().expect("filters");
    assert_eq!(
        l2_filters, 2,
        "the level-2 init stacks level 1's and its own filter"
    );
    wait_for("the level-2 init's probes", || {
        let out = attach::attach_output(&c.opts(&format!("{}/inner", c.name), "cat /tmp/init-shm"));
        out.is_ok_and(|o| !o.stdout.is_empty())
    });

    let path = format!("{}/inner", c.name);
    let out = attach::attach_output(&c.opts(&path, COMPARE)).expect("attach to level 2");
    let s = String::from_utf8_lossy(&out.stdout).into_owned();
    assert_eq!(out.code, 0, "{s}{}", String::from_utf8_lossy(&out.stderr));
    assert_same_confinement(&s, "2");
    // The attached process is in the level-2 pid namespace: it sees the level-2 init as pid 1.
    let o = c
        .cli(&[
            "-n",
            &path,
            "--",
            "/bin/sh",
            "-c",
            "cat /proc/1/cmdline | tr '\\0' ' '; hostname",
        ])
        .output()
        .expect("cli");
    assert!(
        text(&o).contains("sleep 600") && text(&o).contains("inner"),
        "{}",
        text(&o)
    );
    // A bare nested name is found through the nesting host.
    let o = c
        .cli(&["-n", "inner", "--", "/bin/hostname"])
        .output()
        .expect("cli");
    assert_eq!(
        String::from_utf8_lossy(&o.stdout).trim(),
        "inner",
        "{}",
        text(&o)
    );

    // Level 1 itself delegates its cgroup with an init leaf, as the planner plans every nesting
    // host (also one without a spec): attached processes join the init's leaf, and no `attach`
    // leaf is made (src/attach/cgroup.rs's unit tests cover a delegated plan without one).
    let o = c
        .cli(&[
            "-n",
            &c.name,
            "--",
            "/bin/sh",
            "-c",
            "cat /proc/self/cgroup; grep Seccomp_filters /proc/self/status",
        ])
        .output()
        .expect("cli");
    let t = text(&o);
    assert!(
        t.contains("0::/init") && t.contains("Seccomp_filters:\t1"),
        "{t}"
    );
    for (label, dir) in cgroup_dirs(&c) {
        assert!(
            !dir.join("attach").exists(),
            "{label}: attach leaf left behind"
        );
    }
}

#[test]
fn attach_root_joe_works_without_the_containers_devpts() {
    if !support::root() {
        return;
    }
    support::use_built_binary();
    let c = Container::start("j", false, "exec sleep 600");
    let pid = c.pid().to_string();
    let umount = Command::new("nsenter")
        .args(["-t", &pid, "-m", "umount", "/dev/pts"])
        .status()
        .expect("nsenter");
    assert!(
        umount.success(),
        "could not unmount the container's /dev/pts"
    );
    let diag =
        "grep -c devpts /proc/mounts; ls -A /dev/pts | wc -l; test -t 0 && echo TTY-OK; exit 4";

    // Pipes.
    let o = c
        .cli(&["-n", &c.name, "--", "/bin/sh", "-c", diag])
        .stdin(Stdio::null())
        .output()
        .expect("attach");
    assert_eq!(o.status.code(), Some(4), "{}", text(&o));
    let lines: Vec<String> = String::from_utf8_lossy(&o.stdout)
        .lines()
        .map(String::from)
        .collect();
    assert_eq!(lines, ["0", "0"], "{}", text(&o));

    // A terminal: `script` gives lxnest a pty as stdin, so attach allocates one for the command.
    let cmdline = format!(
        "{LXNEST} attach -P {} -n {} -- /bin/sh -c '{diag}'",
        c.dir.path().display(),
        c.name
    );
    let mut feeder = Command::new("sleep")
        .arg("30")
        .stdout(Stdio::piped())
        .spawn()
        .expect("sleep");
    let o = Command::new("script")
        .args(["-qec", &cmdline, "/dev/null"])
        .stdin(feeder.stdout.take().expect("pipe"))
        .output()
        .expect("script");
    let _ = feeder.kill();
    let _ = feeder.wait();
    let t = text(&o);
    assert!(t.contains("TTY-OK"), "no terminal in the container:\n{t}");
    assert!(t.lines().next().is_some_and(|l| l.trim() == "0"), "{t}");
    assert_eq!(o.status.code(), Some(4), "{t}");
}

#[test]
fn attach_root_exit_codes_and_signals_pass_through() {
    if !support::root() {
        return;
    }
    support::use_built_binary();
    let c = Container::start("s", false, "exec sleep 600");
    let code = |script: &str| {
        c.cli(&["-n", &c.name, "--", "/bin/sh", "-c", script])
            .status()
            .expect("attach")
            .code()
    };
    assert_eq!(code("exit 7"), Some(7));
    assert_eq!(code("kill -KILL $$"), Some(137));
    assert_eq!(code("/nonexistent/cmd"), Some(127));
    let direct = |cmd: &str| {
        c.cli(&["-n", &c.name, "--", cmd])
            .status()
            .expect("attach")
            .code()
    };
    assert_eq!(direct("/nonexistent/cmd"), Some(127));
    assert_eq!(direct("no-such-command"), Some(127));
    assert_eq!(direct("/etc/hostname"), Some(126));
    // stdin passes through in pipe mode.
    let mut child = c
        .cli(&["-n", &c.name, "--", "/bin/sh", "-c", "read l; echo got:$l"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("attach");
    {
        use std::io::Write;
        child
            .stdin
            .take()
            .expect("stdin")
            .write_all(b"hello\n")
            .expect("write");
    }
    let o = child.wait_with_output().expect("wait");
    assert_eq!(String::from_utf8_lossy(&o.stdout).trim(), "got:hello");
    // -t: a terminal even from a pipe; our input goes through it, end-of-file as ^D.
    let mut child = c
        .cli(&[
            "-t",
            "-n",
            &c.name,
            "--",
            "/bin/sh",
            "-c",
            "test -t 0 && echo TTY-OK; read l; echo got:$l",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("attach -t");
    {
        use std::io::Write;
        child
            .stdin
            .take()
            .expect("stdin")
            .write_all(b"typed\n")
            .expect("write");
    }
    let o = child.wait_with_output().expect("wait");
    let t = String::from_utf8_lossy(&o.stdout);
    assert!(t.contains("TTY-OK") && t.contains("got:typed"), "{t}");
    // SIGTERM to lxnest reaches the attached process (which exits 42 from its handler).
    for (sig, name) in [
        (nix::sys::signal::Signal::SIGTERM, "TERM"),
        (nix::sys::signal::Signal::SIGINT, "INT"),
    ] {
        let script = format!("trap 'exit 42' {name}; echo ready; while :; do sleep 0.1; done");
        let mut child = c
            .cli(&["-n", &c.name, "--", "/bin/sh", "-c", &script])
            .stdout(Stdio::piped())
            .spawn()
            .expect("attach");
        let mut first = [0u8; 6];
        use std::io::Read;
        child
            .stdout
            .as_mut()
            .expect("stdout")
            .read_exact(&mut first)
            .expect("ready");
        nix::sys::signal::kill(nix::unistd::Pid::from_raw(child.id() as i32), sig).expect("kill");
        assert_eq!(
            child.wait().expect("wait").code(),
            Some(42),
            "SIG{name} was not forwarded"
        );
    }
}

#[test]
fn attach_root_errors_are_clear() {
    if !support::root() {
        return;
    }
    support::use_built_binary();
    let empty = tempfile::tempdir().expect("tempdir");
    let o = Command::new(LXNEST)
        .args(["attach", "-n", "nope", "-P"])
        .arg(empty.path())
        .args(["--", "true"])
        .output()
        .expect("attach");
    assert!(!o.status.success());
    assert!(text(&o).contains("no container named nope"), "{}", text(&o));

    let c = Container::start("e", false, "exec sleep 600");
    // A state whose init died: a copy of the real state with a pid that no longer exists.
    let stale = tempfile::tempdir().expect("tempdir");
    let mut st = c.state();
    let mut dead = Command::new("true").spawn().expect("true");
    let dead_pid = dead.id();
    dead.wait().expect("wait");
    st["pid"] = serde_json::json!(dead_pid);
    st["name"] = serde_json::json!("ghost");
    std::fs::create_dir(stale.path().join("ghost")).expect("mkdir");
    std::fs::write(stale.path().join("ghost/state.json"), st.to_string()).expect("write");
    let o = Command::new(LXNEST)
        .args(["attach", "-n", "ghost", "-P"])
        .arg(stale.path())
        .args(["--", "true"])
        .output()
        .expect("attach");
    assert!(!o.status.success());
    assert!(text(&o).contains("is not running"), "{}", text(&o));
    let r = attach::attach_output(&AttachOptions {
        name: "ghost".into(),
        state_dir: stale.path().into(),
        ..Default::default()
    });
    assert!(
        matches!(r, Err(attach::AttachError::NotRunning { .. })),
        "{r:?}"
    );

    // After stop: not found, and nothing left in its place.
    let dirs = cgroup_dirs(&c);
    let stop = Command::new(LXNEST)
        .args(["stop", "-t", "1", "-n", &c.name, "-P"])
        .arg(c.dir.path())
        .status()
        .expect("stop");
    assert!(stop.success());
    let o = c
        .cli(&["-n", &c.name, "--", "true"])
        .output()
        .expect("attach");
    assert!(
        !o.status.success() && text(&o).contains("no container named"),
        "{}",
        text(&o)
    );
    for (label, d) in dirs {
        assert!(
            !Path::new(&d).exists(),
            "{label}: {} left behind",
            d.display()
        );
    }
}

/// A two-level stack started with `lxnest start --nested`: the nesting host's `init-nested` keeps
/// no state file for its child, so attach rebuilds it from the hand-off plan; the nesting host
/// delegates its cgroup with an init leaf, which attach joins.
#[test]
fn attach_root_init_nested_stack_with_init_leaf() {
    if !support::root() {
        return;
    }
    support::use_built_binary();
    use lxnest::launch::defaults::level_plan;
    let host = format!("ah{}", std::process::id() % 100_000);
    let mut l1 = level_plan(&host, Vec::new(), true).expect("ad hoc plan");
    l1.cgroup.init_leaf = Some("init".into());
    let mut l2 = level_plan(
        "leaf",
        vec!["/bin/sh".into(), "-c".into(), INIT_PROBES.into()],
        false,
    )
    .expect("ad hoc plan");
    l2.path = format!("{host}/leaf");
    l2.parent = Some(host.clone());
    l2.depth = 2;
    l2.cgroup.path = format!("lxnest/{host}/leaf");
    // The child's ids are the second block of the host's, in the host's own numbering (the
    // defaults above would take them from this machine's /etc/subuid).
    if let Some(m) = l2.idmap.as_mut() {
        m.uid = vec![lxnest::plan::model::IdMapLine {
            inside: 0,
            outside: lxnest::launch::defaults::BLOCK,
            count: lxnest::launch::defaults::BLOCK,
        }];
        m.gid = m.uid.clone();
    }
    let plan = lxnest::plan::model::Plan {
        stack: "attach-test".into(),
        source: "tests/attach_root.rs".into(),
        base_level: 0,
        host_bridge: None,
        containers: vec![l1, l2],
        warnings: Vec::new(),
        reserved: Vec::new(),
    };
    let dir = tempfile::tempdir().expect("tempdir");
    let plan_path = dir.path().join("plan.json");
    std::fs::write(&plan_path, serde_json::to_string(&plan).expect("json")).expect("write");
    struct Stop<'a>(&'a Path, &'a str);
    impl Drop for Stop<'_> {
        fn drop(&mut self) {
            let _ = Command::new(LXNEST)
                .args(["stop", "-t", "1", "-n", self.1, "-P"])
                .arg(self.0)
                .status();
        }
    }
    let _stop = Stop(dir.path(), &host);
    let o = Command::new(LXNEST)
        .args(["start", "--nested", "-P"])
        .arg(dir.path())
        .arg("-f")
        .arg(&plan_path)
        .output()
        .expect("start");
    assert!(o.status.success(), "{}", text(&o));

    let opts = |name: &str, script: &str| AttachOptions {
        name: name.into(),
        state_dir: dir.path().into(),
        command: vec!["/bin/sh".into(), "-c".into(), script.into()],
        env: EnvPolicy {
            clear: true,
            ..Default::default()
        },
        ..Default::default()
    };
    let path = format!("{host}/leaf");
    wait_for("the level-2 init's probes", || {
        attach::attach_output(&opts(&path, "cat /tmp/init-shm")).is_ok_and(|o| !o.stdout.is_empty())
    });
    let out = attach::attach_output(&opts(&path, COMPARE)).expect("attach to level 2");
    let s = String::from_utf8_lossy(&out.stdout).into_owned();
    assert_same_confinement(&s, "2");
    // The nesting host: its init sits in the `init` leaf, and so does the attached process.
    let out = attach::attach_output(&opts(
        &host,
        "cat /proc/self/cgroup; echo; cat /proc/1/cgroup",
    ))
    .expect("attach to level 1");
    let s = String::from_utf8_lossy(&out.stdout).into_owned();
    let (me, init) = s.split_once("\n\n").expect("two dumps");
    assert_eq!(me.trim(), init.trim(), "{s}");
    assert!(me.contains("0::/init"), "{s}");
}

/// The fallback for kernels without pidfd setns (before 5.8): joining through /proc/PID/ns
/// descriptors (the user namespace's parent and the pid namespace first), reaches the same
/// namespaces as the init's.
#[test]
fn attach_root_proc_ns_fallback_joins_every_namespace() {
    if !support::root() {
        return;
    }
    support::use_built_binary();
    let c = Container::start("f", false, "exec sleep 600");
    let pid = c.pid();
    let kinds = ["user", "mnt", "pid", "uts", "ipc", "net", "cgroup"];
    let want: Vec<String> = kinds
        .iter()
        .map(|k| {
            std::fs::read_link(format!("/proc/{pid}/ns/{k}"))
                .expect("ns link")
                .display()
                .to_string()
        })
        .collect();
    let join = attach::ns::prepare(pid, None).expect("prepare");
    assert!(join
        .flags
        .contains(nix::sched::CloneFlags::CLONE_NEWUSER | nix::sched::CloneFlags::CLONE_NEWPID));
    // Joining a user namespace needs a single-threaded caller: a test child (this binary again).
    let pid_text = pid.to_string();
    let want = want.join(",");
    let out = support::child::run(
        "join_through_proc",
        &[("LXNEST_TEST_PID", &pid_text), ("LXNEST_TEST_WANT", &want)],
    );
    assert_eq!(
        out.status.code(),
        Some(0),
        "namespaces differ after the /proc join: {}",
        support::child::describe(&out)
    );
}

/// Child: joins container `LXNEST_TEST_PID` through /proc and forks once more; the grandchild
/// (in the container's pid namespace) compares its /proc/self/ns links with `LXNEST_TEST_WANT`.
/// Exit 0 when equal, 2 when the join did not take the /proc path, 3 when they differ.
fn join_through_proc() -> i32 {
    let pid: i32 = support::child::param("LXNEST_TEST_PID")
        .parse()
        .expect("pid");
    let want = support::child::param("LXNEST_TEST_WANT");
    let kinds = ["user", "mnt", "pid", "uts", "ipc", "net", "cgroup"];
    let join = attach::ns::prepare(pid, None).expect("prepare");
    if join.join().ok() != Some("proc") {
        return 2;
    }
    // SAFETY: this process is single-threaded (a test child started before the harness), so
    // the forked copy may allocate; it reads links and leaves with _exit.
    match unsafe { nix::unistd::fork() } {
        Ok(nix::unistd::ForkResult::Child) => {
            let got: Vec<String> = kinds
                .iter()
                .map(|k| {
                    std::fs::read_link(format!("/proc/self/ns/{k}"))
                        .map(|p| p.display().to_string())
                        .unwrap_or_default()
                })
                .collect();
            // SAFETY: ends the forked grandchild at once.
            unsafe { libc::_exit(if got.join(",") == want { 0 } else { 3 }) }
        }
        Ok(nix::unistd::ForkResult::Parent { child }) => match nix::sys::wait::waitpid(child, None)
        {
            Ok(nix::sys::wait::WaitStatus::Exited(_, c)) => c,
            _ => 4,
        },
        Err(_) => 5,
    }
}

/// A nesting host controls the state files and the mount namespace in which the host resolves
/// its children's cgroup paths: a forged state whose cgroup path is a symlink to a host directory
/// must not make the host write or create anything there.
#[test]
fn attach_root_forged_nested_state_cannot_redirect_host_writes() {
    if !support::root() {
        return;
    }
    support::use_built_binary();
    let canary = tempfile::tempdir().expect("tempdir");
    std::fs::write(canary.path().join("cgroup.procs"), "untouched").expect("write");
    let inner = "lxnest run -n inner -- /bin/sleep 600";
    let c = Container::start("v", true, inner);
    let l1 = c.pid();
    let inner_state = PathBuf::from(format!("/proc/{l1}/root/run/lxnest/inner/state.json"));
    wait_for("the level-2 container", || inner_state.is_file());
    let mut st: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&inner_state).expect("read")).expect("json");
    st["name"] = serde_json::json!("evil");
    st["cgroups"] = serde_json::json!([["pids", "/run/evil-link"]]);
    st["plan"]["cgroup"]["delegate"] = serde_json::json!(true);
    // Written from inside the nesting host, as its own root user would.
    let script = format!(
        "mkdir -p /run/lxnest/evil && ln -s {} /run/evil-link && cat > /run/lxnest/evil/state.json",
        canary.path().display()
    );
    let mut w = c
        .cli(&["-n", &c.name, "--", "/bin/sh", "-c", &script])
        .stdin(Stdio::piped())
        .spawn()
        .expect("attach");
    {
        use std::io::Write;
        w.stdin
            .take()
            .expect("stdin")
            .write_all(st.to_string().as_bytes())
            .expect("write");
    }
    assert!(w.wait().expect("wait").success());

    let o = c
        .cli(&["-n", &format!("{}/evil", c.name), "--", "/bin/true"])
        .output()
        .expect("attach");
    assert!(
        !o.status.success(),
        "attached through a forged cgroup path: {}",
        text(&o)
    );
    assert!(text(&o).contains("cgroup"), "{}", text(&o));
    assert_eq!(
        std::fs::read_to_string(canary.path().join("cgroup.procs")).expect("read"),
        "untouched"
    );
    assert!(
        !canary.path().join("attach").exists(),
        "a leaf was created in a host directory"
    );
}

/// Attach refuses when the process it would join has more seccomp filters than attach would
/// install: here a host-level state that names a level-2 init (two filters) as if it were a
/// level-1 container (one filter from its plan).
#[test]
fn attach_root_refuses_fewer_filters_than_the_init() {
    if !support::root() {
        return;
    }
    support::use_built_binary();
    let c = Container::start("w", true, "lxnest run -n inner -- /bin/sleep 600");
    let l1 = c.pid();
    let inner_state = PathBuf::from(format!("/proc/{l1}/root/run/lxnest/inner/state.json"));
    wait_for("the level-2 container", || inner_state.is_file());
    let inner: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&inner_state).expect("read")).expect("json");
    let inner_pid = inner["pid"].as_i64().expect("pid") as i32;
    let host_pid =
        attach::target::host_pid_of(l1, inner_pid).expect("host pid of the level-2 init");
    let mut st = c.state();
    st["name"] = serde_json::json!("masq");
    st["pid"] = serde_json::json!(host_pid);
    st["pid_start"] =
        serde_json::json!(lxnest::launch::state::start_time(host_pid).expect("start time"));
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::create_dir(dir.path().join("masq")).expect("mkdir");
    std::fs::write(dir.path().join("masq/state.json"), st.to_string()).expect("write");
    let r = attach::attach_output(&AttachOptions {
        name: "masq".into(),
        state_dir: dir.path().into(),
        command: vec!["/bin/true".into()],
        ..Default::default()
    });
    assert!(
        matches!(r, Err(attach::AttachError::Weaker { .. })),
        "{r:?}"
    );
}
