//! Unpacking a tarball rootfs for the start sequence, with owners in the container's ids: shifted
//! on the host side by root, written from inside a user namespace with the container's map by an
//! unprivileged user (who may not chown to subordinate ids), or all given to the user on a
//! single-id map, where no other id exists.

use super::{idmap, userns};
use crate::plan::model::{IdMapPlan, LevelPlan};
use crate::tarball::{self, Shift, Summary};
use std::path::Path;

/// Unpacks (or reuses) the tree of `tarball` for `plan` at `dest`; returns a note for the log.
pub fn unpack(plan: &LevelPlan, dest: &Path, tarball: &str) -> Result<Option<String>, String> {
    // Trees live behind a 0700 directory (launch::private) from the first file on.
    if nix::unistd::geteuid().is_root() {
        if let Some(base) = dest.parent() {
            super::private::private_dir(base).map_err(|e| format!("{}: {e}", base.display()))?;
        }
    }
    let tar = Path::new(tarball);
    let run = |shift| {
        tarball::ensure(tar, dest, shift)
            .map(|s| s.map(|s| note(tarball, &s)).unwrap_or_default())
            .map_err(|e| e.to_string())
    };
    let text = match &plan.idmap {
        None => run(None)?,
        Some(m) if nix::unistd::geteuid().is_root() => run(Some(Shift {
            uid: m.host_uid.first,
            gid: m.host_gid.first,
            count: m.host_uid.count.min(m.host_gid.count),
            squash: false,
        }))?,
        Some(m) if idmap::single_id(&m.uid) => run(Some(Shift {
            uid: nix::unistd::getuid().as_raw(),
            gid: nix::unistd::getgid().as_raw(),
            count: 1,
            squash: true,
        }))?,
        Some(m) => {
            let count = ids(m);
            userns::run_mapped(m, || {
                run(Some(Shift {
                    uid: 0,
                    gid: 0,
                    count,
                    squash: false,
                }))
            })?
        }
    };
    Ok((!text.is_empty()).then_some(text))
}

/// Removes the unpacked tree `dest` (and its stamp), which holds files of the container's ids: an
/// unprivileged user removes it as root of a namespace with the container's map `map`. Returns
/// whether there was a tree.
pub fn remove(map: Option<&IdMapPlan>, dest: &Path) -> Result<bool, String> {
    let _ = std::fs::remove_file(crate::tarball::beside(dest, "stamp"));
    if std::fs::symlink_metadata(dest).is_err() {
        return Ok(false);
    }
    let rm = || {
        std::fs::remove_dir_all(dest)
            .map(|_| String::new())
            .map_err(|e| format!("remove {}: {e}", dest.display()))
    };
    match map {
        Some(m) if !nix::unistd::geteuid().is_root() && !idmap::single_id(&m.uid) => {
            userns::run_mapped(m, rm)?
        }
        _ => rm()?,
    };
    Ok(true)
}

/// How many ids, from 0 up, both maps cover.
fn ids(m: &IdMapPlan) -> u32 {
    let total = |l: &[crate::plan::model::IdMapLine]| l.iter().map(|l| l.count).sum::<u32>();
    total(&m.uid).min(total(&m.gid))
}

fn note(tarball: &str, s: &Summary) -> String {
    let mut parts = Vec::new();
    if !s.skipped_devices.is_empty() {
        parts.push(format!(
            "skipped {} device nodes (lxnest makes the container's /dev)",
            s.skipped_devices.len()
        ));
    }
    if s.squashed > 0 {
        parts.push(format!(
            "gave {} entries owned by other users to root (single-id map)",
            s.squashed
        ));
    }
    if parts.is_empty() {
        String::new()
    } else {
        format!("{tarball}: {}", parts.join("; "))
    }
}
