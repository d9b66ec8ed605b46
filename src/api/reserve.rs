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

/// Records what `d`'s tree holds before it starts; refuses when a claim is someone else's now (a
/// definition started again after another stack took its subnet or ids).
pub(super) fn record(held: &mut Held, d: &Defined, name: &str, state_dir: &Path) -> Result<()> {
    let claims = crate::plan::claims::of_tree(&d.plan, &d.path);
    // Its own earlier entry (a definition started again) is no conflict.
    let mut others = held.registry.clone();
    others.release(state_dir, name);
    if let Some((claim, holder)) = others.conflicts(&d.plan.stack, &claims).into_iter().next() {
        return Err(ApiError::Reserved {
            container: name.into(),
            claim: describe(&claim),
            holder,
        });
    }
    held.registry
        .record(Entry::held_by_me(&d.plan.stack, name, state_dir, claims))?;
    Ok(held.save()?)
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
    let Some((count, want_uid, want_gid)) = plan
        .idmap
        .as_ref()
        .map(|m| (m.host_uid.count, m.host_uid.first, m.host_gid.first))
    else {
        return Ok(None);
    };
    if !nix::unistd::geteuid().is_root() || crate::launch::defaults::in_user_namespace() {
        return Ok(None);
    }
    let mut held = lock()?;
    let host = snapshot(&held)?;
    let stack = format!("run {}", plan.name);
    // The block the plan has (what `lxnest plan` showed: a `dir:` tree may be owned by it) when
    // nobody holds it now, else the lowest free one.
    let take = |ranges: &[crate::plan::host::IdRange], want: u32, gids: bool| {
        let mut a = crate::plan::idmap::IdAllocator::new(ranges.first().copied()?);
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
            holder: "the containers running now (root's /etc/subuid range is full)".into(),
        });
    };
    plan.idmap = Some(crate::plan::idmap::map(uid, gid, count, uid, gid));
    let claims = vec![Reservation {
        holder: String::new(),
        stack: Some(stack.clone()),
        what: crate::plan::host::ids_key(&plan.path),
        subnet: None,
        uids: plan.idmap.as_ref().map(|m| m.host_uid),
        gids: plan.idmap.as_ref().map(|m| m.host_gid),
    }];
    held.registry
        .record(Entry::held_by_me(&stack, &plan.name, state_dir, claims))?;
    held.save()?;
    Ok(Some(RunReservation {
        state_dir: state_dir.into(),
        name: plan.name.clone(),
    }))
}
