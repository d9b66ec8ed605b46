//! The start job of `lxnest __monitor` (see `launch::helper` for the protocol): a
//! multi-threaded caller's start runs there, in a fresh single-threaded process. Both sides are
//! here: [`delegate`] hands a start over, [`start_job`] runs it with the monitor's in-process
//! start.

use super::error::{LaunchError, Result};
use super::helper::{spawn, HelperError, Spawned, JOB_START};
use super::start::StartOptions;
use crate::cgroup::{Base, CreateOptions};
use crate::plan::model::{BridgePlan, LevelPlan};
use serde::{Deserialize, Serialize};
use std::os::fd::OwnedFd;
use std::path::PathBuf;
use std::time::Duration;

/// A start, as `lxnest __monitor` is asked to run it.
#[derive(Debug, Serialize, Deserialize)]
pub struct StartJob {
    plan: LevelPlan,
    state_dir: PathBuf,
    require_apparmor: bool,
    /// `own`, `own-parent` or `mount-root` ([`Base`]).
    base: String,
    bridge: Option<BridgePlan>,
    nested_json: Option<String>,
    grace_ms: u64,
    foreground: bool,
}

fn base_name(b: &Base) -> &'static str {
    match b {
        Base::Own => "own",
        Base::OwnParent => "own-parent",
        Base::MountRoot => "mount-root",
    }
}

fn base_of(s: &str) -> Base {
    match s {
        "own-parent" => Base::OwnParent,
        "mount-root" => Base::MountRoot,
        _ => Base::Own,
    }
}

/// Runs the start in `lxnest __monitor` when the caller is multi-threaded; `None`: start in
/// this process (single-threaded: no extra exec for the command line). A foreground start
/// shares the caller's stdio, or gets `stdio` (stdin, stdout, stderr).
pub fn delegate(
    plan: &LevelPlan,
    opts: &StartOptions,
    grace: Duration,
    foreground: bool,
) -> Option<Result<i32>> {
    if !super::threads::multi_threaded() {
        return None;
    }
    Some(start_in_helper(plan, opts, grace, foreground, None))
}

/// A start job in `lxnest __monitor`; returns the init's pid, or a foreground container's exit
/// code.
pub fn start_in_helper(
    plan: &LevelPlan,
    opts: &StartOptions,
    grace: Duration,
    foreground: bool,
    stdio: Option<[OwnedFd; 3]>,
) -> Result<i32> {
    let c = plan.path.as_str();
    let as_launch = |source| LaunchError::helper(c, source);
    let (n, _) = spawn_start(plan, opts, grace, foreground, stdio)
        .and_then(Spawned::finish)
        .map_err(as_launch)?;
    i32::try_from(n).map_err(|_| as_launch(HelperError::Failed(format!("report {n}"))))
}

/// Starts `lxnest __monitor` on a start job (see [`start_in_helper`]).
pub fn spawn_start(
    plan: &LevelPlan,
    opts: &StartOptions,
    grace: Duration,
    foreground: bool,
    stdio: Option<[OwnedFd; 3]>,
) -> std::result::Result<Spawned, HelperError> {
    let job = StartJob {
        plan: plan.clone(),
        state_dir: opts.state_dir.clone(),
        require_apparmor: opts.require_apparmor,
        base: base_name(&opts.cgroup.base).into(),
        bridge: opts.bridge.clone(),
        nested_json: opts.nested_json.clone(),
        grace_ms: grace.as_millis() as u64,
        foreground,
    };
    spawn(JOB_START, &job, stdio)
}

/// The start job's handler.
pub fn start_job(
    job: serde_json::Value,
) -> std::result::Result<(i64, String), Box<dyn std::error::Error>> {
    let job: StartJob = serde_json::from_value(job)?;
    let opts = StartOptions {
        state_dir: job.state_dir,
        require_apparmor: job.require_apparmor,
        cgroup: CreateOptions {
            base: base_of(&job.base),
        },
        bridge: job.bridge,
        nested_json: job.nested_json,
        ..Default::default()
    };
    let grace = Duration::from_millis(job.grace_ms);
    let n = if job.foreground {
        super::monitor::run_foreground_here(&job.plan, &opts, grace)?
    } else {
        super::monitor::start_detached_here(&job.plan, &opts, grace)?
    };
    Ok((i64::from(n), String::new()))
}
