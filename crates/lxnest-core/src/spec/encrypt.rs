//! The `encrypt:` wish of a container (see docs/encryption.md): method, key source and metadata
//! file, as written in a spec. Below the rootfs syntax, which can carry it.

use serde::{Deserialize, Serialize};

/// Encryption of a container's root directory (see docs/encryption.md).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct EncryptWish {
    /// How: `fscrypt` (the only method today; dm-crypt/LUKS2 is detected, not used).
    pub method: EncryptMethod,
    /// Where the key comes from: `passphrase` (default), `stdin` or `file:/ABSOLUTE/PATH`.
    #[serde(default)]
    pub key: KeySource,
    /// Key metadata file (salt, KDF parameters, key identifier; never the key). Absolute;
    /// default: `<rootfs dir>.crypt.json`, beside the encrypted directory.
    pub metadata: Option<String>,
}

/// Encryption method.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum EncryptMethod {
    /// The kernel's native per-directory encryption (fscrypt, policy v2).
    Fscrypt,
}

impl std::str::FromStr for EncryptMethod {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "fscrypt" => Ok(EncryptMethod::Fscrypt),
            _ => Err(format!(
                "encryption `{s}` is not known (fix: write `encrypt: fscrypt`, the kernel's native file encryption)"
            )),
        }
    }
}

impl<'de> Deserialize<'de> for EncryptMethod {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        crate::spec::scalar::deserialize(d, "`fscrypt`")
    }
}

/// Where an encryption key comes from, written `passphrase`, `stdin` or `file:/PATH`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(into = "String")]
pub enum KeySource {
    /// A passphrase read from the terminal, stretched with Argon2id and a stored random salt.
    #[default]
    Passphrase,
    /// A 64-byte key (raw, or 128 hex digits) read from standard input.
    Stdin,
    /// A 64-byte key (raw, or 128 hex digits) read from this file (absolute path).
    File(String),
}

impl TryFrom<String> for KeySource {
    type Error = String;

    fn try_from(s: String) -> Result<Self, String> {
        match s.as_str() {
            "passphrase" => Ok(KeySource::Passphrase),
            "stdin" => Ok(KeySource::Stdin),
            _ => match s.strip_prefix("file:") {
                Some(p) if p.starts_with('/') => Ok(KeySource::File(p.to_string())),
                Some(p) => Err(format!(
                    "key file `{p}` must be an absolute path (the key is read at start, from any directory)"
                )),
                None => Err(format!(
                    "key source `{s}`: expected `passphrase`, `stdin` or `file:/PATH`"
                )),
            },
        }
    }
}

impl std::str::FromStr for KeySource {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        KeySource::try_from(s.to_string())
    }
}

impl<'de> Deserialize<'de> for KeySource {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        crate::spec::scalar::deserialize(d, "`passphrase`, `stdin` or `file:/PATH`")
    }
}

impl From<KeySource> for String {
    fn from(k: KeySource) -> String {
        match k {
            KeySource::Passphrase => "passphrase".into(),
            KeySource::Stdin => "stdin".into(),
            KeySource::File(p) => format!("file:{p}"),
        }
    }
}
