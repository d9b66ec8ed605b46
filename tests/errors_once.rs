//! Errors are printed with their causes, each said once: many errors include their cause in
//! their own message and also expose it as the source, and the command line printed both.

use std::process::Command;

fn stderr_of(args: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_lxnest"))
        .args(args)
        .output()
        .unwrap();
    assert!(!out.status.success(), "{args:?} succeeded");
    String::from_utf8(out.stderr).unwrap()
}

#[test]
fn causes_are_not_repeated() {
    let d = tempfile::tempdir().unwrap();
    let missing = d.path().join("missing.yaml");
    let e = stderr_of(&["plan", missing.to_str().unwrap()]);
    assert_eq!(e.matches("No such file or directory").count(), 1, "{e}");
    let zero = d.path().join("zero.yaml");
    std::fs::write(&zero, "include: [/dev/zero]\n").unwrap();
    let e = stderr_of(&["plan", zero.to_str().unwrap()]);
    assert_eq!(e.matches("character device").count(), 1, "{e}");
    assert!(e.contains("zero.yaml:1: include /dev/zero"), "{e}");
    let conf = d.path().join("config");
    std::fs::write(&conf, "lxc.uts.name = a\nlxc.include = missing.conf\n").unwrap();
    let e = stderr_of(&["plan", conf.to_str().unwrap()]);
    assert_eq!(e.matches("No such file or directory").count(), 1, "{e}");
    assert!(e.contains("config:2"), "{e}");
}
