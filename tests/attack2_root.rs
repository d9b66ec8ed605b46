//! Attack review of the threaded-caller helper and the launcher (issue 17, point 10), findings
//! as failing tests. Each test says what a caller or a container did and what must not follow.
//! Needs root.
//!
//! Finding 01: the detached monitor (forked by `lxnest start`, or by the `lxnest __monitor`
//! helper that a multi-threaded library caller execs) keeps every descriptor its caller left
//! inheritable, for the whole life of the container: a caller's lock file stays locked (flock)
//! and a pipe the caller's parent reads never reaches end-of-file until the container stops.

mod support;
use std::os::fd::AsRawFd;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::Command;
use std::time::Duration;
use support::*;

/// Pids (other than ours) with a descriptor open on `path`.
fn holders(path: &Path) -> Vec<(i32, String)> {
    let me = std::process::id() as i32;
    let Ok(rd) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    rd.flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<i32>().ok())
        .filter(|p| *p != me)
        .filter(|p| {
            std::fs::read_dir(format!("/proc/{p}/fd"))
                .map(|fds| {
                    fds.flatten()
                        .any(|f| std::fs::read_link(f.path()).is_ok_and(|l| l == path))
                })
                .unwrap_or(false)
        })
        .map(|p| {
            let cmd = std::fs::read(format!("/proc/{p}/cmdline"))
                .map(|b| String::from_utf8_lossy(&b).replace('\0', " "))
                .unwrap_or_default();
            (p, cmd)
        })
        .collect()
}

/// One test at a time: a test's inheritable descriptor would reach the other's `lxnest start`.
static SERIAL: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn spec(dir: &Path, name: &str) -> std::path::PathBuf {
    let spec = dir.join(format!("{name}.yaml"));
    std::fs::write(
        &spec,
        format!("containers:\n  - name: {name}\n    network: {{mode: loopback}}\n    command: [\"/bin/sleep\", \"300\"]\n"),
    )
    .expect("write spec");
    spec
}

#[test]
fn root_detached_monitor_keeps_no_descriptor_of_the_command_line_caller() {
    if !root() {
        return;
    }
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let d = traversable_tempdir();
    let state = d.path().join("state");
    let name = format!("a2cli{}", std::process::id());
    let sp = spec(d.path(), &name);
    let lock_path = d.path().join("caller.lock");
    let lock = std::fs::File::create(&lock_path).expect("lock file");
    let lock_fd = lock.as_raw_fd();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_lxnest"));
    cmd.args(["start", "-P"]).arg(&state).arg("-f").arg(&sp);
    // SAFETY: dup2 only, between fork and exec: the caller's file at descriptor 9, inheritable,
    // as a shell's `9>lock` or flock(1) leaves it.
    unsafe {
        cmd.pre_exec(move || {
            if libc::dup2(lock_fd, 9) < 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let out = cmd.output().expect("lxnest start");
    drop(lock);
    let held = holders(&lock_path);
    let _ = lxnest(&["destroy", "-P", &state.to_string_lossy(), "-n", &name]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        held.is_empty(),
        "`lxnest start` returned, yet these processes keep the caller's descriptor of {}: {held:?}",
        lock_path.display()
    );
    assert_no_state_left(&state);
}

#[test]
fn root_detached_monitor_keeps_no_descriptor_of_a_threaded_library_caller() {
    if !root() {
        return;
    }
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    if std::env::var_os("LXNEST_BINARY").is_none() {
        std::env::set_var("LXNEST_BINARY", env!("CARGO_BIN_EXE_lxnest"));
    }
    let d = traversable_tempdir();
    let state = d.path().join("state");
    let name = format!("a2thr{}", std::process::id());
    let sp = spec(d.path(), &name);
    let lock_path = d.path().join("library-caller.lock");
    let lock = std::fs::File::create(&lock_path).expect("lock file");
    // Inheritable, as a descriptor the caller got from its own parent is (a shell's `9>lock`),
    // and above the helper's descriptors 3 and 4, which the exec replaces.
    let inheritable =
        nix::fcntl::fcntl(&lock, nix::fcntl::FcntlArg::F_DUPFD(40)).expect("an inheritable copy");
    // SAFETY: a fresh descriptor of ours, owned once here.
    let inheritable =
        unsafe { <std::os::fd::OwnedFd as std::os::fd::FromRawFd>::from_raw_fd(inheritable) };
    // A second thread for certain: the start goes through the exec'd helper.
    let (tx, rx) = std::sync::mpsc::channel::<()>();
    let other = std::thread::spawn(move || rx.recv());
    let opts = lxnest::api::StartOpts {
        state_dir: state.clone(),
        ..Default::default()
    };
    let started = lxnest::api::start(&sp.to_string_lossy(), &opts);
    drop(tx);
    let _ = other.join();
    drop((lock, inheritable));
    let held = holders(&lock_path);
    let _ = lxnest::api::destroy(&state, &name, Duration::from_secs(5));
    started.expect("start from a threaded caller");
    assert!(
        held.is_empty(),
        "the start returned, yet these processes keep the library caller's descriptor of {}: {held:?}",
        lock_path.display()
    );
    assert_no_state_left(&state);
}
