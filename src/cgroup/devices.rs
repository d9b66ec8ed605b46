//! The device policy of a container: deny everything, then allow a standard set plus the plan's
//! devices. On the v1 `devices` controller as an allowlist; on cgroup2 as a
//! BPF_PROG_TYPE_CGROUP_DEVICE program ([`super::devbpf`]) attached to the container's cgroup2
//! directory. A hybrid host gets both.

use super::tree::{CgroupGuard, Place};
use super::{v2, Result};
use crate::plan::model::DevicePlan;

/// What the cgroup2 device program did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BpfStatus {
    /// Attached to the container's cgroup2 directory.
    Attached,
    /// No cgroup2 hierarchy.
    NoCgroup2,
    /// Could not be loaded or attached (EPERM in a nested container, where the ancestors'
    /// programs still apply); the text says why.
    Failed(String),
}

/// What the kernel now enforces for the container's devices.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DevicePolicy {
    /// The allowlist lines.
    pub allow: Vec<String>,
    /// Written to the v1 devices controller.
    pub v1: bool,
    /// The cgroup2 program.
    pub bpf: BpfStatus,
}

impl DevicePolicy {
    /// Whether some cgroup mechanism enforces the list.
    pub fn enforced(&self) -> bool {
        self.v1 || self.bpf == BpfStatus::Attached
    }
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
        let access: String = d
            .access
            .chars()
            .filter(|c| matches!(c, 'r' | 'w' | 'm'))
            .collect();
        let line = format!(
            "{} {}:{} {}",
            d.kind,
            d.major,
            d.minor,
            if access.is_empty() { "rwm" } else { &access }
        );
        if !out.contains(&line) {
            out.push(line);
        }
    }
    out
}

/// Applies the allowlist in every mechanism the host has: `devices.deny a` plus `devices.allow`
/// lines on the v1 controller, and the device program on cgroup2.
///
/// The kernel only lets a v1 cgroup change its default while it has no children, so an init leaf
/// made by [`super::create`] is removed first and recreated afterwards (it then inherits the
/// list). Call this before any process is in the leaf.
///
/// A failing cgroup2 program is an error only when nothing else enforces the list and the
/// failure is not EPERM (a nested lxnest may not load BPF; its ancestors' programs still run).
pub fn apply_devices(guard: &CgroupGuard, devices: &[DevicePlan]) -> Result<DevicePolicy> {
    let allow = allow_lines(devices);
    let mut v1 = false;
    if let Some(place) = guard.places.iter().find(|p| p.hierarchy.has("devices")) {
        apply_in(place, &allow)?;
        v1 = true;
    }
    let bpf = match apply_bpf_lines(guard, &allow) {
        Ok(s) => s,
        Err(e @ super::CgroupError::Bpf { errno, .. })
            if !v1 && errno != nix::errno::Errno::EPERM =>
        {
            return Err(e)
        }
        Err(e) => BpfStatus::Failed(e.to_string()),
    };
    Ok(DevicePolicy { allow, v1, bpf })
}

/// Attaches only the cgroup2 device program (the v1 list untouched).
pub fn apply_devices_bpf(guard: &CgroupGuard, devices: &[DevicePlan]) -> Result<BpfStatus> {
    apply_bpf_lines(guard, &allow_lines(devices))
}

fn apply_bpf_lines(guard: &CgroupGuard, allow: &[String]) -> Result<BpfStatus> {
    match guard.places.iter().find(|p| p.is_v2()) {
        Some(place) => super::devbpf::attach(&place.dir, allow).map(|()| BpfStatus::Attached),
        None => Ok(BpfStatus::NoCgroup2),
    }
}

fn apply_in(place: &Place, lines: &[String]) -> Result<()> {
    if let Some(leaf) = &place.leaf {
        if leaf.exists() {
            std::fs::remove_dir(leaf).map_err(super::io_err("rmdir", leaf))?;
        }
    }
    deny_all(&place.dir)?;
    for l in lines {
        v2::write(&place.dir, "devices.allow", l)?;
    }
    if let Some(leaf) = &place.leaf {
        v2::mkdir(leaf)?;
    }
    Ok(())
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
        let fuse = DevicePlan {
            path: "/dev/fuse".into(),
            kind: 'c',
            major: 10,
            minor: 229,
            access: "rwm".into(),
        };
        let null = DevicePlan {
            path: "/dev/null".into(),
            kind: 'c',
            major: 1,
            minor: 3,
            access: "rwm".into(),
        };
        let weird = DevicePlan {
            path: "/dev/x".into(),
            kind: 'b',
            major: 7,
            minor: 0,
            access: "rx".into(),
        };
        let lines = allow_lines(&[fuse, null, weird]);
        assert_eq!(lines.len(), STANDARD.len() + 2);
        assert_eq!(lines[STANDARD.len()], "c 10:229 rwm");
        assert_eq!(lines[STANDARD.len() + 1], "b 7:0 r");
    }
}
