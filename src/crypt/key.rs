//! Keys: 64 bytes in wiped-on-drop buffers, from a key file, from stdin or from a passphrase
//! stretched with Argon2id, and the fscrypt v2 key identifier derived from them. A key never
//! appears in `Debug` output, logs or files written by lxnest.

use super::error::CryptError;
use super::sys::{KEY_IDENTIFIER_SIZE, MAX_KEY_SIZE};
use crate::plan::model::KdfPlan;
use serde::{Deserialize, Serialize};
use std::fmt;
use std::io::Read;
use std::path::Path;
use zeroize::Zeroizing;

/// Length of every lxnest key: the largest the kernel takes, so AES-256-XTS gets a full-strength
/// master key however the per-file keys are derived.
pub const KEY_LEN: usize = MAX_KEY_SIZE;

/// Length of the random salt stored for a passphrase.
pub const SALT_LEN: usize = 32;

/// A master key. The bytes are wiped when the value is dropped.
pub struct Key(Zeroizing<[u8; KEY_LEN]>);

impl fmt::Debug for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Key(<redacted>, id {})", self.identifier())
    }
}

impl Key {
    /// A key from its encoded form: exactly 64 raw bytes, or 128 hex digits (surrounding
    /// whitespace, such as a trailing newline, is ignored). `what` names the source in errors.
    pub fn from_encoded(bytes: &[u8], what: &str) -> Result<Key, CryptError> {
        let bad = |message: String| CryptError::BadKey {
            source_name: what.to_string(),
            message,
        };
        if bytes.len() == KEY_LEN {
            let mut k = Zeroizing::new([0u8; KEY_LEN]);
            k.copy_from_slice(bytes);
            return Ok(Key(k));
        }
        let text = bytes.trim_ascii();
        if text.len() != 2 * KEY_LEN {
            return Err(bad(format!(
                "expected {KEY_LEN} raw bytes or {} hex digits, found {} bytes",
                2 * KEY_LEN,
                bytes.len()
            )));
        }
        let mut k = Zeroizing::new([0u8; KEY_LEN]);
        for (i, pair) in text.chunks_exact(2).enumerate() {
            match (hex_val(pair[0]), hex_val(pair[1])) {
                (Some(h), Some(l)) => k[i] = h << 4 | l,
                // The offset is safe to report; the digit itself is not echoed.
                _ => return Err(bad(format!("not a hex digit at offset {}", 2 * i))),
            }
        }
        Ok(Key(k))
    }

    /// Derives a key from a passphrase with Argon2id (version 0x13) and the given salt.
    pub fn from_passphrase(pass: &Passphrase, kdf: &KdfParams) -> Result<Key, CryptError> {
        let params = argon2::Params::new(
            kdf.memory_kib,
            kdf.iterations,
            kdf.parallelism,
            Some(KEY_LEN),
        )
        .map_err(|e| CryptError::Kdf(e.to_string()))?;
        let a = argon2::Argon2::new(argon2::Algorithm::Argon2id, argon2::Version::V0x13, params);
        let mut k = Zeroizing::new([0u8; KEY_LEN]);
        a.hash_password_into(&pass.0, &kdf.salt.0, &mut k[..])
            .map_err(|e| CryptError::Kdf(e.to_string()))?;
        Ok(Key(k))
    }

    /// A fresh random key (for tests and for generating a key file).
    pub fn generate() -> Result<Key, CryptError> {
        let mut k = Zeroizing::new([0u8; KEY_LEN]);
        random_bytes(&mut k[..])?;
        Ok(Key(k))
    }

    /// The fscrypt v2 key identifier: HKDF-SHA512 over the key with no salt and the info
    /// `"fscrypt\0"` followed by context byte 1, 16 bytes long — what the kernel computes when
    /// the key is added. Knowing it first lets lxnest tell a wrong key from a right one without
    /// handing the wrong one to the kernel.
    pub fn identifier(&self) -> KeyId {
        let hk = hkdf::Hkdf::<sha2::Sha512>::new(None, &self.0[..]);
        let mut id = [0u8; KEY_IDENTIFIER_SIZE];
        // 16 bytes is far below HKDF-SHA512's 255 * 64 byte limit, so expand cannot fail.
        if hk.expand(b"fscrypt\0\x01", &mut id).is_err() {
            unreachable!("HKDF output length is fixed and valid");
        }
        KeyId(id)
    }

    /// The key as 128 hex digits and a newline, in a wiped-on-drop buffer (to write a key file).
    pub fn to_hex(&self) -> Zeroizing<String> {
        let mut s = Zeroizing::new(String::with_capacity(2 * KEY_LEN + 1));
        for b in self.0.iter() {
            s.push(HEX[usize::from(b >> 4)] as char);
            s.push(HEX[usize::from(b & 15)] as char);
        }
        s.push('\n');
        s
    }

    /// The raw bytes, for the add-key ioctl only.
    pub(crate) fn raw(&self) -> &[u8; KEY_LEN] {
        &self.0
    }
}

/// A passphrase, wiped on drop and never printed.
pub struct Passphrase(Zeroizing<Vec<u8>>);

impl fmt::Debug for Passphrase {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Passphrase(<redacted>)")
    }
}

impl Passphrase {
    /// A passphrase from bytes (a trailing newline is the caller's to strip).
    pub fn new(bytes: Vec<u8>) -> Result<Passphrase, CryptError> {
        let p = Passphrase(Zeroizing::new(bytes));
        if p.0.is_empty() {
            return Err(CryptError::BadKey {
                source_name: "passphrase".into(),
                message: "empty passphrase".into(),
            });
        }
        Ok(p)
    }
}

/// What the user supplied: a key, or a passphrase still to be stretched (the salt is in the
/// metadata, which only the root opener reads).
#[derive(Debug)]
pub enum Secret {
    /// A ready key.
    Key(Key),
    /// A passphrase.
    Passphrase(Passphrase),
}

pub use super::keyid::KeyId;
use super::keyid::{decode_hex, hex_val};

/// A random salt, shown as hex in the metadata.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Salt(pub Vec<u8>);

impl fmt::Debug for Salt {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Salt({})", String::from(self.clone()))
    }
}

impl TryFrom<String> for Salt {
    type Error = String;

    fn try_from(s: String) -> Result<Self, String> {
        match decode_hex(&s) {
            Some(v) if v.len() >= 16 => Ok(Salt(v)),
            Some(_) => Err("salt shorter than 16 bytes".into()),
            None => Err("salt is not hex".into()),
        }
    }
}

impl From<Salt> for String {
    fn from(s: Salt) -> String {
        s.0.iter().map(|b| format!("{b:02x}")).collect()
    }
}

/// Argon2id parameters and salt of a passphrase-derived key, as stored in the metadata.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KdfParams {
    /// Always `argon2id`.
    pub algorithm: String,
    /// Argon2 version (19 = 0x13).
    pub version: u32,
    /// Memory in KiB.
    pub memory_kib: u32,
    /// Passes.
    pub iterations: u32,
    /// Lanes.
    pub parallelism: u32,
    /// Random salt.
    pub salt: Salt,
}

impl KdfParams {
    /// New parameters with a fresh random salt.
    pub fn new_random(plan: &KdfPlan) -> Result<KdfParams, CryptError> {
        let mut salt = vec![0u8; SALT_LEN];
        random_bytes(&mut salt)?;
        Ok(KdfParams {
            algorithm: "argon2id".into(),
            version: 0x13,
            memory_kib: plan.memory_kib,
            iterations: plan.iterations,
            parallelism: plan.parallelism,
            salt: Salt(salt),
        })
    }
}

/// Reads a key file (64 raw bytes or 128 hex digits).
pub fn read_key_file(path: &Path) -> Result<Key, CryptError> {
    let f = std::fs::File::open(path).map_err(|e| CryptError::io("open key file", path, e))?;
    read_key_from(f, &path.display().to_string())
}

/// Reads a key (64 raw bytes or 128 hex digits) from a reader, at most 4 KiB of it.
pub fn read_key_from(r: impl Read, what: &str) -> Result<Key, CryptError> {
    // Room for everything `take` lets through, so the buffer never reallocates and leaves a copy.
    let mut buf = Zeroizing::new(Vec::with_capacity(4097));
    r.take(4096)
        .read_to_end(&mut buf)
        .map_err(|e| CryptError::io("read key", Path::new(what), e))?;
    Key::from_encoded(&buf, what)
}

/// Fills `buf` from the kernel's random pool.
pub fn random_bytes(buf: &mut [u8]) -> Result<(), CryptError> {
    let mut done = 0;
    while done < buf.len() {
        let rest = &mut buf[done..];
        // SAFETY: the pointer and length describe `rest`, a live, writable slice; getrandom
        // writes at most that many bytes.
        let n = unsafe { libc::getrandom(rest.as_mut_ptr().cast(), rest.len(), 0) };
        if n < 0 {
            let e = nix::errno::Errno::last();
            if e != nix::errno::Errno::EINTR {
                return Err(CryptError::Random(e));
            }
            continue;
        }
        done += n as usize;
    }
    Ok(())
}

const HEX: &[u8; 16] = b"0123456789abcdef";

#[cfg(test)]
mod tests {
    use super::*;

    fn cheap() -> KdfParams {
        KdfParams {
            algorithm: "argon2id".into(),
            version: 0x13,
            memory_kib: 64,
            iterations: 1,
            parallelism: 1,
            salt: Salt(vec![1; 16]),
        }
    }

    #[test]
    fn raw_and_hex_encodings_give_the_same_key() {
        let raw: Vec<u8> = (0..64u8).collect();
        let hex: String = raw.iter().map(|b| format!("{b:02X}")).collect::<String>() + "\n";
        let a = Key::from_encoded(&raw, "t").unwrap();
        let b = Key::from_encoded(hex.as_bytes(), "t").unwrap();
        assert_eq!(a.raw(), b.raw());
        assert_eq!(
            Key::from_encoded(a.to_hex().as_bytes(), "t").unwrap().raw(),
            a.raw()
        );
    }

    #[test]
    fn bad_encodings_are_refused_without_echoing_the_key() {
        let e = Key::from_encoded(&[0u8; 63], "k.bin")
            .unwrap_err()
            .to_string();
        assert!(e.contains("k.bin") && e.contains("63 bytes"), "{e}");
        let mut hex = "ab".repeat(64);
        hex.replace_range(10..11, "z");
        let e = Key::from_encoded(hex.as_bytes(), "k.hex")
            .unwrap_err()
            .to_string();
        assert!(e.contains("offset 10") && !e.contains("abab"), "{e}");
    }

    /// Vector computed independently with Python's hmac/hashlib: HKDF-SHA512, zero salt,
    /// info b"fscrypt\x00\x01", over the key 00 01 02 ... 3f.
    #[test]
    fn identifier_is_hkdf_sha512_with_the_fscrypt_info() {
        let raw: Vec<u8> = (0..64u8).collect();
        let id = Key::from_encoded(&raw, "t").unwrap().identifier();
        assert_eq!(id.to_string(), IDENTIFIER_OF_0_TO_63);
    }

    const IDENTIFIER_OF_0_TO_63: &str = "8699c2c53707405da5aba5ae4d8583c0";

    #[test]
    fn debug_output_redacts_keys_and_passphrases() {
        let k = Key::from_encoded(&[0x41u8; 64], "t").unwrap();
        let d = format!("{k:?}");
        assert!(
            d.contains("redacted") && !d.contains("4141") && !d.contains("AAAA"),
            "{d}"
        );
        let p = Passphrase::new(b"hunter2".to_vec()).unwrap();
        assert_eq!(format!("{p:?}"), "Passphrase(<redacted>)");
        assert!(!format!("{:?}", Secret::Passphrase(p)).contains("hunter2"));
    }

    #[test]
    fn passphrase_derivation_depends_on_salt_and_passphrase() {
        let p = Passphrase::new(b"correct horse".to_vec()).unwrap();
        let a = Key::from_passphrase(&p, &cheap()).unwrap();
        let again = Key::from_passphrase(&p, &cheap()).unwrap();
        assert_eq!(a.raw(), again.raw());
        let mut other_salt = cheap();
        other_salt.salt = Salt(vec![2; 16]);
        assert_ne!(
            a.raw(),
            Key::from_passphrase(&p, &other_salt).unwrap().raw()
        );
        let q = Passphrase::new(b"correct horsf".to_vec()).unwrap();
        assert_ne!(a.raw(), Key::from_passphrase(&q, &cheap()).unwrap().raw());
        assert!(Passphrase::new(Vec::new()).is_err());
    }

    #[test]
    fn key_ids_and_salts_round_trip_as_hex() {
        let id = KeyId([0xab; 16]);
        let s = serde_json::to_string(&id).unwrap();
        assert_eq!(s, format!("\"{}\"", "ab".repeat(16)));
        assert_eq!(serde_json::from_str::<KeyId>(&s).unwrap(), id);
        assert!(serde_json::from_str::<KeyId>("\"abcd\"").is_err());
        assert!(serde_json::from_str::<Salt>("\"00\"").is_err());
    }

    #[test]
    fn key_files_are_read_raw_or_hex_and_errors_name_the_file() {
        let d = tempfile::tempdir().unwrap();
        let k = Key::generate().unwrap();
        let hex = d.path().join("k.hex");
        std::fs::write(&hex, k.to_hex().as_bytes()).unwrap();
        let raw = d.path().join("k.bin");
        std::fs::write(&raw, &k.raw()[..]).unwrap();
        assert_eq!(read_key_file(&hex).unwrap().identifier(), k.identifier());
        assert_eq!(read_key_file(&raw).unwrap().identifier(), k.identifier());
        let short = d.path().join("short.key");
        std::fs::write(&short, b"abc").unwrap();
        let e = read_key_file(&short).unwrap_err().to_string();
        assert!(e.contains("short.key") && e.contains("3 bytes"), "{e}");
        let e = read_key_file(&d.path().join("missing"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("missing") && e.contains("open key file"), "{e}");
        let long = d.path().join("long.key");
        std::fs::write(&long, vec![b'a'; 10_000]).unwrap();
        assert!(read_key_file(&long).is_err());
    }

    #[test]
    fn random_keys_differ() {
        assert_ne!(
            Key::generate().unwrap().raw(),
            Key::generate().unwrap().raw()
        );
    }
}
