//! Containers on this machine: list, inspect, start (from a spec or by name), stop, destroy.
//! The launcher ([`crate::launch`]) does the work; this module adds the [`super::registry`] of
//! defined containers so a stopped container stays known.

use super::error::{ApiError, Result};
use super::registry::{self, Defined};
use super::reserve;
use crate::launch::{monitor, nested, ops, state, LaunchError, StartOptions};
use crate::plan::model::LevelPlan;
use serde::Serialize;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Where a container is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ContainerState {
    /// Its init runs.
    Running,
    /// Its monitor is stopping it.
    Stopping,
    /// A state directory is left but its init is gone (a killed monitor): `destroy` cleans up.
    Stale,
    /// Defined (started through this API before), not running.
    Stopped,
}

impl ContainerState {
    /// `running`, `stopping`, `stale` or `stopped`.
    pub fn as_str(self) -> &'static str {
        match self {
            ContainerState::Running => "running",
            ContainerState::Stopping => "stopping",
            ContainerState::Stale => "stale",
            ContainerState::Stopped => "stopped",
        }
    }
}

/// One line of `lxnest ls`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ContainerInfo {
    /// Container name (its state directory's name).
    pub name: String,
    /// Its path in the plan (`juju-host/unit-1`).
    pub path: String,
    /// Running, stopping, stale or stopped.
    pub state: ContainerState,
    /// Nesting level.
    pub level: u32,
    /// The init's pid in our pid namespace, while it runs.
    pub pid: Option<i32>,
    /// IPv4 addresses: its interface's and, for a nesting host, its own bridge's.
    pub addresses: Vec<String>,
    /// cgroup path relative to the launcher's cgroup.
    pub cgroup: String,
}

/// What `lxnest info` shows: the listing line, the launcher's state while it runs, the plan.
#[derive(Debug, Clone, Serialize)]
pub struct Details {
    /// The listing line.
    #[serde(flatten)]
    pub info: ContainerInfo,
    /// The launcher's state (enforced policies, cgroups, veth), while a state directory exists.
    pub runtime: Option<state::State>,
    /// Whether a definition keeps it known when stopped.
    pub defined: bool,
    /// The container's plan.
    pub plan: LevelPlan,
}

/// How to start.
#[derive(Debug, Clone)]
pub struct StartOpts {
    /// State directory (`-P`).
    pub state_dir: PathBuf,
    /// Start only this container of the spec (name or path); default: every level-1 container.
    pub name: Option<String>,
    /// Start nesting hosts with `lxnest init-nested`, which starts their children.
    pub nested: bool,
    /// Stay in the foreground (one container) and return its init's exit code.
    pub foreground: bool,
    /// Refuse to start without AppArmor instead of logging and going on.
    pub require_apparmor: bool,
    /// Time between SIGTERM and SIGKILL when the container is stopped.
    pub grace: Duration,
}

impl Default for StartOpts {
    fn default() -> Self {
        StartOpts {
            state_dir: state::default_dir(),
            name: None,
            nested: false,
            foreground: false,
            require_apparmor: false,
            grace: monitor::DEFAULT_GRACE,
        }
    }
}

/// A container [`start`] started.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StartedContainer {
    /// Its name.
    pub name: String,
    /// Its init's pid (detached starts).
    pub pid: Option<i32>,
    /// Its init's exit code (foreground starts, once it ended).
    pub exit_code: Option<i32>,
}

fn info_of(name: &str, plan: &LevelPlan, st: Option<&state::State>) -> ContainerInfo {
    let (state, pid) = match st {
        Some(s) if state::alive(s) && s.status == "stopping" => {
            (ContainerState::Stopping, Some(s.pid))
        }
        Some(s) if state::alive(s) => (ContainerState::Running, Some(s.pid)),
        Some(_) => (ContainerState::Stale, None),
        None => (ContainerState::Stopped, None),
    };
    let net = &plan.network;
    let addresses = net
        .address
        .iter()
        .chain(net.own_bridge.as_ref().map(|b| &b.address))
        .map(|a| a.addr().to_string())
        .collect();
    ContainerInfo {
        name: name.to_string(),
        path: plan.path.clone(),
        state,
        level: plan.depth,
        pid,
        addresses,
        cgroup: plan.cgroup.path.clone(),
    }
}

/// Every container under `state_dir`: those with a state directory (running, stopping, stale)
/// and the defined ones that are stopped, sorted by name.
pub fn containers(state_dir: &Path) -> Vec<ContainerInfo> {
    let states = state::list(state_dir);
    let mut out: Vec<ContainerInfo> = states
        .iter()
        .map(|s| info_of(&s.name, &s.plan, Some(s)))
        .collect();
    for (name, d) in registry::list(state_dir) {
        if states.iter().any(|s| s.name == name) {
            continue;
        }
        if let Some(lp) = d.level() {
            out.push(info_of(&name, lp, None));
        }
    }
    out.sort_by(|a, b| a.name.cmp(&b.name));
    out
}

/// The container `name`: its listing line, runtime state and plan.
pub fn info(state_dir: &Path, name: &str) -> Result<Details> {
    let defined = registry::load(state_dir, name)?;
    match state::read(state_dir, name) {
        Ok(st) => Ok(Details {
            info: info_of(name, &st.plan, Some(&st)),
            plan: st.plan.clone(),
            runtime: Some(st),
            defined: defined.is_some(),
        }),
        Err(LaunchError::NotFound(n)) => {
            let lp = defined
                .as_ref()
                .and_then(|d| d.level())
                .ok_or(LaunchError::NotFound(n))?;
            Ok(Details {
                info: info_of(name, lp, None),
                runtime: None,
                defined: true,
                plan: lp.clone(),
            })
        }
        Err(e) => Err(e.into()),
    }
}

/// Whether `s` names a spec rather than a defined container.
fn is_spec(s: &str) -> bool {
    let p = Path::new(s);
    s.starts_with(crate::spec::load::BUILTIN_PREFIX)
        || s.contains('/')
        || p.exists()
        || p.extension()
            .is_some_and(|e| ["yaml", "yml", "json", "conf"].iter().any(|x| e == *x))
}

/// Starts containers: from a spec (every level-1 container, or `opts.name`), or a defined
/// container by name. Each one started is defined from then on, so it is still listed, and can
/// be started again or executed in, after it stops.
pub fn start(spec_or_name: &str, opts: &StartOpts) -> Result<Vec<StartedContainer>> {
    // Planning and recording what the plan takes happen under the registry's lock, so two starts
    // at once never pick the same subnet or ids (docs/registry.md).
    let (targets, mut held): (Vec<Defined>, _) = if is_spec(spec_or_name) {
        let held = reserve::lock()?;
        let plan = plan_locked(Path::new(spec_or_name), &held)?;
        let paths: Vec<String> = plan
            .containers
            .iter()
            .filter(|c| match &opts.name {
                Some(n) => &c.name == n || &c.path == n,
                None => c.parent.is_none(),
            })
            .map(|c| c.path.clone())
            .collect();
        if paths.is_empty() {
            return Err(ApiError::NothingToStart {
                spec: spec_or_name.into(),
                name: opts.name.clone(),
            });
        }
        let targets = paths
            .into_iter()
            .map(|path| Defined {
                plan: plan.clone(),
                path,
                nested: opts.nested,
                require_apparmor: opts.require_apparmor,
                grace_secs: opts.grace.as_secs(),
            })
            .collect();
        (targets, held)
    } else {
        let d = registry::load(&opts.state_dir, spec_or_name)?
            .ok_or_else(|| LaunchError::NotFound(spec_or_name.into()))?;
        let target = Defined {
            nested: d.nested || opts.nested,
            require_apparmor: d.require_apparmor || opts.require_apparmor,
            ..d
        };
        (vec![target], reserve::lock()?)
    };
    let mut out = Vec::new();
    for d in targets {
        out.push(start_one(&d, opts, &mut held)?);
        if opts.foreground {
            break;
        }
    }
    Ok(out)
}

/// The plan of a spec against this machine and everything reserved in the registry (a plan JSON
/// is taken as it is; its claims are checked when recorded).
fn plan_locked(spec: &Path, held: &crate::registry::Held) -> Result<crate::plan::model::Plan> {
    if spec.extension().is_some_and(|e| e == "json") {
        return super::plan(spec);
    }
    let loaded = crate::input::load(spec)?;
    let host = reserve::snapshot(held)?;
    Ok(crate::plan::plan(&loaded.stack, &host)?)
}

fn start_one(
    d: &Defined,
    opts: &StartOpts,
    held: &mut crate::registry::Held,
) -> Result<StartedContainer> {
    let name = d
        .level()
        .map(|c| c.name.clone())
        .ok_or_else(|| LaunchError::NotFound(d.path.clone()))?;
    // The detached monitor reports its errors as text, which loses their kind; an existing
    // container is the one callers branch on, so it is told apart here first. The launcher's
    // own state-directory lock still decides when two starts race.
    if !opts.foreground && state::dir(&opts.state_dir, &name)?.exists() {
        return Err(LaunchError::Exists(name).into());
    }
    // Recorded before anything starts; a plan file or definition whose id block someone else
    // holds now gets a free one (see reserve::record).
    let d = &reserve::record(held, d, &name, &opts.state_dir)?;
    let mut c = d
        .level()
        .cloned()
        .ok_or_else(|| LaunchError::NotFound(d.path.clone()))?;
    let nested_json = if d.nested {
        nested::handoff_for(&d.plan, &c)
    } else {
        None
    };
    if nested_json.is_some() {
        c.init.command = vec!["lxnest".into(), "init-nested".into()];
    }
    let sopts = StartOptions {
        state_dir: opts.state_dir.clone(),
        require_apparmor: d.require_apparmor,
        bridge: d.plan.host_bridge.clone(),
        nested_json,
        ..Default::default()
    };
    let grace = Duration::from_secs(d.grace_secs);
    let (pid, exit_code) = if opts.foreground {
        // This process holds the reservations while the container runs; the lock goes now, as
        // another start only needs to see them recorded (a foreground start runs for long).
        held.unlock();
        let code = crate::launch::run_foreground(&c, &sopts, grace);
        reserve::release(&opts.state_dir, &c.name)?;
        (None, Some(code?))
    } else {
        // Detached: the lock is held until the monitor reports that the init runs, so the
        // bridge and the id map exist before the next start reads the host.
        let pid = crate::launch::start_detached(&c, &sopts, grace);
        reserve::started(held, &opts.state_dir, &c.name, pid.is_ok())?;
        (Some(pid?), None)
    };
    registry::save(&opts.state_dir, &c.name, d)?;
    Ok(StartedContainer {
        name: c.name,
        pid,
        exit_code,
    })
}

/// Stops `name` (SIGTERM to its init, SIGKILL of its cgroup after the grace time) and waits until
/// everything it had is removed. A defined container that is already stopped is left as it is.
pub fn stop(state_dir: &Path, name: &str, grace: Duration) -> Result<()> {
    let r = match ops::stop(state_dir, name, grace) {
        Err(LaunchError::NotFound(_)) if registry::load(state_dir, name)?.is_some() => Ok(()),
        r => r,
    };
    // Its subnets and ids are free again once its monitor is gone.
    if r.is_ok() {
        reserve::release(state_dir, name)?;
    }
    Ok(r?)
}

/// Stops `name` if it runs, removes whatever is left of it, and forgets its definition.
pub fn destroy(state_dir: &Path, name: &str, grace: Duration) -> Result<()> {
    let defined = registry::load(state_dir, name)?;
    // The plan tells where an unpacked tarball tree is and whose ids it holds; a one-shot `run`
    // leaves no definition, and its tree was made with the default map.
    let plan = defined
        .as_ref()
        .and_then(|d| d.level().cloned())
        .or_else(|| {
            crate::launch::state::read(state_dir, name)
                .ok()
                .map(|s| s.plan)
        });
    let stopped = match ops::destroy(state_dir, name, grace) {
        Ok(()) => true,
        Err(LaunchError::NotFound(_)) => defined.is_some(),
        Err(e) => return Err(e.into()),
    };
    registry::remove(state_dir, name)?;
    reserve::release(state_dir, name)?;
    let tree_path = plan.as_ref().map_or(name, |p| p.path.as_str());
    let tree = crate::rootfs::tar_tree(state_dir, tree_path);
    let map = match &plan {
        Some(p) => p.idmap.clone(),
        None => Some(crate::launch::defaults::idmap(false)),
    };
    let had_tree =
        crate::launch::tarroot::remove(map.as_ref(), &tree).map_err(|e| LaunchError::State {
            container: name.into(),
            path: tree.display().to_string(),
            message: e.to_string(),
        })?;
    if stopped || had_tree {
        Ok(())
    } else {
        Err(LaunchError::NotFound(name.into()).into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn specs_and_names_are_told_apart() {
        assert!(is_spec("builtin:juju-laptop"));
        assert!(is_spec("./x"));
        assert!(is_spec("stack.yaml"));
        assert!(!is_spec("web-1"));
    }

    #[test]
    fn unknown_names_are_not_found_and_stopped_definitions_list() {
        let dir = tempfile::tempdir().expect("tempdir");
        let opts = StartOpts {
            state_dir: dir.path().into(),
            ..Default::default()
        };
        let e = start("nope", &opts).expect_err("unknown");
        assert_eq!(e.kind(), super::super::ErrorKind::ContainerNotFound);
        assert_eq!(
            info(dir.path(), "nope").map_err(|e| e.kind()).err(),
            Some(super::super::ErrorKind::ContainerNotFound)
        );
        let plan = super::super::plan_with(Path::new("builtin:juju-laptop"), Some("laptop"))
            .expect("plan")
            .plan;
        let lp = plan.containers[0].clone();
        let d = Defined {
            plan,
            path: lp.path.clone(),
            nested: false,
            require_apparmor: false,
            grace_secs: 1,
        };
        registry::save(dir.path(), &lp.name, &d).expect("save");
        let all = containers(dir.path());
        assert_eq!(all.len(), 1);
        assert_eq!((all[0].state, all[0].pid), (ContainerState::Stopped, None));
        assert_eq!(info(dir.path(), &lp.name).expect("info").plan, lp);
        stop(dir.path(), &lp.name, Duration::from_secs(1)).expect("stop of a stopped one");
        destroy(dir.path(), &lp.name, Duration::from_secs(1)).expect("destroy");
        assert!(containers(dir.path()).is_empty());
        assert_eq!(
            destroy(dir.path(), &lp.name, Duration::from_secs(1))
                .map_err(|e| e.kind())
                .err(),
            Some(super::super::ErrorKind::ContainerNotFound)
        );
    }
}
