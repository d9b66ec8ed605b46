//! cgroup placement and limits: a path under the parent's, limits capped by every ancestor, and
//! delegation with a leaf for the nesting host's own processes.

use crate::origin::Origin;
use crate::plan::error::Finding;
use crate::plan::host::CgroupLayout;
use crate::plan::model::{CgroupPlan, LimitPlan, Premount};
use crate::plan::needs::Needs;
use crate::spec::model::ContainerSpec;
use crate::spec::validate::parse_bytes;

/// CPU bandwidth period in microseconds (the kernel's default); the spec loader checks quotas.
pub use crate::spec::validate::{CPU_PERIOD, CPU_QUOTA_MIN};

/// Tasks a level-1 container may have when its spec sets no `limits.pids` (a fork bomb must
/// not take the host's pid space; systemd's own default for a service is of this order).
pub const DEFAULT_PIDS: u64 = 1024;
/// [`DEFAULT_PIDS`] for a nesting host, which runs whole containers of its own.
pub const DEFAULT_PIDS_NESTING: u64 = 4096;
/// Memory of a level-1 container whose spec sets no `limits.memory`.
pub const DEFAULT_MEMORY: u64 = 4 << 30;
/// [`DEFAULT_MEMORY`] for a nesting host.
pub const DEFAULT_MEMORY_NESTING: u64 = 8 << 30;

/// Where a nesting host's own processes live: cgroup v2 forbids processes in a node that enables
/// controllers for its children.
pub const INIT_LEAF: &str = "init";

/// The container's cgroup plan; `parent` is the parent's plan (None at level 1).
pub fn plan(
    c: &ContainerSpec,
    path: &str,
    depth: u32,
    needs: &Needs,
    layout: &CgroupLayout,
    parent: Option<&CgroupPlan>,
) -> Result<CgroupPlan, Vec<Finding>> {
    let limits = limits(c, path, depth, parent.map(|p| &p.limits))?;
    let cg_path = match parent {
        Some(p) => format!("{}/{}", p.path, c.name),
        None => format!("lxnest/{}", c.name),
    };
    let mut controllers: Vec<String> = Vec::new();
    let mut want = |name: &str| {
        if !controllers.iter().any(|c| c == name) {
            controllers.push(name.to_string());
        }
    };
    if limits.memory.is_some() {
        want("memory");
    }
    if limits.pids.is_some() {
        want("pids");
    }
    if limits.cpu.is_some() {
        want("cpu");
    }
    needs.controllers.iter().for_each(|c| want(c));
    let available =
        |c: &String| layout.v1_controllers.contains(c) || layout.unified_controllers.contains(c);
    controllers.retain(available);
    controllers.sort();
    let delegate = needs.delegate;
    Ok(CgroupPlan {
        path: cg_path,
        mode: layout.mode,
        controllers,
        limits,
        delegate,
        init_leaf: delegate.then(|| INIT_LEAF.to_string()),
        premount: if delegate {
            Premount::Namespaced
        } else {
            Premount::ReadOnly
        },
    })
}

/// The container's limits: its own where set (never above the parent's), else the parent's.
fn limits(
    c: &ContainerSpec,
    path: &str,
    depth: u32,
    parent: Option<&LimitPlan>,
) -> Result<LimitPlan, Vec<Finding>> {
    use crate::spec::model::{UNLIMITED, UNLIMITED_WORD};
    let memory_unlimited = c.limits.memory.as_deref() == Some(UNLIMITED_WORD);
    let pids_unlimited = c.limits.pids == Some(UNLIMITED);
    let own = LimitPlan {
        memory: c.limits.memory.as_deref().and_then(|m| parse_bytes(m).ok()),
        pids: c.limits.pids.filter(|n| *n != UNLIMITED),
        cpu: c
            .limits
            .cpu
            .map(|cores| ((cores * CPU_PERIOD as f64).round() as u64, CPU_PERIOD)),
    };
    let Some(p) = parent else {
        // Level 1: lxnest's defaults unless the spec says `unlimited`; below, a container
        // inherits its parent's limits, which it can never exceed.
        let nesting = c.runtime.is_some() || !c.children.is_empty();
        let (mem, pids) = if nesting {
            (DEFAULT_MEMORY_NESTING, DEFAULT_PIDS_NESTING)
        } else {
            (DEFAULT_MEMORY, DEFAULT_PIDS)
        };
        return Ok(LimitPlan {
            memory: own.memory.or((!memory_unlimited).then_some(mem)),
            pids: own.pids.or((!pids_unlimited).then_some(pids)),
            cpu: own.cpu,
        });
    };
    let mut findings = Vec::new();
    let mut over = |what: &str, mine: String, theirs: String| {
        findings.push(Finding {
            container: path.into(),
            level: depth,
            rule: format!("limits.{what}"),
            origin: c.origin_of(&format!("limits.{what}")),
            message: format!("{what} limit {mine} is above the parent's {theirs}"),
            fix: format!("lower {what} to at most {theirs}, or raise the parent's"),
        })
    };
    if let (Some(m), Some(pm)) = (own.memory, p.memory) {
        if m > pm {
            over("memory", human(m), human(pm));
        }
    }
    if let (Some(n), Some(pn)) = (own.pids, p.pids) {
        if n > pn {
            over("pids", n.to_string(), pn.to_string());
        }
    }
    if let (Some((q, per)), Some((pq, pper))) = (own.cpu, p.cpu) {
        if q * pper > pq * per {
            over(
                "cpu",
                format!("{:.2}", q as f64 / per as f64),
                format!("{:.2}", pq as f64 / pper as f64),
            );
        }
    }
    if !findings.is_empty() {
        return Err(findings);
    }
    Ok(LimitPlan {
        memory: own.memory.or(p.memory),
        pids: own.pids.or(p.pids),
        cpu: own.cpu.or(p.cpu),
    })
}

/// Bytes as the largest whole unit (`4G`, `512M`).
pub fn human(bytes: u64) -> String {
    for (unit, shift) in [("T", 40), ("G", 30), ("M", 20), ("K", 10)] {
        if bytes >= 1 << shift && bytes.is_multiple_of(1 << shift) {
            return format!("{}{unit}", bytes >> shift);
        }
    }
    bytes.to_string()
}

/// Origin used for limits lxnest inherited rather than read.
pub fn inherited() -> Origin {
    Origin::builtin("inherited")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::host::HostSnapshot;
    use crate::spec::model::Limits;

    fn spec(memory: Option<&str>, pids: Option<u64>, cpu: Option<f64>) -> ContainerSpec {
        ContainerSpec {
            name: "c".into(),
            limits: Limits {
                memory: memory.map(String::from),
                pids,
                cpu,
            },
            ..Default::default()
        }
    }

    #[test]
    fn child_inherits_and_never_exceeds() {
        let layout = HostSnapshot::laptop().cgroup;
        let parent = plan(
            &spec(Some("4G"), Some(100), Some(2.0)),
            "p",
            1,
            &Needs::default(),
            &layout,
            None,
        )
        .unwrap();
        assert_eq!(parent.path, "lxnest/c");
        assert_eq!(parent.limits.cpu, Some((200_000, CPU_PERIOD)));
        let child = plan(
            &spec(Some("1G"), None, None),
            "p/c",
            2,
            &Needs::default(),
            &layout,
            Some(&parent),
        )
        .unwrap();
        assert_eq!(child.path, "lxnest/c/c");
        assert_eq!(child.limits.memory, Some(1 << 30));
        assert_eq!(child.limits.pids, Some(100), "inherited");
        let err = plan(
            &spec(Some("8G"), Some(200), Some(3.0)),
            "p/c",
            2,
            &Needs::default(),
            &layout,
            Some(&parent),
        )
        .unwrap_err();
        assert_eq!(err.len(), 3);
        assert!(
            err[0].message.contains("8G is above the parent's 4G"),
            "{}",
            err[0].message
        );
    }

    #[test]
    fn delegation_gets_a_leaf_and_a_namespaced_premount() {
        let layout = HostSnapshot::laptop().cgroup;
        let needs = Needs {
            delegate: true,
            ..Default::default()
        };
        let p = plan(&spec(None, None, None), "c", 1, &needs, &layout, None).unwrap();
        assert_eq!(p.init_leaf.as_deref(), Some(INIT_LEAF));
        assert_eq!(p.premount, Premount::Namespaced);
        let q = plan(
            &spec(Some("1G"), Some(crate::spec::model::UNLIMITED), None),
            "c",
            1,
            &Needs::default(),
            &layout,
            None,
        )
        .unwrap();
        assert_eq!((q.init_leaf, q.premount), (None, Premount::ReadOnly));
        assert_eq!(q.controllers, vec!["memory".to_string()]);
    }

    #[test]
    fn level_one_gets_default_limits_unless_unlimited() {
        let layout = HostSnapshot::laptop().cgroup;
        let n = Needs::default();
        let p = plan(&spec(None, None, None), "c", 1, &n, &layout, None).unwrap();
        assert_eq!(
            (p.limits.memory, p.limits.pids),
            (Some(DEFAULT_MEMORY), Some(DEFAULT_PIDS))
        );
        let mut s = spec(Some("unlimited"), Some(crate::spec::model::UNLIMITED), None);
        let p = plan(&s, "c", 1, &n, &layout, None).unwrap();
        assert_eq!((p.limits.memory, p.limits.pids), (None, None));
        // A nesting host gets more; its children inherit (and cannot exceed) its limits.
        s = spec(None, None, None);
        s.runtime = Some(crate::spec::model::Runtime::Lxnest);
        let host = plan(&s, "h", 1, &n, &layout, None).unwrap();
        assert_eq!(host.limits.pids, Some(DEFAULT_PIDS_NESTING));
        let child = plan(&spec(None, None, None), "h/c", 2, &n, &layout, Some(&host)).unwrap();
        assert_eq!(child.limits.memory, Some(DEFAULT_MEMORY_NESTING));
    }
}
