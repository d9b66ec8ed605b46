//! Nested runtime presets: what a container that hosts containers of a given kind needs from its
//! parent. The data lives in `nesting/runtimes/*.yaml` and is compiled into the binary so that a
//! plan never depends on files next to the executable.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// A container manager a container can run inside itself (`runtime:`), each with a preset in
/// `nesting/runtimes/`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Runtime {
    /// LXC.
    Lxc,
    /// lxnest itself.
    Lxnest,
    /// Docker.
    Docker,
    /// LXD.
    Lxd,
    /// Podman.
    Podman,
}

impl Runtime {
    /// Every runtime, in the order error messages list them.
    pub const ALL: [Runtime; 5] = [
        Runtime::Lxc,
        Runtime::Lxnest,
        Runtime::Docker,
        Runtime::Lxd,
        Runtime::Podman,
    ];

    /// The name a spec writes, which is also its preset's name.
    pub fn as_str(self) -> &'static str {
        match self {
            Runtime::Lxc => "lxc",
            Runtime::Lxnest => "lxnest",
            Runtime::Docker => "docker",
            Runtime::Lxd => "lxd",
            Runtime::Podman => "podman",
        }
    }

    /// What this runtime needs from its host.
    pub fn needs(self) -> RuntimeNeeds {
        // A unit test checks that every runtime has its preset.
        builtin(self.as_str()).unwrap_or_else(|| panic!("no preset for runtime {self}"))
    }
}

/// Init flavours (`init:`): what the container's PID 1 is when not `command`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Init {
    /// systemd as PID 1 (its needs are the `systemd` preset).
    Systemd,
}

impl Init {
    /// The name a spec writes.
    pub fn as_str(self) -> &'static str {
        match self {
            Init::Systemd => "systemd",
        }
    }
}

/// A `runtime:` or `init:` value lxnest does not know.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown {what} `{value}` (fix: {fix})")]
pub struct UnknownName {
    /// `runtime` or `init`.
    pub what: &'static str,
    /// The value as written.
    pub value: String,
    /// What to write instead.
    pub fix: String,
}

impl FromStr for Runtime {
    type Err = UnknownName;

    fn from_str(s: &str) -> Result<Self, UnknownName> {
        Runtime::ALL
            .into_iter()
            .find(|r| r.as_str() == s)
            .ok_or_else(|| UnknownName {
                what: "runtime",
                value: s.into(),
                fix: format!(
                    "use one of: {}",
                    Runtime::ALL.map(Runtime::as_str).join(", ")
                ),
            })
    }
}

impl FromStr for Init {
    type Err = UnknownName;

    fn from_str(s: &str) -> Result<Self, UnknownName> {
        match s {
            "systemd" => Ok(Init::Systemd),
            _ => Err(UnknownName {
                what: "init",
                value: s.into(),
                fix: "use `init: systemd`, or leave `init` out and set `command`".into(),
            }),
        }
    }
}

/// Serde as the name, parsed with `FromStr` so a wrong one says what to write.
macro_rules! named {
    ($t:ty) => {
        impl fmt::Display for $t {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }
        impl Serialize for $t {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }
        impl<'de> Deserialize<'de> for $t {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                crate::spec::scalar::deserialize(d, "a name")
            }
        }
    };
}
named!(Runtime);
named!(Init);

/// What one kind of nested runtime needs. Loaded from `nesting/runtimes/<name>.yaml`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RuntimeNeeds {
    /// Kind name (`lxc`).
    pub name: String,
    /// One line for `lxnest plan`.
    pub description: String,
    /// Syscalls every ancestor's filter and the host's own must allow (x86_64 names).
    #[serde(default)]
    pub syscalls: Vec<String>,
    /// Capabilities the nesting host must keep (in its user namespace).
    #[serde(default)]
    pub capabilities: Vec<String>,
    /// Device nodes the nesting host needs (`/dev/fuse`, `/dev/net/tun`).
    #[serde(default)]
    pub devices: Vec<String>,
    /// AppArmor flags switched on in the nesting host's profile (see policy/apparmor/).
    #[serde(default)]
    pub apparmor: Vec<String>,
    /// Filesystem types the runtime mounts for its containers.
    #[serde(default)]
    pub mounts: Vec<String>,
    /// Whether the runtime needs clean proc/sysfs copies (unmasked) to mount into its containers.
    #[serde(default)]
    pub proc_sysfs_copies: bool,
    /// cgroup needs.
    #[serde(default)]
    pub cgroup: CgroupNeeds,
    /// Whether the runtime loads seccomp filters of its own (LXC's `lxc.seccomp.allow_nesting`).
    #[serde(default)]
    pub stacks_seccomp: bool,
    /// Extra header bytes its networking adds (fan, vxlan), lowering the children's MTU.
    #[serde(default)]
    pub encapsulation_overhead: u32,
}

/// cgroup needs of a nested runtime.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct CgroupNeeds {
    /// The runtime creates cgroups for its containers: delegate the subtree.
    #[serde(default)]
    pub delegate: bool,
    /// Controllers it must be able to enable for its children.
    #[serde(default)]
    pub controllers: Vec<String>,
}

/// The presets shipped in `nesting/runtimes/`, compiled in. `systemd` is an init, not a runtime,
/// but it is described the same way and combined with a runtime's needs.
const BUILTIN: &[(&str, &str)] = &[
    ("lxc", include_str!("../../../../nesting/runtimes/lxc.yaml")),
    (
        "lxnest",
        include_str!("../../../../nesting/runtimes/lxnest.yaml"),
    ),
    (
        "docker",
        include_str!("../../../../nesting/runtimes/docker.yaml"),
    ),
    ("lxd", include_str!("../../../../nesting/runtimes/lxd.yaml")),
    (
        "podman",
        include_str!("../../../../nesting/runtimes/podman.yaml"),
    ),
    (
        "systemd",
        include_str!("../../../../nesting/runtimes/systemd.yaml"),
    ),
];

fn parse_builtin(file: &str, text: &str) -> RuntimeNeeds {
    // The presets are part of the binary and a unit test parses each one, so a failure here is a
    // build defect, not bad user input.
    serde_yaml_ng::from_str(text)
        .unwrap_or_else(|e| panic!("built-in preset nesting/runtimes/{file}.yaml: {e}"))
}

/// Names of the built-in presets (`lxc`, `lxnest`, `docker`, `lxd`, `podman`, `systemd`).
pub fn builtin_names() -> Vec<&'static str> {
    BUILTIN.iter().map(|(n, _)| *n).collect()
}

/// Presets parsed once: planning looks them up for every container.
fn parsed() -> &'static [RuntimeNeeds] {
    static ALL: std::sync::OnceLock<Vec<RuntimeNeeds>> = std::sync::OnceLock::new();
    ALL.get_or_init(|| BUILTIN.iter().map(|(n, t)| parse_builtin(n, t)).collect())
}

/// The preset called `name`, if lxnest ships one.
pub fn builtin(name: &str) -> Option<RuntimeNeeds> {
    parsed().iter().find(|r| r.name == name).cloned()
}

/// Every built-in preset, in a stable order.
pub fn builtin_all() -> Vec<RuntimeNeeds> {
    parsed().to_vec()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_builtin_preset_parses_and_is_named_like_its_file() {
        for (file, _) in BUILTIN {
            let needs = builtin(file).expect("listed");
            assert_eq!(&needs.name, file);
            assert!(!needs.description.is_empty());
        }
        assert_eq!(builtin_all().len(), BUILTIN.len());
    }

    #[test]
    fn runtimes_that_manage_cgroups_ask_for_delegation() {
        for needs in builtin_all() {
            if needs.syscalls.iter().any(|s| s == "pivot_root") {
                assert!(needs.cgroup.delegate, "{} starts containers", needs.name);
            }
        }
    }

    #[test]
    fn every_runtime_has_a_preset_and_parses_from_its_name() {
        for r in Runtime::ALL {
            assert_eq!(r.needs().name, r.as_str());
            assert_eq!(r.as_str().parse::<Runtime>(), Ok(r));
        }
        let e = "systemd".parse::<Runtime>().unwrap_err().to_string();
        assert!(
            e.contains("unknown runtime `systemd`") && e.contains("podman"),
            "{e}"
        );
        assert_eq!("systemd".parse::<Init>(), Ok(Init::Systemd));
        assert!("openrc".parse::<Init>().is_err());
    }

    #[test]
    fn unknown_preset_is_none() {
        assert!(builtin("rkt").is_none());
    }
}
