//! Starting a container: in this process when it is single-threaded (the command line, no extra
//! exec), else in an exec'd `lxnest __monitor` ([`super::start_job`]). Above both the monitor
//! and the start job, so neither depends on the other's way.

use super::error::Result;
use super::start::StartOptions;
use crate::plan::model::LevelPlan;
use std::time::Duration;

/// Starts `plan` and waits in the foreground; returns the init's exit code.
pub fn run_foreground(plan: &LevelPlan, opts: &StartOptions, grace: Duration) -> Result<i32> {
    match super::start_job::delegate(plan, opts, grace, true) {
        Some(r) => r,
        None => super::monitor::run_foreground_here(plan, opts, grace),
    }
}

/// Starts `plan` under a detached monitor process; returns the init's pid once it runs.
pub fn start_detached(plan: &LevelPlan, opts: &StartOptions, grace: Duration) -> Result<i32> {
    match super::start_job::delegate(plan, opts, grace, false) {
        Some(r) => r,
        None => super::monitor::start_detached_here(plan, opts, grace),
    }
}
