//! Shared by the crypt root tests: an ext4 image on a loop device (util-linux `losetup`),
//! mounted in a temporary directory, undone by a guard; the secret data a child process writes;
//! a cheap passphrase plan.
#![allow(dead_code)]

use lxnest::crypt::fscrypt::{self, KeyStatus};
use lxnest::crypt::{Passphrase, Secret};
use lxnest::plan::model::{EncryptPlan, KdfPlan};
use lxnest::spec::model::{EncryptMethod, KeySource};
use nix::mount::{mount, umount2, MntFlags, MsFlags};
use std::path::{Path, PathBuf};
use std::process::Command;

pub const SECRET: &str = "lxnest-secret-contents-4f1d9c2a";
pub const NAME: &str = "lxnest-secret-name-b7e30a15";
pub const CONTROL: &str = "lxnest-plaintext-control-9d3e";

pub fn run(cmd: &str, args: &[&str]) -> String {
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
pub struct Fs {
    mounted: Option<PathBuf>,
    /// The loop device.
    pub device: String,
    image: PathBuf,
    /// Where the filesystem is mounted.
    pub mnt: PathBuf,
    _tmp: tempfile::TempDir,
}

impl Fs {
    pub fn new(encrypt: bool) -> Fs {
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

    pub fn mount(&mut self) {
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

    pub fn unmount(&mut self) {
        if let Some(m) = self.mounted.take() {
            umount2(&m, MntFlags::empty())
                .unwrap_or_else(|e| panic!("umount {}: {e}", m.display()));
        }
    }

    /// The raw image bytes after everything reached it.
    pub fn raw_image(&mut self) -> Vec<u8> {
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

pub fn contains(hay: &[u8], needle: &str) -> bool {
    hay.windows(needle.len()).any(|w| w == needle.as_bytes())
}

/// Writes the secret file and a directory with the secret name from a child process (standing in
/// for a container's processes), so the test process never held the data in the directory.
pub fn write_from_child(root: &Path) {
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

pub fn expected_contents() -> String {
    format!("{SECRET}\n").repeat(512)
}

pub fn key_status(root: &Path, id: lxnest::crypt::KeyId) -> KeyStatus {
    fscrypt::key_status(root, id).unwrap()
}

pub fn plan(fs: &Fs) -> EncryptPlan {
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

pub fn pass(p: &str) -> Secret {
    Secret::Passphrase(Passphrase::new(p.as_bytes().to_vec()).unwrap())
}
