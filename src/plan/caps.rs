//! Capabilities: the set a container keeps, from a default plus what its runtime needs.

use std::collections::BTreeSet;

/// Every capability name the kernel knows (without `CAP_`, lower case, as in lxc.cap.drop), in
/// the order of their numbers: `ALL[n]` is capability `n`.
pub const ALL: &[&str] = &[
    "chown",
    "dac_override",
    "dac_read_search",
    "fowner",
    "fsetid",
    "kill",
    "setgid",
    "setuid",
    "setpcap",
    "linux_immutable",
    "net_bind_service",
    "net_broadcast",
    "net_admin",
    "net_raw",
    "ipc_lock",
    "ipc_owner",
    "sys_module",
    "sys_rawio",
    "sys_chroot",
    "sys_ptrace",
    "sys_pacct",
    "sys_admin",
    "sys_boot",
    "sys_nice",
    "sys_resource",
    "sys_time",
    "sys_tty_config",
    "mknod",
    "lease",
    "audit_write",
    "audit_control",
    "setfcap",
    "mac_override",
    "mac_admin",
    "syslog",
    "wake_alarm",
    "block_suspend",
    "audit_read",
    "perfmon",
    "bpf",
    "checkpoint_restore",
];

/// What every container keeps: what an ordinary Linux userland needs to run as root inside,
/// about Docker's default set. Everything else is dropped unless a runtime asks for it.
pub const DEFAULT_KEEP: &[&str] = &[
    "chown",
    "dac_override",
    "fowner",
    "fsetid",
    "kill",
    "setgid",
    "setuid",
    "setpcap",
    "net_bind_service",
    "net_raw",
    "sys_chroot",
    "mknod",
    "audit_write",
    "setfcap",
];

/// Never kept, whatever a runtime asks: they reach the host kernel itself.
pub const NEVER: &[&str] = &[
    "sys_module",
    "sys_rawio",
    "sys_time",
    "mac_admin",
    "mac_override",
    "sys_boot",
    "syslog",
];

/// Whether `name` is a capability name.
pub fn known(name: &str) -> bool {
    ALL.contains(&name)
}

/// The kept set: defaults plus needs, minus the spec's drops and minus [`NEVER`].
pub fn kept<'a>(needs: impl IntoIterator<Item = &'a String>, drop: &[String]) -> BTreeSet<String> {
    let mut set: BTreeSet<String> = DEFAULT_KEEP.iter().map(|s| s.to_string()).collect();
    set.extend(needs.into_iter().cloned());
    set.retain(|c| !drop.contains(c) && !NEVER.contains(&c.as_str()));
    set
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_known_and_never_is_never_kept() {
        assert!(DEFAULT_KEEP.iter().chain(NEVER).all(|c| known(c)));
        let asked = vec!["sys_module".to_string(), "sys_admin".to_string()];
        let set = kept(&asked, &["mknod".into()]);
        assert!(set.contains("sys_admin"));
        assert!(!set.contains("sys_module"));
        assert!(!set.contains("mknod"));
    }
}
