//! scripts/check-host-clean.sh, the CI step after all tests, catches what a test leaves behind:
//! each case takes a snapshot, leaks one thing (a mount, a cgroup, a file under /run/lxnest), and
//! the comparison must fail naming it. Needs root.

mod support;

use std::path::Path;
use std::process::{Command, Output};

fn script() -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("scripts/check-host-clean.sh")
        .display()
        .to_string()
}

/// Runs `body` with bash, `$CHECK` being the script and `$SNAP` a snapshot file.
fn bash(sections: &str, body: &str, wrap: &[&str]) -> Output {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut c = Command::new(wrap.first().copied().unwrap_or("bash"));
    if !wrap.is_empty() {
        c.args(&wrap[1..]).arg("bash");
    }
    c.arg("-c")
        .arg(body)
        .env("CHECK", script())
        .env("SNAP", dir.path().join("snap"))
        .env("LXNEST_CLEAN_SECTIONS", sections)
        .output()
        .expect("bash runs")
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

#[test]
fn root_host_clean_check_catches_a_leaked_mount_and_passes_when_clean() {
    if !support::root() {
        return;
    }
    let d = tempfile::tempdir().expect("tempdir");
    let m = d.path().display().to_string();
    // A private mount namespace: nothing else mounts there while the case runs.
    let ns = ["unshare", "-m", "--propagation", "private"];
    let o = bash(
        "mount",
        "bash $CHECK snapshot $SNAP && bash $CHECK compare $SNAP",
        &ns,
    );
    assert!(o.status.success(), "unchanged: {}", text(&o));
    let body = format!(
        "bash $CHECK snapshot $SNAP && mount -t tmpfs lxnest-leak {m} && bash $CHECK compare $SNAP"
    );
    let o = bash("mount", &body, &ns);
    let t = text(&o);
    assert_eq!(o.status.code(), Some(1), "{t}");
    assert!(t.contains(&format!("+ mount {m} tmpfs")), "{t}");
    // Something of the host's gone is a difference too.
    let body = format!("mount -t tmpfs lxnest-pre {m} && bash $CHECK snapshot $SNAP && umount {m} && bash $CHECK compare $SNAP");
    let o = bash("mount", &body, &ns);
    let t = text(&o);
    assert_eq!(o.status.code(), Some(1), "{t}");
    assert!(t.contains(&format!("- mount {m} tmpfs")), "{t}");
}

/// Removes what a case leaked, also when an assertion fails.
struct Leak(std::path::PathBuf);

impl Drop for Leak {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir(&self.0);
        let _ = std::fs::remove_file(&self.0);
    }
}

#[test]
fn root_host_clean_check_catches_a_leaked_cgroup() {
    if !support::root() {
        return;
    }
    let own = lxnest::cgroup::layout::own_paths().expect("own cgroups");
    let h = own.hierarchies.first().expect("a cgroup hierarchy");
    let leak = h
        .own_dir()
        .expect("own dir")
        .join(format!("lxnest-leak-{}", std::process::id()));
    let body = format!(
        "bash $CHECK snapshot $SNAP && mkdir {} && bash $CHECK compare $SNAP",
        leak.display()
    );
    let _guard = Leak(leak.clone());
    let o = bash("cgroup", &body, &[]);
    let t = text(&o);
    assert_eq!(o.status.code(), Some(1), "{t}");
    assert!(t.contains(&format!("+ cgroup {}", leak.display())), "{t}");
}

#[test]
fn root_host_clean_check_catches_a_file_under_run_lxnest() {
    if !support::root() {
        return;
    }
    let leak = Path::new("/run/lxnest").join(format!("lxnest-leak-{}", std::process::id()));
    let body = format!(
        "bash $CHECK snapshot $SNAP && mkdir -p /run/lxnest && touch {} && bash $CHECK compare $SNAP",
        leak.display()
    );
    let _guard = Leak(leak.clone());
    let o = bash("file", &body, &[]);
    let t = text(&o);
    assert_eq!(o.status.code(), Some(1), "{t}");
    assert!(t.contains(&format!("+ file {}", leak.display())), "{t}");
}

#[test]
fn host_clean_check_refuses_a_missing_snapshot() {
    let o = bash("file", "bash $CHECK compare $SNAP", &[]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
}
