//! Network plan: one bridge per level that has bridged children (the planner's own level gets one
//! that lxnest owns; each nesting host gets one inside its own network namespace), a veth per
//! container, static addresses, and NAT only inside nesting hosts, never on the real host.

use crate::origin::Origin;
use crate::plan::error::Finding;
use crate::plan::model::{BridgePlan, NetPlan};
use crate::plan::subnet::{self, SubnetAllocator};
use crate::spec::model::{ContainerSpec, NetworkMode, Runtime, Stack};
use ipnet::Ipv4Net;

/// Bridge name inside a nesting host (its own namespace, so the name never collides).
pub const INNER_BRIDGE: &str = "lxnbr0";

/// Interface name inside every container.
pub const INTERFACE: &str = "eth0";

/// Stable 64-bit FNV-1a, so generated names do not change between lxnest versions.
pub fn fnv(s: &str) -> u64 {
    s.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)
    })
}

/// The bridge lxnest owns at the planner's level for a stack (`lxnbr-` + 6 hex digits).
pub fn host_bridge_name(stack: &str) -> String {
    format!("lxnbr-{:06x}", fnv(stack) & 0xff_ffff)
}

/// Host-side veth name of a container (12 bytes, unique per stack and path).
pub fn veth_name(stack: &str, path: &str) -> String {
    format!(
        "vx{:010x}",
        fnv(&format!("{stack}/{path}")) & 0xff_ffff_ffff
    )
}

/// Whether a container wants a veth on its parent's bridge.
pub fn bridged(c: &ContainerSpec) -> bool {
    c.network.mode() == NetworkMode::Bridge
}

/// The stack as an unprivileged user can start it: top-level containers without a network mode
/// get `loopback` (creating a host bridge and veths needs root; their own children may still
/// get bridges inside their network namespace). An explicit `bridge` stays and is refused by the
/// checks with a fix.
pub fn unprivileged_top(stack: &Stack) -> Stack {
    let mut s = stack.clone();
    for c in &mut s.containers {
        c.network.mode.get_or_insert(NetworkMode::Loopback);
    }
    s
}

/// Subnets the user chose, reserved before anything is picked. Collisions with the host or with
/// each other are findings naming both sides.
pub fn reserve_user_subnets(
    list: &[ContainerSpec],
    prefix: &str,
    depth: u32,
    alloc: &mut SubnetAllocator,
    out: &mut Vec<Finding>,
) {
    for c in list {
        let path = join(prefix, &c.name);
        if let Some(net) = c.network.subnet {
            match alloc.conflict(&net) {
                Some(taken) => out.push(Finding {
                    container: path.clone(),
                    level: depth,
                    rule: format!("network.subnet {net}"),
                    origin: c.origin_of("network.subnet"),
                    message: format!("subnet {net} collides with {taken}, already routed or used"),
                    fix: "remove `subnet:` to let lxnest pick a free one, or choose another".into(),
                }),
                None => alloc.reserve(net),
            }
        }
        reserve_user_subnets(&c.children, &path, depth + 1, alloc, out);
    }
}

/// Every subnet the user fixed with `network.subnet`, at any depth.
pub fn fixed_subnets(list: &[ContainerSpec], out: &mut Vec<Ipv4Net>) {
    for c in list {
        out.extend(c.network.subnet);
        fixed_subnets(&c.children, out);
    }
}

/// A bridge for `count` containers: the user's subnet if given, else a picked one.
pub fn bridge(
    name: String,
    wish: Option<Ipv4Net>,
    count: u32,
    mtu: u32,
    nat: bool,
    origin: Origin,
    alloc: &mut SubnetAllocator,
) -> Option<BridgePlan> {
    let (subnet, origin) = match wish {
        Some(net) => (net, origin),
        None => (alloc.pick(count)?, Origin::builtin("picked")),
    };
    Some(BridgePlan {
        name,
        address: subnet::host(&subnet, 1)?,
        subnet,
        mtu,
        nat,
        origin,
    })
}

/// The container's own network: its veth on `parent` (at `index` among the bridged siblings) and,
/// when it has bridged children, the bridge it creates for them.
#[allow(clippy::too_many_arguments)]
pub fn container(
    c: &ContainerSpec,
    stack: &str,
    path: &str,
    depth: u32,
    parent: Option<&BridgePlan>,
    index: u32,
    overhead: u32,
    earlier: Option<Ipv4Net>,
    alloc: &mut SubnetAllocator,
) -> Result<NetPlan, Box<Finding>> {
    let mode = c.network.mode();
    let exhausted = |what: &str| {
        Box::new(Finding {
            container: path.into(),
            level: depth,
            rule: "network".into(),
            origin: c.origin.clone(),
            message: format!("no free {what}"),
            fix: "give the bridge a larger `subnet:`, or fewer containers on it".into(),
        })
    };
    let on_bridge = if mode == NetworkMode::Bridge {
        parent
    } else {
        None
    };
    let address = match on_bridge {
        Some(b) => Some(subnet::host(&b.subnet, index + 2).ok_or_else(|| exhausted("address"))?),
        None => None,
    };
    let mtu = c.network.mtu.or(on_bridge.map(|b| b.mtu)).unwrap_or(1500);
    let kids = c.children.iter().filter(|k| bridged(k)).count() as u32;
    let own_bridge = if kids > 0 {
        let nat = c.network.nat.unwrap_or(true);
        let inner_mtu = mtu.saturating_sub(overhead);
        // The user's subnet, else the one this container's bridge had at its last start.
        let b = bridge(
            INNER_BRIDGE.into(),
            c.network.subnet.or(earlier),
            kids,
            inner_mtu,
            nat,
            match c.network.subnet {
                Some(_) => c.origin_of("network.subnet"),
                None => c.origin.clone(),
            },
            alloc,
        );
        Some(b.ok_or_else(|| exhausted("subnet"))?)
    } else {
        None
    };
    // lxc-user-nic attaches the veth to a bridge lxnest neither plans nor owns; the container's
    // address comes from that bridge's DHCP or from inside.
    let user_link = c
        .network
        .link
        .clone()
        .filter(|_| mode == NetworkMode::UserNic);
    Ok(NetPlan {
        mode,
        parent_bridge: on_bridge.map(|b| b.name.clone()).or(user_link),
        veth_host: on_bridge.map(|_| veth_name(stack, path)),
        interface: INTERFACE.into(),
        address,
        gateway: on_bridge.map(|b| b.address.addr()),
        mtu,
        own_bridge,
        runtime_bridge: None,
        runtime_pool: None,
    })
}

/// The bridge name a nested runtime creates for its containers, for the runtimes whose bridge
/// subnet lxnest plans.
pub fn runtime_bridge_name(runtime: Runtime) -> Option<&'static str> {
    match runtime {
        Runtime::Lxc => Some("lxcbr0"),
        Runtime::Lxd => Some("lxdbr0"),
        Runtime::Docker => Some("docker0"),
        Runtime::Podman => Some("podman0"),
        Runtime::Lxnest => None,
    }
}

/// Addresses a runtime bridge has room for (a /24: LXC's and Docker's default size).
const RUNTIME_HOSTS: u32 = 253;

/// Addresses in a runtime's pool for further networks (a /22: four /24 networks).
const RUNTIME_POOL_HOSTS: u32 = 1021;

/// Plans the bridge (and, for Docker and Podman, the address pool) of every container's nested
/// runtime. Runs after every lxnest bridge is picked, so adding a runtime never moves the
/// subnets lxnest's own bridges had; the one allocator keeps them clear of the host's routes
/// (a laptop's 10.0.3.0/24 among them), of every ancestor and of every sibling.
/// `pinned`: subnets this stack held before, by reservation key, taken again.
pub fn runtime_bridges(
    containers: &mut [crate::plan::model::LevelPlan],
    alloc: &mut SubnetAllocator,
    pinned: &std::collections::BTreeMap<String, Ipv4Net>,
    out: &mut Vec<Finding>,
) {
    for c in containers.iter_mut() {
        let Some(name) = c.runtime.and_then(runtime_bridge_name) else {
            continue;
        };
        let mtu = c.network.mtu;
        let before = pinned
            .get(&crate::plan::host::runtime_bridge_key(&c.path))
            .copied();
        let Some(b) = bridge(
            name.into(),
            before,
            RUNTIME_HOSTS,
            mtu,
            true,
            Origin::builtin("picked"),
            alloc,
        ) else {
            out.push(Finding {
                container: c.path.clone(),
                level: c.depth,
                rule: "network".into(),
                origin: c.origin.clone(),
                message: format!("no free subnet for the {name} bridge of its runtime"),
                fix: "free a private subnet on the host (lxnest avoids every routed one)".into(),
            });
            continue;
        };
        c.network.runtime_bridge = Some(b);
        if matches!(c.runtime, Some(Runtime::Docker | Runtime::Podman)) {
            let before = pinned.get(&crate::plan::host::runtime_pool_key(&c.path));
            c.network.runtime_pool = before.copied().or_else(|| alloc.pick(RUNTIME_POOL_HOSTS));
        }
    }
}

/// `parent/name`, or `name` at level 1.
pub fn join(prefix: &str, name: &str) -> String {
    if prefix.is_empty() {
        name.to_string()
    } else {
        format!("{prefix}/{name}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::model::NetworkWish;

    #[test]
    fn names_are_stable_and_fit_ifnamsiz() {
        assert_eq!(
            host_bridge_name("juju-laptop"),
            host_bridge_name("juju-laptop")
        );
        assert_ne!(veth_name("s", "a/b"), veth_name("s", "a/c"));
        assert!(host_bridge_name("x").len() <= 15 && veth_name("s", "p").len() <= 15);
    }

    #[test]
    fn nesting_host_gets_own_bridge_with_nat_and_lower_mtu() {
        let mut alloc = SubnetAllocator::new(&[], &[], &[]);
        let host = bridge(
            "lxnbr-x".into(),
            None,
            1,
            1500,
            false,
            Origin::default(),
            &mut alloc,
        )
        .unwrap();
        let kid = ContainerSpec {
            name: "k".into(),
            ..Default::default()
        };
        let c = ContainerSpec {
            name: "h".into(),
            children: vec![kid.clone(), kid],
            ..Default::default()
        };
        let net = container(&c, "s", "h", 1, Some(&host), 0, 50, None, &mut alloc).unwrap();
        assert_eq!(net.address, Some("10.100.0.2/24".parse().unwrap()));
        assert_eq!(net.gateway, Some("10.100.0.1".parse().unwrap()));
        let own = net.own_bridge.unwrap();
        assert!(own.nat && !host.nat);
        assert_eq!(own.mtu, 1450);
        assert!(!subnet::overlaps(&own.subnet, &host.subnet));
    }

    #[test]
    fn loopback_mode_has_no_veth() {
        let mut alloc = SubnetAllocator::new(&[], &[], &[]);
        let c = ContainerSpec {
            name: "l".into(),
            network: NetworkWish {
                mode: Some(NetworkMode::Loopback),
                ..Default::default()
            },
            ..Default::default()
        };
        let net = container(&c, "s", "l", 1, None, 0, 0, None, &mut alloc).unwrap();
        assert!(net.veth_host.is_none() && net.address.is_none() && net.own_bridge.is_none());
    }

    #[test]
    fn user_subnet_colliding_with_host_route_is_a_finding() {
        let mut alloc = SubnetAllocator::new(&["192.168.1.0/24".parse().unwrap()], &[], &[]);
        let c = ContainerSpec {
            name: "h".into(),
            network: NetworkWish {
                subnet: Some("192.168.1.0/25".parse().unwrap()),
                ..Default::default()
            },
            ..Default::default()
        };
        let mut out = Vec::new();
        reserve_user_subnets(&[c], "", 1, &mut alloc, &mut out);
        assert_eq!(out.len(), 1);
        assert!(out[0].message.contains("collides with 192.168.1.0/24"));
    }
}
