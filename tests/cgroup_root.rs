//! cgroup tests as root on the real kernel: trees, tasks, limits the kernel enforces, delegation,
//! the device allowlist, nested creation inside a cgroup namespace, and cleanup (also on panic).
//! Every cgroup is named `lxnest-test-<pid>-<n>` and removed by guards.

mod support;
use lxnest::cgroup::{self, layout, premount, Base, CreateOptions};
use lxnest::plan::model::{CgroupPlan, DevicePlan, LimitPlan, Premount};
use std::io::{BufRead, BufReader, Read, Write};
use std::os::unix::fs::MetadataExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdout, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

static COUNTER: AtomicUsize = AtomicUsize::new(0);

// The tests that need a cgroup2 hierarchy run as children in a mount namespace where one is
// mounted (support::cgroup2), so they run whatever the host mounted.
test_children!(devices_bpf, nested_in_cgroup2);

fn unique() -> String {
    format!(
        "lxnest-test-{}-{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::SeqCst)
    )
}

fn plan(path: &str, limits: LimitPlan) -> CgroupPlan {
    let layout = cgroup::detect().expect("detect");
    CgroupPlan {
        path: path.to_string(),
        mode: layout.mode,
        controllers: vec![],
        limits,
        delegate: false,
        init_leaf: None,
        premount: Premount::Namespaced,
    }
}

/// A shell that waits for one line on stdin before running `script`, so the test can put it
/// into a cgroup first.
fn waiting_sh(script: &str) -> Child {
    Command::new("/bin/sh")
        .arg("-c")
        .arg(format!("read go; {script}"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn sh")
}

fn go(child: &mut Child) {
    child
        .stdin
        .as_mut()
        .expect("stdin")
        .write_all(b"go\n")
        .expect("write go");
}

/// Waits for a child with a deadline; kills it when the deadline passes.
/// Waits for `child`; `secs` is what it takes on an idle machine, the bound is at least
/// support::PATIENCE so that a loaded CI machine does not fail a slow but correct run.
fn wait_timeout(child: &mut Child, secs: u64) -> std::process::ExitStatus {
    let secs = Duration::from_secs(secs).max(support::PATIENCE).as_secs();
    let deadline = Instant::now() + Duration::from_secs(secs);
    loop {
        if let Some(st) = child.try_wait().expect("try_wait") {
            return st;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("child did not finish within {secs}s");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn output(child: &mut Child) -> (String, String) {
    let mut out = String::new();
    let mut err = String::new();
    child.stdout.take().map(|mut s| s.read_to_string(&mut out));
    child.stderr.take().map(|mut s| s.read_to_string(&mut err));
    (out, err)
}

fn read(p: &Path) -> String {
    std::fs::read_to_string(p)
        .unwrap_or_else(|e| panic!("read {}: {e}", p.display()))
        .trim()
        .to_string()
}

/// Expected /proc/PID/cgroup lines for a process in `plan_path` (or `plan_path/leaf`).
fn expected_lines(rel: &str) -> Vec<String> {
    let own = cgroup::own_paths().expect("own paths");
    let text = std::fs::read_to_string("/proc/self/cgroup").expect("own cgroup");
    let mut out = Vec::new();
    for l in layout::parse_proc_cgroup(&text).expect("parse") {
        let mounted = own.hierarchies.iter().any(|h| h.path == l.path);
        if !mounted {
            continue;
        }
        let base = l.path.trim_end_matches('/');
        let controllers = l.controllers.join(",");
        out.push(format!("{}:{}:{}/{}", l.id, controllers, base, rel));
    }
    out
}

#[test]
fn root_create_limits_task_and_cleanup() {
    let top = unique();
    let path = format!("{top}/c1");
    let layout = cgroup::detect().expect("detect");
    let limits = LimitPlan {
        memory: Some(64 << 20),
        pids: Some(16),
        cpu: Some((50_000, 100_000)),
    };
    let guard = cgroup::create(&layout, &plan(&path, limits)).expect("create");
    let dirs = guard.dirs();
    assert!(!dirs.is_empty());
    for (label, dir) in &dirs {
        assert!(dir.is_dir(), "{label}: {} missing", dir.display());
    }
    // Limits landed in whichever hierarchy holds each controller.
    let mem = guard.dir_of("memory").expect("memory hierarchy");
    let pids = guard.dir_of("pids").expect("pids hierarchy");
    if layout.v1_controllers.iter().any(|c| c == "memory") {
        assert_eq!(
            read(&mem.join("memory.limit_in_bytes")),
            (64u64 << 20).to_string()
        );
        let memsw = mem.join("memory.memsw.limit_in_bytes");
        if memsw.exists() {
            assert_eq!(
                read(&memsw),
                (64u64 << 20).to_string(),
                "swap must not extend the limit"
            );
        }
        assert_eq!(read(&pids.join("pids.max")), "16");
        let cpu = guard.dir_of("cpu").expect("cpu hierarchy");
        assert_eq!(read(&cpu.join("cpu.cfs_quota_us")), "50000");
        assert_eq!(read(&cpu.join("cpu.cfs_period_us")), "100000");
    } else {
        assert_eq!(read(&mem.join("memory.max")), (64u64 << 20).to_string());
        assert_eq!(read(&pids.join("pids.max")), "16");
    }

    let mut child = waiting_sh("cat /proc/self/cgroup > /dev/null; sleep 30");
    let pid = child.id() as i32;
    guard.add_task(pid).expect("add_task");
    let seen = read(&PathBuf::from(format!("/proc/{pid}/cgroup")));
    for want in expected_lines(&path) {
        assert!(seen.lines().any(|l| l == want), "{want:?} not in\n{seen}");
    }
    go(&mut child);
    drop(guard);
    // The guard killed the shell and removed every directory, the intermediate one too.
    let st = wait_timeout(&mut child, 10);
    assert!(!st.success());
    for (_, dir) in &dirs {
        assert!(!dir.exists(), "{} left behind", dir.display());
        assert!(
            !dir.parent().expect("parent").ends_with(&top)
                || !dir.parent().expect("parent").exists()
        );
    }
}

#[test]
fn root_pids_limit_bounds_a_fork_bomb() {
    let layout = cgroup::detect().expect("detect");
    let limits = LimitPlan {
        pids: Some(8),
        ..Default::default()
    };
    let guard = cgroup::create(&layout, &plan(&unique(), limits)).expect("create");
    // dash exits with "Cannot fork" at the first failed fork; echo is a builtin.
    let mut child = waiting_sh("i=0; while [ $i -lt 50 ]; do sleep 20 & i=$((i+1)); echo $i; done");
    guard.add_task(child.id() as i32).expect("add_task");
    go(&mut child);
    let st = wait_timeout(&mut child, 20);
    let (out, err) = output(&mut child);
    let started: Vec<u32> = out.lines().filter_map(|l| l.trim().parse().ok()).collect();
    // The shell itself is one task: at most 7 sleeps fit under pids.max = 8.
    assert_eq!(
        started.last().copied(),
        Some(7),
        "stdout {out:?} stderr {err:?}"
    );
    assert!(!st.success());
    assert!(err.to_lowercase().contains("fork"), "stderr {err:?}");
    drop(guard); // kills the 7 sleeps
}

#[test]
fn root_memory_limit_kills_a_hog() {
    let layout = cgroup::detect().expect("detect");
    let limits = LimitPlan {
        memory: Some(32 << 20),
        ..Default::default()
    };
    let guard = cgroup::create(&layout, &plan(&unique(), limits)).expect("create");
    // The shell keeps 200 MB in a variable; without the limit this machine has room for it.
    let script = "x=$(head -c 200000000 /dev/zero | tr '\\0' a); echo survived ${#x}";
    let mut child = waiting_sh(script);
    guard.add_task(child.id() as i32).expect("add_task");
    go(&mut child);
    let st = wait_timeout(&mut child, 60);
    let (out, _) = output(&mut child);
    assert!(!out.contains("survived"), "hog survived: {out}");
    use std::os::unix::process::ExitStatusExt;
    assert_eq!(st.signal(), Some(9), "expected an OOM kill, got {st:?}");
}

#[test]
fn root_delegate_and_init_leaf() {
    let layout = cgroup::detect().expect("detect");
    let mut p = plan(
        &unique(),
        LimitPlan {
            pids: Some(100),
            ..Default::default()
        },
    );
    p.delegate = true;
    p.init_leaf = Some("init".into());
    let guard = cgroup::create(&layout, &p).expect("create");
    guard.delegate(100_000, 100_000).expect("delegate");
    let has_v2 = layout.unified_mount.is_some();
    assert_eq!(
        guard.leaf_dirs().len(),
        if has_v2 { guard.dirs().len() } else { 0 }
    );
    for (label, dir) in guard.dirs() {
        let md = std::fs::metadata(&dir).expect("stat");
        assert_eq!((md.uid(), md.gid()), (100_000, 100_000), "{label}");
        let procs = std::fs::metadata(dir.join("cgroup.procs")).expect("stat procs");
        assert_eq!(procs.uid(), 100_000, "{label} cgroup.procs");
        if label == "unified" {
            let sc = std::fs::metadata(dir.join("cgroup.subtree_control")).expect("stat");
            assert_eq!(sc.uid(), 100_000);
        } else {
            assert_eq!(
                std::fs::metadata(dir.join("tasks")).expect("tasks").uid(),
                100_000
            );
        }
    }
    // Limit files stay root's: the container cannot raise its own limit.
    let pids = guard.dir_of("pids").expect("pids");
    assert_eq!(
        std::fs::metadata(pids.join("pids.max"))
            .expect("stat")
            .uid(),
        0
    );
    for leaf in guard.leaf_dirs() {
        assert_eq!(std::fs::metadata(&leaf).expect("leaf").uid(), 100_000);
    }
    if has_v2 {
        let mut child = waiting_sh("sleep 30");
        let pid = child.id() as i32;
        guard.add_task(pid).expect("add");
        guard.move_to_leaf(pid).expect("leaf");
        let seen = read(&PathBuf::from(format!("/proc/{pid}/cgroup")));
        for want in expected_lines(&format!("{}/init", p.path)) {
            assert!(seen.lines().any(|l| l == want), "{want:?} not in\n{seen}");
        }
        drop(guard);
        wait_timeout(&mut child, 10);
    }
}

#[test]
fn root_guard_cleans_up_on_panic() {
    let layout = cgroup::detect().expect("detect");
    let p = plan(&format!("{}/inner", unique()), LimitPlan::default());
    let mut child = waiting_sh("sleep 30");
    let pid = child.id() as i32;
    let dirs = std::sync::Mutex::new(Vec::new());
    let result = std::panic::catch_unwind(|| {
        let guard = cgroup::create(&layout, &p).expect("create");
        *dirs.lock().expect("lock") = guard.dirs();
        guard.add_task(pid).expect("add");
        panic!("test panic with a live task in the cgroup");
    });
    assert!(result.is_err());
    let st = wait_timeout(&mut child, 10);
    assert!(!st.success(), "the task in the cgroup was not killed");
    let dirs = dirs.into_inner().expect("lock");
    assert!(!dirs.is_empty());
    for (_, dir) in dirs {
        assert!(!dir.exists(), "{} left behind", dir.display());
    }
}

#[test]
fn root_remove_without_a_guard() {
    let layout = cgroup::detect().expect("detect");
    let path = format!("{}/c", unique());
    let guard = cgroup::create(&layout, &plan(&path, LimitPlan::default())).expect("create");
    let dirs = guard.dirs();
    let mut child = waiting_sh("sleep 30");
    guard.add_task(child.id() as i32).expect("add");
    guard.persist();
    for (_, d) in &dirs {
        assert!(d.exists());
    }
    cgroup::remove(&layout, &path).expect("remove");
    wait_timeout(&mut child, 10);
    for (_, d) in &dirs {
        assert!(!d.exists(), "{} left behind", d.display());
        assert!(
            !d.parent().expect("parent").exists(),
            "intermediate dir left behind"
        );
    }
    // Removing again is not an error: nothing is there.
    cgroup::remove(&layout, &path).expect("remove twice");
}

/// A kmsg-class node (c 1:11) in a temp dir, and a script that reports what it may do with it.
fn device_probe() -> (tempfile::TempDir, String) {
    let tmp = tempfile::tempdir().expect("tmp");
    let kmsg = tmp.path().join("kmsg");
    nix::sys::stat::mknod(
        &kmsg,
        nix::sys::stat::SFlag::S_IFCHR,
        nix::sys::stat::Mode::from_bits_truncate(0o600),
        nix::sys::stat::makedev(1, 11),
    )
    .expect("mknod");
    let script = format!(
        "(exec 3<{k}) 2>/dev/null && echo read-ok || echo read-denied; \
         (exec 3>{k}) 2>/dev/null && echo write-ok || echo write-denied; \
         (: > /dev/null) 2>/dev/null && echo null-ok || echo null-denied; \
         (mknod {t}/zero c 1 5) 2>/dev/null && echo mknod-zero-ok || echo mknod-zero-denied; \
         (mknod {t}/other c 1 11) 2>/dev/null && echo mknod-kmsg-ok || echo mknod-kmsg-denied; \
         rm -f {t}/zero {t}/other",
        k = kmsg.display(),
        t = tmp.path().display()
    );
    (tmp, script)
}

/// Runs the probe in `guard`'s leaf (or cgroup) and checks the outcome of a `c 1:11 r` grant.
fn check_probe_in(guard: &cgroup::CgroupGuard, script: &str) {
    let mut child = waiting_sh(script);
    let pid = child.id() as i32;
    guard.add_task(pid).expect("add");
    guard.move_to_leaf(pid).expect("leaf"); // a recreated leaf inherits the list
    go(&mut child);
    wait_timeout(&mut child, 10);
    let (out, _) = output(&mut child);
    for want in [
        "read-ok",
        "write-denied",
        "null-ok",
        "mknod-zero-ok",
        "mknod-kmsg-denied",
    ] {
        assert!(out.contains(want), "{want} missing in {out:?}");
    }
}

fn kmsg_read() -> DevicePlan {
    DevicePlan {
        path: "/dev/kmsg".into(),
        kind: 'c',
        major: 1,
        minor: 11,
        access: "r".into(),
    }
}

#[test]
fn root_devices_allowlist_is_enforced() {
    let layout = cgroup::detect().expect("detect");
    let (_tmp, script) = device_probe();
    // Control: outside the cgroup everything is allowed.
    let mut control = waiting_sh(&script);
    go(&mut control);
    wait_timeout(&mut control, 10);
    let (out, _) = output(&mut control);
    assert!(
        out.contains("read-ok") && out.contains("write-ok") && out.contains("mknod-kmsg-ok"),
        "control: {out}"
    );

    let mut p = plan(&unique(), LimitPlan::default());
    p.delegate = true;
    p.init_leaf = Some("init".into());
    let guard = cgroup::create(&layout, &p).expect("create");
    let policy = cgroup::apply_devices(&guard, &[kmsg_read()]).expect("devices");
    assert!(policy.enforced(), "{policy:?}");
    assert_eq!(
        policy.v1,
        layout.v1_controllers.iter().any(|c| c == "devices")
    );
    if layout.unified_mount.is_some() {
        assert_eq!(policy.bpf, cgroup::devices::BpfStatus::Attached);
    }
    check_probe_in(&guard, &script);
}

/// The cgroup2 program alone (no v1 list written) enforces the same policy.
#[test]
fn root_devices_bpf_program_is_enforced() {
    if support::root() {
        support::child::assert_ok(&support::child::run("devices_bpf", &[]));
    }
}

/// Child of `root_devices_bpf_program_is_enforced`, with a cgroup2 mount.
fn devices_bpf() -> i32 {
    support::cgroup2::ensure_cgroup2();
    let layout = cgroup::detect().expect("detect");
    assert!(layout.unified_mount.is_some(), "{layout:?}");
    let (_tmp, script) = device_probe();
    let guard = cgroup::create(&layout, &plan(&unique(), LimitPlan::default())).expect("create");
    let status = cgroup::devices::apply_devices_bpf(&guard, &[kmsg_read()]).expect("bpf");
    assert_eq!(status, cgroup::devices::BpfStatus::Attached);
    if let Some(dev) = guard.dir_of("devices") {
        assert_eq!(
            read(&dev.join("devices.list")),
            "a *:* rwm",
            "v1 list must be untouched here"
        );
    }
    check_probe_in(&guard, &script);
    0
}

/// Helper role for `root_nested_create_in_cgroup_namespace`, run in a re-executed test binary.
#[test]
fn nested_helper_role() {
    if std::env::var("LXNEST_CG_ROLE").as_deref() != Ok("nested") {
        return;
    }
    let stdin = std::io::stdin();
    let mut lines = stdin.lock().lines();
    let mut next = || lines.next().expect("line").expect("read");
    assert_eq!(next(), "go");
    // This thread gets a cgroup namespace rooted at the container's cgroup.
    nix::sched::unshare(nix::sched::CloneFlags::CLONE_NEWCGROUP).expect("unshare cgroupns");
    println!("unshared");
    assert_eq!(next(), "in-leaf");
    let tmp = tempfile::tempdir().expect("tmp");
    premount::mount_cgroups(tmp.path(), Premount::Namespaced).expect("premount");
    // Replace the host's view with the namespaced one, as pivot_root would in a container.
    let target = Path::new("/sys/fs/cgroup");
    nix::mount::umount2(target, nix::mount::MntFlags::MNT_DETACH).expect("umount host view");
    nix::mount::mount(
        Some(&tmp.path().join("sys/fs/cgroup")),
        target,
        None::<&str>,
        nix::mount::MsFlags::MS_MOVE,
        None::<&str>,
    )
    .expect("move view");
    // A read-only view of the same namespace: visible, not writable.
    let ro = tempfile::tempdir().expect("tmp ro");
    let mounted = premount::mount_cgroups(ro.path(), Premount::ReadOnly).expect("premount ro");
    for m in mounted.iter().skip(1) {
        assert!(
            m.join("cgroup.procs").exists(),
            "{} not a cgroup mount",
            m.display()
        );
        let err = std::fs::create_dir(m.join("nope")).expect_err("read-only view is writable");
        assert_eq!(err.raw_os_error(), Some(libc::EROFS), "{}", m.display());
    }
    nix::mount::umount2(
        &ro.path().join("sys/fs/cgroup"),
        nix::mount::MntFlags::MNT_DETACH,
    )
    .expect("umount ro");
    let layout = cgroup::detect().expect("detect inside");
    let own = cgroup::own_paths().expect("own inside");
    for h in &own.hierarchies {
        assert_eq!(h.path, "/init", "{}", h.label());
        assert_eq!(h.mount_root, "/", "{}", h.label());
    }
    let child_plan = CgroupPlan {
        path: "child".into(),
        mode: layout.mode,
        controllers: vec![],
        limits: LimitPlan {
            pids: has_pids(&layout).then_some(5),
            ..Default::default()
        },
        delegate: false,
        init_leaf: None,
        premount: Premount::Namespaced,
    };
    let guard = cgroup::create_with(
        &layout,
        &child_plan,
        &CreateOptions {
            base: Base::OwnParent,
        },
    )
    .expect("nested create");
    for (label, dir) in guard.dirs() {
        let h = own
            .hierarchies
            .iter()
            .find(|h| h.label() == label)
            .expect("hierarchy");
        assert_eq!(
            dir,
            h.mount_point.join("child"),
            "{label}: sibling of the leaf"
        );
    }
    println!("created");
    assert_eq!(next(), "checked");
    drop(guard);
    for (label, dir) in cgroup::own_paths()
        .expect("own")
        .hierarchies
        .iter()
        .map(|h| (h.label(), h.mount_point.join("child")))
    {
        assert!(!dir.exists(), "{label}: {} left", dir.display());
    }
    println!("removed");
}

/// Whether the pids controller is in this view: a pure cgroup2 view of a hybrid host has no
/// controller that v1 holds, so the nested test sets its limits only where they can exist.
fn has_pids(layout: &lxnest::plan::host::CgroupLayout) -> bool {
    let pids = "pids".to_string();
    layout.v1_controllers.contains(&pids) || layout.unified_controllers.contains(&pids)
}

fn expect_line(out: &mut BufReader<ChildStdout>, want: &str) {
    let deadline = Instant::now() + support::PATIENCE;
    let mut line = String::new();
    while Instant::now() < deadline {
        line.clear();
        if out.read_line(&mut line).expect("read helper") == 0 {
            panic!("helper ended before {want:?}");
        }
        // libtest prints `test name ... ` without a newline before the helper's first line.
        if line.trim().ends_with(want) {
            return;
        }
    }
    panic!("no {want:?} from helper");
}

#[test]
fn root_nested_create_in_cgroup_namespace() {
    if support::root() {
        support::child::assert_ok(&support::child::run("nested_in_cgroup2", &[]));
    }
}

/// Child of `root_nested_create_in_cgroup_namespace`, with a cgroup2 mount (the init leaf
/// lives there).
fn nested_in_cgroup2() -> i32 {
    support::cgroup2::ensure_cgroup2();
    let layout = cgroup::detect().expect("detect");
    let mut p = plan(
        &unique(),
        LimitPlan {
            pids: has_pids(&layout).then_some(50),
            ..Default::default()
        },
    );
    p.delegate = true;
    p.init_leaf = Some("init".into());
    let guard = cgroup::create(&layout, &p).expect("create");
    assert!(!guard.leaf_dirs().is_empty(), "no init leaf on cgroup2");
    let mut cmd = Command::new(std::env::current_exe().expect("exe"));
    cmd.args([
        "--exact",
        "nested_helper_role",
        "--nocapture",
        "--test-threads=1",
    ])
    .env("LXNEST_CG_ROLE", "nested")
    .stdin(Stdio::piped())
    .stdout(Stdio::piped());
    in_private_mount_ns(&mut cmd);
    let mut child = cmd.spawn().expect("spawn helper");
    let pid = child.id() as i32;
    // Watchdog: a hung helper would block the reads below forever. It signals through a pidfd
    // taken while the child is unreaped: after the child is reaped the pidfd refers to nothing
    // (ESRCH), so the kill can never reach a process that reused the pid.
    // SAFETY: pidfd_open takes a pid and flags and returns a new descriptor or -1.
    let raw = unsafe { libc::syscall(libc::SYS_pidfd_open, pid, 0) };
    assert!(raw >= 0, "pidfd_open: {}", std::io::Error::last_os_error());
    // SAFETY: `raw` is a descriptor pidfd_open just returned, owned by nothing else.
    let pidfd =
        unsafe { <std::os::fd::OwnedFd as std::os::fd::FromRawFd>::from_raw_fd(raw as i32) };
    std::thread::spawn(move || {
        std::thread::sleep(support::PATIENCE);
        // SAFETY: pidfd_send_signal on a descriptor this thread owns; no pointers but null.
        unsafe {
            libc::syscall(
                libc::SYS_pidfd_send_signal,
                std::os::fd::AsRawFd::as_raw_fd(&pidfd),
                libc::SIGKILL,
                std::ptr::null::<libc::siginfo_t>(),
                0,
            )
        };
    });
    let mut out = BufReader::new(child.stdout.take().expect("stdout"));
    guard.add_task(pid).expect("add");
    let mut stdin = child.stdin.take().expect("stdin");
    stdin.write_all(b"go\n").expect("go");
    expect_line(&mut out, "unshared");
    guard.move_to_leaf(pid).expect("leaf");
    stdin.write_all(b"in-leaf\n").expect("in-leaf");
    expect_line(&mut out, "created");
    // Seen from the host: the nested cgroup is a sibling of the leaf, in every hierarchy.
    for (label, dir) in guard.dirs() {
        assert!(
            dir.join("child").is_dir(),
            "{label}: {} missing",
            dir.join("child").display()
        );
        assert!(dir.join("init").is_dir(), "{label}: leaf missing");
    }
    stdin.write_all(b"checked\n").expect("checked");
    expect_line(&mut out, "removed");
    let st = wait_timeout(&mut child, 20);
    assert!(st.success(), "helper failed: {st:?}");
    0
}

/// Helper role for `root_pure_cgroup2_view`: in a private mount namespace where only cgroup2 is
/// mounted at /sys/fs/cgroup, lxnest must see a unified host and work there alone.
#[test]
fn unified_helper_role() {
    if std::env::var("LXNEST_CG_ROLE").as_deref() != Ok("unified") {
        return;
    }
    let name = std::env::var("LXNEST_CG_NAME").expect("name");
    let target = Path::new("/sys/fs/cgroup");
    // The helper's mount namespace is already private (in_private_mount_ns).
    support::cgroup2::replace_with_cgroup2();
    let layout = cgroup::detect().expect("detect");
    assert_eq!(layout.mode, lxnest::plan::host::CgroupMode::Unified);
    assert!(layout.v1_controllers.is_empty());
    assert_eq!(layout.unified_mount.as_deref(), Some("/sys/fs/cgroup"));

    // A limit whose controller is not on this cgroup2 is refused before anything is created.
    let mut p = plan(
        &name,
        LimitPlan {
            memory: Some(1 << 30),
            ..Default::default()
        },
    );
    p.mode = layout.mode;
    let err = cgroup::create(&layout, &p).expect_err("memory is not on cgroup2 here");
    assert!(
        matches!(err, cgroup::CgroupError::ControllerUnavailable { .. }),
        "{err}"
    );
    assert!(!target.join(&name).exists());

    p.limits = LimitPlan::default();
    p.delegate = true;
    p.init_leaf = Some("init".into());
    let guard = cgroup::create(&layout, &p).expect("create");
    assert_eq!(
        guard.dirs(),
        vec![("unified".to_string(), target.join(&name))]
    );
    guard.delegate(100_000, 100_000).expect("delegate");
    let sc = std::fs::metadata(target.join(&name).join("cgroup.subtree_control")).expect("stat");
    assert_eq!(sc.uid(), 100_000);
    let mut child = waiting_sh("sleep 30");
    let pid = child.id() as i32;
    guard.add_task(pid).expect("add");
    guard.move_to_leaf(pid).expect("leaf");
    let seen = read(&PathBuf::from(format!("/proc/{pid}/cgroup")));
    let want = format!("0::/{name}/init");
    assert!(seen.lines().any(|l| l == want), "{want} not in {seen}");
    // The premounted view of a pure cgroup2 host is a single cgroup2 mount, no tmpfs.
    let root = tempfile::tempdir().expect("tmp");
    let mounted = premount::mount_cgroups(root.path(), Premount::ReadOnly).expect("premount");
    assert_eq!(mounted, vec![root.path().join("sys/fs/cgroup")]);
    assert!(root
        .path()
        .join("sys/fs/cgroup/cgroup.controllers")
        .exists());
    nix::mount::umount2(&mounted[0], nix::mount::MntFlags::MNT_DETACH).expect("umount view");
    drop(guard); // cgroup.kill, then rmdir
    let st = wait_timeout(&mut child, 10);
    assert!(!st.success());
    assert!(!target.join(&name).exists());
    println!("unified-ok");
}

#[test]
fn root_pure_cgroup2_view() {
    if !support::root() {
        return;
    }
    let layout = cgroup::detect().expect("detect");
    let name = unique();
    let mut cmd = Command::new(std::env::current_exe().expect("exe"));
    cmd.args([
        "--exact",
        "unified_helper_role",
        "--nocapture",
        "--test-threads=1",
    ])
    .env("LXNEST_CG_ROLE", "unified")
    .env("LXNEST_CG_NAME", &name)
    .stdout(Stdio::piped());
    in_private_mount_ns(&mut cmd);
    let mut child = cmd.spawn().expect("spawn helper");
    let st = wait_timeout(&mut child, 60);
    let (out, _) = output(&mut child);
    assert!(
        st.success() && out.contains("unified-ok"),
        "helper failed: {st:?}\n{out}"
    );
    // The helper checked the removal in its own view of the hierarchy; a host that mounts
    // cgroup2 itself is checked from outside too.
    if let Some(unified) = layout.unified_mount {
        assert!(
            !Path::new(&unified).join(&name).exists(),
            "left behind on the host"
        );
    }
}

/// The helper process gets a private mount namespace of its own (its cgroup mounts stay there).
fn in_private_mount_ns(cmd: &mut Command) {
    // SAFETY: only async-signal-safe syscalls run between fork and exec: unshare and mount.
    unsafe {
        cmd.pre_exec(|| {
            nix::sched::unshare(nix::sched::CloneFlags::CLONE_NEWNS)?;
            nix::mount::mount(
                None::<&str>,
                "/",
                None::<&str>,
                nix::mount::MsFlags::MS_REC | nix::mount::MsFlags::MS_PRIVATE,
                None::<&str>,
            )?;
            Ok(())
        });
    }
}
