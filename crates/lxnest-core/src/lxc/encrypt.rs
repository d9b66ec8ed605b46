//! The LXC config form of an encrypted root. LXC has no encryption key, and an unknown
//! `lxc.lxnest.*` key would make lxc-start refuse the config, so lxnest reads its wish from
//! `lxc.rootfs.options`, a key LXC knows: `lxc.rootfs.options = encrypt=fscrypt[,encrypt_key=SRC]
//! [,encrypt_metadata=/PATH]`. LXC mounts a directory rootfs with a bind mount, for which the
//! kernel ignores mount data, so LXC itself tolerates these options (docs/encryption.md).

use crate::plan::encrypt::EncryptError;
use crate::spec::model::{EncryptMethod, EncryptWish, KeySource};

/// Splits `lxc.rootfs.options` into lxnest's encryption wish and the options meant for the
/// mount (returned in order). `container` names the config in errors.
pub fn from_rootfs_options(
    value: &str,
    container: &str,
) -> Result<(Option<EncryptWish>, Vec<String>), EncryptError> {
    let err = |message: String| {
        EncryptError {
        container: container.to_string(),
        message,
        fix: "lxc.rootfs.options = encrypt=fscrypt[,encrypt_key=passphrase|stdin|file:/PATH][,encrypt_metadata=/PATH]"
            .into(),
    }
    };
    let (mut method, mut key, mut metadata) = (None, None, None);
    let mut rest = Vec::new();
    for opt in value.split(',').map(str::trim).filter(|o| !o.is_empty()) {
        match opt.split_once('=') {
            Some(("encrypt", "fscrypt")) => method = Some(EncryptMethod::Fscrypt),
            Some(("encrypt", m)) => {
                return Err(err(format!("encrypt={m}: only `fscrypt` is supported")))
            }
            Some(("encrypt_key", k)) => {
                key = Some(KeySource::try_from(k.to_string()).map_err(err)?)
            }
            Some(("encrypt_metadata", m)) => metadata = Some(m.to_string()),
            _ => rest.push(opt.to_string()),
        }
    }
    match method {
        Some(method) => Ok((
            Some(EncryptWish {
                method,
                key: key.unwrap_or_default(),
                metadata,
            }),
            rest,
        )),
        None if key.is_some() || metadata.is_some() => Err(err(
            "encrypt_key/encrypt_metadata without encrypt=fscrypt".into(),
        )),
        None => Ok((None, rest)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encryption_options_are_taken_out_and_the_rest_kept() {
        let (w, rest) = from_rootfs_options(
            "ro, encrypt=fscrypt,encrypt_key=file:/etc/web.key,nodev",
            "web",
        )
        .unwrap();
        let w = w.unwrap();
        assert_eq!(w.method, EncryptMethod::Fscrypt);
        assert_eq!(w.key, KeySource::File("/etc/web.key".into()));
        assert_eq!(w.metadata, None);
        assert_eq!(rest, ["ro", "nodev"]);
    }

    #[test]
    fn plain_options_give_no_wish() {
        assert_eq!(
            from_rootfs_options("ro,nosuid", "c").unwrap(),
            (None, vec!["ro".into(), "nosuid".into()])
        );
        let (w, _) = from_rootfs_options("encrypt=fscrypt", "c").unwrap();
        assert_eq!(w.unwrap().key, KeySource::Passphrase);
    }

    #[test]
    fn bad_encryption_options_are_errors() {
        assert!(from_rootfs_options("encrypt=luks2", "c")
            .unwrap_err()
            .to_string()
            .contains("only `fscrypt`"));
        assert!(from_rootfs_options("encrypt=fscrypt,encrypt_key=file:x", "c").is_err());
        assert!(from_rootfs_options("encrypt_key=stdin", "c").is_err());
    }
}
