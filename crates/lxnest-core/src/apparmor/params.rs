//! What one AppArmor profile is made of: the renderer's input (`apparmor::render`), also the key
//! of the per-shape cache (`apparmor::shape`), below both.

use std::collections::BTreeSet;

/// What one profile is made of.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProfileParams {
    /// Profile name (see [`super::naming`]).
    pub name: String,
    /// Namespace the profile will be loaded into, for the header comment only: the loader, not
    /// the text, decides the namespace (a level-1 lxnest sees its namespace as the root).
    pub namespace: Option<String>,
    /// Named flags switched on; each must be one of [`super::known_flags`].
    pub flags: BTreeSet<String>,
    /// Extra rules from the spec, one AppArmor rule each (ending with `,`).
    pub extra_rules: Vec<String>,
    /// The policy namespace the container's children live in (level 1 only).
    pub child_namespace: Option<String>,
    /// Where the nested runtime puts its children's root filesystems, usually
    /// [`super::runtime_rootfs_dirs`] of the runtime the container hosts ([`super::default_rootfs_dirs`] for
    /// every known one). Empty: the container starts no children, and the rules that flags add
    /// for children's root filesystems are left out (the flags' other rules stay).
    pub rootfs_dirs: Vec<String>,
}

impl ProfileParams {
    /// Parameters for a profile with only the base rules.
    pub fn new(name: impl Into<String>) -> Self {
        ProfileParams {
            name: name.into(),
            ..Default::default()
        }
    }

    /// Adds flags (builder style, for the planner and tests).
    pub fn with_flags<I, S>(mut self, flags: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.flags.extend(flags.into_iter().map(Into::into));
        self
    }
}
