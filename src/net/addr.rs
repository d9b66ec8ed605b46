//! IPv4 addresses: adding one to an interface, listing this namespace's.

use super::{rtnl::Rtnl, NetError, Result};
use ipnet::Ipv4Net;
use netlink_packet_core::{NLM_F_CREATE, NLM_F_EXCL};
use netlink_packet_route::address::{AddressAttribute, AddressMessage};
use netlink_packet_route::{AddressFamily, RouteNetlinkMessage};
use std::net::IpAddr;

/// An IPv4 address configured on an interface.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InterfaceAddress {
    /// Interface index.
    pub index: u32,
    /// Interface label (its name for IPv4 addresses).
    pub label: Option<String>,
    /// Address with prefix length.
    pub address: Ipv4Net,
}

/// Adds `address` to the link `index`; an identical address already there is fine.
pub(crate) fn ensure_address(
    rtnl: &mut Rtnl,
    index: u32,
    address: Ipv4Net,
    object: &str,
) -> Result<()> {
    let mut m = AddressMessage::default();
    m.header.family = AddressFamily::Inet;
    m.header.prefix_len = address.prefix_len();
    m.header.index = index;
    m.attributes
        .push(AddressAttribute::Local(IpAddr::V4(address.addr())));
    m.attributes
        .push(AddressAttribute::Address(IpAddr::V4(address.addr())));
    if address.prefix_len() < 31 {
        m.attributes
            .push(AddressAttribute::Broadcast(address.broadcast()));
    }
    match rtnl.request(
        RouteNetlinkMessage::NewAddress(m),
        NLM_F_CREATE | NLM_F_EXCL,
        "RTM_NEWADDR",
        object,
    ) {
        Err(NetError::Netlink { source, .. }) if source.raw_os_error() == Some(libc::EEXIST) => {
            Ok(())
        }
        r => r,
    }
}

/// Every IPv4 address of the calling thread's network namespace.
pub fn addresses_v4() -> Result<Vec<InterfaceAddress>> {
    let mut rtnl = Rtnl::open()?;
    let mut req = AddressMessage::default();
    req.header.family = AddressFamily::Inet;
    let answers = rtnl.dump(RouteNetlinkMessage::GetAddress(req), "RTM_GETADDR")?;
    let mut out = Vec::new();
    for a in answers {
        let RouteNetlinkMessage::NewAddress(m) = a else {
            continue;
        };
        if m.header.family != AddressFamily::Inet {
            continue;
        }
        let mut ip = None;
        let mut label = None;
        for attr in &m.attributes {
            match attr {
                AddressAttribute::Local(IpAddr::V4(v)) => ip = Some(*v),
                AddressAttribute::Address(IpAddr::V4(v)) if ip.is_none() => ip = Some(*v),
                AddressAttribute::Label(l) => label = Some(l.clone()),
                _ => {}
            }
        }
        if let Some(ip) = ip {
            let address = Ipv4Net::new(ip, m.header.prefix_len).map_err(|e| NetError::Decode {
                op: "RTM_GETADDR",
                message: e.to_string(),
            })?;
            out.push(InterfaceAddress {
                index: m.header.index,
                label,
                address,
            });
        }
    }
    Ok(out)
}
