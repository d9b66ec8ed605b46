//! The fscrypt v2 key identifier: not secret (a one-way hash of the key), named in errors and
//! stored in the metadata. Below the key handling and the errors, which both name it.

use super::sys::KEY_IDENTIFIER_SIZE;
use serde::{Deserialize, Serialize};
use std::fmt;

/// A v2 key identifier (16 bytes, shown as 32 hex digits). Not secret: it is a one-way hash.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct KeyId(pub [u8; KEY_IDENTIFIER_SIZE]);

impl fmt::Display for KeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.iter().try_for_each(|b| write!(f, "{b:02x}"))
    }
}

impl fmt::Debug for KeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "KeyId({self})")
    }
}

impl TryFrom<String> for KeyId {
    type Error = String;

    fn try_from(s: String) -> Result<Self, String> {
        let v = decode_hex(&s).ok_or_else(|| format!("key identifier `{s}` is not hex"))?;
        let id: [u8; KEY_IDENTIFIER_SIZE] = v
            .try_into()
            .map_err(|_| format!("key identifier `{s}` is not 32 hex digits"))?;
        Ok(KeyId(id))
    }
}

impl From<KeyId> for String {
    fn from(k: KeyId) -> String {
        k.to_string()
    }
}

/// Hex digits to bytes; `None` for an odd length or a non-hex digit.
pub(super) fn decode_hex(s: &str) -> Option<Vec<u8>> {
    let pairs = s.as_bytes().chunks_exact(2);
    if !pairs.remainder().is_empty() {
        return None;
    }
    pairs
        .map(|p| Some(hex_val(p[0])? << 4 | hex_val(p[1])?))
        .collect()
}

pub(super) fn hex_val(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    }
}
