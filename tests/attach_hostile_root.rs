//! `lxnest attach` reads files that the container controls on the host side (its /etc/passwd for
//! the login shell, a nesting host's handed-over plan): a FIFO there used to block the attach for
//! ever, and a link to /dev/zero to fill the host's memory (found by an attacker's review).

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

mod support;

fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_lxnest")
}

/// Runs `lxnest attach -P STATE -n NAME` (no command: the login shell is looked up) and waits
/// for it with a generous deadline; `None` when it is still running then (it is killed).
fn attach_finishes(state: &std::path::Path, name: &str) -> Option<std::process::ExitStatus> {
    let mut child = Command::new(bin())
        .arg("attach")
        .arg("-P")
        .arg(state)
        .args(["-n", name])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("attach");
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if let Some(st) = child.try_wait().expect("wait") {
            return Some(st);
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            return None;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn root_attach_survives_a_fifo_and_an_endless_file_as_etc_passwd() {
    if !support::root_with("/bin/busybox", "busybox-static") {
        return;
    }
    let dir = support::traversable_tempdir();
    let tar = dir.path().join("hostile.tar.gz");
    support::busybox_tarball(&tar, &[]);
    let state = dir.path().join("state");
    let spec = dir.path().join("s.yaml");
    std::fs::write(
        &spec,
        format!(
            "containers:\n  - name: hostile-pw\n    rootfs: tar:{}\n    network: {{mode: loopback}}\n    command: [/bin/sh, -c, \"busybox rm -f /etc/passwd; busybox mkfifo /etc/passwd; exec sleep 1000\"]\n",
            tar.display()
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
    let stop = || {
        let _ = Command::new(bin())
            .args(["stop", "-n", "hostile-pw", "-t", "1", "-P"])
            .arg(&state)
            .output();
        let _ = Command::new(bin())
            .args(["destroy", "-n", "hostile-pw", "-P"])
            .arg(&state)
            .output();
    };
    // Wait for the init to have planted the FIFO.
    let deadline = Instant::now() + Duration::from_secs(30);
    let planted = loop {
        let o = Command::new(bin())
            .arg("attach")
            .arg("-P")
            .arg(&state)
            .args([
                "-n",
                "hostile-pw",
                "--",
                "/bin/sh",
                "-c",
                "busybox test -p /etc/passwd",
            ])
            .output()
            .expect("attach");
        if o.status.success() {
            break true;
        }
        if Instant::now() > deadline {
            break false;
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    let fifo = attach_finishes(&state, "hostile-pw");
    let o = Command::new(bin())
        .arg("attach")
        .arg("-P")
        .arg(&state)
        .args([
            "-n",
            "hostile-pw",
            "--",
            "/bin/sh",
            "-c",
            "busybox rm /etc/passwd; busybox ln -s /dev/zero /etc/passwd",
        ])
        .output()
        .expect("attach");
    let zero = attach_finishes(&state, "hostile-pw");
    stop();
    assert!(planted, "the container planted its FIFO");
    assert!(o.status.success(), "{o:?}");
    assert!(fifo.is_some(), "attach finished with a FIFO as /etc/passwd");
    assert!(
        zero.is_some(),
        "attach finished with /dev/zero as /etc/passwd"
    );
}
