//! Checks across levels: every need of a nested runtime must be allowed by the container's own
//! filter and every ancestor's, and no level may explicitly allow what an ancestor denies
//! (an inner level is never looser than its parent).

use crate::plan::error::Finding;
use crate::plan::model::{LevelPlan, Plan, PlanIndex};
use crate::plan::needs;
use crate::seccomp::{decide, Action};
use crate::spec::model::{ContainerSpec, Stack};

/// All findings for a planned stack.
pub fn run(plan: &Plan, stack: &Stack) -> Vec<Finding> {
    let mut out = Vec::new();
    let specs: std::collections::HashMap<String, &ContainerSpec> =
        flatten(&stack.containers, "").into_iter().collect();
    let index = PlanIndex::new(plan);
    for c in &plan.containers {
        let Some(spec) = specs.get(&c.path) else {
            continue;
        };
        let ancestors = index.ancestors(&c.path);
        needs_allowed(&ancestors, c, spec, &mut out);
        not_looser(&ancestors, c, &mut out);
        crate::plan::grant::capabilities(&ancestors, c, &specs, &mut out);
    }
    out
}

fn flatten<'a>(list: &'a [ContainerSpec], prefix: &str) -> Vec<(String, &'a ContainerSpec)> {
    let mut out = Vec::new();
    for c in list {
        let path = crate::plan::network::join(prefix, &c.name);
        out.extend(flatten(&c.children, &path));
        out.push((path, c));
    }
    out
}

/// The syscalls a container's runtime needs, checked against its own filter and every ancestor's.
fn needs_allowed(
    ancestors: &[&LevelPlan],
    c: &LevelPlan,
    spec: &ContainerSpec,
    out: &mut Vec<Finding>,
) {
    let own = needs::own(spec);
    if own.is_empty() {
        return;
    }
    let runs = own.runs();
    let mut chain: Vec<&LevelPlan> = ancestors.to_vec();
    chain.push(c);
    for syscall in &own.syscalls {
        for holder in &chain {
            let d = decide::decide(&holder.seccomp.own, syscall);
            if matches!(d.action, Action::Allow | Action::Log) {
                continue;
            }
            let whose = if holder.path == c.path {
                "its own filter".to_string()
            } else {
                format!("the level-{} filter of {}", holder.depth, holder.path)
            };
            let (rule, origin) = match &d.rule {
                Some(r) => (
                    format!("seccomp: {} {}", r.syscall, r.action),
                    r.origin.clone(),
                ),
                None => (
                    format!(
                        "seccomp default action {}",
                        holder.seccomp.own.default_action
                    ),
                    holder.seccomp.own.default_origin.clone(),
                ),
            };
            out.push(Finding {
                container: c.path.clone(),
                level: c.depth,
                rule,
                origin,
                message: format!(
                    "{} at level {} runs {runs}, which needs {syscall}; {whose} denies it ({})",
                    c.name, c.depth, d.action
                ),
                fix: format!(
                    "remove that rule, or add `{syscall} allow` to the seccomp rules of {}",
                    holder.path
                ),
            });
            break;
        }
    }
}

/// A rule that explicitly allows a syscall some ancestor denies has no effect (filters stack);
/// it is an error so that nobody believes the inner level is looser.
fn not_looser(ancestors: &[&LevelPlan], c: &LevelPlan, out: &mut Vec<Finding>) {
    for rule in c
        .seccomp
        .own
        .rules
        .iter()
        .filter(|r| r.action == Action::Allow && r.args.is_empty())
    {
        if rule.origin.file.starts_with("policy/") {
            continue;
        }
        for a in ancestors {
            let d = decide::decide(&a.seccomp.own, &rule.syscall);
            if matches!(d.action, Action::Allow | Action::Log) {
                continue;
            }
            let at = d
                .rule
                .as_ref()
                .map(|r| r.origin.to_string())
                .unwrap_or_else(|| a.seccomp.own.default_origin.to_string());
            out.push(Finding {
                container: c.path.clone(),
                level: c.depth,
                rule: format!("seccomp: {} allow", rule.syscall),
                origin: rule.origin.clone(),
                message: format!(
                    "allows {} but the level-{} filter of {} denies it ({}, {at}); filters stack, so an inner level cannot be looser",
                    rule.syscall, a.depth, a.path, d.action
                ),
                fix: format!("allow {} in {} too, or remove the rule here", rule.syscall, a.path),
            });
            break;
        }
    }
}
