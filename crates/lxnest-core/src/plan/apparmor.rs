//! AppArmor part of a level's plan: names and label from `apparmor::names`, and the profile
//! rendered with the flags the container's subtree needs.

use crate::apparmor::{self, ProfileParams};
use crate::plan::error::PlanError;
use crate::plan::model::AppArmorPlan;
use crate::plan::needs::Needs;
use crate::spec::model::ContainerSpec;

/// Plan the confinement of the container at `path` (`juju-host/unit-1`).
pub fn plan(c: &ContainerSpec, path: &str, subtree: &Needs) -> Result<AppArmorPlan, PlanError> {
    let parts: Vec<&str> = path.split('/').collect();
    let names = apparmor::names(&parts);
    let extra_rules: Vec<(String, crate::origin::Origin)> = c
        .apparmor
        .rules
        .iter()
        .enumerate()
        .map(|(i, r)| {
            (
                r.clone(),
                c.apparmor
                    .rule_origins
                    .get(i)
                    .cloned()
                    .unwrap_or_else(|| c.origin.clone()),
            )
        })
        .collect();
    let flags: Vec<String> = subtree.apparmor.iter().cloned().collect();
    let text = if names.own_profile {
        let mut p = ProfileParams::new(names.profile.clone()).with_flags(flags.iter().cloned());
        p.namespace = names.namespace.clone();
        p.extra_rules = c.apparmor.rules.clone();
        p.child_namespace = names.child_namespace.clone();
        // Nested runtimes mount their children's root filesystems only below their own dirs.
        p.rootfs_dirs = subtree
            .sources
            .iter()
            .flat_map(|rt| apparmor::runtime_rootfs_dirs(rt))
            .collect();
        p.rootfs_dirs.dedup();
        apparmor::render(&p).map_err(|source| PlanError::AppArmor {
            container: path.into(),
            source,
        })?
    } else {
        String::new()
    };
    Ok(AppArmorPlan {
        profile: names.profile,
        namespace: names.namespace,
        label: names.label,
        flags,
        extra_rules,
        text,
        note: names.note,
    })
}
