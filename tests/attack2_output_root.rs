//! Attack review of the threaded-caller helper (issue 17, point 10), finding 03: what a
//! container writes to the capture pipes of `api::attach` (`attach_output`; Python's
//! `Container.attach`) is collected without a bound into the caller's memory. A container that
//! prints more than the caller can hold takes the whole calling process down (a Rust allocation
//! failure aborts; Python gets no MemoryError). A capturing call must bound what it keeps (and say
//! so, or fail cleanly), never abort its caller. Needs root.

mod support;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::Command;
use support::*;

/// `STATE<TAB>NAME` for [`capture_child`].
const CHILD: &str = "LXNEST_ATTACK2_CAPTURE_CHILD";
/// The caller's address-space limit, and what the container prints: twice that.
const LIMIT: u64 = 1 << 30;

/// Not a test of its own: the calling process that
/// `root_a_huge_writer_does_not_abort_a_capturing_caller` runs under an address-space limit
/// (ignored, and a no-op without its variable).
#[test]
#[ignore = "child process of root_a_huge_writer_does_not_abort_a_capturing_caller"]
fn capture_child() {
    let Some(v) = std::env::var_os(CHILD) else {
        return;
    };
    let v = v.to_string_lossy().into_owned();
    let (state, name) = v.split_once('\t').expect("STATE<TAB>NAME");
    // Multi-threaded for certain, as the Python binding's callers are: the helper path.
    let (tx, rx) = std::sync::mpsc::channel::<()>();
    let other = std::thread::spawn(move || rx.recv());
    let cmd: Vec<String> = ["head", "-c", &(2 * LIMIT).to_string(), "/dev/zero"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    let r = lxnest::api::attach(Path::new(state), name, &cmd, &Default::default());
    drop(tx);
    let _ = other.join();
    match r {
        Ok(o) => println!("CAPTURE-DONE ok {} bytes", o.stdout.len()),
        Err(e) => println!("CAPTURE-DONE err {e}"),
    }
}

#[test]
fn root_a_huge_writer_does_not_abort_a_capturing_caller() {
    if !root() {
        return;
    }
    let d = traversable_tempdir();
    let state = d.path().join("state");
    let name = format!("a2out{}", std::process::id());
    let spec = d.path().join("spec.yaml");
    std::fs::write(
        &spec,
        format!("containers:\n  - name: {name}\n    network: {{mode: loopback}}\n    command: [\"/bin/sleep\", \"300\"]\n"),
    )
    .expect("spec");
    let st = state.to_string_lossy().into_owned();
    ok(lxnest(&["start", "-P", &st, "-f", &spec.to_string_lossy()]));
    let mut child = Command::new(std::env::current_exe().expect("test binary"));
    child
        .args([
            "capture_child",
            "--exact",
            "--ignored",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD, format!("{st}\t{name}"))
        .env("LXNEST_BINARY", env!("CARGO_BIN_EXE_lxnest"));
    // SAFETY: setrlimit only, between fork and exec.
    unsafe {
        child.pre_exec(|| {
            let lim = libc::rlimit {
                rlim_cur: LIMIT,
                rlim_max: LIMIT,
            };
            if libc::setrlimit(libc::RLIMIT_AS, &lim) < 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let out = child.output().expect("run the capturing caller");
    let _ = lxnest(&["destroy", "-P", &st, "-n", &name]);
    let text = String::from_utf8_lossy(&out.stdout);
    let done = text.lines().find(|l| l.contains("CAPTURE-DONE"));
    assert!(
        out.status.success() && done.is_some(),
        "a container printing {} bytes took its caller down ({}): {}",
        2 * LIMIT,
        out.status,
        String::from_utf8_lossy(&out.stderr)
            .lines()
            .take(3)
            .collect::<Vec<_>>()
            .join(" | ")
    );
    assert_no_state_left(&state);
}
