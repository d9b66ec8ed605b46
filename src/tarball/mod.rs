//! Root filesystem tarballs (`rootfs: tar:PATH`): unpacked safely into lxnest's directory with
//! owners shifted into the container's id range, reused on the next start unless the tarball
//! changed. gzip, xz, zstd, bzip2 or plain, recognised by content.
//!
//! Safety: names must be relative without `..`; nothing is written through a symlink the archive
//! created; hard links must point inside the tree; ids outside the container's range are refused;
//! device nodes are skipped with a note. The tree is built in `DEST.partial` and renamed into
//! place only when complete, so a refused or broken tarball leaves nothing behind.

pub mod compress;
pub mod safety;
pub mod unpack;

pub use unpack::{Shift, Summary};

use std::io::{IsTerminal, Read, Write};
use std::path::{Path, PathBuf};
use thiserror::Error;

/// Unpacking failed.
#[derive(Debug, Error)]
pub enum TarError {
    /// The tarball could not be read or is corrupt.
    #[error("{file}: cannot read the archive: {source}")]
    Read {
        /// Tarball.
        file: String,
        /// Cause.
        source: std::io::Error,
    },
    /// An entry breaks a safety rule.
    #[error("{file}: entry `{entry}` refused: {why}\n  fix: repack the tarball with relative names inside one tree (e.g. `tar -C ROOT -cf out.tar .`)")]
    Refused {
        /// Tarball.
        file: String,
        /// Entry name.
        entry: String,
        /// Rule broken.
        why: String,
    },
    /// Writing below the destination failed.
    #[error("{path}: {source}")]
    Write {
        /// Path.
        path: String,
        /// Cause.
        source: std::io::Error,
    },
}

/// What identifies a tarball's content for reuse: path, size, modification time and id shift.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
struct Stamp {
    tarball: PathBuf,
    size: u64,
    mtime_ns: i128,
    shift: Option<Shift>,
}

fn stamp_of(tarball: &Path, shift: Option<Shift>) -> std::io::Result<Stamp> {
    let m = std::fs::metadata(tarball)?;
    let mtime_ns = m
        .modified()?
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as i128)
        .unwrap_or(0);
    Ok(Stamp {
        tarball: std::path::absolute(tarball)?,
        size: m.len(),
        mtime_ns,
        shift,
    })
}

/// Unpack `tarball` at `dest` unless `dest` already holds this very tarball (same stamp).
/// Returns `None` when the existing tree was reused.
pub fn ensure(
    tarball: &Path,
    dest: &Path,
    shift: Option<Shift>,
) -> Result<Option<Summary>, TarError> {
    let file = crate::spec::load::display_path(tarball);
    let rerr = |source| TarError::Read {
        file: file.clone(),
        source,
    };
    let stamp = stamp_of(tarball, shift).map_err(rerr)?;
    let stamp_path = crate::tarball::beside(dest, "stamp");
    let previous: Option<Stamp> = std::fs::read(&stamp_path)
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok());
    if previous.as_ref() == Some(&stamp) && dest.is_dir() {
        return Ok(None);
    }
    let summary = unpack_fresh(tarball, dest, shift)?;
    let bytes = serde_json::to_vec(&stamp).unwrap_or_default();
    std::fs::write(&stamp_path, bytes).map_err(|e| TarError::Write {
        path: stamp_path.display().to_string(),
        source: e,
    })?;
    Ok(Some(summary))
}

/// `DEST.SUFFIX` beside the tree `dest`: the whole name gets the suffix (`host.a` ->
/// `host.a.stamp`), so trees whose names differ only after a dot (a nesting host's children,
/// `host.a` and `host.b`) never share a stamp or a partial unpack.
pub fn beside(dest: &Path, suffix: &str) -> std::path::PathBuf {
    let mut name = dest.file_name().unwrap_or_default().to_os_string();
    name.push(".");
    name.push(suffix);
    dest.with_file_name(name)
}

/// Unpack into `DEST.partial`, then replace `dest` with it.
pub fn unpack_fresh(
    tarball: &Path,
    dest: &Path,
    shift: Option<Shift>,
) -> Result<Summary, TarError> {
    let file = crate::spec::load::display_path(tarball);
    let partial = crate::tarball::beside(dest, "partial");
    let werr = |p: &Path, source| TarError::Write {
        path: p.display().to_string(),
        source,
    };
    let _ = std::fs::remove_dir_all(&partial);
    std::fs::create_dir_all(&partial).map_err(|e| werr(&partial, e))?;
    // The container's root owns its `/`, also when the archive has no `./` entry to say so.
    if let Some(s) = shift {
        std::os::unix::fs::chown(&partial, Some(s.uid), Some(s.gid))
            .map_err(|e| werr(&partial, e))?;
    }
    let result = read_into(tarball, &partial, shift, &file);
    match result {
        Ok(sum) => {
            if dest.exists() {
                std::fs::remove_dir_all(dest).map_err(|e| werr(dest, e))?;
            }
            std::fs::rename(&partial, dest).map_err(|e| werr(dest, e))?;
            Ok(sum)
        }
        Err(e) => {
            let _ = std::fs::remove_dir_all(&partial);
            Err(e)
        }
    }
}

fn read_into(
    tarball: &Path,
    dest: &Path,
    shift: Option<Shift>,
    file: &str,
) -> Result<Summary, TarError> {
    // A FIFO or device named as a tarball is refused, not waited on.
    let f = crate::source::open_input(tarball).map_err(|e| TarError::Read {
        file: file.into(),
        source: e,
    })?;
    let total = f.metadata().map(|m| m.len()).unwrap_or(0);
    let progress = Progress::new(f, total, std::io::stderr().is_terminal());
    let (_, reader) = compress::open(progress).map_err(|e| TarError::Read {
        file: file.into(),
        source: e,
    })?;
    let mut archive = tar::Archive::new(reader);
    archive.set_overwrite(true);
    let sum = unpack::unpack(&mut archive, dest, shift, file)?;
    if std::io::stderr().is_terminal() {
        eprintln!();
    }
    Ok(sum)
}

/// Counts compressed bytes read and, on a terminal, draws a bar for tarballs above 16 MiB.
struct Progress<R> {
    inner: R,
    read: u64,
    total: u64,
    shown: u64,
    draw: bool,
}

impl<R> Progress<R> {
    fn new(inner: R, total: u64, tty: bool) -> Self {
        Progress {
            inner,
            read: 0,
            total,
            shown: 0,
            draw: tty && total > 16 << 20,
        }
    }
}

impl<R: Read> Read for Progress<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.read += n as u64;
        let pct = (self.read * 100).checked_div(self.total).unwrap_or(100);
        if self.draw && pct != self.shown {
            self.shown = pct;
            let bar = "#".repeat((pct / 4) as usize);
            eprint!(
                "\runpacking [{bar:<25}] {pct:>3}% of {} MiB",
                self.total >> 20
            );
            let _ = std::io::stderr().flush();
        }
        Ok(n)
    }
}

#[cfg(test)]
mod beside_tests {
    #[test]
    fn siblings_with_dots_get_their_own_stamps() {
        let a = super::beside(std::path::Path::new("/r/host.a"), "stamp");
        let b = super::beside(std::path::Path::new("/r/host.b"), "stamp");
        assert_eq!(a, std::path::Path::new("/r/host.a.stamp"));
        assert_ne!(a, b);
    }
}

#[cfg(test)]
mod tests {
    /// A rootfs tarball has no size limit but must be a regular file, like every input: a FIFO
    /// is refused at once (it would block the open), naming what it is, and nothing is left.
    #[test]
    fn a_fifo_tarball_is_refused_at_once() {
        let d = tempfile::tempdir().unwrap();
        let fifo = d.path().join("fifo.tar");
        nix::unistd::mkfifo(&fifo, nix::sys::stat::Mode::from_bits_truncate(0o600)).unwrap();
        let started = std::time::Instant::now();
        let e = super::unpack_fresh(&fifo, &d.path().join("root"), None).unwrap_err();
        assert!(e.to_string().contains("a FIFO"), "{e}");
        assert!(!d.path().join("root.partial").exists());
        assert!(started.elapsed() < std::time::Duration::from_secs(5));
    }
}
