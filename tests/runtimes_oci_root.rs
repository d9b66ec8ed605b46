//! Docker and Podman as Debian 12 ships them, inside an lxnest nesting host (`runtime: docker`,
//! `runtime: podman`) on the Debian system rootfs (scripts/build-debian-rootfs.sh). The image is
//! a busybox tarball built by the test and imported (`docker import`, `podman import`): nothing
//! comes from the internet. The stack runs in a network namespace the test made, with a bridge on
//! 10.0.3.1/24 as a laptop with LXC has one.
//!
//! Asserted on the inner container: Seccomp_filters (the nesting host's + 1: the engine's default
//! profile stacks), NSpid depth (one more than the nesting host's), its address in the subnet the
//! plan reserved for the engine's bridge (daemon.json `bip` / podman's network), never in
//! 10.0.3.0/24, its gateway reachable, NAT for it only inside the nesting host, and after stop the
//! stack's namespace and cgroups as before.

mod support;
use support::*;
mod realnest;
use realnest::*;

/// One engine's commands.
struct Engine {
    /// `docker` or `podman`.
    cli: &'static str,
    /// Starts the engine's daemon, if it has one, detached from the attach session.
    daemon: &'static str,
    /// `run` options: Podman leaves NET_RAW out of its default capabilities, and busybox's
    /// ping needs a raw socket.
    run: &'static str,
}

const DOCKER: Engine = Engine {
    cli: "docker",
    daemon: "setsid dockerd </dev/null >/var/log/dockerd.log 2>&1 &",
    run: "",
};

const PODMAN: Engine = Engine {
    cli: "podman",
    daemon: "",
    run: "--cap-add NET_RAW",
};

fn engine_in_a_nesting_host(runtime: &str, e: &Engine) {
    let Some(tarball) = debian_rootfs() else {
        return;
    };
    let nest = Nest::start(
        &runtime[..3],
        &container_yaml(&[&format!("runtime: {runtime}")], Some(&tarball)),
    );
    let dir = tempfile::tempdir().expect("tempdir");
    let bb = dir.path().join("busybox.tar.gz");
    busybox_tarball(&bb, &[]);
    nest.put(&bb, "/tmp/busybox.tar.gz");
    let cli = e.cli;
    if !e.daemon.is_empty() {
        nest.ok(e.daemon);
        let waited = nest.sh(&format!(
            "for i in $(seq 60); do {cli} info >/dev/null 2>&1 && exit 0; sleep 1; done; \
             tail -20 /var/log/dockerd.log; exit 1"
        ));
        assert!(
            waited.status.success(),
            "{cli} daemon up: {}",
            String::from_utf8_lossy(&waited.stdout)
        );
    }
    nest.ok(&format!("{cli} import /tmp/busybox.tar.gz lxnest-busybox"));
    nest.ok(&format!(
        "{cli} run -d {} --name inner1 lxnest-busybox /bin/sleep 1000",
        e.run
    ));
    let mut c = Checks::default();
    let pid = nest
        .ok(&format!("{cli} inspect -f '{{{{.State.Pid}}}}' inner1"))
        .trim()
        .to_string();
    let inner = Inner {
        label: cli,
        host_status: &nest.ok("cat /proc/self/status"),
        inner_status: &nest.ok(&format!("cat /proc/{pid}/status")),
        addrs: &nest.ok(&format!("{cli} exec inner1 /bin/busybox ip -4 -o addr")),
        ruleset: &nest.ok("nft list ruleset"),
    };
    inner.check(&mut c, nest.own_subnet(), &network_of(&nest.netns.0));
    // Its gateway (the engine's bridge in the nesting host, the planned subnet's first address)
    // answers.
    let gw = nest.ok(&format!(
        "{cli} exec inner1 busybox ip route | sed -n 's/^default via \\([0-9.]*\\).*/\\1/p'"
    ));
    let gw = gw.trim();
    let planned_gw = nest
        .own_subnet()
        .and_then(|s| s.hosts().next())
        .map(|a| a.to_string());
    c.check(
        planned_gw.as_deref() == Some(gw),
        format!("{cli}: default route via `{gw}`, planned {planned_gw:?}"),
    );
    let ping = nest.sh(&format!("{cli} exec inner1 busybox ping -c 1 -W 3 {gw}"));
    c.ping_ok(cli, gw, &ping);
    nest.ok(&format!("{cli} rm -f inner1"));
    let _ = nest.stop();
    c.assert_all();
}

#[test]
fn root_docker_runs_an_imported_busybox_in_a_nesting_host() {
    engine_in_a_nesting_host("docker", &DOCKER);
}

#[test]
fn root_podman_runs_an_imported_busybox_in_a_nesting_host() {
    engine_in_a_nesting_host("podman", &PODMAN);
}
