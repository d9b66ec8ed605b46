//! Removing a container's state must never reach into a filesystem mounted below it: the shared
//! `mount/` directory is where a `pre-start` hook mounts host directories (docs/hooks.md), so
//! stopping the container used to empty the host directory it had bound there, and leave the
//! mount behind (found by an attacker's review; a container can end its init at will).

use std::process::Command;

mod support;

fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_lxnest")
}

#[test]
fn root_stop_detaches_a_hook_mount_and_keeps_the_host_directory() {
    if !support::root() {
        return;
    }
    let dir = support::traversable_tempdir();
    let vol = dir.path().join("vol");
    std::fs::create_dir_all(vol.join("keep")).expect("vol");
    std::fs::write(vol.join("keep/data.txt"), "precious").expect("data");
    let state = dir.path().join("state");
    let spec = dir.path().join("s.yaml");
    std::fs::write(
        &spec,
        format!(
            "containers:\n  - name: sweep1\n    network: {{mode: loopback}}\n    command: [/bin/sh, -c, \"ls /data >/dev/null; exec sleep 1000\"]\n    hooks:\n      pre-start: [\"mkdir -p $LXNEST_MOUNT_DIR/data && mount --bind {} $LXNEST_MOUNT_DIR/data;\"]\n",
            vol.display()
        ),
    )
    .expect("spec");
    let o = Command::new(bin())
        .arg("start")
        .arg("-P")
        .arg(&state)
        .arg(&spec)
        .output()
        .expect("start");
    assert!(o.status.success(), "{o:?}");
    let o = Command::new(bin())
        .args(["stop", "-n", "sweep1", "-t", "2", "-P"])
        .arg(&state)
        .output()
        .expect("stop");
    let mountinfo = std::fs::read_to_string("/proc/self/mountinfo").expect("mountinfo");
    let leaked = mountinfo.contains(&format!(" {}/", state.display()));
    // Clean up before asserting, whatever happened.
    let _ = Command::new("umount")
        .arg("-l")
        .arg(state.join("sweep1/mount/data"))
        .output();
    let _ = Command::new(bin())
        .args(["destroy", "-n", "sweep1", "-P"])
        .arg(&state)
        .output();
    assert!(o.status.success(), "stop: {o:?}");
    assert_eq!(
        std::fs::read_to_string(vol.join("keep/data.txt"))
            .ok()
            .as_deref(),
        Some("precious"),
        "the host directory bound by the hook keeps its files"
    );
    assert!(!leaked, "no mount below the state directory is left");
    support::assert_no_state_left(&state);
}
