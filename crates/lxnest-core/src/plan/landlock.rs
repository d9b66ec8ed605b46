//! The Landlock policy of a container: the one place that says what a Landlock-restricted
//! container may write. The planner puts it in every [`LandlockPlan`]; the launcher's built-in
//! plan (`lxnest run`) and `attach` only apply what a plan says.
//!
//! Landlock denies mount and pivot_root to the processes it restricts, so only containers that
//! start nothing themselves get it. They read everything and write the usual top-level
//! directories (not /proc, /sys or /boot) and, in /dev, only the device nodes the plan gives
//! them ([`crate::plan::devices`]), the terminal and the shared-memory and message-queue
//! filesystems: no new entries in /dev itself.

use crate::plan::model::{DevicePlan, LandlockPlan};

/// What a restricted container may only read.
pub const READ_ONLY: &[&str] = &["/"];

/// What a restricted container may write (each with everything below it), besides its devices.
pub const WRITABLE: &[&str] = &[
    "/bin",
    "/etc",
    "/home",
    "/lib",
    "/lib32",
    "/lib64",
    "/libx32",
    "/media",
    "/mnt",
    "/opt",
    "/root",
    "/run",
    "/sbin",
    "/srv",
    "/tmp",
    "/usr",
    "/var",
    "/dev/console",
    "/dev/pts",
    "/dev/ptmx",
    "/dev/shm",
    "/dev/mqueue",
];

/// The policy of a container. `mounting`: the runtimes it hosts that mount (then Landlock is
/// off, and the plan says why); `kernel_has_landlock`: whether the host's kernel has it;
/// `devices`: the device nodes planned for it, which it may write.
pub fn plan(
    mounting: Option<&str>,
    kernel_has_landlock: bool,
    devices: &[DevicePlan],
) -> LandlockPlan {
    let reason = if !kernel_has_landlock {
        Some("the kernel has no Landlock".to_string())
    } else {
        mounting.map(|m| {
            format!("runs {m}, which mounts; Landlock forbids mount to restricted processes")
        })
    };
    LandlockPlan {
        enabled: reason.is_none(),
        reason,
        read_only: READ_ONLY.iter().map(|s| s.to_string()).collect(),
        read_write: WRITABLE
            .iter()
            .map(|s| s.to_string())
            .chain(devices.iter().map(|d| d.path.clone()))
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_plain_container_writes_only_the_listed_places() {
        let devices: Vec<DevicePlan> = crate::plan::devices::DEFAULT
            .iter()
            .filter_map(|d| crate::plan::devices::lookup(d))
            .collect();
        let p = plan(None, true, &devices);
        assert!(p.enabled && p.reason.is_none());
        assert!(p.read_write.iter().any(|w| w == "/dev/null"));
        assert_eq!(p.read_only, ["/"]);
        for denied in ["/", "/proc", "/sys", "/boot", "/dev"] {
            assert!(!p.read_write.iter().any(|w| w == denied), "{denied}");
        }
        assert!(p.read_write.iter().any(|w| w == "/dev/shm"));
    }

    #[test]
    fn mounting_runtimes_and_old_kernels_get_none_with_the_reason() {
        let p = plan(Some("lxc"), true, &[]);
        assert!(!p.enabled);
        assert!(p.reason.unwrap().starts_with("runs lxc, which mounts"));
        let p = plan(None, false, &[]);
        assert_eq!(p.reason.as_deref(), Some("the kernel has no Landlock"));
    }
}
