//! Key metadata beside an encrypted directory (`<dir>.crypt.json`): the key identifier, the
//! policy and, for a passphrase, the Argon2id salt and costs. Never the key. Without the salt a
//! passphrase cannot recreate the key, which is what crypto-erase relies on.

use super::error::CryptError;
use super::key::{KdfParams, KeyId};
use crate::plan::model::FscryptPolicyPlan;
use crate::spec::model::{EncryptMethod, KeySource};
use serde::{Deserialize, Serialize};
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

/// The format version written.
pub const FORMAT: u32 = 1;

/// Contents of a metadata file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Metadata {
    /// [`FORMAT`].
    pub format: u32,
    /// `fscrypt`.
    pub method: EncryptMethod,
    /// The encrypted directory, as planned.
    pub dir: String,
    /// The v2 key identifier (a one-way hash of the key, safe to store).
    pub key_identifier: KeyId,
    /// Where the key came from when the directory was encrypted.
    pub key_source: KeySource,
    /// The directory's policy.
    pub policy: FscryptPolicyPlan,
    /// Argon2id salt and costs, for a passphrase-derived key.
    pub kdf: Option<KdfParams>,
}

/// The default metadata path for an encrypted directory: `<dir>.crypt.json`, beside it (inside
/// it would be encrypted too, and unreadable before the key that it describes exists).
pub fn default_path(dir: &str) -> String {
    crate::plan::encrypt::default_metadata_path(dir)
}

/// Reads a metadata file; `None` when it does not exist.
pub fn read(path: &Path) -> Result<Option<Metadata>, CryptError> {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(CryptError::io("read", path, e)),
    };
    let m: Metadata = serde_json::from_str(&text).map_err(|e| CryptError::Metadata {
        path: path.to_path_buf(),
        message: e.to_string(),
    })?;
    if m.format != FORMAT {
        return Err(CryptError::Metadata {
            path: path.to_path_buf(),
            message: format!("format {} (this lxnest reads {FORMAT})", m.format),
        });
    }
    Ok(Some(m))
}

/// Writes a new metadata file atomically (temporary file, fsync, rename, fsync of the directory)
/// with mode 0600. An existing file is never replaced: it may hold the only salt of another
/// directory.
pub fn create(path: &Path, m: &Metadata) -> Result<(), CryptError> {
    if path.exists() {
        return Err(CryptError::Metadata {
            path: path.to_path_buf(),
            message:
                "already exists while its directory is not encrypted yet; if it is stale, remove it"
                    .into(),
        });
    }
    let parent = parent_of(path);
    std::fs::create_dir_all(&parent).map_err(|e| CryptError::io("create directory", &parent, e))?;
    let tmp = path.with_extension("json.tmp");
    let text = serde_json::to_string_pretty(m).map_err(|e| CryptError::Metadata {
        path: path.to_path_buf(),
        message: e.to_string(),
    })?;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(&tmp)
        .map_err(|e| CryptError::io("create", &tmp, e))?;
    f.write_all(text.as_bytes())
        .and_then(|_| f.sync_all())
        .map_err(|e| CryptError::io("write", &tmp, e))?;
    std::fs::rename(&tmp, path).map_err(|e| CryptError::io("rename into place", path, e))?;
    sync_dir(&parent)
}

/// Destroys a metadata file: overwrites its bytes with zeros, syncs, unlinks and syncs the
/// directory. Returns whether there was a file. (On copy-on-write filesystems and flash the old
/// blocks may survive the overwrite; docs/encryption.md says so.)
pub fn erase(path: &Path) -> Result<bool, CryptError> {
    let len = match std::fs::metadata(path) {
        Ok(m) => m.len(),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(false),
        Err(e) => return Err(CryptError::io("stat", path, e)),
    };
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .open(path)
        .map_err(|e| CryptError::io("open", path, e))?;
    let zeros = vec![0u8; usize::try_from(len).unwrap_or(0)];
    f.write_all(&zeros)
        .and_then(|_| f.sync_all())
        .map_err(|e| CryptError::io("overwrite", path, e))?;
    drop(f);
    std::fs::remove_file(path).map_err(|e| CryptError::io("remove", path, e))?;
    sync_dir(&parent_of(path))?;
    Ok(true)
}

fn parent_of(path: &Path) -> PathBuf {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

fn sync_dir(dir: &Path) -> Result<(), CryptError> {
    std::fs::File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| CryptError::io("sync directory", dir, e))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypt::key::Salt;
    use std::os::unix::fs::PermissionsExt;

    fn sample() -> Metadata {
        Metadata {
            format: FORMAT,
            method: EncryptMethod::Fscrypt,
            dir: "/var/lib/lxnest/web/rootfs".into(),
            key_identifier: KeyId([0x5a; 16]),
            key_source: KeySource::Passphrase,
            policy: crate::crypt::fscrypt::default_policy(),
            kdf: Some(KdfParams {
                algorithm: "argon2id".into(),
                version: 0x13,
                memory_kib: 65536,
                iterations: 3,
                parallelism: 4,
                salt: Salt(vec![0xc3; 32]),
            }),
        }
    }

    #[test]
    fn create_read_erase_round_trip() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("sub/rootfs.crypt.json");
        assert_eq!(read(&p).unwrap(), None);
        create(&p, &sample()).unwrap();
        assert_eq!(
            std::fs::metadata(&p).unwrap().permissions().mode() & 0o777,
            0o600
        );
        assert_eq!(read(&p).unwrap(), Some(sample()));
        let text = std::fs::read_to_string(&p).unwrap();
        assert!(
            text.contains(&"c3".repeat(32)) && text.contains("\"passphrase\""),
            "{text}"
        );
        let e = create(&p, &sample()).unwrap_err().to_string();
        assert!(e.contains("already exists"), "{e}");
        assert!(erase(&p).unwrap());
        assert!(!p.exists());
        assert!(!erase(&p).unwrap());
    }

    #[test]
    fn malformed_metadata_is_an_error_with_the_path() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("x.crypt.json");
        std::fs::write(&p, "{\"format\": 9}").unwrap();
        let e = read(&p).unwrap_err().to_string();
        assert!(e.contains("x.crypt.json"), "{e}");
    }

    #[test]
    fn default_path_sits_beside_the_directory() {
        assert_eq!(
            default_path("/var/lib/lxc/web/rootfs/"),
            "/var/lib/lxc/web/rootfs.crypt.json"
        );
    }
}
