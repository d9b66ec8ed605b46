//! The kernel's native file encryption (fscrypt, policy v2) through its ioctls: encrypt an empty
//! directory, add a key (unlock), remove it (lock), and read the state. Keys are named by the
//! kernel-derived v2 key identifier.
//!
//! Keys are added to and removed from the filesystem, not to a directory: lxnest calls the key
//! ioctls on the root of the mount that holds the directory (the "anchor"), never on an encrypted
//! directory, because an open encrypted inode would keep the key "in use" and make removal
//! incomplete.

use super::error::CryptError;
use super::key::{Key, KeyId};
pub use super::policy::{default_policy, Policy};
use super::support::not_supported;
use super::sys;
use crate::plan::model::FscryptPolicyPlan;
use nix::errno::Errno;
use nix::fcntl::{open, OFlag};
use nix::sys::stat::Mode;
use std::os::fd::{AsRawFd, OwnedFd};
use std::path::{Path, PathBuf};

/// Whether a key is in the filesystem's keyring.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyStatus {
    /// Not added: the directory is locked.
    Absent,
    /// Added: the directory is unlocked.
    Present {
        /// The calling user holds one of the claims.
        added_by_self: bool,
        /// Number of users holding a claim.
        users: u32,
    },
    /// Removed while files were open; those stay readable until closed.
    IncompletelyRemoved,
}

/// What removing a key did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LockOutcome {
    /// The key is gone and every cached plaintext inode was evicted.
    Removed,
    /// The key secret is wiped but files still open keep working until closed; removing again
    /// after they are closed completes it.
    FilesBusy,
    /// Only this user's claim went away; other users still hold the key.
    OtherUsers,
    /// The key was not present (or not claimed by this user): nothing to do.
    NotPresent,
}

/// A directory's encryption state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Status {
    /// Its policy, `None` when it is not encrypted.
    pub policy: Option<Policy>,
    /// Whether its key is present, for an encrypted directory.
    pub key: Option<KeyStatus>,
}

/// A key added to a filesystem. Dropping the guard removes the key (this user's claim) unless it
/// was [`persist`](KeyGuard::persist)ed, so an error path locks the directory by construction.
#[derive(Debug)]
pub struct KeyGuard {
    anchor: OwnedFd,
    anchor_path: PathBuf,
    id: KeyId,
    armed: bool,
    /// The process that added the key: a forked child that unwinds must not lock the directory
    /// under the container that its parent still runs.
    owner: nix::unistd::Pid,
}

impl KeyGuard {
    /// The key's identifier.
    pub fn id(&self) -> KeyId {
        self.id
    }

    /// Keeps the key in the kernel after the guard is gone (to be removed later by [`lock`]).
    pub fn persist(mut self) -> KeyId {
        self.armed = false;
        self.id
    }

    /// Removes the key now and says how completely.
    pub fn lock(mut self) -> Result<LockOutcome, CryptError> {
        self.armed = false;
        remove_key(&self.anchor, &self.anchor_path, self.id, false)
    }
}

impl Drop for KeyGuard {
    fn drop(&mut self) {
        if self.armed && nix::unistd::getpid() == self.owner {
            match remove_key(&self.anchor, &self.anchor_path, self.id, false) {
                Ok(LockOutcome::Removed | LockOutcome::NotPresent) => {}
                Ok(o) => {
                    tracing::warn!(key = %self.id, outcome = ?o, "fscrypt key removal incomplete")
                }
                Err(e) => tracing::warn!(key = %self.id, error = %e, "fscrypt key removal failed"),
            }
        }
    }
}

fn open_dir(path: &Path) -> Result<OwnedFd, CryptError> {
    open(
        path,
        OFlag::O_RDONLY | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC,
        Mode::empty(),
    )
    .map_err(|e| CryptError::io("open", path, e.into()))
}

/// Opens the anchor for `path`: its highest ancestor on the same filesystem (same st_dev), which
/// is the root of the mount in this process's view and, short of an encrypted mount root, not
/// encrypted itself.
fn open_anchor(path: &Path) -> Result<(OwnedFd, PathBuf), CryptError> {
    use std::os::unix::fs::MetadataExt;
    let canon = std::fs::canonicalize(path).map_err(|e| CryptError::io("resolve", path, e))?;
    let dev = std::fs::metadata(&canon)
        .map_err(|e| CryptError::io("stat", &canon, e))?
        .dev();
    let mut anchor = canon;
    while let Some(parent) = anchor.parent() {
        if std::fs::metadata(parent).map(|m| m.dev()).ok() != Some(dev) {
            break;
        }
        anchor = parent.to_path_buf();
    }
    Ok((open_dir(&anchor)?, anchor))
}

fn unsupported_or(op: &'static str, path: &Path, e: Errno) -> CryptError {
    match e {
        // ENOTTY: the filesystem has no fscrypt ioctls at all (tmpfs, overlayfs, ...);
        // EOPNOTSUPP: it has them but the feature is off (ext4 without `encrypt`).
        Errno::ENOTTY | Errno::EOPNOTSUPP => not_supported(path),
        e => CryptError::ioctl(op, path, e),
    }
}

fn read_policy(fd: &OwnedFd, path: &Path) -> Result<Option<Policy>, CryptError> {
    let mut arg = sys::GetPolicyExArg {
        policy_size: std::mem::size_of::<sys::PolicyV2>() as u64,
        ..Default::default()
    };
    // SAFETY: `fd` is an open descriptor and `arg` a properly laid out, writable
    // fscrypt_get_policy_ex_arg whose policy_size says how much the kernel may write.
    match unsafe { sys::get_encryption_policy_ex(fd.as_raw_fd(), &mut arg) } {
        Ok(_) => {}
        Err(Errno::ENODATA) => return Ok(None),
        Err(e) => return Err(unsupported_or("FS_IOC_GET_ENCRYPTION_POLICY_EX", path, e)),
    }
    let p = arg.policy;
    if p[0] != sys::POLICY_V2 {
        return Err(CryptError::UnsupportedPolicy {
            dir: path.to_path_buf(),
            detail: format!("policy version byte {} (lxnest uses v2 only)", p[0]),
        });
    }
    let mut id = [0u8; sys::KEY_IDENTIFIER_SIZE];
    id.copy_from_slice(&p[8..24]);
    Ok(Some(Policy {
        contents_mode: p[1],
        filenames_mode: p[2],
        flags: p[3],
        key_id: KeyId(id),
    }))
}

fn key_status_at(fd: &OwnedFd, path: &Path, id: KeyId) -> Result<KeyStatus, CryptError> {
    let mut arg = sys::KeyStatusArg {
        key_spec: sys::KeySpecifier::identifier(&id.0),
        ..Default::default()
    };
    // SAFETY: `fd` is open and `arg` is a zeroed fscrypt_get_key_status_arg with a valid
    // identifier specifier; the kernel writes only its output fields.
    unsafe { sys::get_encryption_key_status(fd.as_raw_fd(), &mut arg) }
        .map_err(|e| unsupported_or("FS_IOC_GET_ENCRYPTION_KEY_STATUS", path, e))?;
    Ok(match arg.status {
        sys::KEY_STATUS_PRESENT => KeyStatus::Present {
            added_by_self: arg.status_flags & sys::KEY_STATUS_FLAG_ADDED_BY_SELF != 0,
            users: arg.user_count,
        },
        sys::KEY_STATUS_INCOMPLETELY_REMOVED => KeyStatus::IncompletelyRemoved,
        _ => KeyStatus::Absent,
    })
}

fn add_key(fd: &OwnedFd, path: &Path, key: &Key) -> Result<KeyId, CryptError> {
    let mut buf = sys::AddKeyBuf {
        arg: sys::AddKeyArg {
            key_spec: sys::KeySpecifier {
                kind: sys::KEY_SPEC_TYPE_IDENTIFIER,
                ..Default::default()
            },
            raw_size: sys::MAX_KEY_SIZE as u32,
            ..Default::default()
        },
        raw: *key.raw(),
    };
    // SAFETY: `buf` is the fscrypt_add_key_arg header immediately followed by `raw_size` key
    // bytes, in one #[repr(C)] value that outlives the call; the kernel writes back only the
    // identifier in the header. `buf` wipes its key bytes when dropped.
    unsafe { sys::add_encryption_key(fd.as_raw_fd(), &mut buf) }
        .map_err(|e| unsupported_or("FS_IOC_ADD_ENCRYPTION_KEY", path, e))?;
    Ok(KeyId(buf.arg.key_spec.id()))
}

fn remove_key(
    fd: &OwnedFd,
    path: &Path,
    id: KeyId,
    all_users: bool,
) -> Result<LockOutcome, CryptError> {
    let mut arg = sys::RemoveKeyArg {
        key_spec: sys::KeySpecifier::identifier(&id.0),
        ..Default::default()
    };
    // SAFETY: `fd` is open and `arg` is a zeroed fscrypt_remove_key_arg naming the key by
    // identifier; the kernel writes only removal_status_flags.
    let r = unsafe {
        if all_users {
            sys::remove_encryption_key_all_users(fd.as_raw_fd(), &mut arg)
        } else {
            sys::remove_encryption_key(fd.as_raw_fd(), &mut arg)
        }
    };
    let op = if all_users {
        "FS_IOC_REMOVE_ENCRYPTION_KEY_ALL_USERS"
    } else {
        "FS_IOC_REMOVE_ENCRYPTION_KEY"
    };
    match r {
        Ok(_) if arg.removal_status_flags & sys::REMOVAL_STATUS_FLAG_FILES_BUSY != 0 => {
            Ok(LockOutcome::FilesBusy)
        }
        Ok(_) if arg.removal_status_flags & sys::REMOVAL_STATUS_FLAG_OTHER_USERS != 0 => {
            Ok(LockOutcome::OtherUsers)
        }
        Ok(_) => Ok(LockOutcome::Removed),
        Err(Errno::ENOKEY) => Ok(LockOutcome::NotPresent),
        Err(e) => Err(unsupported_or(op, path, e)),
    }
}

/// The policy of `dir`, `None` when it is not encrypted.
pub fn policy(dir: &Path) -> Result<Option<Policy>, CryptError> {
    read_policy(&open_dir(dir)?, dir)
}

/// Encrypts `dir` (which must be empty) with `key` and the default policy ([`default_policy`]).
/// Encrypting a directory that already has exactly this policy is a no-op.
pub fn encrypt_new_dir(dir: &Path, key: &Key) -> Result<Policy, CryptError> {
    encrypt_new_dir_with(dir, key, &default_policy())
}

/// Encrypts `dir` (which must be empty) with `key` and the given policy.
pub fn encrypt_new_dir_with(
    dir: &Path,
    key: &Key,
    plan: &FscryptPolicyPlan,
) -> Result<Policy, CryptError> {
    let want = Policy::from_plan(plan, key.identifier()).map_err(|detail| {
        CryptError::UnsupportedPolicy {
            dir: dir.to_path_buf(),
            detail,
        }
    })?;
    {
        let fd = open_dir(dir)?;
        match read_policy(&fd, dir)? {
            Some(have) if have == want => return Ok(have),
            Some(have) => {
                return Err(CryptError::AlreadyEncrypted {
                    dir: dir.to_path_buf(),
                    detail: have.describe(),
                })
            }
            None => {}
        }
    }
    let first = std::fs::read_dir(dir)
        .map_err(|e| CryptError::io("read directory", dir, e))?
        .next()
        .transpose()
        .map_err(|e| CryptError::io("read directory", dir, e))?;
    if let Some(entry) = first {
        return Err(CryptError::NotEmpty {
            dir: dir.to_path_buf(),
            entry: entry.file_name().to_string_lossy().into(),
        });
    }
    // A v2 policy can only be set by a user who has added its key; add it for the moment unless
    // it is already there, and take it away again afterwards (the guard).
    let (anchor, anchor_path) = open_anchor(dir)?;
    let _temporary = match key_status_at(&anchor, &anchor_path, want.key_id)? {
        KeyStatus::Present {
            added_by_self: true,
            ..
        } => None,
        _ => Some(add_checked(anchor, anchor_path, key)?),
    };
    let fd = open_dir(dir)?;
    let sys_policy = want.to_sys();
    // SAFETY: `fd` is an open directory and `sys_policy` a complete fscrypt_policy_v2 that the
    // kernel only reads.
    let r = unsafe { sys::set_encryption_policy(fd.as_raw_fd(), &sys_policy) };
    // Close the directory before the guard removes the key, so the key is not "in use".
    drop(fd);
    match r {
        Ok(_) => Ok(want),
        Err(Errno::ENOTEMPTY) => Err(CryptError::NotEmpty {
            dir: dir.to_path_buf(),
            entry: "an entry created meanwhile".into(),
        }),
        Err(Errno::EEXIST) => Err(CryptError::AlreadyEncrypted {
            dir: dir.to_path_buf(),
            detail: "with another policy".into(),
        }),
        Err(e) => Err(unsupported_or("FS_IOC_SET_ENCRYPTION_POLICY", dir, e)),
    }
}

/// Adds `key` and checks that the kernel derived the identifier lxnest expects.
fn add_checked(anchor: OwnedFd, anchor_path: PathBuf, key: &Key) -> Result<KeyGuard, CryptError> {
    let ours = key.identifier();
    let kernel = add_key(&anchor, &anchor_path, key)?;
    let guard = KeyGuard {
        anchor,
        anchor_path,
        id: kernel,
        armed: true,
        owner: nix::unistd::getpid(),
    };
    if kernel != ours {
        return Err(CryptError::IdentifierMismatch {
            path: guard.anchor_path.clone(),
            kernel,
            ours,
        });
    }
    Ok(guard)
}

/// Adds `key` to the filesystem holding `dir_or_mount`, unlocking every directory encrypted with
/// it. When `dir_or_mount` is itself encrypted, a key of another directory is refused as
/// [`CryptError::WrongKey`] before the kernel sees it. A key that is already present is refused
/// as [`CryptError::KeyAlreadyPresent`] rather than reused: the guard of whoever added it would
/// otherwise lock the directory under this caller's feet.
pub fn unlock(dir_or_mount: &Path, key: &Key) -> Result<KeyGuard, CryptError> {
    let given = key.identifier();
    if let Some(p) = policy(dir_or_mount)? {
        if p.key_id != given {
            return Err(CryptError::WrongKey {
                dir: dir_or_mount.to_path_buf(),
                expected: p.key_id,
                given,
            });
        }
    }
    let (anchor, anchor_path) = open_anchor(dir_or_mount)?;
    if let KeyStatus::Present { users, .. } = key_status_at(&anchor, &anchor_path, given)? {
        return Err(CryptError::KeyAlreadyPresent {
            path: dir_or_mount.to_path_buf(),
            id: given,
            users,
        });
    }
    add_checked(anchor, anchor_path, key)
}

/// Removes this user's claim on key `id` from the filesystem holding `path` (post-stop, or after
/// a crashed start). Idempotent: a key that is not present gives [`LockOutcome::NotPresent`].
pub fn lock(path: &Path, id: KeyId) -> Result<LockOutcome, CryptError> {
    let (anchor, anchor_path) = open_anchor(path)?;
    remove_key(&anchor, &anchor_path, id, false)
}

/// Removes key `id` for every user (needs CAP_SYS_ADMIN): what crypto-erase uses.
pub fn lock_all_users(path: &Path, id: KeyId) -> Result<LockOutcome, CryptError> {
    let (anchor, anchor_path) = open_anchor(path)?;
    remove_key(&anchor, &anchor_path, id, true)
}

/// Whether key `id` is present on the filesystem holding `path`.
pub fn key_status(path: &Path, id: KeyId) -> Result<KeyStatus, CryptError> {
    let (anchor, anchor_path) = open_anchor(path)?;
    key_status_at(&anchor, &anchor_path, id)
}

/// The encryption state of `dir`: its policy and, when encrypted, whether its key is present.
pub fn status(dir: &Path) -> Result<Status, CryptError> {
    let policy = policy(dir)?;
    let key = policy.map(|p| key_status(dir, p.key_id)).transpose()?;
    Ok(Status { policy, key })
}
