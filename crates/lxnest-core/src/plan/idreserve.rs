//! Ids a nesting host keeps for containers that its own runtime (LXC, LXD, Podman) or an
//! ad-hoc `lxnest run` makes inside it: a range at the end of its block, after its declared
//! children's blocks, given to root in the container's /etc/subuid and /etc/subgid. And, when a
//! map write fails because our own namespace does not map the planned ids, why and what to do.

use crate::plan::host::IdRange;
use crate::plan::idmap::IdAllocator;

use super::idblock::block_size;
pub use super::idblock::{
    block_size_bare, runtime_ids, runtime_range, without_reservation, ADHOC_IDS, RUNTIME_IDS,
};
use crate::plan::model::{IdMapLine, IdMapPlan};
use crate::spec::model::ContainerSpec;

/// `/etc/subuid` (and `/etc/subgid`) of a nesting host: root may map its reserved range, which
/// is what LXC's, LXD's and Podman's unprivileged containers and `lxnest run` inside read.
pub fn subid_file(map: &IdMapPlan) -> Option<String> {
    map.runtime
        .map(|r| format!("root:{}:{}\n", r.first, r.count))
}

/// Parses a `/proc/PID/uid_map` text into lines; malformed lines are skipped.
fn parse_map(text: &str) -> Vec<IdMapLine> {
    text.lines()
        .filter_map(|l| {
            let mut w = l.split_whitespace().map(|n| n.parse::<u32>().ok());
            Some(IdMapLine {
                inside: w.next()??,
                outside: w.next()??,
                count: w.next()??,
            })
        })
        .collect()
}

/// Why `map` cannot be written from a user namespace whose own maps are `uid_map`/`gid_map`
/// (the texts of /proc/self/uid_map and gid_map): the first planned range that our namespace
/// does not map, with the fix. `None` when every planned id is mapped here.
pub fn unmapped(map: &IdMapPlan, uid_map: &str, gid_map: &str) -> Option<String> {
    // gid_map first: it is the one written first.
    for (kind, lines, own) in [("gid", &map.gid, gid_map), ("uid", &map.uid, uid_map)] {
        let own = parse_map(own);
        let covered = |first: u32, count: u32| {
            own.iter().any(|o| {
                let (a, b) = (
                    u64::from(o.inside),
                    u64::from(o.inside) + u64::from(o.count),
                );
                u64::from(first) >= a && u64::from(first) + u64::from(count) <= b
            })
        };
        if let Some(l) = lines.iter().find(|l| !covered(l.outside, l.count)) {
            let last = u64::from(l.outside) + u64::from(l.count) - 1;
            let mapped = own
                .iter()
                .map(|o| {
                    format!(
                        "{}-{}",
                        o.inside,
                        u64::from(o.inside) + u64::from(o.count) - 1
                    )
                })
                .collect::<Vec<_>>()
                .join(", ");
            return Some(format!(
                "{kind}s {}-{last} are not mapped in this user namespace (it maps {kind}s {mapped}), so the kernel refuses the map; \
                 fix: start this nesting host from a spec with `runtime: lxnest` (or lxc, lxd, podman), which reserves ids for containers started inside \
                 and writes them to root's /etc/sub{}id, or put a `root:FIRST:COUNT` line inside the mapped range into /etc/subuid and /etc/subgid",
                l.outside,
                &kind[..1]
            ));
        }
    }
    None
}

/// A block for `c` from its parent's allocators (both move only when both have room): the
/// full [`block_size`], or, when only that does not fit, the block without the runtime
/// reservations and a warning saying what that costs. `earlier`: the uid and gid blocks this
/// container held before (a level-1 tree started again), tried first when large enough.
/// `Err(count)` when nothing fits.
pub fn allocate(
    c: &ContainerSpec,
    ids: (&mut Option<IdAllocator>, &mut Option<IdAllocator>),
    earlier: (Option<IdRange>, Option<IdRange>),
) -> Result<(u32, u32, u32, Option<String>), u64> {
    let wish = c.idmap.clone().unwrap_or_default();
    // Both allocators move only when both have room: find both blocks first, then take them
    // (no copy of an allocator, which grows with every block handed out).
    let mut take = |count: u64| {
        let one = |a: &Option<IdAllocator>, at: Option<u32>, before: Option<IdRange>| {
            let a = a.as_ref()?;
            let before = before.filter(|r| u64::from(r.count) >= count);
            match (at, before) {
                (Some(first), _) => a.fits_at(first, count).then_some(first),
                (None, Some(r)) if a.fits_at(r.first, count) => Some(r.first),
                _ => a.peek(count),
            }
        };
        let got = (
            one(ids.0, wish.uid, earlier.0),
            one(ids.1, wish.gid, earlier.1),
            u32::try_from(count),
        );
        let (Some(uid), Some(gid), Ok(n)) = got else {
            return None;
        };
        if let Some(a) = ids.0.as_mut() {
            a.commit(uid, count);
        }
        if let Some(a) = ids.1.as_mut() {
            a.commit(gid, count);
        }
        Some((uid, gid, n))
    };
    let want = |size: u64| u64::from(wish.count.unwrap_or(0)).max(size);
    let (size, bare) = (block_size(c), block_size_bare(c));
    if let Some((uid, gid, n)) = take(want(size)) {
        return Ok((uid, gid, n, None));
    }
    if size > bare {
        if let Some((uid, gid, n)) = take(want(bare)) {
            return Ok((uid, gid, n, Some(without_reservation(size - bare))));
        }
    }
    Err(want(size))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::idmap::{map, RANGE};

    fn spec(name: &str, children: Vec<ContainerSpec>) -> ContainerSpec {
        ContainerSpec {
            name: name.into(),
            children,
            ..Default::default()
        }
    }

    #[test]
    fn a_nesting_host_reserves_a_runtime_range_after_its_childrens_blocks() {
        let lxc = ContainerSpec {
            name: "h".into(),
            runtime: Some(crate::spec::model::Runtime::Lxc),
            children: vec![spec("k", vec![])],
            ..Default::default()
        };
        let size = block_size(&lxc);
        assert_eq!(size, u64::from(2 * RANGE + RUNTIME_IDS));
        let count = u32::try_from(size).expect("fits");
        let r = runtime_range(&lxc, count).expect("reserved");
        assert_eq!((r.first, r.count), (2 * RANGE, RUNTIME_IDS));
        let mut m = map(100_000, 100_000, count, 100_000, 100_000);
        m.runtime = Some(r);
        let mut kids = IdAllocator::for_children_of(&m);
        assert_eq!(kids.take(u64::from(RANGE)), Some(RANGE));
        assert_eq!(
            kids.take(1),
            None,
            "the runtime's range is not the children's"
        );
        assert_eq!(subid_file(&m).as_deref(), Some("root:131072:131072\n"));
    }

    #[test]
    fn an_lxnest_host_without_children_gets_room_for_adhoc_ones() {
        let adhoc = ContainerSpec {
            name: "h".into(),
            runtime: Some(crate::spec::model::Runtime::Lxnest),
            ..Default::default()
        };
        assert_eq!(runtime_ids(&adhoc), ADHOC_IDS);
        assert_eq!(block_size(&adhoc), u64::from(RANGE + ADHOC_IDS));
        let with_kids = ContainerSpec {
            children: vec![spec("k", vec![])],
            ..adhoc.clone()
        };
        assert_eq!(runtime_ids(&with_kids), 0, "declared children are planned");
        assert_eq!(runtime_ids(&spec("plain", vec![])), 0);
    }

    #[test]
    fn an_unmapped_range_is_explained_with_the_fix() {
        let m = map(65_536, 65_536, 65_536, 65_536, 65_536);
        let own = "         0     100000      65536\n";
        let why = unmapped(&m, own, own).expect("not mapped");
        assert!(why.starts_with("gids 65536-131071 are not mapped"), "{why}");
        assert!(why.contains("it maps gids 0-65535") && why.contains("runtime: lxnest"));
        let big = "0 100000 1000000\n";
        assert_eq!(unmapped(&m, big, big), None);
    }

    #[test]
    fn a_small_range_plans_the_host_without_the_reservation_and_says_so() {
        let lxc = ContainerSpec {
            name: "h".into(),
            runtime: Some(crate::spec::model::Runtime::Lxc),
            ..Default::default()
        };
        let range = |count| {
            Some(IdAllocator::new(IdRange {
                first: 100_000,
                count,
            }))
        };
        let (mut u, mut g) = (range(65_536), range(65_536));
        let (uid, _, n, warning) =
            allocate(&lxc, (&mut u, &mut g), (None, None)).expect("fits bare");
        assert_eq!((uid, n), (100_000, RANGE));
        assert!(warning.is_some_and(|w| w.contains("privileged containers only")));
        let (mut u, mut g) = (range(1_000_000), range(1_000_000));
        let (_, _, n, warning) = allocate(&lxc, (&mut u, &mut g), (None, None)).expect("fits");
        assert_eq!((n, warning), (RANGE + RUNTIME_IDS, None));
        let (mut u, mut g) = (range(1_000), range(1_000));
        assert_eq!(
            allocate(&lxc, (&mut u, &mut g), (None, None)),
            Err(u64::from(RANGE + RUNTIME_IDS))
        );
    }
}
