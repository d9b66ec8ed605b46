//! LXD 5.0 as Debian 12 ships it, inside an lxnest nesting host (`runtime: lxd`) on the Debian
//! system rootfs (scripts/build-debian-rootfs.sh). `lxd init --auto` makes lxdbr0 and a `dir`
//! pool; the image is a busybox root built inside the nesting host from its busybox-static and
//! imported with `lxc image import` (nothing from the internet). The stack runs in a network
//! namespace the test made, with a bridge on 10.0.3.1/24.
//!
//! Asserted as for the other runtimes: Seccomp_filters (+1), NSpid depth (+1), an address by DHCP
//! in the subnet the plan reserves for lxdbr0 (outside 10.0.3.0/24), its gateway reachable, NAT
//! only inside the nesting host; and an unprivileged LXD container (LXD's default), which needs
//! root's sub-range in the nesting host's /etc/subuid and /etc/subgid.

mod realnest;
mod support;
use realnest::*;

/// A busybox image for LXD: metadata.yaml and rootfs/, whose init asks lxdbr0's dnsmasq for an
/// address (udhcpc with a small script that applies the lease).
const IMAGE: &str = r#"set -e
rm -rf /tmp/img && mkdir -p /tmp/img/rootfs && cd /tmp/img/rootfs
mkdir -p bin sbin etc proc sys dev tmp run
cp /bin/busybox bin/
for a in sh ip ping sleep cat udhcpc mount ls; do ln -s busybox bin/$a; done
ln -s ../bin/busybox sbin/init
cat > bin/lease <<'EOF'
#!/bin/sh
case "$1" in bound|renew)
  ip addr add "$ip/$mask" dev "$interface"
  ip route add default via "${router%% *}" ;;
esac
EOF
chmod 755 bin/lease
printf '::sysinit:/bin/udhcpc -b -i eth0 -s /bin/lease\n::respawn:/bin/sleep 1000\n' > etc/inittab
printf 'architecture: x86_64\ncreation_date: 1700000000\nproperties:\n  description: lxnest busybox\n' > ../metadata.yaml
tar -C /tmp/img -czf /tmp/busybox-lxd.tar.gz metadata.yaml rootfs
lxc image import /tmp/busybox-lxd.tar.gz --alias lxnest-busybox >/dev/null
"#;

/// Launches `c` with `extra` (`-c key=value` options) and checks it; the launch's failure is a
/// failed check.
fn launch_and_check(nest: &Nest, checks: &mut Checks, c: &str, extra: &str) {
    let o = nest.sh(&format!(
        "lxc launch lxnest-busybox {c} {extra} 2>&1 </dev/null"
    ));
    let out = String::from_utf8_lossy(&o.stdout);
    checks.check(
        o.status.success(),
        format!(
            "lxd {c} {}: lxc launch: {}",
            if extra.is_empty() {
                "(unprivileged)"
            } else {
                extra
            },
            out.lines().last().unwrap_or("")
        ),
    );
    if !o.status.success() {
        return;
    }
    let pid = nest
        .ok(&format!(
            "lxc query /1.0/instances/{c}/state | sed -n 's/.*\"pid\": \\([0-9]*\\).*/\\1/p'"
        ))
        .trim()
        .to_string();
    let addrs = nest.sh(&format!(
        "for i in $(seq 30); do a=$(lxc exec {c} -- ip -4 -o addr show eth0); \
         case $a in *inet*) echo $a; exit 0;; esac; sleep 1; done; exit 1"
    ));
    let label = format!("lxd {c}");
    let inner = Inner {
        label: &label,
        host_status: &nest.ok("cat /proc/self/status"),
        inner_status: &nest.ok(&format!("cat /proc/{pid}/status")),
        addrs: &String::from_utf8_lossy(&addrs.stdout),
        ruleset: &nest.ok("nft list ruleset"),
    };
    inner.check(checks, nest.own_subnet(), &network_of(&nest.netns.0));
    let bridge = nest.runtime_bridge().map_or("lxdbr0".into(), |(n, _)| n);
    let gw = nest.ok(&format!("lxc network get {bridge} ipv4.address"));
    let gw = gw.trim().split('/').next().unwrap_or("").to_string();
    let ping = nest.sh(&format!("lxc exec {c} -- ping -c 1 -W 3 {gw}"));
    checks.ping_ok(&label, &gw, &ping);
    nest.ok(&format!("lxc delete -f {c}"));
}

#[test]
fn root_lxd_runs_busybox_containers_in_a_nesting_host() {
    let Some(tarball) = debian_rootfs() else {
        return;
    };
    let nest = Nest::start("lxd", &container_yaml(&["runtime: lxd"], Some(&tarball)));
    nest.ok("setsid lxd --group lxd </dev/null >/var/log/lxd.log 2>&1 &");
    nest.ok("lxd waitready --timeout 60");
    let mut checks = Checks::default();
    // lxnest writes LXD's preseed with the planned lxdbr0 subnet; without it, --auto picks one.
    let preseed = nest
        .sh("test -f /etc/lxnest/lxd-preseed.yaml")
        .status
        .success();
    checks.check(
        preseed,
        "/etc/lxnest/lxd-preseed.yaml is written for lxd init".into(),
    );
    nest.ok(if preseed {
        "lxd init --preseed < /etc/lxnest/lxd-preseed.yaml"
    } else {
        "lxd init --auto"
    });
    nest.ok(IMAGE);
    launch_and_check(&nest, &mut checks, "priv1", "-c security.privileged=true");
    launch_and_check(&nest, &mut checks, "unpriv1", "");
    let _ = nest.stop();
    checks.assert_all();
}
