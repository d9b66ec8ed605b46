//! Encrypted container roots against the real kernel: an ext4 image made with `mkfs.ext4 -O
//! encrypt` on a loop device (util-linux `losetup`), mounted in a temporary directory. Checks what
//! the kernel really does: names and contents unreadable once the key is removed, neither the
//! secret nor the name anywhere in the raw image, and the data back with the key or passphrase.
//! Needs root; every mount, loop device and image is undone by guards, also when a check fails.

use lxnest::crypt::fscrypt::{self, KeyStatus, LockOutcome};
use lxnest::crypt::{close_root, crypto_erase, open_root, CryptError, Key, Passphrase, Secret};
use lxnest::plan::model::{EncryptPlan, KdfPlan};
use lxnest::spec::model::{EncryptMethod, KeySource};
use nix::mount::{mount, umount2, MntFlags, MsFlags};
use std::path::{Path, PathBuf};
use std::process::Command;

const SECRET: &str = "lxnest-secret-contents-4f1d9c2a";
const NAME: &str = "lxnest-secret-name-b7e30a15";
const CONTROL: &str = "lxnest-plaintext-control-9d3e";

fn is_root() -> bool {
    nix::unistd::geteuid().is_root()
}

fn run(cmd: &str, args: &[&str]) -> String {
    let out = Command::new(cmd)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("{cmd}: {e}"));
    assert!(
        out.status.success(),
        "{cmd} {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// An ext4 image on a loop device, mounted. Fields drop in order: unmount, detach, delete.
struct Fs {
    mounted: Option<PathBuf>,
    device: String,
    image: PathBuf,
    mnt: PathBuf,
    _tmp: tempfile::TempDir,
}

impl Fs {
    fn new(encrypt: bool) -> Fs {
        let tmp = tempfile::tempdir().unwrap();
        let image = tmp.path().join("disk.img");
        std::fs::File::create(&image)
            .unwrap()
            .set_len(64 << 20)
            .unwrap();
        let mut args = vec!["-q", "-F", "-b", "4096", "-E", "nodiscard"];
        if encrypt {
            args.extend(["-O", "encrypt"]);
        }
        args.push(image.to_str().unwrap());
        run("mkfs.ext4", &args);
        let device = run("losetup", &["--find", "--show", image.to_str().unwrap()]);
        let mnt = tmp.path().join("mnt");
        std::fs::create_dir(&mnt).unwrap();
        let mut fs = Fs {
            mounted: None,
            device,
            image,
            mnt,
            _tmp: tmp,
        };
        fs.mount();
        fs
    }

    fn mount(&mut self) {
        mount(
            Some(self.device.as_str()),
            &self.mnt,
            Some("ext4"),
            MsFlags::MS_NOSUID | MsFlags::MS_NODEV,
            None::<&str>,
        )
        .unwrap_or_else(|e| panic!("mount {}: {e}", self.device));
        self.mounted = Some(self.mnt.clone());
    }

    fn unmount(&mut self) {
        if let Some(m) = self.mounted.take() {
            umount2(&m, MntFlags::empty())
                .unwrap_or_else(|e| panic!("umount {}: {e}", m.display()));
        }
    }

    /// The raw image bytes after everything reached it.
    fn raw_image(&mut self) -> Vec<u8> {
        self.unmount();
        nix::unistd::sync();
        std::fs::read(&self.image).unwrap()
    }
}

impl Drop for Fs {
    fn drop(&mut self) {
        if let Some(m) = self.mounted.take() {
            let _ = umount2(&m, MntFlags::MNT_DETACH);
        }
        let _ = Command::new("losetup").args(["-d", &self.device]).status();
    }
}

fn contains(hay: &[u8], needle: &str) -> bool {
    hay.windows(needle.len()).any(|w| w == needle.as_bytes())
}

/// Writes the secret file and a directory with the secret name from a child process (standing in
/// for a container's processes), so the test process never held the data in the directory.
fn write_from_child(root: &Path) {
    let status = Command::new("/bin/sh")
        .arg("-c")
        .arg(r#"i=0; while [ $i -lt 512 ]; do printf '%s\n' "$SECRET"; i=$((i+1)); done > "$ROOT/$NAME" && mkdir "$ROOT/$NAME.d" && sync"#)
        .env("SECRET", SECRET)
        .env("NAME", NAME)
        .env("ROOT", root)
        .status()
        .unwrap();
    assert!(status.success());
}

fn expected_contents() -> String {
    format!("{SECRET}\n").repeat(512)
}

fn key_status(root: &Path, id: lxnest::crypt::KeyId) -> KeyStatus {
    fscrypt::key_status(root, id).unwrap()
}

#[test]
fn crypt_root_lock_hides_names_and_contents_even_on_disk() {
    if !is_root() {
        eprintln!("skipped: needs root");
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

fn plan(fs: &Fs) -> EncryptPlan {
    let dir = fs.mnt.join("web/rootfs");
    EncryptPlan {
        method: EncryptMethod::Fscrypt,
        dir: dir.to_string_lossy().into_owned(),
        key: KeySource::Passphrase,
        policy: fscrypt::default_policy(),
        // Cheap costs: the test checks the flow, not Argon2's strength.
        kdf: KdfPlan {
            memory_kib: 8 * 1024,
            iterations: 1,
            parallelism: 1,
        },
        metadata: format!("{}.crypt.json", dir.display()),
    }
}

fn pass(p: &str) -> Secret {
    Secret::Passphrase(Passphrase::new(p.as_bytes().to_vec()).unwrap())
}

#[test]
fn crypt_root_passphrase_open_close_and_crypto_erase() {
    if !is_root() {
        eprintln!("skipped: needs root");
        return;
    }
    let mut fs = Fs::new(true);
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

    // The raw image holds neither secret while locked.
    let raw = fs.raw_image();
    assert!(!contains(&raw, SECRET) && !contains(&raw, NAME));
    fs.mount();

    // Crypto-erase while unlocked: the key goes for every user, the salt is destroyed, and the
    // old passphrase can no longer open the directory.
    let opened = open_root(&plan, pass("correct horse battery")).unwrap();
    let report = crypto_erase(&dir, &meta).unwrap();
    assert_eq!(report.key, Some((id, LockOutcome::Removed)));
    assert!(report.all_users);
    assert!(report.metadata_erased && !meta.exists());
    assert_eq!(key_status(&dir, id), KeyStatus::Absent);
    drop(opened);
    let e = open_root(&plan, pass("correct horse battery")).unwrap_err();
    assert!(matches!(e, CryptError::MetadataMissing { .. }), "{e}");
    assert!(e.to_string().contains("salt"), "{e}");
    // The ciphertext can be deleted without any key (what destroy does next).
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn crypt_root_key_file_plan_and_refusals() {
    if !is_root() {
        eprintln!("skipped: needs root");
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
    if !is_root() {
        eprintln!("skipped: needs root");
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

#[test]
fn crypt_root_forked_child_keeps_the_key_and_open_files_make_lock_incomplete() {
    if !is_root() {
        eprintln!("skipped: needs root");
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

fn lock_with_open_file(root: &Path, id: lxnest::crypt::KeyId, guard: lxnest::crypt::KeyGuard) {
    // A process of the container still holds a file when post-stop locks.
    let held = std::fs::File::open(root.join(NAME)).unwrap();
    assert_eq!(guard.lock().unwrap(), LockOutcome::FilesBusy);
    assert_eq!(key_status(root, id), KeyStatus::IncompletelyRemoved);
    drop(held);
    // Locking again once nothing is open completes the removal.
    assert_eq!(fscrypt::lock(root, id).unwrap(), LockOutcome::Removed);
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
    if !is_root() {
        eprintln!("skipped: needs root");
        return;
    }
    let fs = Fs::new(true);
    let root = fs.mnt.join("rootfs");
    std::fs::create_dir(&root).unwrap();
    let key = Key::generate().unwrap();
    let id = fscrypt::encrypt_new_dir(&root, &key).unwrap().key_id;
    let guard = fscrypt::unlock(&root, &key).unwrap();
    write_from_child(&root);
    assert_eq!(guard.lock().unwrap(), LockOutcome::Removed);

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
