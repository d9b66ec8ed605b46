//! Where the start sequence runs the plan's LXC-style hooks (see docs/hooks.md), and the
//! per-container shared mount directory whose entries appear under the container's root.

use super::mounts::MResult;
use crate::hooks::{self, HookEnv, HookError, HookKind};
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

/// The hook type that runs inside the container, after pivot_root; every other type runs on
/// the host's filesystem (docs/hooks.md).
pub const INSIDE: HookKind = HookKind::Start;

/// Runs the hooks of `kind` (no-op when the plan has none). `start` hooks run under the
/// container's own seccomp filter, installed in the hook's process before its exec (the
/// launcher has already applied the capabilities, Landlock, the AppArmor exec label and a fresh
/// session keyring, which the hook inherits). The others run host files only: a hook whose
/// program lies in the container's tree is refused before anything runs.
pub fn run(
    plan: &LevelPlan,
    kind: HookKind,
    state: &Path,
    pid: Option<i32>,
) -> Result<(), HookError> {
    let list = plan.hooks.get(kind);
    if list.is_empty() {
        return Ok(());
    }
    let env = env(plan, state, pid);
    if kind == INSIDE {
        let prog = crate::seccomp::compile(&plan.seccomp.own).map_err(|e| HookError::Spawn {
            container: plan.path.clone(),
            kind: kind.to_string(),
            command: list.join("; "),
            source: std::io::Error::other(e.to_string()),
        })?;
        let confine: hooks::PreExec = std::sync::Arc::new(move || {
            crate::seccomp::install(&prog, crate::seccomp::NoNewPrivs::Auto)
                .map_err(|e| std::io::Error::other(e.to_string()))
        });
        return hooks::run_with(&plan.hooks, kind, &env, Some(confine));
    }
    let trees = container_trees(plan, state);
    for command in list {
        if let Some(path) = program_in(command, &trees) {
            return Err(HookError::InTree {
                container: plan.path.clone(),
                kind: kind.to_string(),
                command: command.clone(),
                path: path.display().to_string(),
            });
        }
    }
    hooks::run(&plan.hooks, kind, &env)
}

/// The directories whose files the container controls, resolved on the host: its `dir:` tree,
/// its unpacked tarball, and the mount point of its root.
fn container_trees(plan: &LevelPlan, state: &Path) -> Vec<PathBuf> {
    let mut trees = vec![state.join("rootfs")];
    match &plan.rootfs {
        RootfsPlan::Dir(p) => trees.push(PathBuf::from(p)),
        RootfsPlan::Tar(_) => {
            if let Some(base) = state.parent() {
                trees.push(crate::rootfs::tar_tree(base, &plan.path));
            }
        }
        RootfsPlan::Builtin => {}
    }
    trees
        .into_iter()
        .filter_map(|t| std::fs::canonicalize(t).ok())
        .collect()
}

/// The program a hook's command line starts with, when it is a path inside one of `trees`
/// (symlinks resolved on the host, so a link into the tree counts as the tree).
fn program_in(command: &str, trees: &[PathBuf]) -> Option<PathBuf> {
    let word = command.split_whitespace().next()?;
    let word = word.trim_matches(|c| c == '\'' || c == '"');
    if !word.starts_with('/') {
        return None;
    }
    // A path that does not exist yet is judged by its nearest existing ancestor.
    let mut p = Path::new(word);
    let resolved = loop {
        if let Ok(r) = std::fs::canonicalize(p) {
            break r.join(Path::new(word).strip_prefix(p).ok()?);
        }
        p = p.parent()?;
    };
    trees
        .iter()
        .any(|t| resolved.starts_with(t))
        .then_some(resolved)
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_host_hook_in_the_container_tree_is_found_through_symlinks() {
        let d = tempfile::tempdir().expect("tempdir");
        let tree = d.path().join("tree");
        std::fs::create_dir_all(tree.join("bin")).expect("mkdir");
        std::os::unix::fs::symlink(tree.join("bin"), d.path().join("link")).expect("symlink");
        let trees = vec![std::fs::canonicalize(&tree).expect("canon")];
        let inside = format!("{}/bin/hook --x", tree.display());
        assert!(program_in(&inside, &trees).is_some());
        let via_link = format!("{}/link/hook", d.path().display());
        assert!(program_in(&via_link, &trees).is_some());
        assert!(program_in("/bin/true", &trees).is_none());
        assert!(program_in("echo hi", &trees).is_none());
    }
}
