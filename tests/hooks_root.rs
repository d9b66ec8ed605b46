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
