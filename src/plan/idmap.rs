//! User namespace id maps. Every container gets a block of ids in its parent's namespace: 65536
//! for itself plus 65536 for each user-namespaced container below it, so a nesting host can give
//! each child a full range from inside its own block and never reach an id outside it.

use crate::plan::host::{HostSnapshot, IdRange};
use crate::plan::model::{IdMapLine, IdMapPlan};
use crate::spec::model::ContainerSpec;

/// Ids a single container's own root range covers (uid 0..65535 inside).
pub const RANGE: u32 = 65_536;

/// Ids used when root plans on a host whose /etc/subuid has no entry for root (LXC and Incus take
/// the same liberty: root may map any ids).
const ROOT_DEFAULT: IdRange = IdRange {
    first: 100_000,
    count: 1_000_000_000,
};

/// The ids the planner itself may hand out to level-1 containers, in its own namespace.
pub fn available(host: &HostSnapshot) -> (Option<IdRange>, Option<IdRange>) {
    let pick = |ranges: &[IdRange]| {
        ranges
            .iter()
            .copied()
            .max_by_key(|r| r.count)
            .or(host.privileged.then_some(ROOT_DEFAULT))
    };
    (pick(&host.subuids), pick(&host.subgids))
}

/// How many ids a container's block needs: its own range plus one per mapped descendant.
pub fn block_size(c: &ContainerSpec) -> u64 {
    let own = if c.idmap.as_ref().is_some_and(|m| m.privileged) {
        0
    } else {
        u64::from(RANGE)
    };
    own + c.children.iter().map(block_size).sum::<u64>()
}

/// Hands out consecutive blocks from one range.
#[derive(Debug, Clone)]
pub struct IdAllocator {
    next: u64,
    end: u64,
}

impl IdAllocator {
    /// Allocate from `range`.
    pub fn new(range: IdRange) -> Self {
        IdAllocator {
            next: u64::from(range.first),
            end: u64::from(range.first) + u64::from(range.count),
        }
    }

    /// Allocator for the children of a container whose block is `parent_count` ids: its own root
    /// range is 0..65535 inside, so children start at 65536.
    pub fn for_children(parent_count: u32) -> Self {
        IdAllocator {
            next: u64::from(RANGE),
            end: u64::from(parent_count),
        }
    }

    /// Take `count` ids; `None` when they do not fit.
    pub fn take(&mut self, count: u64) -> Option<u32> {
        let first = self.next;
        (first + count <= self.end).then(|| {
            self.next += count;
            first as u32
        })
    }

    /// Take a block at a user-chosen start; `None` when it is outside the range or already used.
    pub fn take_at(&mut self, first: u32, count: u64) -> Option<u32> {
        let f = u64::from(first);
        (f >= self.next && f + count <= self.end).then(|| {
            self.next = f + count;
            first
        })
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
    }
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
    fn root_without_subuid_gets_the_default_range() {
        let mut host = HostSnapshot::laptop();
        host.subuids.clear();
        assert_eq!(available(&host).0, Some(ROOT_DEFAULT));
        host.privileged = false;
        assert_eq!(available(&host).0, None);
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
}
