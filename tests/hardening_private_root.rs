//! Issue 17, findings 6 and 9: another host user reaches neither a container's tree (where a
//! setuid program planted by the container would run with the container's ids) nor its state
//! (plan, environment, hooks, console output). Needs root and busybox-static.

mod support;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::Command;
use support::*;

/// Whether `argv` ran as `nobody` (outside any container) and succeeded; an exec refused with
/// EACCES counts as not.
fn nobody_can(argv: &[&str]) -> bool {
    as_nobody(argv).is_ok_and(|o| o.status.success())
}

/// Runs `argv` as `nobody`.
fn as_nobody(argv: &[&str]) -> std::io::Result<std::process::Output> {
    // std drops the supplementary groups (setgroups 0) when it sets the uid.
    let mut cmd = Command::new(argv[0]);
    cmd.args(&argv[1..]).uid(65534).gid(65534).output()
}

#[test]
fn root_another_user_reaches_no_tree_and_no_state() {
    if !root_with("/bin/busybox", "busybox-static") {
        return;
    }
    let d = traversable_tempdir();
    let tarball = d.path().join("bb.tar.gz");
    busybox_tarball(&tarball, &[]);
    let state = d.path().join("state");
    let st = state.to_str().expect("utf8");
    let name = format!("priv-{}", std::process::id());
    let spec = d.path().join("s.yaml");
    std::fs::write(
        &spec,
        format!("containers:\n  - name: {name}\n    rootfs: tar:{}\n    network: {{mode: loopback}}\n    command: [\"/bin/sleep\", \"300\"]\n", tarball.display()),
    )
    .expect("write");
    ok(lxnest(&["start", "-P", st, spec.to_str().expect("utf8")]));

    // What the container could plant in its own tree: a setuid copy of a shell.
    let tree = lxnest::rootfs::tar_tree(&state, &name);
    let planted = tree.join("tmp/planted");
    std::fs::copy("/bin/busybox", &planted).expect("plant");
    std::fs::set_permissions(
        &planted,
        std::os::unix::fs::PermissionsExt::from_mode(0o4755),
    )
    .expect("setuid");
    let files = [
        state.join(&name).join("state.json"),
        state.join(&name).join("console.log"),
        state.join(".defined").join(format!("{name}.json")),
    ];
    let mut failures = Vec::new();
    if nobody_can(&[planted.to_str().expect("utf8"), "true"]) {
        failures.push(format!(
            "nobody ran the planted setuid {}",
            planted.display()
        ));
    }
    if nobody_can(&["/bin/ls", tree.to_str().expect("utf8")]) {
        failures.push(format!("nobody lists the tree {}", tree.display()));
    }
    for f in &files {
        use std::os::unix::fs::MetadataExt;
        let mode = std::fs::metadata(f).map(|m| m.mode() & 0o777);
        if mode.as_ref().ok() != Some(&0o600) {
            failures.push(format!(
                "{}: mode {:?}",
                f.display(),
                mode.map(|m| format!("{m:o}"))
            ));
        }
        if nobody_can(&["/bin/cat", f.to_str().expect("utf8")]) {
            failures.push(format!("nobody reads {}", f.display()));
        }
    }
    // `ls` and `info` as another user show nothing of root's.
    // A copy of lxnest that nobody can run (the build tree may not be reachable for it).
    let exe = d.path().join("lxnest");
    std::fs::copy(env!("CARGO_BIN_EXE_lxnest"), &exe).expect("copy lxnest");
    let exe = exe.to_str().expect("utf8");
    let ls = as_nobody(&[exe, "ls", "-P", st]).expect("nobody runs lxnest");
    assert!(ls.status.success(), "{ls:?}");
    if String::from_utf8_lossy(&ls.stdout).contains(&name) {
        failures.push(format!("nobody's `lxnest ls` lists {name}"));
    }
    if nobody_can(&[exe, "info", "-P", st, "-n", &name]) {
        failures.push(format!("nobody's `lxnest info` shows {name}"));
    }
    let _ = std::fs::remove_file(&planted);
    ok(lxnest(&["destroy", "-P", st, "-n", &name]));
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert!(!Path::new(&tree).exists(), "destroy removes the tree");
    assert_no_state_left(&state);
}
