//! Encrypted roots and processes, against the real kernel (needs root): a forked child's copy of
//! a key guard does not lock its parent's directory, files still open make a lock incomplete, and
//! a nested lxnest (root of a user namespace mapped to host uid 100000) can unlock and lock but
//! remove a key only for itself.
//!
//! What needs a fork or a new user namespace runs in a child process that is this test binary
//! again (tests/support/child.rs), single-threaded, so it may fork and unshare without the
//! hazards of forking the threaded test harness.

mod support;

mod crypt_fixture;

use crypt_fixture::*;
use lxnest::crypt::fscrypt::{self, KeyStatus, LockOutcome};
use lxnest::crypt::{CryptError, Key};
use std::io::{BufRead, Write};
use std::path::Path;

test_children!(forked_guard, nested);

/// Child (the whole test, single-threaded so that it may fork): a forked copy of a key guard
/// that is dropped does not lock the directory under its owner; files still open make a lock
/// incomplete.
fn forked_guard() -> i32 {
    let fs = Fs::new(true);
    let root = fs.mnt.join("rootfs");
    std::fs::create_dir(&root).unwrap();
    let key = Key::generate().unwrap();
    let id = fscrypt::encrypt_new_dir(&root, &key).unwrap().key_id;
    let guard = fscrypt::unlock(&root, &key).unwrap();
    write_from_child(&root);
    // A forked child (the launcher forks the container's init) that drops its copy of the
    // guard does not lock the directory under its parent.
    // SAFETY: this process is single-threaded (a test child started before the harness), so
    // the forked copy may run anything; it drops the guard and leaves without unwinding.
    match unsafe { nix::unistd::fork() }.unwrap() {
        nix::unistd::ForkResult::Child => {
            drop(guard);
            // SAFETY: _exit ends the forked copy without running its parent's exit handlers.
            unsafe { libc::_exit(0) }
        }
        nix::unistd::ForkResult::Parent { child } => {
            let status = nix::sys::wait::waitpid(child, None).unwrap();
            assert_eq!(status, nix::sys::wait::WaitStatus::Exited(child, 0));
            assert!(matches!(key_status(&root, id), KeyStatus::Present { .. }));
            assert_eq!(
                std::fs::read_to_string(root.join(NAME)).unwrap(),
                expected_contents()
            );
            lock_with_open_file(&root, id, guard);
        }
    }
    0
}

#[test]
fn crypt_root_forked_child_keeps_the_key_and_open_files_make_lock_incomplete() {
    if !support::root() {
        return;
    }
    support::child::assert_ok(&support::child::run("forked_guard", &[]));
}

/// Repeats a removal that reported busy while the kernel still evicts the inodes of files just
/// closed (or of a writer that just exited); eviction has no event to wait on, so this polls
/// with support's generous deadline instead of assuming it takes under a second.
fn until_removed(root: &Path, id: lxnest::crypt::KeyId, mut outcome: LockOutcome) -> LockOutcome {
    support::wait_until(|| {
        if outcome == LockOutcome::FilesBusy {
            nix::unistd::sync();
            outcome = fscrypt::lock(root, id).unwrap();
        }
        outcome != LockOutcome::FilesBusy
    });
    outcome
}

fn lock_with_open_file(root: &Path, id: lxnest::crypt::KeyId, guard: lxnest::crypt::KeyGuard) {
    // A process of the container still holds a file when post-stop locks.
    let held = std::fs::File::open(root.join(NAME)).unwrap();
    assert_eq!(guard.lock().unwrap(), LockOutcome::FilesBusy);
    assert_eq!(key_status(root, id), KeyStatus::IncompletelyRemoved);
    drop(held);
    // Locking again once nothing is open completes the removal.
    let again = fscrypt::lock(root, id).unwrap();
    assert_eq!(until_removed(root, id, again), LockOutcome::Removed);
    assert_eq!(key_status(root, id), KeyStatus::Absent);
    let e = std::fs::read(root.join(NAME)).unwrap_err();
    assert_eq!(e.raw_os_error(), Some(libc::ENOENT), "{e}");
}

/// What a nested lxnest (root of a level-1 container: a user namespace whose root is host uid
/// 100000) can do on a filesystem its host mounted: the result of each step as an exit-code bit.
fn nested_child(root: &Path, key: &Key) -> i32 {
    let mut bits = 0;
    let Ok(guard) = fscrypt::unlock(root, key) else {
        return 0x80;
    };
    bits |= 1;
    if std::fs::read_to_string(root.join(NAME)).ok() == Some(expected_contents()) {
        bits |= 2;
    }
    let id = guard.persist();
    match fscrypt::lock_all_users(root, id) {
        Err(CryptError::Ioctl {
            errno: nix::errno::Errno::EACCES,
            ..
        }) => bits |= 4,
        other => eprintln!("lock_all_users: {other:?}"),
    }
    if fscrypt::lock(root, id).ok() == Some(LockOutcome::Removed) {
        bits |= 8;
    }
    // Crypto-erase falls back to this user's claim.
    let Ok(guard) = fscrypt::unlock(root, key) else {
        return bits;
    };
    let id = guard.persist();
    match lxnest::crypt::crypto_erase(root, &root.with_extension("none.json")) {
        Ok(r) if r.key == Some((id, LockOutcome::Removed)) && !r.all_users => bits |= 16,
        other => eprintln!("crypto_erase: {other:?}"),
    }
    bits
}

#[test]
fn crypt_root_nested_user_namespace_unlocks_and_erases_only_its_own_claim() {
    if !support::root() {
        return;
    }
    let fs = Fs::new(true);
    let root = fs.mnt.join("rootfs");
    std::fs::create_dir(&root).unwrap();
    let key = Key::generate().unwrap();
    let id = fscrypt::encrypt_new_dir(&root, &key).unwrap().key_id;
    let guard = fscrypt::unlock(&root, &key).unwrap();
    write_from_child(&root);
    // The writer has exited, but the kernel may still hold its inode for a moment: then the
    // first removal reports busy and a later one completes it. It must complete.
    let first = guard.lock().unwrap();
    assert_eq!(until_removed(&root, id, first), LockOutcome::Removed);

    // The child gets the key on stdin, says "u" once it is in a new user namespace, waits for
    // "g" (its maps written), becomes that namespace's root and reports bits as its exit code.
    let mut child = support::child::command("nested")
        .env("LXNEST_TEST_ROOT", &root)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("start the nested child");
    let mut to_child = child.stdin.take().expect("stdin");
    to_child.write_all(key.to_hex().as_bytes()).unwrap();
    let mut from_child = std::io::BufReader::new(child.stdout.take().expect("stdout"));
    let mut line = String::new();
    from_child.read_line(&mut line).unwrap();
    assert_eq!(line, "u\n", "the child could not make a user namespace");
    let pid = child.id();
    std::fs::write(format!("/proc/{pid}/uid_map"), "0 100000 65536\n").unwrap();
    std::fs::write(format!("/proc/{pid}/setgroups"), "deny\n").unwrap();
    std::fs::write(format!("/proc/{pid}/gid_map"), "0 100000 65536\n").unwrap();
    to_child.write_all(b"g\n").unwrap();
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(1 | 2 | 4 | 8 | 16), "{status:?}");
    assert_eq!(key_status(&root, id), KeyStatus::Absent);
}

/// Child: reads the key from stdin, enters a new user namespace, and once its parent mapped it
/// to host uid 100000 runs [`nested_child`] as its root; the bits are the exit code.
fn nested() -> i32 {
    let mut stdin = std::io::stdin().lock();
    let mut hex = String::new();
    stdin.read_line(&mut hex).unwrap();
    let key = Key::from_encoded(hex.as_bytes(), "stdin").unwrap();
    let root = std::path::PathBuf::from(support::child::param("LXNEST_TEST_ROOT"));
    (|| {
        nix::sched::unshare(nix::sched::CloneFlags::CLONE_NEWUSER).ok()?;
        println!("u");
        std::io::stdout().flush().ok()?;
        let mut go = String::new();
        stdin.read_line(&mut go).ok()?;
        let zero = nix::unistd::Uid::from_raw(0);
        nix::unistd::setresgid(0.into(), 0.into(), 0.into()).ok()?;
        nix::unistd::setresuid(zero, zero, zero).ok()?;
        Some(nested_child(&root, &key))
    })()
    .unwrap_or(0x40)
}
