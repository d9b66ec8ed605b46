//! Where the start sequence runs the plan's LXC-style hooks (see docs/hooks.md), and the
//! per-container shared mount directory whose entries appear under the container's root.

use super::mounts::MResult;
use crate::hooks::{self, HookEnv, HookError};
use crate::plan::model::{LevelPlan, RootfsPlan};
use std::path::{Path, PathBuf};

/// The environment hooks of `plan` get; `state` is the container's state directory.
pub fn env(plan: &LevelPlan, state: &Path, pid: Option<i32>) -> HookEnv {
    HookEnv {
        name: plan.path.clone(),
        config_file: plan.origin.file.clone(),
        rootfs_mount: state.join("rootfs"),
        rootfs_path: match &plan.rootfs {
            RootfsPlan::Builtin => PathBuf::from("builtin"),
            RootfsPlan::Dir(p) | RootfsPlan::Tar(p) => PathBuf::from(p),
        },
        pid,
        mount_dir: Some(mount_dir(state)),
        extra: Default::default(),
    }
}

/// `<state>/mount`: what is placed there before the start appears under the container's root.
pub fn mount_dir(state: &Path) -> PathBuf {
    state.join("mount")
}

/// Runs the hooks of `kind` (no-op when the plan has none).
pub fn run(plan: &LevelPlan, kind: &str, state: &Path, pid: Option<i32>) -> Result<(), HookError> {
    if plan.hooks.get(kind).is_none_or(|v| v.is_empty()) {
        return Ok(());
    }
    hooks::run(&plan.hooks, kind, &env(plan, state, pid))
}

/// Binds every entry of the shared mount directory to the same name under `root`.
pub fn bind_shared(state: &Path, root: &Path) -> MResult {
    let Ok(rd) = std::fs::read_dir(mount_dir(state)) else {
        return Ok(());
    };
    let rootfd = super::mounts::root_fd(root)?;
    for e in rd.flatten() {
        let target = format!("/{}", e.file_name().to_string_lossy());
        super::mounts::bind_in(&rootfd, &e.path(), &target, true)?;
    }
    Ok(())
}
