//! The lxc.* keys of LXC 5: which exist, which lxnest enforces, and which accumulate.

use crate::spec::hook::HookKind;

/// How lxnest treats a key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Support {
    /// Mapped onto the plan and enforced.
    Enforced,
    /// A valid LXC key that lxnest reads but does not enforce (listed in a warning).
    NotEnforced,
}

/// Keys that may appear many times and add to a list (an empty value clears the list, as in LXC).
const LISTS: &[&str] = &[
    "lxc.mount.entry",
    "lxc.idmap",
    "lxc.cap.drop",
    "lxc.cap.keep",
    "lxc.environment",
    "lxc.include",
    "lxc.hook.",
    "lxc.cgroup.devices.",
    "lxc.cgroup2.devices.",
    "lxc.apparmor.raw",
    "lxc.net.",
    "lxc.namespace.",
    "lxc.mount.auto",
];

/// Exact keys lxnest enforces, besides `lxc.hook.TYPE` for each hook type it runs
/// ([`crate::spec::hook::HookKind`], see [`enforced`]).
const ENFORCED: &[&str] = &[
    "lxc.include",
    "lxc.rootfs.path",
    "lxc.mount.entry",
    "lxc.mount.auto",
    "lxc.idmap",
    "lxc.cap.drop",
    "lxc.cap.keep",
    "lxc.apparmor.profile",
    "lxc.apparmor.allow_nesting",
    "lxc.seccomp.profile",
    "lxc.seccomp.allow_nesting",
    "lxc.environment",
    "lxc.uts.name",
    "lxc.init.cmd",
    "lxc.execute.cmd",
    "lxc.cgroup.memory.limit_in_bytes",
    "lxc.cgroup2.memory.max",
    "lxc.cgroup.pids.max",
    "lxc.cgroup2.pids.max",
    "lxc.cgroup.cpu.cfs_quota_us",
    "lxc.cgroup.cpu.cfs_period_us",
    "lxc.cgroup2.cpu.max",
    "lxc.cgroup.devices.allow",
    "lxc.cgroup.devices.deny",
    "lxc.cgroup2.devices.allow",
    "lxc.cgroup2.devices.deny",
    "lxc.autodev",
    "lxc.arch",
    "lxc.net.N.type",
    "lxc.net.N.link",
    "lxc.net.N.name",
    "lxc.net.N.flags",
    "lxc.net.N.mtu",
    "lxc.net.N.ipv4.address",
    "lxc.net.N.ipv4.gateway",
    "lxc.net.N.veth.pair",
];

/// Exact keys LXC 5 knows that lxnest does not enforce.
const KNOWN: &[&str] = &[
    "lxc.apparmor.allow_incomplete",
    "lxc.apparmor.raw",
    "lxc.autodev.tmpfs.size",
    "lxc.cgroup.dir",
    "lxc.cgroup.dir.container",
    "lxc.cgroup.dir.container.inner",
    "lxc.cgroup.dir.monitor",
    "lxc.cgroup.dir.monitor.pivot",
    "lxc.cgroup.relative",
    "lxc.console.buffer.size",
    "lxc.console.logfile",
    "lxc.console.path",
    "lxc.console.rotate",
    "lxc.console.size",
    "lxc.ephemeral",
    "lxc.group",
    "lxc.hook.clone",
    "lxc.hook.destroy",
    "lxc.hook.start-host",
    "lxc.hook.version",
    "lxc.init.cwd",
    "lxc.init.gid",
    "lxc.init.uid",
    "lxc.init.groups",
    "lxc.keyring.session",
    "lxc.log.file",
    "lxc.log.level",
    "lxc.log.syslog",
    "lxc.monitor.signal.pdeath",
    "lxc.monitor.unshare",
    "lxc.mount.fstab",
    "lxc.namespace.clone",
    "lxc.namespace.keep",
    "lxc.no_new_privs",
    "lxc.pty.max",
    "lxc.rootfs.managed",
    "lxc.rootfs.mount",
    "lxc.rootfs.options",
    "lxc.sched.core",
    "lxc.seccomp.notify.cookie",
    "lxc.seccomp.notify.proxy",
    "lxc.selinux.context",
    "lxc.selinux.context.keyring",
    "lxc.signal.halt",
    "lxc.signal.reboot",
    "lxc.signal.stop",
    "lxc.start.auto",
    "lxc.start.delay",
    "lxc.start.order",
    "lxc.time.offset.boot",
    "lxc.time.offset.monotonic",
    "lxc.tty.dir",
    "lxc.tty.max",
    "lxc.net",
    "lxc.net.N.hwaddr",
    "lxc.net.N.ipv6.address",
    "lxc.net.N.ipv6.gateway",
    "lxc.net.N.script.up",
    "lxc.net.N.script.down",
    "lxc.net.N.veth.mode",
    "lxc.net.N.veth.ipv4.route",
    "lxc.net.N.veth.ipv6.route",
    "lxc.net.N.veth.vlan.id",
    "lxc.net.N.veth.vlan.tagged.id",
    "lxc.net.N.macvlan.mode",
    "lxc.net.N.vlan.id",
    "lxc.net.N.ipvlan.mode",
    "lxc.net.N.ipvlan.isolation",
    "lxc.net.N.l2proxy",
    "lxc.net.N.ipv4.gateway.dev",
    "lxc.net.N.ipv6.gateway.dev",
];

/// Keys that take any suffix (`lxc.cgroup.memory.high`, `lxc.prlimit.nofile`, `lxc.sysctl.net.x`).
const KNOWN_PREFIXES: &[&str] = &[
    "lxc.cgroup.",
    "lxc.cgroup2.",
    "lxc.prlimit.",
    "lxc.proc.",
    "lxc.sysctl.",
    "lxc.namespace.share.",
];

/// `lxc.net.3.ipv4.address` -> `lxc.net.N.ipv4.address`, so per-interface keys match one entry.
pub fn normalize(key: &str) -> String {
    let mut parts: Vec<&str> = key.split('.').collect();
    if parts.len() > 2 && parts[1] == "net" && parts[2].bytes().all(|b| b.is_ascii_digit()) {
        parts[2] = "N";
    }
    parts.join(".")
}

/// Whether LXC knows the key, and whether lxnest enforces it; `None` for an unknown key.
pub fn support(key: &str) -> Option<Support> {
    let k = normalize(key);
    // LXC writes lxc.cgroup2.FILE to FILE at start: a name cgroup v2 does not have fails late.
    if let Some(file) = k.strip_prefix("lxc.cgroup2.") {
        if !crate::lxc::limits::cgroup2_file_known(file) {
            return None;
        }
    }
    if enforced().any(|e| e == k) {
        Some(Support::Enforced)
    } else if KNOWN.contains(&k.as_str())
        || KNOWN_PREFIXES
            .iter()
            .any(|p| k.starts_with(p) && k.len() > p.len())
    {
        Some(Support::NotEnforced)
    } else {
        None
    }
}

/// Whether repeated values add up rather than replace.
pub fn is_list(key: &str) -> bool {
    LISTS.iter().any(|l| {
        if l.ends_with('.') {
            key.starts_with(l)
        } else {
            key == *l
        }
    })
}

/// Every exact key lxnest enforces.
fn enforced() -> impl Iterator<Item = String> {
    let hooks = HookKind::ALL.into_iter().map(|k| format!("lxc.hook.{k}"));
    ENFORCED.iter().map(|k| k.to_string()).chain(hooks)
}

/// The known key closest to `key`, for "did you mean" hints.
pub fn closest(key: &str) -> Option<String> {
    enforced()
        .chain(KNOWN.iter().map(|k| k.to_string()))
        .chain(crate::lxc::limits::cgroup2_keys())
        .min_by_key(|k| distance(k, key))
        .filter(|k| distance(k, key) <= 4)
}

fn distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1];
        for (j, cb) in b.iter().enumerate() {
            cur.push(
                (prev[j] + usize::from(ca != *cb))
                    .min(prev[j + 1] + 1)
                    .min(cur[j] + 1),
            );
        }
        prev = cur;
    }
    prev[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classification() {
        assert_eq!(support("lxc.net.0.ipv4.address"), Some(Support::Enforced));
        assert_eq!(support("lxc.net.12.hwaddr"), Some(Support::NotEnforced));
        assert_eq!(
            support("lxc.cgroup.memory.high"),
            Some(Support::NotEnforced)
        );
        assert_eq!(
            support("lxc.cgroup.memory.limit_in_bytes"),
            Some(Support::Enforced)
        );
        assert_eq!(support("lxc.rootfs.pth"), None);
        assert_eq!(
            closest("lxc.rootfs.pth").as_deref(),
            Some("lxc.rootfs.path")
        );
        assert_eq!(support("lxc.cgroup2.memroy.max"), None);
        assert_eq!(
            closest("lxc.cgroup2.memroy.max").as_deref(),
            Some("lxc.cgroup2.memory.max")
        );
        assert_eq!(
            support("lxc.cgroup2.memory.high"),
            Some(Support::NotEnforced)
        );
        assert!(
            is_list("lxc.hook.pre-start") && is_list("lxc.mount.entry") && !is_list("lxc.uts.name")
        );
    }

    #[test]
    fn every_hook_type_lxnest_runs_is_enforced_and_others_are_known() {
        for k in HookKind::ALL {
            assert_eq!(
                support(&format!("lxc.hook.{k}")),
                Some(Support::Enforced),
                "{k}"
            );
        }
        assert_eq!(support("lxc.hook.clone"), Some(Support::NotEnforced));
        assert_eq!(support("lxc.hook.pre-strat"), None);
        assert_eq!(
            closest("lxc.hook.pre-strat").as_deref(),
            Some("lxc.hook.pre-start")
        );
    }
}
