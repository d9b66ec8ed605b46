//! The container's network as the launcher uses it, on top of [`crate::net`] (netlink): the
//! parent's bridge, the veth whose inside end moves into the child's network namespace and is
//! configured there, NAT inside a nesting host, and cleanup by name for `stop`.

use crate::net::{self, NatGuard, NetError};
use crate::plan::model::{BridgePlan, NetPlan};
use nix::unistd::Pid;

pub use crate::net::{BridgeGuard, VethGuard};

/// Creates `plan`'s bridge unless lxnest's bridge of that name exists (someone else's is refused).
pub fn ensure_bridge(plan: &BridgePlan) -> Result<BridgeGuard, NetError> {
    net::ensure_bridge(plan)
}

/// From the parent: the veth pair for `net` (bridge mode), its inside end configured in `pid`'s
/// namespace; `lo` up otherwise.
pub fn setup_veth(net_plan: &NetPlan, pid: Pid) -> Result<Option<VethGuard>, NetError> {
    net::setup_container(net_plan, pid.as_raw())
}

/// Deletes an interface by name, logging failures (cleanup paths go on regardless).
pub fn delete_link(name: &str) {
    if let Err(e) = net::delete_link(name) {
        tracing::warn!("delete {name}: {e}");
    }
}

/// Whether a bridge has no ports left (it may then be removed). Unknown counts as used.
pub fn bridge_unused(name: &str) -> bool {
    matches!(net::bridge_has_ports(name), Ok(false))
}

/// Removes the bridge if this container was its last user, whoever created it.
pub fn release_bridge(guard: BridgeGuard) {
    let name = guard.name().to_string();
    guard.persist();
    if bridge_unused(&name) {
        delete_link(&name);
    }
}

/// NAT for a nesting host's children, inside the host's own network namespace only (the net
/// layer refuses in the real host's namespace): forwarding on, the bridge's subnet masqueraded.
/// The table goes when the guard drops.
pub fn enable_nat(plan: &BridgePlan) -> Result<NatGuard, NetError> {
    net::enable_ip_forward()?;
    NatGuard::new(plan)
}
