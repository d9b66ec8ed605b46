//! Links: lxnest's bridge, veth pairs into a container's namespace, and the container side's
//! interface setup.

use super::{addr, check_name, route, rtnl::Rtnl, NetError, Result};
use crate::plan::model::BridgePlan;
use ipnet::Ipv4Net;
use netlink_packet_core::{NLM_F_CREATE, NLM_F_EXCL};
use netlink_packet_route::link::{
    InfoData, InfoKind, InfoVeth, LinkAttribute, LinkFlags, LinkInfo, LinkMessage,
};
use netlink_packet_route::RouteNetlinkMessage;
use std::net::Ipv4Addr;
use std::os::fd::{AsRawFd, BorrowedFd, OwnedFd};

/// The alias lxnest writes on bridges it creates, so that it never takes over someone else's.
pub const BRIDGE_ALIAS: &str = "lxnest-managed";

fn link_msg(index: u32) -> LinkMessage {
    let mut m = LinkMessage::default();
    m.header.index = index;
    m
}

/// A link's index and attributes, or `None` when there is no such link.
fn get_link(rtnl: &mut Rtnl, name: &str) -> Result<Option<LinkMessage>> {
    check_name(name)?;
    let mut m = link_msg(0);
    m.attributes.push(LinkAttribute::IfName(name.to_string()));
    let answers = rtnl.get(RouteNetlinkMessage::GetLink(m), "RTM_GETLINK", name)?;
    Ok(answers.into_iter().find_map(|a| match a {
        RouteNetlinkMessage::NewLink(l) => Some(l),
        _ => None,
    }))
}

/// The index of the interface `name` in the calling thread's namespace.
pub fn link_index(name: &str) -> Result<u32> {
    let mut rtnl = Rtnl::open()?;
    get_link(&mut rtnl, name)?
        .map(|l| l.header.index)
        .ok_or_else(|| NetError::NoSuchInterface(name.into()))
}

fn kind_of(l: &LinkMessage) -> Option<InfoKind> {
    l.attributes.iter().find_map(|a| match a {
        LinkAttribute::LinkInfo(infos) => infos.iter().find_map(|i| match i {
            LinkInfo::Kind(k) => Some(k.clone()),
            _ => None,
        }),
        _ => None,
    })
}

fn alias_of(l: &LinkMessage) -> Option<String> {
    l.attributes.iter().find_map(|a| match a {
        LinkAttribute::IfAlias(s) => Some(s.clone()),
        _ => None,
    })
}

/// Brings the link `name` up.
pub(crate) fn set_up_by_name(rtnl: &mut Rtnl, name: &str) -> Result<()> {
    let l = get_link(rtnl, name)?.ok_or_else(|| NetError::NoSuchInterface(name.into()))?;
    set_link(rtnl, l.header.index, vec![], Some(true), name)
}

/// Indexes of the interfaces enslaved to the bridge `name`.
pub(crate) fn get_ports(name: &str) -> Result<Vec<u32>> {
    let mut rtnl = Rtnl::open()?;
    let bridge =
        get_link(&mut rtnl, name)?.ok_or_else(|| NetError::NoSuchInterface(name.into()))?;
    let all = rtnl.dump(RouteNetlinkMessage::GetLink(link_msg(0)), "RTM_GETLINK")?;
    Ok(all
        .into_iter()
        .filter_map(|m| match m {
            RouteNetlinkMessage::NewLink(l) => Some(l),
            _ => None,
        })
        .filter(|l| {
            l.attributes
                .contains(&LinkAttribute::Controller(bridge.header.index))
        })
        .map(|l| l.header.index)
        .collect())
}

/// Sets attributes and/or flags of the link `index`.
fn set_link(
    rtnl: &mut Rtnl,
    index: u32,
    attrs: Vec<LinkAttribute>,
    up: Option<bool>,
    object: &str,
) -> Result<()> {
    let mut m = link_msg(index);
    m.attributes = attrs;
    if let Some(up) = up {
        m.header.change_mask = LinkFlags::Up;
        if up {
            m.header.flags = LinkFlags::Up;
        }
    }
    rtnl.request(RouteNetlinkMessage::SetLink(m), 0, "RTM_SETLINK", object)
}

fn del_link(rtnl: &mut Rtnl, index: u32, object: &str) -> Result<()> {
    rtnl.request(
        RouteNetlinkMessage::DelLink(link_msg(index)),
        0,
        "RTM_DELLINK",
        object,
    )
}

/// Deletes the interface `name` (a bridge or one end of a veth) if it exists.
pub fn delete_link(name: &str) -> Result<()> {
    let mut rtnl = Rtnl::open()?;
    match get_link(&mut rtnl, name)? {
        Some(l) => match del_link(&mut rtnl, l.header.index, name) {
            Err(NetError::Netlink { source, .. })
                if source.raw_os_error() == Some(libc::ENODEV) =>
            {
                Ok(())
            }
            r => r,
        },
        None => Ok(()),
    }
}

/// lxnest's bridge. Deleted on drop when this guard created it, unless persisted. The guard keeps
/// a netlink socket of the bridge's namespace, so it may be dropped from any thread.
pub struct BridgeGuard {
    rtnl: Rtnl,
    name: String,
    index: u32,
    created: bool,
    persist: bool,
}

impl BridgeGuard {
    /// Interface name.
    pub fn name(&self) -> &str {
        &self.name
    }
    /// Interface index.
    pub fn index(&self) -> u32 {
        self.index
    }
    /// Whether this call created the bridge (false: an lxnest bridge already existed).
    pub fn created(&self) -> bool {
        self.created
    }
    /// Keeps the bridge after the guard is gone.
    pub fn persist(mut self) {
        self.persist = true;
    }
}

impl Drop for BridgeGuard {
    fn drop(&mut self) {
        if self.created && !self.persist {
            if let Err(e) = del_link(&mut self.rtnl, self.index, &self.name) {
                tracing::warn!("removing bridge {}: {e}", self.name);
            }
        }
    }
}

/// Creates the bridge of a plan if absent (marked with [`BRIDGE_ALIAS`]), sets its address and
/// MTU and brings it up. An existing bridge is reused only if lxnest made it.
pub fn ensure_bridge(plan: &BridgePlan) -> Result<BridgeGuard> {
    let name = plan.name.as_str();
    let mut rtnl = Rtnl::open()?;
    let (index, created) = match get_link(&mut rtnl, name)? {
        Some(l) => {
            let ours = kind_of(&l) == Some(InfoKind::Bridge)
                && alias_of(&l).as_deref() == Some(BRIDGE_ALIAS);
            if !ours {
                let found = format!("kind {:?}, alias {:?}", kind_of(&l), alias_of(&l));
                return Err(NetError::NotOurs {
                    name: name.into(),
                    found,
                });
            }
            (l.header.index, false)
        }
        None => {
            let mut m = link_msg(0);
            m.attributes.push(LinkAttribute::IfName(name.into()));
            m.attributes
                .push(LinkAttribute::LinkInfo(vec![LinkInfo::Kind(
                    InfoKind::Bridge,
                )]));
            m.attributes.push(LinkAttribute::Mtu(plan.mtu));
            rtnl.request(
                RouteNetlinkMessage::NewLink(m),
                NLM_F_CREATE | NLM_F_EXCL,
                "RTM_NEWLINK bridge",
                name,
            )?;
            let index = get_link(&mut rtnl, name)?
                .ok_or_else(|| NetError::NoSuchInterface(name.into()))?
                .header
                .index;
            (index, true)
        }
    };
    // From here the guard removes what this call created, whatever fails next.
    let mut guard = BridgeGuard {
        rtnl,
        name: name.into(),
        index,
        created,
        persist: false,
    };
    let rtnl = &mut guard.rtnl;
    set_link(
        rtnl,
        index,
        vec![
            LinkAttribute::IfAlias(BRIDGE_ALIAS.into()),
            LinkAttribute::Mtu(plan.mtu),
        ],
        None,
        name,
    )?;
    addr::ensure_address(rtnl, index, plan.address, name)?;
    set_link(rtnl, index, vec![], Some(true), name)?;
    Ok(guard)
}

/// The host end of a veth pair. Deleting it deletes the peer too, wherever it is. Like
/// [`BridgeGuard`] it keeps a socket of its namespace.
pub struct VethGuard {
    rtnl: Rtnl,
    name: String,
    index: u32,
    persist: bool,
}

impl std::fmt::Debug for VethGuard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VethGuard")
            .field("name", &self.name)
            .field("index", &self.index)
            .finish()
    }
}

impl std::fmt::Debug for BridgeGuard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BridgeGuard")
            .field("name", &self.name)
            .field("index", &self.index)
            .field("created", &self.created)
            .finish()
    }
}

impl VethGuard {
    /// Host-side interface name.
    pub fn name(&self) -> &str {
        &self.name
    }
    /// Keeps the pair after the guard is gone.
    pub fn persist(mut self) {
        self.persist = true;
    }
}

impl Drop for VethGuard {
    fn drop(&mut self) {
        if !self.persist {
            let r = match del_link(&mut self.rtnl, self.index, &self.name) {
                // The peer's namespace died and took the pair with it.
                Err(NetError::Netlink { source, .. })
                    if source.raw_os_error() == Some(libc::ENODEV) =>
                {
                    Ok(())
                }
                r => r,
            };
            if let Err(e) = r {
                tracing::warn!("removing veth {}: {e}", self.name);
            }
        }
    }
}

/// Opens `/proc/PID/ns/net`.
pub fn netns_fd_of_pid(pid: i32) -> Result<OwnedFd> {
    let path = format!("/proc/{pid}/ns/net");
    std::fs::File::open(&path)
        .map(OwnedFd::from)
        .map_err(|source| NetError::Io {
            op: "open",
            path: path.into(),
            source,
        })
}

/// Creates a veth pair: `host_name` stays here, enslaved to `bridge`, with `mtu`, up;
/// `peer_name` is created directly in the namespace of `target_netns` (down, unconfigured: see
/// [`configure_inside`]).
pub fn create_veth(
    host_name: &str,
    peer_name: &str,
    bridge: &str,
    target_netns: BorrowedFd<'_>,
    mtu: u32,
) -> Result<VethGuard> {
    check_name(host_name)?;
    check_name(peer_name)?;
    let mut rtnl = Rtnl::open()?;
    let bridge_index = get_link(&mut rtnl, bridge)?
        .ok_or_else(|| NetError::NoSuchInterface(bridge.into()))?
        .header
        .index;
    let mut peer = link_msg(0);
    peer.attributes
        .push(LinkAttribute::IfName(peer_name.into()));
    peer.attributes.push(LinkAttribute::Mtu(mtu));
    // The kernel takes its own reference to the namespace while handling the request; the fd
    // only has to stay open until the ack, which the borrow guarantees.
    peer.attributes
        .push(LinkAttribute::NetNsFd(target_netns.as_raw_fd()));
    let mut m = link_msg(0);
    m.attributes.push(LinkAttribute::IfName(host_name.into()));
    m.attributes.push(LinkAttribute::Mtu(mtu));
    m.attributes.push(LinkAttribute::LinkInfo(vec![
        LinkInfo::Kind(InfoKind::Veth),
        LinkInfo::Data(InfoData::Veth(InfoVeth::Peer(peer))),
    ]));
    rtnl.request(
        RouteNetlinkMessage::NewLink(m),
        NLM_F_CREATE | NLM_F_EXCL,
        "RTM_NEWLINK veth",
        host_name,
    )?;
    let index = match get_link(&mut rtnl, host_name) {
        Ok(Some(l)) => l.header.index,
        other => {
            // The pair exists but cannot be looked up: remove it by name rather than leak it.
            let _ = delete_link(host_name);
            return Err(other
                .err()
                .unwrap_or_else(|| NetError::NoSuchInterface(host_name.into())));
        }
    };
    let mut guard = VethGuard {
        rtnl,
        name: host_name.into(),
        index,
        persist: false,
    };
    set_link(
        &mut guard.rtnl,
        index,
        vec![LinkAttribute::Controller(bridge_index)],
        Some(true),
        host_name,
    )?;
    Ok(guard)
}

/// Inside the container's network namespace: brings `lo` up, renames `peer` to `name` (e.g.
/// `eth0`), sets the MTU and address, brings it up and adds the default route via `gateway`.
pub fn configure_inside(
    peer: &str,
    name: &str,
    address: Option<Ipv4Net>,
    gateway: Option<Ipv4Addr>,
    mtu: u32,
) -> Result<()> {
    check_name(name)?;
    let mut rtnl = Rtnl::open()?;
    let lo = get_link(&mut rtnl, "lo")?.ok_or_else(|| NetError::NoSuchInterface("lo".into()))?;
    set_link(&mut rtnl, lo.header.index, vec![], Some(true), "lo")?;
    let link = get_link(&mut rtnl, peer)?.ok_or_else(|| NetError::NoSuchInterface(peer.into()))?;
    let index = link.header.index;
    let mut attrs = vec![LinkAttribute::Mtu(mtu)];
    if peer != name {
        // A link must be down to be renamed; a fresh veth peer is.
        attrs.push(LinkAttribute::IfName(name.into()));
    }
    set_link(&mut rtnl, index, attrs, None, peer)?;
    if let Some(a) = address {
        addr::ensure_address(&mut rtnl, index, a, name)?;
    }
    set_link(&mut rtnl, index, vec![], Some(true), name)?;
    if let Some(gw) = gateway {
        route::add_default_route(&mut rtnl, gw, name)?;
    }
    Ok(())
}
