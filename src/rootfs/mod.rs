//! Root filesystems: the built-in host-derived default ([`builtin`]), an existing directory, and
//! a tarball's tree (unpacked on the host side by the start sequence, see [`tar_tree`]).
//! Everything here runs inside the container's new mount namespace, before pivot_root, so
//! nothing it mounts is visible to the host or outlives the container.

pub mod builtin;
pub mod etc;
pub mod runtime_etc;

use crate::mounts::{bind, MountError};
use crate::plan::model::RootfsPlan;
use std::path::{Path, PathBuf};

/// Errors of rootfs preparation.
#[derive(Debug, thiserror::Error)]
pub enum RootfsError {
    /// A mount failed.
    #[error(transparent)]
    Mount(#[from] MountError),
    /// Writing a generated file failed.
    #[error("write {path}: {source}")]
    Write {
        /// The file.
        path: PathBuf,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// A directory rootfs does not exist.
    #[error("rootfs directory {0} does not exist")]
    Missing(String),
}

/// What the caller needs to know about a prepared root.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Prepared {
    /// Remount `/` read-only once everything is mounted (the built-in root is a generated tmpfs
    /// that nothing needs to change later).
    pub read_only_root: bool,
}

/// Inputs of the built-in root besides the plan.
#[derive(Debug, Clone)]
pub struct BuiltinInputs {
    /// Hostname for /etc/hostname and /etc/hosts.
    pub hostname: String,
    /// The lxnest binary to expose at [`builtin::LXNEST_PATH`] (the running executable).
    pub lxnest_binary: Option<PathBuf>,
    /// For a tarball rootfs: the unpacked tree ([`tar_tree`]).
    pub tar_tree: Option<PathBuf>,
}

/// Prepares the root at `root` (an existing empty directory) from `plan`.
pub fn prepare(
    plan: &RootfsPlan,
    root: &Path,
    inputs: &BuiltinInputs,
) -> Result<Prepared, RootfsError> {
    match plan {
        RootfsPlan::Builtin => {
            builtin::build(root, inputs)?;
            Ok(Prepared {
                read_only_root: true,
            })
        }
        RootfsPlan::Dir(path) => {
            let src = Path::new(path);
            if !src.is_dir() {
                return Err(RootfsError::Missing(path.clone()));
            }
            bind(src, root, true)?;
            Ok(Prepared {
                read_only_root: false,
            })
        }
        RootfsPlan::Tar(path) => {
            // Unpacked by the start sequence on the host side (see `tar_tree`).
            let tree = inputs
                .tar_tree
                .as_deref()
                .ok_or_else(|| RootfsError::Missing(format!("unpacked tree of tar:{path}")))?;
            if !tree.is_dir() {
                return Err(RootfsError::Missing(tree.display().to_string()));
            }
            bind(tree, root, true)?;
            Ok(Prepared {
                read_only_root: false,
            })
        }
    }
}

/// Where the tree of a tarball rootfs is kept between starts (stopping a container removes its
/// state directory, not this): `/var/lib/lxnest/rootfs/NAME` for the default state directory
/// (/run is a tmpfs, lost at reboot and costly in memory), else `<statedir>/.rootfs/NAME`;
/// NAME is the container path with `/` as `.`.
pub fn tar_tree(state_dir: &Path, container_path: &str) -> PathBuf {
    let base = if state_dir == Path::new(crate::statedir::DEFAULT_DIR) {
        PathBuf::from("/var/lib/lxnest/rootfs")
    } else if state_dir == crate::statedir::default_dir() {
        crate::statedir::user_data_dir().join("rootfs")
    } else {
        state_dir.join(".rootfs")
    };
    base.join(container_path.replace('/', "."))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_unpacked_tree_or_directory_must_exist() {
        let inputs = BuiltinInputs {
            hostname: "h".into(),
            lxnest_binary: None,
            tar_tree: None,
        };
        let err = prepare(
            &RootfsPlan::Tar("/x.tar".into()),
            Path::new("/nonexistent"),
            &inputs,
        );
        assert!(
            matches!(err, Err(RootfsError::Missing(_))),
            "not unpacked yet"
        );
        let err = prepare(
            &RootfsPlan::Dir("/nonexistent/r".into()),
            Path::new("/nonexistent"),
            &inputs,
        );
        assert!(matches!(err, Err(RootfsError::Missing(_))));
    }
}
