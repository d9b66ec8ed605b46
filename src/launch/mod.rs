//! The launcher: turns a planned container ([`crate::plan::LevelPlan`]) into running processes
//! that the kernel confines. One module per job; [`start::start`] orchestrates the parent side
//! and [`child`] the container side, in the order docs/launch.md explains.

pub mod apparmor;
pub mod caps;
pub mod capture;
pub mod child;
pub mod console;
pub mod defaults;
pub mod dev;
pub mod entry;
pub mod error;
pub mod extras;
pub mod fgstdio;
pub mod helper;
pub mod helper_error;
pub mod hooks;
pub mod idmap;
pub mod inject;
pub mod keyring;
pub mod landlock;
pub mod lock;
pub mod loopmount;
pub mod monitor;
/// Mount helpers (shared with the rootfs code, which the launcher calls).
pub use crate::mounts;
pub mod nested;
pub mod netif;
pub mod network;
pub mod ops;
pub mod pivot;
pub mod private;
pub mod probe;
pub mod proc;
pub mod spawn;
pub mod start;
pub mod start_job;
pub mod state;
pub mod sweep;
pub mod sync;
pub mod tarroot;
pub mod tarroot_error;
pub mod threads;
pub mod timing;
pub mod usernic;
pub mod userns;

pub use entry::{run_foreground, start_detached};
pub use error::{LaunchError, Result};
pub use start::{start, StartOptions, Started};
pub use state::State;
