//! `lxc.mount.entry` with a loop image: the filesystem in the image appears inside the container
//! (read-only when asked), and after stop no mount and no loop device is left. Needs root.

mod support;
use support::*;

use std::path::Path;
use std::process::Command;

fn loop_devices_of(image: &Path) -> usize {
    let out = Command::new("losetup")
        .args(["-j", image.to_str().unwrap()])
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout).lines().count()
}

#[test]
fn root_loop_image_mount_entry_appears_inside_and_is_undone() {
    if !support::root_with("/dev/loop-control", "loop devices") {
        return;
    }
    let d = support::traversable_tempdir();
    let content = d.path().join("content");
    std::fs::create_dir(&content).unwrap();
    std::fs::write(content.join("hello.txt"), "from the loop image\n").unwrap();
    let image = d.path().join("data.img");
    std::fs::File::create(&image)
        .unwrap()
        .set_len(16 << 20)
        .unwrap();
    let mkfs = Command::new("mkfs.ext4")
        .args([
            "-q",
            "-F",
            "-d",
            content.to_str().unwrap(),
            image.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    assert!(
        mkfs.status.success(),
        "{}",
        String::from_utf8_lossy(&mkfs.stderr)
    );
    let name = format!("loopy-{}", std::process::id());
    let cdir = d.path().join(&name);
    std::fs::create_dir(&cdir).unwrap();
    let conf = format!("lxc.uts.name = {name}\nlxc.net.0.type = empty\nlxc.mount.entry = {} srv/data ext4 loop,ro 0 0\n", image.display());
    std::fs::write(cdir.join("config"), conf).unwrap();
    let state = d.path().join("state");
    let state = state.to_str().unwrap();
    ok(lxnest(&[
        "start",
        "-P",
        state,
        "-f",
        cdir.join("config").to_str().unwrap(),
    ]));
    let seen = lxnest(&[
        "attach",
        "-P",
        state,
        "-n",
        &name,
        "--",
        "/bin/sh",
        "-c",
        "cat /srv/data/hello.txt; touch /srv/data/x 2>&1 || echo read-only",
    ]);
    let attached_loops = loop_devices_of(&image);
    let stopped = lxnest(&["stop", "-P", state, "-n", &name]);
    let text = ok(seen);
    assert!(
        text.contains("from the loop image") && text.contains("read-only"),
        "{text}"
    );
    assert_eq!(attached_loops, 1, "one loop device while running");
    ok(stopped);
    assert_eq!(
        loop_devices_of(&image),
        0,
        "the loop device is freed at stop"
    );
    let mounts = std::fs::read_to_string("/proc/self/mountinfo").unwrap();
    assert!(!mounts.contains(&name), "no mount of the container is left");
}
