//! The registry's lock and file. The lock is `flock(LOCK_EX)` on `lock` in the registry
//! directory: it excludes other processes and other threads of this one (each [`acquire`] opens
//! its own file description), and the kernel drops it when its holder dies, so a crash never
//! leaves the registry locked. The file `registry.json` is replaced atomically under the lock.

use super::{Registry, RegistryError, Result};
use std::fs::{File, OpenOptions};
use std::os::fd::AsRawFd;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// The registry's file name inside its directory.
pub const FILE: &str = "registry.json";
const LOCK: &str = "lock";

/// In a child just forked: closes the inherited copies of registry lock descriptors (the lock's
/// descriptor is registered in [`crate::forkfds`] while held).
pub use crate::forkfds::close_inherited;

/// The registry, locked: read at [`acquire`], written by [`Held::save`], unlocked on drop.
#[derive(Debug)]
pub struct Held {
    file: File,
    path: PathBuf,
    slot: Option<usize>,
    locked: bool,
    since: Instant,
    waited: Duration,
    /// The content, to change and then [`Held::save`].
    pub registry: Registry,
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> RegistryError + '_ {
    move |source| RegistryError::Io {
        path: path.display().to_string(),
        source,
    }
}

/// Locks the registry in `dir` (created 0700 when missing; waits for another holder) and reads it.
pub fn acquire(dir: &Path) -> Result<Held> {
    // The state directory above keeps its usual mode; the registry itself is private.
    if let Some(parent) = dir.parent() {
        std::fs::create_dir_all(parent).map_err(io(parent))?;
    }
    match std::fs::DirBuilder::new().mode(0o700).create(dir) {
        Err(e) if e.kind() != std::io::ErrorKind::AlreadyExists => return Err(io(dir)(e)),
        _ => {}
    }
    let lock_path = dir.join(LOCK);
    let file = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .mode(0o600)
        .custom_flags(libc::O_CLOEXEC | libc::O_NOFOLLOW)
        .open(&lock_path)
        .map_err(io(&lock_path))?;
    let asked = Instant::now();
    loop {
        // SAFETY: flock(2) on a descriptor owned by `file`, which outlives the call.
        if unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX) } == 0 {
            break;
        }
        let e = std::io::Error::last_os_error();
        if e.kind() != std::io::ErrorKind::Interrupted {
            return Err(io(&lock_path)(e));
        }
    }
    let waited = asked.elapsed();
    let slot = crate::forkfds::register(file.as_raw_fd());
    let path = dir.join(FILE);
    let registry = read(&path)?;
    Ok(Held {
        file,
        path,
        slot,
        locked: true,
        since: Instant::now(),
        waited,
        registry,
    })
}

/// Reads a registry file; a missing one is empty.
pub fn read(path: &Path) -> Result<Registry> {
    match std::fs::read_to_string(path) {
        Ok(text) => serde_json::from_str(&text).map_err(|e| RegistryError::Corrupt {
            path: path.display().to_string(),
            message: e.to_string(),
        }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Registry::default()),
        Err(e) => Err(io(path)(e)),
    }
}

impl Held {
    /// Writes the registry (a new file renamed over the old one: a reader without the lock sees
    /// the old or the new content, never half of one).
    pub fn save(&self) -> Result<()> {
        if !self.locked {
            return Err(RegistryError::Io {
                path: self.path.display().to_string(),
                source: std::io::Error::other("not saved: the lock was released"),
            });
        }
        let tmp = self.path.with_extension("json.tmp");
        let text =
            serde_json::to_string_pretty(&self.registry).map_err(|e| RegistryError::Corrupt {
                path: self.path.display().to_string(),
                message: e.to_string(),
            })?;
        let mut f = OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .custom_flags(libc::O_CLOEXEC | libc::O_NOFOLLOW)
            .open(&tmp)
            .map_err(io(&tmp))?;
        std::io::Write::write_all(&mut f, text.as_bytes()).map_err(io(&tmp))?;
        f.sync_all().map_err(io(&tmp))?;
        std::fs::rename(&tmp, &self.path).map_err(io(&self.path))
    }

    /// Releases the lock early (the content may no longer be saved).
    pub fn unlock(&mut self) {
        if let Some(i) = self.slot.take() {
            crate::forkfds::unregister(i);
        }
        self.locked = false;
        // SAFETY: flock(2) on the descriptor `self.file` owns.
        unsafe { libc::flock(self.file.as_raw_fd(), libc::LOCK_UN) };
    }

    /// How long the lock has been held.
    pub fn held_for(&self) -> Duration {
        self.since.elapsed()
    }

    /// How long [`acquire`] waited for the lock.
    pub fn waited(&self) -> Duration {
        self.waited
    }
}

impl Drop for Held {
    fn drop(&mut self) {
        if let Some(i) = self.slot {
            crate::forkfds::unregister(i);
        }
        // The benchmark (scripts/bench-registry.sh) reads these two figures from the log.
        tracing::debug!(
            target: "lxnest::registry",
            "registry lock: waited {} us, held {} us",
            self.waited.as_micros(),
            self.since.elapsed().as_micros()
        );
        // Closing the descriptor (dropping `file`) releases the lock.
        let _ = &self.file;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::registry::Entry;

    #[test]
    fn threads_exclude_each_other_and_the_file_survives() {
        let dir = tempfile::tempdir().expect("tempdir");
        let d = dir.path().to_path_buf();
        let handles: Vec<_> = (0..4)
            .map(|i| {
                let d = d.clone();
                std::thread::spawn(move || {
                    let mut h = acquire(&d).expect("lock");
                    let n = h.registry.entries.len();
                    std::thread::sleep(Duration::from_millis(20));
                    h.registry
                        .record(Entry::held_by_me("s", &format!("c{i}"), &d, Vec::new()))
                        .expect("record");
                    assert_eq!(h.registry.entries.len(), n + 1, "nobody wrote in between");
                    h.save().expect("save");
                })
            })
            .collect();
        for h in handles {
            h.join().expect("thread");
        }
        let mut h = acquire(&d).expect("lock");
        assert_eq!(h.registry.entries.len(), 4);
        assert!(h.registry.prune().is_empty(), "this process holds them all");
        assert!(h.registry.release(&d, "c2"));
        assert!(!h.registry.release(&d, "c2"));
        h.registry.entries[0].holder_start += 1;
        assert_eq!(
            h.registry.prune().len(),
            1,
            "a recycled pid is not the holder"
        );
        assert_eq!(h.registry.entries.len(), 2);
    }
}
