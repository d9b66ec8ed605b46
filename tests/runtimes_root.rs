//! LXC as distros run it, inside an lxnest nesting host (`runtime: lxc`), with Debian 12's real
//! packages: on the Debian system rootfs (scripts/build-debian-rootfs.sh, the "juju machine") and
//! on the built-in rootfs with this machine's lxc. Inside, lxc-net brings LXC's bridge up, and
//! LXC's busybox template makes containers that include the distro configs (common.conf,
//! debian.common.conf) with `cgroup:mixed proc:mixed sys:mixed`; lxc-start, lxc-attach,
//! lxc-stop and lxc-execute run them, privileged and unprivileged (lxc.idmap from the sub-range
//! in the nesting host's /etc/subuid). The stack runs in a network namespace the test made, which
//! has a link on 10.0.3.1/24 (a laptop's lxcbr0): LXC's bridge must be planned elsewhere.
//!
//! Each test asserts on the inner container: its Seccomp_filters (the nesting host's + 1: LXC's
//! own policy stacks through lxc.seccomp.allow_nesting), its NSpid depth (one more than the
//! nesting host's), its address (by DHCP, in the planned subnet, outside 10.0.3.0/24), that it
//! reaches its gateway, that NAT for it exists only inside the nesting host, and after stop that
//! the stack's namespace and cgroups are as before.

mod support;
use support::*;
mod realnest;
use realnest::*;

/// lxc-start with LXC's log, shown when the start fails.
fn lxc_start(nest: &Nest, c: &str) {
    nest.ok(&format!(
        "lxc-start -n {c} -l INFO -o /tmp/{c}.log && lxc-wait -n {c} -s RUNNING -t 20 \\
         || {{ grep -v ' INFO ' /tmp/{c}.log; exit 1; }}"
    ));
}

/// LXC's busybox template as container `c`, including the distro config `conf` (under
/// /usr/share/lxc/config) with `cgroup:mixed proc:mixed sys:mixed`, as the issue checks it.
fn create_busybox(nest: &Nest, c: &str, conf: &str) {
    nest.ok(&format!(
        "lxc-create -t busybox -n {c} && cat >> /var/lib/lxc/{c}/config <<EOF
lxc.include = /usr/share/lxc/config/{conf}
lxc.mount.auto = cgroup:mixed proc:mixed sys:mixed
EOF"
    ));
}

/// Everything an LXC test checks on one running inner container `c` in `nest`.
fn check_inner_lxc(nest: &Nest, checks: &mut Checks, c: &str) {
    let pid = nest.ok(&format!("lxc-info -n {c} -pH")).trim().to_string();
    // The address comes by DHCP from lxc-net's dnsmasq.
    let addrs = nest.sh(&format!(
        "for i in $(seq 30); do a=$(lxc-info -n {c} -iH); test -n \"$a\" && echo $a && exit 0; sleep 1; done; \
         echo no address: config: $(grep lxc.net /var/lib/lxc/{c}/config); \
         echo inside: $(lxc-attach -n {c} -- ip -4 -o addr); exit 1"
    ));
    let addrs = String::from_utf8_lossy(&addrs.stdout).into_owned();
    let label = format!("lxc {c}");
    let inner = Inner {
        label: &label,
        host_status: &nest.ok("cat /proc/self/status"),
        inner_status: &nest.ok(&format!("cat /proc/{pid}/status")),
        addrs: &addrs,
        ruleset: &nest.ok("nft list ruleset"),
    };
    inner.check(checks, nest.own_subnet(), &network_of(&nest.netns.0));
    let gw = nest.ok(&format!(
        "lxc-attach -n {c} -- ip route | sed -n 's/^default via \\([0-9.]*\\).*/\\1/p'"
    ));
    let ping = nest.sh(&format!(
        "lxc-attach -n {c} -- ping -c 1 -W 3 {}",
        gw.trim()
    ));
    checks.ping_ok(&label, &gw, &ping);
}

/// lxc-net with the bridge lxnest planned, a busybox container with common.conf as the issue
/// checks it, and one with debian.common.conf: start, attach, stop, execute.
fn lxc_as_distros_run_it(nest: &Nest, checks: &mut Checks) {
    nest.ok("/usr/libexec/lxc/lxc-net start");
    create_busybox(nest, "c1", "common.conf");
    lxc_start(nest, "c1");
    check_inner_lxc(nest, checks, "c1");
    let out = nest.ok("lxc-attach -n c1 -- /bin/sh -c 'echo attached; cat /proc/self/status'");
    assert!(out.contains("attached"), "{out}");
    nest.ok("lxc-stop -n c1 -t 10 && lxc-wait -n c1 -s STOPPED -t 10");

    create_busybox(nest, "c2", "debian.common.conf");
    lxc_start(nest, "c2");
    check_inner_lxc(nest, checks, "c2");
    nest.ok("lxc-stop -n c2 -t 10");
    let out = nest.ok(
        "lxc-execute -n c2 -- /bin/sh -c 'echo executed; grep Seccomp_filters /proc/self/status'",
    );
    assert!(out.contains("executed"), "lxc-execute runs: {out}");
}

/// An unprivileged LXC container inside: its map is the id range the plan reserves for the
/// nested runtime (`plan.idmap.runtime`, ids inside the nesting host), which lxnest gives root in
/// the nesting host's /etc/subuid and /etc/subgid and writes as `lxc.idmap` into
/// /etc/lxc/default.conf; the range lies inside the nesting host's own map.
fn unprivileged_lxc(nest: &Nest, checks: &mut Checks) {
    let reserved = &nest.info()["plan"]["idmap"]["runtime"];
    let (first, count) = (reserved["first"].as_u64(), reserved["count"].as_u64());
    checks.check(
        first.is_some() && count.is_some(),
        format!("the plan reserves ids for the nested runtime (plan.idmap.runtime): {reserved}"),
    );
    let subids = nest.ok("grep -H '^root:' /etc/subuid /etc/subgid || true");
    let map = nest.ok("cat /proc/self/uid_map");
    // The ids the nesting host's user namespace maps (inside ids 0..mapped).
    let mapped: u64 = map
        .lines()
        .filter_map(|l| {
            let f: Vec<u64> = l
                .split_whitespace()
                .filter_map(|w| w.parse().ok())
                .collect();
            (f.len() == 3).then(|| f[0] + f[2])
        })
        .max()
        .unwrap_or(0);
    let mut idmap = String::new();
    for (kind, file) in [("u", "/etc/subuid"), ("g", "/etc/subgid")] {
        let line = subids.lines().find(|l| l.starts_with(file));
        let range = line.and_then(|l| {
            let f: Vec<u64> = l
                .rsplit(':')
                .take(2)
                .filter_map(|w| w.parse().ok())
                .collect();
            (f.len() == 2).then(|| (f[1], f[0]))
        });
        checks.check(
            range.is_some() && range == first.zip(count),
            format!("{file} gives root the reserved range {first:?}+{count:?}: {line:?}"),
        );
        checks.check(
            range.is_some_and(|(s, n)| s > 0 && s + n <= mapped),
            format!("{file}'s range {range:?} lies inside the nesting host's map: {map}"),
        );
        let (s, n) = first.zip(count).or(range).unwrap_or((0, 0));
        idmap.push_str(&format!("lxc.idmap = {kind} 0 {s} {n}\n"));
    }
    nest.ok("lxc-create -t busybox -n u1");
    let config = nest.ok("cat /var/lib/lxc/u1/config");
    let from_default = config
        .lines()
        .filter(|l| l.starts_with("lxc.idmap"))
        .count();
    checks.check(
        from_default == 2,
        format!("/etc/lxc/default.conf gives a new container the reserved lxc.idmap: {config}"),
    );
    if from_default == 0 {
        // Made again with the reserved map so that the rest of the test still runs.
        nest.ok(&format!(
            "lxc-destroy -n u1 && {{ cat /etc/lxc/default.conf; printf '{idmap}'; }} > /tmp/u1.conf \
             && lxc-create -t busybox -n u1 -f /tmp/u1.conf"
        ));
    }
    nest.ok("cat >> /var/lib/lxc/u1/config <<EOF
lxc.include = /usr/share/lxc/config/common.conf
lxc.include = /usr/share/lxc/config/userns.conf
lxc.mount.auto = cgroup:mixed proc:mixed sys:mixed
EOF");
    let started =
        nest.sh("lxc-start -n u1 -l INFO -o /tmp/u1.log && lxc-wait -n u1 -s RUNNING -t 20");
    let log = nest.ok("grep -v ' INFO ' /tmp/u1.log || true");
    checks.check(
        started.status.success(),
        format!("unprivileged LXC container u1 starts: {log}"),
    );
    if !started.status.success() {
        return;
    }
    let pid = nest.ok("lxc-info -n u1 -pH").trim().to_string();
    let inner_map = nest.ok(&format!("cat /proc/{pid}/uid_map"));
    checks.check(
        !inner_map.trim().starts_with("0 0 "),
        format!("u1's root is not the nesting host's root: {inner_map}"),
    );
    check_inner_lxc(nest, checks, "u1");
    nest.ok("lxc-stop -n u1 -t 10");
}

#[test]
fn root_lxc_as_distros_run_it_on_the_debian_rootfs() {
    let Some(tarball) = debian_rootfs() else {
        return;
    };
    let nest = Nest::start("lxc", &container_yaml(&["runtime: lxc"], Some(&tarball)));
    let mut checks = Checks::default();
    lxc_as_distros_run_it(&nest, &mut checks);
    unprivileged_lxc(&nest, &mut checks);
    let _ = nest.stop();
    checks.assert_all();
}

#[test]
fn root_lxc_as_distros_run_it_on_the_builtin_rootfs() {
    if !root_with("/usr/share/lxc/templates/lxc-busybox", "lxc-templates") {
        return;
    }
    let nest = Nest::start("blt", &container_yaml(&["runtime: lxc"], None));
    let mut checks = Checks::default();
    lxc_as_distros_run_it(&nest, &mut checks);
    let _ = nest.stop();
    checks.assert_all();
}

/// The juju machine as it boots: systemd as PID 1 of a `runtime: lxc` nesting host on the
/// Debian rootfs reaches `running` with no failed unit, its lxc-net service brings LXC's bridge
/// up on the planned subnet, an LXC container with common.conf runs inside, and `lxnest stop`
/// halts systemd (SIGRTMIN+3) promptly.
#[test]
fn root_systemd_boots_the_debian_rootfs_and_runs_lxc() {
    let Some(tarball) = debian_rootfs() else {
        return;
    };
    let nest = Nest::start(
        "sd",
        &container_yaml(&["runtime: lxc", "init: systemd"], Some(&tarball)),
    );
    let mut checks = Checks::default();
    let t = std::time::Instant::now();
    let state = nest.wait_ok(
        "s=$(systemctl is-system-running); echo $s; case $s in running|degraded) exit 0;; esac; exit 1",
        120,
    );
    eprintln!("systemd: {} after {:?}", state.trim(), t.elapsed());
    let failed = nest.ok("systemctl --failed --no-legend --plain");
    checks.check(
        state.trim() == "running" && failed.trim().is_empty(),
        format!("systemd reaches running with no failed unit: {state} {failed}"),
    );
    nest.ok("systemctl is-active lxc-net");
    create_busybox(&nest, "c1", "common.conf");
    lxc_start(&nest, "c1");
    check_inner_lxc(&nest, &mut checks, "c1");
    let took = nest.stop();
    checks.check(
        // SIGTERM (which systemd takes as "re-execute") took 10.3 s here; SIGRTMIN+3 about 4 s.
        took < std::time::Duration::from_secs(9),
        format!("systemd halts on stop (SIGRTMIN+3) within 9 s, took {took:?}"),
    );
    checks.assert_all();
}
