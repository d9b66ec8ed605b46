//! Mapping an LXC configuration onto lxnest's spec, so `plan`, `generate` and `start` treat an LXC
//! config exactly like a one-container YAML spec. Keys that do not map are listed, never dropped.

use crate::lxc::config::{effective, not_enforced, LxcConfig};
use crate::origin::Origin;
use crate::plan::caps;
use crate::spec::model::{
    ContainerSpec, HookKind, IdMapWish, MountWish, NetworkMode, NetworkWish, Rootfs, RootfsSpec,
    Runtime, Stack,
};
use std::collections::BTreeMap;
use thiserror::Error;

use super::map_error::err;
pub use super::map_error::MapError;

/// The stack for one LXC container, and notes about what was not (fully) mapped.
pub struct Mapped {
    /// A one-container stack.
    pub stack: Stack,
    /// Human-readable notes: keys read but not enforced, values lxnest chooses itself.
    pub notes: Vec<String>,
}

type Values = Vec<(String, Origin)>;

/// Map `cfg` onto a stack with one level-1 container named `name` (default: `lxc.uts.name`, else
/// the config file's directory name, as LXC names containers by their directory).
pub fn map(cfg: &LxcConfig, name: Option<&str>) -> Result<Mapped, Box<MapError>> {
    let eff: BTreeMap<String, Values> = effective(cfg).into_iter().collect();
    let last = |k: &str| eff.get(k).and_then(|v| v.last().cloned());
    let all = |k: &str| eff.get(k).cloned().unwrap_or_default();
    let mut notes: Vec<String> = not_enforced(cfg)
        .into_iter()
        .map(|(k, o)| format!("{k} is read but not enforced ({o})"))
        .collect();
    let default_name = std::path::Path::new(&cfg.file)
        .parent()
        .and_then(|p| p.file_name())
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "container".into());
    let uts = last("lxc.uts.name");
    let mut c = ContainerSpec {
        name: name
            .map(String::from)
            .or(uts.map(|(v, _)| v))
            .unwrap_or(default_name),
        origin: Origin::new(cfg.file.clone(), 0),
        ..Default::default()
    };
    if let Some((v, o)) = last("lxc.rootfs.path") {
        c.rootfs = Some(RootfsSpec::Source(rootfs(&v, &o)?));
    }
    if let Some((v, o)) = last("lxc.rootfs.options") {
        // `encrypt=fscrypt[,...]` is how an LXC config asks for an encrypted root (LXC itself
        // accepts and ignores the option on a dir: rootfs).
        let (wish, rest) = super::encrypt::from_rootfs_options(&v, &c.name).map_err(|e| {
            err(
                &o,
                "lxc.rootfs.options",
                &v,
                &e.to_string(),
                "see docs/encryption.md",
            )
        })?;
        c.encrypt = wish;
        notes.extend(
            rest.into_iter()
                .map(|r| format!("lxc.rootfs.options {r} ({o}) is not enforced")),
        );
    }
    for (v, o) in all("lxc.mount.entry") {
        c.mounts.push(mount_entry(&v, &o)?);
    }
    c.idmap = idmap(&all("lxc.idmap"))?;
    c.capabilities.drop = cap_drop(&all("lxc.cap.drop"), &all("lxc.cap.keep"))?;
    crate::lxc::limits::map(&mut c, &eff)?;
    c.network = network(&eff, &mut notes)?;
    if let Some(why) = nesting(&eff) {
        c.runtime = Some(Runtime::Lxc);
        notes.push(format!(
            "{why}: the container may run LXC containers (runtime lxc)"
        ));
    }
    if let Some((v, o)) = last("lxc.apparmor.profile") {
        notes.push(format!(
            "lxc.apparmor.profile = {v} ({o}): lxnest generates the profile itself"
        ));
    }
    if let Some((v, _)) = last("lxc.seccomp.profile") {
        c.seccomp.files.push(v);
    }
    for hook in HookKind::ALL {
        let cmds: Vec<String> = all(&format!("lxc.hook.{hook}"))
            .into_iter()
            .map(|(v, _)| v)
            .collect();
        if !cmds.is_empty() {
            c.hooks.slot(hook).extend(cmds);
        }
    }
    for (v, o) in all("lxc.environment") {
        let (k, val) = v.split_once('=').ok_or_else(|| {
            err(
                &o,
                "lxc.environment",
                &v,
                "not NAME=VALUE",
                "write lxc.environment = NAME=VALUE",
            )
        })?;
        // Exactly as LXC passes it: NAME=VALUE, split at the first `=`.
        c.environment.insert(k.into(), val.into());
    }
    if let Some((v, _)) = last("lxc.init.cmd") {
        c.command = Some(crate::lxc::encode::split_init_cmd(&v));
    } else if let Some((v, _)) = last("lxc.execute.cmd") {
        c.command = Some(split_quoted(&v));
    }
    devices(
        &mut c,
        &all("lxc.cgroup.devices.allow"),
        &all("lxc.cgroup2.devices.allow"),
    );
    if let Some((v, o)) = last("lxc.arch") {
        if !["x86_64", "amd64", "linux64"].contains(&v.as_str()) {
            return Err(err(
                &o,
                "lxc.arch",
                &v,
                "lxnest runs x86_64 containers only",
                "remove lxc.arch or set it to x86_64",
            ));
        }
    }
    let stack = Stack {
        name: c.name.clone(),
        source: cfg.file.clone(),
        containers: vec![c],
    };
    Ok(Mapped { stack, notes })
}

fn rootfs(v: &str, o: &Origin) -> Result<Rootfs, Box<MapError>> {
    let path = v.strip_prefix("dir:").unwrap_or(v);
    if path.starts_with('/') && !path.contains(':') {
        return Ok(Rootfs::Dir(path.into()));
    }
    Err(err(
        o,
        "lxc.rootfs.path",
        v,
        "only directory root filesystems are supported",
        "point lxc.rootfs.path at a directory (dir:/path or /path)",
    ))
}

/// `source target fstype options [dump [pass]]`, as in fstab; the target is relative to the rootfs.
fn mount_entry(v: &str, o: &Origin) -> Result<MountWish, Box<MapError>> {
    let f: Vec<String> = v
        .split_whitespace()
        .map(crate::lxc::encode::decode_mount_field)
        .collect();
    if f.len() < 4 {
        return Err(err(
            o,
            "lxc.mount.entry",
            v,
            "expected at least four fields",
            "write `SOURCE TARGET FSTYPE OPTIONS 0 0`",
        ));
    }
    let options: Vec<String> = f[3]
        .split(',')
        .filter(|x| !x.is_empty() && *x != "defaults")
        .map(String::from)
        .collect();
    let bind = options.iter().any(|x| x == "bind" || x == "rbind");
    Ok(MountWish {
        source: f[0].clone(),
        target: format!("/{}", f[1].trim_start_matches('/')),
        fstype: if bind { "bind".into() } else { f[2].clone() },
        options,
    })
}

fn idmap(lines: &Values) -> Result<Option<IdMapWish>, Box<MapError>> {
    if lines.is_empty() {
        return Ok(None);
    }
    let mut w = IdMapWish::default();
    for (v, o) in lines {
        let f: Vec<&str> = v.split_whitespace().collect();
        let nums: Option<Vec<u32>> = f
            .get(1..4)
            .map(|s| s.iter().filter_map(|n| n.parse().ok()).collect());
        let bad = || {
            err(
                o,
                "lxc.idmap",
                v,
                "expected `u|g INSIDE OUTSIDE COUNT`",
                "write e.g. `u 0 100000 65536`",
            )
        };
        let nums = nums.filter(|n| n.len() == 3).ok_or_else(bad)?;
        if nums[0] != 0 {
            return Err(err(
                o,
                "lxc.idmap",
                v,
                "lxnest maps container root (0) first and one range per kind",
                "start the range at 0: `u 0 OUTSIDE COUNT`",
            ));
        }
        match f[0] {
            "u" => w.uid = Some(nums[1]),
            "g" => w.gid = Some(nums[1]),
            _ => return Err(bad()),
        }
        w.count = Some(w.count.map_or(nums[2], |c| c.min(nums[2])));
    }
    Ok(Some(w))
}

fn cap_drop(drop: &Values, keep: &Values) -> Result<Vec<String>, Box<MapError>> {
    let names = |vals: &Values| -> Result<Vec<String>, Box<MapError>> {
        let mut out = Vec::new();
        for (v, o) in vals {
            for cap in v.split_whitespace() {
                let c = cap
                    .trim_start_matches("cap_")
                    .trim_start_matches("CAP_")
                    .to_ascii_lowercase();
                if c != "none" && !caps::known(&c) {
                    return Err(err(
                        o,
                        "lxc.cap",
                        v,
                        &format!("unknown capability `{cap}`"),
                        "use names like sys_admin (see capabilities(7))",
                    ));
                }
                out.push(c);
            }
        }
        Ok(out)
    };
    let drop = names(drop)?;
    let keep = names(keep)?;
    if keep.is_empty() {
        return Ok(drop);
    }
    // lxc.cap.keep: everything not listed is dropped.
    Ok(caps::ALL
        .iter()
        .map(|s| s.to_string())
        .filter(|c| !keep.contains(c))
        .chain(drop)
        .collect())
}

fn network(
    eff: &BTreeMap<String, Values>,
    notes: &mut Vec<String>,
) -> Result<NetworkWish, Box<MapError>> {
    let kind = eff.get("lxc.net.0.type").and_then(|v| v.last().cloned());
    let mode = match kind.as_ref().map(|(v, o)| (v.as_str(), o)) {
        None | Some(("empty", _)) => NetworkMode::Loopback,
        Some(("veth", _)) => NetworkMode::Bridge,
        Some(("none", o)) => {
            notes.push(format!("lxc.net.0.type = none ({o}) would share the host's network; lxnest gives the container loopback only"));
            NetworkMode::Loopback
        }
        Some((other, o)) => {
            notes.push(format!(
                "lxc.net.0.type = {other} ({o}) is not supported; lxnest uses a veth on its bridge"
            ));
            NetworkMode::Bridge
        }
    };
    for k in [
        "lxc.net.0.link",
        "lxc.net.0.ipv4.address",
        "lxc.net.0.ipv4.gateway",
    ] {
        if let Some((v, o)) = eff.get(k).and_then(|v| v.last()) {
            notes.push(format!(
                "{k} = {v} ({o}): lxnest picks bridge, address and gateway so they never collide"
            ));
        }
    }
    // lxnest gives a container one interface: every key of a second one is named, not dropped.
    for (k, vals) in eff {
        let Some(rest) = k.strip_prefix("lxc.net.") else {
            continue;
        };
        let index = rest.split('.').next().unwrap_or_default();
        if index != "0" && index.bytes().all(|b| b.is_ascii_digit()) && !index.is_empty() {
            if let Some((v, o)) = vals.last() {
                notes.push(format!(
                    "{k} = {v} ({o}): lxnest gives the container one network interface (lxc.net.0); interface {index} is not created"
                ));
            }
        }
    }
    let mtu = eff
        .get("lxc.net.0.mtu")
        .and_then(|v| v.last())
        .and_then(|(v, _)| v.parse().ok());
    Ok(NetworkWish {
        mode: Some(mode),
        mtu,
        ..Default::default()
    })
}

/// Whether the config asks for nesting, and which line says so. Debian's stock nesting.conf
/// sets the nesting AppArmor profile and mounts uncovered proc and sys under /dev/.lxc, the
/// other spellings are LXC's switches.
fn nesting(eff: &BTreeMap<String, Values>) -> Option<String> {
    let last = |k: &str| eff.get(k).and_then(|v| v.last());
    for k in ["lxc.apparmor.allow_nesting", "lxc.seccomp.allow_nesting"] {
        if let Some((v, o)) = last(k).filter(|(v, _)| v == "1") {
            return Some(format!("{k} = {v} ({o})"));
        }
    }
    if let Some((v, o)) = last("lxc.apparmor.profile").filter(|(v, _)| v.contains("nesting")) {
        return Some(format!("lxc.apparmor.profile = {v} ({o})"));
    }
    let entries = eff.get("lxc.mount.entry").into_iter().flatten();
    for (v, o) in entries {
        let target = v.split_whitespace().nth(1).unwrap_or_default();
        if ["dev/.lxc/proc", "dev/.lxc/sys"].contains(&target.trim_matches('/')) {
            return Some(format!("lxc.mount.entry = {v} ({o})"));
        }
    }
    None
}

/// Split `lxc.execute.cmd` as LXC's `lxc_string_split_quoted` does: blanks separate words, a
/// word that starts with `"` or `'` runs to the same quote (no escapes).
pub fn split_quoted(v: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut chars = v.chars().peekable();
    while let Some(&c) = chars.peek() {
        if c.is_ascii_whitespace() {
            chars.next();
            continue;
        }
        let mut word = String::new();
        if c == '"' || c == '\'' {
            chars.next();
            for d in chars.by_ref() {
                if d == c {
                    out.push(std::mem::take(&mut word));
                    break;
                }
                word.push(d);
            }
            // An unterminated quote drops the word, as LXC does.
            continue;
        }
        while let Some(&d) = chars.peek() {
            if d.is_ascii_whitespace() {
                break;
            }
            word.push(d);
            chars.next();
        }
        out.push(word);
    }
    out
}

/// Device nodes lxnest knows how to pass through, from `devices.allow` lines (`c 10:229 rwm`).
fn devices(c: &mut ContainerSpec, v1: &Values, v2: &Values) {
    for (v, _) in v1.iter().chain(v2) {
        let f: Vec<&str> = v.split_whitespace().collect();
        let Some((maj, min)) = f.get(1).and_then(|n| n.split_once(':')) else {
            continue;
        };
        let (Ok(maj), Ok(min)) = (maj.parse::<u32>(), min.parse::<u32>()) else {
            continue;
        };
        for path in crate::plan::devices::known_paths() {
            let known =
                crate::plan::devices::lookup(path).filter(|d| d.major == maj && d.minor == min);
            let default = crate::plan::devices::DEFAULT.contains(&path);
            if known.is_some() && !default && !c.devices.iter().any(|d| d == path) {
                c.devices.push(path.to_string());
            }
        }
    }
}

/// Loading an LXC config as a stack failed.
#[derive(Debug, Error)]
pub enum LoadError {
    /// Reading the config.
    #[error(transparent)]
    Config(#[from] crate::lxc::config::LxcConfigError),
    /// Mapping a value.
    #[error(transparent)]
    Map(#[from] Box<MapError>),
    /// The mapped container is not a valid spec (name, values), or a file it names is unreadable.
    #[error(transparent)]
    Spec(#[from] crate::spec::SpecError),
}

/// Read an LXC config file and map it onto a one-container stack, ready to plan.
pub fn load(path: &std::path::Path, name: Option<&str>) -> Result<Mapped, LoadError> {
    let cfg = crate::lxc::config::read(path)?;
    let mut mapped = map(&cfg, name)?;
    crate::spec::validate_values::stack_name(&mapped.stack.name, &cfg.file)?;
    crate::spec::validate::containers(&mapped.stack.containers, &cfg.file)?;
    for c in &mut mapped.stack.containers {
        crate::spec::load::read_seccomp_files(c)?;
    }
    Ok(mapped)
}

/// Whether a file looks like an LXC config rather than a YAML spec: its first meaningful line
/// is an `lxc.` key.
pub fn looks_like_lxc(text: &str) -> bool {
    text.lines()
        .map(str::trim)
        .find(|l| !l.is_empty() && !l.starts_with('#'))
        .is_some_and(|l| l.starts_with("lxc."))
}

#[cfg(test)]
#[path = "to_spec_tests.rs"]
mod tests;
