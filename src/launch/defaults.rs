//! The machine's part of a container without a spec (`lxnest run`, and the launcher's tests):
//! its level, cgroup layout and id map. The plan itself is the planner's
//! ([`crate::plan::adhoc`]): the same policies a one-container spec gets.

use crate::plan::host::{CgroupLayout, CgroupMode};
use crate::plan::model::{IdMapPlan, LevelPlan};

/// Ids given to a plain container.
pub const BLOCK: u32 = 65_536;

/// Whether this process runs in a user namespace other than the initial one.
pub fn in_user_namespace() -> bool {
    std::fs::read_to_string("/proc/self/uid_map")
        .map(|m| m.split_whitespace().collect::<Vec<_>>() != ["0", "0", "4294967295"])
        .unwrap_or(false)
}

/// Root's subordinate range start in `file`, if it has one.
fn root_sub_id(file: &str) -> Option<u32> {
    std::fs::read_to_string(file).ok().and_then(|t| {
        t.lines().find_map(|l| {
            let mut f = l.split(':');
            (f.next() == Some("root"))
                .then(|| f.next().and_then(|v| v.parse().ok()))
                .flatten()
        })
    })
}

/// The id map of a container: nesting hosts get three blocks so their own children fit in the
/// second one. Root's /etc/subuid and /etc/subgid entries decide where the block starts; inside
/// a nesting host lxnest wrote them (the range its plan reserved for ad-hoc containers), and
/// without them a container in a user namespace takes the second block of ours.
pub fn idmap(nesting: bool) -> IdMapPlan {
    let count = if nesting { 3 * BLOCK } else { BLOCK };
    if let Some(map) = user_idmap(count) {
        return map;
    }
    let fallback = if in_user_namespace() { BLOCK } else { 100_000 };
    let uid = root_sub_id("/etc/subuid").unwrap_or(fallback);
    let gid = root_sub_id("/etc/subgid").unwrap_or(fallback);
    crate::plan::idmap::map(uid, gid, count, uid, gid)
}

/// The error of a failed map write, with why it failed when our own maps do not cover the
/// planned ids (a nesting host without a reserved range) and what to do about it.
pub fn explain_map_error(map: &IdMapPlan, err: std::io::Error) -> super::error::StepFailure {
    let own = |f: &str| std::fs::read_to_string(format!("/proc/self/{f}")).unwrap_or_default();
    let failure = super::error::StepFailure::from(err);
    match crate::plan::idreserve::unmapped(map, &own("uid_map"), &own("gid_map")) {
        // What the OS error alone does not say: which ids this user may not map.
        Some(why) => super::error::StepFailure {
            doing: Some(format!("write the id maps ({why})")),
            ..failure
        },
        None => failure,
    }
}

/// An unprivileged user's map, as the planner makes it (the user as root plus subordinate ids,
/// or the user alone); `None` for root.
fn user_idmap(count: u32) -> Option<IdMapPlan> {
    if nix::unistd::geteuid().is_root() {
        return None; // root maps its own way, without reading the whole host
    }
    let ids = crate::host::ids_of_this_user();
    let user = ids.user.as_ref()?;
    if let Some(why) = crate::plan::idmap::single_reason_for(user, &ids.subuids, &ids.subgids) {
        tracing::warn!(
            "single-id map ({why}): {}",
            crate::plan::idmap::SINGLE_LOSES
        );
        return Some(crate::plan::idmap::single(user));
    }
    let largest = |r: &[crate::plan::host::IdRange]| r.iter().copied().max_by_key(|r| r.count);
    let (u, g) = (largest(&ids.subuids)?, largest(&ids.subgids)?);
    // The user's ranges may hold fewer ids than the block: then the container gets what is there.
    let count = count
        .min(u.count.saturating_add(1))
        .min(g.count.saturating_add(1));
    Some(crate::plan::idmap::unprivileged(
        user, u.first, g.first, count,
    ))
}

/// The level this process runs at: lxnest's marker `/run/lxnest/level` inside a container it
/// started, 0 on the host.
pub fn own_level() -> u32 {
    std::fs::read_to_string("/run/lxnest/level")
        .ok()
        .and_then(|t| t.trim().parse().ok())
        .unwrap_or(0)
}

/// A level-1 (or, inside a nesting host, next-level) container on the built-in rootfs, as the
/// planner plans a container without a spec ([`crate::plan::adhoc`]); this module adds only what
/// the machine knows: the level, the cgroup layout, Landlock, and the id map.
pub fn level_plan(
    name: &str,
    command: Vec<String>,
    nesting: bool,
) -> Result<LevelPlan, Box<crate::plan::PlanError>> {
    let cgroup = crate::cgroup::detect().unwrap_or_else(|_| CgroupLayout {
        mode: CgroupMode::Hybrid,
        v1_controllers: Vec::new(),
        unified_controllers: Vec::new(),
        unified_mount: None,
        nsdelegate: false,
    });
    let facts = crate::plan::adhoc::Facts {
        depth: own_level() + 1,
        cgroup,
        // The launcher's Landlock step says so when the kernel has none (docs/launch.md).
        landlock: true,
        idmap: Some(idmap(nesting)),
    };
    crate::plan::adhoc::level(name, command, nesting, facts).map_err(Box::new)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_machine_facts_reach_the_plan() {
        let p = level_plan("c1", vec!["/bin/true".into()], false).unwrap();
        assert_eq!(p.depth, own_level() + 1);
        assert_eq!(p.idmap.as_ref().map(|m| m.uid[0].count), Some(BLOCK));
        let n = level_plan("h1", Vec::new(), true).unwrap();
        assert_eq!(n.idmap.as_ref().map(|m| m.uid[0].count), Some(3 * BLOCK));
    }
}
