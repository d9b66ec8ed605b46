//! Forking from a multi-threaded caller (the Python binding, a Rust program calling
//! `lxnest::api` from threads). A lock that another thread of the caller held at a fork or clone
//! stays held forever in the child (a test saw exactly that hang, on Rust's stdout lock); so
//! every fork or clone that runs lxnest's code in the child happens in a process known to be
//! single-threaded ([`single_threaded`] checks it right before), and a multi-threaded caller
//! hands the job to a fresh `lxnest __monitor` process, started by exec
//! (`std::process::Command`, which only makes async-signal-safe calls between its fork and exec).
//!
//! One protocol for every job ([`JOB_START`], `attach`, [`JOB_MAPPED`]): the job, as JSON
//! `{"kind": K, "job": {...}}`, on descriptor 4 (an anonymous file); one line back on
//! descriptor 3: `ok N [TEXT]` (a pid, an exit code; a note) or `err MESSAGE`. The helper's
//! stdio is the caller's, or pipes the caller reads ([`Spawned::collect`]). The table of jobs is
//! `api::HELPER_JOBS` (attach lives above the launcher).

use super::capture::Captured;
pub use super::helper_error::HelperError;
use serde::{Deserialize, Serialize};
use std::io::{Read, Write};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd};
use std::os::unix::process::CommandExt;
use std::path::PathBuf;

/// Kind of a start job.
pub const JOB_START: &str = "start";
/// Kind of a job run as root of a mapped user namespace ([`super::userns`]).
pub const JOB_MAPPED: &str = "mapped";

pub use super::threads::multi_threaded;

pub use super::error::single_threaded;

/// The lxnest executable to exec: `$LXNEST_BINARY`, the running executable when it is lxnest,
/// else `lxnest` in an absolute PATH entry; a candidate must be [`trusted`].
pub fn binary() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("LXNEST_BINARY").map(PathBuf::from) {
        return trusted(&p).then_some(p);
    }
    installed()
}

/// The lxnest that runs, or else `lxnest` in an absolute PATH entry (a [`trusted`] file).
pub fn installed() -> Option<PathBuf> {
    let exe = std::env::current_exe().ok();
    if exe
        .as_deref()
        .and_then(|p| p.file_name())
        .is_some_and(|n| n == "lxnest")
    {
        return exe;
    }
    let path = std::env::var_os("PATH")?;
    // Absolute entries only: an empty or relative one (a trailing `:`, `.`) would resolve
    // against the working directory, which another user may write (/tmp).
    std::env::split_paths(&path)
        .filter(|d| d.is_absolute())
        .map(|d| d.join("lxnest"))
        .find(|p| trusted(p))
}

/// Whether `p` may run as the caller with the caller's job (its plan, hooks and environment):
/// an absolute path to a regular file owned by root or by the caller, that neither its group nor
/// others may write. What another user could replace is never exec'd.
pub fn trusted(p: &std::path::Path) -> bool {
    use std::os::unix::fs::MetadataExt;
    let Ok(m) = std::fs::metadata(p) else {
        return false;
    };
    let me = nix::unistd::geteuid().as_raw();
    p.is_absolute() && m.is_file() && (m.uid() == 0 || m.uid() == me) && m.mode() & 0o022 == 0
}

#[derive(Serialize, Deserialize)]
struct Envelope<J> {
    kind: String,
    job: J,
}

/// A helper started for one job.
pub struct Spawned {
    child: std::process::Child,
    report: OwnedFd,
    binary: PathBuf,
}

/// Execs `lxnest __monitor` for the job `kind`. `stdio` (stdin, stdout, stderr) replaces the
/// caller's, which the helper otherwise shares.
pub fn spawn<J: Serialize>(
    kind: &str,
    job: &J,
    stdio: Option<[OwnedFd; 3]>,
) -> std::result::Result<Spawned, HelperError> {
    let bin = binary().ok_or_else(|| HelperError::NoBinary { job: kind.into() })?;
    let io = |what| {
        let binary = bin.display().to_string();
        move |source| HelperError::Io {
            binary,
            what,
            source,
        }
    };
    let text = serde_json::to_vec(&Envelope {
        kind: kind.to_string(),
        job,
    })
    .map_err(|source| HelperError::Encode {
        job: kind.into(),
        source,
    })?;
    // The job through an anonymous file: no pipe to fill, no thread to feed it.
    let fd = nix::sys::memfd::memfd_create(c"lxnest-job", nix::sys::memfd::MFdFlags::MFD_CLOEXEC)
        .map_err(|e| io("job file")(e.into()))?;
    let mut job_file = std::fs::File::from(fd);
    job_file
        .write_all(&text)
        .and_then(|_| std::io::Seek::rewind(&mut job_file))
        .map_err(io("job file"))?;
    let (report_r, report_w) = nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC)
        .map_err(|e| io("report pipe")(e.into()))?;
    let w = report_w.as_raw_fd();
    let j = job_file.as_raw_fd();
    let mut cmd = std::process::Command::new(&bin);
    cmd.arg("__monitor");
    if let Some([i, o, e]) = stdio {
        cmd.stdin(i).stdout(o).stderr(e);
    }
    // SAFETY: fcntl and dup2 are async-signal-safe; they put the report pipe at descriptor 3
    // and the job at 4, without close-on-exec, for the helper.
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
    let child = cmd.spawn().map_err(io("exec"))?;
    // Dropped here, with `cmd`: the copies of the pipes' write ends that the helper got.
    drop(cmd);
    drop(report_w);
    Ok(Spawned {
        child,
        report: report_r,
        binary: bin,
    })
}

impl Spawned {
    /// The helper's pid.
    pub fn pid(&self) -> i32 {
        self.child.id() as i32
    }

    /// A descriptor that becomes readable when the helper exits.
    pub fn pidfd(&self) -> std::io::Result<OwnedFd> {
        // SAFETY: pidfd_open with a pid and no flags returns a new descriptor or -1.
        let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, self.pid(), 0) };
        if fd < 0 {
            return Err(std::io::Error::last_os_error());
        }
        // SAFETY: a fresh descriptor of ours.
        Ok(unsafe { OwnedFd::from_raw_fd(fd as i32) })
    }

    /// Reads the helper's stdout and stderr (`out`, `err`: the read ends of the pipes it got)
    /// until it exits, then what they still hold, without waiting for processes that keep a
    /// copy (a command's background child); returns them.
    pub fn collect(&self, out: OwnedFd, err: OwnedFd) -> std::io::Result<(Vec<u8>, Vec<u8>)> {
        let pidfd = self.pidfd()?;
        let mut bufs = (Captured::default(), Captured::default());
        let mut open = [true, true];
        loop {
            let ends = [&out, &err];
            let polled: Vec<usize> = (0..2).filter(|i| open[*i]).collect();
            let mut fds = vec![nix::poll::PollFd::new(
                pidfd.as_fd(),
                nix::poll::PollFlags::POLLIN,
            )];
            fds.extend(
                polled.iter().map(|i| {
                    nix::poll::PollFd::new(ends[*i].as_fd(), nix::poll::PollFlags::POLLIN)
                }),
            );
            match nix::poll::poll(&mut fds, nix::poll::PollTimeout::NONE) {
                Ok(_) | Err(nix::errno::Errno::EINTR) => {}
                Err(e) => return Err(e.into()),
            }
            let ready = |f: &nix::poll::PollFd<'_>| f.revents().is_some_and(|r| !r.is_empty());
            let exited = ready(&fds[0]);
            // Only what poll says is readable: a blocking read of a quiet pipe that a command's
            // background child keeps open would never return.
            let readable: Vec<usize> = polled
                .iter()
                .zip(&fds[1..])
                .filter(|(_, f)| ready(f))
                .map(|(i, _)| *i)
                .collect();
            drop(fds);
            for i in readable {
                let sink = if i == 0 { &mut bufs.0 } else { &mut bufs.1 };
                if !read_ready(ends[i].as_fd(), sink) {
                    open[i] = false;
                }
            }
            if exited || open == [false, false] {
                break;
            }
        }
        for (fd, sink) in [(&out, &mut bufs.0), (&err, &mut bufs.1)] {
            nonblocking(fd.as_fd());
            while read_ready(fd.as_fd(), sink) {}
        }
        Ok(super::capture::finish(bufs.0, bufs.1))
    }

    /// Waits for the helper to exit and returns its report: `(N, TEXT)` of `ok N TEXT`.
    pub fn finish(mut self) -> std::result::Result<(i64, String), HelperError> {
        let status = loop {
            match self.child.wait() {
                Ok(s) => break s,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(source) => {
                    return Err(HelperError::Io {
                        binary: self.binary.display().to_string(),
                        what: "wait",
                        source,
                    })
                }
            }
        };
        // What the helper wrote is in the pipe now; a detached monitor it forked keeps a copy
        // of the pipe, so no end-of-file is waited for.
        nonblocking(self.report.as_fd());
        let mut line = Vec::new();
        let mut r = std::fs::File::from(self.report);
        let mut b = [0u8; 1];
        while let Ok(1) = r.read(&mut b) {
            if b[0] == b'\n' {
                break;
            }
            line.push(b[0]);
        }
        let line = String::from_utf8_lossy(&line).into_owned();
        parse_report(&line).unwrap_or_else(|| {
            Err(HelperError::NoReport {
                binary: self.binary.display().to_string(),
                status: status.to_string(),
            })
        })
    }
}

/// Reads what `fd` has now into `sink`; false at end-of-file or on an error.
fn read_ready(fd: BorrowedFd<'_>, sink: &mut Captured) -> bool {
    let mut buf = [0u8; 8192];
    loop {
        match nix::unistd::read(fd, &mut buf) {
            Ok(0) => return false,
            Ok(n) => {
                sink.push(&buf[..n]);
                return true;
            }
            Err(nix::errno::Errno::EINTR) => continue,
            Err(_) => return false,
        }
    }
}

fn nonblocking(fd: BorrowedFd<'_>) {
    let _ = nix::fcntl::fcntl(
        fd,
        nix::fcntl::FcntlArg::F_SETFL(nix::fcntl::OFlag::O_NONBLOCK),
    );
}

/// A report line: `ok N [TEXT]` or `err MESSAGE` (TEXT and MESSAGE as [`report_line`] escapes
/// them); `None` when it is neither.
pub fn parse_report(line: &str) -> Option<std::result::Result<(i64, String), HelperError>> {
    match line.split_once(' ')? {
        ("ok", rest) => {
            let (n, text) = rest.trim().split_once(' ').unwrap_or((rest.trim(), ""));
            Some(n.parse().map(|n| (n, unescape(text))).map_err(|_| {
                HelperError::Failed(format!("a report the caller cannot read: {line}"))
            }))
        }
        ("err", msg) => Some(Err(HelperError::Failed(unescape(msg.trim())))),
        _ => None,
    }
}

/// The one-line report of a job's outcome, newline included. A message keeps its lines (a
/// failed hook's stderr comes after the first): `\n` and `\\` stand for a newline and a
/// backslash, so the report is one line whatever it says.
pub fn report_line(outcome: &std::result::Result<(i64, String), String>) -> String {
    let escape = |t: &str| t.replace('\\', "\\\\").replace('\n', "\\n");
    match outcome {
        Ok((n, t)) if t.is_empty() => format!("ok {n}\n"),
        Ok((n, t)) => format!("ok {n} {}\n", escape(t)),
        Err(e) => format!("err {}\n", escape(e)),
    }
}

/// The text [`report_line`] escaped.
fn unescape(t: &str) -> String {
    let mut out = String::with_capacity(t.len());
    let mut chars = t.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('n') => out.push('\n'),
            Some(other) => out.push(other),
            None => out.push('\\'),
        }
    }
    out
}

/// Writes the one-line report of a job's outcome.
pub fn write_report(
    out: &mut impl Write,
    outcome: &std::result::Result<(i64, String), Box<dyn std::error::Error>>,
) {
    let outcome = match outcome {
        Ok(v) => Ok(v.clone()),
        Err(e) => Err(e.to_string()),
    };
    let _ = out.write_all(report_line(&outcome).as_bytes());
}

/// A job handler of `lxnest __monitor`: the job's JSON in, `(N, TEXT)` of the report out.
pub type Handler =
    fn(serde_json::Value) -> std::result::Result<(i64, String), Box<dyn std::error::Error>>;

/// `lxnest __monitor`: reads the job on descriptor 4, runs it with the handler of its kind,
/// reports on descriptor 3; returns the exit status of the helper.
pub fn serve(handlers: &[(&str, Handler)]) -> i32 {
    // SAFETY: descriptor 3 is the report pipe our caller put there (see `spawn`); we take
    // ownership of it once.
    let report = unsafe { OwnedFd::from_raw_fd(3) };
    // Not to be inherited by what the job execs (a forked monitor keeps it, harmlessly).
    let _ = nix::fcntl::fcntl(
        &report,
        nix::fcntl::FcntlArg::F_SETFD(nix::fcntl::FdFlag::FD_CLOEXEC),
    );
    let mut out = std::fs::File::from(report);
    // SAFETY: descriptor 4 is the job our caller put there; owned (and closed) here once.
    let mut job_file = std::fs::File::from(unsafe { OwnedFd::from_raw_fd(4) });
    let mut text = Vec::new();
    let envelope = job_file
        .read_to_end(&mut text)
        .map_err(|e| e.to_string())
        .and_then(|_| {
            serde_json::from_slice::<Envelope<serde_json::Value>>(&text).map_err(|e| e.to_string())
        });
    drop(job_file);
    let outcome = match envelope {
        Ok(env) => match handlers.iter().find(|(k, _)| *k == env.kind) {
            Some((_, handler)) => handler(env.job),
            None => Err(format!("no job of kind {}", env.kind).into()),
        },
        Err(e) => Err(format!("reading the job: {e}").into()),
    };
    write_report(&mut out, &outcome);
    i32::from(outcome.is_err())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reports_round_trip() {
        let mut v = Vec::new();
        write_report(&mut v, &Ok((42, "a note\nover lines".into())));
        write_report(&mut v, &Err("container c: step x: boom".into()));
        let text = String::from_utf8(v).expect("utf-8");
        let mut lines = text.lines();
        match parse_report(lines.next().expect("ok line")) {
            Some(Ok((42, t))) => assert_eq!(t, "a note\nover lines"),
            other => panic!("{other:?}"),
        }
        match parse_report(lines.next().expect("err line")) {
            Some(Err(HelperError::Failed(m))) => assert_eq!(m, "container c: step x: boom"),
            other => panic!("{other:?}"),
        }
        assert!(parse_report("garbage").is_none());
        assert!(matches!(parse_report("ok x"), Some(Err(_))));
        // A failed hook's stderr and a Windows-looking path both come back as they were.
        let msg = "hook failed\n    0::/lxnest/c\n    C:\\n\\";
        match parse_report(report_line(&Err(msg.into())).trim_end_matches('\n')) {
            Some(Err(HelperError::Failed(m))) => assert_eq!(m, msg),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_second_thread_is_seen_and_refused() {
        let (tx, rx) = std::sync::mpsc::channel::<()>();
        let other = std::thread::spawn(move || rx.recv());
        assert!(multi_threaded());
        assert!(matches!(
            single_threaded("c", "spawn"),
            Err(crate::launch::LaunchError::Threaded { .. })
        ));
        drop(tx);
        let _ = other.join();
    }

    #[test]
    fn only_a_binary_nobody_else_may_replace_is_trusted() {
        use std::os::unix::fs::PermissionsExt;
        let d = tempfile::tempdir().expect("tempdir");
        let b = d.path().join("lxnest");
        std::fs::write(&b, "#!/bin/sh\n").expect("write");
        std::fs::set_permissions(&b, std::fs::Permissions::from_mode(0o755)).expect("chmod");
        assert!(trusted(&b));
        assert!(!trusted(std::path::Path::new("lxnest")), "relative");
        std::fs::set_permissions(&b, std::fs::Permissions::from_mode(0o775)).expect("chmod");
        assert!(!trusted(&b), "group-writable");
        std::fs::set_permissions(&b, std::fs::Permissions::from_mode(0o757)).expect("chmod");
        assert!(!trusted(&b), "world-writable");
        assert!(!trusted(d.path()), "a directory");
        // Owned by someone else (neither root nor the caller): root gives it away; another
        // caller finds root's own file, which is trusted, and a file of its own likewise.
        std::fs::set_permissions(&b, std::fs::Permissions::from_mode(0o755)).expect("chmod");
        if nix::unistd::geteuid().is_root() {
            let other = Some(nix::unistd::Uid::from_raw(54_321));
            nix::unistd::chown(&b, other, None).expect("chown");
            assert!(!trusted(&b), "owned by another user");
        } else {
            assert!(trusted(&b), "owned by the caller");
            assert!(trusted(std::path::Path::new("/bin/sh")), "owned by root");
        }
    }
}
