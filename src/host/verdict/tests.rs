//! Verdict logic over hand-built facts: a clean host, then one defect at a time.

use super::*;
use crate::host::facts::{CapFacts, CgroupFacts, DeviceFact, ProcSysfsFacts, SeccompFacts};
use crate::host::kconfig::{Availability, Source};
use crate::host::kernel::{AppArmorFacts, KernelExtras};
use crate::host::level::NestingFacts;
use crate::host::mountinfo::PseudoMount;
use crate::host::probe::{classify, Outcome};
use crate::host::tools::{Tool, ToolFacts};
use crate::host::{cap_names, Delegation, V1Hierarchy};
use crate::plan::host::HostSnapshot;
use crate::spec::runtime::builtin;

const SYSCALLS: &[&str] = &[
    "clone",
    "clone3",
    "unshare",
    "setns",
    "mount",
    "umount2",
    "pivot_root",
    "seccomp",
    "sethostname",
    "keyctl",
    "bpf",
    "move_mount",
    "open_tree",
    "fsopen",
    "fsmount",
];

fn allowed(name: &str) -> ProbeResult {
    ProbeResult {
        name: name.into(),
        syscall: name.into(),
        outcome: Outcome::Returned(0),
        class: ProbeClass::Allowed,
        detail: "succeeded".into(),
    }
}

fn tool(name: &str) -> Tool {
    Tool {
        name: name.into(),
        path: Some(format!("/usr/bin/{name}")),
        setuid_root: true,
    }
}

/// A root shell on a host with everything nesting needs.
fn host() -> Facts {
    let all_caps = cap_names((1u64 << 41) - 1);
    Facts {
        snapshot: HostSnapshot::laptop(),
        uplink: Some("eth0".into()),
        nesting: NestingFacts {
            level: 0,
            exact: false,
            runtime: None,
            signals: vec![],
            unreadable: vec![],
        },
        kernel: KernelExtras {
            release: "6.18.0".into(),
            seccomp_actions: vec!["allow".into(), "user_notif".into()],
            seccomp_allow_cache: true,
            filesystems: [
                "proc", "sysfs", "cgroup", "cgroup2", "tmpfs", "devpts", "mqueue", "overlay",
                "fuse",
            ]
            .map(String::from)
            .to_vec(),
            max_user_namespaces: Some(1000),
            fscrypt: Availability::Yes(Source::Config("CONFIG_FS_ENCRYPTION".into())),
            dm_crypt: Availability::Unknown,
            device_mapper: true,
            overlay: Availability::Yes(Source::File("/proc/filesystems".into())),
            veth: Availability::Yes(Source::Config("CONFIG_VETH".into())),
            bridge: Availability::Yes(Source::LoadedModule("bridge".into())),
            nftables: Availability::Yes(Source::Config("CONFIG_NF_TABLES".into())),
        },
        apparmor: AppArmorFacts::default(),
        seccomp: SeccompFacts {
            mode: Some(0),
            filters: Some(0),
            no_new_privs: Some(false),
            actions: vec![],
            allow_cache: true,
        },
        caps: CapFacts {
            effective: all_caps.clone(),
            bounding: all_caps,
        },
        cgroup: CgroupFacts {
            membership: vec!["0::/".into()],
            delegate_files: vec![],
            features: vec![],
            delegation: Delegation {
                unified_dir: Some("/sys/fs/cgroup/unified".into()),
                unified_writable: true,
                unified_available: vec!["hugetlb".into()],
                unified_subtree_control: vec![],
                unified_delegable: vec!["hugetlb".into()],
                own_dir: Some("/sys/fs/cgroup/unified".into()),
                own_processes: 70,
                has_children: true,
                v1: ["cpu", "memory", "pids"]
                    .iter()
                    .map(|c| V1Hierarchy {
                        controllers: c.to_string(),
                        writable: true,
                    })
                    .collect(),
                notes: vec![],
            },
        },
        proc_sysfs: ProcSysfsFacts {
            proc: vec![PseudoMount {
                mount_point: "/proc".into(),
                covered: vec![],
            }],
            sysfs: vec![PseudoMount {
                mount_point: "/sys".into(),
                covered: vec![],
            }],
        },
        tools: ToolFacts {
            newuidmap: tool("newuidmap"),
            newgidmap: tool("newgidmap"),
            cryptsetup: tool("cryptsetup"),
        },
        probes: SYSCALLS.iter().map(|s| allowed(s)).collect(),
        devices: ["/dev/fuse", "/dev/net/tun"]
            .iter()
            .map(|d| DeviceFact {
                path: d.to_string(),
                present: true,
                open_error: None,
            })
            .collect(),
        notes: vec![],
    }
}

fn needs(kind: &str) -> RuntimeNeeds {
    builtin(kind).expect("built-in preset")
}

fn set_probe(f: &mut Facts, name: &str, syscall: &str, outcome: Outcome, cap: Option<&str>) {
    let (class, detail) = classify(outcome, &[], cap, &f.caps.effective);
    f.probes.retain(|p| p.name != name);
    f.probes.push(ProbeResult {
        name: name.into(),
        syscall: syscall.into(),
        outcome,
        class,
        detail,
    });
}

#[test]
fn clean_host_is_ready_for_every_preset() {
    let f = host();
    for v in verdicts(&f, &crate::spec::runtime::builtin_all()) {
        assert!(v.ready, "{}", v.line());
        assert_eq!(v.line(), format!("{}: ready", v.runtime));
    }
}

#[test]
fn keyctl_enosys_blocks_docker_but_not_lxc() {
    let mut f = host();
    f.nesting.level = 1;
    set_probe(
        &mut f,
        "keyctl",
        "keyctl",
        Outcome::Errno(libc::ENOSYS),
        None,
    );
    let docker = verdict(&f, &needs("docker"));
    assert_eq!(docker.line(), "docker: blocked: keyctl returns ENOSYS from an outer seccomp filter; allow keyctl at level 1");
    assert!(verdict(&f, &needs("lxc")).ready);
}

#[test]
fn missing_capabilities_and_caps_denials() {
    let mut f = host();
    f.caps.bounding.retain(|c| c != "net_admin");
    let v = verdict(&f, &needs("lxc"));
    assert!(!v.ready);
    assert_eq!(
        v.blockers[0].message,
        "cap_net_admin is not in the bounding set"
    );
    assert_eq!(
        v.blockers[0].fix,
        "run lxnest from a context whose bounding set keeps net_admin"
    );
    f.nesting.level = 1;
    assert_eq!(
        verdict(&f, &needs("lxc")).blockers[0].fix,
        "keep net_admin at level 1"
    );

    let mut f = host();
    f.caps.effective.retain(|c| c != "sys_admin");
    set_probe(
        &mut f,
        "unshare(net)",
        "unshare",
        Outcome::Errno(libc::EPERM),
        Some("sys_admin"),
    );
    let v = verdict(&f, &needs("lxc"));
    assert!(v
        .blockers
        .iter()
        .any(|b| b.area == "syscall" && b.message.contains("cap_sys_admin")));
    assert!(v
        .warnings
        .iter()
        .any(|w| w.message.contains("not effective")));
}

#[test]
fn optional_probes_only_warn() {
    let mut f = host();
    set_probe(
        &mut f,
        "seccomp(user_notif)",
        "seccomp",
        Outcome::Errno(libc::EINVAL),
        None,
    );
    set_probe(
        &mut f,
        "unshare(time)",
        "unshare",
        Outcome::Errno(libc::ENOSYS),
        None,
    );
    let v = verdict(&f, &needs("lxc"));
    assert!(v.ready, "{v:?}");
    assert_eq!(v.warnings.len(), 2);
}

#[test]
fn covered_proc_blocks_until_a_clean_copy_exists() {
    let mut f = host();
    f.nesting.level = 1;
    f.proc_sysfs.proc[0].covered = vec!["/proc/sys".into()];
    f.proc_sysfs.sysfs[0].covered = vec!["/sys/devices/virtual/net".into()];
    let v = verdict(&f, &needs("lxc"));
    assert_eq!(v.blockers.len(), 2, "{v:?}");
    assert!(v.blockers[0].message.contains("/proc/sys"));
    assert!(v.blockers[0].fix.contains("at level 1"));
    // systemd does not need copies.
    assert!(verdict(&f, &needs("systemd")).ready);
    // LXC's nesting.conf adds clean copies under /dev/.lxc.
    f.proc_sysfs.proc.push(PseudoMount {
        mount_point: "/dev/.lxc/proc".into(),
        covered: vec![],
    });
    f.proc_sysfs.sysfs.push(PseudoMount {
        mount_point: "/dev/.lxc/sys".into(),
        covered: vec![],
    });
    assert!(verdict(&f, &needs("lxc")).ready);
}

#[test]
fn cgroup_delegation() {
    let mut f = host();
    f.cgroup.delegation = Delegation::default();
    let v = verdict(&f, &needs("lxc"));
    assert_eq!(
        v.blockers[0].message,
        "no cgroup filesystem is mounted here"
    );

    let mut f = host();
    f.cgroup.delegation.v1.retain(|h| h.controllers != "memory");
    let v = verdict(&f, &needs("docker"));
    assert_eq!(v.blockers.len(), 1);
    assert!(v.blockers[0]
        .message
        .starts_with("controller memory cannot be delegated"));

    // Unified layout: memory is available but not yet passed on: the runtime can fix that.
    let mut f = host();
    f.cgroup.delegation.v1.clear();
    f.snapshot.cgroup.mode = crate::plan::host::CgroupMode::Unified;
    f.snapshot.cgroup.v1_controllers.clear();
    f.cgroup.delegation.unified_available = vec!["memory".into(), "pids".into(), "cpu".into()];
    f.cgroup.delegation.unified_delegable = vec!["pids".into(), "cpu".into()];
    f.cgroup.delegation.own_processes = 1;
    let v = verdict(&f, &needs("lxc"));
    assert!(v.ready, "{v:?}");
    assert_eq!(v.warnings[0].message, "memory available but not enabled for children; 1 process(es) sit in /sys/fs/cgroup/unified");
    // Not available at all: blocked.
    f.cgroup
        .delegation
        .unified_available
        .retain(|c| c != "memory");
    assert!(verdict(&f, &needs("lxc")).blockers[0]
        .message
        .ends_with("it is not available to this cgroup"));

    let mut f = host();
    f.cgroup.delegation.unified_writable = false;
    for h in &mut f.cgroup.delegation.v1 {
        h.writable = false;
    }
    assert!(verdict(&f, &needs("lxc")).blockers[0]
        .message
        .contains("not writable"));
}

#[test]
fn devices_and_filesystems() {
    let mut f = host();
    f.devices[0].present = false;
    f.kernel.filesystems.retain(|x| x != "mqueue");
    let v = verdict(&f, &needs("docker"));
    let msgs: Vec<&str> = v.blockers.iter().map(|b| b.message.as_str()).collect();
    assert_eq!(
        msgs,
        vec![
            "/dev/fuse is missing",
            "the kernel has no mqueue filesystem"
        ]
    );
    let mut f = host();
    f.devices[0].open_error = Some("EPERM".into());
    assert!(verdict(&f, &needs("docker")).blockers[0]
        .message
        .contains("cannot be opened"));
}

#[test]
fn apparmor_policy_namespaces_nest_one_level() {
    let mut f = host();
    f.apparmor = AppArmorFacts {
        enabled: true,
        stacking: true,
        policy_namespaces: true,
        label: Some("lxc-container-default-with-nesting (enforce)".into()),
        ..AppArmorFacts::default()
    };
    f.nesting.level = 1;
    let v = verdict(&f, &needs("lxc"));
    assert!(v.ready);
    assert!(v.warnings.iter().any(|w| w.area == "apparmor"));
    f.nesting.level = 2;
    let v = verdict(&f, &needs("lxc"));
    assert!(v.blockers[0].message.contains("nest one level"));
    f.apparmor.restrict_unprivileged_userns = Some(true);
    f.snapshot.privileged = false;
    let v = verdict(&f, &needs("lxc"));
    assert!(v.warnings.iter().any(|w| w
        .message
        .starts_with("kernel.apparmor_restrict_unprivileged_userns")));
    // Without AppArmor nothing is asked of it.
    f.apparmor.enabled = false;
    assert!(verdict(&f, &needs("lxc")).ready);
}

#[test]
fn sigsys_and_lsm_denials() {
    let mut f = host();
    f.nesting.level = 2;
    set_probe(
        &mut f,
        "pivot_root",
        "pivot_root",
        Outcome::Signal(libc::SIGSYS),
        Some("sys_admin"),
    );
    set_probe(
        &mut f,
        "mount(tmpfs)",
        "mount",
        Outcome::Errno(libc::EACCES),
        Some("sys_admin"),
    );
    let v = verdict(&f, &needs("lxc"));
    assert_eq!(v.blockers.len(), 2);
    assert!(
        v.line()
            .starts_with("lxc: blocked: mount(tmpfs) is refused by an LSM (EACCES)"),
        "{}",
        v.line()
    );
    assert!(v.line().ends_with("(+1 more)"));
    assert_eq!(v.blockers[1].fix, "allow pivot_root at level 2");
}

#[test]
fn an_unprivileged_user_gets_lxnest_with_what_it_lacks_as_warnings() {
    let mut f = host();
    f.snapshot = HostSnapshot::laptop_as_user();
    f.snapshot.subuids.clear();
    let vs = verdicts(&f, &crate::spec::runtime::builtin_all());
    let v = vs
        .iter()
        .find(|v| v.runtime == "lxnest")
        .expect("lxnest verdict");
    assert!(v.ready, "{}", v.line());
    let w: Vec<&str> = v.warnings.iter().map(|w| w.message.as_str()).collect();
    assert!(w.iter().any(|m| m.contains("single-id map")), "{w:?}");
    // Root's verdict would not mention the user at all.
    let root = verdicts(&host(), &crate::spec::runtime::builtin_all());
    let r = root
        .iter()
        .find(|v| v.runtime == "lxnest")
        .expect("lxnest verdict");
    assert!(r.warnings.iter().all(|w| !w.message.contains("single-id")));

    set_probe(
        &mut f,
        "unshare(user)",
        "unshare",
        Outcome::Errno(libc::EPERM),
        None,
    );
    let vs = verdicts(&f, &crate::spec::runtime::builtin_all());
    let v = vs
        .iter()
        .find(|v| v.runtime == "lxnest")
        .expect("lxnest verdict");
    assert!(
        !v.ready && v.line().contains("cannot create a user namespace"),
        "{}",
        v.line()
    );
}
