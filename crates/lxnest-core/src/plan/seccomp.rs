//! Each level's own seccomp filter, and the effective (stacked) decisions.
//!
//! A level's filter is: the spec's rules, then the spec's policy files (LXC text, or OCI/Docker
//! JSON whose includes/excludes follow the level's capabilities), then lxnest's base policy
//! (`policy/seccomp/default.seccomp`, plus `no-nesting.seccomp` for containers that start nothing).
//! Base rules for syscalls that a runtime at or below the container needs are dropped, because the
//! kernel runs every ancestor's filter on a descendant's calls. Rules the user wrote are never
//! dropped: when they deny a need, the checks say so.

use crate::origin::Origin;
use crate::plan::error::PlanError;
use crate::plan::model::{EffectiveDecision, Plan, PlanIndex, SeccompPlan};
use crate::plan::needs::Needs;
use crate::seccomp::{builtin, decide, lxc_text, oci_in, Action, Mode, Policy, Rule};
use crate::spec::model::ContainerSpec;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;

/// lxnest's base policies, parsed once per plan, and the filters already built from them alone.
pub struct Base {
    default: Policy,
    no_nesting: Policy,
    /// Filters of containers without seccomp rules or files of their own, by the syscalls their
    /// subtree needs, `[with the no-nesting denials, without]`: such a filter depends on nothing
    /// else, so a fleet builds each once and its containers share it.
    built: HashMap<BTreeSet<String>, [Option<Built>; 2]>,
}

/// A filter and what LXC would refuse or misread in it (`seccomp.lxc` is written for every level).
#[derive(Clone)]
struct Built {
    policy: Arc<Policy>,
    lxc_issues: Vec<(Origin, String)>,
}

impl Base {
    /// Parse `policy/seccomp/default.seccomp` and `no-nesting.seccomp` (compiled in).
    pub fn load() -> Result<Self, PlanError> {
        let origin = |f: &str| Origin::new(f, 0);
        Ok(Base {
            default: builtin::default_policy().map_err(|error| PlanError::Seccomp {
                origin: origin(builtin::DEFAULT_FILE),
                error,
            })?,
            no_nesting: builtin::no_nesting_policy().map_err(|error| PlanError::Seccomp {
                origin: origin(builtin::NO_NESTING_FILE),
                error,
            })?,
            built: HashMap::new(),
        })
    }
}

/// The container's own filter, and what LXC would refuse or misread in it.
pub fn own_policy(
    base: &mut Base,
    c: &ContainerSpec,
    own: &Needs,
    subtree: &Needs,
    capabilities: &[String],
) -> Result<(SeccompPlan, Vec<(Origin, String)>), PlanError> {
    let plain = c.seccomp.rules.is_empty() && c.seccomp.file_texts.is_empty();
    let no_nesting = own.is_empty() && c.children.is_empty();
    let slot = usize::from(!no_nesting);
    let built = match base.built.get(&subtree.syscalls) {
        Some(b) if plain => b[slot].clone(),
        _ => None,
    };
    let built = match built {
        Some(b) => b,
        None => {
            let policy = build(base, c, no_nesting, subtree, capabilities)?;
            let b = Built {
                lxc_issues: lxc_text::lxc_incompatibilities(&policy),
                policy: Arc::new(policy),
            };
            if plain {
                let entry = base.built.entry(subtree.syscalls.clone()).or_default();
                entry[slot] = Some(b.clone());
            }
            b
        }
    };
    let plan = SeccompPlan {
        own: built.policy,
        inherited_from: Vec::new(),
        allow_nesting: subtree.stacks_seccomp,
        effective: BTreeMap::new(),
    };
    Ok((plan, built.lxc_issues))
}

/// Build the filter: the spec's rules and files first, then the base rules it keeps.
fn build(
    base: &Base,
    c: &ContainerSpec,
    no_nesting: bool,
    subtree: &Needs,
    capabilities: &[String],
) -> Result<Policy, PlanError> {
    let mut rules: Vec<Rule> = Vec::new();
    for (i, text) in c.seccomp.rules.iter().enumerate() {
        let origin = c
            .seccomp
            .rule_origins
            .get(i)
            .cloned()
            .unwrap_or_else(|| c.origin.clone());
        let rule = lxc_text::parse_rule(text, origin.clone())
            .map_err(|error| PlanError::Seccomp { origin, error })?;
        rules.push(rule);
    }
    let mut policy = base.default.clone();
    for (file, text) in &c.seccomp.file_texts {
        let p = if oci_in::is_json(text) {
            // OCI/Docker profiles: includes/excludes are decided by the level's capabilities.
            let ctx = oci_in::OciContext {
                capabilities: capabilities.to_vec(),
                kernel: None,
            };
            let (p, report) =
                oci_in::parse(text, file, &ctx).map_err(|error| PlanError::Seccomp {
                    origin: Origin::new(file, 0),
                    error,
                })?;
            for (origin, name) in &report.unknown_names {
                tracing::debug!("{origin}: skipped `{name}` (not a syscall of this host)");
            }
            p
        } else {
            lxc_text::parse(text, file).map_err(|error| PlanError::Seccomp {
                origin: Origin::new(file, 0),
                error,
            })?
        };
        if p.mode == Mode::Allowlist {
            // An allowlist named by the user becomes the level's mode and default; lxnest's
            // denials stay in as explicit rules.
            policy.mode = p.mode;
            policy.default_action = p.default_action;
            policy.default_origin = p.default_origin.clone();
        }
        policy.reject_force_umount |= p.reject_force_umount;
        rules.extend(p.rules);
    }
    // The base rules go after the spec's (first match decides); moved, not copied.
    let mut base_rules = std::mem::take(&mut policy.rules);
    if no_nesting {
        base_rules.extend(base.no_nesting.rules.iter().cloned());
    }
    base_rules.retain(|r| !subtree.syscalls.contains(&r.syscall));
    rules.extend(base_rules);
    policy.rules = rules;
    Ok(policy)
}

/// Fill `inherited_from` and `effective` for every container once the whole tree is planned.
///
/// The decisions depend only on the filters of the chain (ancestors, then the container), not on
/// whose they are: a fleet of containers with the same filters is decided once, and each
/// container gets that result with its own ancestors' paths in `decided_by`.
pub fn fill_effective(plan: &mut Plan) {
    let mut computed = Vec::with_capacity(plan.containers.len());
    let index = PlanIndex::new(plan);
    // Chain of filters (by address: containers share their filters, see [`Base`]) -> the paths
    // of the chain it was computed for and its decisions.
    type Decided<'p> = (Vec<&'p str>, BTreeMap<String, EffectiveDecision>);
    let mut cache: HashMap<Vec<*const Policy>, Decided> = HashMap::new();
    for c in &plan.containers {
        let ancestors = index.ancestors(&c.path);
        let mut chain: Vec<(&str, &Policy)> = ancestors
            .iter()
            .map(|a| (a.path.as_str(), &*a.seccomp.own))
            .collect();
        chain.push((c.path.as_str(), &c.seccomp.own));
        let key: Vec<*const Policy> = chain.iter().map(|(_, p)| *p as *const Policy).collect();
        let paths: Vec<&str> = chain.iter().map(|(p, _)| *p).collect();
        let (first, decided) = cache
            .entry(key)
            .or_insert_with(|| (paths.clone(), decide_chain(&chain)));
        let effective = if *first == paths {
            decided.clone()
        } else {
            renamed(decided, first, &paths)
        };
        computed.push((
            ancestors.iter().map(|a| a.path.clone()).collect::<Vec<_>>(),
            effective,
        ));
    }
    for (c, (inherited, effective)) in plan.containers.iter_mut().zip(computed) {
        c.seccomp.inherited_from = inherited;
        c.seccomp.effective = effective;
    }
}

/// Decisions made for the chain `first`, for the chain `paths` of the same filters: each
/// `decided_by` names this chain's level (built in order, so the map is built in one pass).
fn renamed(
    decided: &BTreeMap<String, EffectiveDecision>,
    first: &[&str],
    paths: &[&str],
) -> BTreeMap<String, EffectiveDecision> {
    let rename = |who: &String| match first.iter().position(|p| p == who) {
        Some(i) => paths[i].to_string(),
        None => who.clone(),
    };
    decided
        .iter()
        .map(|(name, d)| {
            let d = EffectiveDecision {
                action: d.action,
                conditional: d.conditional,
                decided_by: d
                    .decided_by
                    .as_ref()
                    .map(|(who, origin)| (rename(who), origin.clone())),
            };
            (name.clone(), d)
        })
        .collect()
}

/// The effective decision for every syscall some filter of `chain` names that is not a plain
/// allow, plus `*` (unlisted syscalls) when some filter denies by default.
fn decide_chain(chain: &[(&str, &Policy)]) -> BTreeMap<String, EffectiveDecision> {
    let names: BTreeSet<&str> = chain
        .iter()
        .flat_map(|(_, p)| p.rules.iter().map(|r| r.syscall.as_str()))
        .collect();
    let mut effective = BTreeMap::new();
    let denies_by_default = chain.iter().any(|(_, p)| p.default_action != Action::Allow);
    for name in names {
        let d = decide::effective(chain, name);
        if d.action != Action::Allow || d.conditional {
            effective.insert(name.to_string(), d);
        }
    }
    if denies_by_default {
        effective.insert("*".into(), decide::effective(chain, "*"));
    }
    effective
}
