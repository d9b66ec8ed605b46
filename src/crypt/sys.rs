//! The fscrypt user API of `<linux/fscrypt.h>`: the structures, written out with `#[repr(C)]`, and
//! the six ioctls lxnest uses. Nothing here interprets results; [`super::fscrypt`] does.

use nix::{
    ioctl_readwrite, ioctl_readwrite_bad, ioctl_write_ptr_bad, request_code_read,
    request_code_readwrite,
};
use std::mem::size_of;
use zeroize::Zeroize;

/// Size of a v2 key identifier.
pub const KEY_IDENTIFIER_SIZE: usize = 16;
/// Largest raw key the kernel accepts, and the size lxnest always uses.
pub const MAX_KEY_SIZE: usize = 64;

/// `fscrypt_policy_v2.version` for v2 policies.
pub const POLICY_V2: u8 = 2;
/// Contents cipher AES-256-XTS.
pub const MODE_AES_256_XTS: u8 = 1;
/// File name cipher AES-256-CTS(-CBC).
pub const MODE_AES_256_CTS: u8 = 4;
/// File name cipher AES-256-HCTR2.
pub const MODE_AES_256_HCTR2: u8 = 10;
/// Adiantum (contents and names).
pub const MODE_ADIANTUM: u8 = 9;
/// Mask of the name padding bits in `flags`.
pub const POLICY_FLAGS_PAD_MASK: u8 = 0x03;

/// `fscrypt_key_specifier.type` for a v2 key identifier.
pub const KEY_SPEC_TYPE_IDENTIFIER: u32 = 2;

/// `fscrypt_get_key_status_arg.status` values.
pub const KEY_STATUS_ABSENT: u32 = 1;
/// The key is present.
pub const KEY_STATUS_PRESENT: u32 = 2;
/// The key was removed while files were still in use.
pub const KEY_STATUS_INCOMPLETELY_REMOVED: u32 = 3;
/// Status flag: the calling user holds a claim on the key.
pub const KEY_STATUS_FLAG_ADDED_BY_SELF: u32 = 0x1;

/// Removal flag: some files were still open, so the key is only incompletely removed.
pub const REMOVAL_STATUS_FLAG_FILES_BUSY: u32 = 0x1;
/// Removal flag: only this user's claim went away; other users still hold the key.
pub const REMOVAL_STATUS_FLAG_OTHER_USERS: u32 = 0x2;

/// `struct fscrypt_policy_v1`: only its size matters, because the number of
/// FS_IOC_SET_ENCRYPTION_POLICY is defined with it for every policy version.
#[repr(C)]
pub struct PolicyV1 {
    _bytes: [u8; 12],
}

/// `struct fscrypt_policy_v2`.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PolicyV2 {
    /// [`POLICY_V2`].
    pub version: u8,
    /// Contents cipher.
    pub contents_encryption_mode: u8,
    /// File name cipher.
    pub filenames_encryption_mode: u8,
    /// Padding and IV flags.
    pub flags: u8,
    /// `log2_data_unit_size` on kernels >= 6.7 (0 = the filesystem block size), then reserved.
    pub reserved: [u8; 4],
    /// The kernel-derived identifier of the master key.
    pub master_key_identifier: [u8; KEY_IDENTIFIER_SIZE],
}

/// `struct fscrypt_get_policy_ex_arg`: `policy_size` in and out, then the union of the policy
/// versions (24 bytes, the size of a v2 policy).
#[repr(C)]
#[derive(Debug, Clone, Copy, Default)]
pub struct GetPolicyExArg {
    /// Size of `policy` on input; the returned policy's size on output.
    pub policy_size: u64,
    /// The policy; byte 0 is its version.
    pub policy: [u8; size_of::<PolicyV2>()],
}

/// `struct fscrypt_key_specifier`: which key, by identifier (the union is 32 bytes).
#[repr(C)]
#[derive(Debug, Clone, Copy, Default)]
pub struct KeySpecifier {
    /// [`KEY_SPEC_TYPE_IDENTIFIER`].
    pub kind: u32,
    /// Reserved, zero.
    pub reserved: u32,
    /// The identifier in the first 16 bytes.
    pub u: [u8; 32],
}

impl KeySpecifier {
    /// A specifier for a v2 key identifier.
    pub fn identifier(id: &[u8; KEY_IDENTIFIER_SIZE]) -> Self {
        let mut u = [0u8; 32];
        u[..KEY_IDENTIFIER_SIZE].copy_from_slice(id);
        KeySpecifier {
            kind: KEY_SPEC_TYPE_IDENTIFIER,
            reserved: 0,
            u,
        }
    }

    /// The identifier part.
    pub fn id(&self) -> [u8; KEY_IDENTIFIER_SIZE] {
        let mut id = [0u8; KEY_IDENTIFIER_SIZE];
        id.copy_from_slice(&self.u[..KEY_IDENTIFIER_SIZE]);
        id
    }
}

/// `struct fscrypt_add_key_arg` without its flexible `raw[]` member.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default)]
pub struct AddKeyArg {
    /// In: type [`KEY_SPEC_TYPE_IDENTIFIER`]; out: the identifier the kernel derived.
    pub key_spec: KeySpecifier,
    /// Length of the raw key that follows.
    pub raw_size: u32,
    /// A keyring key id instead of a raw key (unused, zero).
    pub key_id: u32,
    /// Flags (newer kernels) and reserved words, zero.
    pub reserved: [u32; 8],
}

/// The add-key argument followed by the raw key, as one buffer. The key bytes are wiped on drop,
/// so they live no longer than the ioctl call that needs them.
#[repr(C)]
pub struct AddKeyBuf {
    /// The header.
    pub arg: AddKeyArg,
    /// The raw key (`raw_size` bytes are used).
    pub raw: [u8; MAX_KEY_SIZE],
}

impl Drop for AddKeyBuf {
    fn drop(&mut self) {
        self.raw.zeroize();
    }
}

/// `struct fscrypt_remove_key_arg`.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default)]
pub struct RemoveKeyArg {
    /// Which key.
    pub key_spec: KeySpecifier,
    /// Out: `REMOVAL_STATUS_FLAG_*`.
    pub removal_status_flags: u32,
    /// Reserved, zero.
    pub reserved: [u32; 5],
}

/// `struct fscrypt_get_key_status_arg`.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default)]
pub struct KeyStatusArg {
    /// Which key.
    pub key_spec: KeySpecifier,
    /// Reserved, zero.
    pub reserved: [u32; 6],
    /// Out: `KEY_STATUS_*`.
    pub status: u32,
    /// Out: `KEY_STATUS_FLAG_*`.
    pub status_flags: u32,
    /// Out: how many users hold a claim.
    pub user_count: u32,
    /// Reserved output words.
    pub out_reserved: [u32; 13],
}

// The layouts must match the kernel's byte for byte; a mistake here would make the kernel read
// a wrong key length or policy, so it is checked at compile time.
const _: () = assert!(size_of::<PolicyV1>() == 12);
const _: () = assert!(size_of::<PolicyV2>() == 24);
const _: () = assert!(size_of::<GetPolicyExArg>() == 32);
const _: () = assert!(size_of::<KeySpecifier>() == 40);
const _: () = assert!(size_of::<AddKeyArg>() == 80);
const _: () = assert!(size_of::<AddKeyBuf>() == 80 + MAX_KEY_SIZE);
const _: () = assert!(size_of::<RemoveKeyArg>() == 64);
const _: () = assert!(size_of::<KeyStatusArg>() == 128);

// FS_IOC_SET_ENCRYPTION_POLICY is _IOR('f', 19, struct fscrypt_policy_v1) although the kernel
// reads from the caller and accepts a v2 policy through the same number.
ioctl_write_ptr_bad!(
    /// FS_IOC_SET_ENCRYPTION_POLICY: encrypts an empty directory.
    set_encryption_policy,
    request_code_read!(b'f', 19, size_of::<PolicyV1>()),
    PolicyV2
);
// FS_IOC_GET_ENCRYPTION_POLICY_EX is _IOWR('f', 22, __u8[9]) (size + version).
ioctl_readwrite_bad!(
    /// FS_IOC_GET_ENCRYPTION_POLICY_EX: reads a file's policy (ENODATA: not encrypted).
    get_encryption_policy_ex,
    request_code_readwrite!(b'f', 22, 9),
    GetPolicyExArg
);
// FS_IOC_ADD_ENCRYPTION_KEY's number carries the header size; the raw key follows it.
ioctl_readwrite_bad!(
    /// FS_IOC_ADD_ENCRYPTION_KEY: adds a key to the filesystem, returns its identifier.
    add_encryption_key,
    request_code_readwrite!(b'f', 23, size_of::<AddKeyArg>()),
    AddKeyBuf
);
ioctl_readwrite!(
    /// FS_IOC_REMOVE_ENCRYPTION_KEY: removes the calling user's claim on a key.
    remove_encryption_key,
    b'f',
    24,
    RemoveKeyArg
);
ioctl_readwrite!(
    /// FS_IOC_REMOVE_ENCRYPTION_KEY_ALL_USERS: removes a key for every user (CAP_SYS_ADMIN).
    remove_encryption_key_all_users,
    b'f',
    25,
    RemoveKeyArg
);
ioctl_readwrite!(
    /// FS_IOC_GET_ENCRYPTION_KEY_STATUS: whether a key is present.
    get_encryption_key_status,
    b'f',
    26,
    KeyStatusArg
);

#[cfg(test)]
mod tests {
    use super::*;

    /// The request numbers as `<linux/fscrypt.h>` computes them on x86_64 (from the header's
    /// _IOR/_IOWR definitions: dir << 30 | size << 16 | 'f' << 8 | nr).
    #[test]
    fn request_numbers_match_the_header() {
        assert_eq!(
            request_code_read!(b'f', 19, size_of::<PolicyV1>()),
            0x800c_6613
        );
        assert_eq!(request_code_readwrite!(b'f', 22, 9), 0xc009_6616);
        assert_eq!(
            request_code_readwrite!(b'f', 23, size_of::<AddKeyArg>()),
            0xc050_6617
        );
        assert_eq!(
            request_code_readwrite!(b'f', 24, size_of::<RemoveKeyArg>()),
            0xc040_6618
        );
        assert_eq!(
            request_code_readwrite!(b'f', 25, size_of::<RemoveKeyArg>()),
            0xc040_6619
        );
        assert_eq!(
            request_code_readwrite!(b'f', 26, size_of::<KeyStatusArg>()),
            0xc080_661a
        );
    }

    #[test]
    fn specifier_round_trips_the_identifier() {
        let id = [7u8; KEY_IDENTIFIER_SIZE];
        let s = KeySpecifier::identifier(&id);
        assert_eq!(s.kind, KEY_SPEC_TYPE_IDENTIFIER);
        assert_eq!(s.id(), id);
        assert!(s.u[KEY_IDENTIFIER_SIZE..].iter().all(|&b| b == 0));
    }
}
