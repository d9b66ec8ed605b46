//! Issue 17, point 10, for an unprivileged user: `lxnest::api::destroy` of tarball containers
//! from several threads at once. Their trees hold files of the user's subordinate ids, which
//! the user removes as root of a user namespace with the container's map; that namespace's
//! first process is a clone whose child runs Rust code, so from a multi-threaded caller it must
//! come from an exec'd `lxnest __monitor`, never from the caller. Root makes the user and its
//! containers; the threaded caller is this test binary again ([`threaded_destroy_as_the_user`]),
//! run as the user. Needs root, busybox-static and uidmap.

mod support;

use std::os::unix::fs::PermissionsExt;
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use support::users::*;

/// The names to destroy, comma-separated, for the threaded caller.
const NAMES: &str = "LXNEST_TEST_DESTROY_NAMES";

#[test]
fn root_an_unprivileged_users_threaded_destroy_removes_its_tarball_trees() {
    let Some((_turn, d, bin, tarball)) = setup() else {
        return;
    };
    // One range of 65536 ids per container.
    let user = User::create("lxnest-thrd", d.path(), 65_536 * 4, &bin);
    let names: Vec<String> = (0..3).map(|i| format!("thrd{i}")).collect();
    for n in &names {
        let spec = spec(d.path(), n, &tarball);
        let o = user.lxnest(&["start", spec.to_str().unwrap()], PATH);
        assert!(o.status.success(), "{n}: {:?}", text(&o));
        assert!(user.tree(n).join("home/u").exists(), "{n}'s tree unpacked");
    }
    // This binary, where the user can run it.
    let me = d.path().join("threads-test");
    std::fs::copy(std::env::current_exe().unwrap(), &me).unwrap();
    std::fs::set_permissions(&me, std::fs::Permissions::from_mode(0o755)).unwrap();
    let started = Instant::now();
    let o = Command::new("timeout")
        .args([
            "-s", "KILL", "300", "runuser", "-u", user.name, "--", "env", "-i",
        ])
        .arg(format!("HOME={}", user.home.display()))
        .arg(format!("PATH={PATH}"))
        .arg(format!("LXNEST_BINARY={}", bin.display()))
        .arg(format!("{NAMES}={}", names.join(",")))
        // One malloc arena for every thread: the noise threads then keep the very lock a child
        // cloned from the caller needs (clone(2) does not run glibc's fork handlers, which
        // release the allocator's locks in a forked child).
        .arg("MALLOC_ARENA_MAX=1")
        .arg(&me)
        .args([
            "--exact",
            "threaded_destroy_as_the_user",
            "--ignored",
            "--nocapture",
        ])
        .current_dir("/")
        .output()
        .expect("runuser runs");
    let (out, err) = text(&o);
    assert!(
        o.status.success() && out.contains("1 passed"),
        "the threaded destroy failed or hung ({:?} after {:?}):\n{out}{err}",
        o.status,
        started.elapsed()
    );
    for n in &names {
        assert!(!user.tree(n).exists(), "{n}'s tree removed");
    }
    let (ls, _) = text(&user.lxnest(&["ls"], PATH));
    assert!(names.iter().all(|n| !ls.contains(n.as_str())), "{ls}");
}

/// Not a test of its own: the threaded caller that the root test above runs as the user. Every
/// container named in `LXNEST_TEST_DESTROY_NAMES` is destroyed from a thread of its own while
/// more threads than glibc has arenas allocate, so that a child cloned from this process would
/// find an allocator lock held.
#[test]
#[ignore = "run by root_an_unprivileged_users_threaded_destroy_removes_its_tarball_trees as its user"]
fn threaded_destroy_as_the_user() {
    let names: Vec<String> = std::env::var(NAMES)
        .expect("run by the root test")
        .split(',')
        .map(String::from)
        .collect();
    let state = lxnest::api::default_dir();
    let stop = Arc::new(AtomicBool::new(false));
    let noise: Vec<_> = (0..24)
        .map(|i| {
            let stop = stop.clone();
            std::thread::spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    // Small and large blocks: the large ones always take an arena's lock.
                    let v: Vec<Vec<u8>> = (0..16).map(|j| vec![0u8; 64 + 4096 * (i + j)]).collect();
                    std::hint::black_box(v);
                }
            })
        })
        .collect();
    let (tx, rx) = std::sync::mpsc::channel();
    for n in &names {
        let (tx, n, state) = (tx.clone(), n.clone(), state.clone());
        std::thread::spawn(move || {
            let r = lxnest::api::destroy(&state, &n, Duration::from_secs(2));
            let _ = tx.send((n, r.map_err(|e| e.chain())));
        });
    }
    let deadline = Instant::now() + Duration::from_secs(200);
    let mut failed = Vec::new();
    for _ in &names {
        match rx.recv_timeout(deadline.saturating_duration_since(Instant::now())) {
            Ok((_, Ok(()))) => {}
            Ok((n, Err(e))) => failed.push(format!("{n}: {e}")),
            Err(_) => {
                stop.store(true, Ordering::Relaxed);
                panic!("a destroy hung (no answer within 200 s); failed so far: {failed:?}");
            }
        }
    }
    stop.store(true, Ordering::Relaxed);
    for t in noise {
        let _ = t.join();
    }
    assert!(failed.is_empty(), "{failed:?}");
}
