//! Needs along the path: a capability a nested runtime needs must be kept by its own container
//! and by every ancestor (a capability dropped from a bounding set never comes back below it).
//! The walk already keeps what the subtree needs; what an ancestor's `capabilities.drop` or
//! lxnest's never-granted list removes is reported here, naming the level, the container, the
//! missing item and the fix, instead of being lost silently.

use crate::plan::caps;
use crate::plan::error::Finding;
use crate::plan::model::LevelPlan;
use crate::plan::needs;
use crate::spec::model::ContainerSpec;
use std::collections::HashMap;

/// Findings for every capability `c`'s runtime needs that `c` or an ancestor does not keep.
pub fn capabilities(
    ancestors: &[&LevelPlan],
    c: &LevelPlan,
    specs: &HashMap<String, &ContainerSpec>,
    out: &mut Vec<Finding>,
) {
    let Some(spec) = specs.get(&c.path) else {
        return;
    };
    capabilities_for(&needs::own(spec), ancestors, c, spec, specs, out);
}

/// [`capabilities`] for the needs `own` of the container `c` declared by `spec`.
fn capabilities_for(
    own: &needs::Needs,
    ancestors: &[&LevelPlan],
    c: &LevelPlan,
    spec: &ContainerSpec,
    specs: &HashMap<String, &ContainerSpec>,
    out: &mut Vec<Finding>,
) {
    if own.is_empty() {
        return;
    }
    let runs = own.runs();
    let mut chain: Vec<&LevelPlan> = ancestors.to_vec();
    chain.push(c);
    for cap in &own.capabilities {
        if caps::NEVER.contains(&cap.as_str()) {
            out.push(Finding {
                container: c.path.clone(),
                level: c.depth,
                rule: format!("capability {cap}"),
                origin: spec.origin.clone(),
                message: format!(
                    "{} at level {} runs {runs}, which needs {cap}; lxnest never grants it (it reaches the host kernel itself)",
                    c.name, c.depth
                ),
                fix: format!("run {runs} on the host instead, or without the feature that needs {cap}"),
            });
            continue;
        }
        let Some(holder) = chain.iter().find(|h| !h.capabilities.contains(cap)) else {
            continue;
        };
        let whose = if holder.path == c.path {
            "it drops it itself".to_string()
        } else {
            format!(
                "its level-{} ancestor {} drops it",
                holder.depth, holder.path
            )
        };
        let holder_spec = specs.get(&holder.path);
        let dropped_here = holder_spec.is_some_and(|s| s.capabilities.drop.contains(cap));
        let origin = holder_spec
            .map(|s| s.origin.clone())
            .unwrap_or_else(|| holder.origin.clone());
        let fix = if dropped_here {
            format!("remove {cap} from `capabilities.drop` of {}", holder.path)
        } else {
            format!(
                "keep {cap} in {} (it is not in its bounding set)",
                holder.path
            )
        };
        out.push(Finding {
            container: c.path.clone(),
            level: c.depth,
            rule: format!("capabilities.drop: {cap}"),
            origin,
            message: format!(
                "{} at level {} runs {runs}, which needs capability {cap}; {whose}, and a capability dropped from the bounding set never comes back below",
                c.name, c.depth
            ),
            fix,
        });
    }
}

#[cfg(test)]
mod tests {
    use crate::plan::host::HostSnapshot;
    use crate::plan::PlanError;
    use crate::spec::model::{CapabilityWish, ContainerSpec, Stack};

    fn stack(containers: Vec<ContainerSpec>) -> Stack {
        Stack {
            name: "grant".into(),
            source: "test.yaml".into(),
            containers,
        }
    }

    fn docker_in_lxc(parent_drop: Vec<String>) -> Stack {
        let docker = ContainerSpec {
            name: "docker-ci".into(),
            runtime: Some(crate::spec::model::Runtime::Docker),
            ..Default::default()
        };
        stack(vec![ContainerSpec {
            name: "build-host".into(),
            runtime: Some(crate::spec::model::Runtime::Lxc),
            capabilities: CapabilityWish { drop: parent_drop },
            children: vec![docker],
            ..Default::default()
        }])
    }

    #[test]
    fn a_childs_capability_is_kept_by_every_ancestor() {
        // The lxc preset has no sys_ptrace, docker's has: the lxc parent must keep it for its
        // docker child, or the child's `lxnest check --for docker` finds it missing.
        let plan =
            crate::plan::plan(&docker_in_lxc(vec![]), &HostSnapshot::laptop()).expect("plans");
        for path in ["build-host", "build-host/docker-ci"] {
            let c = plan.get(path).expect("planned");
            assert!(
                c.capabilities.iter().any(|x| x == "sys_ptrace"),
                "{path} keeps sys_ptrace: {:?}",
                c.capabilities
            );
        }
    }

    #[test]
    fn an_ancestor_dropping_a_needed_capability_is_refused_with_level_container_item_and_fix() {
        let err = crate::plan::plan(
            &docker_in_lxc(vec!["sys_ptrace".into()]),
            &HostSnapshot::laptop(),
        )
        .expect_err("refused");
        let PlanError::Rejected(findings) = err else {
            panic!("not a rejection: {err}");
        };
        let f = findings
            .iter()
            .find(|f| f.rule == "capabilities.drop: sys_ptrace")
            .expect("a finding about sys_ptrace");
        assert_eq!(f.container, "build-host/docker-ci");
        assert_eq!(f.level, 2);
        assert!(
            f.message.contains("runs docker")
                && f.message
                    .contains("its level-1 ancestor build-host drops it"),
            "{}",
            f.message
        );
        assert_eq!(
            f.fix,
            "remove sys_ptrace from `capabilities.drop` of build-host"
        );
    }

    #[test]
    fn a_need_lxnest_never_grants_is_refused_not_dropped() {
        let s = docker_in_lxc(vec![]);
        let plan = crate::plan::plan(&s, &HostSnapshot::laptop()).expect("plans");
        let c = plan.get("build-host/docker-ci").expect("planned");
        let spec = &s.containers[0].children[0];
        let specs = std::collections::HashMap::from([(c.path.clone(), spec)]);
        let mut own = crate::plan::needs::own(spec);
        own.capabilities.insert("sys_module".into());
        let mut out = Vec::new();
        super::capabilities_for(&own, &plan.ancestors(&c.path), c, spec, &specs, &mut out);
        assert_eq!(out.len(), 1, "{out:?}");
        assert_eq!(out[0].rule, "capability sys_module");
        assert!(
            out[0].message.contains("lxnest never grants it"),
            "{}",
            out[0].message
        );
    }

    #[test]
    fn a_device_a_child_needs_is_passed_through_its_ancestors() {
        let plan =
            crate::plan::plan(&docker_in_lxc(vec![]), &HostSnapshot::laptop()).expect("plans");
        for path in ["build-host", "build-host/docker-ci"] {
            let c = plan.get(path).expect("planned");
            assert!(
                c.devices.iter().any(|d| d.path == "/dev/fuse"),
                "{path} passes /dev/fuse (docker's) through"
            );
        }
    }

    #[test]
    fn a_container_dropping_what_its_own_runtime_needs_is_refused() {
        let s = stack(vec![ContainerSpec {
            name: "d".into(),
            runtime: Some(crate::spec::model::Runtime::Docker),
            capabilities: CapabilityWish {
                drop: vec!["net_admin".into()],
            },
            ..Default::default()
        }]);
        let Err(PlanError::Rejected(findings)) = crate::plan::plan(&s, &HostSnapshot::laptop())
        else {
            panic!("not refused");
        };
        let f = findings
            .iter()
            .find(|f| f.rule == "capabilities.drop: net_admin")
            .expect("finding");
        assert!(f.message.contains("it drops it itself"), "{}", f.message);
        assert_eq!(f.fix, "remove net_admin from `capabilities.drop` of d");
    }
}
