//! The container's view of cgroupfs, mounted by the launcher inside the container's new mount
//! namespace before pivot_root.
//!
//! The mounts mirror the host layout: on v1 or hybrid a tmpfs at `sys/fs/cgroup` with one mount
//! per v1 hierarchy (plus `unified` for cgroup2 on a hybrid host, and a symlink per controller of
//! a combined hierarchy such as `cpu,cpuacct`); on a pure cgroup2 host a single cgroup2 mount.
//! Fresh cgroupfs mounts show the caller's cgroup namespace root as their root, so the launcher
//! calls this after `unshare(CLONE_NEWCGROUP)` with the container already in its cgroup: the
//! container then sees only its own subtree. `Premount::ReadOnly` mounts everything read-only.

use super::layout::{own_paths, HierarchyKind, OwnCgroups};
use super::{io_err, CgroupError, Result};
use crate::plan::model::Premount;
use nix::mount::{mount, MsFlags};
use std::path::{Path, PathBuf};

fn do_mount(
    src: &str,
    target: &Path,
    fstype: &str,
    flags: MsFlags,
    data: Option<&str>,
) -> Result<()> {
    mount(Some(src), target, Some(fstype), flags, data).map_err(|errno| CgroupError::Mount {
        what: format!("{fstype} {}", data.unwrap_or("")),
        target: target.to_path_buf(),
        errno,
    })
}

fn mkdir_all(p: &Path) -> Result<()> {
    std::fs::create_dir_all(p).map_err(io_err("mkdir", p))
}

/// The directory name a v1 hierarchy gets under sys/fs/cgroup (`memory`, `cpu,cpuacct`, `systemd`).
pub fn dir_name(controllers: &[String]) -> String {
    match controllers {
        [one] => one.strip_prefix("name=").unwrap_or(one).to_string(),
        many => many.join(","),
    }
}

/// Mounts the cgroup view at `<rootfs>/sys/fs/cgroup` from this process's hierarchies.
/// Returns the mount points, outermost first.
pub fn mount_cgroups(rootfs: &Path, mode: Premount) -> Result<Vec<PathBuf>> {
    let own = own_paths()?;
    mount_cgroups_with(rootfs, &own, mode)
}

/// [`mount_cgroups`] with the hierarchies given.
pub fn mount_cgroups_with(rootfs: &Path, own: &OwnCgroups, mode: Premount) -> Result<Vec<PathBuf>> {
    let target = rootfs.join("sys/fs/cgroup");
    mkdir_all(&target)?;
    let mut flags =
        MsFlags::MS_NOSUID | MsFlags::MS_NODEV | MsFlags::MS_NOEXEC | MsFlags::MS_RELATIME;
    if mode == Premount::ReadOnly {
        flags |= MsFlags::MS_RDONLY;
    }
    let mut mounted = Vec::new();
    if own.v1().next().is_none() {
        if own.unified().is_some() {
            do_mount("cgroup2", &target, "cgroup2", flags, None)?;
            mounted.push(target);
        }
        return Ok(mounted);
    }
    // The tmpfs holding the hierarchy directories stays writable until the end so that the
    // directories and symlinks can be made, then follows the mode.
    let tmpfs_flags = MsFlags::MS_NOSUID | MsFlags::MS_NODEV | MsFlags::MS_NOEXEC;
    do_mount(
        "tmpfs",
        &target,
        "tmpfs",
        tmpfs_flags,
        Some("mode=755,size=64k"),
    )?;
    mounted.push(target.clone());
    for h in &own.hierarchies {
        match &h.kind {
            HierarchyKind::V1(controllers) => {
                let name = dir_name(controllers);
                let dir = target.join(&name);
                mkdir_all(&dir)?;
                let opts = if controllers.iter().any(|c| c.starts_with("name=")) {
                    format!("none,{}", controllers.join(","))
                } else {
                    controllers.join(",")
                };
                do_mount("cgroup", &dir, "cgroup", flags, Some(&opts))?;
                mounted.push(dir);
                if controllers.len() > 1 {
                    for c in controllers {
                        let link = target.join(c);
                        std::os::unix::fs::symlink(&name, &link)
                            .map_err(io_err("symlink", link))?;
                    }
                }
            }
            HierarchyKind::Unified => {
                let dir = target.join("unified");
                mkdir_all(&dir)?;
                do_mount("cgroup2", &dir, "cgroup2", flags, None)?;
                mounted.push(dir);
            }
        }
    }
    if mode == Premount::ReadOnly {
        let ro = tmpfs_flags | MsFlags::MS_REMOUNT | MsFlags::MS_RDONLY;
        do_mount("tmpfs", &target, "tmpfs", ro, Some("mode=755,size=64k"))?;
    }
    Ok(mounted)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hierarchy_directory_names() {
        assert_eq!(dir_name(&["memory".into()]), "memory");
        assert_eq!(dir_name(&["name=systemd".into()]), "systemd");
        assert_eq!(dir_name(&["cpu".into(), "cpuacct".into()]), "cpu,cpuacct");
    }
}
