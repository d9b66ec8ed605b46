//! `features`: what this runtime implements, in the runtime spec's features.json shape.

use serde_json::{json, Value};

/// The features document.
pub fn features() -> Value {
    let seccomp_actions = [
        "SCMP_ACT_ALLOW",
        "SCMP_ACT_ERRNO",
        "SCMP_ACT_KILL",
        "SCMP_ACT_KILL_PROCESS",
        "SCMP_ACT_KILL_THREAD",
        "SCMP_ACT_TRAP",
        "SCMP_ACT_LOG",
    ];
    json!({
        "ociVersionMin": "1.0.0",
        "ociVersionMax": super::OCI_VERSION,
        "hooks": ["prestart", "createRuntime", "poststart", "poststop"],
        "mountOptions": ["ro", "rw", "bind", "rbind", "nosuid", "nodev", "noexec", "noatime",
            "relatime", "defaults", "private", "rprivate", "suid", "dev", "exec", "atime",
            "strictatime", "tmpcopyup", "notmpcopyup"],
        "linux": {
            "namespaces": ["pid", "network", "mount", "ipc", "uts", "user", "cgroup"],
            "cgroup": {"v1": true, "v2": true, "systemd": false, "systemdUser": false},
            "seccomp": {
                "enabled": true,
                "actions": seccomp_actions,
                "operators": ["SCMP_CMP_NE", "SCMP_CMP_LT", "SCMP_CMP_LE", "SCMP_CMP_EQ",
                    "SCMP_CMP_GE", "SCMP_CMP_GT", "SCMP_CMP_MASKED_EQ"],
                "archs": ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"]
            },
            "apparmor": {"enabled": false},
            "selinux": {"enabled": false},
            "intelRdt": {"enabled": false},
            "mountExtensions": {"idmap": {"enabled": false}}
        },
        "annotations": {
            lxnest_core::oci::NESTING_ANNOTATION: "lxc|lxnest|docker|lxd|podman: plan the container as a nesting host for that runtime",
            "org.lxnest.version": env!("CARGO_PKG_VERSION")
        }
    })
}
