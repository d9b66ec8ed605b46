//! `defaults:`: settings every container of a stack starts from, how two files' defaults merge
//! and how they apply to a container. Both go through each field's [`Merge`], destructured field
//! by field, so a field added to [`ContainerDefaults`] is merged and applied or does not compile.

use crate::origin::Origin;
use crate::spec::hook::Hooks;
use crate::spec::merge::{set, under, Merge};
use crate::spec::model::{AppArmorWish, ContainerSpec, Limits, SeccompWish};
use crate::spec::network::NetworkWish;
use crate::spec::rootfs::{Rootfs, RootfsSpec};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Settings shared by all containers of a stack (a subset of [`ContainerSpec`]).
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ContainerDefaults {
    /// Default rootfs.
    pub rootfs: Option<Rootfs>,
    /// Default limits.
    #[serde(default)]
    pub limits: Limits,
    /// Default network wishes.
    #[serde(default)]
    pub network: NetworkWish,
    /// Extra seccomp rules for every container.
    #[serde(default)]
    pub seccomp: SeccompWish,
    /// Extra AppArmor rules for every container.
    #[serde(default)]
    pub apparmor: AppArmorWish,
    /// Environment for every container.
    #[serde(default)]
    pub environment: BTreeMap<String, String>,
    /// Hooks for every container.
    #[serde(default)]
    pub hooks: Hooks,
    /// Where each value was written, by path below `defaults` (filled by the loader).
    #[serde(skip)]
    pub origins: BTreeMap<String, Origin>,
}

impl Merge for ContainerDefaults {
    /// A later file's defaults over an earlier one's (an including file over its includes).
    fn merge(&mut self, over: Self) {
        let ContainerDefaults {
            rootfs,
            limits,
            network,
            seccomp,
            apparmor,
            environment,
            hooks,
            origins,
        } = over;
        set(&mut self.rootfs, rootfs);
        self.limits.merge(limits);
        self.network.merge(network);
        self.seccomp.merge(seccomp);
        self.apparmor.merge(apparmor);
        Merge::merge(&mut self.environment, environment);
        self.hooks.merge(hooks);
        Merge::merge(&mut self.origins, origins);
    }
}

impl ContainerDefaults {
    /// Fill what `c` and its children leave unset; list-valued defaults (rules, hooks) come first
    /// so a container's own entries are read after them, and its own environment wins.
    pub fn apply_to(&self, c: &mut ContainerSpec) {
        let ContainerDefaults {
            rootfs,
            limits,
            network,
            seccomp,
            apparmor,
            environment,
            hooks,
            origins,
        } = self;
        if c.rootfs.is_none() {
            c.rootfs = rootfs.clone().map(RootfsSpec::Source);
        }
        c.limits = under(limits, std::mem::take(&mut c.limits));
        c.network = under(network, std::mem::take(&mut c.network));
        c.seccomp = under(seccomp, std::mem::take(&mut c.seccomp));
        c.apparmor = under(apparmor, std::mem::take(&mut c.apparmor));
        c.environment = under(environment, std::mem::take(&mut c.environment));
        c.hooks = under(hooks, std::mem::take(&mut c.hooks));
        // A value the container sets itself keeps its own origin.
        for (path, o) in origins {
            c.origins.entry(path.clone()).or_insert_with(|| o.clone());
        }
        for child in &mut c.children {
            self.apply_to(child);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_yaml_ng::Value;

    /// Every field of the defaults set, to a value no default has. The test below refuses a
    /// sample that leaves a field unset, so a field added later must be added here.
    const EVERY_FIELD: &str = "
rootfs: dir:/srv/root
limits: {memory: 1G, pids: 300, cpu: 1.5}
network: {mode: user-nic, link: lxcbr0, subnet: 10.9.0.0/24, mtu: 1400, nat: false}
seccomp: {rules: [acct errno 1], files: [/etc/x.seccomp]}
apparmor: {rules: ['deny /srv/** w,']}
environment: {A: b}
hooks: {pre-start: [/bin/true], post-stop: [/bin/false]}
";

    /// The leaves of a serialized value, by path; fails on an unset (null or empty) one.
    fn leaves(v: &Value, path: String, out: &mut BTreeMap<String, Value>) {
        match v {
            Value::Mapping(m) => {
                assert!(!m.is_empty(), "{path} is empty in the sample");
                for (k, v) in m {
                    let k = k.as_str().expect("string keys");
                    leaves(v, format!("{path}.{k}"), out);
                }
            }
            Value::Sequence(s) => {
                assert!(!s.is_empty(), "{path} is empty in the sample");
                out.insert(path, v.clone());
            }
            Value::Null => panic!("{path} is not set in the sample: add it to EVERY_FIELD"),
            _ => {
                out.insert(path, v.clone());
            }
        }
    }

    fn every_field() -> (ContainerDefaults, BTreeMap<String, Value>) {
        let d: ContainerDefaults = serde_yaml_ng::from_str(EVERY_FIELD).unwrap();
        let mut want = BTreeMap::new();
        leaves(
            &serde_yaml_ng::to_value(&d).unwrap(),
            String::new(),
            &mut want,
        );
        (d, want)
    }

    #[test]
    fn every_field_of_the_defaults_reaches_a_container_that_leaves_it_unset() {
        let (d, want) = every_field();
        let mut c = ContainerSpec {
            name: "a".into(),
            children: vec![ContainerSpec {
                name: "b".into(),
                ..Default::default()
            }],
            ..Default::default()
        };
        d.apply_to(&mut c);
        for c in [&c, &c.children[0]] {
            let got = serde_yaml_ng::to_value(c).unwrap();
            for (path, v) in &want {
                let mut at = &got;
                for k in path.trim_start_matches('.').split('.') {
                    at = &at[k];
                }
                assert_eq!(at, v, "{}: defaults{path} lost", c.name);
            }
        }
        assert_eq!(c.network.link.as_deref(), Some("lxcbr0"));
    }

    #[test]
    fn every_field_survives_a_merge_of_two_files_defaults() {
        let (d, _) = every_field();
        let mut earlier = ContainerDefaults::default();
        earlier.merge(d.clone());
        assert_eq!(earlier, d, "merged into empty defaults");
        let mut later = d.clone();
        later.merge(ContainerDefaults::default());
        assert_eq!(later, d, "empty defaults over them change nothing");
    }

    #[test]
    fn a_container_s_own_values_win_and_lists_follow_the_defaults() {
        let (d, _) = every_field();
        let mut c: ContainerSpec = serde_yaml_ng::from_str(
            "{name: a, network: {link: br9}, environment: {A: own}, seccomp: {rules: [ptrace errno 1]}, hooks: {pre-start: [/bin/own]}}",
        )
        .unwrap();
        d.apply_to(&mut c);
        assert_eq!(c.network.link.as_deref(), Some("br9"));
        assert_eq!(c.network.mtu, Some(1400));
        assert_eq!(c.environment["A"], "own");
        assert_eq!(c.seccomp.rules, ["acct errno 1", "ptrace errno 1"]);
        let pre = c.hooks.get(crate::spec::hook::HookKind::PreStart);
        assert_eq!(pre, ["/bin/true", "/bin/own"]);
    }
}
