//! The built-in root: a tmpfs holding read-only binds of the host's /usr (and the merged-/usr
//! top-level links), a generated /etc, tmpfs /run /tmp /var, and the running lxnest binary at
//! [`LXNEST_PATH`] so that a nesting host can run lxnest inside without a download.

use super::{etc, BuiltinInputs, RootfsError};
use crate::mounts::{bind_ro, mkdir_p, mount_fs};
use nix::mount::MsFlags;
use std::os::unix::fs::symlink;
use std::path::Path;

/// Where the lxnest binary appears inside the built-in root (on the default PATH).
pub const LXNEST_PATH: &str = "usr/local/bin/lxnest";

/// Top-level directories that merged-/usr systems make symlinks into /usr.
const USR_LINKS: &[&str] = &["bin", "sbin", "lib", "lib32", "lib64", "libx32"];

/// Fills `<root>/etc`: the generated files and the host's alternatives (also used for the
/// writable /etc of nesting hosts, see [`super::runtime_etc`]).
pub fn populate_etc(root: &Path, hostname: &str) -> Result<(), RootfsError> {
    etc::generate(root, hostname)?;
    // Debian's alternatives are symlinks that /usr/bin points through (awk, editor ...): a
    // read-only bind of the host's directory costs one mount instead of one symlink per entry.
    let host_alt = Path::new("/etc/alternatives");
    if host_alt.is_dir() {
        bind_ro(host_alt, &root.join("etc/alternatives"), false)?;
    }
    Ok(())
}

/// Builds the built-in root at `root`.
pub fn build(root: &Path, inputs: &BuiltinInputs) -> Result<(), RootfsError> {
    mount_fs(
        "tmpfs",
        root,
        MsFlags::MS_NOSUID | MsFlags::MS_NODEV,
        Some("mode=755,size=16m"),
    )?;
    bind_ro(Path::new("/usr"), &root.join("usr"), true)?;
    for name in USR_LINKS {
        let host = Path::new("/").join(name);
        let at = root.join(name);
        match std::fs::read_link(&host) {
            // Same link as the host's (`bin -> usr/bin`), which resolves into the bound /usr.
            Ok(target) => {
                symlink(&target, &at).map_err(|source| RootfsError::Write { path: at, source })?
            }
            // A host without merged /usr: bind the real directory read-only.
            Err(_) if host.is_dir() => bind_ro(&host, &at, true)?,
            Err(_) => {}
        }
    }
    populate_etc(root, &inputs.hostname)?;
    for (dir, opts) in [
        ("run", "mode=755,size=64m"),
        ("tmp", "mode=1777,size=256m"),
        ("var", "mode=755,size=256m"),
    ] {
        let p = root.join(dir);
        mkdir_p(&p)?;
        mount_fs(
            "tmpfs",
            &p,
            MsFlags::MS_NOSUID | MsFlags::MS_NODEV,
            Some(opts),
        )?;
    }
    for d in [
        "var/tmp",
        "var/log",
        "var/lib",
        "var/cache",
        "root",
        "home",
        "mnt",
        "srv",
        "opt",
        "run/lxnest",
    ] {
        mkdir_p(&root.join(d))?;
    }
    if let Some(bin) = &inputs.lxnest_binary {
        // The host's /usr is read-only; a small tmpfs over usr/local/bin holds the binary's
        // mount point (the host's own /usr/local/bin is not part of the built-in root).
        let dir = root.join("usr/local/bin");
        if dir.is_dir() {
            mount_fs(
                "tmpfs",
                &dir,
                MsFlags::MS_NOSUID | MsFlags::MS_NODEV,
                Some("mode=755,size=64k"),
            )?;
            bind_ro(bin, &root.join(LXNEST_PATH), false)?;
        }
    }
    Ok(())
}
