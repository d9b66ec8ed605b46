//! One level of the chain from our own position to a container, and the /proc facts both the
//! target resolution ([`super::target`]) and the hand-off rebuild ([`super::handoff`]) read: below
//! both, so that neither imports the other for them.

use crate::launch::state::State;

/// Where a nesting host's launcher keeps its children's state, inside the nesting host.
pub const NESTED_STATE_DIR: &str = "run/lxnest";

/// One level of the chain from our own position to the container.
#[derive(Debug, Clone)]
pub struct Level {
    /// The state its launcher recorded.
    pub state: State,
    /// The init's pid in our pid namespace.
    pub host_pid: i32,
    /// For a state its nesting host wrote: the host pid of that nesting host's init, in whose
    /// root the state's paths (cgroup directories) are; `None` when they are paths of ours.
    pub parent_pid: Option<i32>,
}

/// `NSpid` of a process: its pid in every pid namespace from ours down to its own.
pub fn nspid(pid: i32) -> Option<Vec<i32>> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find_map(|l| l.strip_prefix("NSpid:"))?;
    line.split_whitespace().map(|v| v.parse().ok()).collect()
}

/// The parent pid of a process.
pub fn ppid(pid: i32) -> Option<i32> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("PPid:"))
        .and_then(|v| v.trim().parse().ok())
}
