//! Running one job as root of a fresh user namespace that has a container's id map: how an
//! unprivileged user writes files owned by the container's other ids (unpacking a rootfs
//! tarball, removing such a tree). The user may not chown to subordinate ids, but root of a
//! namespace whose map holds them may.

use super::idmap;
use crate::plan::model::IdMapPlan;
use nix::sched::CloneFlags;
use nix::sys::wait::{waitpid, WaitStatus};
use nix::unistd::{setresgid, setresuid, Gid, Uid};
use std::io::{Read, Write};
use std::os::fd::{AsRawFd, OwnedFd};
use thiserror::Error;

/// Stack of the cloned job (it decompresses and unpacks archives).
const STACK_SIZE: usize = 4 << 20;

/// Why a job in a mapped user namespace failed.
#[derive(Debug, Error)]
pub enum UsernsError {
    /// A pipe to the job, or the clone itself, failed.
    #[error("{what}: {source}")]
    Setup {
        /// `pipe`, `clone(CLONE_NEWUSER)`.
        what: &'static str,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// The job's id maps could not be written.
    #[error("id maps: {0}")]
    Maps(#[source] std::io::Error),
    /// The job ran and failed (its message, from the namespaced process).
    #[error("{0}")]
    Job(String),
    /// The job's process ended without saying how the job went.
    #[error("the namespaced job died: {0}")]
    Died(String),
    /// This process has several threads: the clone's child could hang on a lock.
    #[error(transparent)]
    Threaded(#[from] super::threads::ThreadedError),
}

/// The outcome of a job in the namespace: its note, or its error (sent back as text).
pub type JobResult = std::result::Result<String, Box<dyn std::error::Error>>;

/// Runs `job` as uid and gid 0 of a new user namespace mapped by `map` and returns what it
/// returned. Only from a single-threaded process (the child is a clone of this one that runs
/// `job`, checked here); a multi-threaded caller goes through `launch::tarroot::run_work`.
pub fn run_mapped<F>(map: &IdMapPlan, job: F) -> Result<String, UsernsError>
where
    F: FnOnce() -> JobResult,
{
    super::threads::single_threaded("mapped user namespace")?;
    let setup = |what| {
        move |e: nix::Error| UsernsError::Setup {
            what,
            source: e.into(),
        }
    };
    let (go_r, go_w) = nix::unistd::pipe().map_err(setup("pipe"))?;
    let (res_r, res_w) = nix::unistd::pipe().map_err(setup("pipe"))?;
    let mut job = Some(job);
    let mut stack = vec![0u8; STACK_SIZE];
    let go_w_raw = go_w.as_raw_fd();
    let res_r_raw = res_r.as_raw_fd();
    let body = Box::new(|| -> isize {
        // The child's copies of the parent's ends must go, or end-of-file never comes.
        let _ = nix::unistd::close(go_w_raw);
        let _ = nix::unistd::close(res_r_raw);
        let outcome = match wait_for_maps(&go_r) {
            Ok(()) => job.take().map_or(Err("job ran twice".into()), |j| j()),
            Err(e) => Err(e.into()),
        };
        report(&res_w, &outcome);
        i32::from(outcome.is_err()) as isize
    });
    // SAFETY: no CLONE_VM: the child runs on a copy-on-write copy of our memory, so the closure
    // and what it borrows stay valid there and `stack` outlives the call here. Only the calling
    // thread is copied (as with fork), this process has no other (checked above), and SIGCHLD
    // makes it waitable like a forked child.
    let pid = unsafe {
        nix::sched::clone(
            body,
            &mut stack,
            CloneFlags::CLONE_NEWUSER,
            Some(libc::SIGCHLD),
        )
    }
    .map_err(setup("clone(CLONE_NEWUSER)"))?;
    drop(res_w);
    let mapped = idmap::write_maps(pid, map).map_err(UsernsError::Maps);
    if mapped.is_ok() {
        let _ = std::fs::File::from(go_w).write_all(b"1");
    } else {
        drop(go_w);
    }
    let mut text = String::new();
    let _ = std::fs::File::from(res_r).read_to_string(&mut text);
    let status = waitpid(pid, None);
    mapped?;
    match (text.split_once('\n'), status) {
        (Some(("ok", rest)), Ok(WaitStatus::Exited(_, 0))) => Ok(rest.to_string()),
        (Some((_, rest)), _) => Err(UsernsError::Job(rest.to_string())),
        (None, s) => Err(UsernsError::Died(format!("{s:?}"))),
    }
}

/// Waits for the parent's go (maps written), then becomes root of the namespace.
fn wait_for_maps(go: &OwnedFd) -> Result<(), UsernsError> {
    let mut b = [0u8; 1];
    match nix::unistd::read(go, &mut b) {
        Ok(1) => {}
        _ => return Err(UsernsError::Job("the id maps were not written".into())),
    }
    setresgid(Gid::from_raw(0), Gid::from_raw(0), Gid::from_raw(0))
        .and_then(|_| setresuid(Uid::from_raw(0), Uid::from_raw(0), Uid::from_raw(0)))
        .map_err(|e| UsernsError::Setup {
            what: "become root of the user namespace",
            source: e.into(),
        })
}

fn report(fd: &OwnedFd, outcome: &JobResult) {
    let text = match outcome {
        Ok(t) => format!("ok\n{t}"),
        Err(e) => format!("err\n{e}"),
    };
    let _ = nix::unistd::write(fd, text.as_bytes());
}
