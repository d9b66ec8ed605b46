//! Two containers with one name from two state directories: the second start is refused with a
//! clear error instead of adopting the first one's cgroup; the first keeps running. Needs root.

mod support;
use support::*;

#[test]
fn root_a_second_container_with_the_same_name_is_refused() {
    if !root() {
        return;
    }
    let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let (pa, pb) = (a.path().to_str().unwrap(), b.path().to_str().unwrap());
    let name = format!("twin-{}", std::process::id());
    let spec = a.path().join("s.yaml");
    std::fs::write(
        &spec,
        format!("containers:\n  - name: {name}\n    network: {{mode: loopback}}\n"),
    )
    .unwrap();
    let spec = spec.to_str().unwrap();
    // Both starts are undone on failure too (the second only if it was wrongly let through).
    let _guards = [a.path(), b.path()].map(|d| StopOnDrop {
        state: d.to_path_buf(),
        name: name.clone(),
    });
    let first = lxnest(&["start", "-P", pa, spec]);
    assert!(
        first.status.success(),
        "{}",
        String::from_utf8_lossy(&first.stderr)
    );
    let second = lxnest(&["start", "-P", pb, spec]);
    let err = String::from_utf8_lossy(&second.stderr).to_string();
    let ls = lxnest(&["ls", "-P", pa]);
    let stop = lxnest(&["stop", "-P", pa, "-n", &name]);
    assert!(!second.status.success(), "second start must fail");
    assert!(
        err.contains("exists already") && err.contains("fix"),
        "{err}"
    );
    assert!(
        String::from_utf8_lossy(&ls.stdout).contains("running"),
        "the first one still runs"
    );
    assert!(
        stop.status.success(),
        "{}",
        String::from_utf8_lossy(&stop.stderr)
    );
}
