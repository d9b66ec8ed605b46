//! What the translation needs besides the config: the host facts the caller read.

use crate::plan::host::CgroupMode;

/// The caller's side of a translation.
#[derive(Debug, Clone)]
pub struct Context {
    /// lxnest's name for the container (a valid [`crate::names`] name).
    pub name: String,
    /// The bundle directory, absolute.
    pub bundle: String,
    /// The config file, for messages.
    pub file: String,
    /// The level the container runs at (the launcher's own plus one).
    pub depth: u32,
    /// This machine's cgroup layout.
    pub cgroup_mode: CgroupMode,
    /// The running kernel (major, minor) for seccomp's `minKernel`.
    pub kernel: Option<(u32, u32)>,
}
