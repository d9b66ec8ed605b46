//! Issue 17, finding 1: a foreground container (`run`, `start -F`, `execute`) and an attached
//! process never get the caller's terminal. The test gives lxnest a real terminal (a pty it
//! opens, with the slave as lxnest's stdio and controlling terminal, as a login shell has), the
//! container pushes bytes with TIOCSTI into descriptors 0-2 and /dev/tty (this kernel allows
//! TIOCSTI, `dev.tty.legacy_tiocsti=1`), and after lxnest exits the caller's terminal input
//! queue must hold none of them. An extra descriptor of the caller must not reach the container.
//! At level 1, level 2, through attach, and for an unprivileged user. Needs root.

mod support;
use nix::pty::openpty;
use std::io::Read;
use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::process::CommandExt;
use std::process::{Command, Stdio};
use support::*;

/// What a run on a terminal left: lxnest's terminal output, and the caller's unread input.
struct OnTty {
    output: String,
    queued: Vec<u8>,
    success: bool,
}

/// Runs `exe args` with a new terminal as stdin/stdout/stderr and controlling terminal, and an
/// extra descriptor 7 of ours (a file) open across the exec; as `uid` when given.
fn on_tty(exe: &str, args: &[&str], uid: Option<u32>) -> OnTty {
    let pty = openpty(None, None).expect("openpty");
    // Raw: what is pushed into the input queue stays countable (no line discipline holding it).
    let mut t = nix::sys::termios::tcgetattr(&pty.slave).expect("tcgetattr");
    nix::sys::termios::cfmakeraw(&mut t);
    nix::sys::termios::tcsetattr(&pty.slave, nix::sys::termios::SetArg::TCSANOW, &t)
        .expect("tcsetattr");
    let extra = std::fs::File::open("/etc/hostname").expect("extra fd");
    let extra_fd = extra.as_raw_fd();
    let slave_fd = pty.slave.as_raw_fd();
    let mut cmd = Command::new(exe);
    cmd.args(args)
        .stdin(Stdio::from(pty.slave.try_clone().expect("dup")))
        .stdout(Stdio::from(pty.slave.try_clone().expect("dup")))
        .stderr(Stdio::from(pty.slave.try_clone().expect("dup")));
    if let Some(u) = uid {
        cmd.uid(u).gid(u);
    }
    // SAFETY: only system calls between fork and exec: a new session with the terminal as its
    // controlling terminal, and our extra file at descriptor 7 without close-on-exec.
    unsafe {
        cmd.pre_exec(move || {
            if libc::setsid() < 0
                || libc::ioctl(slave_fd, libc::TIOCSCTTY, 0) < 0
                || libc::dup2(extra_fd, 7) < 0
            {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let mut child = cmd.spawn().expect("spawn on the terminal");
    // Our copies of the slave must go, or the reader below never sees the terminal close.
    drop((cmd, extra));
    // Read the terminal's output meanwhile, so lxnest never blocks on a full pty.
    let master: OwnedFd = pty.master;
    let mut reader = std::fs::File::from(master.try_clone().expect("dup master"));
    let out = std::thread::spawn(move || {
        let mut v = Vec::new();
        let mut buf = [0u8; 4096];
        // EIO once the last slave descriptor is closed.
        while let Ok(n) = reader.read(&mut buf) {
            if n == 0 {
                break;
            }
            v.extend_from_slice(&buf[..n]);
        }
        v
    });
    let status = child.wait().expect("wait");
    // The caller's unread input: what anything pushed into this terminal and nobody read.
    let mut queued = Vec::new();
    let mut n: libc::c_int = 0;
    // SAFETY: FIONREAD writes one int into `n`, which we own.
    unsafe { libc::ioctl(pty.slave.as_raw_fd(), libc::FIONREAD, &mut n) };
    if n > 0 {
        let mut buf = vec![0u8; n as usize];
        // SAFETY: reads at most `n` bytes into a buffer of that length.
        let got = unsafe { libc::read(pty.slave.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len()) };
        buf.truncate(got.max(0) as usize);
        queued = buf;
    }
    drop(pty.slave);
    let output = String::from_utf8_lossy(&out.join().unwrap_or_default()).into_owned();
    OnTty {
        output,
        queued,
        success: status.success(),
    }
}

/// Nothing was pushed into the caller's terminal, and the container had only descriptors 0-2.
fn assert_contained(r: &OnTty, what: &str) {
    assert!(r.success, "{what}: {}", r.output);
    let q = String::from_utf8_lossy(&r.queued);
    assert!(
        !(q.contains("X0Y") || q.contains("X1Y") || q.contains("X2Y") || q.contains("XTY")),
        "{what}: the container typed {q:?} into the caller's terminal\n{}",
        r.output
    );
    assert!(
        r.output.contains("tiocsti_0\t"),
        "{what}: the probe did not run\n{}",
        r.output
    );
    let fds = r
        .output
        .lines()
        .find_map(|l| {
            l.trim_start_matches(|c: char| c != 'f')
                .strip_prefix("fds\t")
        })
        .map(str::trim)
        .unwrap_or("missing");
    assert_eq!(
        fds, "0,1,2",
        "{what}: the caller's descriptor reached the container\n{}",
        r.output
    );
}

fn lxnest_exe() -> &'static str {
    env!("CARGO_BIN_EXE_lxnest")
}

#[test]
fn root_tiocsti_cannot_reach_the_callers_terminal_at_level_1_and_2() {
    if !root() {
        return;
    }
    let d = traversable_tempdir();
    let st = d.path().join("state");
    let st = st.to_str().expect("utf8");
    let r = on_tty(
        lxnest_exe(),
        &["run", "-P", st, "--", "lxnest", "__probe", "tiocsti"],
        None,
    );
    assert_contained(&r, "run, level 1");
    let r = on_tty(
        lxnest_exe(),
        &[
            "run", "--nested", "-P", st, "--", "lxnest", "run", "--", "lxnest", "__probe",
            "tiocsti",
        ],
        None,
    );
    assert_contained(&r, "run, level 2");
    // stdin not a terminal, stdout and stderr are: pipes, and no controlling terminal.
    let r = on_tty(
        "/bin/sh",
        &[
            "-c",
            &format!(
                "exec {} run -P {st} -- lxnest __probe tiocsti < /dev/null",
                lxnest_exe()
            ),
        ],
        None,
    );
    assert_contained(&r, "run with stdin from /dev/null");
    assert!(
        r.output.contains("tiocsti_tty\topen: ENXIO"),
        "no controlling terminal: {}",
        r.output
    );
    assert_no_state_left(std::path::Path::new(st));
}

#[test]
fn root_tiocsti_cannot_reach_the_callers_terminal_through_start_f_execute_and_attach() {
    if !root() {
        return;
    }
    let d = traversable_tempdir();
    let state = d.path().join("state");
    let st = state.to_str().expect("utf8");
    let name = format!("tty-{}", std::process::id());
    let spec = d.path().join("s.yaml");
    std::fs::write(
        &spec,
        format!("containers:\n  - name: {name}\n    network: {{mode: loopback}}\n    command: [\"lxnest\", \"__probe\", \"tiocsti\"]\n"),
    )
    .expect("write");
    let sp = spec.to_str().expect("utf8");
    let r = on_tty(lxnest_exe(), &["start", "-F", "-P", st, sp], None);
    assert_contained(&r, "start -F");
    let r = on_tty(
        lxnest_exe(),
        &[
            "execute", "-P", st, "-n", &name, "-f", sp, "--", "lxnest", "__probe", "tiocsti",
        ],
        None,
    );
    assert_contained(&r, "execute");
    // attach, with a pty (the default on a terminal) and without one (-T).
    let name2 = format!("ttya-{}", std::process::id());
    let spec2 = d.path().join("a.yaml");
    std::fs::write(
        &spec2,
        format!("containers:\n  - name: {name2}\n    network: {{mode: loopback}}\n    command: [\"/bin/sleep\", \"300\"]\n"),
    )
    .expect("write");
    ok(lxnest(&["start", "-P", st, spec2.to_str().expect("utf8")]));
    let a = on_tty(
        lxnest_exe(),
        &[
            "attach", "-P", st, "-n", &name2, "--", "lxnest", "__probe", "tiocsti",
        ],
        None,
    );
    let b = on_tty(
        lxnest_exe(),
        &[
            "attach", "-T", "-P", st, "-n", &name2, "--", "lxnest", "__probe", "tiocsti",
        ],
        None,
    );
    ok(lxnest(&["destroy", "-P", st, "-n", &name2]));
    assert_contained(&a, "attach");
    assert_contained(&b, "attach -T");
}

#[test]
fn root_tiocsti_cannot_reach_an_unprivileged_callers_terminal() {
    if !root() {
        return;
    }
    // nobody, without subordinate ids: a single-id map, no cgroup of its own.
    let d = traversable_tempdir();
    let home = d.path().join("home");
    std::fs::create_dir(&home).expect("mkdir");
    std::os::unix::fs::chown(&home, Some(65534), Some(65534)).expect("chown");
    let exe = d.path().join("lxnest");
    std::fs::copy(lxnest_exe(), &exe).expect("copy lxnest");
    let st = home.join("state");
    let r = on_tty(
        "/usr/bin/env",
        &[
            &format!("HOME={}", home.display()),
            exe.to_str().expect("utf8"),
            "run",
            "-P",
            st.to_str().expect("utf8"),
            "--",
            "lxnest",
            "__probe",
            "tiocsti",
        ],
        Some(65534),
    );
    assert_contained(&r, "run as nobody");
}
