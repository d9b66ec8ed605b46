//! Nested runtime presets: what a container that hosts containers of a given kind needs from its
//! parent. The data lives in `nesting/runtimes/*.yaml` and is compiled into the binary so that a
//! plan never depends on files next to the executable.

use serde::{Deserialize, Serialize};

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
    fn unknown_preset_is_none() {
        assert!(builtin("rkt").is_none());
    }
}
