//! Tests of mapping LXC configs onto the spec.
use super::*;
use crate::lxc::config::parse_text;

fn cfg(text: &str) -> LxcConfig {
    LxcConfig {
        file: "/var/lib/lxc/web1/config".into(),
        entries: parse_text(text, "/var/lib/lxc/web1/config").unwrap(),
    }
}

#[test]
fn core_keys_map_onto_the_spec() {
    let m = map(
        &cfg("lxc.rootfs.path = dir:/srv/web1\nlxc.idmap = u 0 100000 65536\nlxc.idmap = g 0 100000 65536\n\
              lxc.cap.drop = sys_time mknod\nlxc.cgroup2.memory.max = 1073741824\nlxc.cgroup.pids.max = 200\n\
              lxc.cgroup2.cpu.max = 50000 100000\nlxc.net.0.type = veth\nlxc.net.0.link = lxcbr0\n\
              lxc.mount.entry = /srv/data srv/data none bind,ro 0 0\nlxc.hook.pre-start = /bin/true\n\
              lxc.environment = A=b\nlxc.init.cmd = /sbin/init splash\nlxc.cgroup.devices.allow = c 10:229 rwm\n\
              lxc.tty.max = 4\n"),
        None,
    )
    .unwrap();
    let c = &m.stack.containers[0];
    assert_eq!(c.name, "web1", "named after its directory");
    assert_eq!(
        c.rootfs().map(|r| r.to_string()).as_deref(),
        Some("dir:/srv/web1")
    );
    let id = c.idmap.as_ref().unwrap();
    assert_eq!(
        (id.uid, id.gid, id.count),
        (Some(100000), Some(100000), Some(65536))
    );
    assert_eq!(c.capabilities.drop, ["sys_time", "mknod"]);
    assert_eq!(c.limits.memory.as_deref(), Some("1073741824"));
    assert_eq!(c.limits.pids, Some(200));
    assert_eq!(c.limits.cpu, Some(0.5));
    assert_eq!(
        c.network.mode,
        Some(crate::spec::model::NetworkMode::Bridge)
    );
    assert_eq!(c.mounts[0].target, "/srv/data");
    assert_eq!(c.mounts[0].fstype, "bind");
    assert_eq!(
        c.hooks.get(crate::spec::model::HookKind::PreStart),
        ["/bin/true"]
    );
    assert_eq!(c.environment["A"], "b");
    assert_eq!(c.command.as_ref().unwrap(), &["/sbin/init", "splash"]);
    assert_eq!(c.devices, ["/dev/fuse"]);
    assert!(
        m.notes.iter().any(|n| n.contains("lxc.tty.max")),
        "{:?}",
        m.notes
    );
    assert!(
        m.notes.iter().any(|n| n.contains("lxc.net.0.link")),
        "{:?}",
        m.notes
    );
}

#[test]
fn cap_keep_drops_everything_else_and_bad_values_name_the_line() {
    let m = map(&cfg("lxc.cap.keep = chown kill\n"), Some("x")).unwrap();
    let drop = &m.stack.containers[0].capabilities.drop;
    assert!(drop.contains(&"sys_admin".to_string()) && !drop.contains(&"kill".to_string()));
    let e = map(
        &cfg("lxc.uts.name = a\nlxc.idmap = u 1 100000 65536\n"),
        None,
    )
    .err()
    .unwrap();
    assert!(e.to_string().contains("config:2"), "{e}");
    let e = map(&cfg("lxc.rootfs.path = overlay:/a:/b\n"), None)
        .err()
        .unwrap();
    assert!(e.to_string().contains("directory"), "{e}");
}

#[test]
fn sniffing() {
    assert!(looks_like_lxc("# hi\n\nlxc.uts.name = a\n"));
    assert!(!looks_like_lxc("name: x\ncontainers: []\n"));
}

#[test]
fn debians_nesting_conf_enables_nesting() {
    let nesting = std::fs::read_to_string("/usr/share/lxc/config/nesting.conf")
        .expect("Debian's lxc package (scripts/test-all.sh installs it)");
    let m = map(&cfg(&format!("lxc.uts.name = a\n{nesting}")), None).unwrap();
    assert_eq!(
        m.stack.containers[0].runtime,
        Some(crate::spec::model::Runtime::Lxc)
    );
    assert!(
        m.notes.iter().any(|n| n.contains("nesting")),
        "{:?}",
        m.notes
    );
    for line in [
        "lxc.seccomp.allow_nesting = 1",
        "lxc.apparmor.allow_nesting = 1",
    ] {
        let m = map(&cfg(&format!("lxc.uts.name = a\n{line}\n")), None).unwrap();
        assert_eq!(
            m.stack.containers[0].runtime,
            Some(crate::spec::model::Runtime::Lxc),
            "{line}"
        );
    }
    let m = map(&cfg("lxc.uts.name = a\n"), None).unwrap();
    assert_eq!(m.stack.containers[0].runtime, None);
}

#[test]
fn a_second_interface_is_named_not_dropped() {
    let m = map(
        &cfg("lxc.net.0.type = veth\nlxc.net.1.type = veth\nlxc.net.1.link = br1\n"),
        Some("a"),
    )
    .unwrap();
    for k in ["lxc.net.1.type", "lxc.net.1.link"] {
        assert!(
            m.notes
                .iter()
                .any(|n| n.contains(k) && n.contains(":2") || n.contains(k) && n.contains(":3")),
            "{k}: {:?}",
            m.notes
        );
    }
}

#[test]
fn commands_and_mount_fields_split_as_lxc_splits_them() {
    let m = map(&cfg("lxc.init.cmd = /bin/echo a\tb  c\n"), Some("a")).unwrap();
    assert_eq!(
        m.stack.containers[0].command.as_ref().unwrap(),
        &["/bin/echo", "a\tb", "c"]
    );
    let m = map(
        &cfg("lxc.execute.cmd = /bin/sh -c \"echo hi; exit 3\" 'x y'\n"),
        Some("a"),
    )
    .unwrap();
    assert_eq!(
        m.stack.containers[0].command.as_ref().unwrap(),
        &["/bin/sh", "-c", "echo hi; exit 3", "x y"]
    );
    let m = map(
        &cfg("lxc.mount.entry = /srv/my\\040data srv/data none bind 0 0\n"),
        Some("a"),
    )
    .unwrap();
    assert_eq!(m.stack.containers[0].mounts[0].source, "/srv/my data");
    let m = map(&cfg("lxc.environment = \"A= spaced \"\n"), Some("a")).unwrap();
    assert_eq!(
        m.stack.containers[0].environment["A"], " spaced ",
        "LXC strips the quotes only"
    );
}
