//! Unpacking a tarball rootfs for the start sequence, with owners in the container's ids: shifted
//! on the host side by root, written from inside a user namespace with the container's map by an
//! unprivileged user (who may not chown to subordinate ids), or all given to the user on a
//! single-id map, where no other id exists.

pub use super::tarroot_error::TarRootError;
use super::{helper, idmap, userns};
use crate::plan::model::{IdMapPlan, LevelPlan};
use crate::tarball::{self, Shift, Summary};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// What an unprivileged user does as root of a namespace with the container's map.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub enum Work {
    /// Unpack `tarball` at `dest`, owners shifted to ids 0..count of the namespace.
    Unpack {
        /// The archive.
        tarball: PathBuf,
        /// The tree.
        dest: PathBuf,
        /// How many ids the map covers.
        count: u32,
    },
    /// Remove the tree `dest`.
    Remove {
        /// The tree.
        dest: PathBuf,
    },
}

impl Work {
    fn run(&self) -> Result<String, TarRootError> {
        match self {
            Work::Unpack {
                tarball,
                dest,
                count,
            } => unpack_shifted(
                tarball,
                dest,
                Some(Shift {
                    uid: 0,
                    gid: 0,
                    count: *count,
                    squash: false,
                }),
            ),
            Work::Remove { dest } => std::fs::remove_dir_all(dest)
                .map(|_| String::new())
                .map_err(|source| TarRootError::Remove {
                    path: dest.clone(),
                    source,
                }),
        }
    }
}

#[derive(Serialize, Deserialize)]
struct MappedJob {
    map: IdMapPlan,
    work: Work,
}

/// Runs `work` as root of a user namespace with `map`: cloned from this process when it is
/// single-threaded, else in an exec'd `lxnest __monitor` (which clones from its single thread).
pub fn run_work(map: &IdMapPlan, work: &Work) -> Result<String, TarRootError> {
    if helper::multi_threaded() {
        let job = MappedJob {
            map: map.clone(),
            work: work.clone(),
        };
        let (_, note) = helper::spawn(helper::JOB_MAPPED, &job, None)?.finish()?;
        return Ok(note);
    }
    Ok(userns::run_mapped(map, || work.run().map_err(Into::into))?)
}

/// The mapped job's handler in `lxnest __monitor`.
pub fn mapped_job(
    job: serde_json::Value,
) -> std::result::Result<(i64, String), Box<dyn std::error::Error>> {
    let job: MappedJob = serde_json::from_value(job)?;
    Ok((0, run_work(&job.map, &job.work)?))
}

fn unpack_shifted(tar: &Path, dest: &Path, shift: Option<Shift>) -> Result<String, TarRootError> {
    let summary = tarball::ensure(tar, dest, shift)?;
    Ok(summary
        .map(|s| note(&tar.display().to_string(), &s))
        .unwrap_or_default())
}

/// Unpacks (or reuses) the tree of `tarball` for `plan` at `dest`; returns a note for the log.
pub fn unpack(
    plan: &LevelPlan,
    dest: &Path,
    tarball: &str,
) -> Result<Option<String>, TarRootError> {
    // Trees live behind a 0700 directory (launch::private) from the first file on.
    if nix::unistd::geteuid().is_root() {
        if let Some(base) = dest.parent() {
            super::private::private_dir(base).map_err(|source| TarRootError::Private {
                path: base.to_path_buf(),
                source,
            })?;
        }
    }
    let tar = Path::new(tarball);
    let text = match &plan.idmap {
        None => unpack_shifted(tar, dest, None)?,
        Some(m) if nix::unistd::geteuid().is_root() => unpack_shifted(
            tar,
            dest,
            Some(Shift {
                uid: m.host_uid.first,
                gid: m.host_gid.first,
                count: m.host_uid.count.min(m.host_gid.count),
                squash: false,
            }),
        )?,
        Some(m) if idmap::single_id(&m.uid) => unpack_shifted(
            tar,
            dest,
            Some(Shift {
                uid: nix::unistd::getuid().as_raw(),
                gid: nix::unistd::getgid().as_raw(),
                count: 1,
                squash: true,
            }),
        )?,
        Some(m) => run_work(
            m,
            &Work::Unpack {
                tarball: tar.to_path_buf(),
                dest: dest.to_path_buf(),
                count: ids(m),
            },
        )?,
    };
    Ok((!text.is_empty()).then_some(text))
}

/// Removes the unpacked tree `dest` (and its stamp), which holds files of the container's ids: an
/// unprivileged user removes it as root of a namespace with the container's map `map`. Returns
/// whether there was a tree.
pub fn remove(map: Option<&IdMapPlan>, dest: &Path) -> Result<bool, TarRootError> {
    let _ = std::fs::remove_file(crate::tarball::beside(dest, "stamp"));
    if std::fs::symlink_metadata(dest).is_err() {
        return Ok(false);
    }
    let work = Work::Remove {
        dest: dest.to_path_buf(),
    };
    match map {
        Some(m) if !nix::unistd::geteuid().is_root() && !idmap::single_id(&m.uid) => {
            run_work(m, &work)?
        }
        _ => work.run()?,
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
