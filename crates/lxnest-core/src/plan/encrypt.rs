//! Planning an encrypted root: from the spec's `encrypt:` wish and `rootfs: dir:PATH` to an
//! [`EncryptPlan`]. Pure: no I/O. The planner calls it; `crate::crypt` (apply) carries it out.

use crate::plan::model::{EncryptPlan, FscryptPolicyPlan, KdfPlan};
use crate::spec::model::ContainerSpec;
use thiserror::Error;

/// The spec asks for an encryption that cannot be planned.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("{container}: {message}\n  fix: {fix}")]
pub struct EncryptError {
    /// Container path.
    pub container: String,
    /// What is wrong.
    pub message: String,
    /// How to fix it.
    pub fix: String,
}

/// fscrypt's policy version 2 (`FSCRYPT_POLICY_V2`), the only one lxnest plans.
pub const POLICY_V2: u8 = 2;

/// The policy lxnest gives new directories: AES-256-XTS contents, AES-256-CTS names, names padded
/// to 32 bytes (hides name lengths best), policy v2.
pub fn default_policy() -> FscryptPolicyPlan {
    FscryptPolicyPlan {
        version: POLICY_V2,
        contents: "AES-256-XTS".into(),
        filenames: "AES-256-CTS".into(),
        padding: 32,
    }
}

/// Where a directory's key metadata lives unless the spec says: beside it, `<dir>.crypt.json`.
pub fn default_metadata_path(dir: &str) -> String {
    format!("{}.crypt.json", dir.trim_end_matches('/'))
}

/// Argon2id costs for new passphrase-derived keys: 64 MiB, 3 passes, 4 lanes (RFC 9106's
/// recommendation for memory-constrained settings): about 0.35 s on the CI machines.
pub const DEFAULT_KDF: KdfPlan = KdfPlan {
    memory_kib: 64 * 1024,
    iterations: 3,
    parallelism: 4,
};

/// The encryption plan of container `c` (at plan path `path`), `None` when it asks for none.
/// Only a `dir:` root can be encrypted: the built-in root is a fresh tmpfs (nothing persists to
/// protect, and tmpfs has no fscrypt) and a tarball is unpacked by lxnest into its own directory.
/// Every error names the container, what is wrong and the fix, ready to become a plan finding.
pub fn plan(c: &ContainerSpec, path: &str) -> Result<Option<EncryptPlan>, EncryptError> {
    let Some(wish) = &c.encrypt else {
        return Ok(None);
    };
    let spec_err = |message: String, fix: &str| EncryptError {
        container: path.to_string(),
        message,
        fix: fix.to_string(),
    };
    let dir = match c.rootfs().and_then(|r| r.dir()) {
        Some(d) if d.starts_with('/') => d.trim_end_matches('/').to_string(),
        Some(d) => {
            return Err(spec_err(
                format!("encrypted rootfs `dir:{d}` is not an absolute path"),
                "write the rootfs directory as an absolute path",
            ))
        }
        None => {
            return Err(spec_err(
                format!(
                    "`encrypt` needs a `dir:` rootfs, not `{}`",
                    c.rootfs().unwrap_or(&crate::spec::model::Rootfs::Builtin)
                ),
                "use `rootfs: dir:/ABSOLUTE/PATH` on ext4 with the `encrypt` feature, or drop `encrypt`",
            ))
        }
    };
    if dir.is_empty() {
        return Err(spec_err(
            "the filesystem root `/` cannot be encrypted".into(),
            "use a directory below it",
        ));
    }
    let metadata = wish
        .metadata
        .clone()
        .unwrap_or_else(|| default_metadata_path(&dir));
    if !metadata.starts_with('/') {
        return Err(spec_err(
            format!("encrypt.metadata `{metadata}` is not absolute"),
            "write an absolute path",
        ));
    }
    if metadata.starts_with(&format!("{dir}/")) {
        return Err(spec_err(
            format!("encrypt.metadata `{metadata}` lies inside the encrypted directory"),
            "keep the metadata beside the directory (the default `<dir>.crypt.json`)",
        ));
    }
    Ok(Some(EncryptPlan {
        method: wish.method,
        dir,
        key: wish.key.clone(),
        policy: default_policy(),
        kdf: DEFAULT_KDF,
        metadata,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::model::{EncryptMethod, EncryptWish, KeySource};

    fn spec(rootfs: Option<&str>, key: KeySource, metadata: Option<&str>) -> ContainerSpec {
        ContainerSpec {
            name: "web".into(),
            rootfs: rootfs.map(|r| crate::spec::model::RootfsSpec::Source(r.parse().unwrap())),
            encrypt: Some(EncryptWish {
                method: EncryptMethod::Fscrypt,
                key,
                metadata: metadata.map(String::from),
            }),
            ..Default::default()
        }
    }

    #[test]
    fn dir_root_gets_the_default_policy_and_metadata_beside_it() {
        let p = plan(
            &spec(Some("dir:/srv/web/rootfs/"), KeySource::Passphrase, None),
            "web",
        )
        .unwrap()
        .unwrap();
        assert_eq!(p.dir, "/srv/web/rootfs");
        assert_eq!(p.metadata, "/srv/web/rootfs.crypt.json");
        assert_eq!(
            (p.policy.contents.as_str(), p.policy.filenames.as_str()),
            ("AES-256-XTS", "AES-256-CTS")
        );
        assert_eq!((p.policy.version, p.policy.padding), (2, 32));
        assert_eq!(p.kdf, DEFAULT_KDF);
        assert_eq!(p.key, KeySource::Passphrase);
    }

    #[test]
    fn no_wish_no_plan() {
        let c = ContainerSpec {
            name: "a".into(),
            rootfs: Some(crate::spec::model::RootfsSpec::Source(
                "dir:/x".parse().unwrap(),
            )),
            ..Default::default()
        };
        assert_eq!(plan(&c, "a").unwrap(), None);
    }

    #[test]
    fn builtin_tar_relative_and_inner_metadata_are_refused() {
        let err = |c: ContainerSpec| plan(&c, "h/web").unwrap_err().to_string();
        let e = err(spec(None, KeySource::Stdin, None));
        assert!(
            e.starts_with("h/web: `encrypt` needs a `dir:` rootfs, not `builtin`"),
            "{e}"
        );
        assert!(err(spec(Some("tar:/x.tar"), KeySource::Stdin, None)).contains("not `tar:/x.tar`"));
        assert!(err(spec(Some("dir:rel"), KeySource::Stdin, None)).contains("absolute"));
        assert!(err(spec(Some("dir:/a"), KeySource::Stdin, Some("/a/m.json"))).contains("inside"));
        assert!(
            err(spec(Some("dir:/a"), KeySource::Stdin, Some("m.json"))).contains("not absolute")
        );
    }

    #[test]
    fn spec_yaml_parses_key_sources() {
        let y = "name: web\nrootfs: dir:/srv/web\nencrypt:\n  method: fscrypt\n  key: file:/etc/lxnest/web.key\n";
        let c: ContainerSpec = serde_yaml_ng::from_str(y).unwrap();
        assert_eq!(
            c.encrypt.unwrap().key,
            KeySource::File("/etc/lxnest/web.key".into())
        );
        let y = "name: web\nencrypt: {method: fscrypt}\n";
        let c: ContainerSpec = serde_yaml_ng::from_str(y).unwrap();
        assert_eq!(c.encrypt.unwrap().key, KeySource::Passphrase);
        for bad in ["key: file:rel.key", "key: env", "method: luks"] {
            let y = format!("name: web\nencrypt:\n  method: fscrypt\n  {bad}\n");
            let y = y.replace("method: fscrypt\n  method: luks", "method: luks");
            assert!(
                serde_yaml_ng::from_str::<ContainerSpec>(&y).is_err(),
                "{bad}"
            );
        }
    }
}
