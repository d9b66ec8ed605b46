//! `mounts` of a config.json as lxnest's [`MountPlan`]s. lxnest gives every container its own
//! /proc (with its masks), /dev (with devpts, shm and mqueue), /sys and cgroupfs; an engine's
//! entries for those are replaced by lxnest's, and anything else below them is refused (it
//! would be mounted before lxnest's /dev, /proc and /sys and end up hidden under them).

use super::config::Mount;
use super::error::OciError;
use crate::origin::Origin;
use crate::plan::model::MountPlan;

/// Destinations lxnest mounts itself, with the types an engine gives them.
const OWN: &[(&str, &[&str])] = &[
    ("/proc", &["proc"]),
    ("/dev", &["tmpfs", "devtmpfs"]),
    ("/dev/pts", &["devpts"]),
    ("/dev/shm", &["tmpfs", "bind", "shm"]),
    ("/dev/mqueue", &["mqueue"]),
    ("/sys", &["sysfs"]),
    ("/sys/fs/cgroup", &["cgroup", "cgroup2"]),
];

/// Options passed on to the mount (flags and filesystem data).
const FLAGS: &[&str] = &[
    "ro", "rw", "bind", "rbind", "nosuid", "nodev", "noexec", "noatime", "relatime", "defaults",
];

/// Options that change nothing under lxnest: every mount it makes is private already, and the
/// others restate the kernel's defaults.
const NO_OPS: &[&str] = &[
    "private",
    "rprivate",
    "suid",
    "dev",
    "exec",
    "atime",
    "strictatime",
    "tmpcopyup",
    "notmpcopyup",
];

fn normal(dest: &str) -> String {
    let t = dest.trim_end_matches('/');
    if t.is_empty() {
        "/".into()
    } else {
        t.into()
    }
}

/// Translates `mounts`; `bundle` makes relative bind sources absolute.
pub fn translate(mounts: &[Mount], bundle: &str, file: &str) -> Result<Vec<MountPlan>, OciError> {
    let mut out = Vec::new();
    for (i, m) in mounts.iter().enumerate() {
        let field = |k: &str| format!("mounts[{i}].{k}");
        let unsupported = |k: &str, why: String| OciError::Unsupported {
            file: file.into(),
            field: field(k),
            why,
        };
        let dest = normal(&m.destination);
        if !dest.starts_with('/') || dest.split('/').any(|c| c == "..") {
            return Err(OciError::Invalid {
                file: file.into(),
                field: field("destination"),
                why: format!("`{}` must be an absolute path without `..`", m.destination),
            });
        }
        let is_bind = m.kind.as_deref() == Some("bind")
            || m.options.iter().any(|o| o == "bind" || o == "rbind");
        let kind = if is_bind {
            "bind"
        } else {
            m.kind.as_deref().unwrap_or("")
        };
        if let Some((_, kinds)) = OWN.iter().find(|(d, _)| *d == dest) {
            if kinds.contains(&kind) {
                continue; // lxnest's own, with lxnest's masks and flags
            }
            return Err(unsupported(
                "type",
                format!("lxnest mounts {dest} itself; a `{kind}` mount there is not offered"),
            ));
        }
        if ["/proc/", "/dev/", "/sys/"]
            .iter()
            .any(|p| dest.starts_with(p))
        {
            return Err(unsupported(
                "destination",
                format!("{dest} lies below a filesystem lxnest mounts itself after the config's mounts; ask for a device in `linux.devices` instead"),
            ));
        }
        if !m.uid_mappings.is_empty()
            || !m.gid_mappings.is_empty()
            || m.options.iter().any(|o| o == "idmap" || o == "ridmap")
        {
            return Err(unsupported(
                "uidMappings",
                "id-mapped mounts are not offered".into(),
            ));
        }
        let mut options = Vec::new();
        for o in &m.options {
            if NO_OPS.contains(&o.as_str()) {
                continue;
            }
            let is_flag = FLAGS.contains(&o.as_str());
            if is_flag || (!is_bind && o.contains('=')) {
                options.push(o.clone());
            } else {
                return Err(unsupported(
                    "options",
                    format!("mount option `{o}` is not offered (lxnest's mounts are private; supported: {}, and key=value data of a filesystem)", FLAGS.join(", ")),
                ));
            }
        }
        if kind.is_empty() {
            return Err(OciError::Invalid {
                file: file.into(),
                field: field("type"),
                why: "a mount without a type must be a bind (`bind` or `rbind` in options)".into(),
            });
        }
        let source = match (&m.source, is_bind) {
            (Some(s), true) if !s.starts_with('/') => format!("{bundle}/{s}"),
            (Some(s), _) => s.clone(),
            (None, true) => {
                return Err(OciError::Invalid {
                    file: file.into(),
                    field: field("source"),
                    why: "a bind mount needs a source".into(),
                })
            }
            (None, false) => kind.to_string(),
        };
        out.push(MountPlan {
            source,
            target: dest,
            fstype: kind.into(),
            options,
            origin: Origin::new(file, 0),
        });
    }
    Ok(out)
}
