//! The container's network as seen from the parent: a veth pair whose inside end moves into the
//! child's network namespace and is configured there, attached to the parent's bridge.
//!
//! Stand-in: until `crate::net` (netlink) lands on main, this drives iproute2 (`ip`) and
//! `nsenter`; the [`NetGuard`] interface stays the same when it is swapped.

use crate::plan::model::{BridgePlan, NetPlan};
use nix::unistd::Pid;
use std::process::Command;

fn ip(args: &[&str]) -> Result<(), String> {
    let out = Command::new("ip")
        .args(args)
        .output()
        .map_err(|e| format!("ip {}: {e}", args.join(" ")))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "ip {}: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        ))
    }
}

fn ip_in(pid: Pid, args: &[&str]) -> Result<(), String> {
    let ns = format!("--net=/proc/{pid}/ns/net");
    let out = Command::new("nsenter")
        .arg(&ns)
        .arg("ip")
        .args(args)
        .output()
        .map_err(|e| format!("nsenter ip {}: {e}", args.join(" ")))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "(in {pid}) ip {}: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        ))
    }
}

/// Whether an interface exists in the caller's network namespace.
pub fn link_exists(name: &str) -> bool {
    std::path::Path::new("/sys/class/net").join(name).exists()
}

/// Deletes a link, ignoring "not found".
pub fn delete_link(name: &str) {
    if link_exists(name) {
        let _ = ip(&["link", "del", name]);
    }
}

/// A bridge this process created; deleted on drop unless persisted.
#[derive(Debug)]
pub struct BridgeGuard {
    name: Option<String>,
}

impl BridgeGuard {
    /// Keeps the bridge after the guard is gone.
    pub fn persist(mut self) -> Option<String> {
        self.name.take()
    }
}

impl Drop for BridgeGuard {
    fn drop(&mut self) {
        if let Some(n) = self.name.take() {
            delete_link(&n);
        }
    }
}

/// Creates `plan`'s bridge unless it exists; the guard owns it only when this call created it.
pub fn ensure_bridge(plan: &BridgePlan) -> Result<BridgeGuard, String> {
    if link_exists(&plan.name) {
        return Ok(BridgeGuard { name: None });
    }
    ip(&["link", "add", &plan.name, "type", "bridge"])?;
    let guard = BridgeGuard {
        name: Some(plan.name.clone()),
    };
    ip(&["addr", "add", &plan.address.to_string(), "dev", &plan.name])?;
    ip(&[
        "link",
        "set",
        &plan.name,
        "mtu",
        &plan.mtu.to_string(),
        "up",
    ])?;
    Ok(guard)
}

/// Whether a bridge has no ports left (it may then be removed).
pub fn bridge_unused(name: &str) -> bool {
    std::fs::read_dir(format!("/sys/class/net/{name}/brif"))
        .map(|mut d| d.next().is_none())
        .unwrap_or(false)
}

/// The container's veth; dropping it deletes the pair.
#[derive(Debug)]
pub struct VethGuard {
    name: Option<String>,
}

impl VethGuard {
    /// Keeps the veth after the guard is gone (`stop` deletes it).
    pub fn persist(mut self) -> Option<String> {
        self.name.take()
    }
}

impl Drop for VethGuard {
    fn drop(&mut self) {
        if let Some(n) = self.name.take() {
            delete_link(&n);
        }
    }
}

/// Creates the veth pair for `net`, moves the inside end into `pid`'s namespace, configures it.
pub fn setup_veth(net: &NetPlan, pid: Pid) -> Result<Option<VethGuard>, String> {
    let (Some(host), Some(bridge)) = (&net.veth_host, &net.parent_bridge) else {
        return Ok(None);
    };
    let peer = format!("{}p", &host[..host.len().min(14)]);
    let pid_s = pid.to_string();
    ip(&[
        "link", "add", host, "type", "veth", "peer", "name", &peer, "netns", &pid_s,
    ])?;
    let guard = VethGuard {
        name: Some(host.clone()),
    };
    let mtu = net.mtu.to_string();
    ip(&["link", "set", host, "master", bridge, "mtu", &mtu, "up"])?;
    ip_in(pid, &["link", "set", &peer, "name", &net.interface])?;
    if let Some(addr) = net.address {
        ip_in(
            pid,
            &["addr", "add", &addr.to_string(), "dev", &net.interface],
        )?;
    }
    ip_in(pid, &["link", "set", &net.interface, "mtu", &mtu, "up"])?;
    if let Some(gw) = net.gateway {
        ip_in(pid, &["route", "add", "default", "via", &gw.to_string()])?;
    }
    Ok(Some(guard))
}
