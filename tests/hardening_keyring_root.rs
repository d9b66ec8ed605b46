//! Issue 17, findings 2 and 3: no container, attached process or start hook can read the
//! session keyring of whoever started it, and a start hook runs under the container's seccomp
//! filter. The test puts a key in its own (fresh) session keyring, which every process it
//! spawns inherits, and has `lxnest __probe read_key SERIAL` try to read it from level 1,
//! level 2, an attached process and a start hook, in `runtime: docker` containers, whose filter
//! allows keyctl (the probe's `keyctl` line is the control that keyctl works at all).

mod support;
use std::path::Path;
use std::process::Command;
use support::*;

const SECRET: &[u8] = b"topsecret-17";

/// A fresh session keyring for this test thread holding one key; returns its serial. Threads
/// have their own credentials, and `Command` spawns from this thread.
fn host_key() -> i32 {
    lxnest::launch::keyring::join_fresh_session().expect("join session keyring");
    let serial = lxnest::launch::keyring::add_session_key("lxnest-17", SECRET).expect("add_key");
    // Control: a plain child process of ours reads it (possession through the session keyring).
    let o = Command::new(env!("CARGO_BIN_EXE_lxnest"))
        .args(["__probe", "read_key", &serial.to_string()])
        .output()
        .expect("probe");
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(out.contains("read_key\tok topsecret-17"), "control: {out}");
    serial
}

/// Checks the probe lines carrying `prefix`: the host key unreadable, keyctl itself working.
fn assert_no_key(out: &str, prefix: &str) {
    let line = |k: &str| {
        out.lines()
            .find_map(|l| l.strip_prefix(prefix)?.strip_prefix(k)?.strip_prefix('\t'))
            .unwrap_or("missing")
            .to_string()
    };
    let read = line("read_key");
    assert!(
        !read.starts_with("ok") && read != "missing",
        "{prefix}read_key: {read}\n{out}"
    );
    assert_eq!(
        line("keyctl"),
        "ok",
        "{prefix}keyctl must work there\n{out}"
    );
}

fn spec(dir: &Path, name: &str, text: &str) -> std::path::PathBuf {
    let p = dir.join(format!("{name}.yaml"));
    std::fs::write(&p, text).expect("write spec");
    p
}

#[test]
fn root_keyring_is_not_inherited_at_level_1_level_2_and_attach() {
    if !root() {
        return;
    }
    let serial = host_key();
    let d = traversable_tempdir();
    let state = d.path().join("state");
    let st = state.to_str().expect("utf8");
    let id = std::process::id();
    let probe = format!("lxnest __probe read_key {serial}");

    // Level 1, foreground.
    let n1 = format!("kr1-{id}");
    let s1 = spec(
        d.path(),
        &n1,
        &format!("containers:\n  - name: {n1}\n    runtime: docker\n    network: {{mode: loopback}}\n    command: [\"/bin/sh\", \"-c\", \"{probe} | sed 's/^/L1 /'\"]\n"),
    );
    let out = ok(lxnest(&[
        "start",
        "-F",
        "-P",
        st,
        s1.to_str().expect("utf8"),
    ]));
    assert_no_key(&out, "L1 ");

    // Level 2, under a nesting host, from the same start.
    let ns = TestNetns::new(&format!("lxnest-kr{id}"));
    let n2 = format!("krh-{id}");
    let s2 = spec(
        d.path(),
        &n2,
        &format!("containers:\n  - name: {n2}\n    runtime: lxnest\n    network: {{mode: loopback}}\n    children:\n      - name: kr2\n        runtime: docker\n        network: {{mode: loopback}}\n        command: [\"/bin/sh\", \"-c\", \"{probe} | sed 's/^/L2 /'\"]\n"),
    );
    let o = ns.start_nested(&state, &s2);
    let out = String::from_utf8_lossy(&o.stdout).into_owned();
    assert!(
        o.status.success(),
        "{out}{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert_no_key(&out, "L2 ");

    // attach into a running (detached) container.
    let n3 = format!("kra-{id}");
    let s3 = spec(
        d.path(),
        &n3,
        &format!("containers:\n  - name: {n3}\n    runtime: docker\n    network: {{mode: loopback}}\n    command: [\"/bin/sleep\", \"300\"]\n"),
    );
    ok(lxnest(&["start", "-P", st, s3.to_str().expect("utf8")]));
    let o = lxnest(&[
        "attach",
        "-P",
        st,
        "-n",
        &n3,
        "--",
        "/bin/sh",
        "-c",
        &format!("{probe} | sed 's/^/A /'"),
    ]);
    let out = String::from_utf8_lossy(&o.stdout).into_owned();
    ok(lxnest(&["destroy", "-P", st, "-n", &n3]));
    assert!(o.status.success(), "{o:?}");
    assert_no_key(&out, "A ");
    assert_no_state_left(&state);
}

/// A tree for `rootfs: dir:` with busybox and the lxnest binary under test (with its shared
/// libraries, which `ldd` names).
fn busybox_tree(root: &Path) {
    for d in [
        "bin",
        "etc",
        "tmp",
        "proc",
        "sys",
        "dev",
        "run",
        "root",
        "usr/local/bin",
    ] {
        std::fs::create_dir_all(root.join(d)).expect("mkdir");
    }
    std::fs::copy("/bin/busybox", root.join("bin/busybox")).expect("busybox-static installed");
    for applet in ["sh", "grep", "sed", "cat", "true", "sleep"] {
        std::os::unix::fs::symlink("busybox", root.join("bin").join(applet)).expect("applet");
    }
    let exe = env!("CARGO_BIN_EXE_lxnest");
    std::fs::copy(exe, root.join("usr/local/bin/lxnest")).expect("copy lxnest");
    let ldd = Command::new("ldd").arg(exe).output().expect("ldd");
    for lib in String::from_utf8_lossy(&ldd.stdout)
        .split_whitespace()
        .filter(|w| w.starts_with('/'))
    {
        // Copy through the real path, keeping the name the loader asks for.
        let dest = root.join(lib.trim_start_matches('/'));
        std::fs::create_dir_all(dest.parent().expect("parent")).expect("mkdir lib");
        std::fs::copy(lib, &dest).expect("copy lib");
    }
    std::fs::write(root.join("etc/passwd"), "root:x:0:0::/root:/bin/sh\n").expect("passwd");
    // The container's root (a mapped, unprivileged host uid) writes /run/lxnest/level.
    std::fs::set_permissions(
        root.join("run"),
        std::os::unix::fs::PermissionsExt::from_mode(0o1777),
    )
    .expect("chmod run");
}

#[test]
fn root_start_hook_of_a_dir_nesting_host_is_filtered_and_keyless() {
    if !root_with("/bin/busybox", "busybox-static") {
        return;
    }
    let serial = host_key();
    let d = traversable_tempdir();
    let tree = d.path().join("tree");
    busybox_tree(&tree);
    let state = d.path().join("state");
    let name = format!("krhook-{}", std::process::id());
    // A nesting host (runtime) on a dir: tree; its start hook reports its seccomp filters and
    // tries the key. The hook's output reaches lxnest's stdout.
    let hook = format!(
        "grep Seccomp_filters /proc/self/status | sed 's/^/HOOK /'; lxnest __probe read_key {serial} | sed 's/^/HOOK /'; true"
    );
    let s = spec(
        d.path(),
        &name,
        &format!("containers:\n  - name: {name}\n    runtime: docker\n    rootfs: dir:{}\n    network: {{mode: loopback}}\n    hooks:\n      start: [\"{hook}\"]\n    command: [\"/bin/true\"]\n", tree.display()),
    );
    let o = lxnest(&[
        "start",
        "-F",
        "-P",
        state.to_str().expect("utf8"),
        s.to_str().expect("utf8"),
    ]);
    let out = String::from_utf8_lossy(&o.stdout).into_owned();
    assert!(
        o.status.success(),
        "{out}{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let filters: u32 = out
        .lines()
        .find_map(|l| l.strip_prefix("HOOK Seccomp_filters:"))
        .map(|v| v.trim().parse().expect("number"))
        .unwrap_or_else(|| panic!("no Seccomp_filters line: {out}"));
    assert!(
        filters >= 1,
        "the start hook ran without the container's filter: {out}"
    );
    assert_no_key(&out, "HOOK ");
    assert_no_state_left(&state);
}
