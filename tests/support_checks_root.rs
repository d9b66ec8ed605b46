//! The "nothing left" checks of tests/support can fail: each is shown a deliberate leftover (a
//! state file, a cgroup directory, an unreadable or missing directory) and must catch it. The
//! cgroup part needs root.

mod support;

use std::path::Path;

fn panics(f: impl FnOnce() + std::panic::UnwindSafe) -> String {
    let e = std::panic::catch_unwind(f).expect_err("the check must fail");
    e.downcast_ref::<String>()
        .cloned()
        .or_else(|| e.downcast_ref::<&str>().map(|s| s.to_string()))
        .unwrap_or_default()
}

#[test]
fn no_state_left_catches_a_leftover_and_refuses_a_missing_directory() {
    let d = tempfile::tempdir().unwrap();
    std::fs::create_dir(d.path().join(".defined")).unwrap();
    support::assert_no_state_left(d.path());
    // A container's state directory left behind.
    std::fs::create_dir(d.path().join("web")).unwrap();
    let p = d.path().to_path_buf();
    assert!(panics(move || support::assert_no_state_left(&p)).contains("web"));
    // A path that was never made (a typo, a test that wrote elsewhere) proves nothing.
    let p = d.path().join("never-made");
    assert!(panics(move || support::assert_no_state_left(&p)).contains("never-made"));
    // Not a directory.
    let f = d.path().join("file");
    std::fs::write(&f, "").unwrap();
    panics(move || support::assert_no_state_left(&f));
}

#[test]
fn dirs_ending_with_finds_a_planted_directory_and_refuses_a_missing_root() {
    let d = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(d.path().join("a/b/lxnest/juju-host/unit-1")).unwrap();
    let found = support::dirs_ending_with(d.path(), "lxnest/juju-host");
    assert_eq!(found, vec![d.path().join("a/b/lxnest/juju-host")]);
    assert!(support::dirs_ending_with(d.path(), "lxnest/other").is_empty());
    let missing = d.path().join("no-such-hierarchy");
    panics(move || {
        support::dirs_ending_with(&missing, "x");
    });
}

/// Removes the planted cgroup directories, also when an assertion fails.
struct Planted(Vec<std::path::PathBuf>);

impl Drop for Planted {
    fn drop(&mut self) {
        for d in &self.0 {
            let _ = std::fs::remove_dir(d);
        }
    }
}

#[test]
fn root_lxnest_cgroup_dirs_catches_a_leaked_cgroup_in_every_hierarchy() {
    if !support::root() {
        return;
    }
    let name = format!("lxnest-leak-check-{}", std::process::id());
    assert!(support::lxnest_cgroup_dirs(&name).is_empty());
    let own = lxnest::cgroup::layout::own_paths().expect("own cgroups");
    let mut planted = Planted(Vec::new());
    for h in &own.hierarchies {
        let parent = h.own_dir().expect("own dir").join("lxnest");
        let made_parent = !parent.exists();
        std::fs::create_dir_all(&parent).expect("lxnest cgroup");
        let leak = parent.join(&name);
        std::fs::create_dir(&leak).expect("leaked cgroup");
        planted.0.push(leak);
        if made_parent {
            // Removed after the leak (Planted drops in order); left if another test uses it.
            planted.0.push(parent);
        }
    }
    let found = support::lxnest_cgroup_dirs(&name);
    assert_eq!(
        found.len(),
        own.hierarchies.len(),
        "one leak per hierarchy ({:?}), found {found:?}",
        own.hierarchies
            .iter()
            .map(|h| h.label())
            .collect::<Vec<_>>()
    );
    assert!(
        own.hierarchies.iter().any(|h| h.label() == "unified")
            || !Path::new("/sys/fs/cgroup/cgroup.controllers").exists(),
        "cgroup2 is mounted but the layout reader did not list it"
    );
    drop(planted);
    assert!(support::lxnest_cgroup_dirs(&name).is_empty());
}
