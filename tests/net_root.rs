//! Network tests as root, entirely inside network namespaces the test creates (each kept alive
//! by an fd and entered by short-lived threads): bridge, veths, addresses, routes, TCP between
//! two namespaces, the NAT table. Nothing is created in the host's namespace; the tests check
//! that the host-facing refusals hold.

mod support;
use ipnet::Ipv4Net;
use lxnest::net::{self, nat, NetError};
use lxnest::origin::Origin;
use lxnest::plan::model::BridgePlan;
use std::io::{Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::os::fd::{AsFd, OwnedFd};
use std::time::Duration;

/// A new network namespace, held by the returned fd.
fn new_netns() -> OwnedFd {
    std::thread::spawn(|| {
        nix::sched::unshare(nix::sched::CloneFlags::CLONE_NEWNET).expect("unshare netns");
        std::fs::File::open("/proc/thread-self/ns/net")
            .map(OwnedFd::from)
            .expect("open ns")
    })
    .join()
    .expect("netns thread")
}

/// Runs `f` on a thread that entered `ns`.
fn run_in<T: Send>(ns: &OwnedFd, f: impl FnOnce() -> T + Send) -> T {
    std::thread::scope(|s| {
        s.spawn(|| {
            nix::sched::setns(ns.as_fd(), nix::sched::CloneFlags::CLONE_NEWNET).expect("setns");
            f()
        })
        .join()
        .expect("thread in netns")
    })
}

fn bridge_plan(name: &str, subnet: &str, address: &str) -> BridgePlan {
    BridgePlan {
        name: name.into(),
        subnet: subnet.parse().expect("subnet"),
        address: address.parse().expect("address"),
        mtu: 1400,
        nat: true,
        origin: Origin::default(),
    }
}

fn is_missing(r: Result<u32, NetError>) -> bool {
    matches!(r, Err(NetError::NoSuchInterface(_)))
}

#[test]
fn root_bridge_veths_and_tcp_between_namespaces() {
    assert!(
        is_missing(net::link_index("lxt-br0")),
        "host already has lxt-br0"
    );
    let (ns_a, ns_b, ns_c) = (new_netns(), new_netns(), new_netns());
    let plan = bridge_plan("lxt-br0", "10.231.7.0/24", "10.231.7.1/24");

    let (bridge, vb, vc) = run_in(&ns_a, || {
        let bridge = net::ensure_bridge(&plan).expect("bridge");
        assert!(bridge.created());
        // A second ensure reuses lxnest's own bridge and leaves it alone on drop.
        let again = net::ensure_bridge(&plan).expect("bridge again");
        assert!(!again.created());
        drop(again);
        let vb =
            net::create_veth("lxt-vb", "peerb", "lxt-br0", ns_b.as_fd(), 1400).expect("veth b");
        let vc =
            net::create_veth("lxt-vc", "peerc", "lxt-br0", ns_c.as_fd(), 1400).expect("veth c");
        // Someone else's interface with the bridge's name is never taken over.
        let foreign = bridge_plan("lxt-vb", "10.231.9.0/24", "10.231.9.1/24");
        assert!(matches!(
            net::ensure_bridge(&foreign),
            Err(NetError::NotOurs { .. })
        ));
        let addrs = net::addresses_v4().expect("addresses");
        assert!(addrs
            .iter()
            .any(|a| a.address == plan.address && a.label.as_deref() == Some("lxt-br0")));
        let routes = net::routes_v4().expect("routes");
        assert!(routes.iter().any(|r| r.destination == plan.subnet));
        (bridge, vb, vc)
    });
    assert!(
        is_missing(net::link_index("lxt-br0")),
        "the bridge leaked into the host namespace"
    );

    let gw = Ipv4Addr::new(10, 231, 7, 1);
    for (ns, peer, ip) in [
        (&ns_b, "peerb", "10.231.7.2/24"),
        (&ns_c, "peerc", "10.231.7.3/24"),
    ] {
        let addr: Ipv4Net = ip.parse().expect("ip");
        run_in(ns, || {
            net::configure_inside(peer, "eth0", Some(addr), Some(gw), 1400).expect("configure");
            assert!(is_missing(net::link_index(peer)), "peer was not renamed");
            let addrs = net::addresses_v4().expect("addresses");
            assert!(
                addrs
                    .iter()
                    .any(|a| a.address == addr && a.label.as_deref() == Some("eth0")),
                "{addrs:?}"
            );
            assert!(
                addrs
                    .iter()
                    .any(|a| a.address.addr() == Ipv4Addr::LOCALHOST),
                "lo not up"
            );
            let routes = net::routes_v4().expect("routes");
            let default: Ipv4Net = "0.0.0.0/0".parse().expect("default");
            assert!(
                routes
                    .iter()
                    .any(|r| r.destination == default && r.gateway == Some(gw)),
                "{routes:?}"
            );
        });
    }

    // TCP from C to B across the bridge in A; both sockets live in their namespaces.
    let listener = run_in(&ns_b, || {
        TcpListener::bind("10.231.7.2:7777").expect("listen")
    });
    let target: SocketAddr = "10.231.7.2:7777".parse().expect("addr");
    run_in(&ns_c, || {
        let mut s = TcpStream::connect_timeout(&target, Duration::from_secs(5))
            .expect("connect across bridge");
        s.write_all(b"hello from c").expect("send");
    });
    listener.set_nonblocking(false).expect("blocking");
    let (mut conn, from) = listener.accept().expect("accept");
    assert_eq!(from.ip(), Ipv4Addr::new(10, 231, 7, 3));
    let mut got = String::new();
    conn.set_read_timeout(Some(Duration::from_secs(5)))
        .expect("timeout");
    conn.read_to_string(&mut got).expect("read");
    assert_eq!(got, "hello from c");
    // From the host namespace the container addresses are unreachable: nothing routes there.
    assert!(!net::routes_v4()
        .expect("host routes")
        .iter()
        .any(|r| r.destination == plan.subnet));

    drop((conn, listener, vb, vc, bridge));
    run_in(&ns_a, || {
        for name in ["lxt-br0", "lxt-vb", "lxt-vc"] {
            assert!(is_missing(net::link_index(name)), "{name} left behind");
        }
    });
    run_in(&ns_b, || {
        assert!(
            is_missing(net::link_index("eth0")),
            "peer outlived its pair"
        )
    });
}

#[test]
fn root_delete_link_for_stop() {
    let (ns_a, ns_b) = (new_netns(), new_netns());
    run_in(&ns_a, || {
        let plan = bridge_plan("lxt-br2", "10.231.10.0/24", "10.231.10.1/24");
        let bridge = net::ensure_bridge(&plan).expect("bridge");
        let veth =
            net::create_veth("lxt-v2", "peer2", "lxt-br2", ns_b.as_fd(), 1500).expect("veth");
        veth.persist();
        bridge.persist();
        assert!(net::link_index("lxt-v2").is_ok());
        net::delete_link("lxt-v2").expect("delete veth");
        net::delete_link("lxt-br2").expect("delete bridge");
        net::delete_link("lxt-br2").expect("deleting a missing link is fine");
        assert!(is_missing(net::link_index("lxt-v2")));
        assert!(is_missing(net::link_index("lxt-br2")));
    });
}

#[test]
fn root_nat_only_in_own_namespace() {
    let host_forward = std::fs::read_to_string("/proc/sys/net/ipv4/ip_forward").expect("read");
    // The host refusals are only exercised where the host is recognised as such.
    if nat::in_initial_netns().expect("ns check") {
        let plan = bridge_plan("lxt-br1", "10.231.8.0/24", "10.231.8.1/24");
        assert!(
            nat::NatGuard::new(&plan).is_err(),
            "NAT must be refused on the host"
        );
        assert!(
            nat::enable_ip_forward().is_err(),
            "ip_forward must be refused on the host"
        );
    }
    let ns = new_netns();
    let plan = bridge_plan("lxt-br1", "10.231.8.0/24", "10.231.8.1/24");
    let guard = run_in(&ns, || {
        assert!(!nat::in_initial_netns().expect("ns check"));
        nat::enable_ip_forward().expect("ip_forward");
        assert_eq!(
            std::fs::read_to_string("/proc/sys/net/ipv4/ip_forward")
                .expect("read")
                .trim(),
            "1"
        );
        let guard = nat::NatGuard::new(&plan).expect("nat");
        assert!(nat::list_tables()
            .expect("tables")
            .contains(&"lxnest".to_string()));
        // `nft` forked from this thread runs in this namespace.
        match std::process::Command::new("nft")
            .args(["list", "table", "ip", "lxnest"])
            .output()
        {
            Ok(out) => {
                let text = String::from_utf8_lossy(&out.stdout);
                assert!(
                    out.status.success(),
                    "nft: {}",
                    String::from_utf8_lossy(&out.stderr)
                );
                assert!(
                    text.contains("type nat hook postrouting priority srcnat"),
                    "{text}"
                );
                assert!(text.contains("ip saddr 10.231.8.0/24"), "{text}");
                assert!(text.contains("oifname != \"lxt-br1\""), "{text}");
                assert!(text.contains("masquerade"), "{text}");
            }
            Err(e) => {
                support::require(false, &format!("nft (Debian package nftables; {e})"));
            }
        }
        // A second guard replaces a stale table instead of failing.
        let again = nat::NatGuard::new(&plan).expect("replace");
        again.persist();
        guard
    });
    // The host's sysctl and ruleset are untouched.
    assert_eq!(
        std::fs::read_to_string("/proc/sys/net/ipv4/ip_forward").expect("read"),
        host_forward
    );
    assert!(!nat::list_tables()
        .expect("host tables")
        .contains(&"lxnest".to_string()));
    drop(guard); // from this (host) thread: the guard's socket still targets the namespace
    run_in(&ns, || {
        assert!(!nat::list_tables()
            .expect("tables")
            .contains(&"lxnest".to_string()))
    });
}

/// A nesting host's namespace ("outer") with an uplink to a "world" namespace, its own bridge and
/// a container namespace behind it: the container reaches the world only once NAT is installed,
/// and the world sees the outer address, not the container's.
#[test]
fn root_masquerade_really_translates() {
    let (world, outer, inner) = (new_netns(), new_netns(), new_netns());
    let world_plan = bridge_plan("lxt-wbr", "10.231.20.0/24", "10.231.20.1/24");
    let (world_bridge, uplink) = run_in(&world, || {
        let b = net::ensure_bridge(&world_plan).expect("world bridge");
        let v = net::create_veth("lxt-up", "up0", "lxt-wbr", outer.as_fd(), 1500).expect("uplink");
        (b, v)
    });
    let outer_plan = bridge_plan("lxt-obr", "10.231.21.0/24", "10.231.21.1/24");
    let (outer_bridge, veth) = run_in(&outer, || {
        let up: Ipv4Net = "10.231.20.2/24".parse().expect("ip");
        net::configure_inside(
            "up0",
            "eth0",
            Some(up),
            Some(Ipv4Addr::new(10, 231, 20, 1)),
            1500,
        )
        .expect("uplink");
        nat::enable_ip_forward().expect("forward");
        let b = net::ensure_bridge(&outer_plan).expect("outer bridge");
        let v = net::create_veth("lxt-c", "c0", "lxt-obr", inner.as_fd(), 1500).expect("veth");
        (b, v)
    });
    run_in(&inner, || {
        let a: Ipv4Net = "10.231.21.2/24".parse().expect("ip");
        net::configure_inside(
            "c0",
            "eth0",
            Some(a),
            Some(Ipv4Addr::new(10, 231, 21, 1)),
            1500,
        )
        .expect("inner");
    });
    let listener = run_in(&world, || {
        TcpListener::bind("10.231.20.1:8888").expect("listen")
    });
    let target: SocketAddr = "10.231.20.1:8888".parse().expect("addr");

    // Without NAT the world cannot answer 10.231.21.2: it has no route back.
    let before = run_in(&inner, || {
        TcpStream::connect_timeout(&target, Duration::from_millis(1500))
    });
    assert!(before.is_err(), "reached the world without NAT");

    let nat_guard = run_in(&outer, || nat::NatGuard::new(&outer_plan).expect("nat"));
    run_in(&inner, || {
        let mut s = TcpStream::connect_timeout(&target, Duration::from_secs(5))
            .expect("connect through NAT");
        s.write_all(b"masqueraded").expect("send");
    });
    // Drain anything a retransmitted SYN of the first attempt may have left in the backlog.
    listener.set_nonblocking(false).expect("blocking");
    let (mut conn, from) = listener.accept().expect("accept");
    assert_eq!(
        from.ip(),
        Ipv4Addr::new(10, 231, 20, 2),
        "the world saw the container's own address"
    );
    let mut got = String::new();
    conn.set_read_timeout(Some(Duration::from_secs(5)))
        .expect("timeout");
    conn.read_to_string(&mut got).expect("read");
    assert_eq!(got, "masqueraded");
    drop((
        conn,
        listener,
        nat_guard,
        veth,
        outer_bridge,
        uplink,
        world_bridge,
    ));
}

/// A `sleep` in a network namespace of its own, started from the calling thread's namespace.
fn sleeper_in_new_netns() -> std::process::Child {
    use std::os::unix::process::CommandExt;
    let mut cmd = std::process::Command::new("sleep");
    cmd.arg("30");
    // SAFETY: only the unshare syscall runs between fork and exec.
    unsafe {
        cmd.pre_exec(|| {
            nix::sched::unshare(nix::sched::CloneFlags::CLONE_NEWNET)?;
            Ok(())
        });
    }
    cmd.spawn().expect("spawn sleeper")
}

#[test]
fn root_setup_container_for_a_process() {
    let ns_a = new_netns();
    run_in(&ns_a, || {
        let plan = bridge_plan("lxt-br3", "10.231.11.0/24", "10.231.11.1/24");
        let bridge = net::ensure_bridge(&plan).expect("bridge");
        let mut child = sleeper_in_new_netns();
        let pid = child.id() as i32;
        let netplan = lxnest::plan::model::NetPlan {
            mode: lxnest::spec::model::NetworkMode::Bridge,
            parent_bridge: Some("lxt-br3".into()),
            veth_host: Some("lxt-v3".into()),
            interface: "eth0".into(),
            address: Some("10.231.11.2/24".parse().expect("addr")),
            gateway: Some(Ipv4Addr::new(10, 231, 11, 1)),
            mtu: 1400,
            own_bridge: None,
            ..Default::default()
        };
        let veth = net::setup_container(&netplan, pid)
            .expect("setup")
            .expect("a veth");
        assert!(net::bridge_has_ports("lxt-br3").expect("ports"));
        let fd = net::netns_fd_of_pid(pid).expect("ns fd");
        let (addrs, routes) =
            net::in_netns(fd.as_fd(), || Ok((net::addresses_v4()?, net::routes_v4()?)))
                .expect("inside");
        assert!(addrs.iter().any(
            |a| a.label.as_deref() == Some("eth0") && a.address == netplan.address.expect("a")
        ));
        assert!(
            routes.iter().any(|r| r.gateway == netplan.gateway),
            "{routes:?}"
        );
        // The container answers on its address from the parent's namespace (TCP reset or
        // accept both prove reachability; a timeout would not).
        let probe = TcpStream::connect_timeout(
            &"10.231.11.2:9".parse().expect("sa"),
            Duration::from_secs(3),
        );
        match probe {
            Ok(_) => {}
            Err(e) => assert_eq!(e.kind(), std::io::ErrorKind::ConnectionRefused, "{e}"),
        }

        // Loopback mode: only lo, up.
        let mut lone = sleeper_in_new_netns();
        let lo_plan = lxnest::plan::model::NetPlan {
            mode: lxnest::spec::model::NetworkMode::Loopback,
            veth_host: None,
            ..netplan.clone()
        };
        assert!(net::setup_container(&lo_plan, lone.id() as i32)
            .expect("loopback")
            .is_none());
        let lone_fd = net::netns_fd_of_pid(lone.id() as i32).expect("fd");
        let addrs = net::in_netns(lone_fd.as_fd(), net::addresses_v4).expect("inside");
        assert_eq!(
            addrs.iter().map(|a| a.address.addr()).collect::<Vec<_>>(),
            [Ipv4Addr::LOCALHOST]
        );

        drop(veth);
        assert!(!net::bridge_has_ports("lxt-br3").expect("ports"));
        for c in [&mut child, &mut lone] {
            let _ = c.kill();
            let _ = c.wait();
        }
        drop(bridge);
    });
}
