//! The nesting spec as written by the user: one file (plus includes) describing a whole stack.
//! Every struct denies unknown keys so a typo is an error with file:line, not a silent default.

use crate::origin::Origin;
use crate::spec::merge::{set, Merge};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

pub use crate::spec::encrypt::{EncryptMethod, EncryptWish, KeySource};
pub use crate::spec::hook::{HookKind, Hooks};
pub use crate::spec::network::{NetworkMode, NetworkWish};
pub use crate::spec::rootfs::{EncryptedRootfs, Rootfs, RootfsSpec};
pub use crate::spec::runtime::{Init, Runtime};

/// One container and, through `children`, the containers it hosts.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ContainerSpec {
    /// Name, unique among siblings: `[a-z0-9][a-z0-9-]*`, at most 32 characters.
    pub name: String,
    /// The container manager this container runs inside itself (`lxc`, `lxnest`, `docker`, `lxd`,
    /// `podman`), one of `nesting/runtimes/`. Absent: the container hosts nothing.
    pub runtime: Option<Runtime>,
    /// Init flavour: `systemd` adds what systemd as PID 1 needs; absent runs `command` as PID 1.
    pub init: Option<Init>,
    /// The command run as the container's first process.
    pub command: Option<Vec<String>>,
    /// The signal `lxnest stop` sends the first process to shut it down (`SIGRTMIN+3`,
    /// `SIGPWR`, ...; LXC's `lxc.signal.halt`). Absent: SIGRTMIN+3 for `init: systemd`, else
    /// SIGTERM.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub halt_signal: Option<String>,
    /// `builtin`, `dir:PATH` or `tar:PATH` ([`Rootfs`]); or, for an encrypted root,
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
    /// Where each of its other values was written, by path below the container (`limits.memory`,
    /// `hooks.start[0]`), from the YAML parser (filled by the loader; see [`Self::origin_of`]).
    #[serde(skip)]
    pub origins: BTreeMap<String, Origin>,
}

impl ContainerSpec {
    /// The rootfs, once loaded (the loader turns the map form into [`Rootfs::Dir`]).
    pub fn rootfs(&self) -> Option<&Rootfs> {
        match &self.rootfs {
            Some(RootfsSpec::Source(r)) => Some(r),
            _ => None,
        }
    }

    /// Where the value at `path` below this container was written (`network.mode`), else where
    /// the nearest enclosing value was, else the container's `name:`.
    pub fn origin_of(&self, path: &str) -> Origin {
        let mut p = path;
        loop {
            if let Some(o) = self.origins.get(p) {
                return o.clone();
            }
            match p.rfind(['.', '[']) {
                Some(i) => p = &p[..i],
                None => return self.origin.clone(),
            }
        }
    }

    /// Turn `rootfs: {path, encrypt, ...}` into `rootfs: dir:PATH` and `encrypt:`.
    pub fn normalize_rootfs(&mut self) {
        if let Some(RootfsSpec::Encrypted(e)) = &self.rootfs {
            let (rootfs, wish) = e.split();
            self.encrypt = Some(wish);
            self.rootfs = Some(RootfsSpec::Source(rootfs));
        }
        self.children
            .iter_mut()
            .for_each(ContainerSpec::normalize_rootfs);
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

impl Merge for Limits {
    fn merge(&mut self, over: Self) {
        let Limits { memory, pids, cpu } = over;
        set(&mut self.memory, memory);
        set(&mut self.pids, pids);
        set(&mut self.cpu, cpu);
    }
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

impl Merge for SeccompWish {
    fn merge(&mut self, over: Self) {
        let SeccompWish {
            rules,
            files,
            rule_origins,
            file_texts,
        } = over;
        self.rules.merge(rules);
        self.files.merge(files);
        self.rule_origins.merge(rule_origins);
        self.file_texts.merge(file_texts);
    }
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

impl Merge for AppArmorWish {
    fn merge(&mut self, over: Self) {
        let AppArmorWish {
            rules,
            rule_origins,
        } = over;
        self.rules.merge(rules);
        self.rule_origins.merge(rule_origins);
    }
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
