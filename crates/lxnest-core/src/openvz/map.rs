//! OpenVZ settings -> an lxnest container, with a line per setting saying what happened to it.

use crate::openvz::parse::Settings;
use crate::origin::Origin;
use crate::plan::{caps, devices};
use crate::spec::model::{
    ContainerSpec, HookKind, MountWish, NetworkMode, NetworkWish, Rootfs, RootfsSpec,
};
use serde::Serialize;

/// What became of one setting.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "outcome", content = "detail")]
pub enum Outcome {
    /// Carried over as it was meant.
    Mapped(String),
    /// Carried over with a change of meaning the user should know.
    Adapted(String),
    /// Not carried over, and why.
    NotMapped(String),
}

/// One line of the import report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ReportLine {
    /// OpenVZ setting name.
    pub key: String,
    /// Its value.
    pub value: String,
    /// Where it was set.
    pub origin: Origin,
    /// What happened.
    pub outcome: Outcome,
}

/// OpenVZ counts memory in 4 KiB pages unless a unit is given.
const PAGE: u64 = 4096;

/// UBC beancounters: per-container kernel accounting that cgroups do not reproduce.
const UBC: &[&str] = &[
    "KMEMSIZE",
    "LOCKEDPAGES",
    "PRIVVMPAGES",
    "SHMPAGES",
    "VMGUARPAGES",
    "OOMGUARPAGES",
    "NUMTCPSOCK",
    "NUMFLOCK",
    "NUMPTY",
    "NUMSIGINFO",
    "TCPSNDBUF",
    "TCPRCVBUF",
    "OTHERSOCKBUF",
    "DGRAMRCVBUF",
    "NUMOTHERSOCK",
    "DCACHESIZE",
    "NUMFILE",
    "AVNUMPROC",
    "NUMIPTENT",
];

/// Settings that only describe the container.
const INFO: &[&str] = &[
    "OSTEMPLATE",
    "ORIGIN_SAMPLE",
    "DISABLED",
    "UUID",
    "NAME",
    "DESCRIPTION",
];

/// The container and the report. `ct_file` is the container config's display path: settings from
/// other files (vz.conf) are reported only when used.
pub fn map(ctid: &str, s: &Settings, ct_file: &str) -> (ContainerSpec, Vec<ReportLine>) {
    let mut m = Mapper {
        c: ContainerSpec::default(),
        report: Vec::new(),
        s,
    };
    m.c.name = name(ctid, s.get("HOSTNAME").map(|(v, _)| v.as_str()));
    m.c.origin = Origin::new(ct_file, 0);
    for (key, (value, origin)) in s {
        let used_global = ["VE_PRIVATE", "VE_ROOT", "VE_LAYOUT"].contains(&key.as_str());
        if origin.file != ct_file && !used_global {
            continue;
        }
        let outcome = m.one(key, value);
        m.report.push(ReportLine {
            key: key.clone(),
            value: value.clone(),
            origin: origin.clone(),
            outcome,
        });
    }
    let cpu = m.cpu();
    m.c.limits.cpu = cpu;
    m.c.limits.memory = m.memory();
    // OpenVZ shares the host's ids; lxnest runs the container in a user namespace.
    m.report.push(ReportLine {
        key: "(ids)".into(),
        value: "host uids and gids".into(),
        origin: Origin::new(ct_file, 0),
        outcome: Outcome::Adapted(
            "the container runs in a user namespace: files under the root filesystem owned by host ids \
             0-65535 must be shifted into the container's range (shown by `lxnest plan`) before the first start"
                .into(),
        ),
    });
    (m.c, m.report)
}

struct Mapper<'a> {
    c: ContainerSpec,
    report: Vec<ReportLine>,
    s: &'a Settings,
}

impl Mapper<'_> {
    fn get(&self, k: &str) -> Option<&str> {
        self.s.get(k).map(|(v, _)| v.as_str())
    }

    fn one(&mut self, key: &str, v: &str) -> Outcome {
        use Outcome::*;
        match key {
            "HOSTNAME" => Mapped(format!("container name `{}` (hostname {v})", self.c.name)),
            "VE_PRIVATE" => self.rootfs(v),
            "IP_ADDRESS" | "NETIF" => {
                self.c.network = NetworkWish { mode: Some(NetworkMode::Bridge), ..Default::default() };
                Adapted(format!("a veth on lxnest's bridge, with an address lxnest picks; the old {key} `{v}` is not kept (venet routes host addresses, lxnest never touches the host's network)"))
            }
            "NAMESERVER" | "SEARCHDOMAIN" => self.dns(key, v),
            "PHYSPAGES" | "SLMMEMORYLIMIT" => {
                let unit = if key == "PHYSPAGES" { PAGE } else { 1 };
                match limit_bytes(v, unit) {
                    Err(why) => NotMapped(why),
                    Ok(None) => match self.memory() {
                        Some(m) => Mapped(format!("unlimited here; limits.memory {m} comes from the other memory setting")),
                        None => Mapped("no memory limit (unlimited)".into()),
                    },
                    Ok(Some(_)) => match self.memory() {
                        Some(m) if self.get("PHYSPAGES").is_some() && self.get("SLMMEMORYLIMIT").is_some() => {
                            Mapped(format!("limits.memory {m} (the smaller of PHYSPAGES and SLMMEMORYLIMIT)"))
                        }
                        Some(m) => Mapped(format!("limits.memory {m}")),
                        None => Mapped("no memory limit (unlimited)".into()),
                    },
                }
            }
            "NUMPROC" => match limit_count(v) {
                Err(why) => NotMapped(why),
                Ok(Some(n)) => {
                    self.c.limits.pids = Some(n);
                    Mapped(format!("limits.pids {n}"))
                }
                Ok(None) => Mapped("no task limit (unlimited)".into()),
            },
            "CPUS" | "CPULIMIT" => match cpu_value(key, v) {
                Err(why) => NotMapped(why),
                Ok(None) => Mapped("no CPU limit (0 means unlimited)".into()),
                Ok(Some(_)) => match self.cpu() {
                    Some(c) => Mapped(format!("limits.cpu {c} (CPUS and CPULIMIT combined)")),
                    None => Mapped("no CPU limit".into()),
                },
            },
            "CPUUNITS" => NotMapped("a relative CPU weight; lxnest sets CPU bandwidth limits only".into()),
            "SWAPPAGES" => NotMapped("lxnest limits memory, not swap separately".into()),
            "DISKSPACE" | "DISKINODES" | "QUOTATIME" | "QUOTAUGIDLIMIT" => {
                NotMapped("lxnest has no disk quotas: put the container on a filesystem or project quota of its own".into())
            }
            "CAPABILITY" => self.caps(v),
            "DEVICES" => self.devices_list(v),
            "DEVNODES" => self.devnodes(v),
            "BINDMOUNT" => self.binds(v),
            "ONBOOT" => NotMapped("lxnest has no boot service; start the container from a systemd unit".into()),
            "IOPRIO" | "IOLIMIT" | "IOPSLIMIT" => NotMapped("I/O limits are not enforced by lxnest".into()),
            "FEATURES" => NotMapped("OpenVZ kernel features have no lxnest equivalent".into()),
            k if UBC.contains(&k) => NotMapped("a UBC beancounter: cgroups have no equivalent; memory and tasks are limited instead".into()),
            "VE_ROOT" | "VE_LAYOUT" => Mapped("used to find the root filesystem".into()),
            k if INFO.contains(&k) => Mapped("informational only".into()),
            _ => NotMapped("unknown OpenVZ setting".into()),
        }
    }

    fn rootfs(&mut self, private: &str) -> Outcome {
        if self.get("VE_LAYOUT") == Some("ploop") {
            let root = self.get("VE_ROOT").unwrap_or(private).to_string();
            self.c.rootfs = Some(RootfsSpec::Source(Rootfs::Dir(root.to_string())));
            return Outcome::Adapted(format!("rootfs dir:{root}: the ploop image under {private} must be mounted there before the start"));
        }
        self.c.rootfs = Some(RootfsSpec::Source(Rootfs::Dir(private.to_string())));
        Outcome::Mapped(format!("rootfs dir:{private} (simfs private area)"))
    }

    /// OpenVZ rewrote resolv.conf at every start; a start hook does the same inside the container.
    /// Every value is shell-quoted, and the hook is a script of its own (`/bin/sh -c '...'`) so
    /// the arguments LXC appends to a hook (NAME lxc start) reach no command.
    fn dns(&mut self, key: &str, v: &str) -> Outcome {
        let nameserver = key == "NAMESERVER";
        if nameserver && v.trim() == "inherit" {
            return Outcome::Adapted(
                "`inherit` (the host's name servers) writes nothing: the container keeps its own /etc/resolv.conf; list the servers in NAMESERVER to have them written at each start".into(),
            );
        }
        let lines: Vec<String> = if nameserver {
            v.split_whitespace()
                .map(|ip| format!("nameserver {ip}"))
                .collect()
        } else {
            vec![format!("search {}", v.trim())]
        };
        let op = if nameserver { ">" } else { ">>" };
        let quoted: Vec<String> = lines.iter().map(|l| sh_quote(l)).collect();
        let script = format!("printf '%s\\n' {} {op} /etc/resolv.conf", quoted.join(" "));
        self.c
            .hooks
            .slot(HookKind::Start)
            .push(format!("/bin/sh -c {}", sh_quote(&script)));
        Outcome::Mapped(format!(
            "a start hook writes `{}` to /etc/resolv.conf",
            lines.join("; ")
        ))
    }

    fn cpu(&self) -> Option<f64> {
        let get = |k| self.get(k).and_then(|v| cpu_value(k, v).ok().flatten());
        match (get("CPUS"), get("CPULIMIT")) {
            (Some(c), Some(l)) => Some(c.min(l)),
            (c, l) => c.or(l),
        }
    }

    /// The smaller of PHYSPAGES (pages) and SLMMEMORYLIMIT (bytes), as `NM`.
    fn memory(&self) -> Option<String> {
        let get = |k, unit| {
            self.get(k)
                .and_then(|v| limit_bytes(v, unit).ok().flatten())
        };
        let b = match (get("PHYSPAGES", PAGE), get("SLMMEMORYLIMIT", 1)) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }?;
        // The spec's smallest limit is 1M: round up, never down to nothing.
        Some(format!("{}M", b.div_ceil(1 << 20).max(1)))
    }

    fn caps(&mut self, v: &str) -> Outcome {
        let mut dropped = Vec::new();
        let mut refused = Vec::new();
        for item in v.split_whitespace() {
            let (name, state) = item.split_once(':').unwrap_or((item, "on"));
            let cap = name.to_ascii_lowercase();
            match state {
                "off" if caps::known(&cap) => {
                    self.c.capabilities.drop.push(cap.clone());
                    dropped.push(cap);
                }
                _ if caps::DEFAULT_KEEP.contains(&cap.as_str()) => {}
                _ => refused.push(cap),
            }
        }
        match (dropped.is_empty(), refused.is_empty()) {
            (_, true) => Outcome::Mapped(format!("capabilities.drop {}", dropped.join(" "))),
            _ => Outcome::Adapted(format!(
                "dropped: {}; not granted: {} (lxnest keeps its default set plus what a runtime needs)",
                if dropped.is_empty() { "none".into() } else { dropped.join(" ") },
                refused.join(" ")
            )),
        }
    }

    fn add_device(&mut self, path: &str) -> bool {
        if devices::lookup(path).is_none() {
            return false;
        }
        if !devices::DEFAULT.contains(&path) && !self.c.devices.iter().any(|d| d == path) {
            self.c.devices.push(path.into());
        }
        true
    }

    /// `c:10:200:rw b:7:0:rw ...`
    fn devices_list(&mut self, v: &str) -> Outcome {
        let (mut ok, mut bad) = (Vec::new(), Vec::new());
        for item in v.split_whitespace() {
            let f: Vec<&str> = item.split(':').collect();
            let found = match (
                f.first(),
                f.get(1).and_then(|m| m.parse::<u32>().ok()),
                f.get(2).and_then(|m| m.parse::<u32>().ok()),
            ) {
                (Some(&"c"), Some(maj), Some(min)) => devices::known_paths()
                    .into_iter()
                    .find(|p| devices::lookup(p).is_some_and(|d| d.major == maj && d.minor == min)),
                _ => None,
            };
            match found {
                Some(p) if self.add_device(p) => ok.push(p.to_string()),
                _ => bad.push(item.to_string()),
            }
        }
        device_outcome(ok, bad)
    }

    /// `net/tun:rw fuse:rw`
    fn devnodes(&mut self, v: &str) -> Outcome {
        let (mut ok, mut bad) = (Vec::new(), Vec::new());
        for item in v.split_whitespace() {
            let path = format!("/dev/{}", item.split(':').next().unwrap_or(item));
            if self.add_device(&path) {
                ok.push(path);
            } else {
                bad.push(item.to_string());
            }
        }
        device_outcome(ok, bad)
    }

    /// `SRC:DST[:ro]` or `SRC:DST,ro`, space separated.
    fn binds(&mut self, v: &str) -> Outcome {
        let mut done = Vec::new();
        for item in v.split_whitespace() {
            let (spec, ro) = match item
                .strip_suffix(",ro")
                .or_else(|| item.strip_suffix(":ro"))
            {
                Some(s) => (s, true),
                None => (item.trim_end_matches(",rw").trim_end_matches(":rw"), false),
            };
            let Some((src, dst)) = spec.split_once(':') else {
                continue;
            };
            let mut options = vec!["bind".to_string()];
            if ro {
                options.push("ro".into());
            }
            self.c.mounts.push(MountWish {
                source: src.into(),
                target: dst.into(),
                fstype: "bind".into(),
                options,
            });
            done.push(format!("{src} -> {dst}{}", if ro { " (ro)" } else { "" }));
        }
        Outcome::Mapped(format!("bind mounts: {}", done.join(", ")))
    }
}

fn device_outcome(ok: Vec<String>, bad: Vec<String>) -> Outcome {
    if bad.is_empty() {
        Outcome::Mapped(format!("devices {}", ok.join(" ")))
    } else {
        Outcome::Adapted(format!(
            "devices {}; not passed through: {} (lxnest passes only {} and never block devices)",
            if ok.is_empty() {
                "none".into()
            } else {
                ok.join(" ")
            },
            bad.join(" "),
            devices::known_paths().join(", ")
        ))
    }
}

/// OpenVZ's spellings of "no limit": `unlimited`, and LONG_MAX of 32- and 64-bit kernels.
fn is_unlimited(v: &str) -> bool {
    matches!(v, "unlimited" | "2147483647" | "9223372036854775807")
}

/// `barrier:limit` or `limit` -> the limit in bytes; `None` for no limit (`unlimited`, LONG_MAX,
/// 0). A unit (`K`, `KB`, `M`, `MB`, `G`, `GB`, `T`, `TB`, powers of 1024; `P` pages) may follow a
/// decimal number; without one the number counts `unit` bytes (PHYSPAGES counts 4 KiB pages).
fn limit_bytes(v: &str, unit: u64) -> Result<Option<u64>, String> {
    let limit = v.rsplit(':').next().unwrap_or(v).trim();
    if is_unlimited(limit) || limit == "0" {
        return Ok(None);
    }
    let split = limit
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(limit.len());
    let (num, suffix) = limit.split_at(split);
    let bad = || format!("`{v}` is not a size (write e.g. 262144, 1024M or 1.5G)");
    let mult = match suffix.to_ascii_uppercase().as_str() {
        "" => unit,
        "B" => 1,
        "K" | "KB" => 1 << 10,
        "M" | "MB" => 1 << 20,
        "G" | "GB" => 1 << 30,
        "T" | "TB" => 1 << 40,
        "P" => PAGE,
        _ => return Err(bad()),
    };
    let n: f64 = num.parse().map_err(|_| bad())?;
    let bytes = n * mult as f64;
    if !bytes.is_finite() || bytes >= u64::MAX as f64 {
        return Err(bad());
    }
    Ok((bytes >= 1.0).then_some(bytes.ceil() as u64))
}

/// `barrier:limit` or `limit` -> a count; `None` for no limit.
fn limit_count(v: &str) -> Result<Option<u64>, String> {
    let limit = v.rsplit(':').next().unwrap_or(v).trim();
    if is_unlimited(limit) || limit == "0" {
        return Ok(None);
    }
    match limit.parse::<u64>() {
        Ok(n) if n < i64::MAX as u64 => Ok(Some(n)),
        _ => Err(format!("`{v}` is not a number")),
    }
}

/// CPUS (a number of CPUs) or CPULIMIT (percent of one CPU, `%` optional) in cores; 0 is
/// OpenVZ's "unlimited".
fn cpu_value(key: &str, v: &str) -> Result<Option<f64>, String> {
    let t = v.trim();
    let t = if key == "CPULIMIT" {
        t.trim_end_matches('%')
    } else {
        t
    };
    match t.parse::<f64>() {
        Ok(0.0) => Ok(None),
        Ok(x) if x.is_finite() && x > 0.0 => {
            Ok(Some(if key == "CPULIMIT" { x / 100.0 } else { x }))
        }
        _ => Err(format!("`{v}` is not a number of CPUs or a percentage")),
    }
}

/// Quote `s` for a POSIX shell: single quotes, each `'` written as `'\''`.
pub fn sh_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', "'\\''"))
}

/// A container name from the hostname's first label, else `ct<CTID>`.
fn name(ctid: &str, hostname: Option<&str>) -> String {
    let from_host = hostname.and_then(|h| h.split('.').next()).map(|l| {
        l.to_ascii_lowercase()
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
            .collect::<String>()
    });
    match from_host {
        Some(n) if !n.is_empty() && !n.starts_with('-') && n.len() <= 32 => n,
        _ => format!(
            "ct{}",
            ctid.chars()
                .filter(|c| c.is_ascii_alphanumeric())
                .collect::<String>()
                .to_ascii_lowercase()
        ),
    }
}

#[cfg(test)]
#[path = "map_tests.rs"]
mod tests;
