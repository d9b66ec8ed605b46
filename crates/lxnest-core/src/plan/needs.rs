//! What a container needs because of what it runs: its runtime's preset, `systemd` when it boots
//! systemd, and lxnest's own preset when the spec lists children (lxnest starts them inside).

use crate::spec::model::{ContainerSpec, Runtime};
use crate::spec::runtime::{self, RuntimeNeeds};
use std::cell::RefCell;
use std::collections::{BTreeSet, HashMap};

/// The union of the presets that apply to one container (or a subtree).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Needs {
    /// Preset names that contributed (`lxc`, `systemd`).
    pub sources: BTreeSet<String>,
    /// Syscalls that must be allowed.
    pub syscalls: BTreeSet<String>,
    /// Capabilities to keep.
    pub capabilities: BTreeSet<String>,
    /// Device nodes.
    pub devices: BTreeSet<String>,
    /// AppArmor flags.
    pub apparmor: BTreeSet<String>,
    /// Filesystem types mounted.
    pub mounts: BTreeSet<String>,
    /// Clean proc/sysfs copies wanted.
    pub proc_sysfs_copies: bool,
    /// cgroup delegation wanted.
    pub delegate: bool,
    /// Controllers to enable.
    pub controllers: BTreeSet<String>,
    /// Loads seccomp filters of its own.
    pub stacks_seccomp: bool,
    /// Largest encapsulation overhead.
    pub overhead: u32,
}

impl Needs {
    fn add(&mut self, r: &RuntimeNeeds) {
        self.sources.insert(r.name.clone());
        self.syscalls.extend(r.syscalls.iter().cloned());
        self.capabilities.extend(r.capabilities.iter().cloned());
        self.devices.extend(r.devices.iter().cloned());
        self.apparmor.extend(r.apparmor.iter().cloned());
        self.mounts.extend(r.mounts.iter().cloned());
        self.proc_sysfs_copies |= r.proc_sysfs_copies;
        self.delegate |= r.cgroup.delegate;
        self.controllers
            .extend(r.cgroup.controllers.iter().cloned());
        self.stacks_seccomp |= r.stacks_seccomp;
        self.overhead = self.overhead.max(r.encapsulation_overhead);
    }

    fn merge(&mut self, o: &Needs) {
        self.sources.extend(o.sources.iter().cloned());
        self.syscalls.extend(o.syscalls.iter().cloned());
        self.capabilities.extend(o.capabilities.iter().cloned());
        self.devices.extend(o.devices.iter().cloned());
        self.apparmor.extend(o.apparmor.iter().cloned());
        self.mounts.extend(o.mounts.iter().cloned());
        self.proc_sysfs_copies |= o.proc_sysfs_copies;
        self.delegate |= o.delegate;
        self.controllers.extend(o.controllers.iter().cloned());
        self.stacks_seccomp |= o.stacks_seccomp;
        self.overhead = self.overhead.max(o.overhead);
    }

    /// The presets, as findings name them: `lxc and lxnest`.
    pub fn runs(&self) -> String {
        self.sources
            .iter()
            .cloned()
            .collect::<Vec<_>>()
            .join(" and ")
    }

    /// Whether the container hosts anything or boots something that manages namespaces.
    pub fn is_empty(&self) -> bool {
        self.sources.is_empty()
    }
}

/// Preset names that apply to this container itself.
pub fn preset_names(c: &ContainerSpec) -> Vec<String> {
    let mut names: Vec<String> = c.runtime.iter().map(|r| r.to_string()).collect();
    if !c.children.is_empty() && c.runtime != Some(Runtime::Lxnest) {
        names.push(Runtime::Lxnest.to_string());
    }
    if let Some(init) = c.init {
        names.push(init.to_string());
    }
    names
}

/// Needs of the container itself.
pub fn own(c: &ContainerSpec) -> Needs {
    let names = preset_names(c);
    if names.is_empty() {
        return Needs::default();
    }
    // The union depends on the names alone; a fleet asks for the same few unions again and again.
    thread_local! {
        static UNIONS: RefCell<HashMap<Vec<String>, Needs>> = RefCell::new(HashMap::new());
    }
    UNIONS.with(|u| {
        u.borrow_mut()
            .entry(names)
            .or_insert_with_key(|names| union(names))
            .clone()
    })
}

/// The union of the presets called `names`.
fn union(names: &[String]) -> Needs {
    let mut n = Needs::default();
    for name in names {
        // Names were validated by the spec loader; an unknown one simply adds nothing.
        if let Some(r) = runtime::builtin(name) {
            n.add(&r);
        }
    }
    n
}

/// Needs of the container and everything below it: an ancestor's filter and profile apply to
/// every descendant process, so they must allow all of this.
pub fn subtree(c: &ContainerSpec) -> Needs {
    let mut n = own(c);
    for child in &c.children {
        n.merge(&subtree(child));
    }
    n
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn children_imply_lxnest_and_subtree_collects_descendants() {
        let leaf = ContainerSpec {
            name: "d".into(),
            runtime: Some(crate::spec::model::Runtime::Docker),
            ..Default::default()
        };
        let host = ContainerSpec {
            name: "h".into(),
            runtime: Some(crate::spec::model::Runtime::Lxc),
            children: vec![leaf],
            ..Default::default()
        };
        assert_eq!(
            preset_names(&host),
            vec!["lxc".to_string(), "lxnest".to_string()]
        );
        assert!(!own(&host).syscalls.contains("keyctl"));
        assert!(
            subtree(&host).syscalls.contains("keyctl"),
            "docker below needs keyctl"
        );
        let plain = ContainerSpec {
            name: "p".into(),
            ..Default::default()
        };
        assert!(own(&plain).is_empty());
    }
}
