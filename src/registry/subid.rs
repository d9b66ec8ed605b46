//! Root's own /etc/subuid and /etc/subgid entry: the range every root container tree takes its
//! host ids from. Without one, root's containers and the ranges `useradd` hands to users would
//! both start at 100000, and a user could signal or ptrace root's containers from her own. The
//! entry is written once, above useradd's pool and every existing range, under the same locks
//! shadow's tools take (`/etc/.pwd.lock` as lckpwdf(3) locks it, and `FILE.lock` made by a
//! link(2) of a file holding our pid), so `useradd` afterwards sees it and allocates around it.

use super::{RegistryError, Result};
use crate::plan::host::IdRange;
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::os::fd::AsRawFd;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// How long to wait for shadow's locks (lckpwdf waits 15 s too).
const PATIENCE: Duration = Duration::from_secs(15);

fn err(path: &Path, message: impl std::fmt::Display) -> RegistryError {
    RegistryError::Subid {
        path: path.display().to_string(),
        message: message.to_string(),
    }
}

/// The `/etc/.pwd.lock` lock, as lckpwdf(3) takes it: a POSIX write lock on the whole file.
struct PwdLock(#[allow(dead_code)] File);

fn lckpwdf(etc: &Path) -> Result<PwdLock> {
    let path = etc.join(".pwd.lock");
    let f = OpenOptions::new()
        .write(true)
        .create(true)
        .mode(0o600)
        .custom_flags(libc::O_CLOEXEC | libc::O_NOFOLLOW)
        .open(&path)
        .map_err(|e| err(&path, e))?;
    let deadline = Instant::now() + PATIENCE;
    loop {
        // SAFETY: a zeroed flock is a valid value; the fields that matter are set below.
        let mut fl: libc::flock = unsafe { std::mem::zeroed() };
        fl.l_type = libc::F_WRLCK as libc::c_short;
        fl.l_whence = libc::SEEK_SET as libc::c_short;
        // SAFETY: fcntl(F_SETLK) with a pointer to a live flock on a descriptor `f` owns.
        if unsafe { libc::fcntl(f.as_raw_fd(), libc::F_SETLK, &fl) } == 0 {
            return Ok(PwdLock(f));
        }
        if Instant::now() > deadline {
            return Err(err(
                &path,
                "locked by another program for 15 s (a useradd or vipw running?)",
            ));
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// `FILE.lock`, made as shadow's commonio makes it, removed on drop.
struct FileLock(PathBuf);

impl Drop for FileLock {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

fn commonio_lock(file: &Path) -> Result<FileLock> {
    let pid = std::process::id();
    let lock = PathBuf::from(format!("{}.lock", file.display()));
    let mine = PathBuf::from(format!("{}.{pid}", file.display()));
    let deadline = Instant::now() + PATIENCE;
    let _ = std::fs::remove_file(&mine);
    std::fs::write(&mine, pid.to_string()).map_err(|e| err(&mine, e))?;
    let result = loop {
        match std::fs::hard_link(&mine, &lock) {
            Ok(()) => break Ok(FileLock(lock)),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                // A lock whose process is gone is stale, as shadow itself decides.
                let holder = std::fs::read_to_string(&lock)
                    .ok()
                    .and_then(|t| t.trim().parse::<i32>().ok());
                let dead = holder.is_some_and(|p| {
                    p > 0
                        && nix::sys::signal::kill(nix::unistd::Pid::from_raw(p), None)
                            == Err(nix::errno::Errno::ESRCH)
                });
                if dead {
                    let _ = std::fs::remove_file(&lock);
                    continue;
                }
                if Instant::now() > deadline {
                    break Err(err(&lock, format!("held by pid {holder:?} for 15 s")));
                }
                std::thread::sleep(Duration::from_millis(50));
            }
            Err(e) => break Err(err(&lock, e)),
        }
    };
    let _ = std::fs::remove_file(&mine);
    result
}

/// Root's ranges in a subuid/subgid text (owner `root` or `0`).
fn root_ranges(text: &str) -> Vec<IdRange> {
    crate::host::ids::all_subordinate(text)
        .into_iter()
        .filter(|(o, _)| o == "root" || o == "0")
        .map(|(_, r)| r)
        .collect()
}

/// Replaces `file` with `text`: a sibling `FILE+` written, synced and renamed over it (shadow's
/// own way), keeping the old content as `FILE-` and the old mode.
fn rewrite(file: &Path, text: &str) -> Result<()> {
    let plus = PathBuf::from(format!("{}+", file.display()));
    let minus = PathBuf::from(format!("{}-", file.display()));
    let mode = std::fs::metadata(file)
        .map(|m| m.permissions().mode() & 0o7777)
        .unwrap_or(0o644);
    if file.exists() {
        std::fs::copy(file, &minus).map_err(|e| err(&minus, e))?;
    }
    let mut f = OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(mode)
        .custom_flags(libc::O_CLOEXEC | libc::O_NOFOLLOW)
        .open(&plus)
        .map_err(|e| err(&plus, e))?;
    f.write_all(text.as_bytes()).map_err(|e| err(&plus, e))?;
    f.set_permissions(std::fs::Permissions::from_mode(mode))
        .map_err(|e| err(&plus, e))?;
    f.sync_all().map_err(|e| err(&plus, e))?;
    std::fs::rename(&plus, file).map_err(|e| err(file, e))
}

/// Root's subordinate uid and gid ranges in `etc` (normally `/etc`), each written first when
/// missing: the range [`crate::plan::idmap::root_range`] picks above every range any user
/// holds. Returns root's (uid, gid) ranges, largest first.
pub fn ensure_root_range(etc: &Path) -> Result<(Vec<IdRange>, Vec<IdRange>)> {
    let (uid_file, gid_file) = (etc.join("subuid"), etc.join("subgid"));
    let read = |f: &Path| match std::fs::read_to_string(f) {
        Ok(t) => Ok(t),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(String::new()),
        Err(e) => Err(err(f, e)),
    };
    // Fast path, no lock: root has both entries already.
    let (mut u, mut g) = (
        root_ranges(&read(&uid_file)?),
        root_ranges(&read(&gid_file)?),
    );
    if !u.is_empty() && !g.is_empty() {
        u.sort_by_key(|r| std::cmp::Reverse(r.count));
        g.sort_by_key(|r| std::cmp::Reverse(r.count));
        return Ok((u, g));
    }
    let _pwd = lckpwdf(etc)?;
    let _ul = commonio_lock(&uid_file)?;
    let _gl = commonio_lock(&gid_file)?;
    let (ut, gt) = (read(&uid_file)?, read(&gid_file)?);
    let everyone: Vec<IdRange> = crate::host::ids::all_subordinate(&ut)
        .into_iter()
        .chain(crate::host::ids::all_subordinate(&gt))
        .map(|(_, r)| r)
        .collect();
    let range = crate::plan::idmap::root_range(&everyone).ok_or_else(|| {
        err(
            &uid_file,
            "no room above the users' ranges for root's range",
        )
    })?;
    let mut out = Vec::new();
    for (file, text) in [(&uid_file, &ut), (&gid_file, &gt)] {
        let mut have = root_ranges(text);
        if have.is_empty() {
            let mut t = text.clone();
            if !t.is_empty() && !t.ends_with('\n') {
                t.push('\n');
            }
            t.push_str(&format!("root:{}:{}\n", range.first, range.count));
            rewrite(file, &t)?;
            tracing::info!(
                "{}: reserved {}-{} for root's containers",
                file.display(),
                range.first,
                u64::from(range.first) + u64::from(range.count) - 1
            );
            have.push(range);
        }
        have.sort_by_key(|r| std::cmp::Reverse(r.count));
        out.push(have);
    }
    let g = out.pop().unwrap_or_default();
    let u = out.pop().unwrap_or_default();
    Ok((u, g))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_roots_range_above_every_user_once_and_keeps_the_rest() {
        let etc = tempfile::tempdir().expect("tempdir");
        let users = "alice:100000:65536\nbob:700000000:65536";
        std::fs::write(etc.path().join("subuid"), users).expect("write");
        let (u, g) = ensure_root_range(etc.path()).expect("ensure");
        assert_eq!(u, g);
        assert!(
            u[0].first >= 700_065_536 && u[0].first % 65_536 == 0,
            "{u:?}"
        );
        let text = std::fs::read_to_string(etc.path().join("subuid")).expect("read");
        assert!(
            text.starts_with("alice:100000:65536\nbob:700000000:65536\nroot:"),
            "{text}"
        );
        assert_eq!(
            std::fs::read_to_string(etc.path().join("subuid-")).expect("backup"),
            users
        );
        for left in ["subuid.lock", "subgid.lock", "subuid+"] {
            assert!(!etc.path().join(left).exists(), "{left} left behind");
        }
        // Second call: nothing changes.
        assert_eq!(
            ensure_root_range(etc.path()).expect("again"),
            (u.clone(), g)
        );
        assert_eq!(
            std::fs::read_to_string(etc.path().join("subuid"))
                .expect("read")
                .matches("root:")
                .count(),
            1
        );
    }

    #[test]
    fn a_stale_commonio_lock_is_taken_over() {
        let etc = tempfile::tempdir().expect("tempdir");
        // pid 0x7ffffffe does not exist: the lock is stale.
        std::fs::write(etc.path().join("subuid.lock"), "2147483646").expect("write");
        let l = commonio_lock(&etc.path().join("subuid")).expect("stale lock taken over");
        assert_eq!(
            std::fs::read_to_string(etc.path().join("subuid.lock")).expect("read"),
            std::process::id().to_string()
        );
        drop(l);
        assert!(!etc.path().join("subuid.lock").exists());
    }
}
