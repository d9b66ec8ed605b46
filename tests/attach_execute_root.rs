//! `lxnest execute` (root): a container that is not running, started from a plan with the
//! command as its init, confined by the plan's policies, cleaned up when the command ends; a
//! running container is refused; a stale state's saved plan is reused after cleanup.

mod support;

use lxnest::attach::{self, AttachError, ExecuteOptions};
use lxnest::launch::defaults;
use lxnest::plan::model::Plan;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const LXNEST: &str = env!("CARGO_BIN_EXE_lxnest");

fn plan_file(dir: &Path, name: &str) -> PathBuf {
    let plan = Plan {
        stack: "attach-test".into(),
        source: "tests/attach_execute_root.rs".into(),
        base_level: 0,
        host_bridge: None,
        containers: vec![defaults::level_plan(name, Vec::new(), false).expect("ad hoc plan")],
        warnings: Vec::new(),
        reserved: Vec::new(),
    };
    let p = dir.join("plan.json");
    std::fs::write(&p, serde_json::to_string(&plan).expect("json")).expect("write plan");
    p
}

fn wait_for(what: &str, mut ok: impl FnMut() -> bool) {
    let deadline = Instant::now() + support::PATIENCE;
    while !ok() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Stops whatever is left under a state directory when a test fails.
struct Cleanup(PathBuf, String);

impl Drop for Cleanup {
    fn drop(&mut self) {
        let _ = Command::new(LXNEST)
            .args(["destroy", "-n", &self.1, "-P"])
            .arg(&self.0)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
    }
}

#[test]
fn execute_root_runs_confined_and_cleans_up() {
    if !support::root() {
        return;
    }
    support::use_built_binary();
    let name = format!("ax{}", std::process::id() % 100_000);
    let dir = tempfile::tempdir().expect("tempdir");
    let _g = Cleanup(dir.path().to_path_buf(), name.clone());
    let plan = plan_file(dir.path(), &name);

    // The CLI: the command is the init (pid 1), under the plan's seccomp filter and Landlock.
    // It runs until the test closes its stdin (no time window to hit).
    let script = "echo pid=$$; grep Seccomp_filters /proc/self/status; (echo x > /dev/lxnest-denied) 2>&1; read _; exit 3";
    let mut child = Command::new(LXNEST)
        .args(["execute", "-P"])
        .arg(dir.path())
        .args(["-n", &name, "-f"])
        .arg(&plan)
        .args(["--", "/bin/sh", "-c", script])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("execute");
    let stdin = child.stdin.take();
    let state = dir.path().join(&name).join("state.json");
    wait_for("the state while the command runs", || state.is_file());
    let st: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&state).expect("state")).expect("json");
    let cgroups: Vec<PathBuf> = st["cgroups"]
        .as_array()
        .expect("cgroups")
        .iter()
        .map(|p| PathBuf::from(p[1].as_str().unwrap_or("")))
        .collect();
    assert!(!cgroups.is_empty());

    // While it runs, execute refuses the same container (attach is for running ones).
    let again = ExecuteOptions {
        name: name.clone(),
        state_dir: dir.path().into(),
        plan: None,
        command: vec!["true".into()],
        env: Vec::new(),
        grace: Duration::from_secs(1),
    };
    assert!(matches!(
        attach::execute_output(&again),
        Err(AttachError::Running(_))
    ));

    assert!(
        child.try_wait().expect("try_wait").is_none() && state.is_file(),
        "the command runs until its stdin closes"
    );
    drop(stdin);
    let o = child.wait_with_output().expect("wait");
    let out = String::from_utf8_lossy(&o.stdout);
    assert_eq!(
        o.status.code(),
        Some(3),
        "{out}{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(
        out.contains("pid=1")
            && out.contains("Seccomp_filters:\t1")
            && out.contains("Permission denied"),
        "{out}"
    );
    assert!(!dir.path().join(&name).exists(), "state left behind");
    for d in &cgroups {
        assert!(!d.exists(), "cgroup {} left behind", d.display());
    }
}

#[test]
fn execute_root_library_and_saved_plan_of_a_stale_state() {
    if !support::root() {
        return;
    }
    support::use_built_binary();
    let name = format!("ay{}", std::process::id() % 100_000);
    let dir = tempfile::tempdir().expect("tempdir");
    let _g = Cleanup(dir.path().to_path_buf(), name.clone());
    let text = std::fs::read_to_string(plan_file(dir.path(), &name)).expect("plan");
    let plan: Plan = serde_json::from_str(&text).expect("plan");

    let mut opts = ExecuteOptions {
        name: name.clone(),
        state_dir: dir.path().into(),
        plan: Some(plan.clone()),
        command: vec![
            "/bin/sh".into(),
            "-c".into(),
            "echo $GREETING; echo err >&2; exit 5".into(),
        ],
        env: vec![("GREETING".into(), "hello".into())],
        grace: Duration::from_secs(1),
    };
    let out = attach::execute_output(&opts).expect("execute_output");
    assert_eq!(
        (out.code, out.stdout.as_slice(), out.stderr.as_slice()),
        (5, &b"hello\n"[..], &b"err\n"[..])
    );
    assert!(!dir.path().join(&name).exists());

    // A stale state (its init is gone) keeps the plan: execute cleans up and reuses it.
    let mut dead = Command::new("true").spawn().expect("true");
    let dead_pid = dead.id();
    dead.wait().expect("wait");
    let st = serde_json::json!({
        "name": name, "path": name, "level": 1, "status": "running", "pid": dead_pid, "pid_start": 1,
        "monitor_pid": 0, "cgroups": [], "veth": null, "bridge_created": null,
        "enforced": { "seccomp_filters": 1, "seccomp_insns": 0, "no_new_privs": false, "landlock": "", "apparmor": "", "capabilities": [] },
        "apparmor": "", "plan": plan.containers[0],
    });
    std::fs::create_dir(dir.path().join(&name)).expect("mkdir");
    std::fs::write(dir.path().join(&name).join("state.json"), st.to_string()).expect("write");
    opts.plan = None;
    opts.command = vec!["/bin/sh".into(), "-c".into(), "hostname".into()];
    let out = attach::execute_output(&opts).expect("execute from the saved plan");
    assert_eq!(
        (
            out.code,
            String::from_utf8_lossy(&out.stdout).trim().to_string()
        ),
        (0, name.clone())
    );
    assert!(!dir.path().join(&name).exists());

    // Without a plan or a state: a clear error.
    let r = attach::execute(&opts);
    assert!(matches!(r, Err(AttachError::NotFound { .. })), "{r:?}");
}
