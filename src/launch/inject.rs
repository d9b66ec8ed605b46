//! Failure injection for the cleanup tests: `LXNEST_FAIL_AT=<step>` makes that step fail as if
//! the kernel had refused it, so a test can assert that nothing is left behind. The variable is
//! read by every lxnest process (the launcher and the container child alike).

use super::error::{LaunchError, Result};

/// Environment variable naming the step that must fail.
pub const ENV: &str = "LXNEST_FAIL_AT";

/// Every step that can be failed on purpose, in start order (parent and child steps mixed).
pub const STEPS: &[&str] = &[
    "state",
    "cgroup",
    "spawn",
    "idmap",
    "cgroup-attach",
    "identity",
    "rootfs",
    "mounts",
    "dev",
    "proc",
    "lock",
    "cgroupns",
    "network",
    "cgroup-leaf",
    "hostname",
    "sysfs",
    "cgroupfs",
    "pivot",
    "loopback",
    "caps",
    "apparmor",
    "landlock",
    "fds",
    "seccomp",
    "exec",
    "monitor",
];

/// Fails with [`LaunchError::Injected`] when `LXNEST_FAIL_AT` names `step`. Every step passes
/// here, so this is also where its start is timed ([`super::timing`]).
pub fn check(container: &str, step: &'static str) -> Result<()> {
    super::timing::mark(container, step);
    match std::env::var(ENV) {
        Ok(v) if v == step => Err(LaunchError::Injected {
            container: container.to_string(),
            step,
        }),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn steps_are_unique() {
        let mut s = super::STEPS.to_vec();
        s.sort_unstable();
        s.dedup();
        assert_eq!(s.len(), super::STEPS.len());
    }
}
