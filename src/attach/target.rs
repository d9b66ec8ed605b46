//! Finding a running container from its name: `NAME` in the state directory, `A/B/C` through each
//! level's own state directory (a nesting host keeps its children's state at /run/lxnest inside
//! its mount namespace, reached through `/proc/<its init>/root`), and the init's pid in our pid
//! namespace (the nested launcher recorded it in its own; NSpid lines translate).

use super::error::{AttachError, Result};
use crate::launch::state::{self, State};
use crate::launch::LaunchError;
use std::os::fd::{FromRawFd, OwnedFd};
use std::path::{Path, PathBuf};

use super::level::ppid;
pub use super::level::{nspid, Level, NESTED_STATE_DIR};

/// How deep a bare name is searched for through nesting hosts.
const SEARCH_DEPTH: usize = 4;

/// A resolved container: every level from the outermost one we see down to it.
#[derive(Debug, Clone)]
pub struct Target {
    /// Outermost first; the last one is the container itself.
    pub levels: Vec<Level>,
}

impl Target {
    /// The container itself.
    pub fn own(&self) -> &Level {
        // `resolve` never returns an empty chain.
        &self.levels[self.levels.len() - 1]
    }

    /// The path asked for (`juju-host/unit-1`).
    pub fn name(&self) -> String {
        self.levels
            .iter()
            .map(|l| l.state.name.as_str())
            .collect::<Vec<_>>()
            .join("/")
    }
}

fn read_state(dir: &Path, name: &str, full: &str) -> Result<State> {
    state::read(dir, name).map_err(|e| match e {
        LaunchError::NotFound(_) => AttachError::NotFound {
            name: full.into(),
            looked_in: dir.display().to_string(),
        },
        other => AttachError::State {
            name: full.into(),
            path: dir.join(name).display().to_string(),
            message: other.to_string(),
        },
    })
}

/// Resolves `name` (`NAME` or `A/B/...`) from `state_dir` (empty: the default). A bare name that is not in
/// `state_dir` is searched for among the running nesting hosts' children.
pub fn resolve(state_dir: &Path, name: &str) -> Result<Target> {
    // An empty state directory (a defaulted option) is the default one, never the cwd.
    let default = state::default_dir();
    let state_dir = if state_dir.as_os_str().is_empty() {
        default.as_path()
    } else {
        state_dir
    };
    let parts: Vec<&str> = name.split('/').filter(|p| !p.is_empty()).collect();
    if parts.is_empty() {
        return Err(AttachError::Usage("an empty container name".into()));
    }
    match walk(state_dir, &parts, name) {
        Err(AttachError::NotFound { .. }) if parts.len() == 1 => {
            if let Some(path) = search(state_dir, parts[0], SEARCH_DEPTH) {
                let p: Vec<&str> = path.iter().map(String::as_str).collect();
                return walk(state_dir, &p, name);
            }
            Err(AttachError::NotFound {
                name: name.into(),
                looked_in: state_dir.display().to_string(),
            })
        }
        other => other,
    }
}

fn walk(state_dir: &Path, parts: &[&str], full: &str) -> Result<Target> {
    let mut levels: Vec<Level> = Vec::new();
    let mut dir = state_dir.to_path_buf();
    for part in parts {
        let level = match levels.last() {
            None => {
                let st = read_state(&dir, part, full)?;
                let pid = st.pid;
                Level {
                    state: st,
                    host_pid: pid,
                    parent_pid: None,
                }
            }
            Some(parent) => nested_level(parent, &dir, part, full)?,
        };
        check_alive(&level.state, level.host_pid, full)?;
        dir = PathBuf::from(format!("/proc/{}/root", level.host_pid)).join(NESTED_STATE_DIR);
        levels.push(level);
    }
    Ok(Target { levels })
}

/// A child of the nesting host `parent`: from the state its launcher wrote, or rebuilt from the
/// hand-off when there is none (see [`super::handoff`]).
fn nested_level(parent: &Level, dir: &Path, part: &str, full: &str) -> Result<Level> {
    // The nesting host writes this file: read it inside its root (no symlink leads out).
    let rel = Path::new(NESTED_STATE_DIR).join(part).join("state.json");
    let Ok(text) = super::inroot::read_in(parent.host_pid, &rel) else {
        return super::handoff::rebuild(parent, part).ok_or_else(|| AttachError::NotFound {
            name: full.into(),
            looked_in: dir.display().to_string(),
        });
    };
    let st: State = serde_json::from_str(&text).map_err(|e| AttachError::State {
        name: full.into(),
        path: dir.join(part).display().to_string(),
        message: e.to_string(),
    })?;
    let pid = host_pid_of(parent.host_pid, st.pid).ok_or_else(|| AttachError::NotRunning {
        name: full.into(),
        pid: st.pid,
        why: format!("is not among the processes of {}", parent.state.name),
    })?;
    Ok(Level {
        state: st,
        host_pid: pid,
        parent_pid: Some(parent.host_pid),
    })
}

/// Fails unless `host_pid` is the init the state describes (same start time: not a recycled pid).
pub fn check_alive(st: &State, host_pid: i32, full: &str) -> Result<()> {
    match state::start_time(host_pid) {
        Some(t) if st.pid > 0 && t == st.pid_start => Ok(()),
        Some(_) => Err(AttachError::NotRunning {
            name: full.into(),
            pid: st.pid,
            why: "died (its pid now names another process)".into(),
        }),
        None => Err(AttachError::NotRunning {
            name: full.into(),
            pid: st.pid,
            why: "died (stale state)".into(),
        }),
    }
}

/// Breadth-first search of running nesting hosts' state directories for a bare `name`; returns
/// the path (`host/name`) of the first match.
fn search(state_dir: &Path, name: &str, depth: usize) -> Option<Vec<String>> {
    let mut queue: Vec<Vec<String>> = state::list(state_dir)
        .into_iter()
        .map(|s| vec![s.name])
        .collect();
    while !queue.is_empty() {
        let mut next = Vec::new();
        for path in queue {
            let parts: Vec<&str> = path.iter().map(String::as_str).collect();
            let Ok(t) = walk(state_dir, &parts, name) else {
                continue;
            };
            // Candidate names: state directories and hand-off children, read inside its root.
            let mut names = super::inroot::list_in(t.own().host_pid, Path::new(NESTED_STATE_DIR));
            names.retain(|n| n != "plan.json" && n != "level");
            names.extend(super::handoff::child_names(t.own()));
            if names.iter().any(|n| n == name) {
                let mut found = path.clone();
                found.push(name.to_string());
                return Some(found);
            }
            if path.len() + 1 < depth {
                for child in names {
                    let mut p = path.clone();
                    p.push(child);
                    next.push(p);
                }
            }
        }
        queue = next;
    }
    None
}

fn descends_from(mut pid: i32, ancestor: i32) -> bool {
    for _ in 0..256 {
        if pid == ancestor {
            return true;
        }
        match ppid(pid) {
            Some(p) if p > 0 => pid = p,
            _ => return false,
        }
    }
    false
}

/// The pid, in our pid namespace, of the process that `parent_init` (a container's init, pid in
/// our namespace) sees as `inner`: the process whose NSpid has `inner` at the depth of
/// `parent_init`'s own namespace and that descends from `parent_init` (the same number can exist
/// in a sibling container's namespace).
pub fn host_pid_of(parent_init: i32, inner: i32) -> Option<i32> {
    let depth = nspid(parent_init)?.len().checked_sub(1)?;
    let rd = std::fs::read_dir("/proc").ok()?;
    rd.flatten()
        .filter_map(|e| e.file_name().to_str().and_then(|s| s.parse::<i32>().ok()))
        .find(|&pid| {
            nspid(pid).is_some_and(|ns| ns.get(depth) == Some(&inner))
                && descends_from(pid, parent_init)
        })
}

/// A pidfd for `pid` (Linux 5.3+); `None` when the kernel has no `pidfd_open`.
pub fn pidfd_open(pid: i32) -> std::io::Result<Option<OwnedFd>> {
    // SAFETY: pidfd_open takes a pid and flags and returns a new fd or -1; no memory is passed.
    let rc = unsafe { libc::syscall(libc::SYS_pidfd_open, pid, 0) };
    if rc < 0 {
        let e = std::io::Error::last_os_error();
        return match e.raw_os_error() {
            Some(libc::ENOSYS) => Ok(None),
            _ => Err(e),
        };
    }
    let fd = i32::try_from(rc).map_err(|_| std::io::Error::other("pidfd out of range"))?;
    // SAFETY: the kernel returned a new descriptor that nothing else owns.
    Ok(Some(unsafe { OwnedFd::from_raw_fd(fd) }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn own_pid_translates_to_itself_and_unknown_names_fail() {
        let me = std::process::id() as i32;
        let ns = nspid(me).expect("NSpid of self");
        assert_eq!(ns.first(), Some(&me));
        assert!(descends_from(me, me));
        let dir = tempfile::tempdir().expect("tempdir");
        assert!(matches!(
            resolve(dir.path(), "nope"),
            Err(AttachError::NotFound { .. })
        ));
        assert!(matches!(
            resolve(dir.path(), "a/b"),
            Err(AttachError::NotFound { .. })
        ));
        assert!(matches!(
            resolve(dir.path(), "/"),
            Err(AttachError::Usage(_))
        ));
    }
}
