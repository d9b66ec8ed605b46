//! `lxnest check --for lxc` inside real LXC containers (Debian's lxc package): a busybox rootfs
//! with the lxnest binary and the host's libraries bind-mounted read-only, no network
//! (`lxc.net.0.type = empty`). Needs root and lxc-start; every container is stopped and
//! destroyed by a guard, also when an assertion fails.
//!
//! On a hybrid-cgroup host LXC 5 mounts no cgroup filesystem in a container that has a cgroup
//! namespace unless `lxc.mount.auto = cgroup:rw:force` (it expects the container's init to mount
//! them); the tests show both.

mod check_support;

use check_support::{blockers, frozen_binary, is_cap_blocker, own_bounding};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;

/// Capabilities LXC's common.conf drops.
const LXC_DROPS: &[&str] = &[
    "mac_admin",
    "mac_override",
    "sys_time",
    "sys_module",
    "sys_rawio",
];

/// One container at a time: LXC's shared `lxc.pivot` cgroup is removed after each, which must
/// not race with another of these containers stopping.
static SERIAL: std::sync::Mutex<()> = std::sync::Mutex::new(());

struct Container {
    lxcpath: tempfile::TempDir,
    name: String,
    _serial: std::sync::MutexGuard<'static, ()>,
}

impl Container {
    fn path_arg(&self) -> &str {
        self.lxcpath.path().to_str().expect("utf-8 temp path")
    }

    fn lxc(&self, tool: &str, extra: &[&str]) -> std::process::Output {
        self.lxc_cmd(tool, extra).output().expect("run lxc tool")
    }

    fn lxc_cmd(&self, tool: &str, extra: &[&str]) -> Command {
        let mut cmd = Command::new(format!("/usr/bin/{tool}"));
        cmd.args(["-P", self.path_arg(), "-n", &self.name])
            .args(extra);
        cmd
    }
}

impl Drop for Container {
    fn drop(&mut self) {
        let _ = self.lxc("lxc-stop", &["-k"]);
        let out = self.lxc("lxc-destroy", &[]);
        if !out.status.success() {
            eprintln!(
                "lxc-destroy {}: {}",
                self.name,
                String::from_utf8_lossy(&out.stderr)
            );
        }
        // A start that aborts leaves LXC's monitor (and sometimes payload) cgroups behind.
        for hierarchy in std::fs::read_dir("/sys/fs/cgroup")
            .into_iter()
            .flatten()
            .flatten()
        {
            for kind in ["lxc.payload", "lxc.monitor"] {
                let dir = hierarchy.path().join(format!("{kind}.{}", self.name));
                if dir.is_dir() {
                    let _ = std::fs::remove_dir(&dir);
                }
            }
        }
        // The layout may be unified, with the container cgroups directly at /sys/fs/cgroup.
        for kind in ["lxc.payload", "lxc.monitor"] {
            let _ = std::fs::remove_dir(format!("/sys/fs/cgroup/{kind}.{}", self.name));
        }
        // lxc-stop parks its monitor in an `lxc.pivot` cgroup and leaves it; it is empty now
        // (rmdir fails harmlessly if another LXC user has a process in it).
        for hierarchy in std::fs::read_dir("/sys/fs/cgroup")
            .into_iter()
            .flatten()
            .flatten()
        {
            let _ = std::fs::remove_dir(hierarchy.path().join("lxc.pivot"));
        }
        let _ = std::fs::remove_dir("/sys/fs/cgroup/lxc.pivot");
    }
}

/// Options of one test container.
#[derive(Default)]
struct Setup {
    nesting_conf: bool,
    cgroup_force: bool,
    unprivileged: bool,
    /// An LXC seccomp v2 policy replacing common.seccomp.
    seccomp: Option<&'static str>,
}

fn has_lxc() -> bool {
    Command::new("lxc-start")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
        && Path::new("/bin/busybox").exists()
}

fn start(tag: &str, s: &Setup) -> Container {
    let lxcpath = tempfile::Builder::new()
        .prefix("lxnest-check-lxc")
        .tempdir()
        .expect("tempdir");
    // The container's root (uid 100000 when unprivileged) must traverse the path.
    std::fs::set_permissions(lxcpath.path(), std::fs::Permissions::from_mode(0o755))
        .expect("chmod");
    let name = format!("lxnest-check-{}-{tag}", std::process::id());
    let serial = SERIAL
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    let c = Container {
        lxcpath,
        name,
        _serial: serial,
    };
    let dir = c.lxcpath.path().join(&c.name);
    let rootfs = dir.join("rootfs");
    for d in [
        "bin",
        "proc",
        "sys",
        "dev",
        "tmp",
        "run",
        "lxnest",
        "usr/lib/x86_64-linux-gnu",
        "lib64",
    ] {
        std::fs::create_dir_all(rootfs.join(d)).expect("mkdir rootfs");
    }
    std::fs::copy("/bin/busybox", rootfs.join("bin/busybox")).expect("copy busybox");
    // Debian's merged /usr: the loader's /lib64 link points into /lib.
    std::os::unix::fs::symlink("usr/lib", rootfs.join("lib")).expect("symlink lib");
    for applet in ["sh", "sleep", "cat"] {
        std::os::unix::fs::symlink("busybox", rootfs.join("bin").join(applet)).expect("symlink");
    }
    let bin = frozen_binary(&dir);
    let lib64 = std::fs::canonicalize("/lib64").unwrap_or_else(|_| PathBuf::from("/lib64"));
    let mut config = format!(
        "lxc.uts.name = {name}\n\
         lxc.rootfs.path = dir:{rootfs}\n\
         lxc.net.0.type = empty\n\
         lxc.include = /usr/share/lxc/config/common.conf\n\
         lxc.init.cmd = /bin/sleep 600\n\
         lxc.mount.entry = /usr/lib/x86_64-linux-gnu usr/lib/x86_64-linux-gnu none bind,ro 0 0\n\
         lxc.mount.entry = {lib64} lib64 none bind,ro 0 0\n\
         lxc.mount.entry = {bin} lxnest/lxnest none bind,ro,create=file 0 0\n",
        name = c.name,
        rootfs = rootfs.display(),
        lib64 = lib64.display(),
        bin = bin.display(),
    );
    if s.cgroup_force {
        config.push_str("lxc.mount.auto = cgroup:rw:force\n");
    }
    if s.nesting_conf {
        config.push_str("lxc.include = /usr/share/lxc/config/nesting.conf\n");
    }
    if let Some(policy) = s.seccomp {
        let file = dir.join("policy.seccomp");
        std::fs::write(&file, policy).expect("write seccomp policy");
        config.push_str(&format!("lxc.seccomp.profile = {}\n", file.display()));
    }
    if s.unprivileged {
        config.push_str("lxc.idmap = u 0 100000 65536\nlxc.idmap = g 0 100000 65536\n");
        let out = Command::new("chown")
            .args(["-R", "100000:100000"])
            .arg(&rootfs)
            .output()
            .expect("chown");
        assert!(out.status.success());
    }
    std::fs::write(dir.join("config"), config).expect("write config");
    let log = dir.join("start.log");
    let mut cmd = c.lxc_cmd(
        "lxc-start",
        &["-l", "INFO", "-o", log.to_str().expect("utf-8")],
    );
    if s.unprivileged {
        // When newuidmap is on PATH, LXC insists that even root owns the ranges in /etc/subuid;
        // root has none here and the test must not edit /etc/subuid, so LXC writes the maps
        // itself (as root may) when it cannot find the shadow tools. Hooks still need the
        // rest of /usr/bin, so PATH gets a directory of links to it without those two.
        let bin = c.lxcpath.path().join("path-bin");
        std::fs::create_dir(&bin).expect("mkdir path-bin");
        for e in std::fs::read_dir("/usr/bin")
            .expect("read /usr/bin")
            .flatten()
        {
            let n = e.file_name();
            if n != "newuidmap" && n != "newgidmap" {
                std::os::unix::fs::symlink(e.path(), bin.join(&n)).expect("link");
            }
        }
        cmd.env("PATH", format!("{}:/usr/sbin:/sbin", bin.display()));
    }
    let out = cmd.output().expect("run lxc-start");
    assert!(
        out.status.success(),
        "lxc-start failed: {}\n{}",
        String::from_utf8_lossy(&out.stderr),
        std::fs::read_to_string(&log)
            .unwrap_or_default()
            .lines()
            .filter(|l| l.contains("ERROR"))
            .collect::<Vec<_>>()
            .join("\n")
    );
    let out = c.lxc("lxc-wait", &["-s", "RUNNING", "-t", "20"]);
    assert!(out.status.success(), "container did not reach RUNNING");
    c
}

fn check_inside(c: &Container) -> (i32, serde_json::Value) {
    check_inside_for(c, "lxc")
}

fn check_inside_for(c: &Container, kind: &str) -> (i32, serde_json::Value) {
    let out = c.lxc(
        "lxc-attach",
        &[
            "--clear-env",
            "-v",
            "PATH=/bin",
            "--",
            "/lxnest/lxnest",
            "check",
            "--for",
            kind,
            "--output",
            "json",
        ],
    );
    let doc = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "not JSON ({e}): {} / {}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    });
    (out.status.code().unwrap_or(-1), doc)
}

/// The capability blockers expected inside: the lxc preset's capabilities that the host's
/// bounding set or LXC's drops take away.
fn expected_cap_blockers() -> Vec<String> {
    let host = own_bounding();
    let mut want: Vec<String> = lxnest::spec::runtime::builtin("lxc")
        .expect("lxc preset")
        .capabilities
        .iter()
        .filter(|c| !host.contains(c) || LXC_DROPS.contains(&c.as_str()))
        .map(|c| format!("cap_{c} is not in the bounding set"))
        .collect();
    want.sort();
    want
}

fn common_assertions(doc: &serde_json::Value) {
    let n = &doc["facts"]["nesting"];
    assert!(n["level"].as_u64() >= Some(1), "{n}");
    assert_eq!(n["runtime"], "lxc");
    assert!(
        doc["facts"]["seccomp"]["filters"].as_u64() >= Some(1),
        "LXC loads common.seccomp"
    );
    // common.seccomp denies only module and kexec calls: every probe gets through.
    for p in doc["facts"]["probes"].as_array().expect("probes") {
        assert_eq!(p["class"], "allowed", "{p}");
    }
}

#[test]
fn root_lxc_plain_container_lacks_proc_copies_and_cgroups() {
    if !has_lxc() {
        panic!("lxc-start or /bin/busybox missing: install lxc and busybox-static");
    }
    let c = start(
        "plain",
        &Setup {
            nesting_conf: false,
            cgroup_force: false,
            unprivileged: false,
            seccomp: None,
        },
    );
    let (code, doc) = check_inside(&c);
    assert_eq!(code, 1, "blocked");
    common_assertions(&doc);
    let b = blockers(&doc, "lxc");
    let other: Vec<&String> = b.iter().filter(|m| !is_cap_blocker(m)).collect();
    assert_eq!(other.len(), 3, "{b:?}");
    assert!(other[0].starts_with("no unmasked proc mount"), "{b:?}");
    assert!(other[1].starts_with("no unmasked sysfs mount"), "{b:?}");
    assert_eq!(other[2], "no cgroup filesystem is mounted here");
}

#[test]
fn root_lxc_nesting_conf_and_cgroups_leave_only_capabilities() {
    if !has_lxc() {
        panic!("lxc-start or /bin/busybox missing: install lxc and busybox-static");
    }
    let c = start(
        "nesting",
        &Setup {
            nesting_conf: true,
            cgroup_force: true,
            unprivileged: false,
            seccomp: None,
        },
    );
    let (code, doc) = check_inside(&c);
    common_assertions(&doc);
    let mut b = blockers(&doc, "lxc");
    b.sort();
    let want = expected_cap_blockers();
    assert_eq!(b, want);
    assert_eq!(code, if want.is_empty() { 0 } else { 1 });
    let ps = &doc["facts"]["proc_sysfs"];
    assert!(ps["proc"]
        .as_array()
        .expect("proc")
        .iter()
        .any(|m| m["mount_point"] == "/dev/.lxc/proc"
            && m["covered"].as_array().is_some_and(|c| c.is_empty())));
    assert_eq!(
        doc["facts"]["snapshot"]["privileged"], true,
        "identity uid map"
    );
}

#[test]
fn root_lxc_unprivileged_container_is_seen_through_its_uid_map() {
    if !has_lxc() {
        panic!("lxc-start or /bin/busybox missing: install lxc and busybox-static");
    }
    let c = start(
        "unpriv",
        &Setup {
            nesting_conf: true,
            cgroup_force: true,
            unprivileged: true,
            seccomp: None,
        },
    );
    let (_, doc) = check_inside(&c);
    common_assertions(&doc);
    let signals = doc["facts"]["nesting"]["signals"]
        .as_array()
        .expect("signals");
    assert!(signals
        .iter()
        .any(|s| s["source"] == "/proc/self/uid_map" && s["strong"] == true));
    assert_eq!(doc["facts"]["snapshot"]["privileged"], false);
    // Capabilities in its own user namespace still let it mount in a private namespace.
    let b = blockers(&doc, "lxc");
    assert!(b.iter().all(|m| is_cap_blocker(m)), "{b:?}");
}

/// The brief's example: an outer LXC filter answers keyctl with ENOSYS (errno 38), which blocks
/// Docker inside (runc gives each container a session keyring) but not LXC.
const KEYCTL_ENOSYS: &str = "2\ndenylist\n[all]\nkeyctl errno 38\nkexec_load errno 1\n";

#[test]
fn root_lxc_keyctl_filter_blocks_docker_at_level_1() {
    if !has_lxc() {
        panic!("lxc-start or /bin/busybox missing: install lxc and busybox-static");
    }
    let c = start(
        "keyctl",
        &Setup {
            nesting_conf: true,
            cgroup_force: true,
            seccomp: Some(KEYCTL_ENOSYS),
            ..Setup::default()
        },
    );
    let (code, doc) = check_inside_for(&c, "docker");
    assert_eq!(code, 1);
    let keyctl = doc["facts"]["probes"]
        .as_array()
        .expect("probes")
        .iter()
        .find(|p| p["name"] == "keyctl")
        .expect("keyctl probe")
        .clone();
    assert_eq!(keyctl["class"], "denied_by_seccomp", "{keyctl}");
    let v = &doc["verdicts"][0];
    let first = v["blockers"]
        .as_array()
        .expect("blockers")
        .iter()
        .find(|b| b["area"] == "syscall")
        .expect("a syscall blocker")
        .clone();
    assert_eq!(
        first["message"],
        "keyctl returns ENOSYS from an outer seccomp filter"
    );
    assert_eq!(first["fix"], "allow keyctl at level 1");
    let (_, lxc) = check_inside_for(&c, "lxc");
    assert!(blockers(&lxc, "lxc").iter().all(|m| !m.contains("keyctl")));
}
