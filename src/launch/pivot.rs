//! Switching the root: `pivot_root` into the prepared root and detaching the old one, so no
//! path of the parent's filesystem stays reachable (unlike chroot, which leaves the old root
//! one mount-namespace escape away).

use super::mounts::{MResult, MountError};
use nix::mount::{mount, umount2, MntFlags, MsFlags};
use nix::unistd::{chdir, pivot_root};
use std::path::Path;

fn err(op: &'static str, target: &Path) -> impl FnOnce(nix::Error) -> MountError {
    let target = target.to_path_buf();
    move |e| MountError {
        op: op.into(),
        target,
        message: e.to_string(),
    }
}

/// Makes `root` the process's `/`, detaches the old root, and optionally makes `/` read-only.
/// `locked`: the mounts at `root` were copied from a more privileged mount namespace (see
/// `super::lock`); the kernel refuses a locked mount as the new root, so `root` first gets a
/// recursive bind of itself, an unlocked mount whose submounts (the masks) stay locked.
pub fn pivot(root: &Path, read_only: bool, locked: bool) -> MResult {
    if locked {
        mount(
            Some(root),
            root,
            None::<&str>,
            MsFlags::MS_BIND | MsFlags::MS_REC,
            None::<&str>,
        )
        .map_err(err("bind the root onto itself", root))?;
    }
    chdir(root).map_err(err("chdir", root))?;
    // pivot_root(".", ".") stacks the old root on top of the new one at the same place, so no
    // directory for the old root is needed; the detach below then removes it.
    pivot_root(".", ".").map_err(err("pivot_root", root))?;
    // The old root may have shared propagation; make it private so the detach does not
    // propagate back to the parent's namespace.
    mount(
        None::<&str>,
        ".",
        None::<&str>,
        MsFlags::MS_SLAVE | MsFlags::MS_REC,
        None::<&str>,
    )
    .map_err(err("make old root slave", root))?;
    umount2(".", MntFlags::MNT_DETACH).map_err(err("detach old root", root))?;
    chdir("/").map_err(err("chdir", Path::new("/")))?;
    if read_only {
        super::mounts::remount_ro(Path::new("/"), MsFlags::empty())?;
    }
    Ok(())
}
