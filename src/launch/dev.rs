//! The container's minimal /dev: a tmpfs with the host's device nodes bound in (mknod is
//! impossible in a user namespace, and binding keeps the device cgroup the only gate), its own
//! devpts instance, /dev/shm, /dev/mqueue and the usual symlinks.

use super::mounts::{bind, mkdir_p, mount_fs, MResult, MountError};
use crate::plan::model::DevicePlan;
use nix::mount::MsFlags;
use std::os::unix::fs::symlink;
use std::path::Path;

/// Nodes every container gets, bound from the host's /dev.
pub const BASE_NODES: &[&str] = &["null", "zero", "full", "random", "urandom", "tty"];

fn link(target: &str, at: &Path) -> MResult {
    symlink(target, at).map_err(|e| MountError {
        op: format!("symlink -> {target}"),
        target: at.into(),
        message: e.to_string(),
    })
}

/// Builds `<root>/dev`.
pub fn populate(root: &Path, devices: &[DevicePlan]) -> MResult {
    let dev = super::mounts::own_dir(root, "dev")?;
    mount_fs(
        "tmpfs",
        &dev,
        MsFlags::MS_NOSUID | MsFlags::MS_NOEXEC,
        Some("mode=755,size=64k"),
    )?;
    for name in BASE_NODES {
        bind(&Path::new("/dev").join(name), &dev.join(name), false)?;
    }
    for d in devices {
        let rel = d.path.trim_start_matches('/');
        if BASE_NODES.iter().any(|n| rel == format!("dev/{n}")) {
            continue;
        }
        bind(Path::new(&d.path), &root.join(rel), false)?;
    }
    link("pts/ptmx", &dev.join("ptmx"))?;
    let shm = dev.join("shm");
    mkdir_p(&shm)?;
    mount_fs(
        "tmpfs",
        &shm,
        MsFlags::MS_NOSUID | MsFlags::MS_NODEV,
        Some("mode=1777,size=64m"),
    )?;
    mkdir_p(&dev.join("mqueue"))?;
    link("/proc/self/fd", &dev.join("fd"))?;
    link("/proc/self/fd/0", &dev.join("stdin"))?;
    link("/proc/self/fd/1", &dev.join("stdout"))?;
    link("/proc/self/fd/2", &dev.join("stderr"))?;
    link("/proc/kcore", &dev.join("core"))?;
    Ok(())
}

/// Mounts `<root>/dev/pts` and `<root>/dev/mqueue`, after the container's own user and IPC
/// namespaces exist: an mqueue instance belongs to the IPC namespace of whoever mounts it, and a
/// devpts instance made there is the container's own to manage (LXC's too can remount it, and
/// Joe's diagnosis of a broken container starts with a devpts gone), not a locked mount.
pub fn mount_late(root: &Path) -> MResult {
    let dev = root.join("dev");
    let pts = dev.join("pts");
    mkdir_p(&pts)?;
    // A devpts of its own: the container's ptys are not the host's, and ptmxmode lets the
    // container's root (not the host's) open /dev/ptmx. gid=5 (tty) when that group is mapped.
    let opts_tty = "newinstance,ptmxmode=0666,mode=0620,gid=5";
    let flags = MsFlags::MS_NOSUID | MsFlags::MS_NOEXEC;
    if mount_fs("devpts", &pts, flags, Some(opts_tty)).is_err() {
        mount_fs(
            "devpts",
            &pts,
            flags,
            Some("newinstance,ptmxmode=0666,mode=0620"),
        )?;
    }
    mount_mqueue(root)
}

fn mount_mqueue(root: &Path) -> MResult {
    let mq = root.join("dev/mqueue");
    mkdir_p(&mq)?;
    mount_fs(
        "mqueue",
        &mq,
        MsFlags::MS_NOSUID | MsFlags::MS_NODEV | MsFlags::MS_NOEXEC,
        None,
    )
}
