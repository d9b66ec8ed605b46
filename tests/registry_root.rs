//! Root tests of the allocation registry (docs/registry.md): many nesting stacks started at once
//! get pairwise disjoint subnets at every level and disjoint host id ranges, released at stop;
//! root's own /etc/subuid range keeps root's containers away from every user's subordinate ids,
//! also from a user `useradd` creates afterwards (issue 17, finding 5).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

mod support;
use support::TestNetns;

fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_lxnest")
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// `lxnest ARGS` in the test's network namespace.
fn in_ns(ns: &TestNetns, args: &[&str]) -> Output {
    Command::new("nsenter")
        .arg(format!("--net=/run/netns/{}", ns.0))
        .arg(bin())
        .args(args)
        .output()
        .expect("nsenter")
}

/// Stops every container it names on drop, on failure too, so nothing outlives the test.
struct Stacks {
    state: PathBuf,
    names: Vec<String>,
}

impl Drop for Stacks {
    fn drop(&mut self) {
        for n in &self.names {
            if self.state.join(n).exists() {
                let _ = Command::new(bin())
                    .args(["stop", "-t", "2", "-n", n, "-P"])
                    .arg(&self.state)
                    .output();
            }
        }
    }
}

/// A nesting stack: level-1 host `NAME` with two level-2 children that sleep.
fn write_spec(dir: &Path, stack: &str, host: &str) -> PathBuf {
    let p = dir.join(format!("{stack}.yaml"));
    let kid = |k: &str| format!("      - name: {k}\n        command: [\"/bin/sleep\", \"1000\"]\n");
    std::fs::write(
        &p,
        format!(
            "name: {stack}\ncontainers:\n  - name: {host}\n    runtime: lxnest\n    children:\n{}{}",
            kid("k1"),
            kid("k2")
        ),
    )
    .expect("write spec");
    p
}

/// Starts `(stack, host)` pairs at once, each `lxnest start --nested` its own process.
fn start_all(ns: &TestNetns, dir: &Path, state: &Path, which: &[(String, String)]) {
    let st = state.to_str().expect("utf-8").to_string();
    let handles: Vec<_> = which
        .iter()
        .map(|(stack, host)| {
            let spec = write_spec(dir, stack, host);
            let (st, ns_name) = (st.clone(), ns.0.clone());
            std::thread::spawn(move || {
                let ns = std::mem::ManuallyDrop::new(TestNetns(ns_name));
                in_ns(
                    &ns,
                    &[
                        "start",
                        "--nested",
                        "-P",
                        &st,
                        spec.to_str().expect("utf-8"),
                    ],
                )
            })
        })
        .collect();
    for (h, (_, host)) in handles.into_iter().zip(which) {
        let o = h.join().expect("thread");
        assert!(o.status.success(), "start {host}: {}", text(&o));
    }
}

fn stop_all(state: &Path, names: &[String]) {
    let handles: Vec<_> = names
        .iter()
        .map(|n| {
            let (n, st) = (n.clone(), state.to_path_buf());
            std::thread::spawn(move || {
                Command::new(bin())
                    .args(["stop", "-t", "5", "-n", &n, "-P"])
                    .arg(&st)
                    .output()
                    .expect("stop")
            })
        })
        .collect();
    for (h, n) in handles.into_iter().zip(names) {
        let o = h.join().expect("thread");
        assert!(o.status.success(), "stop {n}: {}", text(&o));
    }
}

/// The level-1 init's pid from its state.json.
fn init_pid(state: &Path, name: &str) -> i32 {
    let t = std::fs::read_to_string(state.join(name).join("state.json")).expect("state.json");
    let v: serde_json::Value = serde_json::from_str(&t).expect("json");
    v["pid"].as_i64().expect("pid") as i32
}

/// Pids whose cgroup (any hierarchy) ends with `suffix`.
fn pids_in_cgroup(suffix: &str) -> Vec<i32> {
    std::fs::read_dir("/proc")
        .expect("proc")
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<i32>().ok())
        .filter(|p| {
            std::fs::read_to_string(format!("/proc/{p}/cgroup"))
                .is_ok_and(|cg| cg.lines().any(|l| l.ends_with(suffix)))
        })
        .collect()
}

/// The first line of /proc/PID/uid_map read from the host: `(first host uid, count)`.
fn host_uids(pid: i32) -> (u64, u64) {
    let m = std::fs::read_to_string(format!("/proc/{pid}/uid_map")).expect("uid_map");
    let w: Vec<u64> = m
        .split_whitespace()
        .take(3)
        .map(|x| x.parse().expect("number"))
        .collect();
    (w[1], w[2])
}

fn overlap(a: (u64, u64), b: (u64, u64)) -> bool {
    a.0 < b.0 + b.1 && b.0 < a.0 + a.1
}

/// `(network, prefix)` of every IPv4 address on a bridge, from `ip -j -4 addr` in `netns_args`.
fn bridge_nets(netns_args: &[&str]) -> Vec<(String, ipnet::Ipv4Net)> {
    let o = Command::new(netns_args[0])
        .args(&netns_args[1..])
        .args(["ip", "-j", "-4", "addr"])
        .output()
        .expect("ip addr");
    assert!(o.status.success(), "{}", text(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).expect("ip json");
    let mut out = Vec::new();
    for l in v.as_array().expect("array") {
        let name = l["ifname"].as_str().unwrap_or_default().to_string();
        if !name.starts_with("lxnbr") {
            continue;
        }
        for a in l["addr_info"].as_array().into_iter().flatten() {
            let net = format!(
                "{}/{}",
                a["local"].as_str().unwrap_or_default(),
                a["prefixlen"]
            );
            let net: ipnet::Ipv4Net = net.parse().expect("address");
            out.push((name.clone(), net.trunc()));
        }
    }
    out
}

/// Destinations of the main table's routes, asserting none is there twice.
fn routes_unique(netns_args: &[&str], what: &str) {
    let o = Command::new(netns_args[0])
        .args(&netns_args[1..])
        .args(["ip", "-j", "-4", "route"])
        .output()
        .expect("ip route");
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).expect("ip json");
    let mut seen = BTreeMap::new();
    for r in v.as_array().expect("array") {
        let dst = r["dst"].as_str().unwrap_or_default().to_string();
        *seen.entry(dst).or_insert(0) += 1;
    }
    let dup: Vec<_> = seen.iter().filter(|(_, n)| **n > 1).collect();
    assert!(dup.is_empty(), "{what}: duplicate routes {dup:?}");
}

/// Non-root ranges of /etc/subuid.
fn users_subuids() -> Vec<(String, (u64, u64))> {
    std::fs::read_to_string("/etc/subuid")
        .unwrap_or_default()
        .lines()
        .filter_map(|l| {
            let mut f = l.split(':');
            let (o, a, c) = (f.next()?, f.next()?.parse().ok()?, f.next()?.parse().ok()?);
            (o != "root" && o != "0").then(|| (o.to_string(), (a, c)))
        })
        .collect()
}

/// Waits until the level-2 inits `kids` of `host` run; returns their pids.
fn level_two(host: &str, kids: &[&str]) -> Vec<i32> {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let k: Vec<i32> = kids
            .iter()
            .flat_map(|k| pids_in_cgroup(&format!("/lxnest/{host}/{k}")))
            .collect();
        let found = kids
            .iter()
            .all(|k| !pids_in_cgroup(&format!("/lxnest/{host}/{k}")).is_empty());
        if found {
            return k;
        }
        assert!(Instant::now() < deadline, "level 2 of {host} never ran");
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Every assertion of issue 15 on the running hosts.
fn check_disjoint(ns: &TestNetns, state: &Path, hosts: &[String]) {
    let netns = ["ip", "netns", "exec", ns.0.as_str()];
    let mut nets = bridge_nets(&netns);
    routes_unique(&netns, "test netns");
    assert_eq!(
        nets.len(),
        hosts.len(),
        "one host bridge per stack: {nets:?}"
    );
    let mut trees = Vec::new();
    for h in hosts {
        let pid = init_pid(state, h);
        let p = pid.to_string();
        let inside = ["nsenter", "-t", p.as_str(), "-n"];
        let inner = bridge_nets(&inside);
        assert_eq!(inner.len(), 1, "{h} has its own bridge: {inner:?}");
        routes_unique(&inside, h);
        nets.extend(inner.into_iter().map(|(n, net)| (format!("{h}:{n}"), net)));
        let top = host_uids(pid);
        for k in level_two(h, &["k1", "k2"]) {
            let kid = host_uids(k);
            assert!(
                kid.0 >= top.0 && kid.0 + kid.1 <= top.0 + top.1,
                "{h}'s child inside its block"
            );
        }
        trees.push((h.clone(), top));
    }
    for (i, a) in nets.iter().enumerate() {
        for b in &nets[i + 1..] {
            assert!(
                !lxnest::plan::subnet::overlaps(&a.1, &b.1),
                "subnets overlap: {a:?} {b:?}"
            );
        }
    }
    eprintln!("subnets: {nets:?}\nhost uid blocks: {trees:?}");
    let users = users_subuids();
    for (i, a) in trees.iter().enumerate() {
        for b in &trees[i + 1..] {
            assert!(!overlap(a.1, b.1), "uid ranges overlap: {a:?} {b:?}");
        }
        for u in &users {
            assert!(!overlap(a.1, u.1), "{a:?} overlaps {u:?} of /etc/subuid");
        }
    }
}

/// The registry's entries whose stack name starts with `tag`.
fn registry_entries(tag: &str) -> Vec<String> {
    let t = std::fs::read_to_string("/run/lxnest/.registry/registry.json").unwrap_or_default();
    let v: serde_json::Value = serde_json::from_str(&t).unwrap_or_default();
    v["entries"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|e| e["stack"].as_str().map(str::to_string))
        .filter(|s| s.starts_with(tag))
        .collect()
}

#[test]
fn registry_root_concurrent_nesting_stacks_get_disjoint_subnets_and_ids() {
    if !support::root_with("/usr/bin/nsenter", "nsenter (util-linux)") {
        return;
    }
    let tag = format!("rg{}x", std::process::id() % 100_000);
    let ns = TestNetns::new(&format!("lxnest-{tag}"));
    let dir = support::traversable_tempdir();
    let state = dir.path().join("state");
    let pair = |i: usize| (format!("{tag}s{i}"), format!("{tag}h{i}"));
    let first: Vec<(String, String)> = (0..8).map(pair).collect();
    let later: Vec<(String, String)> = (8..12).map(pair).collect();
    let _guard = Stacks {
        state: state.clone(),
        names: first.iter().chain(&later).map(|p| p.1.clone()).collect(),
    };
    start_all(&ns, dir.path(), &state, &first);
    let hosts: Vec<String> = first.iter().map(|p| p.1.clone()).collect();
    check_disjoint(&ns, &state, &hosts);
    assert_eq!(
        registry_entries(&tag).len(),
        8,
        "one registry entry per tree"
    );

    // Stop half, start four more at once: the freed subnets and ids may be reused, never shared.
    stop_all(&state, &hosts[..4]);
    assert_eq!(registry_entries(&tag).len(), 4, "released at stop");
    start_all(&ns, dir.path(), &state, &later);
    let running: Vec<String> = hosts[4..]
        .iter()
        .cloned()
        .chain(later.iter().map(|p| p.1.clone()))
        .collect();
    check_disjoint(&ns, &state, &running);

    stop_all(&state, &running);
    assert_eq!(
        registry_entries(&tag),
        Vec::<String>::new(),
        "registry empty of our stacks"
    );
    support::assert_no_state_left(&state);
    let links = Command::new("ip")
        .args(["-n", &ns.0, "-o", "link"])
        .output()
        .expect("ip");
    assert_eq!(
        String::from_utf8_lossy(&links.stdout).lines().count(),
        1,
        "only lo is left in the test's namespace"
    );
    for h in &running {
        assert!(
            pids_in_cgroup(&format!("/lxnest/{h}")).is_empty(),
            "{h} left processes"
        );
    }
}

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
    let bin = d.path().join("lxnest");
    std::fs::copy(bin_path(), &bin).expect("copy lxnest");
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
            .arg(&bin)
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

fn bin_path() -> &'static str {
    env!("CARGO_BIN_EXE_lxnest")
}

/// Point 3: a monitor killed with SIGKILL leaves its container running, and the reservations stay
/// with it; once the container is gone too, the next start finds the entry stale and frees it; the
/// stack starts again after `destroy` and is released at stop.
#[test]
fn registry_root_a_dead_monitors_reservations_are_recovered_not_leaked() {
    if !support::root() {
        return;
    }
    let tag = format!("rd{}x", std::process::id() % 100_000);
    let dir = support::traversable_tempdir();
    let state = dir.path().join("state");
    let spec = dir.path().join("d.yaml");
    let host = format!("{tag}h");
    std::fs::write(
        &spec,
        format!("name: {tag}s\ncontainers:\n  - name: {host}\n    network: {{mode: loopback}}\n    command: [\"/bin/sleep\", \"1000\"]\n"),
    )
    .expect("spec");
    let _stacks = Stacks {
        state: state.clone(),
        names: vec![host.clone()],
    };
    let start = || {
        let o = Command::new(bin())
            .args(["start", "-P"])
            .arg(&state)
            .arg(&spec)
            .output()
            .expect("start");
        assert!(o.status.success(), "{}", text(&o));
    };
    start();
    let st: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(state.join(&host).join("state.json")).expect("state"),
    )
    .expect("json");
    let (monitor, init) = (
        st["monitor_pid"].as_i64().expect("monitor") as i32,
        st["pid"].as_i64().expect("pid") as i32,
    );
    let first = host_uids(init);
    let kill = |pid: i32| {
        let _ = nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(pid),
            nix::sys::signal::Signal::SIGKILL,
        );
    };
    kill(monitor);
    std::thread::sleep(Duration::from_millis(300));
    // Another start takes the lock and prunes; the orphaned container still holds its ids.
    let other = dir.path().join("o.yaml");
    std::fs::write(
        &other,
        format!("name: {tag}o\ncontainers:\n  - name: {tag}o\n    network: {{mode: loopback}}\n    command: [\"/bin/true\"]\n"),
    )
    .expect("spec");
    let o = Command::new(bin())
        .args(["start", "-F", "-P"])
        .arg(&state)
        .arg(&other)
        .output()
        .expect("start -F");
    assert!(o.status.success(), "{}", text(&o));
    assert_eq!(
        registry_entries(&tag),
        vec![format!("{tag}s")],
        "kept while its init runs"
    );
    // The container dies as well: its entry is stale now, and the next start frees it.
    kill(init);
    let deadline = Instant::now() + Duration::from_secs(10);
    while std::path::Path::new(&format!("/proc/{init}")).exists() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    let o = Command::new(bin())
        .args(["start", "-F", "-P"])
        .arg(&state)
        .arg(&other)
        .output()
        .expect("start -F");
    assert!(o.status.success(), "{}", text(&o));
    assert!(registry_entries(&tag).is_empty(), "stale entry recovered");
    // destroy cleans the stale state; the stack starts again with a block of the same size.
    let o = Command::new(bin())
        .args(["destroy", "-n", &host, "-P"])
        .arg(&state)
        .output()
        .expect("destroy");
    assert!(o.status.success(), "{}", text(&o));
    start();
    let again = host_uids(init_pid(&state, &host));
    let o = Command::new(bin())
        .args(["stop", "-t", "2", "-n", &host, "-P"])
        .arg(&state)
        .output()
        .expect("stop");
    assert!(o.status.success(), "{}", text(&o));
    assert!(registry_entries(&tag).is_empty(), "released at stop");
    assert_eq!(again.1, first.1);
}
