//! What lxnest writes into nesting hosts for their runtimes (issue 14), as root on this kernel:
//! a `runtime: lxc` host on the built-in rootfs gets a writable /etc of its own (system users, a
//! machine-id, lxc-net and default.conf on the planned subnet, root's subordinate ids inside its
//! map) while the host's /etc stays untouched; Debian's lxc-net brings lxcbr0 up there with NAT
//! inside only; an unprivileged LXC container that includes common.conf (sys:mixed) maps root
//! from the reserved range, stacks LXC's seccomp policy and gets a DHCP address on the planned
//! subnet from which it reaches its gateway; files written
//! into a tarball's tree stay inside it whatever its symlinks name. Nothing is left behind.

mod support;
use support::stack::*;
use support::*;

use std::path::Path;
use std::process::Command;

#[test]
fn an_lxc_host_gets_a_writable_etc_with_its_runtime_configuration_and_the_hosts_etc_is_untouched() {
    if !root() {
        return;
    }
    let name = unique("rtlxc");
    let probe = format!("/etc/lxnest-probe-{name}");
    let script = format!(
        "set -e; echo inside > {probe}; cat {probe}; cat /etc/default/lxc-net; \
         cat /etc/lxc/default.conf; echo subuid=$(cat /etc/subuid); \
         echo machine-id=$(cat /etc/machine-id); getent passwd messagebus lxc-dnsmasq; \
         getent group systemd-journal; touch $HOME/x; test -d /etc/docker; \
         test -d /etc/containers; cat /proc/self/uid_map"
    );
    let mut stack = Stack::new(&one_container(&name, "lxc"));
    stack.start(&[], &[&name]);
    let c = stack.plan_of(&name);
    let subnet = c["network"]["runtime_bridge"]["subnet"]
        .as_str()
        .expect("lxcbr0 planned")
        .to_string();
    let reserved = c["idmap"]["runtime"].clone();
    let out = stack.sh(&name, &script);
    assert!(out.starts_with("inside\n"), "{out}");
    assert!(
        !Path::new(&probe).exists(),
        "a write to the container's /etc reached the host's"
    );
    assert!(out.contains(&format!("LXC_NETWORK=\"{subnet}\"")), "{out}");
    assert!(!subnet.starts_with("10.0.3."), "never LXC's default");
    assert!(
        out.contains("lxc.net.0.link = lxcbr0") && out.contains("lxc.seccomp.allow_nesting = 1")
    );
    assert!(
        out.contains(&format!(
            "subuid=root:{}:{}",
            reserved["first"], reserved["count"]
        )),
        "{out}"
    );
    let id = out
        .lines()
        .find_map(|l| l.strip_prefix("machine-id="))
        .expect("machine-id");
    assert!(
        id.len() == 32 && id.chars().all(|c| c.is_ascii_hexdigit()),
        "{id}"
    );
    assert!(out.contains("messagebus:x:") && out.contains("lxc-dnsmasq:x:"));
    assert!(out.contains("systemd-journal:x:"));
    // The reserved range lies inside the container's own map.
    let mapped: u64 = out
        .lines()
        .last()
        .and_then(|l| l.split_whitespace().nth(2))
        .and_then(|n| n.parse().ok())
        .expect("uid_map");
    let end =
        reserved["first"].as_u64().expect("first") + reserved["count"].as_u64().expect("count");
    assert!(
        end <= mapped,
        "reserved ids end at {end}, the map has {mapped}"
    );
    stack.stop_and_check();
}

/// A busybox tree whose /etc/docker is an absolute symlink naming `victim`, a host directory;
/// the same path exists inside the tree, where the link must resolve.
fn hostile_tarball(path: &Path, victim: &Path) {
    let mut b = tar::Builder::new(flate2::write::GzEncoder::new(
        std::fs::File::create(path).expect("create"),
        flate2::Compression::fast(),
    ));
    let rel = victim.strip_prefix("/").expect("absolute");
    let mut dirs = vec![
        "bin/".to_string(),
        "etc/".into(),
        "tmp/".into(),
        "proc/".into(),
    ];
    dirs.extend(["sys/", "dev/", "root/"].map(String::from));
    let mut acc = String::new();
    for part in rel.iter() {
        acc.push_str(&part.to_string_lossy());
        acc.push('/');
        dirs.push(acc.clone());
    }
    for d in dirs {
        tar_dir(&mut b, &d, 0o755, 0, 0);
    }
    tar_busybox(&mut b);
    for (link, target) in [
        ("bin/sh", Path::new("busybox")),
        ("bin/cat", Path::new("busybox")),
        ("etc/docker", victim),
    ] {
        tar_symlink(&mut b, link, target);
    }
    b.into_inner().expect("tar").finish().expect("gzip");
}

#[test]
fn runtime_files_written_into_a_tarball_root_stay_inside_whatever_it_links_to() {
    if !root_with("/bin/busybox", "busybox-static") {
        return;
    }
    let victim = tempfile::tempdir().expect("victim");
    let tarball_dir = traversable_tempdir();
    let tarball = tarball_dir.path().join("hostile.tar.gz");
    hostile_tarball(&tarball, victim.path());
    let name = unique("rtdock");
    let inside = victim.path().join("daemon.json");
    let mut stack = Stack::new(
        &format!(
            "name: {name}\ncontainers:\n  - name: {name}\n    runtime: docker\n    rootfs: tar:{}\n    network: {{ mode: loopback }}\n    command: [\"/bin/cat\", \"/etc/docker/daemon.json\", {:?}]\n",
            tarball.display(),
            inside.display()
        ),
    );
    // In the foreground: the command prints and the container ends (destroy below removes it).
    let out = stack.start(&["-F"], &[]);
    // Both names reach the same file inside the container: the link resolved inside its root.
    assert_eq!(out.matches("\"bip\"").count(), 2, "{out}");
    assert!(
        std::fs::read_dir(victim.path())
            .expect("ls")
            .next()
            .is_none(),
        "the host directory the symlink names got a file"
    );
    let _ = lxnest(&["destroy", "-P", stack.st(), "-n", &name]);
    stack.guard(&[&name]);
    stack.check_nothing_left();
}

#[test]
fn lxc_net_brings_lxcbr0_up_on_the_planned_subnet_with_nat_inside_only() {
    if !root_with("/usr/libexec/lxc/lxc-net", "lxc")
        || !root_with("/usr/sbin/dnsmasq", "dnsmasq-base")
    {
        return;
    }
    let name = unique("rtnet");
    let mut stack = Stack::new(&one_container(&name, "lxc"));
    stack.start(&[], &[&name]);
    let bridge = stack.plan_of(&name)["network"]["runtime_bridge"].clone();
    let (subnet, address) = (
        bridge["subnet"].as_str().expect("subnet").to_string(),
        bridge["address"].as_str().expect("address").to_string(),
    );
    // Debian's own lxc-net script, unchanged, reading what lxnest wrote.
    let out = stack.sh(
        &name,
        "/usr/libexec/lxc/lxc-net start >/dev/null && ip -4 -o addr show lxcbr0 && \
         cat /run/lxc/dnsmasq.pid >/dev/null && nft list table ip lxc",
    );
    assert!(out.contains(&format!("inet {address}")), "{out}");
    assert!(!out.contains("10.0.3."), "{out}");
    assert!(
        out.contains(&format!("ip saddr {subnet}")) && out.contains("masquerade"),
        "NAT for the planned subnet inside the nesting host: {out}"
    );
    let host_rules = Command::new("nft")
        .args(["list", "ruleset"])
        .output()
        .expect("nft");
    assert!(
        !String::from_utf8_lossy(&host_rules.stdout).contains(&subnet),
        "the host's rule set never sees the nested subnet"
    );
    stack.stop_and_check();
}

#[test]
fn unprivileged_lxc_with_common_conf_inside_gets_the_reserved_ids_a_stacked_filter_and_a_planned_address(
) {
    if !root_with("/usr/share/lxc/templates/lxc-busybox", "lxc")
        || !root_with("/bin/busybox", "busybox-static")
    {
        return;
    }
    let name = unique("rtulx");
    let mut stack = Stack::new(&one_container(&name, "lxc"));
    stack.start(&[], &[&name]);
    let plan = stack.plan_of(&name);
    let first = plan["idmap"]["runtime"]["first"]
        .as_u64()
        .expect("reserved range");
    let subnet: ipnet::Ipv4Net = plan["network"]["runtime_bridge"]["subnet"]
        .as_str()
        .and_then(|s| s.parse().ok())
        .expect("lxcbr0 planned");
    // LXC's own tools as distributions configure containers (common.conf: LXC's seccomp policy,
    // sys:mixed), with nothing but what lxnest wrote: default.conf's lxc.idmap makes the
    // container unprivileged, /etc/subuid lets root map it, allow_nesting stacks LXC's filter,
    // lxc-net gives it an address on the planned subnet. Traffic stays inside the nesting host.
    let out = stack.sh(
        &name,
        "set -e; /usr/libexec/lxc/lxc-net start >/dev/null; \
         lxc-create -t busybox -n u1 >/dev/null 2>&1; \
         printf 'lxc.include = /usr/share/lxc/config/common.conf\\nlxc.mount.auto = cgroup:mixed proc:mixed sys:mixed\\n' >> /var/lib/lxc/u1/config; \
         lxc-start -n u1; lxc-wait -n u1 -s RUNNING -t 30; \
         lxc-attach -n u1 -- /bin/sh -c 'cat /proc/self/uid_map; grep Seccomp_filters /proc/self/status; \
           udhcpc -i eth0 -n -q -t 10 >/dev/null 2>&1; echo addr=$(ip -4 -o addr show eth0 | sed -n \"s/.*inet \\([0-9.]*\\).*/\\1/p\"); \
           gw=$(ip route | sed -n \"s/^default via \\([0-9.]*\\).*/\\1/p\"); ping -c1 -W3 $gw >/dev/null && echo gateway=ok'; \
         lxc-stop -n u1 -k",
    );
    let line: Vec<&str> = out
        .lines()
        .find(|l| l.split_whitespace().next() == Some("0"))
        .map(|l| l.split_whitespace().collect())
        .unwrap_or_default();
    assert_eq!(
        line,
        ["0", &first.to_string(), "65536"],
        "LXC's container maps root to the reserved range: {out}"
    );
    let filters: u32 = out
        .lines()
        .find_map(|l| l.strip_prefix("Seccomp_filters:"))
        .and_then(|n| n.trim().parse().ok())
        .expect("Seccomp_filters");
    assert!(filters >= 2, "LXC's policy stacks on lxnest's: {out}");
    let addr: std::net::Ipv4Addr = out
        .lines()
        .find_map(|l| l.strip_prefix("addr="))
        .and_then(|a| a.parse().ok())
        .unwrap_or_else(|| panic!("a DHCP address: {out}"));
    assert!(subnet.contains(&addr), "{addr} in {subnet}");
    assert!(out.contains("gateway=ok"), "{out}");
    stack.stop_and_check();
}
