//! Annie's story for real: root creates users (one with subordinate ids, one without) and each
//! boots a busybox rootfs tarball as itself, without privileges, through `runuser`. Checks: root
//! inside, files made inside belong to the mapped ids on the host, no id outside the range can be
//! reached, `info` says there is no cgroup, attach and stop work, a hostile tarball is refused
//! with nothing written outside, the single-id fallback says what it loses, and a helper without
//! its setuid bit is named. Needs root (to create the users), busybox-static and uidmap.

mod support;

use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use support::users::*;

#[test]
fn root_an_unprivileged_user_boots_a_tarball_with_subordinate_ids() {
    let Some((_turn, d, bin, tarball)) = setup() else {
        return;
    };
    let annie = User::create("lxnest-annie", d.path(), 65_536, &bin);
    let sub = annie.sub.expect("subordinate ids");
    let spec = spec(d.path(), "annie-u", &tarball);
    let s = spec.to_str().unwrap();

    // One-shot, as the README tells Annie: root inside, the map is the user plus the
    // subordinate range, nothing beyond.
    let script = "id -u; cat /proc/self/uid_map; touch /tmp/by-root /tmp/by-1000; chown 1000:1000 /tmp/by-1000; chown 70000 /tmp/by-root; echo outside=$?";
    let rootfs = format!("tar:{}", tarball.display());
    let o = annie.lxnest(
        &["run", "--rootfs", &rootfs, "--", "/bin/sh", "-c", script],
        PATH,
    );
    let (out, err) = text(&o);
    assert!(o.status.success(), "{out}{err}");
    let lines: Vec<Vec<&str>> = out
        .lines()
        .map(|l| l.split_whitespace().collect())
        .collect();
    assert_eq!(lines[0], ["0"], "{out}");
    // Inside, the container's user namespace maps its ids one to one onto the first one (see
    // launch::lock); where they land on the host is checked through file owners below.
    assert_eq!(lines[1], ["0", "0", "1"], "{out}");
    assert_eq!(lines[2], ["1", "1", "65535"], "{out}");
    assert_eq!(lines.len(), 4, "no other map line: {out}");
    assert!(
        out.contains("outside=1") && err.contains("Invalid argument"),
        "chown to an unmapped id fails for that reason (EINVAL): {out}{err}"
    );

    // On the host: root's files are the user's, id 1000 is subordinate id 999 of the range, and
    // nothing in the tree belongs to an id outside the user's own.
    let tree = annie.tree("rootfs"); // named after rootfs.tar.gz
    let uid_of = |p: &str| std::fs::metadata(tree.join(p)).unwrap().uid();
    assert_eq!(uid_of("tmp/by-root"), annie.uid);
    assert_eq!(uid_of("tmp/by-1000"), sub + 999);
    assert_eq!(uid_of("home/u"), sub + 999, "tarball owners are mapped too");
    let mut all = Vec::new();
    owners(&tree, &mut all);
    let mine = |id: u32, me: u32| id == me || (sub..sub + 65_535).contains(&id);
    for (p, u, g) in &all {
        assert!(
            mine(*u, annie.uid) && mine(*g, annie.gid),
            "{} owned by {u}:{g}",
            p.display()
        );
    }

    // Detached: ls, info (no cgroup, and why), attach as root, stop; nothing left behind.
    let o = annie.lxnest(&["start", s], PATH);
    assert!(o.status.success(), "{:?}", text(&o));
    let (info, _) = text(&annie.lxnest(&["info", "-n", "annie-u"], PATH));
    assert!(
        info.contains("cgroup:      none:") && info.contains("not delegated to you"),
        "{info}"
    );
    assert!(
        info.contains("unprivileged user"),
        "apparmor says why: {info}"
    );
    let (id, err) = text(&annie.lxnest(&["attach", "-n", "annie-u", "--", "/bin/id", "-u"], PATH));
    assert_eq!(id.trim(), "0", "{err}");
    let o = annie.lxnest(&["stop", "-n", "annie-u"], PATH);
    assert!(o.status.success(), "{:?}", text(&o));
    let (ls, _) = text(&annie.lxnest(&["ls"], PATH));
    assert!(!ls.contains("annie-u"), "{ls}");
    let run_dir = annie.home.join(".local/share/lxnest/run");
    assert!(!run_dir.join("annie-u").exists(), "state removed");

    // destroy removes the unpacked trees, whose subordinate-owned files the user could not
    // remove from the host side.
    assert!(annie.tree("annie-u").join("home/u").exists());
    for name in ["annie-u", "rootfs"] {
        let o = annie.lxnest(&["destroy", "-n", name], PATH);
        assert!(o.status.success(), "{name}: {:?}", text(&o));
        assert!(!annie.tree(name).exists(), "{name}'s tree removed");
    }
}

/// Writes hostile entries into an archive.
type Entries<'a> = dyn Fn(&mut tar::Builder<Vec<u8>>) + 'a;

#[test]
fn root_an_unprivileged_user_cannot_unpack_outside_the_tree() {
    let Some((_turn, d, bin, _)) = setup() else {
        return;
    };
    let annie = User::create("lxnest-annie2", d.path(), 65_536, &bin);
    // A directory Annie may write: only lxnest's refusal keeps the archive out of it.
    let outside = d.path().join("outside");
    std::fs::create_dir(&outside).unwrap();
    std::os::unix::fs::chown(&outside, Some(annie.uid), Some(annie.gid)).unwrap();
    let raw = |name: &str, kind: tar::EntryType, size: u64| {
        let mut h = tar::Header::new_ustar();
        h.set_entry_type(kind);
        h.set_size(size);
        h.set_mode(0o777);
        h.as_old_mut().name[..name.len()].copy_from_slice(name.as_bytes());
        h
    };
    let dotdot = |b: &mut tar::Builder<Vec<u8>>| {
        let mut h = raw("../escape", tar::EntryType::Regular, 1);
        h.set_cksum();
        b.append(&h, b"x".as_slice()).unwrap();
    };
    let through_link = |b: &mut tar::Builder<Vec<u8>>| {
        let mut h = raw("evil", tar::EntryType::Symlink, 0);
        h.set_link_name(&outside).unwrap();
        h.set_cksum();
        b.append(&h, std::io::empty()).unwrap();
        let mut h = raw("evil/pwned", tar::EntryType::Regular, 1);
        h.set_cksum();
        b.append(&h, b"x".as_slice()).unwrap();
    };
    let cases: [(&str, &Entries, &str); 2] = [
        ("dotdot-u", &dotdot, "`../escape` refused"),
        ("link-u", &through_link, "through the symlink evil"),
    ];
    for (name, entries, expect) in cases {
        let mut b = tar::Builder::new(Vec::new());
        entries(&mut b);
        let evil = d.path().join(format!("{name}.tar"));
        std::fs::write(&evil, b.into_inner().unwrap()).unwrap();
        let mode = std::os::unix::fs::PermissionsExt::from_mode(0o644);
        std::fs::set_permissions(&evil, mode).unwrap();
        let spec = spec(d.path(), name, &evil);
        let o = annie.lxnest(
            &["run", "--spec", spec.to_str().unwrap(), "--", "/bin/true"],
            PATH,
        );
        let (_, err) = text(&o);
        assert!(!o.status.success());
        assert!(err.contains(expect) && err.contains("fix:"), "{err}");
        let rootfs = annie.home.join(".local/share/lxnest/rootfs");
        assert!(!rootfs.join(name).exists(), "no tree");
        assert!(
            !rootfs.join(format!("{name}.partial")).exists(),
            "no partial tree left"
        );
    }
    let rootfs = annie.home.join(".local/share/lxnest/rootfs");
    assert!(
        !rootfs.join("escape").exists(),
        "`../escape` was not written beside the tree"
    );
    assert_eq!(
        std::fs::read_dir(&outside).unwrap().count(),
        0,
        "nothing written outside"
    );
}

#[test]
fn root_without_subordinate_ids_the_user_alone_is_mapped_and_told_what_is_lost() {
    let Some((_turn, d, bin, tarball)) = setup() else {
        return;
    };
    let bob = User::create("lxnest-bob", d.path(), 0, &bin);
    let spec = spec(d.path(), "bob-u", &tarball);
    let s = spec.to_str().unwrap();
    let o = bob.lxnest(
        &["run", "--spec", s, "--", "/bin/cat", "/proc/self/uid_map"],
        PATH,
    );
    let (out, err) = text(&o);
    assert!(o.status.success(), "{out}{err}");
    // One id inside (identity onto the first namespace, see launch::lock); the host owner of
    // root's files is checked below.
    assert_eq!(out.split_whitespace().collect::<Vec<_>>(), ["0", "0", "1"]);
    assert!(
        err.contains("single-id map") && err.contains("chown"),
        "{err}"
    );
    assert!(
        err.contains("gave 1 entries owned by other users to root"),
        "{err}"
    );
    assert_eq!(
        std::fs::metadata(bob.tree("bob-u").join("home/u"))
            .unwrap()
            .uid(),
        bob.uid
    );

    // A newuidmap without its setuid bit first on PATH is named, and the plan falls back.
    let fake = d.path().join("fakebin");
    std::fs::create_dir(&fake).unwrap();
    for tool in ["newuidmap", "newgidmap"] {
        std::fs::copy(format!("/usr/bin/{tool}"), fake.join(tool)).expect("uidmap installed");
        // The copy keeps the mode bits: drop setuid.
        let plain = std::os::unix::fs::PermissionsExt::from_mode(0o755);
        std::fs::set_permissions(fake.join(tool), plain).unwrap();
    }
    let path = format!("{}:{PATH}", fake.display());
    let annie = User::create("lxnest-annie3", d.path(), 65_536, &bin);
    let (out, err) = text(&annie.lxnest(&["plan", s], &path));
    let all = format!("{out}{err}");
    assert!(
        all.contains("newuidmap is not setuid root") && all.contains("single-id map"),
        "{all}"
    );
}

/// Puts this thread in a new network namespace and a mount namespace where /sys/class/net and
/// /sys/devices/virtual/net show it: lxc-user-nic looks for `/sys/class/net/BRIDGE/bridge`.
fn own_network_and_sysfs(scratch: &Path) {
    use nix::mount::{mount, MsFlags};
    use nix::sched::{unshare, CloneFlags};
    unshare(CloneFlags::CLONE_NEWNET | CloneFlags::CLONE_NEWNS).expect("unshare");
    let none = None::<&str>;
    mount(none, "/", none, MsFlags::MS_REC | MsFlags::MS_PRIVATE, none).expect("private");
    mount(
        Some("sysfs"),
        scratch,
        Some("sysfs"),
        MsFlags::empty(),
        none,
    )
    .expect("sysfs");
    for dir in ["class/net", "devices/virtual/net"] {
        let target = Path::new("/sys").join(dir);
        mount(
            Some(&scratch.join(dir)),
            &target,
            none,
            MsFlags::MS_BIND,
            none,
        )
        .expect("bind");
    }
}

/// Restores a file (or its absence) on drop. Drop does not run when the test process is killed
/// (a CI timeout, SIGKILL): the original also goes to `PATH.lxnest-test-saved` on disk first,
/// and the next run puts a saved copy it finds back before it saves again. (The test users are
/// likewise removed before they are created, with their /etc/subuid and /etc/subgid lines.)
struct Restore(PathBuf, Option<Vec<u8>>);

impl Restore {
    fn saved(path: &str) -> PathBuf {
        PathBuf::from(format!("{path}.lxnest-test-saved"))
    }

    fn save(path: &str) -> Restore {
        let saved = Restore::saved(path);
        // A killed earlier run: its saved copy is the real original.
        if let Ok(b) = std::fs::read(&saved) {
            let absent = b == b"\0lxnest-test: absent\n";
            let _ = if absent {
                std::fs::remove_file(path)
            } else {
                std::fs::write(path, &b)
            };
            let _ = std::fs::remove_file(&saved);
        }
        let original = std::fs::read(path).ok();
        let mark: &[u8] = b"\0lxnest-test: absent\n";
        std::fs::write(&saved, original.as_deref().unwrap_or(mark))
            .unwrap_or_else(|e| panic!("save {path} to {}: {e}", saved.display()));
        Restore(path.into(), original)
    }
}

impl Drop for Restore {
    fn drop(&mut self) {
        let restored = match &self.1 {
            Some(b) => std::fs::write(&self.0, b),
            None => std::fs::remove_file(&self.0).or_else(|e| {
                if e.kind() == std::io::ErrorKind::NotFound {
                    Ok(())
                } else {
                    Err(e)
                }
            }),
        };
        if restored.is_ok() {
            let _ = std::fs::remove_file(Restore::saved(&self.0.to_string_lossy()));
        }
    }
}

#[test]
fn root_user_nic_gives_an_unprivileged_container_a_veth_on_a_bridge() {
    let Some((_turn, d, bin, tarball)) = setup() else {
        return;
    };
    if lxnest::launch::usernic::helper().is_err() {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI installs lxc (lxc-user-nic)"
        );
        return;
    }
    let annie = User::create("lxnest-annie4", d.path(), 65_536, &bin);
    let spec = d.path().join("nic.yaml");
    let body = format!(
        "containers:\n  - name: nic-u\n    rootfs: tar:{}\n    command: [/bin/sleep, \"600\"]\n    network: {{mode: user-nic, link: lxnt-unic0}}\n",
        tarball.display()
    );
    std::fs::write(&spec, body).unwrap();
    let s = spec.to_str().unwrap();
    let _usernet = Restore::save("/etc/lxc/lxc-usernet");
    let _nics = Restore::save("/run/lxc/nics");
    let sys = d.path().join("netns-sys");
    std::fs::create_dir(&sys).unwrap();
    // Everything happens in a network namespace of this thread's own, gone when it ends.
    std::thread::scope(|scope| {
        scope
            .spawn(|| {
                own_network_and_sysfs(&sys);
                let plan = lxnest::plan::model::BridgePlan {
                    name: "lxnt-unic0".into(),
                    subnet: "10.255.77.0/24".parse().unwrap(),
                    address: "10.255.77.1/24".parse().unwrap(),
                    mtu: 1500,
                    nat: false,
                    origin: Default::default(),
                };
                let _bridge = lxnest::net::ensure_bridge(&plan).expect("bridge");

                // Not allowed in /etc/lxc/lxc-usernet: refused with the fix, nothing left.
                std::fs::create_dir_all("/etc/lxc").unwrap();
                std::fs::write("/etc/lxc/lxc-usernet", "").unwrap();
                let o = annie.lxnest(&["start", s], PATH);
                let (_, err) = text(&o);
                assert!(!o.status.success() && err.contains("lxc-usernet"), "{err}");
                assert!(!annie.home.join(".local/share/lxnest/run/nic-u").exists());

                let line = format!("{} veth lxnt-unic0 2\n", annie.name);
                std::fs::write("/etc/lxc/lxc-usernet", line).unwrap();
                let o = annie.lxnest(&["start", s], PATH);
                assert!(o.status.success(), "{:?}", text(&o));
                assert!(
                    lxnest::net::bridge_has_ports("lxnt-unic0").unwrap(),
                    "veth on the bridge"
                );
                let flags = annie.lxnest(
                    &[
                        "attach",
                        "-n",
                        "nic-u",
                        "--",
                        "/bin/cat",
                        "/sys/class/net/eth0/flags",
                    ],
                    PATH,
                );
                let (flags, err) = text(&flags);
                let flags = u32::from_str_radix(flags.trim().trim_start_matches("0x"), 16);
                assert!(flags.is_ok_and(|f| f & 1 == 1), "eth0 is up inside: {err}");
                let o = annie.lxnest(&["stop", "-n", "nic-u"], PATH);
                assert!(o.status.success(), "{:?}", text(&o));
                let ports_gone = (0..50).any(|_| {
                    std::thread::sleep(std::time::Duration::from_millis(100));
                    !lxnest::net::bridge_has_ports("lxnt-unic0").unwrap_or(true)
                });
                assert!(ports_gone, "the veth went with the container");
            })
            .join()
            .expect("netns thread");
    });
}

/// A cgroup2 directory made by root and handed to a user, removed on drop.
struct Delegated(PathBuf);

impl Delegated {
    fn create(user: &User) -> Option<Delegated> {
        let info = std::fs::read_to_string("/proc/self/mountinfo").ok()?;
        let mount = info.lines().find_map(|l| {
            let (left, right) = l.split_once(" - ")?;
            (right.split_whitespace().next() == Some("cgroup2"))
                .then(|| left.split_whitespace().nth(4).map(PathBuf::from))?
        })?;
        let dir = mount.join(format!("{}-delegated", user.name));
        let _ = std::fs::remove_dir(&dir);
        std::fs::create_dir(&dir).ok()?;
        for f in [
            "",
            "cgroup.procs",
            "cgroup.subtree_control",
            "cgroup.threads",
        ] {
            std::os::unix::fs::chown(dir.join(f), Some(user.uid), Some(user.gid)).ok()?;
        }
        Some(Delegated(dir))
    }
}

impl Drop for Delegated {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir(self.0.join("lxnest"));
        // The monitor may still be exiting: the directory empties a moment later.
        for _ in 0..50 {
            if std::fs::remove_dir(&self.0).is_ok() || !self.0.exists() {
                return;
            }
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
    }
}

#[test]
fn root_an_unprivileged_user_uses_a_delegated_cgroup2_subtree() {
    let Some((_turn, d, bin, tarball)) = setup() else {
        return;
    };
    let annie = User::create("lxnest-annie5", d.path(), 65_536, &bin);
    let Some(cg) = Delegated::create(&annie) else {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI machines mount cgroup2"
        );
        return;
    };
    let spec = spec(d.path(), "deleg-u", &tarball);
    // The launcher starts inside the delegated directory, as under `systemd-run --user --scope
    // -p Delegate=yes`.
    let o = Command::new("sh")
        .arg("-c")
        .arg(format!(
            "echo $$ > {}/cgroup.procs && exec runuser -u {} -- env -i HOME={} PATH={PATH} {} start {}",
            cg.0.display(),
            annie.name,
            annie.home.display(),
            bin.display(),
            spec.display()
        ))
        .current_dir("/")
        .output()
        .unwrap();
    assert!(o.status.success(), "{:?}", text(&o));
    let (info, _) = text(&annie.lxnest(&["info", "-n", "deleg-u"], PATH));
    let dir = cg.0.join("lxnest/deleg-u");
    assert!(
        info.contains(&format!("cgroup:      delegated cgroup2 {}", dir.display())),
        "{info}"
    );
    let pid: i32 = info
        .lines()
        .find_map(|l| l.strip_prefix("pid:"))
        .and_then(|p| p.trim().parse().ok())
        .expect("pid in info");
    let procs = std::fs::read_to_string(dir.join("cgroup.procs")).unwrap();
    assert!(
        procs.lines().any(|l| l.trim() == pid.to_string()),
        "init in the cgroup: {procs}"
    );
    let o = annie.lxnest(&["stop", "-n", "deleg-u"], PATH);
    assert!(o.status.success(), "{:?}", text(&o));
    assert!(!dir.exists(), "the container's cgroup is removed at stop");
}

#[test]
fn root_an_unprivileged_nesting_host_starts_its_child_inside_its_own_ids() {
    let Some((_turn, d, bin, _)) = setup() else {
        return;
    };
    // The box's own 65,536 ids plus a block for its child.
    let annie = User::create("lxnest-annie6", d.path(), 2 * 65_536, &bin);
    let sub = annie.sub.expect("subordinate ids");
    let spec = d.path().join("nest.yaml");
    let body = "containers:\n  - name: nbox\n    runtime: lxnest\n    children:\n      - name: ninner\n        command: [/bin/sleep, \"600\"]\n";
    std::fs::write(&spec, body).unwrap();
    let s = spec.to_str().unwrap();
    let (plan, err) = text(&annie.lxnest(&["plan", s], PATH));
    assert!(
        plan.contains(&format!("{},{sub}+131071", annie.uid)),
        "{plan}{err}"
    );
    assert!(
        plan.contains(&format!("{}+65536", sub + 65_535)),
        "child's host ids: {plan}"
    );

    let o = annie.lxnest(&["start", "--nested", s], PATH);
    assert!(o.status.success(), "{:?}", text(&o));
    // The child's root is the box's id 65536, which is the user's subordinate id 65535.
    let inner_root = sub + 65_535;
    let up = (0..100).any(|_| {
        std::thread::sleep(std::time::Duration::from_millis(200));
        host_uids().contains(&inner_root)
    });
    let (map, err) = text(&annie.lxnest(
        &[
            "attach",
            "-n",
            "nbox/ninner",
            "--",
            "/bin/cat",
            "/proc/self/uid_map",
        ],
        PATH,
    ));
    let o = annie.lxnest(&["stop", "-n", "nbox"], PATH);
    assert!(o.status.success(), "{:?}", text(&o));
    assert!(
        up,
        "a process of the level-2 container runs as host uid {inner_root}"
    );
    // Inside, identity onto its first namespace (launch::lock); the host uid check above is
    // where the nesting shows.
    assert_eq!(
        map.split_whitespace().collect::<Vec<_>>(),
        ["0", "0", "65536"],
        "{err}"
    );
}

/// The real uids of every process on the host.
fn host_uids() -> Vec<u32> {
    std::fs::read_dir("/proc")
        .map(|rd| {
            rd.flatten()
                .filter_map(|e| std::fs::read_to_string(e.path().join("status")).ok())
                .filter_map(|st| {
                    st.lines()
                        .find_map(|l| l.strip_prefix("Uid:"))
                        .and_then(|u| u.split_whitespace().next()?.parse().ok())
                })
                .collect()
        })
        .unwrap_or_default()
}
