//! Encrypted container roots against the real kernel: an ext4 image made with `mkfs.ext4 -O
//! encrypt` on a loop device (util-linux `losetup`), mounted in a temporary directory. Checks what
//! the kernel really does: names and contents unreadable once the key is removed, neither the
//! secret nor the name anywhere in the raw image, and the data back with the key or passphrase.
//! Needs root; every mount, loop device and image is undone by guards, also when a check fails.

mod support;

mod crypt_fixture;

use crypt_fixture::*;
use lxnest::crypt::fscrypt::{self, KeyStatus, LockOutcome};
use lxnest::crypt::{close_root, crypto_erase, open_root, CryptError, Key, Passphrase};
use lxnest::spec::model::KeySource;
use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

test_children!(claim_as_nobody);

/// Child: adds the key (128 hex digits on stdin) to the filesystem mounted at `LXNEST_TEST_MNT`
/// as uid/gid 65534, with the kernel's ioctl directly: a second user's claim on the key, such as
/// a container's unprivileged user could hold. lxnest's `unlock` refuses a key that is already
/// present, which is why this goes around it. Exit 0 once the kernel took the claim.
fn claim_as_nobody() -> i32 {
    let mut hex = String::new();
    std::io::stdin().read_line(&mut hex).unwrap();
    let raw: Vec<u8> = (0..hex.trim().len() / 2)
        .map(|i| u8::from_str_radix(&hex.trim()[2 * i..2 * i + 2], 16).unwrap())
        .collect();
    assert_eq!(raw.len(), 64, "a 512-bit key");
    let mnt = std::fs::File::open(support::child::param("LXNEST_TEST_MNT")).unwrap();
    // SAFETY: plain syscalls; setgroups reads an empty list.
    let dropped = unsafe {
        libc::setgroups(0, std::ptr::null()) == 0
            && libc::setgid(65534) == 0
            && libc::setuid(65534) == 0
    };
    assert!(
        dropped,
        "drop to 65534: {}",
        std::io::Error::last_os_error()
    );
    // struct fscrypt_add_key_arg: key_spec (type u32, reserved u32, 32 bytes of identifier,
    // filled in by the kernel), raw_size u32, key_id u32, 8 reserved u32, then the raw key.
    const FSCRYPT_KEY_SPEC_TYPE_IDENTIFIER: u32 = 2;
    let mut arg = vec![0u8; 80 + raw.len()];
    arg[0..4].copy_from_slice(&FSCRYPT_KEY_SPEC_TYPE_IDENTIFIER.to_ne_bytes());
    arg[40..44].copy_from_slice(&(raw.len() as u32).to_ne_bytes());
    arg[80..].copy_from_slice(&raw);
    // _IOWR('f', 23, struct fscrypt_add_key_arg): 80 bytes of fixed header.
    const FS_IOC_ADD_ENCRYPTION_KEY: libc::c_ulong = 0xc050_6617;
    // SAFETY: `arg` is a complete fscrypt_add_key_arg with its raw key, alive for the call; the
    // kernel writes only the identifier inside it.
    let r = unsafe {
        libc::ioctl(
            std::os::fd::AsRawFd::as_raw_fd(&mnt),
            FS_IOC_ADD_ENCRYPTION_KEY,
            arg.as_mut_ptr(),
        )
    };
    assert_eq!(
        r,
        0,
        "add key as 65534: {}",
        std::io::Error::last_os_error()
    );
    0
}

/// Runs [`claim_as_nobody`] for `key` on the filesystem mounted at `mnt`.
fn claim_key_as_nobody(mnt: &Path, key: &Key) {
    let mut child = support::child::command("claim_as_nobody")
        .env("LXNEST_TEST_MNT", mnt)
        .stdin(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    stdin.write_all(key.to_hex().as_bytes()).unwrap();
    drop(stdin);
    let out = child.wait_with_output().unwrap();
    support::child::assert_ok(&out);
}

#[test]
fn crypt_root_lock_hides_names_and_contents_even_on_disk() {
    if !support::root() {
        return;
    }
    let mut fs = Fs::new(true);
    std::fs::write(fs.mnt.join("control.txt"), CONTROL.repeat(64)).unwrap();
    let root = fs.mnt.join("rootfs");
    std::fs::create_dir(&root).unwrap();
    let key = Key::generate().unwrap();

    let policy = fscrypt::encrypt_new_dir(&root, &key).unwrap();
    assert_eq!(policy.key_id, key.identifier());
    assert_eq!(
        policy.describe(),
        format!(
            "v2 AES-256-XTS/AES-256-CTS pad 32, key {}",
            key.identifier()
        )
    );
    let st = fscrypt::status(&root).unwrap();
    assert_eq!(st.policy, Some(policy));
    assert_eq!(
        st.key,
        Some(KeyStatus::Absent),
        "encrypt_new_dir takes its temporary key away"
    );

    // The kernel derives the same identifier lxnest computed (unlock checks it).
    let guard = fscrypt::unlock(&root, &key).unwrap();
    assert!(matches!(
        key_status(&root, policy.key_id),
        KeyStatus::Present {
            added_by_self: true,
            ..
        }
    ));
    write_from_child(&root);
    assert_eq!(
        std::fs::read_to_string(root.join(NAME)).unwrap(),
        expected_contents()
    );
    // A second unlock of a present key is refused, not silently shared.
    let again = fscrypt::unlock(&root, &key).unwrap_err();
    assert!(
        matches!(again, CryptError::KeyAlreadyPresent { .. }),
        "{again}"
    );

    assert_eq!(guard.lock().unwrap(), LockOutcome::Removed);
    assert_eq!(key_status(&root, policy.key_id), KeyStatus::Absent);

    // Names: two entries, neither shows the plaintext name.
    let names: Vec<String> = std::fs::read_dir(&root)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names.len(), 2, "{names:?}");
    assert!(
        names
            .iter()
            .all(|n| !n.contains("lxnest") && !n.contains(NAME)),
        "{names:?}"
    );
    // Contents: the plaintext name is gone and the file under its encrypted name cannot be opened.
    assert_eq!(
        std::fs::File::open(root.join(NAME))
            .unwrap_err()
            .raw_os_error(),
        Some(libc::ENOENT)
    );
    let opened = names
        .iter()
        .map(|n| std::fs::read(root.join(n)))
        .find(|r| r.as_ref().err().and_then(|e| e.raw_os_error()) != Some(libc::EISDIR));
    let err = opened.expect("the file entry").unwrap_err();
    assert_eq!(err.raw_os_error(), Some(libc::ENOKEY), "{err}");

    // The raw image holds neither, while it does hold the plaintext control file.
    let raw = fs.raw_image();
    assert!(
        contains(&raw, CONTROL),
        "control marker must be found: the search works"
    );
    assert!(
        !contains(&raw, SECRET),
        "secret contents found in the raw image"
    );
    assert!(
        !contains(&raw, NAME),
        "secret file name found in the raw image"
    );

    // Back with the key; a wrong key is refused before the kernel sees it.
    fs.mount();
    let wrong = Key::generate().unwrap();
    let e = fscrypt::unlock(&root, &wrong).unwrap_err();
    assert!(matches!(e, CryptError::WrongKey { .. }), "{e}");
    assert!(e.to_string().contains("wrong key"), "{e}");
    assert_eq!(key_status(&root, wrong.identifier()), KeyStatus::Absent);
    let guard = fscrypt::unlock(&root, &key).unwrap();
    assert_eq!(
        std::fs::read_to_string(root.join(NAME)).unwrap(),
        expected_contents()
    );
    assert!(root.join(format!("{NAME}.d")).is_dir());
    drop(guard);
    assert_eq!(
        key_status(&root, policy.key_id),
        KeyStatus::Absent,
        "the guard locks on drop"
    );
    assert_eq!(
        fscrypt::lock(&root, policy.key_id).unwrap(),
        LockOutcome::NotPresent
    );
}

#[test]
fn crypt_root_passphrase_open_close_and_crypto_erase() {
    if !support::root() {
        return;
    }
    let mut fs = Fs::new(true);
    // uid 65534 reaches the mount point to add its claim below.
    for p in [fs.mnt.parent().unwrap(), fs.mnt.as_path()] {
        std::fs::set_permissions(p, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    let plan = plan(&fs);
    let (dir, meta) = (PathBuf::from(&plan.dir), PathBuf::from(&plan.metadata));

    // First start: the directory is created, encrypted, its salt stored, and unlocked.
    let opened = open_root(&plan, pass("correct horse battery")).unwrap();
    assert!(opened.created);
    write_from_child(&dir);
    let id = opened.guard.persist();
    // Post-stop from a process without the guard.
    assert_eq!(close_root(&plan).unwrap(), LockOutcome::Removed);
    assert_eq!(key_status(&dir, id), KeyStatus::Absent);

    // The metadata has the identifier and salt, never the key.
    let text = std::fs::read_to_string(&meta).unwrap();
    let stored = lxnest::crypt::meta::read(&meta).unwrap().unwrap();
    assert_eq!(stored.key_identifier, id);
    let kdf = stored.kdf.clone().expect("a passphrase stores its salt");
    let key = Key::from_passphrase(
        &Passphrase::new(b"correct horse battery".to_vec()).unwrap(),
        &kdf,
    )
    .unwrap();
    assert_eq!(key.identifier(), id);
    assert!(
        !text.contains(key.to_hex().trim()),
        "the key must not be in the metadata"
    );

    // Wrong passphrase: refused, nothing added to the kernel.
    let e = open_root(&plan, pass("correct horse battery!")).unwrap_err();
    assert!(matches!(e, CryptError::WrongKey { .. }), "{e}");

    // Right passphrase: the data is back; a concurrent second open is refused.
    let opened = open_root(&plan, pass("correct horse battery")).unwrap();
    assert!(!opened.created);
    assert_eq!(
        std::fs::read_to_string(dir.join(NAME)).unwrap(),
        expected_contents()
    );
    let e = open_root(&plan, pass("correct horse battery")).unwrap_err();
    assert!(matches!(e, CryptError::KeyAlreadyPresent { .. }), "{e}");
    drop(opened);
    assert_eq!(key_status(&dir, id), KeyStatus::Absent);

    // The raw image holds neither secret while locked; the salt (hex in the metadata file) is
    // on it, so the search after crypto-erase below can find one that survived.
    let salt = String::from(kdf.salt.clone());
    let raw = fs.raw_image();
    assert!(!contains(&raw, SECRET) && !contains(&raw, NAME));
    assert!(
        contains(&raw, &salt),
        "the salt is on the disk before erase"
    );
    fs.mount();

    // Crypto-erase while unlocked and while a second user (uid 65534) holds a claim of its own:
    // the key goes for every user, the salt is destroyed, and the old passphrase can no longer
    // open the directory.
    let opened = open_root(&plan, pass("correct horse battery")).unwrap();
    claim_key_as_nobody(&fs.mnt, &key);
    assert!(
        matches!(key_status(&dir, id), KeyStatus::Present { users: 2, .. }),
        "{:?}",
        key_status(&dir, id)
    );
    let report = crypto_erase(&dir, &meta).unwrap();
    assert_eq!(report.key, Some((id, LockOutcome::Removed)));
    assert!(report.all_users);
    assert!(report.metadata_erased && !meta.exists());
    assert_eq!(key_status(&dir, id), KeyStatus::Absent);
    drop(opened);
    // The kernel itself has no key left: names are ciphertext and every file refuses to open.
    let entries: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap())
        .collect();
    assert!(!entries.is_empty(), "the ciphertext is still there");
    for e in &entries {
        assert_ne!(e.file_name().to_string_lossy(), NAME, "a name in plaintext");
        if e.file_type().unwrap().is_file() {
            let err = std::fs::File::open(e.path()).unwrap_err();
            assert_eq!(err.raw_os_error(), Some(libc::ENOKEY), "{err}");
        }
    }
    drop(entries); // they hold the directory open, which would keep the filesystem busy
    let e = open_root(&plan, pass("correct horse battery")).unwrap_err();
    assert!(matches!(e, CryptError::MetadataMissing { .. }), "{e}");
    assert!(e.to_string().contains("salt"), "{e}");
    // Nothing on the medium leads back to the key: the salt's blocks were overwritten before
    // the metadata file was unlinked, and the plaintext never reached the disk.
    let raw = fs.raw_image();
    assert!(!contains(&raw, &salt), "the salt survived on the disk");
    assert!(!contains(&raw, SECRET) && !contains(&raw, NAME));
    fs.mount();
    // The ciphertext can be deleted without any key (what destroy does next).
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn crypt_root_key_file_plan_and_refusals() {
    if !support::root() {
        return;
    }
    let fs = Fs::new(true);
    // A key file in hex, read through the plan's key source.
    let key = Key::generate().unwrap();
    let key_file = fs.mnt.join("web.key");
    std::fs::write(&key_file, key.to_hex().as_bytes()).unwrap();
    let mut p = plan(&fs);
    p.key = KeySource::File(key_file.to_string_lossy().into_owned());
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&key_file, std::fs::Permissions::from_mode(0o644)).unwrap();
    let warnings = lxnest::crypt::preflight(&p).unwrap();
    assert!(
        warnings.len() == 1 && warnings[0].contains("chmod 600"),
        "{warnings:?}"
    );
    std::fs::set_permissions(&key_file, std::fs::Permissions::from_mode(0o600)).unwrap();
    assert_eq!(lxnest::crypt::preflight(&p).unwrap(), Vec::<String>::new());
    let opened = lxnest::crypt::unlock_for_start(&p).unwrap();
    assert!(opened.created && opened.policy.key_id == key.identifier());
    let stored = lxnest::crypt::meta::read(Path::new(&p.metadata))
        .unwrap()
        .unwrap();
    assert_eq!(stored.kdf, None);
    drop(opened);
    // A passphrase for a key-file directory says so.
    let e = open_root(&p, pass("anything")).unwrap_err();
    assert!(
        e.to_string()
            .contains("encrypted with a key, not a passphrase"),
        "{e}"
    );

    // A directory with something in it is not encrypted.
    let full = fs.mnt.join("full");
    std::fs::create_dir_all(full.join("etc")).unwrap();
    let e = fscrypt::encrypt_new_dir(&full, &key).unwrap_err();
    assert!(
        matches!(e, CryptError::NotEmpty { ref entry, .. } if entry == "etc"),
        "{e}"
    );
    assert_eq!(fscrypt::status(&full).unwrap().policy, None);

    // Already encrypted with another key.
    let other = Key::generate().unwrap();
    let e = fscrypt::encrypt_new_dir(Path::new(&p.dir), &other).unwrap_err();
    assert!(matches!(e, CryptError::AlreadyEncrypted { .. }), "{e}");
}

#[test]
fn crypt_root_ext4_without_encrypt_feature_says_tune2fs() {
    if !support::root() {
        return;
    }
    let fs = Fs::new(false);
    // The check before a start finds it without a key, from the parent of a missing directory.
    let e = lxnest::crypt::preflight(&plan(&fs)).unwrap_err();
    assert!(matches!(e, CryptError::NotSupported { .. }), "{e}");
    // A start on it leaves nothing behind.
    let e = open_root(&plan(&fs), pass("x")).unwrap_err();
    assert!(matches!(e, CryptError::NotSupported { .. }), "{e}");
    assert!(!fs.mnt.join("web/rootfs").exists() && !fs.mnt.join("web/rootfs.crypt.json").exists());
    let dir = fs.mnt.join("rootfs");
    std::fs::create_dir(&dir).unwrap();
    let e = fscrypt::encrypt_new_dir(&dir, &Key::generate().unwrap()).unwrap_err();
    let text = e.to_string();
    assert!(matches!(e, CryptError::NotSupported { .. }), "{text}");
    assert!(
        text.contains(&format!("tune2fs -O encrypt {}", fs.device)),
        "{text}"
    );
}
