//! The device policy of a container on the v1 `devices` controller: deny everything, then allow
//! a standard set plus the plan's devices.
//!
//! On cgroup2 the device policy is an eBPF program (BPF_PROG_TYPE_CGROUP_DEVICE) that lxnest does
//! not attach: there it relies on the container never getting CAP_MKNOD in its user namespace and
//! on only bind-mounting the device nodes the plan lists (see docs/cgroups.md).

use super::tree::{CgroupGuard, Place};
use super::{v2, Result};
use crate::plan::model::DevicePlan;

/// What the devices controller now enforces.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DevicePolicy {
    /// The v1 allowlist was written; these are its lines.
    Enforced(Vec<String>),
    /// No v1 devices hierarchy: nothing enforced by cgroups (pure cgroup2 host).
    NotEnforced,
}

/// Devices every container gets: the pseudo devices, the tty, and ptys.
const STANDARD: &[&str] = &[
    "c 1:3 rwm",   // null
    "c 1:5 rwm",   // zero
    "c 1:7 rwm",   // full
    "c 1:8 rwm",   // random
    "c 1:9 rwm",   // urandom
    "c 5:0 rwm",   // tty
    "c 5:1 rwm",   // console
    "c 5:2 rwm",   // ptmx
    "c 136:* rwm", // /dev/pts/*
];

/// The allowlist lines for a plan's devices plus the standard set.
pub fn allow_lines(devices: &[DevicePlan]) -> Vec<String> {
    let mut out: Vec<String> = STANDARD.iter().map(|s| s.to_string()).collect();
    for d in devices {
        let access: String = d.access.chars().filter(|c| matches!(c, 'r' | 'w' | 'm')).collect();
        let line = format!("{} {}:{} {}", d.kind, d.major, d.minor, if access.is_empty() { "rwm" } else { &access });
        if !out.contains(&line) {
            out.push(line);
        }
    }
    out
}

/// Writes `devices.deny a` and the allowlist into the container's v1 devices cgroup.
///
/// The kernel only lets a cgroup change its default while it has no children, so an init leaf
/// made by [`super::create`] is removed first and recreated afterwards (it then inherits the
/// list). Call this before any process is in the leaf.
pub fn apply_devices(guard: &CgroupGuard, devices: &[DevicePlan]) -> Result<DevicePolicy> {
    let Some(place) = guard.places.iter().find(|p| p.hierarchy.has("devices")) else {
        return Ok(DevicePolicy::NotEnforced);
    };
    apply_in(place, devices)
}

fn apply_in(place: &Place, devices: &[DevicePlan]) -> Result<DevicePolicy> {
    if let Some(leaf) = &place.leaf {
        if leaf.exists() {
            std::fs::remove_dir(leaf).map_err(super::io_err("rmdir", leaf))?;
        }
    }
    deny_all(&place.dir)?;
    let lines = allow_lines(devices);
    for l in &lines {
        v2::write(&place.dir, "devices.allow", l)?;
    }
    if let Some(leaf) = &place.leaf {
        v2::mkdir(leaf)?;
    }
    Ok(DevicePolicy::Enforced(lines))
}

/// `devices.deny a`, retried for a moment: the kernel takes a removed child offline
/// asynchronously and refuses (EINVAL) while the child is still online.
fn deny_all(dir: &std::path::Path) -> Result<()> {
    let mut tries = 0;
    loop {
        match v2::write(dir, "devices.deny", "a") {
            Err(super::CgroupError::Io { source, .. })
                if source.raw_os_error() == Some(libc::EINVAL) && tries < 100 =>
            {
                tries += 1;
                std::thread::sleep(std::time::Duration::from_millis(10));
            }
            r => return r,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plan_devices_follow_the_standard_set() {
        let fuse = DevicePlan { path: "/dev/fuse".into(), kind: 'c', major: 10, minor: 229, access: "rwm".into() };
        let null = DevicePlan { path: "/dev/null".into(), kind: 'c', major: 1, minor: 3, access: "rwm".into() };
        let weird = DevicePlan { path: "/dev/x".into(), kind: 'b', major: 7, minor: 0, access: "rx".into() };
        let lines = allow_lines(&[fuse, null, weird]);
        assert_eq!(lines.len(), STANDARD.len() + 2);
        assert_eq!(lines[STANDARD.len()], "c 10:229 rwm");
        assert_eq!(lines[STANDARD.len() + 1], "b 7:0 r");
    }
}
