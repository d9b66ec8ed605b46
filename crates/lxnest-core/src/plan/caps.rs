//! Capabilities: the set a container keeps, from a default plus what its runtime needs.

use crate::plan::model::{AppArmorPlan, LevelPlan};
use crate::plan::needs::Needs;
use crate::spec::model::ContainerSpec;
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

/// Defaults plus the needs of the container and of everything below it (a dropped bounding
/// capability can never come back further down), never more than the parent keeps (an inner
/// level is never looser). A need that an ancestor's `capabilities.drop` removes is a finding
/// of [`crate::plan::check::run`], never a silent loss.
pub fn for_container(
    c: &ContainerSpec,
    subtree: &Needs,
    parent: Option<&LevelPlan>,
    apparmor: &AppArmorPlan,
    user_namespace: bool,
) -> Vec<String> {
    let mut set = kept(&subtree.capabilities, &c.capabilities.drop);
    // AppArmor lets a task load policy only with mac_admin in its own user namespace, and only
    // into the policy namespace at that depth: in a user namespace it reaches nothing but the
    // container's own policy namespace, so a nesting host that loads its children's profiles
    // keeps it. Without a user namespace it would be the host's: never.
    if user_namespace
        && apparmor.flags.iter().any(|f| f == "load_policy")
        && !c.capabilities.drop.iter().any(|d| d == "mac_admin")
    {
        set.insert("mac_admin".into());
    }
    if let Some(p) = parent {
        set.retain(|cap| p.capabilities.contains(cap));
    }
    set.into_iter().collect()
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
