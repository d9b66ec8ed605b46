//! Starting containers from a multi-threaded caller (the Python binding, a Rust program calling
//! `lxnest::api` from threads). The start sequence forks and clones, and the children run Rust
//! code that allocates and takes locks; a lock that another thread of the caller held at the
//! fork stays held forever in the child (a test saw exactly that hang). So when the calling
//! process has more than one thread, the start runs in a fresh `lxnest __monitor` process,
//! started by exec (`std::process::Command`, which only makes async-signal-safe calls between
//! its fork and exec); that process is single-threaded, and forks and clones safely.
//!
//! The job (plan and options) reaches it as JSON on descriptor 4; it answers with one line on
//! descriptor 3: `ok N` (the init's pid, or a foreground container's exit code) or `err MESSAGE`.
//! A foreground container keeps the caller's stdio, relayed by the helper (`launch::fgstdio`).

use super::error::{step_err, Result};
use super::start::StartOptions;
use crate::cgroup::{Base, CreateOptions};
use crate::plan::model::{BridgePlan, LevelPlan};
use serde::{Deserialize, Serialize};
use std::io::{Read, Write};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::time::Duration;

/// What `lxnest __monitor` is asked to do.
#[derive(Debug, Serialize, Deserialize)]
pub struct Job {
    plan: LevelPlan,
    state_dir: PathBuf,
    require_apparmor: bool,
    /// `own`, `own-parent` or `mount-root` ([`Base`]).
    base: String,
    bridge: Option<BridgePlan>,
    nested_json: Option<String>,
    grace_ms: u64,
    foreground: bool,
}

fn base_name(b: &Base) -> &'static str {
    match b {
        Base::Own => "own",
        Base::OwnParent => "own-parent",
        Base::MountRoot => "mount-root",
    }
}

fn base_of(s: &str) -> Base {
    match s {
        "own-parent" => Base::OwnParent,
        "mount-root" => Base::MountRoot,
        _ => Base::Own,
    }
}

/// Whether this process has more than one thread.
pub fn multi_threaded() -> bool {
    std::fs::read_dir("/proc/self/task").is_ok_and(|rd| rd.count() > 1)
}

/// The lxnest executable to exec: `$LXNEST_BINARY`, the running executable when it is lxnest,
/// else `lxnest` on PATH.
pub fn binary() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("LXNEST_BINARY").map(PathBuf::from) {
        return p.is_file().then_some(p);
    }
    let exe = std::env::current_exe().ok();
    if exe
        .as_deref()
        .and_then(|p| p.file_name())
        .is_some_and(|n| n == "lxnest")
    {
        return exe;
    }
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|d| d.join("lxnest"))
        .find(|p| p.is_file())
}

/// Runs the start in `lxnest __monitor` when the caller is multi-threaded and lxnest is
/// installed; `None`: start in this process (single-threaded, or no binary to exec).
pub fn delegate(
    plan: &LevelPlan,
    opts: &StartOptions,
    grace: Duration,
    foreground: bool,
) -> Option<Result<i32>> {
    if !multi_threaded() || opts.stdio.is_some() || opts.console_log {
        return None;
    }
    let bin = binary()?;
    Some(run_helper(&bin, plan, opts, grace, foreground))
}

fn run_helper(
    bin: &std::path::Path,
    plan: &LevelPlan,
    opts: &StartOptions,
    grace: Duration,
    foreground: bool,
) -> Result<i32> {
    let c = plan.path.as_str();
    let job = Job {
        plan: plan.clone(),
        state_dir: opts.state_dir.clone(),
        require_apparmor: opts.require_apparmor,
        base: base_name(&opts.cgroup.base).into(),
        bridge: opts.bridge.clone(),
        nested_json: opts.nested_json.clone(),
        grace_ms: grace.as_millis() as u64,
        foreground,
    };
    let text = serde_json::to_vec(&job).map_err(step_err(c, "monitor"))?;
    // The job on stdin through an anonymous file: no pipe to fill, no thread to feed it.
    let fd = nix::sys::memfd::memfd_create(c"lxnest-job", nix::sys::memfd::MFdFlags::MFD_CLOEXEC)
        .map_err(step_err(c, "monitor"))?;
    let mut job_file = std::fs::File::from(fd);
    job_file
        .write_all(&text)
        .and_then(|_| std::io::Seek::rewind(&mut job_file))
        .map_err(step_err(c, "monitor"))?;
    let (report_r, report_w) =
        nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC).map_err(step_err(c, "monitor"))?;
    let w = report_w.as_raw_fd();
    let j = job_file.as_raw_fd();
    let mut cmd = std::process::Command::new(bin);
    cmd.arg("__monitor");
    // SAFETY: fcntl and dup2 are async-signal-safe; they put the report pipe at descriptor 3 and the job at
    // 4, without close-on-exec, for the helper. Our stdio is the helper's (a foreground
    // container's, relayed).
    unsafe {
        cmd.pre_exec(move || {
            // Out of the way first: either may sit at 3 or 4 already.
            let (w2, j2) = (
                libc::fcntl(w, libc::F_DUPFD_CLOEXEC, 10),
                libc::fcntl(j, libc::F_DUPFD_CLOEXEC, 10),
            );
            if w2 < 0 || j2 < 0 || libc::dup2(w2, 3) < 0 || libc::dup2(j2, 4) < 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let status = cmd.status().map_err(step_err(c, "monitor"))?;
    drop(report_w);
    // One line; a detached monitor keeps a copy of the pipe, so no end-of-file is waited for.
    let mut line = Vec::new();
    let mut r = std::fs::File::from(report_r);
    let mut b = [0u8; 1];
    while let Ok(1) = r.read(&mut b) {
        if b[0] == b'\n' {
            break;
        }
        line.push(b[0]);
    }
    let line = String::from_utf8_lossy(&line).into_owned();
    super::monitor::read_report(c, &line).unwrap_or_else(|| {
        Err(step_err(c, "monitor")(format!(
            "lxnest __monitor ({}) ended ({status}) without a report",
            bin.display()
        )))
    })
}

/// `lxnest __monitor`: reads a [`Job`] on stdin, runs it, reports on descriptor 3; returns the
/// exit status of the helper.
pub fn serve() -> i32 {
    // SAFETY: descriptor 3 is the report pipe our caller put there (see `run_helper`); we take
    // ownership of it once.
    let report = unsafe { OwnedFd::from_raw_fd(3) };
    // Not to be inherited by the container's init (a forked monitor keeps it, harmlessly).
    let _ = nix::fcntl::fcntl(
        &report,
        nix::fcntl::FcntlArg::F_SETFD(nix::fcntl::FdFlag::FD_CLOEXEC),
    );
    let mut out = std::fs::File::from(report);
    // SAFETY: descriptor 4 is the job our caller put there; owned (and closed) here once.
    let mut job_file = std::fs::File::from(unsafe { OwnedFd::from_raw_fd(4) });
    let mut text = Vec::new();
    let job: Job = match job_file
        .read_to_end(&mut text)
        .map_err(|e| e.to_string())
        .and_then(|_| serde_json::from_slice(&text).map_err(|e| e.to_string()))
    {
        Ok(j) => j,
        Err(e) => {
            let _ = writeln!(out, "err reading the job: {e}");
            return 1;
        }
    };
    drop(job_file);
    let opts = StartOptions {
        state_dir: job.state_dir,
        require_apparmor: job.require_apparmor,
        cgroup: CreateOptions {
            base: base_of(&job.base),
        },
        bridge: job.bridge,
        nested_json: job.nested_json,
        ..Default::default()
    };
    let grace = Duration::from_millis(job.grace_ms);
    let r = if job.foreground {
        super::monitor::run_foreground(&job.plan, &opts, grace)
    } else {
        super::monitor::start_detached(&job.plan, &opts, grace)
    };
    match r {
        Ok(n) => {
            let _ = writeln!(out, "ok {n}");
            0
        }
        Err(e) => {
            let _ = writeln!(out, "err {}", e.to_string().replace('\n', " "));
            1
        }
    }
}
