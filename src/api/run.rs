//! Running commands in containers with their output captured: [`attach`] joins a running
//! container ([`crate::attach::attach_output`]); [`execute`] runs a stopped one's configuration
//! with the command as its init ([`crate::attach::execute_output`]), taking the plan from the
//! container's definition when it has one.

use super::error::Result;
use super::registry;
use crate::attach::{self, AttachOptions, EnvPolicy, ExecuteOptions, PtyMode};
use crate::plan::model::Plan;
use std::path::Path;
use std::time::Duration;

pub use crate::attach::Output;

/// How to attach (everything but the container and the command).
#[derive(Debug, Clone, Default)]
pub struct AttachOpts {
    /// Variables set for the command, applied last.
    pub env: Vec<(String, String)>,
    /// Start from the init's environment only, not the caller's.
    pub clear_env: bool,
    /// uid inside the container (default 0).
    pub uid: Option<u32>,
    /// gid inside the container (default 0).
    pub gid: Option<u32>,
    /// Working directory inside the container (default `/`).
    pub cwd: Option<String>,
}

/// Runs `cmd` in the running container `name` (`A/B` for a nested one) as confined as its init,
/// stdin from /dev/null, stdout and stderr captured. Signals are not forwarded: a library caller
/// keeps its own signal handling.
pub fn attach(state_dir: &Path, name: &str, cmd: &[String], opts: &AttachOpts) -> Result<Output> {
    let o = AttachOptions {
        name: name.into(),
        state_dir: state_dir.into(),
        command: cmd.to_vec(),
        env: EnvPolicy {
            clear: opts.clear_env,
            keep: Vec::new(),
            set: opts.env.clone(),
        },
        uid: opts.uid,
        gid: opts.gid,
        cwd: opts.cwd.clone(),
        pty: PtyMode::Never,
        forward_signals: false,
    };
    Ok(attach::attach_output(&o)?)
}

/// Runs `cmd` as the init of the stopped container `name`, with its full configuration and
/// policies, and removes everything again when it ends; output captured. The plan comes from the
/// container's definition, else from the state a stale container left.
pub fn execute(
    state_dir: &Path,
    name: &str,
    cmd: &[String],
    env: &[(String, String)],
    grace: Duration,
) -> Result<Output> {
    // A running container is refused as such (callers branch on that error) before anything
    // is recorded in the registry, which holds the running container's reservations.
    if crate::launch::state::read(state_dir, name).is_ok_and(|st| crate::launch::state::alive(&st))
    {
        return Err(crate::attach::AttachError::Running(name.into()).into());
    }
    // Its subnets and ids are recorded in the allocation registry while the command runs (a
    // definition whose ids someone else holds now gets a free block), and released after.
    let mut _reserved = None;
    let defined = match registry::load(state_dir, name)? {
        Some(d) => {
            let mut held = super::reserve::lock()?;
            let d = super::reserve::record(&mut held, &d, name, state_dir)?;
            _reserved = Some(super::reserve::RunReservation::new(state_dir, name));
            Some(d)
        }
        None => None,
    };
    // Only the container's own level goes along, so a same-named container elsewhere in the
    // plan cannot be picked instead.
    let plan = defined.and_then(|d| {
        let lp = d.level()?.clone();
        Some(Plan {
            containers: vec![lp],
            ..d.plan
        })
    });
    let o = ExecuteOptions {
        name: plan
            .as_ref()
            .map(|p| p.containers[0].path.clone())
            .unwrap_or_else(|| name.into()),
        state_dir: state_dir.into(),
        plan,
        command: cmd.to_vec(),
        env: env.to_vec(),
        grace,
    };
    Ok(attach::execute_output(&o)?)
}
