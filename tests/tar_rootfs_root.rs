//! Annie's tarball, as root: a busybox rootfs tarball made in the test boots with `rootfs:
//! tar:PATH`; commands run as root inside; files created inside belong to the mapped ids on the
//! host; the second start reuses the unpacked tree. Needs root and busybox-static.

use std::os::unix::fs::MetadataExt;
use std::process::Command;

mod support;
use support::busybox_tarball;

#[test]
fn root_a_tarball_rootfs_boots_with_shifted_owners_and_is_reused() {
    if !support::root_with("/bin/busybox", "busybox-static") {
        return;
    }
    let d = support::traversable_tempdir();
    let tarball = d.path().join("rootfs.tar.gz");
    busybox_tarball(&tarball, &[]);
    let spec = d.path().join("annie.yaml");
    std::fs::write(
        &spec,
        format!(
            "containers:\n  - name: annie\n    rootfs: tar:{}\n    network: {{mode: loopback}}\n",
            tarball.display()
        ),
    )
    .unwrap();
    let state = d.path().join("state");
    let run = |cmd: &str| {
        Command::new(env!("CARGO_BIN_EXE_lxnest"))
            .arg("run")
            .arg("-P")
            .arg(&state)
            .arg("--spec")
            .arg(&spec)
            .args(["--", "/bin/sh", "-c", cmd])
            .output()
            .unwrap()
    };
    let out = run("id -u; touch /root/made-inside; cat /etc/passwd");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        text.starts_with("0\n") && text.contains("root:x:0:0"),
        "{text}"
    );
    let tree = lxnest::rootfs::tar_tree(&state, "annie");
    let made = std::fs::metadata(tree.join("root/made-inside"))
        .expect("file created inside is in the tree");
    let unpacked = std::fs::metadata(tree.join("bin/busybox")).unwrap();
    assert!(
        made.uid() >= 100_000 && made.uid() == unpacked.uid(),
        "root inside is the mapped id {} on the host",
        made.uid()
    );
    let again = run("ls /root");
    assert!(
        String::from_utf8_lossy(&again.stdout).contains("made-inside"),
        "second start reuses the tree"
    );
}
