//! Encrypted roots and processes, against the real kernel (needs root): a forked child's copy of
//! a key guard does not lock its parent's directory, files still open make a lock incomplete, and
//! a nested lxnest (root of a user namespace mapped to host uid 100000) can unlock and lock but
//! remove a key only for itself.

mod support;

mod crypt_fixture;

use crypt_fixture::*;
use lxnest::crypt::fscrypt::{self, KeyStatus, LockOutcome};
use lxnest::crypt::{CryptError, Key};
use std::path::Path;

#[test]
fn crypt_root_forked_child_keeps_the_key_and_open_files_make_lock_incomplete() {
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
    // A forked child (the launcher forks the container's init) that drops its copy of the
    // guard does not lock the directory under its parent.
    // SAFETY: the child only drops the guard (a getpid and a comparison) and exits at once.
    match unsafe { nix::unistd::fork() }.unwrap() {
        nix::unistd::ForkResult::Child => {
            drop(guard);
            // SAFETY: _exit ends the child without running the parent's atexit handlers.
            unsafe { libc::_exit(0) }
        }
        nix::unistd::ForkResult::Parent { child } => {
            nix::sys::wait::waitpid(child, None).unwrap();
            assert!(matches!(key_status(&root, id), KeyStatus::Present { .. }));
            assert_eq!(
                std::fs::read_to_string(root.join(NAME)).unwrap(),
                expected_contents()
            );
            lock_with_open_file(&root, id, guard);
        }
    }
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

    let (ready_r, ready_w) = nix::unistd::pipe().unwrap();
    let (go_r, go_w) = nix::unistd::pipe().unwrap();
    // SAFETY: the child only makes syscalls and small allocations (glibc's malloc is fork-safe),
    // then leaves with _exit.
    match unsafe { nix::unistd::fork() }.unwrap() {
        nix::unistd::ForkResult::Child => {
            let code = (|| {
                nix::sched::unshare(nix::sched::CloneFlags::CLONE_NEWUSER).ok()?;
                nix::unistd::write(&ready_w, b"u").ok()?;
                let mut b = [0u8; 1];
                nix::unistd::read(&go_r, &mut b).ok()?;
                let zero = nix::unistd::Uid::from_raw(0);
                nix::unistd::setresgid(0.into(), 0.into(), 0.into()).ok()?;
                nix::unistd::setresuid(zero, zero, zero).ok()?;
                Some(nested_child(&root, &key))
            })()
            .unwrap_or(0x40);
            // SAFETY: ends the child at once, without the parent's atexit handlers.
            unsafe { libc::_exit(code) }
        }
        nix::unistd::ForkResult::Parent { child } => {
            let mut b = [0u8; 1];
            nix::unistd::read(&ready_r, &mut b).unwrap();
            let pid = child.as_raw();
            std::fs::write(format!("/proc/{pid}/uid_map"), "0 100000 65536\n").unwrap();
            std::fs::write(format!("/proc/{pid}/setgroups"), "deny\n").unwrap();
            std::fs::write(format!("/proc/{pid}/gid_map"), "0 100000 65536\n").unwrap();
            nix::unistd::write(&go_w, b"g").unwrap();
            let status = nix::sys::wait::waitpid(child, None).unwrap();
            assert_eq!(
                status,
                nix::sys::wait::WaitStatus::Exited(child, 1 | 2 | 4 | 8 | 16)
            );
            assert_eq!(key_status(&root, id), KeyStatus::Absent);
        }
    }
}
