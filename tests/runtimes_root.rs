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

/// Everything an LXC test checks on one running inner container `c` in `nest`.
fn check_inner_lxc(nest: &Nest, c: &str) {
    let subnet = nest.own_subnet();
    let lxc_net: ipnet::Ipv4Net = "10.0.3.0/24".parse().expect("literal");
    assert!(
        !subnet.contains(&lxc_net.network()) && !lxc_net.contains(&subnet.network()),
        "the planned subnet {subnet} avoids the namespace's 10.0.3.1/24"
    );
    let host_status = nest.ok("cat /proc/self/status");
    let pid = nest.ok(&format!("lxc-info -n {c} -pH")).trim().to_string();
    let inner = nest.ok(&format!("cat /proc/{pid}/status"));
    assert_eq!(
        seccomp_filters(&inner),
        seccomp_filters(&host_status) + 1,
        "LXC's own policy stacks on the nesting host's (lxc.seccomp.allow_nesting = 1): {inner}"
    );
    assert_eq!(
        nspid_depth(&inner),
        nspid_depth(&host_status) + 1,
        "the inner init sits one pid namespace below the nesting host: {inner}"
    );
    // The address comes by DHCP from lxc-net's dnsmasq.
    let addrs = nest.wait_ok(
        &format!("a=$(lxc-info -n {c} -iH); test -n \"$a\" && echo $a"),
        30,
    );
    let addr = address_in(&addrs, &subnet)
        .unwrap_or_else(|| panic!("{c} has an address in {subnet}: {addrs}"));
    assert!(!lxc_net.contains(&addr), "{addr} is outside 10.0.3.0/24");
    let gw = subnet.hosts().next().expect("a host address");
    nest.ok(&format!("lxc-attach -n {c} -- ping -c 1 -W 3 {gw}"));
    // NAT for the inner subnet inside the nesting host, none in the namespace above it.
    let inside = nest.ok("nft list ruleset");
    assert!(
        inside.contains("masquerade") && inside.contains(&subnet.network().to_string()),
        "the nesting host masquerades {subnet}: {inside}"
    );
    let above = network_of(&nest.netns.0);
    assert!(
        !above.contains(&subnet.network().to_string()),
        "nothing of {subnet} in the namespace above: {above}"
    );
}

/// lxc-net with the bridge lxnest planned, a busybox container with common.conf as the issue
/// checks it, and one with debian.common.conf: start, attach, stop, execute.
fn lxc_as_distros_run_it(nest: &Nest) {
    nest.ok("/usr/libexec/lxc/lxc-net start");
    nest.ok(
        "lxc-create -t busybox -n c1 && cat >> /var/lib/lxc/c1/config <<EOF
lxc.include = /usr/share/lxc/config/common.conf
lxc.mount.auto = cgroup:mixed proc:mixed sys:mixed
EOF",
    );
    nest.ok("lxc-start -n c1 && lxc-wait -n c1 -s RUNNING -t 20");
    check_inner_lxc(nest, "c1");
    let out = nest.ok("lxc-attach -n c1 -- /bin/sh -c 'echo attached; cat /proc/self/status'");
    assert!(out.contains("attached"), "{out}");
    nest.ok("lxc-stop -n c1 -t 10 && lxc-wait -n c1 -s STOPPED -t 10");

    nest.ok(
        "lxc-create -t busybox -n c2 && cat >> /var/lib/lxc/c2/config <<EOF
lxc.include = /usr/share/lxc/config/debian.common.conf
lxc.mount.auto = cgroup:mixed proc:mixed sys:mixed
EOF",
    );
    nest.ok("lxc-start -n c2 && lxc-wait -n c2 -s RUNNING -t 20");
    check_inner_lxc(nest, "c2");
    nest.ok("lxc-stop -n c2 -t 10");
    let out = nest.ok("lxc-execute -n c2 -- /bin/sh -c 'echo executed; grep Seccomp_filters /proc/self/status'");
    assert!(out.contains("executed"), "lxc-execute runs: {out}");
}

/// An unprivileged LXC container inside: its map is root's sub-range in the nesting host's
/// /etc/subuid and /etc/subgid, which the plan reserves for the nested runtime.
fn unprivileged_lxc(nest: &Nest) {
    let subuid = nest.ok("grep '^root:' /etc/subuid /etc/subgid");
    let map = nest.ok("cat /proc/self/uid_map");
    let mut config = String::new();
    for (kind, file) in [("u", "/etc/subuid"), ("g", "/etc/subgid")] {
        let line = subuid
            .lines()
            .find(|l| l.starts_with(file))
            .unwrap_or_else(|| panic!("root has a range in {file}: {subuid}"));
        let f: Vec<&str> = line.rsplit(':').take(2).collect();
        let (count, start) = (f[0], f[1]);
        config.push_str(&format!("lxc.idmap = {kind} 0 {start} {count}\n"));
    }
    eprintln!("nesting host map {map}; nested idmap {config}");
    nest.ok(&format!(
        "cat > /tmp/userns.conf <<EOF
lxc.net.0.type = veth
lxc.net.0.link = lxcbr0
lxc.net.0.flags = up
{config}EOF
lxc-create -t busybox -n u1 -f /tmp/userns.conf && cat >> /var/lib/lxc/u1/config <<EOF
lxc.include = /usr/share/lxc/config/common.conf
lxc.include = /usr/share/lxc/config/userns.conf
lxc.mount.auto = cgroup:mixed proc:mixed sys:mixed
EOF"
    ));
    nest.ok("lxc-start -n u1 && lxc-wait -n u1 -s RUNNING -t 20");
    let pid = nest.ok("lxc-info -n u1 -pH").trim().to_string();
    let inner_map = nest.ok(&format!("cat /proc/{pid}/uid_map"));
    assert!(
        !inner_map.trim().starts_with("0 0 "),
        "u1's root is not the nesting host's root: {inner_map}"
    );
    check_inner_lxc(nest, "u1");
    nest.ok("lxc-stop -n u1 -t 10");
}

#[test]
fn root_lxc_as_distros_run_it_on_the_debian_rootfs() {
    let Some(tarball) = debian_rootfs() else {
        return;
    };
    let nest = Nest::start(
        "lxc",
        &format!(
            "  - name: NAME\n    runtime: lxc\n    rootfs: tar:{}\n    command: [/bin/sleep, infinity]\n",
            tarball.display()
        ),
    );
    lxc_as_distros_run_it(&nest);
    unprivileged_lxc(&nest);
    nest.stop();
}

#[test]
fn root_lxc_as_distros_run_it_on_the_builtin_rootfs() {
    if !root_with("/usr/share/lxc/templates/lxc-busybox", "lxc-templates") {
        return;
    }
    let nest = Nest::start(
        "blt",
        "  - name: NAME\n    runtime: lxc\n    command: [/bin/sleep, infinity]\n",
    );
    lxc_as_distros_run_it(&nest);
    nest.stop();
}
