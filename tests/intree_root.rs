//! Symlinks planted in a container's own tree at every path lxnest writes or mounts there
//! (issue: a container's symlink redirected a write of the next start to the host). A `dir:`
//! root is the container's to change while it runs; at its next start, lxnest must resolve each
//! of those paths inside the tree or refuse, and never touch what the links point at. Run for a
//! user-namespaced container and for a privileged one (whose writes would be the host root's).

use std::os::unix::fs::symlink;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

mod support;

fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_lxnest")
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// A busybox tree owned by `owner` (the container's root on the host).
fn busybox_tree(at: &Path, owner: u32) {
    for d in ["bin", "etc", "tmp"] {
        std::fs::create_dir_all(at.join(d)).expect("mkdir");
    }
    if !at.join("bin/busybox").exists() {
        std::fs::copy("/bin/busybox", at.join("bin/busybox")).expect("busybox");
        for a in ["sh", "cat", "ls", "echo", "test"] {
            symlink("busybox", at.join("bin").join(a)).expect("applet");
        }
    }
    let o = Command::new("chown")
        .args(["-R", &format!("{owner}:{owner}")])
        .arg(at)
        .output()
        .expect("chown");
    assert!(o.status.success(), "{o:?}");
}

/// Everything below `dir`, with contents, to compare before and after.
fn snapshot(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).expect("read_dir").flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p.clone());
                out.push((p, Vec::new()));
            } else {
                out.push((p.clone(), std::fs::read(&p).unwrap_or_default()));
            }
        }
    }
    out.sort();
    out
}

/// The host uid of the container's root, from `lxnest plan --output json`.
fn planned_root(spec: &Path) -> u32 {
    let o = Command::new(bin())
        .arg("plan")
        .arg(spec)
        .args(["--output", "json"])
        .output()
        .expect("plan");
    assert!(o.status.success(), "{}", text(&o));
    let plan: serde_json::Value = serde_json::from_slice(&o.stdout).expect("plan json");
    let outside = &plan["containers"][0]["idmap"]["uid"][0]["outside"];
    u32::try_from(outside.as_u64().expect("outside id")).expect("u32")
}

struct Case {
    _dir: tempfile::TempDir,
    tree: PathBuf,
    victim: PathBuf,
    spec: PathBuf,
    state: PathBuf,
    owner: u32,
}

impl Case {
    /// A tree whose run/, srv/ and shared-mount paths point at `victim`, outside the tree.
    fn new(privileged: bool) -> Case {
        let dir = support::traversable_tempdir();
        let tree = dir.path().join("tree");
        let victim = dir.path().join("victim");
        std::fs::create_dir_all(victim.join("lxnest")).expect("victim");
        std::fs::write(victim.join("lxnest/level"), "sentinel").expect("sentinel");
        std::fs::write(victim.join("secret"), "keep me").expect("secret");
        let spec = dir.path().join("spec.yaml");
        let source = dir.path().join("shared-src");
        std::fs::create_dir_all(&source).expect("source");
        std::fs::write(source.join("f"), "from the host").expect("source file");
        // The paths lxnest writes or mounts, each a link out of the tree.
        std::fs::create_dir_all(tree.join("etc")).expect("etc");
        symlink(&victim, tree.join("run")).expect("run");
        symlink(&victim, tree.join("srv")).expect("srv");
        symlink(victim.join("secret"), tree.join("etc/hosts")).expect("etc/hosts");
        let idmap = if privileged {
            "    idmap: {privileged: true}\n"
        } else {
            ""
        };
        std::fs::write(
            &spec,
            format!(
                "containers:\n  - name: symlinked-{}\n    rootfs: dir:{}\n    network: {{mode: loopback}}\n{idmap}    mounts:\n      - {{source: {}, target: /srv/data}}\n      - {{source: {}, target: /etc/hosts}}\n",
                if privileged { "p" } else { "u" },
                tree.display(),
                source.display(),
                source.join("f").display(),
            ),
        )
        .expect("spec");
        // The tree and the victim belong to the container's root on the host (host root when
        // privileged), so that file permissions alone would not stop a write through a link.
        let owner = if privileged { 0 } else { planned_root(&spec) };
        busybox_tree(&tree, owner);
        let o = Command::new("chown")
            .args(["-R", &format!("{owner}:{owner}")])
            .arg(&victim)
            .output()
            .expect("chown");
        assert!(o.status.success(), "{o:?}");
        let state = dir.path().join("state");
        Case {
            _dir: dir,
            tree,
            victim,
            spec,
            state,
            owner,
        }
    }

    fn run(&self, script: &str) -> Output {
        Command::new(bin())
            .args(["run", "-P"])
            .arg(&self.state)
            .arg("--spec")
            .arg(&self.spec)
            .args(["--", "/bin/sh", "-c", script])
            .output()
            .expect("run")
    }
}

fn check(privileged: bool) {
    let case = Case::new(privileged);
    let before = snapshot(&case.victim);
    // The links resolve inside the tree, where /tmp/.../victim does not exist yet: the start
    // must refuse (it cannot make run/lxnest/level inside) without writing through the link.
    let o = case.run("cat /run/lxnest/level");
    assert!(!o.status.success(), "{}", text(&o));
    assert_eq!(
        snapshot(&case.victim),
        before,
        "nothing outside the tree changed"
    );
    support::assert_no_state_left(&case.state);

    // With the link targets present inside the tree, the container starts, and lxnest's writes
    // and mounts land inside the tree.
    let inside = case
        .tree
        .join(case.victim.strip_prefix("/").expect("absolute"));
    std::fs::create_dir_all(&inside).expect("inside");
    std::fs::write(inside.join("secret"), "the tree's own").expect("inside secret");
    busybox_tree(&case.tree, case.owner);
    let o = case.run("cat /run/lxnest/level; cat /srv/data/f; echo; cat /etc/hosts");
    assert!(o.status.success(), "{}", text(&o));
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(out.starts_with("1\n"), "{out}");
    assert!(out.contains("from the host"), "plan mounts landed: {out}");
    assert_eq!(
        snapshot(&case.victim),
        before,
        "nothing outside the tree changed"
    );
    assert_eq!(
        std::fs::read_to_string(case.victim.join("secret")).expect("secret"),
        "keep me"
    );
    assert_eq!(
        std::fs::read_to_string(inside.join("lxnest/level")).expect("level inside"),
        "1\n"
    );

    // /proc, /sys and /dev as links are refused with the reason, and nothing changes outside.
    for name in ["proc", "sys", "dev"] {
        let p = case.tree.join(name);
        let _ = std::fs::remove_dir(&p);
        symlink(&case.victim, &p).expect("link");
        let o = case.run("true");
        assert!(!o.status.success(), "{name}: {}", text(&o));
        assert!(
            text(&o).contains(&format!("/{name} in the container's tree is a symlink")),
            "{name}: {}",
            text(&o)
        );
        std::fs::remove_file(&p).expect("unlink");
        assert_eq!(
            snapshot(&case.victim),
            before,
            "{name}: nothing outside changed"
        );
        support::assert_no_state_left(&case.state);
    }
}

#[test]
fn root_symlinks_in_a_dir_root_never_steer_writes_or_mounts() {
    if !support::root_with("/bin/busybox", "busybox-static") {
        return;
    }
    check(false);
}

#[test]
fn root_symlinks_in_a_privileged_dir_root_never_steer_writes_or_mounts() {
    if !support::root_with("/bin/busybox", "busybox-static") {
        return;
    }
    check(true);
}

#[test]
fn root_a_mount_target_linked_to_the_root_is_refused_and_writes_nothing_into_the_source() {
    if !support::root_with("/bin/busybox", "busybox-static") {
        return;
    }
    let dir = support::traversable_tempdir();
    let tree = dir.path().join("tree");
    let source = dir.path().join("source");
    std::fs::create_dir_all(&source).expect("source");
    std::fs::write(source.join("file"), "host data").expect("file");
    let spec = dir.path().join("spec.yaml");
    std::fs::write(
        &spec,
        format!(
            "containers:\n  - name: symlinked-r\n    rootfs: dir:{}\n    network: {{mode: loopback}}\n    mounts:\n      - {{source: {}, target: /data}}\n",
            tree.display(),
            source.display()
        ),
    )
    .expect("spec");
    let owner = planned_root(&spec);
    busybox_tree(&tree, owner);
    let o = Command::new("chown")
        .args(["-R", &format!("{owner}:{owner}")])
        .arg(&source)
        .output()
        .expect("chown");
    assert!(o.status.success(), "{o:?}");
    // What a container's root could plant in its own tree during an earlier run.
    symlink("/", tree.join("data")).expect("link");
    let before = snapshot(&source);
    let state = dir.path().join("state");
    let o = Command::new(bin())
        .args(["run", "-P"])
        .arg(&state)
        .arg("--spec")
        .arg(&spec)
        .args(["--", "/bin/true"])
        .output()
        .expect("run");
    assert!(!o.status.success(), "{}", text(&o));
    assert!(
        text(&o).contains("resolves to the container's root directory"),
        "{}",
        text(&o)
    );
    assert_eq!(
        snapshot(&source),
        before,
        "nothing created in the bind source"
    );
    support::assert_no_state_left(&state);
}
