//! User namespace id maps. Every container gets a block of ids in its parent's namespace: 65536
//! for itself plus 65536 for each user-namespaced container below it, so a nesting host can give
//! each child a full range from inside its own block and never reach an id outside it.

use crate::plan::host::{HostSnapshot, HostUser, IdRange};
use crate::plan::model::{IdMapLine, IdMapPlan};
use crate::spec::model::ContainerSpec;
use std::collections::BTreeMap;

pub use super::idblock::{block_size, RANGE};
use super::idblock::{block_size_bare, without_reservation};

/// How many ids lxnest reserves for root's containers when root has no /etc/subuid entry (as
/// LXD and Incus give root a billion): room for thousands of container trees.
pub const ROOT_COUNT: u32 = 1_000_000_000;

/// shadow's default SUB_UID_MAX and SUB_GID_MAX (login.defs): `useradd` hands out subordinate
/// ranges below it, so root's range starts above it and never eats into the users' pool.
pub const USERADD_MAX: u32 = 600_100_000;

/// The range root's /etc/subuid and /etc/subgid entry gets when it has none: above useradd's pool
/// and above every range any user holds, aligned to a 65536-id block. The same for uids and gids,
/// so a container's uid and gid blocks line up. `None` when no such range fits in 32 bits.
pub fn root_range(taken: &[IdRange]) -> Option<IdRange> {
    let end_of = |r: &IdRange| u64::from(r.first) + u64::from(r.count);
    let floor = taken
        .iter()
        .map(end_of)
        .fold(u64::from(USERADD_MAX) + 1, u64::max);
    let first = floor.div_ceil(u64::from(RANGE)) * u64::from(RANGE);
    // Keep uid 4294967295 ((uid_t)-1) out of every range.
    let first = u32::try_from(first).ok()?;
    (u64::from(first) + u64::from(ROOT_COUNT) < u64::from(u32::MAX)).then_some(IdRange {
        first,
        count: ROOT_COUNT,
    })
}

/// The ids the planner itself may hand out to level-1 containers, in its own namespace: the
/// planning user's subordinate range (the largest); for root without an entry, the one
/// [`root_range`] picks and lxnest's start writes to /etc/subuid and /etc/subgid.
pub fn available(host: &HostSnapshot) -> (Option<IdRange>, Option<IdRange>) {
    let others: Vec<IdRange> = host
        .reserved
        .iter()
        .filter(|r| r.stack.is_none())
        .flat_map(|r| r.uids.into_iter().chain(r.gids))
        .collect();
    let root = host.privileged.then(|| root_range(&others)).flatten();
    let pick = |ranges: &[IdRange]| ranges.iter().copied().max_by_key(|r| r.count).or(root);
    (pick(&host.subuids), pick(&host.subgids))
}

/// Host ranges held by others (other stacks' trees, other users' subordinate ranges), which no
/// level-1 block of this plan may overlap; `stack`'s own earlier claims are left out (taken again
/// by name, see [`IdAllocator::take_at`]).
pub fn held_by_others(host: &HostSnapshot, stack: &str, gids: bool) -> Vec<IdRange> {
    host.reserved
        .iter()
        .filter(|r| r.stack.as_deref() != Some(stack))
        .filter_map(|r| if gids { r.gids } else { r.uids })
        .collect()
}

/// Hands out blocks from one range, lowest first, around ranges already taken.
#[derive(Debug, Clone)]
pub struct IdAllocator {
    start: u64,
    end: u64,
    /// Taken ids, within the range or not, as disjoint `first -> end` (exclusive) intervals:
    /// finding the lowest free block is a lookup per taken run it skips, not a scan of every
    /// block handed out before (which made planning a fleet of 10,000 containers take minutes).
    taken: BTreeMap<u64, u64>,
}

impl IdAllocator {
    /// Allocate from `range`.
    pub fn new(range: IdRange) -> Self {
        IdAllocator {
            start: u64::from(range.first),
            end: u64::from(range.first) + u64::from(range.count),
            taken: BTreeMap::new(),
        }
    }

    /// Allocator for the children of a container whose block is `parent_count` ids: its own root
    /// range is 0..65535 inside, so children start at 65536.
    pub fn for_children(parent_count: u32) -> Self {
        IdAllocator {
            start: u64::from(RANGE),
            end: u64::from(parent_count),
            taken: BTreeMap::new(),
        }
    }

    /// Allocator for the declared children of a container with map `map`: after its own root
    /// range and before the range reserved for its runtime, so the two never overlap.
    pub fn for_children_of(map: &IdMapPlan) -> Self {
        let end = map.runtime.map_or(map.host_uid.count, |r| r.first);
        Self::for_children(end)
    }

    /// Marks ranges (held by someone else) that no block may overlap.
    pub fn avoid(&mut self, ranges: &[IdRange]) {
        for r in ranges {
            self.mark(u64::from(r.first), u64::from(r.count));
        }
    }

    /// Records `[first, first + count)` as taken, merged with the taken runs it touches.
    fn mark(&mut self, first: u64, count: u64) {
        if count == 0 {
            return;
        }
        let (mut a, mut b) = (first, first + count);
        let touching: Vec<(u64, u64)> = self
            .taken
            .range(..=b)
            .rev()
            .take_while(|(_, end)| **end >= a)
            .map(|(f, e)| (*f, *e))
            .collect();
        for (f, e) in touching {
            self.taken.remove(&f);
            a = a.min(f);
            b = b.max(e);
        }
        self.taken.insert(a, b);
    }

    /// The end of a taken run overlapping `[first, first + count)`, if any.
    fn overlap(&self, first: u64, count: u64) -> Option<u64> {
        let (_, end) = self.taken.range(..first + count).next_back()?;
        (*end > first).then_some(*end)
    }

    /// Where [`Self::take`] would put `count` ids, without taking them.
    pub fn peek(&self, count: u64) -> Option<u32> {
        let mut first = self.start;
        while first + count <= self.end {
            match self.overlap(first, count) {
                None => return u32::try_from(first).ok(),
                Some(past) => first = past.max(first + 1),
            }
        }
        None
    }

    /// Whether [`Self::take_at`] would succeed, without taking the ids.
    pub fn fits_at(&self, first: u32, count: u64) -> bool {
        let f = u64::from(first);
        f >= self.start && f + count <= self.end && self.overlap(f, count).is_none()
    }

    /// Take `count` ids, the lowest free block; `None` when they do not fit.
    pub fn take(&mut self, count: u64) -> Option<u32> {
        let first = self.peek(count)?;
        self.mark(u64::from(first), count);
        Some(first)
    }

    /// Take a block at a given start (a user's `idmap.uid`, or the stack's own earlier block);
    /// `None` when it is outside the range or overlaps a taken one.
    pub fn take_at(&mut self, first: u32, count: u64) -> Option<u32> {
        self.fits_at(first, count).then(|| {
            self.mark(u64::from(first), count);
            first
        })
    }

    /// Marks a block found by [`Self::peek`] or [`Self::fits_at`] as taken.
    pub fn commit(&mut self, first: u32, count: u64) {
        self.mark(u64::from(first), count);
    }
}

/// The map for a container whose block starts at `uid`/`gid` in the parent's namespace;
/// `host_uid`/`host_gid` are the same starts seen from the real host.
pub fn map(uid: u32, gid: u32, count: u32, host_uid: u32, host_gid: u32) -> IdMapPlan {
    IdMapPlan {
        uid: vec![IdMapLine {
            inside: 0,
            outside: uid,
            count,
        }],
        gid: vec![IdMapLine {
            inside: 0,
            outside: gid,
            count,
        }],
        host_uid: IdRange {
            first: host_uid,
            count,
        },
        host_gid: IdRange {
            first: host_gid,
            count,
        },
        runtime: None,
    }
}

/// The map of a top-level container started by an unprivileged user: the user is root inside
/// and inside ids `1..count` come from the user's subordinate ids starting at `sub_uid`/`sub_gid`
/// (as rootless Podman and Docker map). The container's root can then reach everything the user
/// can reach (the unpacked rootfs, paths below a 0700 home) and nothing of other users; other ids
/// inside land in the subordinate range. `host_uid.first + k` is the host id of inside id `k` for
/// every `k >= 1`, which is what nested children are placed by.
pub fn unprivileged(user: &HostUser, sub_uid: u32, sub_gid: u32, count: u32) -> IdMapPlan {
    let lines = |me: u32, sub: u32| {
        vec![
            IdMapLine {
                inside: 0,
                outside: me,
                count: 1,
            },
            IdMapLine {
                inside: 1,
                outside: sub,
                count: count - 1,
            },
        ]
    };
    IdMapPlan {
        uid: lines(user.uid, sub_uid),
        gid: lines(user.gid, sub_gid),
        host_uid: IdRange {
            first: sub_uid.saturating_sub(1),
            count,
        },
        host_gid: IdRange {
            first: sub_gid.saturating_sub(1),
            count,
        },
        runtime: None,
    }
}

/// The fallback without subordinate ids or without working map helpers: the user alone, as
/// root inside (`0 UID 1`).
pub fn single(user: &HostUser) -> IdMapPlan {
    let line = |id| {
        vec![IdMapLine {
            inside: 0,
            outside: id,
            count: 1,
        }]
    };
    IdMapPlan {
        uid: line(user.uid),
        gid: line(user.gid),
        host_uid: IdRange {
            first: user.uid,
            count: 1,
        },
        host_gid: IdRange {
            first: user.gid,
            count: 1,
        },
        runtime: None,
    }
}

/// Why an unprivileged user's container gets the single-id map, if it does.
pub fn single_reason(host: &HostSnapshot) -> Option<String> {
    single_reason_for(host.user.as_ref()?, &host.subuids, &host.subgids)
}

/// [`single_reason`] from the user and her subordinate ranges alone.
pub fn single_reason_for(
    user: &HostUser,
    subuids: &[IdRange],
    subgids: &[IdRange],
) -> Option<String> {
    if let Some(p) = &user.map_helpers_problem {
        return Some(p.clone());
    }
    let who = user.name.clone().unwrap_or_else(|| user.uid.to_string());
    match (subuids.is_empty(), subgids.is_empty()) {
        (false, false) => None,
        (true, _) => Some(format!("{who} has no subordinate uids in /etc/subuid (as root: usermod --add-subuids 100000-165535 {who})")),
        (false, true) => Some(format!("{who} has no subordinate gids in /etc/subgid (as root: usermod --add-subgids 100000-165535 {who})")),
    }
}

/// The map of `c`, a top-level container of the unprivileged `user`, taking its subordinate ids
/// from `ids`; with a warning when it is the single-id map, or the finding's message and fix.
pub fn for_user(
    c: &ContainerSpec,
    host: &HostSnapshot,
    user: &HostUser,
    ids: (&mut Option<IdAllocator>, &mut Option<IdAllocator>),
) -> Result<(IdMapPlan, Option<String>), (String, &'static str)> {
    if c.idmap.as_ref().is_some_and(|m| m.privileged) {
        return Err((
            "a privileged container (no user namespace) needs root".into(),
            "remove `idmap: {privileged: true}`, or start it as root",
        ));
    }
    let size = block_size(c);
    let bare = block_size_bare(c);
    if let Some(why) = single_reason(host) {
        if bare > u64::from(RANGE) {
            return Err((
                format!("its nested containers need {bare} ids, but only your own id can be mapped: {why}"),
                "give the user subordinate ids in /etc/subuid and /etc/subgid and install the setuid newuidmap/newgidmap (Debian: uidmap)",
            ));
        }
        let warning = format!("single-id map ({why}): {SINGLE_LOSES}");
        return Ok((single(user), Some(warning)));
    }
    let wish = u64::from(c.idmap.as_ref().and_then(|m| m.count).unwrap_or(0));
    // Inside id 0 is the user; ids 1.. come from the subordinate ranges. Both allocators move
    // only when both have room.
    let mut take = |count: u64| {
        let (mut u, mut g) = (ids.0.clone(), ids.1.clone());
        let got = (
            u.as_mut().and_then(|a| a.take(count - 1)),
            g.as_mut().and_then(|a| a.take(count - 1)),
            u32::try_from(count),
        );
        match got {
            (Some(uid), Some(gid), Ok(count)) => {
                (*ids.0, *ids.1) = (u, g);
                Some(unprivileged(user, uid, gid, count))
            }
            _ => None,
        }
    };
    if let Some(map) = take(wish.max(size)) {
        return Ok((map, None));
    }
    // A user's subordinate range is often 65536 ids: then the nesting host runs without the
    // range reserved for its runtime's own containers rather than not at all.
    if size > bare {
        if let Some(map) = take(wish.max(bare)) {
            let warning = without_reservation(size - bare);
            return Ok((map, Some(warning)));
        }
    }
    Err((
        format!(
            "no room for {} ids in your subordinate ids",
            wish.max(size) - 1
        ),
        "add subordinate ids (usermod --add-subuids/--add-subgids), or nest fewer containers",
    ))
}

/// What a container on the single-id map cannot do, for the plan's warning.
pub const SINGLE_LOSES: &str = "root inside is you and no other id exists: files the rootfs gives to other users become yours, and chown or setuid to any other id fails inside";

/// The text of one `/proc/PID/{uid,gid}_map` file (`inside outside count` per line).
pub fn map_text(lines: &[IdMapLine]) -> String {
    lines
        .iter()
        .map(|l| format!("{} {} {}\n", l.inside, l.outside, l.count))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(name: &str, children: Vec<ContainerSpec>) -> ContainerSpec {
        ContainerSpec {
            name: name.into(),
            children,
            ..Default::default()
        }
    }

    #[test]
    fn block_covers_the_whole_subtree() {
        let tree = spec(
            "a",
            vec![spec("b", vec![spec("c", vec![])]), spec("d", vec![])],
        );
        assert_eq!(block_size(&tree), 4 * u64::from(RANGE));
    }

    #[test]
    fn children_are_allocated_inside_the_parent_after_its_own_range() {
        let mut kids = IdAllocator::for_children(3 * RANGE);
        assert_eq!(kids.take(u64::from(RANGE)), Some(RANGE));
        assert_eq!(kids.take(u64::from(RANGE)), Some(2 * RANGE));
        assert_eq!(kids.take(1), None, "no id beyond the parent's block");
    }

    #[test]
    fn root_without_subuid_gets_a_range_above_every_user_and_useradd() {
        let mut host = HostSnapshot::laptop();
        host.subuids.clear();
        let above = IdRange {
            first: USERADD_MAX,
            count: 10 * RANGE,
        };
        assert_eq!(
            available(&host).0,
            Some(IdRange {
                first: 9157 * RANGE,
                count: ROOT_COUNT
            }),
            "first 65536-aligned id above 600100000"
        );
        host.reserved.push(crate::plan::host::Reservation {
            holder: "user bob (/etc/subuid)".into(),
            stack: None,
            what: "subuid".into(),
            subnet: None,
            uids: Some(above),
            gids: None,
        });
        let r = available(&host).0.expect("range");
        assert!(u64::from(r.first) >= u64::from(above.first) + u64::from(above.count));
        assert_eq!(r.first % RANGE, 0);
        host.privileged = false;
        assert_eq!(available(&host).0, None);
        assert_eq!(
            root_range(&[IdRange {
                first: 3_500_000_000,
                count: 1
            }]),
            None,
            "no room left below 2^32"
        );
    }

    #[test]
    fn blocks_go_around_ranges_held_by_others() {
        let mut a = IdAllocator::new(IdRange {
            first: 0,
            count: 10 * RANGE,
        });
        a.avoid(&[
            IdRange {
                first: 1000,
                count: 10,
            },
            IdRange {
                first: 3 * RANGE,
                count: RANGE,
            },
        ]);
        assert_eq!(a.take(u64::from(RANGE)), Some(1010));
        assert_eq!(a.take(u64::from(RANGE)), Some(1010 + RANGE));
        assert_eq!(
            a.take(u64::from(RANGE)),
            Some(4 * RANGE),
            "skips the held block"
        );
        assert_eq!(a.take_at(3 * RANGE, 1), None, "held by someone else");
        assert_eq!(a.take_at(8 * RANGE, u64::from(RANGE)), Some(8 * RANGE));
        assert_eq!(
            a.take(u64::from(3 * RANGE)),
            Some(5 * RANGE),
            "the gap between"
        );
        assert_eq!(
            a.take(u64::from(2 * RANGE)),
            None,
            "no gap that large is left"
        );
    }

    #[test]
    fn explicit_starts_must_not_overlap() {
        let mut a = IdAllocator::new(IdRange {
            first: 100_000,
            count: 1_000_000,
        });
        assert_eq!(a.take(65_536), Some(100_000));
        assert_eq!(a.take_at(120_000, 10), None, "overlaps the first block");
        assert_eq!(a.take_at(300_000, 65_536), Some(300_000));
    }

    #[test]
    fn an_unprivileged_user_is_root_and_the_rest_comes_from_subordinate_ids() {
        let host = HostSnapshot::laptop_as_user();
        let user = host.user.clone().expect("user");
        let m = unprivileged(&user, 100_000, 200_000, RANGE);
        assert_eq!(map_text(&m.uid), "0 1000 1\n1 100000 65535\n");
        assert_eq!(map_text(&m.gid), "0 1000 1\n1 200000 65535\n");
        // inside id k >= 1 is host id first + k
        assert_eq!(m.host_uid.first + 1, 100_000);
        assert_eq!(m.host_gid.first + 65_535, 265_534);
        assert_eq!(single_reason(&host), None);
        let s = single(&user);
        assert_eq!(map_text(&s.uid), "0 1000 1\n");
    }

    #[test]
    fn the_single_id_fallback_says_why() {
        let mut host = HostSnapshot::laptop_as_user();
        host.subgids.clear();
        assert!(single_reason(&host).is_some_and(|r| r.contains("/etc/subgid")));
        let mut host = HostSnapshot::laptop_as_user();
        if let Some(u) = host.user.as_mut() {
            u.map_helpers_problem = Some("newuidmap is not installed".into());
        }
        assert_eq!(
            single_reason(&host).as_deref(),
            Some("newuidmap is not installed")
        );
        assert_eq!(
            single_reason(&HostSnapshot::laptop()),
            None,
            "root never falls back"
        );
    }

    #[test]
    fn a_user_with_one_range_gets_a_nesting_host_without_the_runtime_reservation() {
        let host = HostSnapshot::laptop_as_user();
        let user = host.user.clone().expect("user");
        let lxc = ContainerSpec {
            name: "h".into(),
            runtime: Some(crate::spec::model::Runtime::Lxc),
            ..Default::default()
        };
        let (mut u, mut g) = available(&host);
        let (mut u, mut g) = (
            u.take().map(IdAllocator::new),
            g.take().map(IdAllocator::new),
        );
        let (m, warning) = for_user(&lxc, &host, &user, (&mut u, &mut g)).expect("plans");
        assert_eq!(m.host_uid.count, RANGE);
        assert!(warning.is_some_and(|w| w.contains("no room for the 131072 ids reserved")));
        assert_eq!(
            crate::plan::idreserve::runtime_range(&lxc, m.host_uid.count),
            None
        );
    }
}
