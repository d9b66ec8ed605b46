//! The cgroup2 side, written by lxnest itself: controller enabling along the ancestors, limits in
//! `memory.max` / `pids.max` / `cpu.max`, and `cgroup.kill`. Used for the unified mount of a
//! hybrid host and for pure v2 hosts alike.

use super::{io_err, CgroupError, Result};
use crate::plan::model::LimitPlan;
use std::path::{Path, PathBuf};

/// Controllers listed in a cgroup2 directory's `cgroup.controllers` (or `cgroup.subtree_control`).
pub fn read_list(dir: &Path, file: &str) -> Result<Vec<String>> {
    let p = dir.join(file);
    let text = std::fs::read_to_string(&p).map_err(io_err("read", &p))?;
    Ok(text.split_whitespace().map(String::from).collect())
}

/// Writes `value` to `dir/file`.
pub fn write(dir: &Path, file: &str, value: &str) -> Result<()> {
    let p = dir.join(file);
    std::fs::write(&p, value).map_err(io_err("write", p))
}

/// Creates `base/rel` one component at a time and enables `controllers` in the
/// `cgroup.subtree_control` of `base` and of every directory between it and the target, so that
/// the target gets the controllers' interface files. Returns the target directory.
///
/// Enabling in `base` fails with EBUSY when `base` holds processes and is not the hierarchy root
/// (the "no internal processes" rule): a nesting host must have moved itself to a leaf and
/// create its children relative to the delegated root ([`super::Base::OwnParent`]).
pub fn create_enabled(base: &Path, rel: &Path, controllers: &[String]) -> Result<PathBuf> {
    let mut dir = base.to_path_buf();
    for comp in rel.components() {
        enable(&dir, controllers)?;
        dir.push(comp);
        mkdir(&dir)?;
    }
    Ok(dir)
}

/// `mkdir`, accepting an existing directory.
pub fn mkdir(dir: &Path) -> Result<()> {
    match std::fs::create_dir(dir) {
        Err(e) if e.kind() != std::io::ErrorKind::AlreadyExists => Err(io_err("mkdir", dir)(e)),
        _ => Ok(()),
    }
}

/// Enables the controllers in `dir/cgroup.subtree_control` that are not enabled yet.
pub fn enable(dir: &Path, controllers: &[String]) -> Result<()> {
    if controllers.is_empty() {
        return Ok(());
    }
    let enabled = read_list(dir, "cgroup.subtree_control")?;
    let available = read_list(dir, "cgroup.controllers")?;
    for c in controllers {
        if enabled.contains(c) {
            continue;
        }
        if !available.contains(c) {
            return Err(CgroupError::ControllerUnavailable {
                controller: c.clone(),
                what: "cgroup2 subtree",
            });
        }
        write(dir, "cgroup.subtree_control", &format!("+{c}"))?;
    }
    Ok(())
}

/// Which v2 controllers the given limits need, in kernel names.
pub fn controllers_for(limits: &LimitPlan) -> Vec<&'static str> {
    let mut out = Vec::new();
    if limits.memory.is_some() {
        out.push("memory");
    }
    if limits.pids.is_some() {
        out.push("pids");
    }
    if limits.cpu.is_some() {
        out.push("cpu");
    }
    out
}

/// Writes the limits whose controller is in `on_v2` into the cgroup2 directory `dir`.
pub fn write_limits(dir: &Path, limits: &LimitPlan, on_v2: &[String]) -> Result<()> {
    let here = |c: &str| on_v2.iter().any(|x| x == c);
    if let (Some(bytes), true) = (limits.memory, here("memory")) {
        write(dir, "memory.max", &bytes.to_string())?;
        // Without swap accounting off, a limited container would just swap; keep it honest.
        if dir.join("memory.swap.max").exists() {
            write(dir, "memory.swap.max", "0")?;
        }
    }
    if let (Some(n), true) = (limits.pids, here("pids")) {
        write(dir, "pids.max", &n.to_string())?;
    }
    if let (Some((quota, period)), true) = (limits.cpu, here("cpu")) {
        write(dir, "cpu.max", &format!("{quota} {period}"))?;
    }
    Ok(())
}

/// Kills every process in the subtree at `dir` with `cgroup.kill` (Linux 5.14+). Returns false
/// when the file does not exist, so the caller falls back to signalling listed pids.
pub fn kill(dir: &Path) -> Result<bool> {
    let p = dir.join("cgroup.kill");
    if !p.exists() {
        return Ok(false);
    }
    std::fs::write(&p, "1").map_err(io_err("write", p))?;
    Ok(true)
}
