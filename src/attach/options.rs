//! What the caller asks for.

use super::env::EnvPolicy;
use serde::{Deserialize, Serialize};
use std::path::PathBuf;

/// When to give the attached process a new pseudo-terminal.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum PtyMode {
    /// When our stdin is a terminal.
    #[default]
    Auto,
    /// Always (fails when stdin is not a terminal only in that no window size is copied).
    Always,
    /// Never: the caller's stdio is passed as it is.
    Never,
}

/// Options of [`super::attach`] and [`super::attach_output`].
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct AttachOptions {
    /// Container name, or `A/B` for a nested container (a bare nested name is searched for).
    pub name: String,
    /// State directory of the outermost level (`-P`; empty means /run/lxnest).
    pub state_dir: PathBuf,
    /// The command; empty runs the user's shell from the container's /etc/passwd (else /bin/sh).
    pub command: Vec<String>,
    /// Environment policy.
    pub env: EnvPolicy,
    /// uid inside the container (default 0).
    pub uid: Option<u32>,
    /// gid inside the container (default 0).
    pub gid: Option<u32>,
    /// Working directory inside the container (default `/`).
    pub cwd: Option<String>,
    /// Pseudo-terminal allocation (ignored by [`super::attach_output`], which captures).
    pub pty: PtyMode,
    /// Forward SIGINT, SIGTERM, SIGHUP and SIGQUIT to the attached process (blocks them in the
    /// calling thread while it waits). The CLI sets it; a library caller with its own signal
    /// handling may not want it.
    pub forward_signals: bool,
}

impl AttachOptions {
    /// Options for `name` in the default state directory, with everything else default.
    pub fn new(name: &str) -> AttachOptions {
        AttachOptions {
            name: name.into(),
            state_dir: crate::launch::state::default_dir(),
            ..Default::default()
        }
    }
}

/// What a capturing run returns.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Output {
    /// Exit code (128 + signal number when a signal killed the command).
    pub code: i32,
    /// Everything it wrote to stdout.
    pub stdout: Vec<u8>,
    /// Everything it wrote to stderr.
    pub stderr: Vec<u8>,
}
