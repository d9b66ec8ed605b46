//! `lxnest check --for lxc` inside real lxnest containers: ready in a nesting host, blocked (naming
//! what is missing) in a container that hosts nothing. Needs root.

use std::process::Command;

mod support;
use support::root;

fn run_check(nested: bool) -> (i32, String) {
    // A state directory of this run's own (the two tests run at the same time), checked empty
    // after the one-shot container and removed with the tempdir, also on failure.
    let dir = support::traversable_tempdir();
    let state = dir.path().join("state");
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_lxnest"));
    cmd.arg("run").arg("-P").arg(&state);
    if nested {
        cmd.arg("--nested");
    }
    let out = cmd
        .args(["--", "lxnest", "check", "--for", "lxc"])
        .output()
        .expect("lxnest runs");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    if state.exists() {
        support::assert_no_state_left(&state);
    }
    (out.status.code().unwrap_or(-1), text)
}

#[test]
fn root_check_inside_a_nesting_host_says_ready() {
    if !root() {
        return;
    }
    let (code, text) = run_check(true);
    assert_eq!(code, 0, "{text}");
    assert!(text.contains("lxc: ready"), "{text}");
}

#[test]
fn root_check_inside_a_plain_container_is_blocked_and_names_the_missing_pieces() {
    if !root() {
        return;
    }
    let (code, text) = run_check(false);
    assert_eq!(code, 1, "{text}");
    assert!(text.contains("lxc: blocked"), "{text}");
    assert!(
        text.contains("unshare") && text.contains("seccomp"),
        "{text}"
    );
}
