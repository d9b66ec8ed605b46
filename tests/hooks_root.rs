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
    let links = std::fs::read_dir("/sys/class/net").unwrap();
    let veth = lxnest::plan::network::veth_name("s", &name);
    assert!(
        links
            .flatten()
            .all(|l| l.file_name().to_string_lossy() != veth),
        "no veth left"
    );
    for h in std::fs::read_dir("/sys/fs/cgroup").unwrap().flatten() {
        let mut stack = vec![h.path()];
        while let Some(dir) = stack.pop() {
            for e in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
                if e.path().is_dir() {
                    assert!(
                        e.file_name() != name.as_str(),
                        "cgroup {} left",
                        e.path().display()
                    );
                    stack.push(e.path());
                }
            }
        }
    }
}
