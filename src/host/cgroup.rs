//! cgroup layout (v1 / hybrid / unified) from mountinfo and /proc/self/cgroup: lxnest's one
//! reader of it, for the host snapshot (`plan`, `check`) and for the launcher
//! ([`crate::cgroup::layout::detect`]).

use super::mountinfo::Mount;
use crate::plan::host::{CgroupLayout, CgroupMode};

/// Superblock options of a v1 cgroup mount that are not controller names.
const V1_NON_CONTROLLER_OPTIONS: &[&str] = &[
    "rw",
    "ro",
    "xattr",
    "noprefix",
    "clone_children",
    "cpuset_v2_mode",
    "none",
    "favordynmods",
];

/// The controllers a v1 cgroup mount carries (`name=...` and `release_agent=...` excluded).
pub(crate) fn v1_controllers_of(mount: &Mount) -> Vec<String> {
    mount
        .super_options
        .iter()
        .filter(|o| !o.contains('=') && !V1_NON_CONTROLLER_OPTIONS.contains(&o.as_str()))
        .cloned()
        .collect()
}

/// One line of /proc/self/cgroup: `id:controllers:path` (`0::path` is cgroup2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Membership {
    pub hierarchy: u32,
    /// Controllers of a v1 hierarchy (`name=systemd` kept); empty for cgroup2.
    pub controllers: Vec<String>,
    /// Path relative to the cgroup namespace root.
    pub path: String,
}

/// Parses /proc/self/cgroup; malformed lines are skipped.
pub(crate) fn memberships(text: &str) -> Vec<Membership> {
    text.lines()
        .filter_map(|l| {
            let mut p = l.splitn(3, ':');
            let hierarchy = p.next()?.parse().ok()?;
            let controllers = p
                .next()?
                .split(',')
                .filter(|c| !c.is_empty())
                .map(String::from)
                .collect();
            Some(Membership {
                hierarchy,
                controllers,
                path: p.next()?.to_string(),
            })
        })
        .collect()
}

/// The cgroup layout seen from here. `unified_root_controllers` is the `cgroup.controllers` text
/// of the cgroup2 mount's root, when there is one. With no cgroup filesystem mounted at all (some
/// containers), the mode comes from /proc/self/cgroup and the lists stay empty.
pub(crate) fn layout(
    mounts: &[Mount],
    self_cgroup: &str,
    unified_root_controllers: Option<&str>,
) -> CgroupLayout {
    let mut v1: Vec<String> = mounts
        .iter()
        .filter(|m| m.fstype == "cgroup")
        .flat_map(v1_controllers_of)
        .collect();
    v1.sort();
    v1.dedup();
    // When cgroup2 is mounted several times (bind mounts), the shortest mount point is the
    // canonical one (/sys/fs/cgroup or /sys/fs/cgroup/unified).
    let unified = mounts
        .iter()
        .filter(|m| m.fstype == "cgroup2")
        .min_by_key(|m| m.mount_point.len());
    let any_v1_mount = mounts.iter().any(|m| m.fstype == "cgroup");
    let mode = match (any_v1_mount, unified.is_some()) {
        (true, true) => CgroupMode::Hybrid,
        (true, false) => CgroupMode::V1,
        (false, true) => CgroupMode::Unified,
        (false, false) => {
            let ms = memberships(self_cgroup);
            let has_v1 = ms.iter().any(|m| m.hierarchy != 0);
            let has_v2 = ms.iter().any(|m| m.hierarchy == 0);
            match (has_v1, has_v2) {
                (true, true) => CgroupMode::Hybrid,
                (true, false) => CgroupMode::V1,
                _ => CgroupMode::Unified,
            }
        }
    };
    CgroupLayout {
        mode,
        v1_controllers: v1,
        unified_controllers: unified_root_controllers
            .map(|t| t.split_whitespace().map(String::from).collect())
            .unwrap_or_default(),
        unified_mount: unified.map(|m| m.mount_point.clone()),
        nsdelegate: unified.is_some_and(|m| m.super_options.iter().any(|o| o == "nsdelegate")),
    }
}

#[cfg(test)]
mod tests {
    use super::super::mountinfo::{parse, samples};
    use super::*;

    fn strings(l: &[&str]) -> Vec<String> {
        l.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn hybrid_like_this_machine() {
        let (m, _) = parse(samples::HYBRID_HOST);
        let l = layout(&m, "0::/\n", Some("hugetlb\n"));
        assert_eq!(l.mode, CgroupMode::Hybrid);
        assert_eq!(
            l.v1_controllers,
            strings(&["blkio", "cpu", "cpuacct", "cpuset", "devices", "freezer", "memory", "pids"])
        );
        assert_eq!(l.unified_controllers, strings(&["hugetlb"]));
        assert_eq!(l.unified_mount.as_deref(), Some("/sys/fs/cgroup/unified"));
        assert!(!l.nsdelegate);
    }

    #[test]
    fn unified_with_nsdelegate() {
        let (m, _) = parse(samples::UNIFIED);
        let l = layout(
            &m,
            "0::/user.slice\n",
            Some("cpuset cpu io memory hugetlb pids rdma misc\n"),
        );
        assert_eq!(l.mode, CgroupMode::Unified);
        assert!(l.v1_controllers.is_empty());
        assert_eq!(l.unified_controllers.len(), 8);
        assert_eq!(l.unified_mount.as_deref(), Some("/sys/fs/cgroup"));
        assert!(l.nsdelegate);
    }

    #[test]
    fn v1_with_comounted_controllers() {
        let (m, _) = parse(samples::V1);
        let l = layout(&m, "", None);
        assert_eq!(l.mode, CgroupMode::V1);
        assert_eq!(
            l.v1_controllers,
            strings(&["cpu", "cpuacct", "memory", "net_cls", "net_prio"])
        );
        assert_eq!(l.unified_mount, None);
    }

    #[test]
    fn nothing_mounted_falls_back_to_membership() {
        let l = layout(&[], "9:name=systemd:/\n4:memory:/\n0::/.lxc\n", None);
        assert_eq!(l.mode, CgroupMode::Hybrid);
        assert_eq!(layout(&[], "0::/\n", None).mode, CgroupMode::Unified);
        let ms = memberships("4:memory:/a/b\n0::/.lxc\nbad\n");
        assert_eq!(ms.len(), 2);
        assert_eq!(ms[0].controllers, strings(&["memory"]));
        assert_eq!(ms[1].path, "/.lxc");
    }
}
