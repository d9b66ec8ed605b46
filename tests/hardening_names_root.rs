//! Issue 17, finding 10: a container name is validated before any path is built from it, for
//! every command, and the CLI's output survives a closed pipe. Each case names what the
//! unvalidated code did. Needs root (the default state directory is root's /run/lxnest).

mod support;
use std::path::Path;
use std::process::{Command, Stdio};
use support::*;

fn refused(args: &[&str]) -> String {
    let o = lxnest(args);
    let err = String::from_utf8_lossy(&o.stderr).into_owned();
    assert!(!o.status.success(), "{args:?} must be refused: {o:?}");
    assert!(err.contains("not valid"), "{args:?}: {err}");
    err
}

#[test]
fn root_destroy_with_a_name_that_climbs_out_deletes_nothing() {
    if !root() {
        return;
    }
    // `destroy -n ../../tmp/X` once removed /tmp/X (the default state dir is /run/lxnest).
    let victim = tempfile::Builder::new()
        .prefix("lxnest-victim")
        .tempdir_in("/tmp")
        .expect("tempdir");
    std::fs::write(victim.path().join("keep"), "x").expect("write");
    let rel = format!(
        "../../tmp/{}",
        victim
            .path()
            .file_name()
            .and_then(|n| n.to_str())
            .expect("name")
    );
    refused(&["destroy", "-n", &rel]);
    assert!(victim.path().join("keep").exists(), "{rel} was deleted");

    // `destroy -P D/sub -n ..` once emptied D.
    let d = tempfile::tempdir().expect("tempdir");
    std::fs::create_dir(d.path().join("sub")).expect("mkdir");
    std::fs::write(d.path().join("precious"), "x").expect("write");
    let sub = d.path().join("sub");
    for name in ["..", ".", "a/..", "-rf", ".defined"] {
        let arg = format!("--name={name}");
        refused(&["destroy", "-P", sub.to_str().expect("utf8"), &arg]);
        assert!(d.path().join("precious").exists(), "-n {name} emptied D");
    }
    for cmd in ["stop", "info"] {
        refused(&[cmd, "-P", sub.to_str().expect("utf8"), "-n", ".."]);
    }
}

#[test]
fn root_run_with_a_bad_name_creates_nothing() {
    if !root() {
        return;
    }
    // `run -n ../x` once created <statedir>/../x before refusing.
    let d = tempfile::tempdir().expect("tempdir");
    let state = d.path().join("state");
    std::fs::create_dir(&state).expect("mkdir");
    refused(&[
        "run",
        "-P",
        state.to_str().expect("utf8"),
        "-n",
        "../x",
        "--",
        "/bin/true",
    ]);
    assert!(!d.path().join("x").exists(), "../x was created");
    let left: Vec<_> = std::fs::read_dir(&state).expect("ls").flatten().collect();
    assert!(left.is_empty(), "{left:?}");
    // Paths of names are taken only where a command takes a path (attach, execute, start -n).
    let o = lxnest(&[
        "attach",
        "-P",
        state.to_str().expect("utf8"),
        "-n",
        "a/../b",
    ]);
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("not valid"),
        "{o:?}"
    );
    let o = lxnest(&[
        "execute",
        "-P",
        state.to_str().expect("utf8"),
        "-n",
        "../b",
        "--",
        "/bin/true",
    ]);
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("not valid"),
        "{o:?}"
    );
}

#[test]
fn root_library_calls_refuse_bad_names_too() {
    if !root() {
        return;
    }
    let d = tempfile::tempdir().expect("tempdir");
    let sub = d.path().join("sub");
    std::fs::create_dir(&sub).expect("mkdir");
    std::fs::write(d.path().join("precious"), "x").expect("write");
    let grace = std::time::Duration::from_secs(1);
    assert!(lxnest::api::destroy(&sub, "..", grace).is_err());
    assert!(lxnest::launch::ops::destroy(&sub, "..", grace).is_err());
    assert!(lxnest::launch::state::dir(&sub, "../x").is_err());
    assert!(d.path().join("precious").exists());
}

/// `lxnest info | head -1` and `lxnest ls | head -1`: the reader goes away; lxnest must end
/// quietly (SIGPIPE or a clean exit), never panic.
#[test]
fn root_output_into_a_closed_pipe_does_not_panic() {
    if !root() {
        return;
    }
    let d = tempfile::tempdir().expect("tempdir");
    let state = d.path().join("state");
    // A state with a long plan, so `info --output json` writes more than a pipe holds.
    let name = format!("epipe-{}", std::process::id());
    let spec = d.path().join("s.yaml");
    std::fs::write(
        &spec,
        format!("containers:\n  - name: {name}\n    network: {{mode: loopback}}\n    command: [\"/bin/sleep\", \"100\"]\n"),
    )
    .expect("write");
    ok(lxnest(&[
        "start",
        "-P",
        state.to_str().expect("utf8"),
        spec.to_str().expect("utf8"),
    ]));
    for args in [
        vec!["info", "-n", name.as_str(), "--output", "json"],
        vec!["ls", "--output", "json"],
    ] {
        let mut child = Command::new(env!("CARGO_BIN_EXE_lxnest"))
            .args(&args)
            .args(["-P", state.to_str().expect("utf8")])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn");
        // Close the read end at once: every write lxnest makes hits EPIPE.
        drop(child.stdout.take());
        let o = child.wait_with_output().expect("wait");
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(!err.contains("panicked"), "{args:?}: {err}");
        assert_ne!(o.status.code(), Some(101), "{args:?}: a panic's exit code");
    }
    ok(lxnest(&[
        "destroy",
        "-P",
        state.to_str().expect("utf8"),
        "-n",
        &name,
    ]));
    assert!(!Path::new(&state).join(&name).exists());
}
