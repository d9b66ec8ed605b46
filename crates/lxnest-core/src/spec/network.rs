//! A container's network wishes and the network modes lxnest knows.

use crate::spec::merge::{set, Merge};
use ipnet::Ipv4Net;
use serde::{Deserialize, Serialize};
use std::fmt;

/// How a container is networked. An unknown mode is a parse error that lists these.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum NetworkMode {
    /// A veth on the parent's lxnest bridge (the default).
    #[default]
    Bridge,
    /// A network namespace with only `lo` up.
    Loopback,
    /// A network namespace with no interface up at all.
    None,
    /// An unprivileged user's veth on the host bridge `link`, made by LXC's setuid
    /// `lxc-user-nic` as /etc/lxc/lxc-usernet allows.
    UserNic,
}

impl NetworkMode {
    /// The name a spec writes (`user-nic`).
    pub fn as_str(self) -> &'static str {
        match self {
            NetworkMode::Bridge => "bridge",
            NetworkMode::Loopback => "loopback",
            NetworkMode::None => "none",
            NetworkMode::UserNic => "user-nic",
        }
    }
}

impl fmt::Display for NetworkMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Network wishes.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct NetworkWish {
    /// `bridge` (default), `loopback`, `none` or `user-nic` ([`NetworkMode`]).
    pub mode: Option<NetworkMode>,
    /// For `user-nic`: the host bridge (`lxcbr0`).
    pub link: Option<String>,
    /// Subnet for the bridge this container creates for its children (default: picked).
    pub subnet: Option<Ipv4Net>,
    /// MTU for this container's interface (default: the parent's).
    pub mtu: Option<u32>,
    /// NAT this container's children out through its own interface (default: true, done inside
    /// this container's network namespace only).
    pub nat: Option<bool>,
}

impl NetworkWish {
    /// The mode, `bridge` when none is set.
    pub fn mode(&self) -> NetworkMode {
        self.mode.unwrap_or_default()
    }
}

impl Merge for NetworkWish {
    fn merge(&mut self, over: Self) {
        let NetworkWish {
            mode,
            link,
            subnet,
            mtu,
            nat,
        } = over;
        set(&mut self.mode, mode);
        set(&mut self.link, link);
        set(&mut self.subnet, subnet);
        set(&mut self.mtu, mtu);
        set(&mut self.nat, nat);
    }
}
