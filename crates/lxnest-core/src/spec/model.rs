//! The nesting spec as written by the user: one file (plus includes) describing a whole stack.
//! Every struct denies unknown keys so a typo is an error with file:line, not a silent default.

use crate::origin::Origin;
use ipnet::Ipv4Net;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// One YAML file as parsed, before includes are resolved.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SpecFile {
    /// Name of the stack (the including file's name wins).
    pub name: Option<String>,
    /// Other spec files to merge in first, relative to this file.
    #[serde(default)]
    pub include: Vec<String>,
    /// Settings every container starts from.
    #[serde(default)]
    pub defaults: Option<ContainerDefaults>,
    /// Level-1 containers.
    #[serde(default)]
    pub containers: Vec<ContainerSpec>,
}

/// Settings shared by all containers of a stack (a subset of [`ContainerSpec`]).
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ContainerDefaults {
    /// Default rootfs.
    pub rootfs: Option<String>,
    /// Default limits.
    #[serde(default)]
    pub limits: Limits,
    /// Default network wishes.
    #[serde(default)]
    pub network: NetworkWish,
    /// Extra seccomp rules for every container.
    #[serde(default)]
    pub seccomp: SeccompWish,
    /// Extra AppArmor rules for every container.
    #[serde(default)]
    pub apparmor: AppArmorWish,
    /// Environment for every container.
    #[serde(default)]
    pub environment: BTreeMap<String, String>,
    /// Hooks for every container.
    #[serde(default)]
    pub hooks: Hooks,
}

/// One container and, through `children`, the containers it hosts.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ContainerSpec {
    /// Name, unique among siblings: `[a-z0-9][a-z0-9-]*`, at most 32 characters.
    pub name: String,
    /// The container manager this container runs inside itself (`lxc`, `lxnest`, `docker`, `lxd`),
    /// one of `nesting/runtimes/`. Absent: the container hosts nothing.
    pub runtime: Option<String>,
    /// Init flavour: `systemd` adds what systemd as PID 1 needs; absent runs `command` as PID 1.
    pub init: Option<String>,
    /// The command run as the container's first process.
    pub command: Option<Vec<String>>,
    /// The signal `lxnest stop` sends the first process to shut it down (`SIGRTMIN+3`,
    /// `SIGPWR`, ...; LXC's `lxc.signal.halt`). Absent: SIGRTMIN+3 for `init: systemd`, else
    /// SIGTERM.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub halt_signal: Option<String>,
    /// `builtin`, `dir:PATH` or `tar:PATH`; or, for an encrypted root,
    /// `{ path: PATH, encrypt: fscrypt, key: ..., metadata: ... }`.
    pub rootfs: Option<RootfsSpec>,
    /// Encrypt the root directory (`dir:PATH` only) with the kernel's native file encryption.
    pub encrypt: Option<EncryptWish>,
    /// Resource limits; a child's limits never exceed its parent's.
    #[serde(default)]
    pub limits: Limits,
    /// Network wishes.
    #[serde(default)]
    pub network: NetworkWish,
    /// Extra seccomp rules and files.
    #[serde(default)]
    pub seccomp: SeccompWish,
    /// Extra AppArmor rules.
    #[serde(default)]
    pub apparmor: AppArmorWish,
    /// Capabilities to drop beyond the defaults.
    #[serde(default)]
    pub capabilities: CapabilityWish,
    /// Extra device nodes (`/dev/fuse`).
    #[serde(default)]
    pub devices: Vec<String>,
    /// Id mapping; absent picks a range inside the parent's.
    pub idmap: Option<IdMapWish>,
    /// Extra mounts.
    #[serde(default)]
    pub mounts: Vec<MountWish>,
    /// Hooks, as in LXC.
    #[serde(default)]
    pub hooks: Hooks,
    /// Environment of the first process.
    #[serde(default)]
    pub environment: BTreeMap<String, String>,
    /// Containers this one hosts (level + 1).
    #[serde(default)]
    pub children: Vec<ContainerSpec>,
    /// Where `name:` of this container was written (filled by the loader).
    #[serde(skip_deserializing)]
    pub origin: Origin,
}

/// `rootfs:` as written. The loader turns the map form into `dir:PATH` plus an `encrypt:` wish,
/// so everything after loading sees the string form only.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(untagged)]
pub enum RootfsSpec {
    /// `builtin`, `dir:PATH` or `tar:PATH`.
    Source(String),
    /// An encrypted root directory.
    Encrypted(EncryptedRootfs),
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

impl ContainerSpec {
    /// The rootfs source string (`builtin`, `dir:PATH`, `tar:PATH`), once loaded.
    pub fn rootfs(&self) -> Option<&str> {
        match &self.rootfs {
            Some(RootfsSpec::Source(s)) => Some(s),
            _ => None,
        }
    }

    /// Turn `rootfs: {path, encrypt, ...}` into `rootfs: dir:PATH` and `encrypt:`.
    pub fn normalize_rootfs(&mut self) {
        if let Some(RootfsSpec::Encrypted(e)) = &self.rootfs {
            let path = e.path.strip_prefix("dir:").unwrap_or(&e.path).to_string();
            self.encrypt = Some(EncryptWish {
                method: e.encrypt,
                key: e.key.clone(),
                metadata: e.metadata.clone(),
            });
            self.rootfs = Some(RootfsSpec::Source(format!("dir:{path}")));
        }
        self.children
            .iter_mut()
            .for_each(ContainerSpec::normalize_rootfs);
    }
}

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
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum EncryptMethod {
    /// The kernel's native per-directory encryption (fscrypt, policy v2).
    Fscrypt,
}

/// Where an encryption key comes from, written `passphrase`, `stdin` or `file:/PATH`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(try_from = "String", into = "String")]
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

impl From<KeySource> for String {
    fn from(k: KeySource) -> String {
        match k {
            KeySource::Passphrase => "passphrase".into(),
            KeySource::Stdin => "stdin".into(),
            KeySource::File(p) => format!("file:{p}"),
        }
    }
}

/// `limits.pids: unlimited` (and `memory: unlimited`): no limit, not even lxnest's default.
pub const UNLIMITED: u64 = u64::MAX;

/// The word a spec uses for [`UNLIMITED`].
pub const UNLIMITED_WORD: &str = "unlimited";

fn pids_de<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<u64>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Pids {
        N(u64),
        Word(String),
    }
    match Option::<Pids>::deserialize(d)? {
        None => Ok(None),
        Some(Pids::N(n)) => Ok(Some(n)),
        Some(Pids::Word(w)) if w == UNLIMITED_WORD => Ok(Some(UNLIMITED)),
        Some(Pids::Word(w)) => Err(serde::de::Error::custom(format!(
            "pids `{w}`: give a number of tasks or `{UNLIMITED_WORD}`"
        ))),
    }
}

fn pids_ser<S: serde::Serializer>(v: &Option<u64>, s: S) -> Result<S::Ok, S::Error> {
    match v {
        Some(UNLIMITED) => s.serialize_str(UNLIMITED_WORD),
        Some(n) => s.serialize_u64(*n),
        None => s.serialize_none(),
    }
}

/// Resource limits.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Limits {
    /// Memory limit: bytes, or with a suffix `K`, `M`, `G` (powers of 1024), or `unlimited`.
    /// Absent: lxnest's default (`plan::cgroup::DEFAULT_MEMORY`).
    pub memory: Option<String>,
    /// Maximum number of tasks, or `unlimited` ([`UNLIMITED`] once read). Absent: lxnest's
    /// default (`plan::cgroup::DEFAULT_PIDS`).
    #[serde(
        default,
        deserialize_with = "pids_de",
        serialize_with = "pids_ser",
        skip_serializing_if = "Option::is_none"
    )]
    pub pids: Option<u64>,
    /// CPU bandwidth in cores (`1.5`).
    pub cpu: Option<f64>,
}

/// Network wishes.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct NetworkWish {
    /// `bridge` (default: a veth on the parent's lxnest bridge), `loopback` (a network namespace
    /// with only `lo` up), `none` (a network namespace with no interface up at all) or
    /// `user-nic` (an unprivileged user's veth on the host bridge `link`, made by LXC's setuid
    /// `lxc-user-nic` as /etc/lxc/lxc-usernet allows).
    pub mode: Option<String>,
    /// For `user-nic`: the host bridge (`lxcbr0`).
    pub link: Option<String>,
    /// Subnet for the bridge this container creates for its children (default: picked).
    pub subnet: Option<Ipv4Net>,
    /// MTU for this container's interface (default: the parent's).
    pub mtu: Option<u32>,
    /// NAT this container's children out through its own interface (default: true, done inside
    /// this container's network namespace only).
    pub nat: Option<bool>,
}

/// Extra seccomp policy for one container.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct SeccompWish {
    /// Rules in LXC v2 rule syntax (`keyctl errno 38`).
    #[serde(default)]
    pub rules: Vec<String>,
    /// Extra LXC v2 policy files, relative to the spec file (made absolute by the loader).
    #[serde(default)]
    pub files: Vec<String>,
    /// Where each entry of `rules` was written (filled by the loader, same order).
    #[serde(skip)]
    pub rule_origins: Vec<Origin>,
    /// Contents of `files`, read by the loader so that planning does no I/O: (path, text).
    #[serde(skip)]
    pub file_texts: Vec<(String, String)>,
}

/// Extra AppArmor rules for one container, in AppArmor syntax (`deny /srv/** w,`).
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct AppArmorWish {
    /// Rules added to the container's profile.
    #[serde(default)]
    pub rules: Vec<String>,
    /// Where each entry of `rules` was written (filled by the loader, same order).
    #[serde(skip)]
    pub rule_origins: Vec<Origin>,
}

/// Capability wishes.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct CapabilityWish {
    /// Capabilities to drop (names without `CAP_`, lower case, as in lxc.cap.drop).
    #[serde(default)]
    pub drop: Vec<String>,
}

/// Id mapping wish: container root maps to `host_uid` (in the parent's namespace).
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct IdMapWish {
    /// First uid in the parent's namespace.
    pub uid: Option<u32>,
    /// First gid in the parent's namespace.
    pub gid: Option<u32>,
    /// Number of ids (default 65536).
    pub count: Option<u32>,
    /// Run without a user namespace (real root inside). Refused for nesting hosts.
    #[serde(default)]
    pub privileged: bool,
}

/// One extra mount, in fstab-like fields.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct MountWish {
    /// Source (host path for binds).
    pub source: String,
    /// Target, relative to the container's root.
    pub target: String,
    /// Filesystem type (`bind` for bind mounts).
    #[serde(default = "default_bind")]
    pub fstype: String,
    /// Mount options (`ro`, `nosuid`, ...).
    #[serde(default)]
    pub options: Vec<String>,
}

fn default_bind() -> String {
    "bind".into()
}

/// Hooks, by LXC hook type. Each entry is a command line run through `/bin/sh -c`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Hooks {
    /// On the host, before anything is set up.
    #[serde(default)]
    pub pre_start: Vec<String>,
    /// In the container's mount namespace, before the rootfs is mounted.
    #[serde(default)]
    pub pre_mount: Vec<String>,
    /// In the container's mount namespace, after mounts, before pivot_root.
    #[serde(default)]
    pub mount: Vec<String>,
    /// Like mount, after /dev is populated.
    #[serde(default)]
    pub autodev: Vec<String>,
    /// Inside the container, just before the init command.
    #[serde(default)]
    pub start: Vec<String>,
    /// On the host, when the container is being stopped.
    #[serde(default)]
    pub stop: Vec<String>,
    /// On the host, after the container is gone and cleaned up.
    #[serde(default)]
    pub post_stop: Vec<String>,
}

/// A fully resolved stack: includes merged, defaults applied, origins filled.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Stack {
    /// Stack name.
    pub name: String,
    /// The spec file it came from.
    pub source: String,
    /// Level-1 containers (with their children).
    pub containers: Vec<ContainerSpec>,
}
