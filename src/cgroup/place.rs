//! Where a container's cgroup sits in one hierarchy: the value the tree creates and the cleanup
//! and delegation steps work on (below all three, so none imports another for it).

use super::layout::{Hierarchy, HierarchyKind};
use std::path::PathBuf;

/// The container's cgroup in one hierarchy.
#[derive(Debug, Clone)]
pub(crate) struct Place {
    /// Which hierarchy.
    pub hierarchy: Hierarchy,
    /// Directory the plan's path is relative to.
    pub base: PathBuf,
    /// The container's cgroup directory.
    pub dir: PathBuf,
    /// The init leaf, when one was created.
    pub leaf: Option<PathBuf>,
}

impl Place {
    pub(crate) fn is_v2(&self) -> bool {
        self.hierarchy.kind == HierarchyKind::Unified
    }
}
