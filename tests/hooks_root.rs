//! A failing pre-start hook aborts the start, says which hook failed, and leaves nothing behind.
//! Needs root.

mod support;
use support::*;

#[test]
fn root_failing_pre_start_hook_aborts_and_cleans_up() {
    if !root() {
        return;
    }
    let d = traversable_tempdir();
    let name = format!("hookfail-{}", std::process::id());
    let spec = d.path().join("s.yaml");
    let text = format!("containers:\n  - name: {name}\n    hooks:\n      pre-start: [\"echo no quota >&2; exit 3\"]\n");
    std::fs::write(&spec, text).unwrap();
    let state = d.path().join("state");
    let out = lxnest(&[
        "start",
        "-P",
        state.to_str().unwrap(),
        spec.to_str().unwrap(),
    ]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "the start must fail");
    assert!(
        err.contains("pre-start hook") && err.contains("no quota"),
        "{err}"
    );
    assert!(!state.join(&name).exists(), "no state directory left");
    // A pre-start hook runs before any cgroup or veth exists, so "nothing left" proves little
    // here; the mount hook below fails once they do.
}

/// A `mount` hook fails after the cgroups exist (the hook records its own cgroup to show it):
/// the start aborts and every one of them is removed.
#[test]
fn root_failing_mount_hook_after_the_cgroups_exist_cleans_up() {
    if !root() {
        return;
    }
    let d = traversable_tempdir();
    let name = format!("hookmnt-{}", std::process::id());
    let spec = d.path().join("s.yaml");
    // The hook runs in the container's init before pivot_root: its own cgroups are the
    // container's, and the failure message carries its stderr.
    let text = format!(
        "containers:\n  - name: {name}\n    hooks:\n      mount: [\"cat /proc/self/cgroup >&2; exit 4\"]\n"
    );
    std::fs::write(&spec, text).unwrap();
    let state = d.path().join("state");
    let out = lxnest(&[
        "start",
        "-P",
        state.to_str().unwrap(),
        spec.to_str().unwrap(),
    ]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "the start must fail: {err}");
    assert!(err.contains("mount hook"), "{err}");
    let own = format!("lxnest/{name}");
    let cg: Vec<&str> = err.lines().filter(|l| l.contains(":/")).collect();
    assert!(
        !cg.is_empty() && cg.iter().all(|l| l.trim_end().ends_with(&own)),
        "the container's cgroups existed while the hook ran: {err}"
    );
    assert!(
        lxnest_cgroup_dirs(&name).is_empty(),
        "cgroups left: {:?}",
        lxnest_cgroup_dirs(&name)
    );
    assert_no_state_left(&state);
}

/// Hooks that run on the host never run a file of the container's tree (issue 17, finding 3):
/// the container controls those files, so the host would run the container's code with its own
/// privileges. Named directly or through a host symlink into the tree, the start is refused
/// before any hook runs, and nothing is left.
#[test]
fn root_host_hooks_never_run_a_file_of_the_containers_tree() {
    use std::os::unix::fs::PermissionsExt;
    if !root() {
        return;
    }
    let d = traversable_tempdir();
    let tree = d.path().join("tree");
    for sub in ["bin", "dev", "etc", "proc", "sys", "tmp"] {
        std::fs::create_dir_all(tree.join(sub)).unwrap();
    }
    let ran = d.path().join("ran");
    let evil = tree.join("bin/evil");
    std::fs::write(&evil, format!("#!/bin/sh\ntouch {}\n", ran.display())).unwrap();
    std::fs::set_permissions(&evil, std::fs::Permissions::from_mode(0o755)).unwrap();
    let link = d.path().join("host-looking-hook");
    std::os::unix::fs::symlink(&evil, &link).unwrap();
    for (i, program) in [&evil, &link].into_iter().enumerate() {
        let name = format!("hooktree{i}-{}", std::process::id());
        let spec = d.path().join(format!("s{i}.yaml"));
        let text = format!(
            "containers:\n  - name: {name}\n    rootfs: dir:{}\n    network: {{mode: loopback}}\n    hooks:\n      pre-start: [\"{}\"]\n",
            tree.display(),
            program.display()
        );
        std::fs::write(&spec, text).unwrap();
        let state = d.path().join("state");
        let out = lxnest(&[
            "start",
            "-P",
            state.to_str().unwrap(),
            spec.to_str().unwrap(),
        ]);
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            !out.status.success(),
            "{}: the start must fail",
            program.display()
        );
        assert!(err.contains("inside the container's tree"), "{err}");
        assert!(!ran.exists(), "the container's file ran on the host");
        assert_no_state_left(&state);
    }
}
