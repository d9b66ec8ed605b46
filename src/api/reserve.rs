//! The allocation registry ([`crate::registry`]) around a start: the lock is taken before the
//! host is read and the stack planned, each container tree's claims are recorded before it
//! starts, handed to its monitor once it runs, and forgotten at stop and destroy.

use super::error::{ApiError, Result};
use super::registry::Defined;
use crate::plan::host::{HostSnapshot, Reservation};
use crate::registry::{self, Entry, Held};
use std::path::Path;

/// Locks this user's registry and drops the entries whose holder is gone.
pub(super) fn lock() -> Result<Held> {
    let mut held = registry::lock::acquire(&registry::dir())?;
    let stale = held.registry.prune();
    for e in &stale {
        tracing::info!(
            "released the reservations of {} (its holder is gone)",
            e.holder()
        );
    }
    if !stale.is_empty() {
        held.save()?;
    }
    Ok(held)
}

/// This machine's facts with everything reserved: the registry's entries and other users'
/// subordinate ids (read with the host). As real root, root's own /etc/subuid and /etc/subgid
/// range is made first when missing, so that root's containers never share host ids with a
/// range `useradd` gives a user.
pub(super) fn snapshot(held: &Held) -> Result<HostSnapshot> {
    let mut host = crate::host::read()?;
    if host.privileged {
        let (u, g) = registry::subid::ensure_root_range(Path::new("/etc"))?;
        host.subuids = u;
        host.subgids = g;
    }
    host.reserved.extend(held.registry.reservations());
    Ok(host)
}

/// Root's subordinate ranges (made when missing) and everything reserved in host ids: the
/// registry's blocks and other users' subordinate ranges.
fn ids_snapshot_with(registry: &registry::Registry) -> Result<HostSnapshot> {
    ids_snapshot_of(registry, true)
}

/// [`ids_snapshot_with`]; `root`: root's range is made when missing (a user's are read by the
/// caller).
fn ids_snapshot_of(registry: &registry::Registry, root: bool) -> Result<HostSnapshot> {
    let (subuids, subgids) = if root {
        registry::subid::ensure_root_range(Path::new("/etc"))?
    } else {
        (Vec::new(), Vec::new())
    };
    let me = nix::unistd::getuid();
    let name = nix::unistd::User::from_uid(me)
        .ok()
        .flatten()
        .map(|u| u.name);
    let mut reserved = crate::host::ids::others_reservations(
        &std::fs::read_to_string("/etc/subuid").unwrap_or_default(),
        &std::fs::read_to_string("/etc/subgid").unwrap_or_default(),
        name.as_deref(),
        me.as_raw(),
    );
    reserved.extend(registry.reservations());
    Ok(HostSnapshot {
        subuids,
        subgids,
        reserved,
        ..HostSnapshot::laptop()
    })
}

/// Records what `d`'s tree holds before it starts, and returns the definition to start. A plan
/// made now avoids everything recorded; a plan file or a definition started again may not: when
/// its id block is someone else's now, the tree moves to a free block of root's range (its
/// children's maps are relative to it and stay); a subnet someone else uses in the same network
/// namespace is refused with the holder and the fix.
pub(super) fn record(
    held: &mut Held,
    d: &Defined,
    name: &str,
    state_dir: &Path,
) -> Result<Defined> {
    let mut d = d.clone();
    // Its own earlier entry (a definition started again) is no conflict.
    let mut others = held.registry.clone();
    others.release(state_dir, name);
    let netns = registry::netns_of_this_process();
    let mut claims = crate::plan::claims::of_tree(&d.plan, &d.path);
    let ids_held = others
        .conflicts(&d.plan.stack, &claims, netns)
        .into_iter()
        .any(|(c, _)| c.uids.is_some() || c.gids.is_some());
    if ids_held && relocate(&mut d, &others)? {
        claims = crate::plan::claims::of_tree(&d.plan, &d.path);
    }
    if let Some((claim, holder)) = others
        .conflicts(&d.plan.stack, &claims, netns)
        .into_iter()
        .next()
    {
        return Err(ApiError::Reserved {
            container: name.into(),
            claim: describe(&claim),
            holder,
        });
    }
    let mut entry = Entry::held_by_me(&d.plan.stack, name, state_dir, claims);
    entry.netns = netns;
    held.registry.record(entry)?;
    held.save()?;
    // The benchmark reads this: how much of the hold is planning and recording.
    tracing::debug!(
        target: "lxnest::registry",
        "registry: {name} recorded {} us after the lock was taken",
        held.held_for().as_micros()
    );
    Ok(d)
}

/// Moves the id block of `d`'s tree to the lowest free block of root's range; false when it is
/// not a root tree (a user's map, or a launcher inside a container keeps its map).
fn relocate(d: &mut Defined, others: &registry::Registry) -> Result<bool> {
    let privileged =
        nix::unistd::geteuid().is_root() && !crate::launch::defaults::in_user_namespace();
    let Some(top) = d.level().and_then(|c| c.idmap.clone()) else {
        return Ok(false);
    };
    if !privileged || top.uid.len() != 1 || top.gid.len() != 1 {
        return Ok(false);
    }
    let host = ids_snapshot_with(others)?;
    let (ru, rg) = (host.subuids.clone(), host.subgids.clone());
    let take = |r: &[crate::plan::host::IdRange], count: u32, gids: bool| {
        let mut a = crate::plan::idmap::IdAllocator::new(r.first().copied()?);
        a.avoid(&crate::plan::idmap::held_by_others(&host, "", gids));
        a.take(u64::from(count))
    };
    let (Some(u), Some(g)) = (
        take(&ru, top.host_uid.count, false),
        take(&rg, top.host_gid.count, true),
    ) else {
        return Ok(false);
    };
    let (du, dg) = (
        i64::from(u) - i64::from(top.host_uid.first),
        i64::from(g) - i64::from(top.host_gid.first),
    );
    let shift = |v: u32, by: i64| u32::try_from(i64::from(v) + by).unwrap_or(v);
    let prefix = format!("{}/", d.path);
    for c in d
        .plan
        .containers
        .iter_mut()
        .filter(|c| c.path == d.path || c.path.starts_with(&prefix))
    {
        let top_level = c.path == d.path;
        if let Some(m) = c.idmap.as_mut() {
            m.host_uid.first = shift(m.host_uid.first, du);
            m.host_gid.first = shift(m.host_gid.first, dg);
            if top_level {
                m.uid
                    .iter_mut()
                    .for_each(|l| l.outside = shift(l.outside, du));
                m.gid
                    .iter_mut()
                    .for_each(|l| l.outside = shift(l.outside, dg));
            }
        }
    }
    tracing::warn!(
        "{}: its planned host ids are held by another container now; it takes uids {u}+{} instead",
        d.path,
        top.host_uid.count
    );
    Ok(true)
}

fn describe(c: &Reservation) -> String {
    let mut s = c.what.clone();
    if let Some(n) = c.subnet {
        s.push_str(&format!(" {n}"));
    }
    if let Some(u) = c.uids {
        s.push_str(&format!(" uids {}+{}", u.first, u.count));
    }
    s
}

/// After a start: the reservations follow the monitor's life from now on; after a failed start
/// they are forgotten.
pub(super) fn started(held: &mut Held, state_dir: &Path, name: &str, ok: bool) -> Result<()> {
    if ok {
        let monitor = crate::launch::state::read(state_dir, name)
            .map(|s| s.monitor_pid)
            .unwrap_or(0);
        if monitor > 0 {
            held.registry.set_holder(state_dir, name, monitor);
        }
    } else {
        held.registry.release(state_dir, name);
    }
    Ok(held.save()?)
}

/// Forgets the reservations of `name` (stopped or destroyed).
pub fn release(state_dir: &Path, name: &str) -> Result<()> {
    if !registry::dir().join(registry::lock::FILE).exists() {
        return Ok(()); // nothing was ever reserved
    }
    let mut held = lock()?;
    if held.registry.release(state_dir, name) {
        held.save()?;
    }
    Ok(())
}

/// What a one-shot `run` holds: its tree's entry, forgotten on drop.
#[derive(Debug)]
pub struct RunReservation {
    state_dir: std::path::PathBuf,
    name: String,
}

impl RunReservation {
    /// The reservations of `name` in `state_dir`, released when this is dropped.
    pub(super) fn new(state_dir: &Path, name: &str) -> Self {
        RunReservation {
            state_dir: state_dir.into(),
            name: name.into(),
        }
    }
}

impl Drop for RunReservation {
    fn drop(&mut self) {
        if let Err(e) = release(&self.state_dir, &self.name) {
            tracing::warn!("{e}");
        }
    }
}

/// Gives a one-shot container of real root (`lxnest run`) a block of host ids from root's own
/// range that no stack, other run or user holds, and records it for as long as the returned
/// value lives. Anyone else (an unprivileged user, a launcher inside a container) keeps the
/// map it has: `None`.
pub fn for_run(
    plan: &mut crate::plan::model::LevelPlan,
    state_dir: &Path,
) -> Result<Option<RunReservation>> {
    let Some(m) = plan.idmap.clone() else {
        return Ok(None);
    };
    let root = nix::unistd::geteuid().is_root();
    // A launcher inside a container maps from its own namespace; a user on the single-id map has
    // nothing to share.
    if crate::launch::defaults::in_user_namespace() || (!root && m.uid.len() != 2) {
        return Ok(None);
    }
    let user = crate::host::ids_of_this_user();
    let mut held = lock()?;
    // Only ids matter here: root's range (or the user's subordinate ranges), other users' and the
    // registry's, not the whole host (a one-shot run should start fast).
    let mut host = ids_snapshot_of(&held.registry, root)?;
    if !root {
        host.subuids = user.subuids.clone();
        host.subgids = user.subgids.clone();
    }
    let stack = format!("run {}", plan.name);
    // Root maps its whole block; a user is root inside herself and maps ids 1.. from her range.
    let (count, want_uid, want_gid) = match (root, m.uid.get(1), m.gid.get(1)) {
        (true, _, _) => (m.host_uid.count, m.host_uid.first, m.host_gid.first),
        (false, Some(u), Some(g)) => (u.count, u.outside, g.outside),
        _ => return Ok(None),
    };
    // The block the plan has (what `lxnest plan` showed: a `dir:` tree may be owned by it) when
    // nobody holds it now, else the lowest free one.
    let take = |ranges: &[crate::plan::host::IdRange], want: u32, gids: bool| {
        let largest = ranges.iter().copied().max_by_key(|r| r.count)?;
        let mut a = crate::plan::idmap::IdAllocator::new(largest);
        a.avoid(&crate::plan::idmap::held_by_others(&host, &stack, gids));
        a.take_at(want, u64::from(count))
            .or_else(|| a.take(u64::from(count)))
    };
    let (Some(uid), Some(gid)) = (
        take(&host.subuids, want_uid, false),
        take(&host.subgids, want_gid, true),
    ) else {
        return Err(ApiError::Reserved {
            container: plan.name.clone(),
            claim: format!("block of {count} ids"),
            holder: "the containers running now (the subordinate range is full)".into(),
        });
    };
    plan.idmap = Some(match &user.user {
        Some(u) if !root => crate::plan::idmap::unprivileged(u, uid, gid, count + 1),
        _ => crate::plan::idmap::map(uid, gid, count, uid, gid),
    });
    let range = |first| crate::plan::host::IdRange { first, count };
    let claims = vec![Reservation {
        holder: String::new(),
        stack: Some(stack.clone()),
        what: crate::plan::host::ids_key(&plan.path),
        subnet: None,
        uids: Some(range(uid)),
        gids: Some(range(gid)),
    }];
    held.registry
        .record(Entry::held_by_me(&stack, &plan.name, state_dir, claims))?;
    held.save()?;
    Ok(Some(RunReservation {
        state_dir: state_dir.into(),
        name: plan.name.clone(),
    }))
}
