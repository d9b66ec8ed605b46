//! The unpack loop: one archive entry at a time, each checked by [`super::safety`], written with
//! owners shifted into the container's id range.

use super::safety::{self, Refusal};
use super::TarError;
use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

/// Where ids inside the archive land on the host: id `n` becomes `base + n`, for `n < count`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Shift {
    /// Host uid of the container's root.
    pub uid: u32,
    /// Host gid of the container's root.
    pub gid: u32,
    /// Ids the container has.
    pub count: u32,
    /// Give every entry to the container's root instead (a single-id map, where no other id
    /// exists); the entries this changed are counted in [`Summary::squashed`].
    #[serde(default)]
    pub squash: bool,
}

/// What an unpack did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Summary {
    /// Entries written.
    pub entries: u64,
    /// Device nodes skipped (a container's /dev is made by lxnest; nodes cannot be made in a
    /// user namespace anyway).
    pub skipped_devices: Vec<String>,
    /// Extended attributes the filesystem or the kernel refused, by file.
    pub skipped_xattrs: Vec<String>,
    /// Entries owned by another id than root that a squashing shift gave to root.
    pub squashed: u64,
}

/// Unpack every entry of `archive` below `dest` (which must exist and be empty).
pub fn unpack<R: std::io::Read>(
    archive: &mut tar::Archive<R>,
    dest: &Path,
    shift: Option<Shift>,
    file: &str,
) -> Result<Summary, TarError> {
    let mut sum = Summary::default();
    let entries = archive.entries().map_err(|e| TarError::Read {
        file: file.into(),
        source: e,
    })?;
    for entry in entries {
        let mut entry = entry.map_err(|e| TarError::Read {
            file: file.into(),
            source: e,
        })?;
        let name = entry
            .path()
            .map_err(|e| TarError::Read {
                file: file.into(),
                source: e,
            })?
            .into_owned();
        let refuse = |why: Refusal| TarError::Refused {
            file: file.into(),
            entry: name.display().to_string(),
            why: why.to_string(),
        };
        let rel = safety::relative(&name).map_err(refuse)?;
        if rel.as_os_str().is_empty() {
            continue; // "./" itself
        }
        safety::check_parents(dest, &rel).map_err(refuse)?;
        let target = dest.join(&rel);
        if let Some(parent) = target.parent() {
            std::fs::create_dir_all(parent).map_err(|e| io(&target, e))?;
        }
        let kind = entry.header().entry_type();
        if kind.is_block_special() || kind.is_character_special() || kind.is_fifo() {
            sum.skipped_devices.push(rel.display().to_string());
            continue;
        }
        if kind.is_hard_link() {
            let link = entry
                .link_name()
                .ok()
                .flatten()
                .map(|l| l.into_owned())
                .unwrap_or_default();
            let src = safety::link_target(&link).map_err(refuse)?;
            safety::check_parents(dest, &src).map_err(refuse)?;
            remove_existing(&target)?;
            std::fs::hard_link(dest.join(&src), &target).map_err(|e| io(&target, e))?;
            sum.entries += 1;
            continue;
        }
        if !(kind.is_file() || kind.is_dir() || kind.is_symlink() || kind.is_contiguous()) {
            continue; // pax headers and the like carry metadata already applied by `tar`
        }
        if !kind.is_dir() {
            remove_existing(&target)?;
        }
        // tar's own unpack writes files, directories and symlinks without following a symlink at
        // the final component; parents were checked above.
        entry.set_preserve_permissions(true);
        entry.set_preserve_mtime(true);
        entry.unpack(&target).map_err(|e| io(&target, e))?;
        if own(&entry, &target, shift, &rel, file)? {
            sum.squashed += 1;
        }
        xattrs(&mut entry, &target, &rel, &mut sum);
        sum.entries += 1;
    }
    Ok(sum)
}

fn io(path: &Path, source: std::io::Error) -> TarError {
    TarError::Write {
        path: path.display().to_string(),
        source,
    }
}

fn remove_existing(target: &Path) -> Result<(), TarError> {
    match std::fs::symlink_metadata(target) {
        Ok(m) if m.is_dir() => std::fs::remove_dir_all(target).map_err(|e| io(target, e)),
        Ok(_) => std::fs::remove_file(target).map_err(|e| io(target, e)),
        Err(_) => Ok(()),
    }
}

/// lchown to the shifted owner; refuse ids outside the container's range. Returns whether a
/// squashing shift changed the owner.
fn own<R: std::io::Read>(
    entry: &tar::Entry<R>,
    target: &Path,
    shift: Option<Shift>,
    rel: &Path,
    file: &str,
) -> Result<bool, TarError> {
    let h = entry.header();
    let (uid, gid) = (h.uid().unwrap_or(0), h.gid().unwrap_or(0));
    let squashed = shift.is_some_and(|s| s.squash) && (uid, gid) != (0, 0);
    let (uid, gid) = match shift {
        Some(s) if s.squash => (u64::from(s.uid), u64::from(s.gid)),
        Some(s) => {
            if uid >= u64::from(s.count) || gid >= u64::from(s.count) {
                return Err(TarError::Refused {
                    file: file.into(),
                    entry: rel.display().to_string(),
                    why: format!(
                        "owned by {uid}:{gid}, outside the container's {} ids",
                        s.count
                    ),
                });
            }
            (u64::from(s.uid) + uid, u64::from(s.gid) + gid)
        }
        None => (uid, gid),
    };
    let (uid, gid) = (
        u32::try_from(uid).unwrap_or(u32::MAX),
        u32::try_from(gid).unwrap_or(u32::MAX),
    );
    std::os::unix::fs::lchown(target, Some(uid), Some(gid)).map_err(|e| io(target, e))?;
    // chown clears set-id bits; put the archive's mode back (symlinks have none).
    let meta = std::fs::symlink_metadata(target).map_err(|e| io(target, e))?;
    if !meta.file_type().is_symlink() {
        let mode = h.mode().unwrap_or(0o644) & 0o7777;
        std::fs::set_permissions(target, std::fs::Permissions::from_mode(mode))
            .map_err(|e| io(target, e))?;
    }
    Ok(squashed)
}

/// `SCHILY.xattr.NAME` pax records; refused ones are noted, not fatal.
fn xattrs<R: std::io::Read>(
    entry: &mut tar::Entry<R>,
    target: &Path,
    rel: &Path,
    sum: &mut Summary,
) {
    let Ok(Some(exts)) = entry.pax_extensions() else {
        return;
    };
    for ext in exts.flatten() {
        let Some(name) = ext.key_bytes().strip_prefix(b"SCHILY.xattr.") else {
            continue;
        };
        if xattr::set(target, OsStr::from_bytes(name), ext.value_bytes()).is_err() {
            sum.skipped_xattrs.push(format!(
                "{}: {}",
                rel.display(),
                String::from_utf8_lossy(name)
            ));
        }
    }
}
