//! How many threads this process has, checked right before a fork or clone whose child runs
//! lxnest's code: a lock another thread held at the fork stays held forever in the child
//! (`launch::helper` says how a multi-threaded caller's work runs instead). Below everything
//! that forks, so each of them can ask without depending on the helper.

use std::time::Duration;
use thiserror::Error;

/// A fork was about to happen in a process with several threads.
#[derive(Debug, Error)]
#[error("step {step}: this process has {threads} threads; lxnest forks only in a single-threaded process (a multi-threaded caller's work runs in an exec'd `lxnest __monitor`)")]
pub struct ThreadedError {
    /// The step that would have forked.
    pub step: &'static str,
    /// Threads counted.
    pub threads: usize,
}

/// Whether this process has more than one thread.
pub fn multi_threaded() -> bool {
    count() > 1
}

fn count() -> usize {
    std::fs::read_dir("/proc/self/task").map_or(1, |rd| rd.count())
}

/// Ok when this process is single-threaded. A thread that was just joined may stay listed for a
/// moment while the kernel releases it (a tarball's decompression thread, for one): it holds no
/// lock any more, so that moment is waited out, briefly.
pub fn single_threaded(step: &'static str) -> Result<(), ThreadedError> {
    for _ in 0..50 {
        if count() <= 1 {
            return Ok(());
        }
        std::thread::sleep(Duration::from_millis(2));
    }
    Err(ThreadedError {
        step,
        threads: count(),
    })
}
