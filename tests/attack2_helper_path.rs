//! Attack review of the threaded-caller helper (issue 17, point 10), finding 02: the lxnest
//! executable a multi-threaded caller execs (`launch::helper::binary`) is looked up on PATH, and
//! an empty or relative PATH entry (a trailing `:`, `.`) resolves against the working directory:
//! a root caller sitting in a directory another user can write (/tmp) execs that user's
//! `./lxnest` as root, and hands it the job (plan, hooks, environment). The exec'd helper must be
//! an absolute path.

use std::os::unix::fs::PermissionsExt;

#[test]
fn helper_binary_never_resolves_against_the_working_directory() {
    let d = tempfile::tempdir().expect("tempdir");
    let planted = d.path().join("lxnest");
    std::fs::write(&planted, "#!/bin/sh\necho planted\n").expect("plant");
    std::fs::set_permissions(&planted, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    std::env::remove_var("LXNEST_BINARY");
    std::env::set_current_dir(d.path()).expect("chdir");
    for path in [
        "/nonexistent-attack2:",
        ".:/nonexistent-attack2",
        "bin-attack2:.",
    ] {
        std::env::set_var("PATH", path);
        let found = lxnest::launch::helper::binary();
        assert!(
            found.as_deref().is_none_or(|p| p.is_absolute()),
            "PATH={path:?}: the helper would exec {found:?}, relative to the working directory \
             (here the planted {})",
            planted.display()
        );
    }
}
