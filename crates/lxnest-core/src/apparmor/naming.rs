//! Profile names, policy namespaces and labels for every level of a nesting stack.
//!
//! AppArmor policy namespaces only nest one level below the root in practice (lxd#14770): the
//! root namespace and one child namespace per level-1 container. So:
//!
//! * level 1 `X`: profile `lxnest-X` in the root namespace, plus an empty namespace `lxnest-X`.
//!   Its processes carry the stack `lxnest-X//&:lxnest-X:unconfined` (the profile, and the
//!   unconfined profile of its own namespace). The launcher asks for `lxnest-X//&:lxnest-X:`
//!   on exec (the empty name after the last `:` means "the namespace's default", as LXC and
//!   Incus write it); the kernel reports the label with the name, as planned here. Inside, the container sees `lxnest-X` as its root
//!   namespace and may load profiles there.
//! * level 2 `Y` in `X`: profile `lxnest-X.Y`, loaded by X's lxnest into namespace `lxnest-X`;
//!   X's lxnest changes onto it on exec, which replaces only the component it can see, giving
//!   `lxnest-X//&:lxnest-X:lxnest-X.Y` seen from the root.
//! * level 3 and deeper: no namespace of their own exists for them, so they keep their level-2
//!   ancestor's label and are confined by the level-1 and level-2 profiles (the planner warns).
//!
//! Names contain only `[a-z0-9-]` from container names, `lxnest-` and `.` as the level separator,
//! so they need no quoting in profiles, labels or securityfs paths.

/// Prefix of every profile and namespace lxnest creates.
pub const PREFIX: &str = "lxnest-";

/// Names beyond this length are shortened with a hash: AppArmor exposes profile and namespace
/// names as securityfs directory names (255 bytes), with a suffix of its own.
const MAX_NAME: usize = 200;

/// The AppArmor names of one container.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Names {
    /// The innermost profile confining the container (its own, or its level-2 ancestor's).
    pub profile: String,
    /// Namespace that profile is loaded into, seen from the root; `None` is the root namespace.
    pub namespace: Option<String>,
    /// The label the container's processes carry, seen from the root namespace.
    pub label: String,
    /// What the launching lxnest passes to `aa_change_onexec`, seen from its own namespace;
    /// `None` when the container keeps its parent's label.
    pub onexec: Option<String>,
    /// The namespace this container's own children are loaded into, if it gets one.
    pub child_namespace: Option<String>,
    /// The level whose lxnest loads `profile` (0 for the host).
    pub loaded_by_level: u32,
    /// Whether `profile` is the container's own (false from level 3 on).
    pub own_profile: bool,
    /// How confinement works at this depth when it differs from "own profile and namespace".
    pub note: Option<String>,
}

/// Names for the container at `container_path`, the container names from level 1 down
/// (`["juju-host", "unit-1"]`). Always start from the real host's level 1, even when lxnest
/// plans from inside a container. An empty path names the host itself (unconfined).
pub fn names(container_path: &[&str]) -> Names {
    match container_path {
        [] => Names {
            profile: "unconfined".into(),
            namespace: None,
            label: "unconfined".into(),
            onexec: None,
            child_namespace: None,
            loaded_by_level: 0,
            own_profile: false,
            note: Some("the host itself is not confined by lxnest".into()),
        },
        [x] => {
            let profile = profile_name(&[x]);
            Names {
                // The kernel names the namespace's default profile when it reports the
                // label (`/proc/PID/attr/current`), so that is the planned label; the exec
                // request may leave the name empty, which means the same profile.
                label: format!("{profile}//&:{profile}:unconfined"),
                onexec: Some(format!("{profile}//&:{profile}:")),
                namespace: None,
                child_namespace: Some(profile.clone()),
                profile,
                loaded_by_level: 0,
                own_profile: true,
                note: None,
            }
        }
        [x, y, rest @ ..] => {
            let ns = profile_name(&[x]);
            let profile = profile_name(&[x, y]);
            let label = format!("{ns}//&:{ns}:{profile}");
            let note = (!rest.is_empty()).then(|| {
                format!(
                    "level {}: AppArmor policy namespaces nest only one level below the root, so \
                     this container keeps its level-2 ancestor's label {label} and is confined by \
                     profiles {ns} and {profile}; it cannot load profiles of its own",
                    container_path.len()
                )
            });
            Names {
                onexec: rest.is_empty().then(|| profile.clone()),
                label,
                namespace: Some(ns),
                child_namespace: None,
                profile,
                loaded_by_level: 1,
                own_profile: rest.is_empty(),
                note,
            }
        }
    }
}

/// The container path a profile name belongs to (`lxnest-juju-host.unit-1` gives
/// `["juju-host", "unit-1"]`), for turning the `profile=` of an audit record back into a
/// container. `None` for profiles lxnest did not name (or shortened with a hash).
pub fn container_of(profile: &str) -> Option<Vec<String>> {
    // Shortened names are exactly MAX_NAME long; they cannot be mapped back.
    if profile.len() >= MAX_NAME {
        return None;
    }
    let rest = profile.strip_prefix(PREFIX)?;
    let parts: Vec<String> = rest.split('.').map(String::from).collect();
    let valid = |p: &String| {
        !p.is_empty()
            && p.chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    };
    (parts.len() <= 2
        && parts.iter().all(valid)
        && names(&parts.iter().map(String::as_str).collect::<Vec<_>>()).profile == profile)
        .then_some(parts)
}

/// `lxnest-` followed by the container names joined with `.`, each reduced to AppArmor-safe
/// characters, and shortened with a hash when too long.
fn profile_name(path: &[&&str]) -> String {
    let mut name = String::from(PREFIX);
    for (i, part) in path.iter().enumerate() {
        if i > 0 {
            name.push('.');
        }
        // Container names are validated as [a-z0-9-] by the spec loader; anything else is mapped
        // to '_' so a name can never carry AppArmor syntax (`:`, `/`, `&`, spaces).
        name.extend(part.chars().map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' {
                c
            } else {
                '_'
            }
        }));
    }
    if name.len() > MAX_NAME {
        let hash = fnv1a(name.as_bytes());
        name.truncate(MAX_NAME - 17);
        name.push('-');
        name.push_str(&format!("{hash:016x}"));
    }
    name
}

/// FNV-1a, 64 bit: a stable short hash for over-long names (not a security boundary).
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn level_one_stacks_onto_its_own_namespace() {
        let n = names(&["juju-host"]);
        assert_eq!(n.profile, "lxnest-juju-host");
        assert_eq!(n.namespace, None);
        assert_eq!(n.label, "lxnest-juju-host//&:lxnest-juju-host:unconfined");
        assert_eq!(
            n.onexec.as_deref(),
            Some("lxnest-juju-host//&:lxnest-juju-host:")
        );
        assert_eq!(n.child_namespace.as_deref(), Some("lxnest-juju-host"));
        assert_eq!(n.loaded_by_level, 0);
        assert!(n.own_profile && n.note.is_none());
    }

    #[test]
    fn level_two_lives_in_the_level_one_namespace() {
        let n = names(&["juju-host", "unit-1"]);
        assert_eq!(n.profile, "lxnest-juju-host.unit-1");
        assert_eq!(n.namespace.as_deref(), Some("lxnest-juju-host"));
        assert_eq!(
            n.label,
            "lxnest-juju-host//&:lxnest-juju-host:lxnest-juju-host.unit-1"
        );
        // Seen from inside level 1, the namespace is the root: the onexec name has no prefix.
        assert_eq!(n.onexec.as_deref(), Some("lxnest-juju-host.unit-1"));
        assert_eq!(n.child_namespace, None);
        assert_eq!(n.loaded_by_level, 1);
        assert!(n.own_profile && n.note.is_none());
    }

    #[test]
    fn level_three_keeps_the_level_two_label_and_says_so() {
        let two = names(&["a", "b"]);
        let three = names(&["a", "b", "c"]);
        assert_eq!(three.label, two.label);
        assert_eq!(three.profile, two.profile);
        assert_eq!(three.onexec, None);
        assert!(!three.own_profile);
        let note = three.note.expect("level 3 must carry a note");
        assert!(
            note.contains("level 3") && note.contains("lxnest-a.b"),
            "{note}"
        );
        assert!(names(&["a", "b", "c", "d"])
            .note
            .unwrap()
            .contains("level 4"));
    }

    #[test]
    fn siblings_in_different_parents_do_not_collide() {
        assert_ne!(names(&["a", "x"]).profile, names(&["b", "x"]).profile);
        assert_ne!(names(&["a-b"]).profile, names(&["a", "b"]).profile);
    }

    #[test]
    fn hostile_characters_are_neutralised() {
        let n = names(&["a:b//&c d"]);
        assert_eq!(n.profile, "lxnest-a_b___c_d");
        assert!(!n.label.trim_end_matches(':').contains(" "));
    }

    #[test]
    fn long_names_are_hashed_to_a_stable_valid_length() {
        let long = "x".repeat(300);
        let a = names(&[&long]).profile;
        assert_eq!(a.len(), MAX_NAME);
        assert_eq!(a, names(&[&long]).profile);
        let other = format!("{}y", "x".repeat(299));
        assert_ne!(a, names(&[&other]).profile);
    }

    #[test]
    fn profiles_map_back_to_containers() {
        for path in [vec!["juju-host"], vec!["juju-host", "unit-1"]] {
            let p = names(&path).profile;
            assert_eq!(
                container_of(&p),
                Some(path.iter().map(|s| s.to_string()).collect())
            );
        }
        assert_eq!(container_of("lxc-container-default"), None);
        assert_eq!(container_of("lxnest-"), None);
        assert_eq!(
            container_of("lxnest-a.b.c"),
            None,
            "no level-3 profiles exist"
        );
        assert_eq!(
            container_of(&names(&[&"x".repeat(300)]).profile),
            None,
            "hashed"
        );
    }

    #[test]
    fn the_host_is_unconfined() {
        let n = names(&[]);
        assert_eq!(n.label, "unconfined");
        assert!(n.onexec.is_none());
    }
}
