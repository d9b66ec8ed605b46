//! Helpers shared by the integration tests that drive the `lxnest` binary.
#![allow(dead_code)]

use std::process::{Command, Output};

/// Run the lxnest binary under test.
pub fn lxnest(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_lxnest"))
        .args(args)
        .output()
        .expect("lxnest runs")
}

/// Its stdout, after asserting it succeeded (the failure shows both streams).
pub fn ok(o: Output) -> String {
    assert!(
        o.status.success(),
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// Whether the test can run as root; in CI not being root is a failure, not a skip.
pub fn root() -> bool {
    let r = nix::unistd::geteuid().is_root();
    if !r {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI runs root tests as root"
        );
        eprintln!("SKIPPED: needs root");
    }
    r
}

/// A temporary directory the containers' mapped root (an unprivileged host uid) can traverse.
pub fn traversable_tempdir() -> tempfile::TempDir {
    let d = tempfile::tempdir().expect("tempdir");
    std::fs::set_permissions(
        d.path(),
        std::os::unix::fs::PermissionsExt::from_mode(0o755),
    )
    .expect("chmod");
    d
}
