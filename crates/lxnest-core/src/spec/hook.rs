//! LXC's hook types, the one list of them, and a container's hooks by type. The spec, the LXC
//! import, the planner and the runner ([`crate::hooks`]) all use [`HookKind`].

use crate::spec::merge::Merge;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt;

/// An LXC hook type that lxnest runs. The order is a container's life (and the order of
/// [`HookKind::ALL`], of a plan's hooks and of generated configs).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum HookKind {
    /// On the host, before anything is set up.
    PreStart,
    /// In the container's mount namespace, before the rootfs is mounted.
    PreMount,
    /// In the container's mount namespace, after mounts, before pivot_root.
    Mount,
    /// Like mount, after /dev is populated.
    Autodev,
    /// Inside the container, just before the init command.
    Start,
    /// On the host, when the container is being stopped.
    Stop,
    /// On the host, after the container is gone and cleaned up.
    PostStop,
}

impl HookKind {
    /// Every type, in the order of a container's life.
    pub const ALL: [HookKind; 7] = [
        HookKind::PreStart,
        HookKind::PreMount,
        HookKind::Mount,
        HookKind::Autodev,
        HookKind::Start,
        HookKind::Stop,
        HookKind::PostStop,
    ];

    /// The name LXC uses (`pre-start`), in `lxc.hook.pre-start` and `LXC_HOOK_TYPE`.
    pub fn as_str(self) -> &'static str {
        match self {
            HookKind::PreStart => "pre-start",
            HookKind::PreMount => "pre-mount",
            HookKind::Mount => "mount",
            HookKind::Autodev => "autodev",
            HookKind::Start => "start",
            HookKind::Stop => "stop",
            HookKind::PostStop => "post-stop",
        }
    }

    /// The type LXC calls `name`.
    pub fn from_name(name: &str) -> Option<HookKind> {
        HookKind::ALL.into_iter().find(|k| k.as_str() == name)
    }
}

impl fmt::Display for HookKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Hooks by type, each entry a command line run through `/bin/sh -c`. Written in a spec as
/// `hooks: { pre-start: [...], start: [...] }`; an unknown type is an error naming the known ones.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Hooks(pub BTreeMap<HookKind, Vec<String>>);

impl Hooks {
    /// The commands of `kind` (empty when there are none).
    pub fn get(&self, kind: HookKind) -> &[String] {
        self.0.get(&kind).map_or(&[], Vec::as_slice)
    }

    /// The list of `kind`, to add commands to.
    pub fn slot(&mut self, kind: HookKind) -> &mut Vec<String> {
        self.0.entry(kind).or_default()
    }

    /// Types that have commands, in life order.
    pub fn iter(&self) -> impl Iterator<Item = (HookKind, &[String])> {
        self.0
            .iter()
            .filter(|(_, v)| !v.is_empty())
            .map(|(k, v)| (*k, v.as_slice()))
    }

    /// Whether no type has a command.
    pub fn is_empty(&self) -> bool {
        self.iter().next().is_none()
    }
}

impl Merge for Hooks {
    /// `over`'s commands run after this one's.
    fn merge(&mut self, over: Self) {
        for (kind, list) in over.0 {
            self.slot(kind).extend(list);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_unknown_types_list_the_known_ones() {
        for k in HookKind::ALL {
            assert_eq!(HookKind::from_name(k.as_str()), Some(k));
            let yaml = serde_yaml_ng::to_string(&k).unwrap();
            assert_eq!(yaml.trim(), k.as_str(), "serde and as_str agree");
        }
        let mut sorted = HookKind::ALL;
        sorted.sort();
        assert_eq!(sorted, HookKind::ALL, "Ord is life order");
        let e = serde_yaml_ng::from_str::<Hooks>("pre-strat: [x]").unwrap_err();
        assert!(
            e.to_string().contains("pre-strat") && e.to_string().contains("post-stop"),
            "{e}"
        );
    }

    #[test]
    fn merge_appends_per_type() {
        let mut a: Hooks = serde_yaml_ng::from_str("start: [a]\nstop: [s]").unwrap();
        a.merge(serde_yaml_ng::from_str("start: [b]\nmount: [m]").unwrap());
        assert_eq!(a.get(HookKind::Start), ["a", "b"]);
        assert_eq!(a.get(HookKind::Mount), ["m"]);
        assert_eq!(a.get(HookKind::Stop), ["s"]);
        assert!(a.get(HookKind::Autodev).is_empty());
    }
}
