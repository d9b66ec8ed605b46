//! Writing generated artifacts to a directory: the one step of `lxnest generate` that touches
//! the filesystem, kept out of the pure core that renders them.

use lxnest_core::artifacts::{Artifact, ArtifactError};
use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// Write artifacts below `out_dir`, creating directories; files are replaced only when their
/// content changed, so tools watching them see no spurious updates. A large set is written by
/// two threads, each a run of whole files (a fleet's 200,000 files are mostly system calls).
pub fn write(out_dir: &Path, artifacts: &[Artifact]) -> Result<(), ArtifactError> {
    let (first, second) = halves(artifacts);
    if second.is_empty() {
        return write_run(out_dir, first);
    }
    std::thread::scope(|s| {
        let other = s.spawn(|| write_run(out_dir, second));
        let mine = write_run(out_dir, first);
        // A panic in the other thread is a bug here: pass it on.
        let other = other
            .join()
            .unwrap_or_else(|p| std::panic::resume_unwind(p));
        mine.and(other)
    })
}

/// Below this many files one thread writes them all: starting a thread costs more.
const SPLIT_FROM: usize = 256;

/// Two runs of about equal cost (a file's cost: its bytes plus a few pages for the calls).
fn halves(artifacts: &[Artifact]) -> (&[Artifact], &[Artifact]) {
    if artifacts.len() < SPLIT_FROM {
        return (artifacts, &[]);
    }
    let cost = |a: &Artifact| a.bytes.len() + 16_384;
    let total: usize = artifacts.iter().map(cost).sum();
    let mut acc = 0;
    let at = artifacts
        .iter()
        .position(|a| {
            acc += cost(a);
            acc >= total / 2
        })
        .map_or(artifacts.len(), |i| i + 1);
    artifacts.split_at(at)
}

/// Write one run of artifacts in order.
fn write_run(out_dir: &Path, artifacts: &[Artifact]) -> Result<(), ArtifactError> {
    // Directories made (or found) once each, not once per file; `true` for one made now, whose
    // files need no comparison with an old content.
    let mut made: HashMap<PathBuf, bool> = HashMap::new();
    for a in artifacts {
        let path = out_dir.join(&a.file);
        let werr = |source| ArtifactError::Write {
            path: path.display().to_string(),
            source,
        };
        let fresh = match path.parent() {
            Some(parent) => match made.get(parent) {
                Some(f) => *f,
                None => {
                    // A directory that did not exist holds no file to compare with.
                    let f = !parent.exists();
                    std::fs::create_dir_all(parent).map_err(werr)?;
                    made.insert(parent.to_path_buf(), f);
                    f
                }
            },
            None => false,
        };
        if !fresh && same_content(&path, &a.bytes) {
            continue;
        }
        std::fs::write(&path, &a.bytes).map_err(|source| ArtifactError::Write {
            path: path.display().to_string(),
            source,
        })?;
    }
    Ok(())
}

/// Whether `path` already holds exactly `bytes` (its size is compared before its content).
fn same_content(path: &Path, bytes: &[u8]) -> bool {
    match std::fs::metadata(path) {
        Ok(m) if m.is_file() && m.len() == bytes.len() as u64 => {
            std::fs::read(path).ok().as_deref() == Some(bytes)
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Enough files for two threads, some directories shared across the split.
    #[test]
    fn a_large_set_is_written_whole_by_two_threads_and_again_unchanged() {
        let all: Vec<Artifact> = (0..600)
            .map(|i| Artifact {
                file: format!("c-{}/sub/f-{i}", i / 7),
                bytes: format!("content {i}\n").into_bytes(),
            })
            .collect();
        let (a, b) = halves(&all);
        assert!(!a.is_empty() && !b.is_empty(), "split in two");
        let dir = tempfile::tempdir().expect("temporary directory");
        for _ in 0..2 {
            write(dir.path(), &all).expect("writes");
            for f in &all {
                let got = std::fs::read(dir.path().join(&f.file)).expect("written");
                assert_eq!(got, f.bytes, "{}", f.file);
            }
        }
    }
}
