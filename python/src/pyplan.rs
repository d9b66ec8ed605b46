//! Plans as Python objects: `Plan`, its `Level`s and `Subnet`s. A level keeps the whole plan
//! (shared, immutable) so it can answer seccomp questions that depend on its ancestors.

use crate::errors::to_py;
use crate::json;
use lxnest::api;
use lxnest::plan::model::{BridgePlan, LevelPlan, Plan as RsPlan};
use pyo3::exceptions::PyKeyError;
use pyo3::prelude::*;
use pyo3::types::PyDict;
use std::sync::Arc;

/// A planned stack.
#[pyclass(module = "lxnest", frozen)]
pub struct Plan {
    plan: Arc<RsPlan>,
    notes: Vec<String>,
}

impl Plan {
    /// Wraps a plan and the loader's notes.
    pub fn new(planned: api::Planned) -> Plan {
        Plan {
            plan: Arc::new(planned.plan),
            notes: planned.notes,
        }
    }
}

/// A bridge and its subnet: the host's (for level-1 containers) or a nesting host's own.
#[pyclass(module = "lxnest", frozen, get_all)]
#[derive(Clone)]
pub struct Subnet {
    /// Bridge interface name.
    bridge: String,
    /// The subnet, `10.171.4.0/24`.
    subnet: String,
    /// The bridge's address with prefix.
    address: String,
    /// Path of the container that owns the bridge; None for the planner's own level.
    owner: Option<String>,
    /// Level of the containers attached to it.
    level: u32,
    /// Whether the subnet is masqueraded.
    nat: bool,
    /// MTU.
    mtu: u32,
    /// Where the choice came from (`picked`, or the spec's file:line).
    origin: String,
}

fn subnet(b: &BridgePlan, owner: Option<&LevelPlan>, base: u32) -> Subnet {
    Subnet {
        bridge: b.name.clone(),
        subnet: b.subnet.to_string(),
        address: b.address.to_string(),
        owner: owner.map(|o| o.path.clone()),
        level: owner.map(|o| o.depth).unwrap_or(base) + 1,
        nat: b.nat,
        mtu: b.mtu,
        origin: b.origin.to_string(),
    }
}

#[pymethods]
impl Subnet {
    fn __repr__(&self) -> String {
        format!(
            "Subnet(bridge={:?}, subnet={:?}, owner={})",
            self.bridge,
            self.subnet,
            self.owner
                .as_deref()
                .map(|o| format!("{o:?}"))
                .unwrap_or_else(|| "None".into())
        )
    }
}

#[pymethods]
impl Plan {
    /// Stack name.
    #[getter]
    fn stack(&self) -> &str {
        &self.plan.stack
    }

    /// The spec the plan came from.
    #[getter]
    fn source(&self) -> &str {
        &self.plan.source
    }

    /// The level the planner sits at (0 on the host).
    #[getter]
    fn base_level(&self) -> u32 {
        self.plan.base_level
    }

    /// Every container, parents before children.
    #[getter]
    fn levels(&self) -> Vec<Level> {
        (0..self.plan.containers.len())
            .map(|index| Level {
                plan: self.plan.clone(),
                index,
            })
            .collect()
    }

    /// Every bridge subnet of the plan: the planner's own bridge first, then each nesting host's.
    #[getter]
    fn subnets(&self) -> Vec<Subnet> {
        let p = &self.plan;
        let own = p.host_bridge.iter().map(|b| subnet(b, None, p.base_level));
        let hosts = p.containers.iter().filter_map(|c| {
            c.network
                .own_bridge
                .as_ref()
                .map(|b| subnet(b, Some(c), p.base_level))
        });
        own.chain(hosts).collect()
    }

    /// Warnings of the planner.
    #[getter]
    fn warnings(&self) -> Vec<String> {
        self.plan.warnings.clone()
    }

    /// Notes of the input loader (LXC keys read but not enforced, ...).
    #[getter]
    fn notes(&self) -> Vec<String> {
        self.notes.clone()
    }

    /// The container with this path (`juju-host/unit-1`) or name; KeyError when there is none.
    fn level(&self, path: &str) -> PyResult<Level> {
        let c = &self.plan.containers;
        let index = c
            .iter()
            .position(|l| l.path == path)
            .or_else(|| c.iter().position(|l| l.name == path))
            .ok_or_else(|| PyKeyError::new_err(path.to_string()))?;
        Ok(Level {
            plan: self.plan.clone(),
            index,
        })
    }

    /// The plan as JSON (what `lxnest plan --output json` prints, without its `schema` key).
    fn to_json(&self) -> PyResult<String> {
        serde_json::to_string_pretty(&*self.plan)
            .map_err(|e| crate::errors::LxnestError::new_err(e.to_string()))
    }

    /// The plan as a dict.
    fn to_dict<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        json::to_py(py, &*self.plan)
    }

    fn __len__(&self) -> usize {
        self.plan.containers.len()
    }

    fn __repr__(&self) -> String {
        format!(
            "Plan(stack={:?}, levels={})",
            self.plan.stack,
            self.plan.containers.len()
        )
    }
}

/// One container of a plan.
#[pyclass(module = "lxnest", frozen)]
pub struct Level {
    plan: Arc<RsPlan>,
    index: usize,
}

impl Level {
    fn lp(&self) -> &LevelPlan {
        &self.plan.containers[self.index]
    }
}

#[pymethods]
impl Level {
    /// Own name.
    #[getter]
    fn name(&self) -> &str {
        &self.lp().name
    }

    /// Path from level 1 (`juju-host/unit-1`).
    #[getter]
    fn path(&self) -> &str {
        &self.lp().path
    }

    /// Nesting level (1 for the containers the planner starts).
    #[getter]
    fn depth(&self) -> u32 {
        self.lp().depth
    }

    /// Path of the parent container; None at level 1.
    #[getter]
    fn parent(&self) -> Option<&str> {
        self.lp().parent.as_deref()
    }

    /// The nested runtime this container hosts, if any.
    #[getter]
    fn runtime(&self) -> Option<&'static str> {
        self.lp().runtime.map(|r| r.as_str())
    }

    /// Where the container was declared (file:line).
    #[getter]
    fn origin(&self) -> String {
        self.lp().origin.to_string()
    }

    /// AppArmor profile name.
    #[getter]
    fn apparmor_profile(&self) -> &str {
        &self.lp().apparmor.profile
    }

    /// The stacked AppArmor label the container's processes carry.
    #[getter]
    fn apparmor_label(&self) -> &str {
        &self.lp().apparmor.label
    }

    /// The AppArmor policy namespace the profile is loaded into; None for the root namespace.
    #[getter]
    fn apparmor_namespace(&self) -> Option<&str> {
        self.lp().apparmor.namespace.as_deref()
    }

    /// The rendered AppArmor profile.
    #[getter]
    fn apparmor_text(&self) -> &str {
        &self.lp().apparmor.text
    }

    /// Subnets this container is on or owns: its interface's network and its own bridge's.
    #[getter]
    fn subnets(&self) -> Vec<String> {
        let n = &self.lp().network;
        n.address
            .map(|a| a.trunc().to_string())
            .into_iter()
            .chain(n.own_bridge.as_ref().map(|b| b.subnet.to_string()))
            .collect()
    }

    /// Its address with prefix, when it is on a bridge.
    #[getter]
    fn address(&self) -> Option<String> {
        self.lp().network.address.map(|a| a.to_string())
    }

    /// Network mode: `bridge`, `loopback`, `none` or `user-nic`.
    #[getter]
    fn network_mode(&self) -> &'static str {
        self.lp().network.mode.as_str()
    }

    /// cgroup path relative to the launcher's cgroup.
    #[getter]
    fn cgroup_path(&self) -> &str {
        &self.lp().cgroup.path
    }

    /// Whether the cgroup subtree is delegated to the container.
    #[getter]
    fn cgroup_delegated(&self) -> bool {
        self.lp().cgroup.delegate
    }

    /// Effective limits: `memory` (bytes), `pids`, `cpu` (cores); None where unlimited.
    #[getter]
    fn limits<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let l = &self.lp().cgroup.limits;
        let d = PyDict::new(py);
        d.set_item("memory", l.memory)?;
        d.set_item("pids", l.pids)?;
        d.set_item("cpu", l.cpu.map(|(q, p)| q as f64 / p as f64))?;
        Ok(d)
    }

    /// Capabilities kept.
    #[getter]
    fn capabilities(&self) -> Vec<String> {
        self.lp().capabilities.clone()
    }

    /// The init's command.
    #[getter]
    fn command(&self) -> Vec<String> {
        self.lp().init.command.clone()
    }

    /// The effective seccomp decision for `syscall` with every ancestor's filter stacked:
    /// `allow`, `errno 1`, `kill`, `notify` ...
    fn seccomp_decision(&self, py: Python<'_>, syscall: &str) -> PyResult<String> {
        let plan = self.plan.clone();
        let path = self.lp().path.clone();
        let syscall = syscall.to_string();
        py.detach(move || api::explain_syscall(&plan, &path, &syscall))
            .map(|a| a.effective.to_string())
            .map_err(to_py)
    }

    /// The full answer of `lxnest explain` for a syscall, as a dict (every level's filter).
    fn explain<'py>(&self, py: Python<'py>, syscall: &str) -> PyResult<Bound<'py, PyAny>> {
        let a = api::explain_syscall(&self.plan, &self.lp().path, syscall).map_err(to_py)?;
        json::to_py(py, &a)
    }

    /// The level's plan as a dict.
    fn to_dict<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        json::to_py(py, self.lp())
    }

    fn __repr__(&self) -> String {
        format!(
            "Level(path={:?}, depth={})",
            self.lp().path,
            self.lp().depth
        )
    }
}
