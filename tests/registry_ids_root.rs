//! Root tests of host id ranges (issue 17, finding 5, and issue 15 point 4; docs/registry.md):
//! root's own /etc/subuid range keeps root's containers away from every user's subordinate ids, also
//! from a user `useradd` creates afterwards, whose ids cannot signal root's containers; an
//! unprivileged user's stacks take disjoint blocks of her own ids, in her own registry.

use std::path::PathBuf;
use std::process::Command;

mod registry_support;
mod support;
use registry_support::*;

/// A host user made by `useradd`, removed (with `userdel`) on drop, on failure too.
struct User(String);

impl Drop for User {
    fn drop(&mut self) {
        let _ = Command::new("userdel").arg(&self.0).output();
    }
}

/// Root's range in a subuid/subgid file.
fn root_entry(file: &str) -> Option<(u64, u64)> {
    std::fs::read_to_string(file).ok()?.lines().find_map(|l| {
        let mut f = l.split(':');
        (f.next()? == "root").then_some(())?;
        Some((f.next()?.parse().ok()?, f.next()?.parse().ok()?))
    })
}

/// Issue 17, finding 5: root's containers used to start at host uid 100000, the range `useradd`
/// also gives the first user, whose own containers' root then could signal root's level-2 init.
#[test]
fn registry_root_useradd_after_roots_range_is_disjoint_and_cannot_signal_root_containers() {
    if !support::root_with("/usr/sbin/useradd", "useradd (passwd)")
        || !support::root_with("/usr/bin/setpriv", "setpriv (util-linux)")
    {
        return;
    }
    let tag = format!("ru{}x", std::process::id() % 100_000);
    let dir = support::traversable_tempdir();
    let state = dir.path().join("state");
    let host = format!("{tag}h");
    let spec = dir.path().join("u.yaml");
    // Loopback at level 1: nothing on the host's network; the nesting host's bridge is inside.
    std::fs::write(
        &spec,
        format!("name: {tag}s\ncontainers:\n  - name: {host}\n    runtime: lxnest\n    network: {{mode: loopback}}\n    children:\n      - name: k1\n        command: [\"/bin/sleep\", \"1000\"]\n"),
    )
    .expect("spec");
    let _stacks = Stacks {
        state: state.clone(),
        names: vec![host.clone()],
    };
    let o = Command::new(bin())
        .args(["start", "--nested", "-P"])
        .arg(&state)
        .arg(&spec)
        .output()
        .expect("start");
    assert!(o.status.success(), "{}", text(&o));
    let pid = init_pid(&state, &host);
    let top = host_uids(pid);
    let kids = level_two(&host, &["k1"]);

    let name = format!("lxnr{}", std::process::id() % 100_000);
    let o = Command::new("useradd")
        .arg(&name)
        .output()
        .expect("useradd");
    assert!(o.status.success(), "useradd: {}", text(&o));
    let _user = User(name.clone());
    let users = users_subuids();
    let mine = users
        .iter()
        .find(|(o, _)| *o == name)
        .map(|u| u.1)
        .expect("useradd gave the user subordinate uids (SUB_UID_COUNT in /etc/login.defs)");
    // Every user's container root (the first id of her range) tries to signal root's containers.
    for (owner, (first, _)) in &users {
        for target in std::iter::once(pid).chain(kids.iter().copied()) {
            let o = Command::new("setpriv")
                .args([
                    &format!("--reuid={first}"),
                    &format!("--regid={first}"),
                    "--clear-groups",
                    "/bin/sh",
                    "-c",
                    &format!("kill -0 {target}"),
                ])
                .output()
                .expect("setpriv");
            assert!(
                !o.status.success(),
                "host uid {first} (of {owner}'s range) may signal root's container process {target} (host uids {:?})",
                host_uids(target)
            );
        }
    }
    let root = root_entry("/etc/subuid").expect("lxnest gave root an /etc/subuid entry");
    let root_g = root_entry("/etc/subgid").expect("lxnest gave root an /etc/subgid entry");
    assert_eq!(root, root_g);
    assert!(
        top.0 >= root.0 && top.0 + top.1 <= root.0 + root.1,
        "{top:?} inside root's {root:?}"
    );
    assert!(
        !overlap(mine, root),
        "useradd handed out {mine:?} inside root's {root:?}"
    );
    let o = Command::new(bin())
        .args(["stop", "-t", "5", "-n", &host, "-P"])
        .arg(&state)
        .output()
        .expect("stop");
    assert!(o.status.success(), "{}", text(&o));
    assert!(registry_entries(&tag).is_empty(), "released at stop");
}

/// Point 4: an unprivileged user's stacks, started at once, take disjoint blocks of her own
/// subordinate ids, recorded in her own registry (below her home), released at stop.
#[test]
fn registry_root_an_unprivileged_users_stacks_take_disjoint_blocks_of_her_own_ids() {
    if !support::root_with("/usr/sbin/runuser", "runuser (util-linux)")
        || !support::root_with("/usr/bin/newuidmap", "newuidmap (uidmap)")
        || !support::root_with("/bin/busybox", "busybox-static")
    {
        return;
    }
    let tag = format!("ra{}x", std::process::id() % 100_000);
    let d = support::traversable_tempdir();
    let copy = d.path().join("lxnest");
    std::fs::copy(bin(), &copy).expect("copy lxnest");
    let tarball = d.path().join("rootfs.tar.gz");
    support::busybox_tarball(&tarball, &[]);
    std::fs::set_permissions(
        &tarball,
        std::os::unix::fs::PermissionsExt::from_mode(0o644),
    )
    .expect("chmod");
    let name = format!("lxnra{}", std::process::id() % 100_000);
    let home = d.path().join(&name);
    let o = Command::new("useradd")
        .args([
            "--system",
            "--user-group",
            "--shell",
            "/bin/sh",
            "--home-dir",
        ])
        .arg(&home)
        .arg(&name)
        .output()
        .expect("useradd");
    assert!(o.status.success(), "useradd: {}", text(&o));
    let _user = User(name.clone());
    // Four blocks of subordinate ids, past every range in use.
    let end = std::fs::read_to_string("/etc/subuid")
        .unwrap_or_default()
        .lines()
        .filter_map(|l| {
            let mut f = l.split(':').skip(1).map(|x| x.parse::<u64>().ok());
            Some(f.next()?? + f.next()??)
        })
        .max()
        .unwrap_or(0)
        .max(1_000_000)
        .next_multiple_of(65_536);
    let range = format!("{end}-{}", end + 4 * 65_536 - 1);
    let o = Command::new("usermod")
        .args(["--add-subuids", &range, "--add-subgids", &range, &name])
        .output()
        .expect("usermod");
    assert!(o.status.success(), "usermod: {}", text(&o));
    let pw = nix::unistd::User::from_name(&name)
        .expect("getpwnam")
        .expect("user");
    std::fs::create_dir(&home).expect("home");
    std::os::unix::fs::chown(&home, Some(pw.uid.as_raw()), Some(pw.gid.as_raw())).expect("chown");
    let as_user = |args: &[&str]| {
        Command::new("runuser")
            .args(["-u", &name, "--", "env", "-i"])
            .arg(format!("HOME={}", home.display()))
            .arg("PATH=/usr/local/bin:/usr/bin:/bin")
            .arg(&copy)
            .args(args)
            .current_dir("/")
            .output()
            .expect("runuser")
    };
    let specs: Vec<(String, PathBuf)> = (0..2)
        .map(|i| {
            let c = format!("{tag}c{i}");
            let p = d.path().join(format!("{c}.yaml"));
            std::fs::write(
                &p,
                format!(
                    "name: {tag}s{i}\ncontainers:\n  - name: {c}\n    rootfs: tar:{}\n    command: [/bin/sleep, \"600\"]\n",
                    tarball.display()
                ),
            )
            .expect("spec");
            (c, p)
        })
        .collect();
    let state = home.join(".local/share/lxnest/run");
    let _stacks = Stacks {
        state: state.clone(),
        names: specs.iter().map(|s| s.0.clone()).collect(),
    };
    std::thread::scope(|s| {
        let hs: Vec<_> = specs
            .iter()
            .map(|(_, p)| s.spawn(|| as_user(&["start", p.to_str().expect("utf-8")])))
            .collect();
        for h in hs {
            let o = h.join().expect("thread");
            assert!(o.status.success(), "start: {}", text(&o));
        }
    });
    let registry = state.join(".registry/registry.json");
    let t = std::fs::read_to_string(&registry).expect("the user's own registry");
    let v: serde_json::Value = serde_json::from_str(&t).expect("json");
    assert_eq!(v["entries"].as_array().map(Vec::len), Some(2), "{t}");
    let mut blocks = Vec::new();
    for (c, _) in &specs {
        let m = std::fs::read_to_string(format!("/proc/{}/uid_map", init_pid(&state, c)))
            .expect("uid_map");
        let lines: Vec<Vec<u64>> = m
            .lines()
            .map(|l| {
                l.split_whitespace()
                    .map(|x| x.parse().expect("n"))
                    .collect()
            })
            .collect();
        assert_eq!(lines[0], vec![0, u64::from(pw.uid.as_raw()), 1], "{m}");
        let sub = (lines[1][1], lines[1][2]);
        assert!(
            sub.0 >= end && sub.0 + sub.1 <= end + 4 * 65_536,
            "{sub:?} in her range {range}"
        );
        blocks.push(sub);
    }
    assert!(!overlap(blocks[0], blocks[1]), "{blocks:?}");
    // A one-shot run of hers meanwhile takes a third block (its map read from the host).
    let run_name = format!("{tag}r");
    let mut child = Command::new("runuser")
        .args(["-u", &name, "--", "env", "-i"])
        .arg(format!("HOME={}", home.display()))
        .arg("PATH=/usr/local/bin:/usr/bin:/bin")
        .arg(&copy)
        .args(["run", "-n", &run_name, "--rootfs"])
        .arg(format!("tar:{}", tarball.display()))
        .args(["--", "/bin/sleep", "4"])
        .current_dir("/")
        .spawn()
        .expect("run");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    let pid = loop {
        let st = std::fs::read_to_string(state.join(&run_name).join("state.json"));
        if let Ok(v) = st.map(|t| serde_json::from_str::<serde_json::Value>(&t)) {
            if let Some(p) = v.ok().and_then(|v| v["pid"].as_i64()) {
                break p;
            }
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the run never started"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    };
    let m = std::fs::read_to_string(format!("/proc/{pid}/uid_map")).expect("run's uid_map");
    let line: Vec<u64> = m
        .lines()
        .nth(1)
        .expect("second map line")
        .split_whitespace()
        .map(|x| x.parse().expect("n"))
        .collect();
    assert!(child.wait().expect("wait").success(), "run failed");
    let run = (line[1], line[2]);
    assert!(
        blocks.iter().all(|b| !overlap(run, *b)) && run.0 >= end,
        "run {run:?} vs {blocks:?}"
    );
    // Her plan shows what her running stacks hold.
    let o = as_user(&["plan", specs[0].1.to_str().expect("utf-8")]);
    let plan = text(&o);
    assert!(
        plan.contains("reserved") && plan.contains(&format!("stack {tag}s1")),
        "{plan}"
    );
    for (c, _) in &specs {
        let o = as_user(&["stop", "-n", c]);
        assert!(o.status.success(), "stop: {}", text(&o));
    }
    let t = std::fs::read_to_string(&registry).expect("registry");
    assert!(t.contains("\"entries\": []"), "released: {t}");
}
