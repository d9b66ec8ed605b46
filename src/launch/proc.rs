//! /proc and /sys for the container: fresh mounts (the pid namespace's /proc, the network
//! namespace's /sys) with the host-wide knobs masked or read-only, and, for nesting hosts,
//! clean unmasked copies at /dev/.lxnest/{proc,sys}: the kernel lets a nested container mount
//! proc or sysfs only when a fully visible instance exists in its mount namespace.

use super::mounts::{bind, mkdir_p, mount_fs, remount_ro, MResult};
use nix::mount::MsFlags;
use std::path::Path;

/// Files hidden behind /dev/null: they leak host kernel state or addresses.
pub const MASKED_FILES: &[&str] = &[
    "kcore",
    "keys",
    "key-users",
    "timer_list",
    "sched_debug",
    "latency_stats",
    "kallsyms",
    "kmsg",
    "kpagecount",
    "kpageflags",
    "kpagecgroup",
    "config.gz",
];

/// Directories hidden behind an empty read-only tmpfs.
pub const MASKED_DIRS: &[&str] = &["acpi", "scsi", "firmware", "asound"];

/// Paths made read-only: host-wide knobs that the user namespace alone does not always guard.
pub const READ_ONLY: &[&str] = &["sys", "sysrq-trigger", "irq", "bus", "fs"];

const PSEUDO: MsFlags = MsFlags::MS_NOSUID
    .union(MsFlags::MS_NODEV)
    .union(MsFlags::MS_NOEXEC);

/// Mounts `<root>/proc` with masks. A nesting host keeps `/proc/sys/net` writable: those sysctls
/// belong to the network namespace of whoever opens them, its own, and it turns on forwarding
/// there for its children.
pub fn mount_proc(root: &Path, nesting: bool) -> MResult {
    let proc_dir = super::mounts::own_dir(root, "proc")?;
    mount_fs("proc", &proc_dir, PSEUDO, None)?;
    for ro in READ_ONLY {
        let p = proc_dir.join(ro);
        if p.exists() {
            // Bind onto itself, then remount that bind read-only: writes then fail with EROFS.
            bind(&p, &p, true)?;
            remount_ro(&p, MsFlags::empty())?;
        }
    }
    let net = proc_dir.join("sys/net");
    if nesting && net.is_dir() {
        bind(&net, &net, false)?;
        let flags = MsFlags::MS_BIND | MsFlags::MS_REMOUNT | PSEUDO;
        nix::mount::mount(None::<&str>, &net, None::<&str>, flags, None::<&str>).map_err(|e| {
            super::mounts::MountError {
                op: "remount rw".into(),
                target: net.clone(),
                message: e.to_string(),
            }
        })?;
    }
    let null = root.join("dev/null");
    for f in MASKED_FILES {
        let p = proc_dir.join(f);
        if p.exists() {
            bind(&null, &p, false)?;
        }
    }
    for d in MASKED_DIRS {
        let p = proc_dir.join(d);
        if p.is_dir() {
            mount_fs("tmpfs", &p, PSEUDO | MsFlags::MS_RDONLY, Some("size=0"))?;
        }
    }
    Ok(())
}

/// Mounts `<root>/sys` read-only, for the network namespace of the caller.
pub fn mount_sys(root: &Path) -> MResult {
    // sysfs: the first mount of a network namespace's sysfs decides whether its superblock is
    // read-only, and the kernel refuses every read-write sysfs mount in a child namespace while a
    // visible instance sits on a read-only superblock (LXC's `sys:mixed`, `sys:rw` then fail with
    // EPERM). So mount it read-write and make only this mount read-only, as `sys:mixed` does.
    let sys = super::mounts::own_dir(root, "sys")?;
    mount_fs("sysfs", &sys, PSEUDO, None)?;
    remount_ro(&sys, MsFlags::empty())?;
    Ok(())
}

/// A clean proc instance at `<root>/dev/.lxnest/proc` for a nesting host.
pub fn mount_clean_proc(root: &Path) -> MResult {
    let p = root.join("dev/.lxnest/proc");
    mkdir_p(&p)?;
    mount_fs("proc", &p, PSEUDO, None)
}

/// A clean sysfs instance at `<root>/dev/.lxnest/sys` for a nesting host. `user_ns`: the
/// container has a user namespace (a privileged container, whose root is the host's root, gets
/// a read-only copy: the kernel asks it for no visible instance).
pub fn mount_clean_sys(root: &Path, user_ns: bool) -> MResult {
    // Read-write, so that a nested runtime may mount sysfs read-write (`sys:mixed`, `sys:rw`):
    // writes through it reach only this network namespace's objects and what the kernel's own
    // permission checks let the container's root touch (host-wide files belong to the initial
    // user namespace's root, which the container is not).
    let s = root.join("dev/.lxnest/sys");
    mkdir_p(&s)?;
    mount_fs("sysfs", &s, PSEUDO, None)?;
    if !user_ns {
        remount_ro(&s, MsFlags::empty())?;
    }
    Ok(())
}
