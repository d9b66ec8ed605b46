//! Operations on containers known by their state directory: stop, destroy, cleanup of a
//! container whose monitor is gone.

use super::error::{LaunchError, Result};
use super::network;
use super::state::{self, State};
use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;
use std::path::Path;
use std::time::{Duration, Instant};

/// Stops `name`: asks its monitor (SIGTERM), which stops the init with `grace` and cleans up;
/// waits until the state directory is gone. Without a live monitor, cleans up directly.
pub fn stop(state_dir: &Path, name: &str, grace: Duration) -> Result<()> {
    let st = state::read(state_dir, name)?;
    let dir = state::dir(state_dir, name)?;
    let monitor_alive = st.monitor_pid > 0 && kill(Pid::from_raw(st.monitor_pid), None).is_ok();
    if monitor_alive {
        let _ = kill(Pid::from_raw(st.monitor_pid), Signal::SIGTERM);
        // The monitor has its own grace period (from start); ours wins when shorter: after it,
        // SIGKILL the init, and the monitor cleans up as soon as it reaps it.
        let wait_gone = |limit: Duration| {
            let deadline = Instant::now() + limit;
            while dir.exists() && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(20));
            }
            !dir.exists()
        };
        if wait_gone(grace) {
            return Ok(());
        }
        if state::alive(&st) {
            let _ = kill(Pid::from_raw(st.pid), Signal::SIGKILL);
        }
        if wait_gone(Duration::from_secs(20)) {
            return Ok(());
        }
    }
    cleanup(state_dir, &st)
}

/// Removes everything a container left: its processes (SIGKILL of the whole cgroup), cgroup
/// directories, veth, bridge (when this container created it and nothing else uses it), state.
pub fn cleanup(state_dir: &Path, st: &State) -> Result<()> {
    if state::alive(st) {
        let _ = kill(Pid::from_raw(st.pid), Signal::SIGKILL);
    }
    let mut first_err = None;
    for (_, d) in st.cgroups.iter().rev() {
        if let Err(e) = crate::cgroup::tree::kill_and_remove(d, crate::cgroup::layout::is_v2_dir(d))
        {
            first_err.get_or_insert(e.to_string());
        }
    }
    if let Some(v) = &st.veth {
        network::delete_link(v);
    }
    if let Some(b) = &st.bridge_created {
        if network::bridge_unused(b) {
            network::delete_link(b);
        }
    }
    let dir = state::dir(state_dir, &st.name)?;
    if let Err(e) = super::sweep::remove_state_dir(&dir) {
        if e.kind() != std::io::ErrorKind::NotFound {
            first_err.get_or_insert(e.to_string());
        }
    }
    match first_err {
        None => Ok(()),
        Some(message) => Err(LaunchError::State {
            container: st.name.clone(),
            path: dir.display().to_string(),
            message,
        }),
    }
}

/// Stops `name` if it runs and removes whatever is left of it.
pub fn destroy(state_dir: &Path, name: &str, grace: Duration) -> Result<()> {
    match state::read(state_dir, name) {
        Ok(_) => stop(state_dir, name, grace),
        Err(LaunchError::NotFound(_)) => {
            // A directory without a readable state (a start that was killed): just remove it.
            let dir = state::dir(state_dir, name)?;
            if dir.exists() {
                super::sweep::remove_state_dir(&dir).map_err(|e| LaunchError::State {
                    container: name.into(),
                    path: dir.display().to_string(),
                    message: e.to_string(),
                })
            } else {
                Err(LaunchError::NotFound(name.into()))
            }
        }
        Err(e) => Err(e),
    }
}
