//! cgroups for an unprivileged user: only a cgroup2 subtree delegated to the user (a systemd user
//! service with `Delegate=yes`, or a directory root chowned to the user) can hold the container,
//! and only controllers already enabled there can limit it. Without one the container starts
//! without cgroups, and the outcome says so (`lxnest info`).

use super::layout::{own_paths, OwnCgroups};
use super::tree::{create_in, CgroupGuard, CreateOptions};
use super::{v2, Result};
use crate::plan::host::CgroupLayout;
use crate::plan::model::{CgroupPlan, LimitPlan};
use nix::unistd::{access, AccessFlags};
use std::path::Path;

/// What an unprivileged start got: the guard (empty when there is no cgroup) and a sentence.
#[derive(Debug)]
pub struct UserCgroup {
    /// The container's cgroup; owns no directory when none could be made.
    pub guard: CgroupGuard,
    /// What was used and what was left out, for `info`.
    pub note: String,
}

/// Creates the container's cgroup below this process's own cgroup2 directory when the user may
/// write there; otherwise an empty guard and the reason.
pub fn create(layout: &CgroupLayout, plan: &CgroupPlan) -> Result<UserCgroup> {
    let own = own_paths()?;
    let Some(unified) = own.unified().cloned() else {
        return Ok(none(plan, "no cgroup2 is mounted".into()));
    };
    let base = unified.own_dir()?;
    if !delegated(&base) {
        return Ok(none(
            plan,
            format!("your cgroup {} is not delegated to you", base.display()),
        ));
    }
    let enabled = v2::read_list(&base, "cgroup.subtree_control").unwrap_or_default();
    let (limits, dropped) = limits_within(&plan.limits, &enabled);
    let cut = CgroupPlan {
        limits,
        controllers: Vec::new(),
        ..plan.clone()
    };
    let only_v2 = OwnCgroups {
        hierarchies: vec![unified],
    };
    let v2_layout = CgroupLayout {
        v1_controllers: Vec::new(),
        ..layout.clone()
    };
    let guard = create_in(&v2_layout, &only_v2, &cut, &CreateOptions::default())?;
    let mut note = format!("delegated cgroup2 {}", base.join(&plan.path).display());
    if !dropped.is_empty() {
        note.push_str(&format!(
            "; not limited by {} (controller not enabled in {})",
            dropped.join(", "),
            base.display()
        ));
    }
    Ok(UserCgroup { guard, note })
}

/// The user may create cgroups in `dir` and move processes between them.
fn delegated(dir: &Path) -> bool {
    access(dir, AccessFlags::W_OK | AccessFlags::X_OK).is_ok()
        && access(&dir.join("cgroup.procs"), AccessFlags::W_OK).is_ok()
}

/// The limits whose controller `enabled` offers, and the names of the others.
fn limits_within(limits: &LimitPlan, enabled: &[String]) -> (LimitPlan, Vec<String>) {
    let has = |c: &str| enabled.iter().any(|e| e == c);
    let mut kept = limits.clone();
    let mut dropped = Vec::new();
    if let (Some(m), false) = (limits.memory, has("memory")) {
        dropped.push(format!("memory {m}"));
        kept.memory = None;
    }
    if let (Some(p), false) = (limits.pids, has("pids")) {
        dropped.push(format!("pids {p}"));
        kept.pids = None;
    }
    if let (Some((q, p)), false) = (limits.cpu, has("cpu")) {
        dropped.push(format!("cpu {q}/{p}"));
        kept.cpu = None;
    }
    (kept, dropped)
}

fn none(plan: &CgroupPlan, why: String) -> UserCgroup {
    let (_, dropped) = limits_within(&plan.limits, &[]);
    let lost = if dropped.is_empty() {
        String::new()
    } else {
        format!(", so these limits are not applied: {}", dropped.join(", "))
    };
    UserCgroup {
        guard: CgroupGuard::empty(&plan.path),
        note: format!(
            "none: {why}{lost} (fix: start lxnest in a delegated cgroup, e.g. `systemd-run --user --scope -p Delegate=yes lxnest ...`)"
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_enabled_controllers_limit_and_the_rest_is_named() {
        let limits = LimitPlan {
            memory: Some(1 << 20),
            pids: Some(64),
            cpu: None,
        };
        let (kept, dropped) = limits_within(&limits, &["pids".to_string()]);
        assert_eq!((kept.memory, kept.pids), (None, Some(64)));
        assert_eq!(dropped, vec!["memory 1048576".to_string()]);
        let n = none(
            &CgroupPlan {
                path: "lxnest/a".into(),
                mode: crate::plan::host::CgroupMode::Hybrid,
                controllers: Vec::new(),
                limits,
                delegate: false,
                init_leaf: None,
                premount: crate::plan::model::Premount::ReadOnly,
            },
            "no cgroup2 is mounted".into(),
        );
        assert!(
            n.note.starts_with("none: no cgroup2 is mounted"),
            "{}",
            n.note
        );
        assert!(
            n.note.contains("pids 64") && n.note.contains("Delegate=yes"),
            "{}",
            n.note
        );
        assert!(n.guard.dirs().is_empty());
    }
}
