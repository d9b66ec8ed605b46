//! Which nesting level this process sits at, from signals any container runtime leaves behind.
//!
//! No single signal is reliable: /.dockerenv survives in images that later boot as VMs (this
//! build machine has one), /proc/1/environ is unreadable in some sandboxes, privileged LXC
//! containers keep the identity uid map. lxnest's own marker is exact; otherwise strong signals
//! mean "at least level 1" and weak ones are only reported.

use super::fsread::{exists, optional, optional_line};
use super::ids::is_identity_map;
use serde::Serialize;
use std::os::unix::fs::MetadataExt;

/// File the lxnest launcher writes in every container: the container's level as a number.
pub const LEVEL_FILE: &str = "/run/lxnest/level";
/// Environment variable the lxnest launcher sets for a container's init: its level.
pub const LEVEL_ENV: &str = "LXNEST_LEVEL";

/// Inode numbers of the initial namespaces (`PROC_*_INIT_INO` in the kernel, fixed since 3.8).
const INIT_USER_NS: u64 = 0xEFFF_FFFD;
const INIT_PID_NS: u64 = 0xEFFF_FFFC;
const INIT_CGROUP_NS: u64 = 0xEFFF_FFFB;

/// One observation about containment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Signal {
    /// What was looked at (`/proc/1/environ container=`).
    pub source: String,
    /// What it says (`lxc`, `present`, `not the initial pid namespace`).
    pub value: String,
    /// Whether it alone shows that this is a container.
    pub strong: bool,
}

/// The nesting level and the evidence for it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NestingFacts {
    /// 0 on the real host; exact when lxnest's marker is present, a lower bound otherwise.
    pub level: u32,
    /// Whether `level` comes from lxnest's marker.
    pub exact: bool,
    /// The runtime that says it made this container (`lxc`, `docker`, `lxnest`), if one does.
    pub runtime: Option<String>,
    /// Everything observed, strong and weak.
    pub signals: Vec<Signal>,
    /// Things that could not be looked at (`/proc/1/environ: permission denied`).
    pub unreadable: Vec<String>,
}

/// What the reader collected, as plain values, so the combination is testable.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Inputs {
    pub marker_file: Option<String>,
    pub marker_env: Option<String>,
    /// `Some(None)`: environ readable without `container=`; `None`: unreadable.
    pub pid1_container: Option<Option<String>>,
    pub systemd_container: Option<String>,
    pub dockerenv: bool,
    pub containerenv: bool,
    pub uid_map: Option<String>,
    pub user_ns_ino: Option<u64>,
    pub pid_ns_ino: Option<u64>,
    pub cgroup_ns_ino: Option<u64>,
    pub seccomp_filters: Option<u32>,
    /// What the cgroup paths suggest (see [`cgroup_hint`]).
    pub cgroup_hint: Option<String>,
}

/// Container runtimes name their cgroups recognizably.
const RUNTIME_CGROUP_MARKS: &[&str] = &[
    "lxc.payload",
    "/lxc/",
    "/docker",
    "docker-",
    "libpod-",
    "/kubepods",
    "machine.slice",
    "lxnest",
];

/// A weak containment hint from cgroups: a cgroup mount whose root is not `/` while this
/// process's cgroup reads `/` (a bind of the parent's subtree seen through a cgroup namespace),
/// or a cgroup path named by a container runtime.
pub(crate) fn cgroup_hint(mounts: &[super::mountinfo::Mount], self_cgroup: &str) -> Option<String> {
    let ms = super::cgroup::memberships(self_cgroup);
    let at_root = ms.iter().any(|m| m.path == "/");
    if at_root {
        if let Some(m) = mounts
            .iter()
            .find(|m| (m.fstype == "cgroup" || m.fstype == "cgroup2") && m.root != "/")
        {
            return Some(format!(
                "{} mounted from {} while /proc/self/cgroup shows /",
                m.mount_point, m.root
            ));
        }
    }
    ms.iter()
        .find(|m| {
            RUNTIME_CGROUP_MARKS
                .iter()
                .any(|mark| m.path.contains(mark))
        })
        .map(|m| format!("cgroup path {}", m.path))
}

/// Combines the inputs into a level.
pub(crate) fn combine(i: &Inputs) -> NestingFacts {
    let mut signals = Vec::new();
    let mut unreadable = Vec::new();
    let mut runtime = None;
    let mut sig = |source: &str, value: String, strong: bool| {
        signals.push(Signal {
            source: source.into(),
            value,
            strong,
        })
    };

    let marker = i
        .marker_file
        .as_deref()
        .and_then(|t| t.trim().parse::<u32>().ok().map(|l| (LEVEL_FILE, l)))
        .or_else(|| {
            i.marker_env
                .as_deref()
                .and_then(|t| t.trim().parse::<u32>().ok().map(|l| (LEVEL_ENV, l)))
        });
    if let Some((src, l)) = marker {
        sig(src, l.to_string(), l > 0);
        runtime = Some("lxnest".to_string());
    }
    match &i.pid1_container {
        Some(Some(v)) => {
            sig("/proc/1/environ container=", v.clone(), true);
            runtime.get_or_insert(v.clone());
        }
        Some(None) => {}
        None => unreadable.push("/proc/1/environ".to_string()),
    }
    if let Some(v) = &i.systemd_container {
        sig("/run/systemd/container", v.clone(), true);
        runtime.get_or_insert(v.clone());
    }
    if i.containerenv {
        sig("/run/.containerenv", "present".into(), true);
        runtime.get_or_insert("podman".into());
    }
    if let Some(map) = &i.uid_map {
        if !is_identity_map(map) {
            sig("/proc/self/uid_map", "not the identity map".into(), true);
        }
    } else {
        unreadable.push("/proc/self/uid_map".into());
    }
    let ns = |ino: Option<u64>, init: u64| ino.is_some_and(|v| v != init);
    if ns(i.user_ns_ino, INIT_USER_NS) {
        sig(
            "/proc/self/ns/user",
            "not the initial user namespace".into(),
            true,
        );
    }
    if ns(i.pid_ns_ino, INIT_PID_NS) {
        sig(
            "/proc/self/ns/pid",
            "not the initial pid namespace".into(),
            true,
        );
    }
    // Weak: systemd services and sandboxes use cgroup namespaces and seccomp on hosts too, and
    // /.dockerenv outlives the container an image was built in.
    if ns(i.cgroup_ns_ino, INIT_CGROUP_NS) {
        sig(
            "/proc/self/ns/cgroup",
            "not the initial cgroup namespace".into(),
            false,
        );
    }
    if let Some(n) = i.seccomp_filters.filter(|n| *n > 0) {
        sig("/proc/self/status Seccomp_filters", n.to_string(), false);
    }
    if let Some(h) = &i.cgroup_hint {
        sig("cgroups", h.clone(), false);
    }
    if i.dockerenv {
        sig("/.dockerenv", "present".into(), false);
        let strong_other = signals.iter().any(|s| s.strong);
        if strong_other {
            runtime.get_or_insert("docker".into());
        }
    }
    let contained = signals.iter().any(|s| s.strong);
    let level = match marker {
        Some((_, l)) => l,
        None => u32::from(contained),
    };
    NestingFacts {
        level,
        exact: marker.is_some(),
        runtime: if contained { runtime } else { None },
        signals,
        unreadable,
    }
}

/// The `container=` value of an environ text (NUL-separated).
pub(crate) fn container_var(environ: &[u8]) -> Option<String> {
    environ
        .split(|b| *b == 0)
        .find_map(|kv| kv.strip_prefix(b"container="))
        .map(|v| String::from_utf8_lossy(v).into_owned())
}

fn ns_ino(kind: &str) -> Option<u64> {
    std::fs::metadata(format!("/proc/self/ns/{kind}"))
        .ok()
        .map(|m| m.ino())
}

/// Reads the signals. `seccomp_filters` comes from /proc/self/status and `cgroup_hint` from
/// the mounts, both read by the caller.
pub(crate) fn read(seccomp_filters: Option<u32>, cgroup_hint: Option<String>) -> NestingFacts {
    let inputs = Inputs {
        marker_file: optional(LEVEL_FILE),
        marker_env: std::env::var(LEVEL_ENV).ok(),
        pid1_container: std::fs::read("/proc/1/environ")
            .ok()
            .map(|e| container_var(&e)),
        systemd_container: optional_line("/run/systemd/container").filter(|v| !v.is_empty()),
        dockerenv: exists("/.dockerenv"),
        containerenv: exists("/run/.containerenv"),
        uid_map: optional("/proc/self/uid_map"),
        user_ns_ino: ns_ino("user"),
        pid_ns_ino: ns_ino("pid"),
        cgroup_ns_ino: ns_ino("cgroup"),
        seccomp_filters,
        cgroup_hint,
    };
    combine(&inputs)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn host() -> Inputs {
        Inputs {
            pid1_container: Some(None),
            uid_map: Some("0 0 4294967295\n".into()),
            user_ns_ino: Some(INIT_USER_NS),
            pid_ns_ino: Some(INIT_PID_NS),
            cgroup_ns_ino: Some(INIT_CGROUP_NS),
            seccomp_filters: Some(0),
            ..Inputs::default()
        }
    }

    #[test]
    fn plain_host_is_level_0() {
        let f = combine(&host());
        assert_eq!((f.level, f.exact, f.runtime.clone()), (0, false, None));
        assert!(f.signals.is_empty());
    }

    #[test]
    fn stale_dockerenv_and_unreadable_environ_on_a_vm_stay_level_0() {
        // This build machine: a Firecracker VM booted from a Docker image.
        let f = combine(&Inputs {
            dockerenv: true,
            pid1_container: None,
            ..host()
        });
        assert_eq!(f.level, 0);
        assert_eq!(f.runtime, None);
        assert_eq!(f.unreadable, vec!["/proc/1/environ".to_string()]);
        assert!(!f.signals[0].strong);
    }

    #[test]
    fn privileged_lxc_is_seen_through_environ_and_namespaces() {
        let f = combine(&Inputs {
            pid1_container: Some(Some("lxc".into())),
            pid_ns_ino: Some(4026532201),
            cgroup_ns_ino: Some(4026532202),
            seccomp_filters: Some(1),
            ..host()
        });
        assert_eq!(f.level, 1);
        assert_eq!(f.runtime.as_deref(), Some("lxc"));
        assert_eq!(f.signals.iter().filter(|s| s.strong).count(), 2);
    }

    #[test]
    fn docker_without_container_env() {
        let f = combine(&Inputs {
            dockerenv: true,
            pid_ns_ino: Some(4026532300),
            ..host()
        });
        assert_eq!(f.level, 1);
        assert_eq!(f.runtime.as_deref(), Some("docker"));
    }

    #[test]
    fn lxnest_marker_is_exact_and_wins() {
        let f = combine(&Inputs {
            marker_file: Some("2\n".into()),
            marker_env: Some("1".into()),
            uid_map: Some("0 100000 65536\n".into()),
            ..host()
        });
        assert_eq!((f.level, f.exact), (2, true));
        assert_eq!(f.runtime.as_deref(), Some("lxnest"));
        let env_only = combine(&Inputs {
            marker_env: Some("1".into()),
            user_ns_ino: Some(1),
            ..host()
        });
        assert_eq!((env_only.level, env_only.exact), (1, true));
        let garbage = combine(&Inputs {
            marker_file: Some("x".into()),
            ..host()
        });
        assert!(!garbage.exact);
    }

    #[test]
    fn cgroup_hints_are_weak() {
        use crate::host::mountinfo::parse;
        let (m, _) = parse(
            "1 0 0:1 / / rw - ext4 a rw\n2 1 0:2 /lxc/c1 /sys/fs/cgroup rw - cgroup2 cgroup2 rw\n",
        );
        let h = cgroup_hint(&m, "0::/\n").expect("hint");
        assert!(h.contains("mounted from /lxc/c1"), "{h}");
        assert_eq!(
            cgroup_hint(&[], "0::/system.slice/docker-abc.scope\n").as_deref(),
            Some("cgroup path /system.slice/docker-abc.scope")
        );
        assert_eq!(cgroup_hint(&[], "0::/user.slice/user-1000.slice\n"), None);
        let f = combine(&Inputs {
            cgroup_hint: Some("cgroup path /docker/abc".into()),
            ..host()
        });
        assert_eq!(f.level, 0, "a hint alone does not make a container");
        assert_eq!(f.signals.len(), 1);
    }

    #[test]
    fn environ_parsing() {
        assert_eq!(
            container_var(b"PATH=/bin\0container=lxc\0TERM=linux\0").as_deref(),
            Some("lxc")
        );
        assert_eq!(container_var(b"PATH=/bin\0"), None);
    }
}
