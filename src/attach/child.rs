//! The attaching processes. The caller forks the first one (P1), which stays in the host's pid
//! namespace: it moves itself into the container's cgroup, joins the container's namespaces and
//! forks P2 (a fork after joining a pid namespace is the only way into it), reports P2's pid in
//! our pid namespace and mirrors P2's exit status. P2 takes the container's identity and
//! confinement in the order docs/attach.md explains and execs the command.
//!
//! Everything that needs a file of the host or parsing was prepared by the caller before the
//! fork ([`super::prepare::Prepared`]); these functions mostly make system calls.

use super::prepare::{Prepared, StdioPlan};
use nix::sys::signal::{SigHandler, SigSet, Signal};
use nix::sys::wait::{waitpid, WaitStatus};
use nix::unistd::{fork, ForkResult, Gid, Uid};
use std::ffi::CString;
use std::os::fd::{AsRawFd, OwnedFd};

/// Writes `err STEP MESSAGE` on the report channel; the caller turns it into an error.
fn report(ch: &OwnedFd, step: &str, message: impl std::fmt::Display) {
    let line = format!("err {step} {message}\n").replace('\n', " ");
    let line = format!("{}\n", line.trim_end());
    // SAFETY: writes our own buffer to a descriptor we own; a short write only truncates the
    // message.
    unsafe { libc::write(ch.as_raw_fd(), line.as_ptr().cast(), line.len()) };
}

fn fail(ch: &OwnedFd, step: &str, message: impl std::fmt::Display) -> ! {
    report(ch, step, message);
    // SAFETY: _exit ends the forked process without running the parent's atexit handlers or
    // flushing its copied stdio buffers.
    unsafe { libc::_exit(1) }
}

fn exit_now(code: i32) -> ! {
    // SAFETY: as in `fail`.
    unsafe { libc::_exit(code) }
}

/// SIGKILL when our parent dies.
fn die_with_parent() {
    // SAFETY: prctl with integer arguments only.
    unsafe { libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL, 0, 0, 0) };
}

/// [`die_with_parent`], and exit at once if `parent` already died (the caller then is no longer
/// there to wait for us, to relay or to send the go-ahead: nothing must run unattended). Only
/// for P1: P2's parent is outside its pid namespace, where getppid() says 0.
fn die_with(parent: nix::unistd::Pid) {
    die_with_parent();
    if nix::unistd::getppid() != parent {
        exit_now(1);
    }
}

/// P1: runs in the forked child of the caller (`caller` is its pid); never returns.
pub fn first(prep: &mut Prepared, ch: &OwnedFd, go: &OwnedFd, caller: nix::unistd::Pid) -> ! {
    die_with(caller);
    // A waiting caller may have these blocked (signal forwarding); a mask survives exec.
    let _ = SigSet::all().thread_unblock();
    set_stdio(prep, ch);
    // Not dumpable while we hold host descriptors and host credentials inside the container's
    // pid namespace: its root must not ptrace us before exec (exec restores dumpability).
    // SAFETY: prctl with integer arguments only.
    unsafe { libc::prctl(libc::PR_SET_DUMPABLE, 0, 0, 0, 0) };
    // cgroup first: writing `0` moves us, with the host's credentials that own cgroupfs.
    for (label, fd) in &prep.cgroup.procs {
        if let Err(e) = nix::unistd::write(fd, b"0") {
            fail(
                ch,
                "cgroup",
                format!("{label}: {}: {e}", super::cgroup::describe(fd)),
            );
        }
    }
    if let Err(e) = prep.ns.join() {
        fail(ch, "setns", format!("{:?}: {e}", prep.ns.flags));
    }
    // SAFETY: we are single-threaded (a forked child); the child only makes system calls and
    // uses memory it owns until exec.
    match unsafe { fork() } {
        Err(e) => fail(ch, "fork", e),
        Ok(ForkResult::Child) => second(prep, ch, go),
        Ok(ForkResult::Parent { child }) => {
            let line = format!("pid {}\n", child.as_raw());
            // SAFETY: as in `report`.
            unsafe { libc::write(ch.as_raw_fd(), line.as_ptr().cast(), line.len()) };
            loop {
                match waitpid(child, None) {
                    Ok(WaitStatus::Exited(_, code)) => exit_now(code),
                    Ok(WaitStatus::Signaled(_, sig, _)) => exit_now(128 + sig as i32),
                    Ok(_) | Err(nix::errno::Errno::EINTR) => continue,
                    Err(_) => exit_now(1),
                }
            }
        }
    }
}

fn set_stdio(prep: &Prepared, ch: &OwnedFd) {
    let dup = |from: &OwnedFd, to: i32| {
        // SAFETY: dup2 onto a standard descriptor from a descriptor we own.
        if unsafe { libc::dup2(from.as_raw_fd(), to) } < 0 {
            fail(ch, "stdio", std::io::Error::last_os_error());
        }
    };
    match &prep.stdio {
        StdioPlan::Inherit => {}
        StdioPlan::Pty { slave, .. } => {
            for n in 0..3 {
                dup(slave, n);
            }
        }
        StdioPlan::Capture { null, out, err } => {
            dup(null, 0);
            dup(out, 1);
            dup(err, 2);
        }
    }
}

/// P2: in the container's namespaces; becomes the command.
fn second(prep: &mut Prepared, ch: &OwnedFd, go: &OwnedFd) -> ! {
    die_with_parent();
    if let StdioPlan::Pty { .. } = prep.stdio {
        // A session of our own with the new terminal as its controlling terminal, for job
        // control in an interactive shell.
        let _ = nix::unistd::setsid();
        // SAFETY: TIOCSCTTY on stdin (the pty slave) with an integer argument.
        if unsafe { libc::ioctl(0, libc::TIOCSCTTY, 0) } < 0 {
            fail(ch, "pty", std::io::Error::last_os_error());
        }
    } else {
        // A session of our own without a controlling terminal: not the caller's, whose
        // terminal a process could otherwise reach through /dev/tty.
        let _ = nix::unistd::setsid();
    }
    // Wait until the caller holds our pid for signal forwarding.
    let mut b = [0u8; 1];
    // SAFETY: read into a one-byte buffer we own.
    if unsafe { libc::read(go.as_raw_fd(), b.as_mut_ptr().cast(), 1) } != 1 {
        exit_now(1);
    }
    identity(prep, ch);
    // Not the caller's session keyring: its keys would be ours to read by possession.
    if let Err(e) = crate::launch::keyring::join_fresh_session() {
        fail(ch, "keyring", e);
    }
    // A change of effective uid resets dumpability to fs.suid_dumpable; keep it off until exec.
    // SAFETY: prctl with integer arguments only.
    unsafe { libc::prctl(libc::PR_SET_DUMPABLE, 0, 0, 0, 0) };
    // The uid change cleared the parent-death signal: the attached process dies with P1.
    die_with_parent();
    if let Err(e) = nix::unistd::chdir(prep.cwd.as_c_str()) {
        fail(ch, "cwd", format!("{}: {e}", prep.cwd.to_string_lossy()));
    }
    let exe = resolve(prep)
        .unwrap_or_else(|| fail(ch, "exec", format!("{}: command not found", prep.argv0())));
    if let Err(e) = super::caps::restrict(prep.bounding, prep.inheritable, prep.last_cap) {
        fail(ch, "caps", e);
    }
    // The AppArmor label for the exec before Landlock, which would refuse the write to this
    // task's /proc attribute where /proc is not among the container's writable paths.
    if let Some(label) = &prep.apparmor {
        if let Err(e) = crate::apparmor::kernel::change_onexec(label) {
            fail(ch, "apparmor", e);
        }
    }
    // Landlock before seccomp (its syscalls could be filtered), after the identity change.
    if let Err(e) = super::landlock::restrict(std::mem::take(&mut prep.landlock)) {
        fail(ch, "landlock", e);
    }
    if prep.no_new_privs {
        // SAFETY: prctl with integer arguments only.
        if unsafe { libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) } != 0 {
            fail(ch, "seccomp", std::io::Error::last_os_error());
        }
    }
    reset_signals();
    // Every descriptor we inherited beyond stdio closes at exec (host files must not leak in).
    // SAFETY: close_range with CLOSE_RANGE_CLOEXEC only sets flags on our own descriptors.
    unsafe {
        libc::syscall(
            libc::SYS_close_range,
            3u32,
            u32::MAX,
            libc::CLOSE_RANGE_CLOEXEC,
        )
    };
    // seccomp last: nothing of ours runs under the container's filters but execve.
    for (i, prog) in prep.seccomp.iter().enumerate() {
        if let Err(e) = crate::seccomp::install(prog, crate::seccomp::NoNewPrivs::Auto) {
            fail(
                ch,
                "seccomp",
                format!("filter {} of {}: {e}", i + 1, prep.seccomp.len()),
            );
        }
    }
    let err = match nix::unistd::execve(&exe, &prep.argv, &prep.envp) {
        Ok(never) => match never {},
        Err(e) => e,
    };
    report(ch, "exec", format!("{}: {err}", exe.to_string_lossy()));
    exit_now(if err == nix::errno::Errno::ENOENT {
        127
    } else {
        126
    })
}

/// uid/gid inside the container, keeping the permitted capabilities across a change to a
/// non-root uid so the confinement steps can still run; the command's exec then drops them.
fn identity(prep: &Prepared, ch: &OwnedFd) {
    // SAFETY: prctl with integer arguments only.
    unsafe { libc::prctl(libc::PR_SET_KEEPCAPS, 1, 0, 0, 0) };
    let gid = Gid::from_raw(prep.gid);
    // EPERM when the container's gid map forbids setgroups (single-id maps): nothing to clear.
    match nix::unistd::setgroups(&[gid]) {
        Ok(()) | Err(nix::errno::Errno::EPERM) => {}
        Err(e) => fail(ch, "identity", format!("setgroups: {e}")),
    }
    if let Err(e) = nix::unistd::setresgid(gid, gid, gid) {
        fail(ch, "identity", format!("gid {}: {e}", prep.gid));
    }
    let uid = Uid::from_raw(prep.uid);
    if let Err(e) = nix::unistd::setresuid(uid, uid, uid) {
        fail(ch, "identity", format!("uid {}: {e}", prep.uid));
    }
    // SAFETY: as above.
    unsafe { libc::prctl(libc::PR_SET_KEEPCAPS, 0, 0, 0, 0) };
}

/// Default dispositions: ignored signals (SIGPIPE in Rust and Python callers) survive exec.
fn reset_signals() {
    for sig in Signal::iterator() {
        if sig == Signal::SIGKILL || sig == Signal::SIGSTOP {
            continue;
        }
        // SAFETY: installing SIG_DFL runs no code of ours in signal context.
        let _ = unsafe { nix::sys::signal::signal(sig, SigHandler::SigDfl) };
    }
}

/// The command's executable, searched in the attached environment's PATH (in the container).
fn resolve(prep: &Prepared) -> Option<CString> {
    let argv0 = prep.argv0();
    if argv0.contains('/') {
        return CString::new(argv0).ok();
    }
    prep.path_var
        .split(':')
        .map(|d| std::path::Path::new(if d.is_empty() { "." } else { d }).join(&argv0))
        .find(|p| nix::unistd::access(p, nix::unistd::AccessFlags::X_OK).is_ok() && p.is_file())
        .and_then(|p| CString::new(p.into_os_string().into_encoded_bytes()).ok())
}
