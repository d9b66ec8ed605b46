//! fscrypt v2 policies: the cipher names lxnest plans with, and the kernel's mode numbers.

use super::key::KeyId;
use super::sys;
use crate::plan::model::FscryptPolicyPlan;

/// An fscrypt v2 policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Policy {
    /// Contents cipher (kernel mode number).
    pub contents_mode: u8,
    /// File name cipher (kernel mode number).
    pub filenames_mode: u8,
    /// Flags (the low two bits are the name padding).
    pub flags: u8,
    /// The key.
    pub key_id: KeyId,
}

/// Cipher names as the kernel documentation spells them, with their mode numbers.
const MODES: &[(&str, u8)] = &[
    ("AES-256-XTS", sys::MODE_AES_256_XTS),
    ("AES-256-CTS", sys::MODE_AES_256_CTS),
    ("AES-256-HCTR2", sys::MODE_AES_256_HCTR2),
    ("Adiantum", sys::MODE_ADIANTUM),
];

/// The policy lxnest gives new directories (planned in [`crate::plan::encrypt`]).
pub use crate::plan::encrypt::default_policy;

impl Policy {
    /// The kernel policy for a planned one and a key.
    pub fn from_plan(plan: &FscryptPolicyPlan, key_id: KeyId) -> Result<Policy, String> {
        if plan.version != sys::POLICY_V2 {
            return Err(format!(
                "policy version {} (only 2 is supported)",
                plan.version
            ));
        }
        let mode = |name: &str| {
            MODES
                .iter()
                .find(|(n, _)| n.eq_ignore_ascii_case(name))
                .map(|&(_, m)| m)
                .ok_or_else(|| format!("unknown cipher `{name}`"))
        };
        let pad = match plan.padding {
            4 => 0,
            8 => 1,
            16 => 2,
            32 => 3,
            p => return Err(format!("name padding {p} (4, 8, 16 or 32)")),
        };
        Ok(Policy {
            contents_mode: mode(&plan.contents)?,
            filenames_mode: mode(&plan.filenames)?,
            flags: pad,
            key_id,
        })
    }

    /// Name padding in bytes.
    pub fn padding(&self) -> u8 {
        4 << (self.flags & sys::POLICY_FLAGS_PAD_MASK)
    }

    /// `v2 AES-256-XTS/AES-256-CTS pad 32, key <id>`.
    pub fn describe(&self) -> String {
        let name = |m: u8| {
            MODES
                .iter()
                .find(|&&(_, n)| n == m)
                .map_or_else(|| format!("mode {m}"), |(s, _)| s.to_string())
        };
        format!(
            "v2 {}/{} pad {}, key {}",
            name(self.contents_mode),
            name(self.filenames_mode),
            self.padding(),
            self.key_id
        )
    }

    pub(crate) fn to_sys(self) -> sys::PolicyV2 {
        sys::PolicyV2 {
            version: sys::POLICY_V2,
            contents_encryption_mode: self.contents_mode,
            filenames_encryption_mode: self.filenames_mode,
            flags: self.flags,
            reserved: [0; 4],
            master_key_identifier: self.key_id.0,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_policy_is_xts_cts_pad32_v2() {
        let p = Policy::from_plan(&default_policy(), KeyId([1; 16])).unwrap();
        assert_eq!((p.contents_mode, p.filenames_mode, p.flags), (1, 4, 3));
        assert_eq!(p.padding(), 32);
        assert_eq!(
            p.describe(),
            format!("v2 AES-256-XTS/AES-256-CTS pad 32, key {}", "01".repeat(16))
        );
        let s = p.to_sys();
        assert_eq!((s.version, s.master_key_identifier), (2, [1; 16]));
    }

    #[test]
    fn bad_policy_plans_are_refused() {
        let mut p = default_policy();
        p.padding = 12;
        assert!(Policy::from_plan(&p, KeyId([0; 16]))
            .unwrap_err()
            .contains("padding 12"));
        let mut p = default_policy();
        p.contents = "ROT13".into();
        assert!(Policy::from_plan(&p, KeyId([0; 16]))
            .unwrap_err()
            .contains("ROT13"));
        let mut p = default_policy();
        p.version = 1;
        assert!(Policy::from_plan(&p, KeyId([0; 16])).is_err());
    }
}
