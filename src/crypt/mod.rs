//! Encrypted container roots (issue 7): a `dir:` root encrypted with the kernel's native file
//! encryption (fscrypt, policy v2) through its ioctls only, keys from a key file, stdin or an
//! Argon2id-stretched passphrase, key metadata beside the directory, crypto-erase, and a
//! dm-crypt/LUKS2 availability check. See docs/encryption.md.
//!
//! Launcher steps: pre-start [`root::unlock_for_start`] (or [`root::open_root`]), keep the
//! returned [`root::Opened`] until the container is gone; post-stop and on a failed start drop it
//! or call [`fscrypt::KeyGuard::lock`] (from another process: [`root::close_root`]); destroy
//! `--crypto-erase`: [`root::crypto_erase`].

pub mod error;
pub mod fscrypt;
pub mod key;
mod keyid;
pub mod luks;
/// The LXC config form of an encrypted root is read with the rest of an LXC config.
pub use crate::lxc::encrypt as lxc;
pub mod meta;
/// The pure planning step lives with the planner; kept here under its old name too.
pub use crate::plan::encrypt as plan;
pub mod policy;
pub mod root;
mod support;
pub mod sys;
mod tty;

pub use error::CryptError;
pub use fscrypt::{
    encrypt_new_dir, lock, status, unlock, KeyGuard, KeyStatus, LockOutcome, Policy, Status,
};
pub use key::{Key, KeyId, Passphrase, Secret};
pub use luks::{luks_available, Unavailable};
pub use root::{
    close_root, crypto_erase, open_root, preflight, unlock_for_start, EraseReport, Opened,
};
