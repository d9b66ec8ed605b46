//! The launcher's entry points: open (pre-start), close (post-stop or failed start) and
//! crypto-erase (destroy) an encrypted container root, from its [`EncryptPlan`].

use super::error::CryptError;
use super::fscrypt::{self, KeyGuard, LockOutcome, Policy};
use super::key::{KdfParams, Key, KeyId, Secret};
use super::meta::{self, Metadata};
use super::tty::read_secret;
use crate::plan::model::EncryptPlan;
use nix::errno::Errno;
use std::os::unix::fs::DirBuilderExt;
use std::path::{Path, PathBuf};

/// An unlocked root. Dropping it locks the root again (the key guard).
#[derive(Debug)]
pub struct Opened {
    /// The key in the kernel; drop or [`KeyGuard::lock`] it to lock.
    pub guard: KeyGuard,
    /// The directory's policy.
    pub policy: Policy,
    /// Whether this call encrypted a new (empty) directory.
    pub created: bool,
}

/// Pre-start: reads the key from the plan's source (terminal, stdin or file) and opens the root.
pub fn unlock_for_start(plan: &EncryptPlan) -> Result<Opened, CryptError> {
    open_root(plan, read_secret(&plan.key)?)
}

/// Opens the root with a secret already read. A missing or empty, unencrypted directory is
/// encrypted first (metadata written before the policy is set, so a passphrase's salt is never
/// lost); an encrypted one is checked against the key (wrong key, metadata mismatch) and
/// unlocked.
pub fn open_root(plan: &EncryptPlan, secret: Secret) -> Result<Opened, CryptError> {
    let dir = Path::new(&plan.dir);
    let made = !dir.exists();
    if made {
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o755)
            .create(dir)
            .map_err(|e| CryptError::io("create directory", dir, e))?;
    }
    let meta_path = Path::new(&plan.metadata);
    let meta_existed = meta_path.exists();
    let opened = open_dir_root(plan, dir, secret);
    // Leave nothing behind that this call made: the directory (empty, possibly encrypted) and
    // then the metadata written for it. A metadata file that was there before is never touched:
    // it may hold the only salt of a directory on a filesystem that is not mounted right now.
    if opened.is_err() && made && std::fs::remove_dir(dir).is_ok() && !meta_existed {
        let _ = meta::erase(meta_path);
    }
    opened
}

fn open_dir_root(plan: &EncryptPlan, dir: &Path, secret: Secret) -> Result<Opened, CryptError> {
    let meta_path = Path::new(&plan.metadata);
    let stored = meta::read(meta_path)?;
    match fscrypt::policy(dir)? {
        None => create(plan, dir, meta_path, secret),
        Some(policy) => {
            let key = match secret {
                Secret::Key(k) => k,
                Secret::Passphrase(p) => {
                    let m = stored.as_ref().ok_or_else(|| CryptError::MetadataMissing {
                        dir: dir.to_path_buf(),
                        metadata: meta_path.to_path_buf(),
                    })?;
                    let kdf = m.kdf.as_ref().ok_or_else(|| CryptError::Metadata {
                        path: meta_path.to_path_buf(),
                        message: "no passphrase salt: this directory was encrypted with a key, not a passphrase".into(),
                    })?;
                    Key::from_passphrase(&p, kdf)?
                }
            };
            if let Some(m) = &stored {
                if m.key_identifier != policy.key_id {
                    return Err(CryptError::MetadataMismatch {
                        metadata: meta_path.to_path_buf(),
                        dir: dir.to_path_buf(),
                        stored: m.key_identifier,
                        policy: policy.key_id,
                    });
                }
            }
            let guard = fscrypt::unlock(dir, &key)?;
            Ok(Opened {
                guard,
                policy,
                created: false,
            })
        }
    }
}

fn create(
    plan: &EncryptPlan,
    dir: &Path,
    meta_path: &Path,
    secret: Secret,
) -> Result<Opened, CryptError> {
    if let Some(entry) = std::fs::read_dir(dir)
        .map_err(|e| CryptError::io("read directory", dir, e))?
        .next()
    {
        let entry = entry.map_err(|e| CryptError::io("read directory", dir, e))?;
        return Err(CryptError::NotEmpty {
            dir: dir.to_path_buf(),
            entry: entry.file_name().to_string_lossy().into(),
        });
    }
    let (key, kdf) = match secret {
        Secret::Key(k) => (k, None),
        Secret::Passphrase(p) => {
            let kdf = KdfParams::new_random(&plan.kdf)?;
            (Key::from_passphrase(&p, &kdf)?, Some(kdf))
        }
    };
    meta::create(
        meta_path,
        &Metadata {
            format: meta::FORMAT,
            method: plan.method,
            dir: plan.dir.clone(),
            key_identifier: key.identifier(),
            key_source: plan.key.clone(),
            policy: plan.policy.clone(),
            kdf,
        },
    )?;
    let opened = fscrypt::encrypt_new_dir_with(dir, &key, &plan.policy).and_then(|policy| {
        Ok(Opened {
            guard: fscrypt::unlock(dir, &key)?,
            policy,
            created: true,
        })
    });
    if opened.is_err() && fscrypt::policy(dir).ok().flatten().is_none() {
        // The directory did not get encrypted: this metadata describes nothing.
        let _ = meta::erase(meta_path);
    }
    opened
}

/// The key identifier of an encrypted root: from its policy, or from its metadata when the
/// directory is gone or unreadable.
fn key_id_of(dir: &Path, meta_path: &Path) -> Result<Option<KeyId>, CryptError> {
    if dir.exists() {
        if let Some(p) = fscrypt::policy(dir)? {
            return Ok(Some(p.key_id));
        }
    }
    Ok(meta::read(meta_path)?.map(|m| m.key_identifier))
}

/// A path on the filesystem of the root, for the key ioctls.
fn on_fs(dir: &Path, meta_path: &Path) -> PathBuf {
    if dir.exists() {
        dir.to_path_buf()
    } else {
        meta_path
            .parent()
            .map_or_else(|| PathBuf::from("/"), Path::to_path_buf)
    }
}

/// Post-stop, or after a failed start, from a process that does not hold the [`Opened`] guard:
/// removes the root's key (this user's claim). `NotPresent` when it was already locked.
pub fn close_root(plan: &EncryptPlan) -> Result<LockOutcome, CryptError> {
    let (dir, meta_path) = (Path::new(&plan.dir), Path::new(&plan.metadata));
    match key_id_of(dir, meta_path)? {
        Some(id) => fscrypt::lock(&on_fs(dir, meta_path), id),
        None => Err(CryptError::NotEncrypted {
            dir: dir.to_path_buf(),
        }),
    }
}

/// What crypto-erase did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EraseReport {
    /// The key removed from the kernel and how, when one was known.
    pub key: Option<(KeyId, LockOutcome)>,
    /// Whether the key was removed for every user (false in a nested container, where only the
    /// caller's own claim can be removed).
    pub all_users: bool,
    /// Whether a metadata file (salt) was destroyed.
    pub metadata_erased: bool,
}

/// `destroy --crypto-erase`: removes the key from the kernel for every user and destroys the
/// metadata (the passphrase's salt), so the old passphrase can no longer recreate the key. The
/// ciphertext stays in `dir` for the caller to delete (deleting works without the key). A key
/// kept in a key file is the user's to destroy: lxnest never had a copy.
pub fn crypto_erase(dir: &Path, metadata: &Path) -> Result<EraseReport, CryptError> {
    let mut all_users = true;
    let key = match key_id_of(dir, metadata)? {
        Some(id) => {
            let fs = on_fs(dir, metadata);
            match fscrypt::lock_all_users(&fs, id) {
                // Without CAP_SYS_ADMIN in the initial user namespace (a nested lxnest), only
                // this user's claim can go; the salt is destroyed all the same.
                Err(CryptError::Ioctl {
                    errno: Errno::EACCES | Errno::EPERM,
                    ..
                }) => {
                    all_users = false;
                    Some((id, fscrypt::lock(&fs, id)?))
                }
                r => Some((id, r?)),
            }
        }
        None => None,
    };
    let metadata_erased = meta::erase(metadata)?;
    Ok(EraseReport {
        key,
        all_users,
        metadata_erased,
    })
}

/// For `lxnest check` and before a start, without touching any key: the directory's filesystem
/// (before the directory exists, its nearest existing parent's) must support fscrypt, and a key
/// file must be a readable regular file. Returns warnings (a key file others can read).
pub fn preflight(plan: &EncryptPlan) -> Result<Vec<String>, CryptError> {
    let mut probe = Path::new(&plan.dir);
    while !probe.exists() {
        probe = probe.parent().unwrap_or(Path::new("/"));
    }
    fscrypt::policy(probe)?;
    let mut warnings = Vec::new();
    if let crate::spec::model::KeySource::File(f) = &plan.key {
        use std::os::unix::fs::PermissionsExt;
        let path = Path::new(f);
        let md = std::fs::metadata(path).map_err(|e| CryptError::io("stat key file", path, e))?;
        if !md.is_file() {
            return Err(CryptError::BadKey {
                source_name: f.clone(),
                message: "not a regular file".into(),
            });
        }
        if md.permissions().mode() & 0o077 != 0 {
            warnings.push(format!(
                "key file {f} is readable by other users than its owner: chmod 600 {f}"
            ));
        }
    }
    Ok(warnings)
}
