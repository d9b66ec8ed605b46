//! Children of a nesting host that recorded no `state.json` (a nesting host's
//! `lxnest init-nested` starts them from its hand-off plan without a monitor): their state is
//! rebuilt from what is certain. The plan comes from the hand-off at /run/lxnest/plan.json in the
//! nesting host; the init is the child of the host's init that is a pid-namespace init (NSpid
//! ends in 1) and sits in the planned cgroup; the cgroup directories come from its
//! /proc/PID/cgroup, mapped onto our own cgroup mounts (so they are already paths we can open).

use super::level::{nspid, ppid, Level, NESTED_STATE_DIR};
use crate::cgroup::layout::{own_from, parse_mountinfo, parse_proc_cgroup};
use crate::launch::nested::{localize, Handoff};
use crate::launch::state::{self, State};
use crate::plan::model::LevelPlan;

/// The hand-off a nesting host received, read through its init's root.
fn handoff(parent: &Level) -> Option<Handoff> {
    let p = std::path::Path::new(NESTED_STATE_DIR).join("plan.json");
    serde_json::from_str(&super::inroot::read_in(parent.host_pid, &p).ok()?).ok()
}

/// Names of the children the nesting host `parent` was handed.
pub fn child_names(parent: &Level) -> Vec<String> {
    let Some(h) = handoff(parent) else {
        return Vec::new();
    };
    h.plan
        .children(&h.own_path)
        .map(|c| c.name.clone())
        .collect()
}

/// Whether `cgroup_text` (a /proc/PID/cgroup) puts the process in `plan_path` or its init leaf.
pub fn in_planned_cgroup(cgroup_text: &str, plan: &LevelPlan) -> bool {
    let want = format!("/{}", plan.cgroup.path.trim_matches('/'));
    let leaf = plan
        .cgroup
        .init_leaf
        .as_ref()
        .map(|l| format!("{want}/{l}"));
    cgroup_text
        .lines()
        .filter_map(|l| l.splitn(3, ':').nth(2))
        .any(|p| p.ends_with(&want) || leaf.as_ref().is_some_and(|lf| p.ends_with(lf)))
}

/// The level for child `name` of the nesting host `parent`, when it runs.
pub fn rebuild(parent: &Level, name: &str) -> Option<Level> {
    let h = handoff(parent)?;
    let host_plan = h.plan.get(&h.own_path)?;
    let planned = h.plan.children(&h.own_path).find(|c| c.name == name)?;
    let depth = nspid(parent.host_pid)?.len();
    let rd = std::fs::read_dir("/proc").ok()?;
    let pid = rd
        .flatten()
        .filter_map(|e| e.file_name().to_str().and_then(|s| s.parse::<i32>().ok()))
        .find(|&pid| {
            ppid(pid) == Some(parent.host_pid)
                && nspid(pid).is_some_and(|ns| ns.len() == depth + 1 && ns.last() == Some(&1))
                && std::fs::read_to_string(format!("/proc/{pid}/cgroup"))
                    .is_ok_and(|t| in_planned_cgroup(&t, planned))
        })?;
    let inner_pid = *nspid(pid)?.get(depth - 1)?;
    let mounts = parse_mountinfo(&std::fs::read_to_string("/proc/self/mountinfo").ok()?).ok()?;
    let lines =
        parse_proc_cgroup(&std::fs::read_to_string(format!("/proc/{pid}/cgroup")).ok()?).ok()?;
    let plan = localize(planned, host_plan);
    let cgroups = own_from(&mounts, &lines)
        .hierarchies
        .iter()
        .filter_map(|hier| {
            let dir = hier.own_dir().ok()?;
            // The container's directory, not the init leaf it may sit in.
            let dir = match &plan.cgroup.init_leaf {
                Some(l) if dir.ends_with(l) => dir.parent()?.to_path_buf(),
                _ => dir,
            };
            Some((hier.label(), dir))
        })
        .collect();
    let st = State {
        name: name.into(),
        path: planned.path.clone(),
        level: planned.depth,
        status: "running".into(),
        pid: inner_pid,
        pid_start: state::start_time(pid)?,
        monitor_pid: parent.state.pid,
        cgroups,
        veth: None,
        bridge_created: None,
        enforced: Default::default(),
        apparmor: String::new(),
        cgroup_note: None,
        plan,
    };
    Some(Level {
        state: st,
        host_pid: pid,
        parent_pid: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn planned_cgroup_match() {
        let mut lp =
            crate::launch::defaults::level_plan("u1", Vec::new(), false).expect("ad hoc plan");
        lp.cgroup.path = "lxnest/host/u1".into();
        assert!(in_planned_cgroup(
            "1:cpu:/lxnest/host/u1\n0::/lxnest/host/u1\n",
            &lp
        ));
        assert!(!in_planned_cgroup("0::/lxnest/host/u10\n", &lp));
        lp.cgroup.init_leaf = Some("init".into());
        assert!(in_planned_cgroup("0::/x/lxnest/host/u1/init\n", &lp));
    }
}
