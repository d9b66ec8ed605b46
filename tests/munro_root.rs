//! Munro's containers: three LXC configs include one common file. The common file sets a memory
//! limit, a mount entry and a pre-start hook that puts a file into each container's shared mount
//! directory. Editing the common file (limit, mount, hook line) changes all three at the next
//! start. Needs root.

mod support;
use support::*;

use std::path::{Path, PathBuf};

fn common(dir: &Path, limit: &str, shared: &Path, tag: &str) {
    let text = format!(
        "# shared by every container\nlxc.cgroup.memory.limit_in_bytes = {limit}\n\
         lxc.mount.entry = {} srv/shared none bind,ro 0 0\n\
         lxc.hook.pre-start = /bin/sh -c 'mkdir -p \"$LXNEST_MOUNT_DIR/munro\" && echo {tag} $LXC_NAME > \"$LXNEST_MOUNT_DIR/munro/hook\"'\n",
        shared.display()
    );
    std::fs::write(dir.join("common.conf"), text).unwrap();
}

/// The memory limit of a running container, read from the cgroup its init is in.
fn memory_limit(state: &str, name: &str) -> u64 {
    let info: serde_json::Value = serde_json::from_str(&ok(lxnest(&[
        "info", "-P", state, "-n", name, "--output", "json",
    ])))
    .unwrap();
    let pid = info["pid"].as_i64().expect("pid in info");
    let cg = std::fs::read_to_string(format!("/proc/{pid}/cgroup")).unwrap();
    let rel = cg
        .lines()
        .find_map(|l| l.split_once(":memory:").map(|(_, p)| p.to_string()))
        .unwrap();
    let dir = PathBuf::from("/sys/fs/cgroup/memory").join(rel.trim_start_matches('/'));
    let limit_dir = if dir.join("memory.limit_in_bytes").exists() {
        dir
    } else {
        dir.parent().unwrap().to_path_buf()
    };
    std::fs::read_to_string(limit_dir.join("memory.limit_in_bytes"))
        .unwrap()
        .trim()
        .parse()
        .unwrap()
}

#[test]
fn root_changing_the_common_file_changes_every_container_at_next_start() {
    if !support::root_with("/sys/fs/cgroup/memory", "this cgroup layout") {
        return;
    }
    let d = support::traversable_tempdir();
    let (v1, v2) = (d.path().join("shared-v1"), d.path().join("shared-v2"));
    for (dir, text) in [(&v1, "first"), (&v2, "second")] {
        std::fs::create_dir(dir).unwrap();
        std::fs::write(dir.join("what"), text).unwrap();
    }
    let state = d.path().join("state");
    let state = state.to_str().unwrap();
    let pid = std::process::id();
    let names: Vec<String> = (1..=3).map(|i| format!("munro{i}-{pid}")).collect();
    for n in &names {
        std::fs::create_dir(d.path().join(n)).unwrap();
        let conf =
            format!("lxc.include = ../common.conf\nlxc.uts.name = {n}\nlxc.net.0.type = empty\n");
        std::fs::write(d.path().join(n).join("config"), conf).unwrap();
    }
    let start_all = || {
        for n in &names {
            let cfg = d.path().join(n).join("config");
            ok(lxnest(&["start", "-P", state, "-f", cfg.to_str().unwrap()]));
        }
    };
    let stop_all = || {
        for n in &names {
            ok(lxnest(&["stop", "-P", state, "-n", n]));
        }
    };
    // Whatever fails, no container of this test outlives it.
    struct Cleanup<'a>(&'a [String], &'a str);
    impl Drop for Cleanup<'_> {
        fn drop(&mut self) {
            for n in self.0 {
                let _ = lxnest(&["destroy", "-P", self.1, "-n", n]);
            }
        }
    }
    let _cleanup = Cleanup(&names, state);
    let inside = |n: &str, cmd: &str| {
        ok(lxnest(&[
            "attach", "-P", state, "-n", n, "--", "/bin/sh", "-c", cmd,
        ]))
    };

    common(d.path(), "268435456", &v1, "v1");
    start_all();
    for n in &names {
        assert_eq!(memory_limit(state, n), 268_435_456, "{n}");
        assert_eq!(inside(n, "cat /srv/shared/what").trim(), "first", "{n}");
        assert_eq!(
            inside(n, "cat /munro/hook").trim(),
            format!("v1 {n}"),
            "{n}: hook ran with LXC_NAME"
        );
    }
    stop_all();

    common(d.path(), "536870912", &v2, "v2");
    start_all();
    for n in &names {
        assert_eq!(memory_limit(state, n), 536_870_912, "{n}");
        assert_eq!(inside(n, "cat /srv/shared/what").trim(), "second", "{n}");
        assert_eq!(
            inside(n, "cat /munro/hook").trim(),
            format!("v2 {n}"),
            "{n}"
        );
    }
    stop_all();
}
