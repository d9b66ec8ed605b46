//! The rootfs syntax, the one place that knows it: `builtin`, `dir:PATH` and `tar:PATH` as a
//! spec, an LXC/OpenVZ import or `lxnest run --rootfs` writes them, parsed once into [`Rootfs`],
//! which the planner, the launcher and the renderers use as it is.

use crate::spec::encrypt::{EncryptMethod, EncryptWish, KeySource};
use serde::{Deserialize, Deserializer, Serialize};
use std::fmt;
use std::path::Path;
use std::str::FromStr;

/// What `rootfs:` takes, for error messages.
pub const SYNTAX: &str = "`builtin`, `dir:PATH` or `tar:PATH`";

/// Where a container's root filesystem comes from.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Rootfs {
    /// Built from read-only binds of the host's /usr with a minimal /etc and tmpfs /run /tmp /var.
    Builtin,
    /// An existing directory.
    Dir(String),
    /// A tarball unpacked into lxnest's directory.
    Tar(String),
}

/// A `rootfs:` value that is none of [`SYNTAX`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("rootfs `{value}` is not understood (fix: use {SYNTAX})")]
pub struct RootfsSyntaxError {
    /// The value as written.
    pub value: String,
}

impl FromStr for Rootfs {
    type Err = RootfsSyntaxError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.split_once(':') {
            None if s == "builtin" => Ok(Rootfs::Builtin),
            Some(("dir", p)) if !p.is_empty() => Ok(Rootfs::Dir(p.into())),
            Some(("tar", p)) if !p.is_empty() => Ok(Rootfs::Tar(p.into())),
            _ => Err(RootfsSyntaxError { value: s.into() }),
        }
    }
}

impl fmt::Display for Rootfs {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Rootfs::Builtin => f.write_str("builtin"),
            Rootfs::Dir(p) => write!(f, "dir:{p}"),
            Rootfs::Tar(p) => write!(f, "tar:{p}"),
        }
    }
}

impl Rootfs {
    /// The path of a `dir:` or `tar:` root.
    pub fn path(&self) -> Option<&str> {
        match self {
            Rootfs::Builtin => None,
            Rootfs::Dir(p) | Rootfs::Tar(p) => Some(p),
        }
    }

    /// The directory of a `dir:` root.
    pub fn dir(&self) -> Option<&str> {
        match self {
            Rootfs::Dir(p) => Some(p),
            _ => None,
        }
    }

    /// Paths in a spec are relative to the file that names them.
    pub fn resolve(&mut self, base: &Path, show: impl Fn(&Path) -> String) {
        if let Rootfs::Dir(p) | Rootfs::Tar(p) = self {
            *p = show(&base.join(&*p));
        }
    }
}

// The spec's form: the string. A plan's form (`{kind, path}`) is in [`tagged`].
impl Serialize for Rootfs {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Rootfs {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        crate::spec::scalar::deserialize(d, SYNTAX)
    }
}

/// A plan's form of [`Rootfs`]: `{kind: builtin}`, `{kind: dir, path: ...}` (what plans and
/// state files have always held), for `#[serde(with = "...")]`.
pub mod tagged {
    use super::Rootfs;
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    #[derive(Serialize, Deserialize)]
    #[serde(rename_all = "snake_case", tag = "kind", content = "path")]
    enum Tagged {
        Builtin,
        Dir(String),
        Tar(String),
    }

    /// Serialize as `{kind, path}`.
    pub fn serialize<S: Serializer>(r: &Rootfs, s: S) -> Result<S::Ok, S::Error> {
        match r.clone() {
            Rootfs::Builtin => Tagged::Builtin,
            Rootfs::Dir(p) => Tagged::Dir(p),
            Rootfs::Tar(p) => Tagged::Tar(p),
        }
        .serialize(s)
    }

    /// Deserialize from `{kind, path}`.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Rootfs, D::Error> {
        Ok(match Tagged::deserialize(d)? {
            Tagged::Builtin => Rootfs::Builtin,
            Tagged::Dir(p) => Rootfs::Dir(p),
            Tagged::Tar(p) => Rootfs::Tar(p),
        })
    }
}

/// `rootfs:` as written in a container: the string form, or the map form of an encrypted root
/// directory. The loader turns the map form into [`Rootfs::Dir`] plus an `encrypt:` wish
/// ([`crate::spec::model::ContainerSpec::normalize_rootfs`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(untagged)]
pub enum RootfsSpec {
    /// `builtin`, `dir:PATH` or `tar:PATH`.
    Source(Rootfs),
    /// An encrypted root directory.
    Encrypted(EncryptedRootfs),
}

// By hand rather than `untagged`, which would hide why a string or a map was refused.
impl<'de> Deserialize<'de> for RootfsSpec {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = RootfsSpec;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                write!(
                    f,
                    "{SYNTAX}, or `{{ path: PATH, encrypt: fscrypt, key: passphrase|stdin|file:/PATH }}`"
                )
            }
            fn visit_str<E: serde::de::Error>(self, s: &str) -> Result<RootfsSpec, E> {
                s.parse().map(RootfsSpec::Source).map_err(E::custom)
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(self, m: A) -> Result<RootfsSpec, A::Error> {
                let d = serde::de::value::MapAccessDeserializer::new(m);
                EncryptedRootfs::deserialize(d).map(RootfsSpec::Encrypted)
            }
        }
        d.deserialize_any(V)
    }
}

/// `rootfs: { path: PATH, encrypt: fscrypt, key: ..., metadata: ... }`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct EncryptedRootfs {
    /// The root directory (`dir:` may be left out).
    pub path: String,
    /// How it is encrypted.
    pub encrypt: EncryptMethod,
    /// Where the key comes from (default: a passphrase).
    #[serde(default)]
    pub key: KeySource,
    /// Key metadata file (default: beside the directory).
    #[serde(default)]
    pub metadata: Option<String>,
}

impl EncryptedRootfs {
    /// The root directory and the encryption wish this map form stands for.
    pub fn split(&self) -> (Rootfs, EncryptWish) {
        let path = self.path.strip_prefix("dir:").unwrap_or(&self.path);
        (
            Rootfs::Dir(path.to_string()),
            EncryptWish {
                method: self.encrypt,
                key: self.key.clone(),
                metadata: self.metadata.clone(),
            },
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_displays_and_refuses() {
        for (text, want) in [
            ("builtin", Rootfs::Builtin),
            ("dir:/srv/r", Rootfs::Dir("/srv/r".into())),
            ("tar:/x.tar", Rootfs::Tar("/x.tar".into())),
            ("dir:a:b", Rootfs::Dir("a:b".into())),
        ] {
            assert_eq!(text.parse::<Rootfs>(), Ok(want.clone()));
            assert_eq!(want.to_string(), text);
        }
        for bad in ["dir:", "tar:", "http://x", "builtin:x", "", "Dir:/x"] {
            let e = bad.parse::<Rootfs>().unwrap_err().to_string();
            assert!(e.contains(bad) && e.contains("dir:PATH"), "{e}");
        }
    }

    #[test]
    fn spec_form_is_the_string_and_plan_form_is_tagged() {
        let r: Rootfs = serde_yaml_ng::from_str("dir:/srv/r").unwrap();
        assert_eq!(serde_yaml_ng::to_string(&r).unwrap().trim(), "dir:/srv/r");
        #[derive(Serialize, Deserialize, PartialEq, Debug)]
        struct P {
            #[serde(with = "tagged")]
            r: Rootfs,
        }
        let json = serde_json::to_string(&P { r: r.clone() }).unwrap();
        assert_eq!(json, r#"{"r":{"kind":"dir","path":"/srv/r"}}"#);
        assert_eq!(serde_json::from_str::<P>(&json).unwrap().r, r);
        let b = serde_json::to_string(&P { r: Rootfs::Builtin }).unwrap();
        assert_eq!(b, r#"{"r":{"kind":"builtin"}}"#);
    }

    #[test]
    fn spec_errors_say_what_was_wrong_in_either_form() {
        let e = serde_yaml_ng::from_str::<RootfsSpec>("http://x").unwrap_err();
        assert!(
            e.to_string().contains("`http://x` is not understood"),
            "{e}"
        );
        let e = serde_yaml_ng::from_str::<RootfsSpec>("{path: /x, encrypt: rot13}").unwrap_err();
        assert!(e.to_string().contains("rot13"), "{e}");
        let ok: RootfsSpec =
            serde_yaml_ng::from_str("{path: dir:/x, encrypt: fscrypt, key: stdin}").unwrap();
        let RootfsSpec::Encrypted(e) = ok else {
            panic!("map form")
        };
        assert_eq!(e.split().0, Rootfs::Dir("/x".into()));
    }
}
