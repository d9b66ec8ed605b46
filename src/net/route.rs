//! IPv4 routes: the container's default route, and listing this namespace's main table.

use super::{rtnl::Rtnl, NetError, Result};
use ipnet::Ipv4Net;
use netlink_packet_core::{NLM_F_CREATE, NLM_F_EXCL};
use netlink_packet_route::route::{
    RouteAddress, RouteAttribute, RouteHeader, RouteMessage, RouteProtocol, RouteScope, RouteType,
};
use netlink_packet_route::{AddressFamily, RouteNetlinkMessage};
use std::net::Ipv4Addr;

/// A route of the main table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RouteV4 {
    /// Destination (0.0.0.0/0 for the default route).
    pub destination: Ipv4Net,
    /// Next hop, for routes via a gateway.
    pub gateway: Option<Ipv4Addr>,
    /// Output interface index.
    pub oif: Option<u32>,
}

/// Adds `default via gateway` to the main table.
pub(crate) fn add_default_route(rtnl: &mut Rtnl, gateway: Ipv4Addr, object: &str) -> Result<()> {
    let mut m = RouteMessage::default();
    m.header.address_family = AddressFamily::Inet;
    m.header.table = RouteHeader::RT_TABLE_MAIN;
    m.header.protocol = RouteProtocol::Static;
    m.header.scope = RouteScope::Universe;
    m.header.kind = RouteType::Unicast;
    m.attributes
        .push(RouteAttribute::Gateway(RouteAddress::Inet(gateway)));
    rtnl.request(
        RouteNetlinkMessage::NewRoute(m),
        NLM_F_CREATE | NLM_F_EXCL,
        "RTM_NEWROUTE default",
        object,
    )
}

/// The unicast IPv4 routes of the main table in the calling thread's network namespace
/// (connected, static and default routes: what a new subnet must not collide with).
pub fn routes_v4() -> Result<Vec<RouteV4>> {
    let mut rtnl = Rtnl::open()?;
    let mut req = RouteMessage::default();
    req.header.address_family = AddressFamily::Inet;
    let answers = rtnl.dump(RouteNetlinkMessage::GetRoute(req), "RTM_GETROUTE")?;
    let mut out = Vec::new();
    for a in answers {
        let RouteNetlinkMessage::NewRoute(m) = a else {
            continue;
        };
        let mut table = u32::from(m.header.table);
        let mut dst = Ipv4Addr::UNSPECIFIED;
        let mut gateway = None;
        let mut oif = None;
        for attr in &m.attributes {
            match attr {
                RouteAttribute::Table(t) => table = *t,
                RouteAttribute::Destination(RouteAddress::Inet(d)) => dst = *d,
                RouteAttribute::Gateway(RouteAddress::Inet(g)) => gateway = Some(*g),
                RouteAttribute::Oif(i) => oif = Some(*i),
                _ => {}
            }
        }
        if m.header.address_family != AddressFamily::Inet
            || table != u32::from(RouteHeader::RT_TABLE_MAIN)
            || m.header.kind != RouteType::Unicast
        {
            continue;
        }
        let destination = Ipv4Net::new(dst, m.header.destination_prefix_length).map_err(|e| {
            NetError::Decode {
                op: "RTM_GETROUTE",
                message: e.to_string(),
            }
        })?;
        out.push(RouteV4 {
            destination,
            gateway,
            oif,
        });
    }
    Ok(out)
}
