//! `start`, `state`, `kill` and `delete`.

use super::error::{OciRunError, Result};
use super::state::{self, Record};
use std::os::fd::AsFd;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;
use std::time::{Duration, Instant};

/// How long `start` waits for the init to reach its gate, and `delete` for lxnest's monitor
/// to remove what the container had.
const WAIT: Duration = Duration::from_secs(10);

fn status_err(id: &str, status: &str, why: &str) -> OciRunError {
    OciRunError::Status {
        id: id.into(),
        status: status.into(),
        why: why.into(),
    }
}

/// `state ID`: the runtime spec's state JSON.
pub fn state(root: &Path, id: &str) -> Result<serde_json::Value> {
    let r = state::read(root, id)?;
    state::state_json(root, &r)
}

/// `start ID`: opens the exec gate, so the init execs the user process; then the poststart
/// hooks.
pub fn start(root: &Path, id: &str) -> Result<()> {
    let r = state::read(root, id)?;
    let status = state::status(root, &r)?;
    if status != "created" {
        return Err(status_err(
            id,
            status,
            "only a created container can be started",
        ));
    }
    let gate = state::gate(root, id)?;
    // Non-blocking: the open succeeds without a writer, so a dead init cannot hang us.
    let f = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK | libc::O_CLOEXEC)
        .open(&gate)
        .map_err(OciRunError::io(&gate))?;
    let deadline = Instant::now() + WAIT;
    let mut buf = [0u8; 1];
    loop {
        match nix::unistd::read(f.as_fd(), &mut buf) {
            Ok(1) => break,
            Ok(_) | Err(nix::errno::Errno::EAGAIN) => {}
            Err(e) => return Err(OciRunError::io(&gate)(e.into())),
        }
        if state::status(root, &r)? == "stopped" {
            return Err(status_err(
                id,
                "stopped",
                "the init exited before it was started",
            ));
        }
        if Instant::now() >= deadline {
            return Err(status_err(
                id,
                "created",
                "the init did not reach its gate in time",
            ));
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    std::fs::remove_file(&gate).map_err(OciRunError::io(&gate))?;
    let sj = state::state_json(root, &r)?;
    super::hooks::run("poststart", &r.poststart, &sj)
}

/// A signal by runc's spellings: `TERM`, `SIGTERM`, `15`.
pub fn signal(s: &str) -> Result<i32> {
    if let Ok(n) = s.parse::<i32>() {
        if (1..=lxnest_core::signal::SIGRTMAX).contains(&n) {
            return Ok(n);
        }
    }
    let upper = s.to_ascii_uppercase();
    let bare = upper.strip_prefix("SIG").unwrap_or(&upper);
    <nix::sys::signal::Signal as std::str::FromStr>::from_str(&format!("SIG{bare}"))
        .map(|sig| sig as i32)
        .ok()
        .or_else(|| lxnest_core::signal::number(bare))
        .ok_or_else(|| OciRunError::Other(format!("unknown signal `{s}`")))
}

fn procs_of(name: &str, root: &Path) -> Vec<i32> {
    let Ok(st) = crate::launch::state::read(&state::lxnest_dir(root), name) else {
        return Vec::new();
    };
    let mut pids: Vec<i32> = st
        .cgroups
        .iter()
        .flat_map(|(_, dir)| {
            std::fs::read_to_string(dir.join("cgroup.procs"))
                .unwrap_or_default()
                .lines()
                .filter_map(|l| l.trim().parse().ok())
                .collect::<Vec<i32>>()
        })
        .collect();
    // The init leaf and other subtrees of a nesting host.
    for (_, dir) in &st.cgroups {
        walk_procs(dir, &mut pids);
    }
    pids.sort_unstable();
    pids.dedup();
    pids
}

fn walk_procs(dir: &Path, out: &mut Vec<i32>) {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return;
    };
    for e in rd.flatten() {
        let p = e.path();
        if e.file_type().is_ok_and(|t| t.is_dir()) {
            out.extend(
                std::fs::read_to_string(p.join("cgroup.procs"))
                    .unwrap_or_default()
                    .lines()
                    .filter_map(|l| l.trim().parse::<i32>().ok()),
            );
            walk_procs(&p, out);
        }
    }
}

/// `kill [--all] ID [SIGNAL]`.
pub fn kill(root: &Path, id: &str, sig: &str, all: bool) -> Result<()> {
    let r = state::read(root, id)?;
    let sig = signal(sig)?;
    let status = state::status(root, &r)?;
    if status == "stopped" {
        return Err(status_err(id, status, "there is no process to signal"));
    }
    if all {
        for pid in procs_of(&r.name, root) {
            // SAFETY: kill(2) with integers only; the pids are the container's cgroup members.
            unsafe { libc::kill(pid, sig) };
        }
        return Ok(());
    }
    // SAFETY: kill(2) with integers only; the pid is the init, checked alive just now by its
    // start time.
    if unsafe { libc::kill(r.pid, sig) } != 0 {
        return Err(OciRunError::Other(format!(
            "kill {} {sig}: {}",
            r.pid,
            std::io::Error::last_os_error()
        )));
    }
    Ok(())
}

/// Kills the container's init and waits until lxnest's monitor has removed what it had.
pub fn force_stop(root: &Path, r: &Record) -> Result<()> {
    if state::status(root, r)? != "stopped" {
        // SAFETY: as in `kill`.
        unsafe { libc::kill(r.pid, libc::SIGKILL) };
    }
    let dir = state::lxnest_dir(root).join(&r.name);
    let deadline = Instant::now() + WAIT;
    while dir.exists() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(10));
    }
    if dir.exists() {
        // The monitor died: clean up as `lxnest destroy` would.
        crate::launch::ops::destroy(&state::lxnest_dir(root), &r.name, Duration::from_secs(1))?;
    }
    Ok(())
}

/// `delete [--force] ID`: a running container only with `--force`; then the poststop hooks and
/// the record.
pub fn delete(root: &Path, id: &str, force: bool) -> Result<()> {
    let r = match state::read(root, id) {
        Ok(r) => r,
        // runc: deleting what is not there is an error, unless forced.
        Err(OciRunError::NotFound(_)) if force => return Ok(()),
        Err(e) => return Err(e),
    };
    let status = state::status(root, &r)?;
    if status == "running" && !force {
        return Err(status_err(id, status, "stop it first, or delete --force"));
    }
    force_stop(root, &r)?;
    let sj = state::state_json(root, &r)?;
    let hooks = super::hooks::run("poststop", &r.poststop, &sj);
    let dir = state::dir(root, id)?;
    std::fs::remove_dir_all(&dir).map_err(OciRunError::io(&dir))?;
    if let Err(e) = hooks {
        tracing::warn!("{e}");
    }
    Ok(())
}

/// `ps`: the container's processes (our pid namespace's numbers).
pub fn pids(root: &Path, id: &str) -> Result<Vec<i32>> {
    let r = state::read(root, id)?;
    Ok(procs_of(&r.name, root))
}

#[cfg(test)]
mod tests {
    #[test]
    fn signals_by_runc_s_spellings() {
        for (s, n) in [
            ("KILL", 9),
            ("SIGTERM", 15),
            ("term", 15),
            ("9", 9),
            ("RTMIN+3", 37),
            ("SIGWINCH", 28),
        ] {
            assert_eq!(super::signal(s).ok(), Some(n), "{s}");
        }
        assert!(super::signal("NOPE").is_err() && super::signal("0").is_err());
    }
}
