//! The translation of config.json files shaped like the ones Podman, containerd and `runc spec`
//! write.

use super::*;
use crate::plan::host::CgroupMode;
use serde_json::{json, Value};

fn ctx() -> Context {
    Context {
        name: "c1".into(),
        bundle: "/b".into(),
        file: "/b/config.json".into(),
        depth: 1,
        cgroup_mode: CgroupMode::Hybrid,
        kernel: Some((6, 1)),
    }
}

/// A config like `runc spec` writes, with a user namespace.
fn base() -> Value {
    json!({
        "ociVersion": "1.0.2",
        "process": {
            "terminal": false,
            "user": {"uid": 1000, "gid": 1000, "additionalGids": [10]},
            "args": ["sh", "-c", "echo hi"],
            "env": ["PATH=/usr/bin:/bin", "TERM=xterm"],
            "cwd": "/work",
            "capabilities": {
                "bounding": ["CAP_CHOWN", "CAP_KILL", "CAP_NET_BIND_SERVICE"],
                "effective": ["CAP_CHOWN"],
                "permitted": ["CAP_CHOWN"]
            },
            "rlimits": [{"type": "RLIMIT_NOFILE", "hard": 1024, "soft": 512}],
            "noNewPrivileges": true,
            "oomScoreAdj": 100
        },
        "root": {"path": "rootfs", "readonly": true},
        "hostname": "box",
        "mounts": [
            {"destination": "/proc", "type": "proc", "source": "proc"},
            {"destination": "/dev", "type": "tmpfs", "source": "tmpfs", "options": ["nosuid", "strictatime", "mode=755", "size=65536k"]},
            {"destination": "/dev/pts", "type": "devpts", "source": "devpts"},
            {"destination": "/dev/shm", "type": "bind", "source": "/run/shm-x", "options": ["rbind", "rprivate"]},
            {"destination": "/sys", "type": "sysfs", "source": "sysfs", "options": ["nosuid", "noexec", "nodev", "ro"]},
            {"destination": "/etc/hosts", "type": "bind", "source": "/var/lib/x/hosts", "options": ["bind", "rprivate", "ro"]},
            {"destination": "/data", "source": "data", "options": ["rbind"]},
            {"destination": "/tmp", "type": "tmpfs", "source": "tmpfs", "options": ["nosuid", "nodev", "size=1m"]}
        ],
        "annotations": {"io.podman.annotations.autoremove": "TRUE"},
        "linux": {
            "uidMappings": [{"containerID": 0, "hostID": 200000, "size": 65536}],
            "gidMappings": [{"containerID": 0, "hostID": 200000, "size": 65536}],
            "sysctl": {"net.ipv4.ping_group_range": "0 0"},
            "resources": {
                "devices": [{"allow": false, "access": "rwm"}],
                "memory": {"limit": 268435456},
                "pids": {"limit": 2048},
                "cpu": {"quota": 50000, "period": 100000}
            },
            "cgroupsPath": "/libpod_parent/libpod-c1",
            "namespaces": [{"type": "pid"}, {"type": "network"}, {"type": "ipc"}, {"type": "uts"}, {"type": "mount"}, {"type": "user"}, {"type": "cgroup"}],
            "devices": [{"path": "/dev/fuse", "type": "c", "major": 10, "minor": 229}],
            "maskedPaths": ["/proc/kcore", "/sys/firmware"],
            "readonlyPaths": ["/proc/bus"],
            "seccomp": {
                "defaultAction": "SCMP_ACT_ERRNO",
                "architectures": ["SCMP_ARCH_X86_64"],
                "syscalls": [{"names": ["read", "write", "exit_group"], "action": "SCMP_ACT_ALLOW"}]
            }
        }
    })
}

fn run(v: &Value) -> Result<Translated, OciError> {
    parse(&v.to_string(), &ctx())
}

#[test]
fn a_runc_style_config_translates_field_by_field() {
    let t = run(&base()).expect("translates");
    let p = &t.plan;
    assert_eq!(p.init.command, ["sh", "-c", "echo hi"]);
    assert_eq!(
        p.init.environment.get("TERM").map(String::as_str),
        Some("xterm")
    );
    assert_eq!(p.init.hostname, "box");
    assert_eq!(
        p.rootfs,
        crate::plan::model::RootfsPlan::Dir("/b/rootfs".into())
    );
    assert_eq!(p.capabilities, ["chown", "kill", "net_bind_service"]);
    let map = p.idmap.as_ref().expect("user namespace");
    assert_eq!(
        (map.uid[0].inside, map.uid[0].outside, map.uid[0].count),
        (0, 200000, 65536)
    );
    assert_eq!(p.cgroup.path, "libpod_parent/libpod-c1");
    assert!(t.cgroup_absolute);
    assert_eq!(p.cgroup.limits.memory, Some(268435456));
    assert_eq!(p.cgroup.limits.pids, Some(2048));
    assert_eq!(p.cgroup.limits.cpu, Some((50000, 100000)));
    assert!(p
        .devices
        .iter()
        .any(|d| d.path == "/dev/fuse" && d.major == 10));
    assert!(p.devices.iter().any(|d| d.path == "/dev/null"));
    // lxnest's own /proc, /dev, /sys replace the engine's; the rest are kept, in order.
    let targets: Vec<&str> = p.mounts.iter().map(|m| m.target.as_str()).collect();
    assert_eq!(targets, ["/etc/hosts", "/data", "/tmp"]);
    assert_eq!(p.mounts[1].source, "/b/data");
    assert_eq!(p.mounts[0].options, ["bind", "ro"]);
    assert_eq!(p.mounts[2].options, ["nosuid", "nodev", "size=1m"]);
    assert_eq!(p.seccomp.own.rules.len(), 3);
    assert!(!p.landlock.enabled && p.runtime.is_none());
    let pr = &t.process;
    assert_eq!(
        (pr.uid, pr.gid, pr.additional_gids.clone()),
        (1000, 1000, vec![10])
    );
    assert_eq!(pr.cwd, "/work");
    assert_eq!(pr.rlimits[0].resource, 7);
    assert!(pr.no_new_privileges && pr.readonly_root);
    assert_eq!(pr.masked_paths, ["/proc/kcore", "/sys/firmware"]);
    assert_eq!(
        pr.sysctl
            .get("net.ipv4.ping_group_range")
            .map(String::as_str),
        Some("0 0")
    );
}

fn refused(v: Value) -> String {
    match run(&v) {
        Err(e) => e.to_string(),
        Ok(_) => panic!("accepted: {v}"),
    }
}

fn with(path: &[&str], value: Value) -> Value {
    let mut v = base();
    let mut at = &mut v;
    for k in &path[..path.len() - 1] {
        at = at.get_mut(*k).expect("path exists");
    }
    at[path[path.len() - 1]] = value;
    v
}

#[test]
fn security_relevant_fields_lxnest_cannot_apply_are_refused_by_name() {
    let cases = [
        (
            with(
                &["linux", "namespaces"],
                json!([{"type": "pid"}, {"type": "ipc"}, {"type": "uts"}, {"type": "mount"}, {"type": "user"}]),
            ),
            "`linux.namespaces`",
        ),
        (
            with(
                &["linux", "namespaces"],
                json!([{"type": "pid"}, {"type": "network", "path": "/run/netns/x"}, {"type": "ipc"}, {"type": "uts"}, {"type": "mount"}]),
            ),
            "linux.namespaces[1].path",
        ),
        (
            with(&["linux", "cgroupsPath"], json!("machine.slice:libpod:c1")),
            "linux.cgroupsPath",
        ),
        (
            with(&["linux", "cgroupsPath"], json!("/a/../b")),
            "linux.cgroupsPath",
        ),
        (
            with(&["linux", "sysctl"], json!({"kernel.panic": "1"})),
            "linux.sysctl.kernel.panic",
        ),
        (
            with(&["linux", "resources", "blockIO"], json!({"weight": 10})),
            "linux.resources.blockIO",
        ),
        (
            with(
                &["linux", "resources", "memory"],
                json!({"limit": 1, "swap": 5}),
            ),
            "linux.resources.memory.swap",
        ),
        (
            with(&["linux", "intelRdt"], json!({"closID": "x"})),
            "linux.intelRdt",
        ),
        (
            with(&["process", "apparmorProfile"], json!("docker-default")),
            "process.apparmorProfile",
        ),
        (
            with(&["process", "selinuxLabel"], json!("system_u:r")),
            "process.selinuxLabel",
        ),
        (
            with(&["process", "capabilities", "ambient"], json!(["CAP_KILL"])),
            "process.capabilities.ambient",
        ),
        (
            with(
                &["hooks"],
                json!({"createContainer": [{"path": "/bin/true"}]}),
            ),
            "hooks.createContainer",
        ),
        (
            with(
                &["mounts"],
                json!([{"destination": "/dev/foo", "type": "bind", "source": "/x", "options": ["bind"]}]),
            ),
            "mounts[0].destination",
        ),
        (
            with(
                &["mounts"],
                json!([{"destination": "/x", "type": "bind", "source": "/x", "options": ["rbind", "rshared"]}]),
            ),
            "mounts[0].options",
        ),
        (
            with(
                &["linux", "seccomp", "listenerPath"],
                json!("/run/agent.sock"),
            ),
            "linux.seccomp.listenerPath",
        ),
        (
            with(&["annotations", NESTING_ANNOTATION], json!("kubernetes")),
            "org.lxnest.nesting",
        ),
        (
            with(&["linux", "rootfsPropagation"], json!("shared")),
            "linux.rootfsPropagation",
        ),
    ];
    for (v, field) in cases {
        let msg = refused(v);
        assert!(msg.contains(field), "{field} not named in: {msg}");
        assert!(msg.contains("/b/config.json"), "{msg}");
    }
}

#[test]
fn the_nesting_annotation_plans_a_nesting_host_and_needs_a_user_namespace() {
    let v = with(&["annotations", NESTING_ANNOTATION], json!("docker"));
    let t = run(&v).expect("translates");
    assert_eq!(t.plan.runtime, Some(crate::spec::model::Runtime::Docker));
    assert!(t.plan.cgroup.delegate && t.plan.seccomp.allow_nesting);
    let mut privileged = v.clone();
    privileged["linux"]["namespaces"] = json!([{"type": "pid"}, {"type": "network"}, {"type": "ipc"}, {"type": "uts"}, {"type": "mount"}]);
    privileged["linux"]
        .as_object_mut()
        .expect("object")
        .remove("uidMappings");
    privileged["linux"]
        .as_object_mut()
        .expect("object")
        .remove("gidMappings");
    assert!(refused(privileged).contains("linux.uidMappings"));
}

#[test]
fn containerd_s_default_cpu_weight_is_no_setting() {
    let t = run(&with(
        &["linux", "resources", "cpu"],
        json!({"shares": 1024}),
    ))
    .expect("translates");
    assert_eq!(t.plan.cgroup.limits.cpu, None);
}

#[test]
fn no_seccomp_profile_means_lxnest_s_base_policy_not_none() {
    let mut v = base();
    v["linux"]
        .as_object_mut()
        .expect("object")
        .remove("seccomp");
    let t = run(&v).expect("translates");
    assert!(t
        .plan
        .seccomp
        .own
        .rules
        .iter()
        .any(|r| r.syscall == "mount"));
}

#[test]
fn bad_json_names_the_line() {
    let e = parse("{\n \"process\": 3\n}", &ctx()).expect_err("refused");
    assert!(e.to_string().contains("line 2"), "{e}");
}
