//! Container state on disk: `<statedir>/<name>/state.json` (written by the monitor) next to the
//! `rootfs/` mount point. The directory exists exactly as long as the container does, so a
//! failed start or a stop removes it.

use super::error::{LaunchError, Result};
use super::sync::Enforced;
use crate::plan::model::LevelPlan;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// The state directories (`-P` defaults) are decided in [`crate::statedir`].
pub use crate::statedir::{default_dir, user_data_dir, DEFAULT_DIR};

/// What `ls` and `info` show, and what `stop` needs to clean up without the monitor.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct State {
    /// Container name (the state directory's name).
    pub name: String,
    /// Plan path (`juju-host/unit-1`).
    pub path: String,
    /// Nesting level.
    pub level: u32,
    /// `running` or `stopping`.
    pub status: String,
    /// The init's pid in the launcher's pid namespace.
    pub pid: i32,
    /// The init's start time (field 22 of /proc/PID/stat), so a reused pid is not mistaken for it.
    pub pid_start: u64,
    /// The monitor's pid (0 for a foreground container).
    pub monitor_pid: i32,
    /// cgroup directories by hierarchy.
    pub cgroups: Vec<(String, PathBuf)>,
    /// The veth on the parent side, if any.
    pub veth: Option<String>,
    /// The lxnest bridge this container is plugged into (removed with the last container on it).
    pub bridge_created: Option<String>,
    /// What was enforced.
    pub enforced: Enforced,
    /// AppArmor outcome as seen by the parent.
    pub apparmor: String,
    /// cgroups of an unprivileged start: the delegated subtree used, or why there is none.
    #[serde(default)]
    pub cgroup_note: Option<String>,
    /// The container's plan.
    pub plan: LevelPlan,
}

/// `<statedir>/<name>`, for a valid name only ([`crate::names`]): the one place a container's
/// name becomes a path, so `..` or `/` can never point a removal or a creation elsewhere.
pub fn dir(state_dir: &Path, name: &str) -> Result<PathBuf> {
    Ok(crate::names::join(state_dir, name)?)
}

fn serr(name: &str, path: &Path) -> impl FnOnce(String) -> LaunchError {
    let name = name.to_string();
    let path = path.display().to_string();
    move |message| LaunchError::State {
        container: name,
        path,
        message,
    }
}

/// Writes `state.json` atomically (rename), so a reader never sees half a file.
pub fn write(state_dir: &Path, st: &State) -> Result<()> {
    let d = dir(state_dir, &st.name)?;
    let tmp = d.join("state.json.tmp");
    let text = serde_json::to_string_pretty(st).map_err(|e| serr(&st.name, &tmp)(e.to_string()))?;
    super::private::write_file(&tmp, &text).map_err(|e| serr(&st.name, &tmp)(e.to_string()))?;
    std::fs::rename(&tmp, d.join("state.json")).map_err(|e| serr(&st.name, &d)(e.to_string()))
}

/// Reads a container's state.
pub fn read(state_dir: &Path, name: &str) -> Result<State> {
    let p = dir(state_dir, name)?.join("state.json");
    let text = std::fs::read_to_string(&p).map_err(|_| LaunchError::NotFound(name.to_string()))?;
    serde_json::from_str(&text).map_err(|e| serr(name, &p)(e.to_string()))
}

/// Every container with a readable state, sorted by name.
pub fn list(state_dir: &Path) -> Vec<State> {
    let mut out: Vec<State> = std::fs::read_dir(state_dir)
        .map(|rd| {
            rd.flatten()
                .filter_map(|e| read(state_dir, e.file_name().to_str()?).ok())
                .collect()
        })
        .unwrap_or_default();
    out.sort_by(|a, b| a.name.cmp(&b.name));
    out
}

/// Start time of a process (clock ticks after boot), from /proc/PID/stat.
pub fn start_time(pid: i32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name may contain spaces and parentheses; fields restart after the last ')'.
    let rest = &stat[stat.rfind(')')? + 1..];
    rest.split_whitespace().nth(19)?.parse().ok()
}

/// Whether the container's init is still the process the state names.
pub fn alive(st: &State) -> bool {
    st.pid > 0 && start_time(st.pid) == Some(st.pid_start)
}

/// The container's state directory; removed on drop unless persisted.
#[derive(Debug)]
pub struct StateDirGuard {
    path: Option<PathBuf>,
}

impl StateDirGuard {
    /// Creates `<statedir>/<name>/{rootfs,mount}`; fails when the container exists.
    pub fn create(state_dir: &Path, name: &str) -> Result<StateDirGuard> {
        let d = dir(state_dir, name)?;
        std::fs::create_dir_all(state_dir).map_err(|e| serr(name, state_dir)(e.to_string()))?;
        match std::fs::create_dir(&d) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                return Err(LaunchError::Exists(name.into()))
            }
            Err(e) => return Err(serr(name, &d)(e.to_string())),
        }
        let g = StateDirGuard {
            path: Some(d.clone()),
        };
        for sub in ["rootfs", "mount"] {
            std::fs::create_dir(d.join(sub)).map_err(|e| serr(name, &d)(e.to_string()))?;
        }
        Ok(g)
    }

    /// The directory.
    pub fn path(&self) -> &Path {
        self.path.as_deref().unwrap_or(Path::new(""))
    }
}

impl Drop for StateDirGuard {
    fn drop(&mut self) {
        if let Some(p) = self.path.take() {
            if let Err(e) = super::sweep::remove_state_dir(&p) {
                tracing::warn!("remove state directory {}: {e}", p.display());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn guard_creates_and_removes_and_refuses_duplicates() {
        let base = tempfile::tempdir().expect("tempdir");
        let g = StateDirGuard::create(base.path(), "c1").expect("create");
        assert!(base.path().join("c1/rootfs").is_dir());
        assert!(matches!(
            StateDirGuard::create(base.path(), "c1"),
            Err(LaunchError::Exists(_))
        ));
        drop(g);
        assert!(!base.path().join("c1").exists());
        let me = std::process::id() as i32;
        assert!(start_time(me).is_some());
    }
}
