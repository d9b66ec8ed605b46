//! `lxnest-oci` driven as an engine drives it (runc's command line: `--root DIR create --bundle B
//! --pid-file F ID`, `start`, `state`, `exec --process`, `kill`, `delete`) on bundles the test
//! makes from this machine's static busybox. Root: the containers are real.

mod support;
use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use support::*;

fn oci(root: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_lxnest-oci"))
        .arg("--root")
        .arg(root)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("lxnest-oci runs")
}

fn ok_oci(root: &Path, args: &[&str]) -> String {
    ok(oci(root, args))
}

fn state(root: &Path, id: &str) -> Value {
    serde_json::from_str(&ok_oci(root, &["state", id])).expect("state JSON")
}

/// A bundle: busybox with a few applets, and `config` as config.json.
fn bundle(dir: &Path, config: &Value) -> PathBuf {
    let b = dir.join("bundle");
    let rootfs = b.join("rootfs");
    for d in ["bin", "proc", "sys", "dev", "etc", "tmp"] {
        std::fs::create_dir_all(rootfs.join(d)).expect("mkdir");
    }
    std::fs::copy("/bin/busybox", rootfs.join("bin/busybox")).expect("busybox-static");
    for a in [
        "sh", "cat", "sleep", "id", "echo", "grep", "pwd", "hostname", "wc",
    ] {
        std::os::unix::fs::symlink("busybox", rootfs.join("bin").join(a)).expect("applet");
    }
    std::fs::write(b.join("config.json"), config.to_string()).expect("config.json");
    b
}

const NAMESPACES: &str =
    r#"[{"type":"pid"},{"type":"network"},{"type":"ipc"},{"type":"uts"},{"type":"mount"}]"#;

fn config(script: &str, user_ns: bool) -> Value {
    let mut ns: Value = serde_json::from_str(NAMESPACES).expect("json");
    let mut linux = json!({
        "sysctl": {"net.ipv4.ping_group_range": "0 0"},
        "maskedPaths": ["/proc/cpuinfo"],
        "readonlyPaths": ["/proc/bus"],
        "resources": {"pids": {"limit": 64}},
        "seccomp": {"defaultAction": "SCMP_ACT_ALLOW",
                    "syscalls": [{"names": ["mknod", "mknodat"], "action": "SCMP_ACT_ERRNO"}]}
    });
    if user_ns {
        ns.as_array_mut()
            .expect("array")
            .push(json!({"type": "user"}));
        linux["uidMappings"] = json!([{"containerID": 0, "hostID": 300000, "size": 65536}]);
        linux["gidMappings"] = json!([{"containerID": 0, "hostID": 300000, "size": 65536}]);
    }
    linux["namespaces"] = ns;
    json!({
        "ociVersion": "1.0.2",
        "process": {
            "user": {"uid": 1000, "gid": 1000, "additionalGids": [5]},
            "args": ["/bin/sh", "-c", script],
            "env": ["PATH=/bin", "GREETING=hello"],
            "cwd": "/tmp",
            "noNewPrivileges": true,
            "capabilities": {"bounding": ["CAP_KILL", "CAP_CHOWN"]},
            "rlimits": [{"type": "RLIMIT_NOFILE", "hard": 1000, "soft": 900}]
        },
        "root": {"path": "rootfs", "readonly": true},
        "hostname": "ocibox",
        "mounts": [
            {"destination": "/proc", "type": "proc", "source": "proc"},
            {"destination": "/dev", "type": "tmpfs", "source": "tmpfs", "options": ["nosuid", "strictatime", "mode=755"]},
            {"destination": "/tmp", "type": "tmpfs", "source": "tmpfs", "options": ["nosuid", "size=1m"]}
        ],
        "annotations": {"org.example.test": "yes"},
        "linux": linux
    })
}

const SCRIPT: &str = "echo started $GREETING; pwd; id; hostname; \
    grep -E '^(NoNewPrivs|Seccomp|CapBnd|CapEff):' /proc/self/status; \
    grep 'open files' /proc/self/limits; cat /proc/sys/net/ipv4/ping_group_range; \
    wc -c < /proc/cpuinfo; echo x > /etc/x || echo root-read-only; \
    cat /proc/self/uid_map; exec sleep 1000";

/// Deletes the container however the test ends (a failed assertion must not leave it running).
struct Cleanup(PathBuf, &'static str);

impl Drop for Cleanup {
    fn drop(&mut self) {
        let _ = oci(&self.0, &["delete", "--force", self.1]);
    }
}

/// The container's stdout so far.
fn output_of(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_default()
}

fn lifecycle(user_ns: bool) {
    let dir = traversable_tempdir();
    let root = dir.path().join("state");
    let b = bundle(dir.path(), &config(SCRIPT, user_ns));
    if user_ns {
        // As an engine prepares an image for a user namespace: owned by the mapped root.
        let o = Command::new("chown")
            .args(["-hR", "300000:300000"])
            .arg(b.join("rootfs"))
            .status()
            .expect("chown");
        assert!(o.success());
    }
    let out = dir.path().join("out");
    let err = dir.path().join("err");
    let pid_file = dir.path().join("pid");
    let id = if user_ns {
        "oci-userns-1"
    } else {
        "oci-plain-1"
    };
    let _guard = Cleanup(root.clone(), id);
    let created = Command::new(env!("CARGO_BIN_EXE_lxnest-oci"))
        .arg("--root")
        .arg(&root)
        .args(["create", "--bundle"])
        .arg(&b)
        .arg("--pid-file")
        .arg(&pid_file)
        .arg(id)
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(&out).expect("out"))
        // A file, not a pipe: the container keeps the descriptor (an engine's pipes, read
        // while it runs), so a pipe would see no end-of-file at create's exit.
        .stderr(std::fs::File::create(&err).expect("err"))
        .status()
        .expect("create runs");
    assert!(created.success(), "create: {}", output_of(&err));
    // Created: the init exists and waits at its gate; nothing of the user's process ran.
    let st = state(&root, id);
    assert_eq!(st["status"], "created", "{st}");
    assert_eq!(st["annotations"]["org.example.test"], "yes");
    let pid = st["pid"].as_i64().expect("pid") as i32;
    assert!(Path::new(&format!("/proc/{pid}")).exists());
    let monitor: i32 = std::fs::read_to_string(&pid_file)
        .expect("pid file")
        .trim()
        .parse()
        .expect("pid");
    assert_ne!(
        monitor, pid,
        "the pid file names lxnest's monitor, the init's parent"
    );
    assert!(
        output_of(&out).is_empty(),
        "ran before start: {}",
        output_of(&out)
    );
    let mode = |p: &Path| {
        std::fs::metadata(p)
            .map(|m| std::os::unix::fs::PermissionsExt::mode(&m.permissions()) & 0o777)
            .ok()
    };
    assert_eq!(
        mode(&root),
        Some(0o711),
        "traversable to a mapped root, not listable"
    );
    assert_eq!(
        mode(&root.join(id)),
        Some(0o700),
        "the record and the gate are root's"
    );

    ok_oci(&root, &["start", id]);
    assert!(
        wait_until(|| output_of(&out).contains("uid_map") || output_of(&out).lines().count() >= 12),
        "{}",
        output_of(&out)
    );
    let text = output_of(&out);
    assert_eq!(state(&root, id)["status"], "running");
    assert!(text.contains("started hello"), "{text}");
    assert!(text.contains("\n/tmp\n"), "cwd: {text}");
    assert!(text.contains("uid=1000 gid=1000 groups=5"), "user: {text}");
    assert!(text.contains("ocibox"), "hostname: {text}");
    assert!(text.contains("NoNewPrivs:\t1"), "{text}");
    assert!(text.contains("Seccomp:\t2"), "{text}");
    // CAP_CHOWN (0) and CAP_KILL (5) bound; a non-root user has none effective.
    assert!(text.contains("CapBnd:\t0000000000000021"), "{text}");
    assert!(text.contains("CapEff:\t0000000000000000"), "{text}");
    assert!(text.contains("900                  1000"), "rlimit: {text}");
    assert!(
        text.contains("0\t0") || text.contains("0 0\n") || text.contains("0\t0\n"),
        "sysctl: {text}"
    );
    assert!(
        text.contains("\n0\n"),
        "masked /proc/cpuinfo reads empty: {text}"
    );
    assert!(text.contains("root-read-only"), "{text}");
    // The last line: the init's uid map, a 65,536-id block in a user namespace, the whole
    // range without one.
    let full = text.contains("4294967295");
    assert_eq!(full, !user_ns, "uid map: {text}");
    if user_ns {
        let host_uid = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("status");
        assert!(
            host_uid.lines().any(|l| l.starts_with("Uid:\t301000")),
            "{host_uid}"
        );
    }

    // exec: a process.json as conmon writes it, in the container's namespaces.
    let proc_json = dir.path().join("process.json");
    std::fs::write(&proc_json, json!({"args": ["/bin/sh", "-c", "hostname; id -u; echo $X; pwd"], "env": ["PATH=/bin", "X=from-exec"], "cwd": "/tmp", "user": {"uid": 0, "gid": 0}}).to_string()).expect("process.json");
    let e = ok_oci(
        &root,
        &["exec", "--process", proc_json.to_str().expect("utf-8"), id],
    );
    assert_eq!(e, "ocibox\n0\nfrom-exec\n/tmp\n", "{e}");
    let code = oci(&root, &["exec", id, "/bin/sh", "-c", "exit 7"]);
    assert_eq!(code.status.code(), Some(7));

    // A running container is deleted only with --force; kill by runc's spellings.
    assert!(!oci(&root, &["delete", id]).status.success());
    ok_oci(&root, &["kill", id, "KILL"]);
    assert!(wait_until(|| state(&root, id)["status"] == "stopped"));
    ok_oci(&root, &["delete", id]);
    assert!(!oci(&root, &["state", id]).status.success());
    let lxnest_dir = root.join("lxnest");
    assert!(wait_until(|| std::fs::read_dir(&lxnest_dir)
        .map(|d| d.count() == 0)
        .unwrap_or(true)));
    assert!(std::fs::read_dir(&root)
        .expect("root")
        .all(|e| e.expect("entry").file_name() == "lxnest"));
    assert!(dirs_ending_with(Path::new("/sys/fs/cgroup"), &format!("lxnest-oci/{id}")).is_empty());
}

#[test]
fn oci_root_create_start_exec_kill_delete_without_a_user_namespace() {
    if !root() {
        return;
    }
    lifecycle(false);
}

#[test]
fn oci_root_create_start_exec_kill_delete_in_a_user_namespace() {
    if !root() {
        return;
    }
    lifecycle(true);
}

#[test]
fn oci_root_a_refused_config_names_the_field_and_leaves_nothing() {
    if !root() {
        return;
    }
    let dir = traversable_tempdir();
    let root = dir.path().join("state");
    let mut c = config("true", false);
    c["linux"]["namespaces"] = json!([{"type": "pid"}, {"type": "network", "path": "/proc/1/ns/net"}, {"type": "ipc"}, {"type": "uts"}, {"type": "mount"}]);
    let b = bundle(dir.path(), &c);
    let o = oci(
        &root,
        &[
            "--log-format",
            "json",
            "create",
            "--bundle",
            b.to_str().expect("utf-8"),
            "bad1",
        ],
    );
    assert!(!o.status.success());
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("linux.namespaces[1].path") && err.contains("config.json"),
        "{err}"
    );
    assert!(std::fs::read_dir(&root)
        .expect("root")
        .all(|e| e.expect("entry").file_name() == "lxnest"));
    // A deleted container: an error, unless forced.
    assert!(!oci(&root, &["delete", "bad1"]).status.success());
    ok_oci(&root, &["delete", "--force", "bad1"]);
    let f: Value = serde_json::from_str(&ok_oci(&root, &["features"])).expect("features JSON");
    assert_eq!(f["ociVersionMax"], "1.2.0");
}
