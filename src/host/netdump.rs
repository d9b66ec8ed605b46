//! A small netlink dump of this network namespace's IPv4 routes and addresses (read-only).
//! Conversions from the decoded messages are pure and tested with built messages.

use super::HostError;
use ipnet::Ipv4Net;
use netlink_packet_core::{
    NetlinkHeader, NetlinkMessage, NetlinkPayload, NLM_F_DUMP, NLM_F_REQUEST,
};
use netlink_packet_route::address::{AddressAttribute, AddressMessage};
use netlink_packet_route::route::{
    RouteAddress, RouteAttribute, RouteHeader, RouteMessage, RouteType,
};
use netlink_packet_route::{AddressFamily, RouteNetlinkMessage};
use netlink_sys::{protocols::NETLINK_ROUTE, Socket, SocketAddr};
use std::net::{IpAddr, Ipv4Addr};

/// An IPv4 route of the main table, reduced to what planning needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Route {
    pub destination: Ipv4Net,
    /// Output interface index.
    pub oif: Option<u32>,
}

/// The route a message describes, if it is an IPv4 unicast route of the main table.
pub(crate) fn route_of(msg: &RouteMessage) -> Option<Route> {
    let h = &msg.header;
    if h.address_family != AddressFamily::Inet || h.kind != RouteType::Unicast {
        return None;
    }
    let table = msg
        .attributes
        .iter()
        .find_map(|a| match a {
            RouteAttribute::Table(t) => Some(*t),
            _ => None,
        })
        .unwrap_or(u32::from(h.table));
    if table != u32::from(RouteHeader::RT_TABLE_MAIN) {
        return None;
    }
    let dst = msg
        .attributes
        .iter()
        .find_map(|a| match a {
            RouteAttribute::Destination(RouteAddress::Inet(ip)) => Some(*ip),
            _ => None,
        })
        .unwrap_or(Ipv4Addr::UNSPECIFIED);
    let oif = msg.attributes.iter().find_map(|a| match a {
        RouteAttribute::Oif(i) => Some(*i),
        _ => None,
    });
    let destination = Ipv4Net::new(dst, h.destination_prefix_length).ok()?.trunc();
    Some(Route { destination, oif })
}

/// The IPv4 address and prefix a message describes (`IFA_LOCAL`, else `IFA_ADDRESS`).
pub(crate) fn address_of(msg: &AddressMessage) -> Option<Ipv4Net> {
    if msg.header.family != AddressFamily::Inet {
        return None;
    }
    let pick = |want_local: bool| {
        msg.attributes.iter().find_map(|a| match (a, want_local) {
            (AddressAttribute::Local(IpAddr::V4(ip)), true)
            | (AddressAttribute::Address(IpAddr::V4(ip)), false) => Some(*ip),
            _ => None,
        })
    };
    let ip = pick(true).or_else(|| pick(false))?;
    Ipv4Net::new(ip, msg.header.prefix_len).ok()
}

/// Sends one dump request and collects the inner messages of the reply.
fn dump(
    what: &'static str,
    request: RouteNetlinkMessage,
) -> Result<Vec<RouteNetlinkMessage>, HostError> {
    let io = |source| HostError::Netlink { what, source };
    let mut socket = Socket::new(NETLINK_ROUTE).map_err(io)?;
    socket.bind_auto().map_err(io)?;
    socket.connect(&SocketAddr::new(0, 0)).map_err(io)?;
    let mut header = NetlinkHeader::default();
    header.flags = NLM_F_REQUEST | NLM_F_DUMP;
    header.sequence_number = 1;
    let mut msg = NetlinkMessage::new(header, NetlinkPayload::from(request));
    msg.finalize();
    let mut buf = vec![0u8; msg.buffer_len()];
    msg.serialize(&mut buf);
    socket.send(&buf, 0).map_err(io)?;

    let mut out = Vec::new();
    let mut rx = vec![0u8; 1 << 16];
    loop {
        let n = socket.recv(&mut &mut rx[..], 0).map_err(io)?;
        let mut offset = 0;
        while offset < n {
            let reply = NetlinkMessage::<RouteNetlinkMessage>::deserialize(&rx[offset..n])
                .map_err(|e| HostError::NetlinkDecode {
                    what,
                    message: e.to_string(),
                })?;
            let len = reply.header.length as usize;
            match reply.payload {
                NetlinkPayload::Done(_) => return Ok(out),
                NetlinkPayload::Error(e) => {
                    return Err(HostError::NetlinkDecode {
                        what,
                        message: e.to_string(),
                    });
                }
                NetlinkPayload::InnerMessage(inner) => out.push(inner),
                _ => {}
            }
            if len == 0 {
                return Err(HostError::NetlinkDecode {
                    what,
                    message: "zero-length message".into(),
                });
            }
            offset += len;
        }
    }
}

/// The main table's IPv4 routes.
pub(crate) fn routes() -> Result<Vec<Route>, HostError> {
    let mut req = RouteMessage::default();
    req.header.address_family = AddressFamily::Inet;
    Ok(dump("routes", RouteNetlinkMessage::GetRoute(req))?
        .iter()
        .filter_map(|m| match m {
            RouteNetlinkMessage::NewRoute(r) => route_of(r),
            _ => None,
        })
        .collect())
}

/// The IPv4 addresses of every interface.
pub(crate) fn addresses() -> Result<Vec<Ipv4Net>, HostError> {
    let mut req = AddressMessage::default();
    req.header.family = AddressFamily::Inet;
    Ok(dump("addresses", RouteNetlinkMessage::GetAddress(req))?
        .iter()
        .filter_map(|m| match m {
            RouteNetlinkMessage::NewAddress(a) => address_of(a),
            _ => None,
        })
        .collect())
}

/// The interface name of an index, from /sys/class/net.
pub(crate) fn interface_name(index: u32) -> Option<String> {
    let dir = std::fs::read_dir("/sys/class/net").ok()?;
    dir.flatten().find_map(|e| {
        let idx = std::fs::read_to_string(e.path().join("ifindex")).ok()?;
        (idx.trim().parse::<u32>().ok()? == index)
            .then(|| e.file_name().to_string_lossy().into_owned())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn route(dst: Option<Ipv4Addr>, len: u8, table: u8, kind: RouteType, oif: u32) -> RouteMessage {
        let mut m = RouteMessage::default();
        m.header.address_family = AddressFamily::Inet;
        m.header.destination_prefix_length = len;
        m.header.table = table;
        m.header.kind = kind;
        if let Some(d) = dst {
            m.attributes
                .push(RouteAttribute::Destination(RouteAddress::Inet(d)));
        }
        m.attributes.push(RouteAttribute::Oif(oif));
        m
    }

    #[test]
    fn main_table_unicast_routes_only() {
        let default = route_of(&route(None, 0, 254, RouteType::Unicast, 4)).expect("default route");
        assert_eq!(
            default.destination,
            "0.0.0.0/0".parse::<Ipv4Net>().expect("literal")
        );
        assert_eq!(default.oif, Some(4));
        let lan = route_of(&route(
            Some(Ipv4Addr::new(192, 0, 2, 0)),
            24,
            254,
            RouteType::Unicast,
            4,
        ));
        assert_eq!(lan.map(|r| r.destination), "192.0.2.0/24".parse().ok());
        assert!(route_of(&route(
            Some(Ipv4Addr::new(127, 0, 0, 1)),
            32,
            255,
            RouteType::Local,
            1
        ))
        .is_none());
        assert!(route_of(&route(
            Some(Ipv4Addr::new(10, 0, 0, 0)),
            8,
            100,
            RouteType::Unicast,
            1
        ))
        .is_none());
        // A table number above 255 is carried in RTA_TABLE, the header says 252 (RT_TABLE_COMPAT).
        let mut big = route(
            Some(Ipv4Addr::new(10, 0, 0, 0)),
            8,
            252,
            RouteType::Unicast,
            1,
        );
        big.attributes.push(RouteAttribute::Table(254));
        assert!(route_of(&big).is_some());
    }

    #[test]
    fn addresses_prefer_local() {
        let mut m = AddressMessage::default();
        m.header.family = AddressFamily::Inet;
        m.header.prefix_len = 24;
        m.attributes
            .push(AddressAttribute::Address(IpAddr::V4(Ipv4Addr::new(
                10, 9, 9, 9,
            ))));
        m.attributes
            .push(AddressAttribute::Local(IpAddr::V4(Ipv4Addr::new(
                192, 0, 2, 2,
            ))));
        assert_eq!(address_of(&m), "192.0.2.2/24".parse().ok());
        m.header.family = AddressFamily::Inet6;
        assert_eq!(address_of(&m), None);
    }
}
