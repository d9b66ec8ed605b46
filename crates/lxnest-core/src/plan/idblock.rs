//! How many ids a container's block takes: its own range, the range it keeps for containers its
//! runtime makes inside it, and its mapped descendants' blocks. Below the id maps
//! ([`super::idmap`]) and the reservations ([`super::idreserve`]), which both size blocks.

use crate::plan::host::IdRange;
use crate::spec::model::{ContainerSpec, Runtime};

/// Ids a single container's own root range covers (uid 0..65535 inside).
pub const RANGE: u32 = 65_536;

/// Ids reserved inside a nesting host for the containers its own runtime makes (LXC's, LXD's
/// and Podman's unprivileged containers share one 65536-id map by default; the second range
/// leaves room for one isolated map).
pub const RUNTIME_IDS: u32 = 2 * RANGE;

/// Ids reserved inside a `runtime: lxnest` host without declared children, for containers
/// started inside with `lxnest run` (each takes [`RANGE`]).
pub const ADHOC_IDS: u32 = 4 * RANGE;

/// How many ids a container reserves, inside its own block, for containers that something
/// other than this plan starts inside it: its runtime's own containers, or ad-hoc lxnest
/// children. 0 for a privileged container (it has no block of its own).
pub fn runtime_ids(c: &ContainerSpec) -> u32 {
    if c.idmap.as_ref().is_some_and(|m| m.privileged) {
        return 0;
    }
    match c.runtime {
        Some(Runtime::Lxc | Runtime::Lxd | Runtime::Podman) => RUNTIME_IDS,
        Some(Runtime::Lxnest) if c.children.is_empty() => ADHOC_IDS,
        _ => 0,
    }
}

/// [`block_size`] without any range reserved for a runtime, in the whole subtree.
pub fn block_size_bare(c: &ContainerSpec) -> u64 {
    let own = if c.idmap.as_ref().is_some_and(|m| m.privileged) {
        0
    } else {
        u64::from(RANGE)
    };
    own + c.children.iter().map(block_size_bare).sum::<u64>()
}

/// The reserved runtime range at the end of a block of `count` ids (inside ids), if any: only
/// when the block has room for everything [`block_size`] counts.
pub fn runtime_range(c: &ContainerSpec, count: u32) -> Option<IdRange> {
    let n = runtime_ids(c);
    (n > 0 && u64::from(count) >= block_size(c)).then(|| IdRange {
        first: count - n,
        count: n,
    })
}

/// How many ids a container's block needs: its own range, the range reserved for its runtime
/// ([`runtime_ids`]) and the blocks of its mapped descendants.
pub fn block_size(c: &ContainerSpec) -> u64 {
    let own = if c.idmap.as_ref().is_some_and(|m| m.privileged) {
        0
    } else {
        u64::from(RANGE) + u64::from(runtime_ids(c))
    };
    own + c.children.iter().map(block_size).sum::<u64>()
}

/// The warning for a nesting host planned without the ids its runtime's containers need.
pub fn without_reservation(missing: u64) -> String {
    format!(
        "no room for the {missing} ids reserved for containers its runtime makes itself: LXC, LXD or Podman inside can run privileged containers only and `lxnest run` inside has no ids; add subordinate ids (usermod --add-subuids/--add-subgids) to get them"
    )
}
