//! Networking on the running kernel through netlink: bridges, veths, addresses, routes, NAT.
//!
//! Everything goes through netlink sockets ([`rtnl`] for links/addresses/routes, [`nft`] for
//! nftables); lxnest never runs `ip`, `iptables` or `nft`. Each call acts in the network
//! namespace of the calling thread (a netlink socket belongs to the namespace it was opened in).
//!
//! On the real host lxnest touches only its own bridge and the host ends of its veths; NAT and
//! `ip_forward` are only ever changed inside a nesting container's own namespace
//! (see docs/network.md).

pub mod addr;
pub mod container;
pub mod link;
pub mod nat;
pub mod nft;
pub mod route;
pub mod rtnl;

use std::path::PathBuf;
use thiserror::Error;

pub use addr::{addresses_v4, InterfaceAddress};
pub use container::{bridge_has_ports, in_netns, setup_container};
pub use link::{
    configure_inside, create_veth, delete_link, ensure_bridge, link_index, netns_fd_of_pid,
    BridgeGuard, VethGuard,
};
pub use nat::{enable_ip_forward, NatGuard};
pub use route::{routes_v4, RouteV4};

/// Errors of the network layer, with the interface or object they concern.
#[derive(Debug, Error)]
pub enum NetError {
    /// The kernel answered a netlink request with an error.
    #[error("netlink {op} on {object}: {source}")]
    Netlink {
        /// The request (`RTM_NEWLINK`, `NFT_MSG_NEWTABLE` ...).
        op: &'static str,
        /// The interface, table or route it concerned.
        object: String,
        /// errno as an I/O error.
        #[source]
        source: std::io::Error,
    },
    /// Socket-level failure (open, send, receive).
    #[error("netlink socket ({what}): {source}")]
    Socket {
        /// What was attempted.
        what: &'static str,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// The kernel's answer could not be decoded.
    #[error("cannot decode netlink reply to {op}: {message}")]
    Decode {
        /// The request.
        op: &'static str,
        /// What went wrong.
        message: String,
    },
    /// An interface does not exist.
    #[error("no interface named {0}")]
    NoSuchInterface(String),
    /// A bridge with the planned name exists and lxnest did not create it.
    #[error("{name} exists and was not created by lxnest ({found}); refusing to take it over")]
    NotOurs {
        /// Interface name.
        name: String,
        /// What was found (its kind or alias).
        found: String,
    },
    /// An interface name is empty or longer than 15 bytes.
    #[error("bad interface name {0:?} (1 to 15 bytes, no '/' or whitespace)")]
    BadName(String),
    /// A file under /proc could not be read or written.
    #[error("{op} {path}: {source}")]
    Io {
        /// What was attempted.
        op: &'static str,
        /// The file.
        path: PathBuf,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
}

/// Result alias of the network layer.
pub type Result<T, E = NetError> = std::result::Result<T, E>;

/// Checks an interface name the way the kernel will (IFNAMSIZ - 1 bytes).
pub(crate) fn check_name(name: &str) -> Result<()> {
    let ok = !name.is_empty()
        && name.len() < 16
        && !name.contains('/')
        && !name.chars().any(char::is_whitespace)
        && name != "."
        && name != "..";
    if ok {
        Ok(())
    } else {
        Err(NetError::BadName(name.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn guards_can_move_between_threads() {
        fn is_send<T: Send>() {}
        is_send::<BridgeGuard>();
        is_send::<VethGuard>();
        is_send::<NatGuard>();
    }

    #[test]
    fn interface_names() {
        assert!(check_name("eth0").is_ok());
        assert!(check_name("abcdefghijklmno").is_ok());
        for bad in ["", "abcdefghijklmnop", "a/b", "a b", ".", ".."] {
            assert!(
                matches!(check_name(bad), Err(NetError::BadName(_))),
                "{bad:?}"
            );
        }
    }
}
