//! A container's network from its parent's side, in one call: what the launcher needs for a
//! [`NetPlan`] (veth into the container's namespace, configured there), plus running code in
//! another network namespace.

use super::link::{configure_inside, create_veth, get_ports, netns_fd_of_pid, VethGuard};
use super::{rtnl::Rtnl, NetError, Result};
use crate::plan::model::NetPlan;
use crate::spec::model::NetworkMode;
use std::os::fd::{AsFd, BorrowedFd};

/// Name of the container end while it is created; renamed to `NetPlan::interface` inside.
/// It only has to be unique in the container's fresh namespace.
const PEER_TEMP: &str = "lxnpeer0";

/// Runs `f` on a short-lived thread that entered the network namespace `netns`; the calling
/// thread's namespace is untouched (setns affects only the thread that calls it).
pub fn in_netns<T: Send>(netns: BorrowedFd<'_>, f: impl FnOnce() -> Result<T> + Send) -> Result<T> {
    std::thread::scope(|s| {
        s.spawn(|| {
            nix::sched::setns(netns, nix::sched::CloneFlags::CLONE_NEWNET).map_err(|e| {
                NetError::Socket {
                    what: "setns(CLONE_NEWNET)",
                    source: std::io::Error::from(e),
                }
            })?;
            f()
        })
        .join()
        .unwrap_or_else(|_| {
            Err(NetError::Socket {
                what: "thread in netns",
                source: std::io::Error::other("panicked"),
            })
        })
    })
}

/// Sets up the network of the container whose first process is `pid`, from the parent's
/// namespace: for `bridge` mode a veth pair on `net.parent_bridge` (host end `net.veth_host`)
/// configured inside as `net.interface` with address, MTU and default route; for `loopback`
/// only `lo` up; for `none` nothing. Returns the guard of the host end, when there is one.
pub fn setup_container(net: &NetPlan, pid: i32) -> Result<Option<VethGuard>> {
    let netns = netns_fd_of_pid(pid)?;
    match (net.mode, &net.veth_host, &net.parent_bridge) {
        (NetworkMode::None, _, _) => Ok(None),
        (NetworkMode::Bridge, Some(host), Some(bridge)) => {
            let guard = create_veth(host, PEER_TEMP, bridge, netns.as_fd(), net.mtu)?;
            let (iface, addr, gw, mtu) =
                (net.interface.as_str(), net.address, net.gateway, net.mtu);
            in_netns(netns.as_fd(), || {
                configure_inside(PEER_TEMP, iface, addr, gw, mtu)
            })?;
            Ok(Some(guard))
        }
        _ => {
            in_netns(netns.as_fd(), || {
                let mut rtnl = Rtnl::open()?;
                super::link::set_up_by_name(&mut rtnl, "lo")
            })?;
            Ok(None)
        }
    }
}

/// Whether the bridge `name` still has ports (interfaces enslaved to it).
pub fn bridge_has_ports(name: &str) -> Result<bool> {
    Ok(!get_ports(name)?.is_empty())
}
