//! Where LXC would refuse or misread a level's generated seccomp.lxc, `lxnest plan` and
//! `lxnest generate` say so (from `lxc_text::lxc_incompatibilities`), naming file:line; a rule
//! with two checks of one argument is refused with file:line, printed once.

use std::process::Command;

fn lxnest(args: &[&str]) -> (bool, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_lxnest"))
        .args(args)
        .output()
        .expect("runs lxnest");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn lxc_incompatibilities_reach_plan_and_generate() {
    let dir = tempfile::tempdir().expect("tempdir");
    let spec = dir.path().join("s.yaml");
    std::fs::write(
        &spec,
        "name: w\ncontainers:\n  - name: a\n    seccomp:\n      rules:\n        - mount errno 5 [0,1,==]\n        - mount kill\n",
    )
    .expect("write");
    let spec = spec.to_string_lossy().into_owned();
    let (ok, out, err) = lxnest(&["plan", "--host-fixture", "laptop", &spec]);
    assert!(ok, "{err}");
    let want = format!(
        "a: seccomp.lxc: {spec}:7: `mount` also has a rule with action `errno 5` at {spec}:6"
    );
    assert!(out.contains(&want), "{out}");
    let gen = dir.path().join("out");
    let (ok, _, err) = lxnest(&[
        "generate",
        "--host-fixture",
        "laptop",
        "-o",
        &gen.to_string_lossy(),
        &spec,
    ]);
    assert!(ok, "{err}");
    assert!(err.contains(&format!("warning: {want}")), "{err}");
}

#[test]
fn two_checks_of_one_argument_are_refused_once_with_file_and_line() {
    let dir = tempfile::tempdir().expect("tempdir");
    let spec = dir.path().join("s.yaml");
    std::fs::write(
        &spec,
        "name: w\ncontainers:\n  - name: a\n    seccomp:\n      rules: [\"read errno 1 [0,1,>] [0,5,<]\"]\n",
    )
    .expect("write");
    let spec = spec.to_string_lossy().into_owned();
    let (ok, _, err) = lxnest(&["plan", "--host-fixture", "laptop", &spec]);
    assert!(!ok);
    assert!(
        err.starts_with(&format!(
            "lxnest: {spec}:5: argument 0 is checked twice in one rule"
        )),
        "{err}"
    );
    assert_eq!(
        err.matches("checked twice").count(),
        1,
        "printed once: {err}"
    );
}
