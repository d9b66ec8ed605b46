use super::*;
use crate::apparmor::{render, ProfileParams};

fn mount(fstype: Option<&str>, options: &str, source: Option<&str>) -> Access {
    Access::Mount {
        fstype: fstype.map(String::from),
        options: options
            .split(',')
            .filter(|o| !o.is_empty())
            .map(String::from)
            .collect(),
        source: source.map(String::from),
    }
}

fn profile(flags: &[&str]) -> String {
    let mut p = ProfileParams::new("lxnest-a").with_flags(flags.iter().copied());
    p.child_namespace = Some("lxnest-a".into());
    p.rootfs_dirs = crate::apparmor::runtime_rootfs_dirs("lxc");
    render(&p).expect("render")
}

fn line_of(text: &str, rule: &str) -> usize {
    text.lines()
        .position(|l| l.trim() == rule)
        .map(|i| i + 1)
        .unwrap_or_else(|| panic!("no line {rule}"))
}

const SMALL: &str = "\
@{d}=/srv /opt/*
@{e}=@{d}/x
profile t {
  /etc/** r,
  @{e}/** rw,  # a comment, with a comma
  deny /etc/shadow r,
  owner /home/*/ r,
  mount fstype=proc -> /mnt/proc/,
  mount options=(rw,bind) /data/** -> /mnt/**,
  mount options in (ro,nosuid) /dev/sda1 -> /media/,
  umount /mnt/**,
  pivot_root /new/,
}
";

#[test]
fn deny_wins_over_an_earlier_or_later_allow() {
    let e = explain(SMALL, "/etc/shadow", &Access::File("r".into()));
    assert_eq!(e.decision, Decision::Denied);
    assert_eq!(e.rule.as_ref().map(|r| r.line), Some(6));
    assert_eq!(e.matching.len(), 2, "{e:?}");
    let e = explain(SMALL, "/etc/passwd", &Access::File("r".into()));
    assert_eq!(
        (e.decision, e.rule.map(|r| r.line)),
        (Decision::Allowed, Some(4))
    );
}

#[test]
fn missing_permissions_are_named() {
    let e = explain(SMALL, "/etc/passwd", &Access::File("rw".into()));
    assert_eq!(e.decision, Decision::NotAllowed);
    assert_eq!(e.missing, "w");
    assert!(e.rule.is_none());
    assert_eq!(
        explain(SMALL, "/nowhere", &Access::File("r".into())).decision,
        Decision::NotAllowed
    );
}

#[test]
fn variables_nest_and_comments_are_ignored() {
    for p in ["/srv/x/a", "/opt/foo/x/b/c"] {
        let e = explain(SMALL, p, &Access::File("a".into()));
        assert_eq!(
            (e.decision, e.rule.map(|r| r.line)),
            (Decision::Allowed, Some(5)),
            "{p}"
        );
    }
    assert_eq!(
        explain(SMALL, "/opt/a/b/x/c", &Access::File("r".into())).decision,
        Decision::NotAllowed
    );
    assert_eq!(
        explain(SMALL, "/home/u/", &Access::File("r".into())).decision,
        Decision::Allowed
    );
}

#[test]
fn mount_conditions() {
    let ok = |t: &str, a: Access| explain(SMALL, t, &a).decision == Decision::Allowed;
    assert!(ok("/mnt/proc/", mount(Some("proc"), "rw,nosuid", None)));
    assert!(!ok("/mnt/proc/", mount(Some("sysfs"), "", None)));
    assert!(
        ok("/mnt/a", mount(None, "bind", Some("/data/a"))),
        "rw is the absence of ro"
    );
    assert!(
        !ok("/mnt/a", mount(None, "bind,nosuid", Some("/data/a"))),
        "options= is exact"
    );
    assert!(
        !ok("/mnt/a", mount(None, "bind", Some("/etc/a"))),
        "source must match"
    );
    assert!(
        ok("/media/", mount(Some("ext4"), "ro", Some("/dev/sda1"))),
        "options in is a subset"
    );
    assert!(ok("/media/", mount(Some("ext4"), "", Some("/dev/sda1"))));
    assert!(!ok(
        "/media/",
        mount(Some("ext4"), "ro,noexec", Some("/dev/sda1"))
    ));
    assert!(ok("/mnt/x/", Access::Umount));
    assert!(!ok("/proc/", Access::Umount));
    assert!(ok("/new/", Access::PivotRoot));
    assert!(!ok("/old/", Access::PivotRoot));
}

#[test]
fn rendered_base_profile_denies_kernel_knobs_by_line() {
    let text = profile(&[]);
    let e = explain(
        &text,
        "/proc/sys/kernel/core_pattern",
        &Access::File("w".into()),
    );
    assert_eq!(e.decision, Decision::Denied);
    assert_eq!(
        e.rule.unwrap().line,
        line_of(&text, "audit deny /proc/sys/** wklx,")
    );
    let e = explain(&text, "/proc/sysrq-trigger", &Access::File("w".into()));
    assert_eq!(
        e.rule.unwrap().line,
        line_of(
            &text,
            "audit deny /proc/{sysrq-trigger,kcore,kmem,mem} rwklx,"
        )
    );
    // Reading sysctls and writing ordinary files are allowed by `file,`.
    let e = explain(
        &text,
        "/proc/sys/kernel/core_pattern",
        &Access::File("r".into()),
    );
    assert_eq!(
        (e.decision, e.rule.unwrap().line),
        (Decision::Allowed, line_of(&text, "file,"))
    );
    assert_eq!(
        explain(&text, "/etc/hostname", &Access::File("w".into())).decision,
        Decision::Allowed
    );
    // No flag: every mount is refused for want of a rule.
    let e = explain(
        &text,
        "/var/lib/lxc/c/rootfs/proc/",
        &mount(Some("proc"), "rw,nosuid,nodev,noexec", Some("proc")),
    );
    assert_eq!((e.decision, e.rule), (Decision::NotAllowed, None));
}

#[test]
fn sysctl_net_opens_only_net() {
    let text = profile(&["sysctl_net"]);
    let w = Access::File("w".into());
    assert_eq!(
        explain(&text, "/proc/sys/net/ipv4/ip_forward", &w).decision,
        Decision::Allowed
    );
    for p in [
        "/proc/sys/kernel/x",
        "/proc/sys/netfilter/x",
        "/proc/sys/vm/x",
    ] {
        assert_eq!(explain(&text, p, &w).decision, Decision::Denied, "{p}");
    }
}

#[test]
fn mount_proc_is_confined_to_nested_rootfs_with_safe_options() {
    let text = profile(&["mount_proc"]);
    let proc_mount = mount(Some("proc"), "rw,nosuid,nodev,noexec", Some("proc"));
    let e = explain(&text, "/var/lib/lxc/c1/rootfs/proc/", &proc_mount);
    assert_eq!(e.decision, Decision::Allowed);
    assert!(e.rule.unwrap().text.starts_with("mount fstype=proc"));
    assert_eq!(
        explain(&text, "/tmp/proc/", &proc_mount).decision,
        Decision::NotAllowed
    );
    let suid = mount(Some("proc"), "rw,nodev,noexec", Some("proc"));
    assert_eq!(
        explain(&text, "/var/lib/lxc/c1/rootfs/proc/", &suid).decision,
        Decision::NotAllowed
    );
    // The copy's kernel knobs are denied like the container's own.
    let e = explain(
        &text,
        "/var/lib/lxc/c1/rootfs/proc/sysrq-trigger",
        &Access::File("w".into()),
    );
    assert_eq!(e.decision, Decision::Denied);
}

#[test]
fn own_proc_is_never_a_bind_source_even_with_mount_bind() {
    let text = profile(&["mount_bind"]);
    let e = explain(&text, "/tmp/p/", &mount(None, "rw,bind", Some("/proc/")));
    assert_eq!(e.decision, Decision::Denied);
    assert_eq!(
        e.rule.unwrap().line,
        line_of(&text, "audit deny mount /proc/{,**},")
    );
    assert_eq!(
        explain(&text, "/tmp/d/", &mount(None, "rw,bind", Some("/srv/d/"))).decision,
        Decision::Allowed
    );
    assert_eq!(
        explain(&text, "/proc/", &Access::Umount).decision,
        Decision::Denied
    );
    assert_eq!(
        explain(&text, "/mnt/", &Access::Umount).decision,
        Decision::Allowed
    );
}

#[test]
fn audit_event_replays_through_explain() {
    let text = profile(&["systemd"]);
    let line = r#"audit: type=1400 apparmor="DENIED" operation="mount" info="failed flags match" error=-13 profile="lxnest-a" name="/run/systemd/unit-root/proc/" pid=1 comm="(d)" fstype="proc" srcname="proc" flags="rw, nosuid, nodev, noexec""#;
    let ev = crate::apparmor::audit::parse_audit_line(line).unwrap();
    let (path, access) = ev.access().unwrap();
    assert_eq!(explain(&text, &path, &access).decision, Decision::Allowed);
    assert_eq!(
        explain(&profile(&[]), &path, &access).decision,
        Decision::NotAllowed
    );
}

#[test]
fn access_parse() {
    assert_eq!(Access::parse("rw"), Some(Access::File("rw".into())));
    assert_eq!(Access::parse("umount"), Some(Access::Umount));
    assert_eq!(
        Access::parse("mount:proc:rw,nosuid"),
        Some(mount(Some("proc"), "rw,nosuid", None))
    );
    assert_eq!(
        Access::parse("mount::rw,bind:/src"),
        Some(mount(None, "rw,bind", Some("/src")))
    );
    assert_eq!(Access::parse("q"), None);
}

#[test]
fn sysfs_writes_only_for_own_net_devices_cgroups_and_fuse() {
    let text = profile(&[]);
    let w = Access::File("w".into());
    for p in [
        "/sys/devices/virtual/net/eth0/mtu",
        "/sys/fs/cgroup/memory.max",
        "/sys/fs/fuse/connections/42/abort",
    ] {
        assert_eq!(explain(&text, p, &w).decision, Decision::Allowed, "{p}");
    }
    for p in [
        "/sys/bus/pci/rescan",
        "/sys/module/kvm/parameters/halt_poll_ns",
        "/sys/devices/system/cpu/cpu1/online",
        "/sys/devices/virtual/block/loop0/uevent",
        "/sys/fs/ext4/sda1/err_report_sec",
        "/sys/kernel/mm/transparent_hugepage/enabled",
        "/sys/kernel/security/apparmor/.replace",
        "/sys/power/state",
    ] {
        assert_eq!(explain(&text, p, &w).decision, Decision::Denied, "{p}");
    }
    let lp = profile(&["load_policy"]);
    assert_eq!(
        explain(&lp, "/sys/kernel/security/apparmor/.replace", &w).decision,
        Decision::Allowed
    );
    assert_eq!(
        explain(&lp, "/sys/kernel/security/lockdown", &w).decision,
        Decision::Denied
    );
    assert_eq!(
        explain(&lp, "/sys/kernel/mm/ksm/run", &w).decision,
        Decision::Denied
    );
}

#[test]
fn runtimes_may_make_root_a_slave() {
    let text = profile(&["mount_bind"]);
    let e = explain(&text, "/", &mount(None, "rw,make-rslave", None));
    assert_eq!(e.decision, Decision::Allowed, "{e:?}");
    assert_eq!(
        explain(&profile(&[]), "/", &mount(None, "rw,make-rslave", None)).decision,
        Decision::NotAllowed
    );
}

#[test]
fn multi_line_rules_are_one_rule_at_their_first_line() {
    let text = "profile t {\n  file,\n  mount options=(ro,remount,bind)\n        options=(ro,remount,bind,nosuid) -> /srv/**,\n  deny /x w,\n}\n";
    let e = explain(text, "/srv/a", &mount(None, "ro,remount,bind,nosuid", None));
    assert_eq!(e.decision, Decision::Allowed);
    // As the kernel (with apparmor_parser 3.0) applies it: the union of the sets, exactly.
    assert_eq!(
        explain(text, "/srv/a", &mount(None, "ro,remount,bind", None)).decision,
        Decision::NotAllowed
    );
    let rule = e.rule.unwrap();
    assert_eq!(rule.line, 3);
    assert!(rule.text.ends_with("-> /srv/**"), "{}", rule.text);
    assert_eq!(
        explain(text, "/x", &Access::File("w".into()))
            .rule
            .unwrap()
            .line,
        5
    );
    // The template's multi-line tmpfs rule still requires nosuid.
    let p = profile(&["mount_tmpfs"]);
    let ok = mount(Some("tmpfs"), "rw,nosuid,nodev,strictatime", Some("tmpfs"));
    assert_eq!(
        explain(&p, "/var/lib/lxc/c/rootfs/run/", &ok).decision,
        Decision::Allowed
    );
    let suid = mount(Some("tmpfs"), "rw,nodev", Some("tmpfs"));
    assert_eq!(
        explain(&p, "/var/lib/lxc/c/rootfs/run/", &suid).decision,
        Decision::NotAllowed
    );
}

#[test]
fn capabilities_are_explained() {
    let text = profile(&[]);
    let e = explain(
        &text,
        "",
        &Access::parse("capability:CAP_SYS_MODULE").unwrap(),
    );
    assert_eq!(e.decision, Decision::Denied);
    assert_eq!(
        e.rule.unwrap().line,
        line_of(&text, "deny capability sys_module,")
    );
    let e = explain(&text, "", &Access::Capability("sys_admin".into()));
    assert_eq!(
        (e.decision, e.rule.unwrap().line),
        (Decision::Allowed, line_of(&text, "capability,"))
    );
    let lp = profile(&["load_policy"]);
    assert_eq!(
        explain(&lp, "", &Access::Capability("mac_admin".into())).decision,
        Decision::Allowed
    );
    assert_eq!(
        explain(&text, "", &Access::Capability("mac_admin".into())).decision,
        Decision::Denied
    );
    let some = "profile t {\n  capability chown setuid,\n}\n";
    assert_eq!(
        explain(some, "", &Access::Capability("setuid".into())).decision,
        Decision::Allowed
    );
    assert_eq!(
        explain(some, "", &Access::Capability("kill".into())).decision,
        Decision::NotAllowed
    );
}
