//! Where lxnest keeps container state by default (LXC's `-P`): one place, read by the launcher,
//! the rootfs cache and the allocation registry.

use std::path::{Path, PathBuf};

/// Default state directory of root (as LXC's `-P`).
pub const DEFAULT_DIR: &str = "/run/lxnest";

/// The default state directory of whoever runs lxnest: [`DEFAULT_DIR`] for root, else
/// `$XDG_RUNTIME_DIR/lxnest` when that runtime directory is the user's own (as for Podman),
/// else `~/.local/share/lxnest/run`.
pub fn default_dir() -> PathBuf {
    if nix::unistd::geteuid().is_root() {
        return PathBuf::from(DEFAULT_DIR);
    }
    let own = |p: &Path| {
        use std::os::unix::fs::MetadataExt;
        std::fs::metadata(p).is_ok_and(|m| m.is_dir() && m.uid() == nix::unistd::geteuid().as_raw())
    };
    match std::env::var_os("XDG_RUNTIME_DIR").map(PathBuf::from) {
        Some(r) if r.is_absolute() && own(&r) => r.join("lxnest"),
        _ => user_data_dir().join("run"),
    }
}

/// Where an unprivileged user's lxnest keeps data that outlives a boot (unpacked rootfs
/// tarballs): `$XDG_DATA_HOME/lxnest`, else `~/.local/share/lxnest`.
pub fn user_data_dir() -> PathBuf {
    let home = || {
        std::env::var_os("HOME")
            .map(PathBuf::from)
            .filter(|h| h.is_absolute())
            .or_else(|| {
                nix::unistd::User::from_uid(nix::unistd::getuid())
                    .ok()
                    .flatten()
                    .map(|u| u.dir)
            })
            .unwrap_or_else(|| PathBuf::from("/"))
    };
    std::env::var_os("XDG_DATA_HOME")
        .map(PathBuf::from)
        .filter(|d| d.is_absolute())
        .unwrap_or_else(|| home().join(".local/share"))
        .join("lxnest")
}
