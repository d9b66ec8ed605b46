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

/// Whether an interface exists in the caller's network namespace (asked over netlink through
/// `ip`: /sys/class/net shows the namespace of whoever mounted /sys, not necessarily ours).
pub fn link_exists(name: &str) -> bool {
    Command::new("ip")
        .args(["link", "show", "dev", name])
        .output()
        .is_ok_and(|o| o.status.success())
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
    existing: Option<String>,
}

impl BridgeGuard {
    /// Keeps the bridge after the guard is gone; returns its name.
    pub fn persist(mut self) -> Option<String> {
        self.name.take().or_else(|| self.existing.take())
    }
}

impl Drop for BridgeGuard {
    fn drop(&mut self) {
        if let Some(n) = self.name.take() {
            delete_link(&n);
        }
    }
}

/// Creates `plan`'s bridge unless it exists. The guard removes it on drop only when this call
/// created it; [`BridgeGuard::persist`] hands over the name in every case, so the last container
/// on a bridge can remove it.
pub fn ensure_bridge(plan: &BridgePlan) -> Result<BridgeGuard, String> {
    if link_exists(&plan.name) {
        return Ok(BridgeGuard {
            name: None,
            existing: Some(plan.name.clone()),
        });
    }
    ip(&["link", "add", &plan.name, "type", "bridge"])?;
    let guard = BridgeGuard {
        name: Some(plan.name.clone()),
        existing: None,
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
    Command::new("ip")
        .args(["-o", "link", "show", "master", name])
        .output()
        .is_ok_and(|o| o.status.success() && o.stdout.iter().all(u8::is_ascii_whitespace))
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

/// NAT for a nesting host's children, inside the host's own network namespace only: enables
/// forwarding and masquerades the bridge's subnet out of every other interface.
pub fn enable_nat(plan: &BridgePlan) -> Result<(), String> {
    // /proc/sys is read-only in a container; the clean proc copy of a nesting host is not.
    let knob = [
        "/proc/sys/net/ipv4/ip_forward",
        "/dev/.lxnest/proc/sys/net/ipv4/ip_forward",
    ]
    .iter()
    .find_map(|p| std::fs::write(p, "1").ok().map(|_| *p));
    if knob.is_none() {
        return Err("cannot enable net.ipv4.ip_forward".into());
    }
    let rules = format!(
        "table ip lxnest {{\n chain postrouting {{\n  type nat hook postrouting priority 100;\n  ip saddr {} oifname != \"{}\" masquerade\n }}\n}}\n",
        plan.subnet, plan.name
    );
    let mut child = Command::new("nft")
        .arg("-f")
        .arg("-")
        .stdin(std::process::Stdio::piped())
        .spawn()
        .map_err(|e| format!("nft: {e}"))?;
    if let Some(mut stdin) = child.stdin.take() {
        use std::io::Write;
        stdin
            .write_all(rules.as_bytes())
            .map_err(|e| format!("nft: {e}"))?;
    }
    match child.wait() {
        Ok(s) if s.success() => Ok(()),
        Ok(s) => Err(format!("nft refused the NAT table: {s}")),
        Err(e) => Err(format!("nft: {e}")),
    }
}
