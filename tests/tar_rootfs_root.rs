//! Annie's tarball, as root: a busybox rootfs tarball made in the test boots with `rootfs:
//! tar:PATH`; commands run as root inside; files created inside belong to the mapped ids on the
//! host; the second start reuses the unpacked tree. Needs root and busybox-static.

use std::os::unix::fs::MetadataExt;
use std::path::Path;
use std::process::Command;

fn busybox_tarball(path: &Path) {
    let mut b = tar::Builder::new(flate2::write::GzEncoder::new(
        std::fs::File::create(path).unwrap(),
        flate2::Compression::fast(),
    ));
    for d in ["bin/", "etc/", "tmp/", "proc/", "sys/", "dev/", "root/"] {
        let mut h = tar::Header::new_gnu();
        h.set_entry_type(tar::EntryType::Directory);
        h.set_mode(if d == "tmp/" { 0o1777 } else { 0o755 });
        h.set_size(0);
        h.set_cksum();
        b.append_data(&mut h, d, std::io::empty()).unwrap();
    }
    let bb = std::fs::read("/bin/busybox").expect("busybox-static installed");
    let mut h = tar::Header::new_gnu();
    h.set_mode(0o755);
    h.set_size(bb.len() as u64);
    h.set_cksum();
    b.append_data(&mut h, "bin/busybox", bb.as_slice()).unwrap();
    for applet in ["sh", "id", "touch", "ls", "cat", "true"] {
        let mut h = tar::Header::new_gnu();
        h.set_entry_type(tar::EntryType::Symlink);
        h.set_size(0);
        h.set_mode(0o777);
        b.append_link(&mut h, format!("bin/{applet}"), "busybox")
            .unwrap();
    }
    let mut h = tar::Header::new_gnu();
    h.set_mode(0o644);
    h.set_size(19);
    h.set_cksum();
    b.append_data(&mut h, "etc/passwd", b"root:x:0:0::/root:/\n".as_slice())
        .unwrap();
    b.into_inner().unwrap().finish().unwrap();
}

#[test]
fn root_a_tarball_rootfs_boots_with_shifted_owners_and_is_reused() {
    if !nix::unistd::geteuid().is_root() || !Path::new("/bin/busybox").exists() {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI runs root tests as root with busybox-static"
        );
        return;
    }
    let d = tempfile::tempdir().unwrap();
    std::fs::set_permissions(
        d.path(),
        std::os::unix::fs::PermissionsExt::from_mode(0o755),
    )
    .unwrap();
    let tarball = d.path().join("rootfs.tar.gz");
    busybox_tarball(&tarball);
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
