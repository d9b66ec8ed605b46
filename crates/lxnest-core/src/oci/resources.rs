//! `linux.cgroupsPath`, `linux.resources` and `linux.devices` as lxnest's cgroup and device
//! plans. lxnest limits memory, tasks and CPU bandwidth; a limit it cannot set is refused by
//! name. The device rules of `linux.resources.devices` need no translation: lxnest allows
//! exactly the nodes it creates (its defaults and `linux.devices`), which is never more.

use super::config::Linux;
use super::context::Context;
use super::error::OciError;
use crate::plan::model::{CgroupPlan, DevicePlan, LimitPlan, Premount};
use serde_json::Value;
use std::collections::BTreeMap;

fn unsupported(c: &Context, field: String, why: &str) -> OciError {
    OciError::Unsupported {
        file: c.file.clone(),
        field,
        why: why.into(),
    }
}

fn set(v: &Value) -> bool {
    !(v.is_null()
        || v == &Value::from(0)
        || v.as_object().is_some_and(|o| o.is_empty())
        || v.as_array().is_some_and(|a| a.is_empty()))
}

fn int(map: &BTreeMap<String, Value>, key: &str) -> Option<i64> {
    map.get(key).and_then(Value::as_i64)
}

/// Refuses keys of `map` other than `known` that carry a value.
fn only(
    map: &BTreeMap<String, Value>,
    known: &[&str],
    at: &str,
    c: &Context,
) -> Result<(), OciError> {
    match map
        .iter()
        .find(|(k, v)| !known.contains(&k.as_str()) && set(v))
    {
        Some((k, _)) => Err(unsupported(
            c,
            format!("{at}.{k}"),
            "lxnest limits memory.limit, pids.limit, cpu.quota and cpu.period only",
        )),
        None => Ok(()),
    }
}

fn cgroup_path(linux: &Linux, c: &Context) -> Result<(String, bool), OciError> {
    let Some(p) = linux.cgroups_path.as_deref().filter(|p| !p.is_empty()) else {
        return Ok((format!("lxnest-oci/{}", c.name), false));
    };
    if p.contains(':') {
        return Err(unsupported(c, "linux.cgroupsPath".into(), &format!("`{p}` is a systemd slice path; lxnest manages cgroupfs itself (podman --cgroup-manager=cgroupfs; containerd SystemdCgroup = false)")));
    }
    let rel = p.trim_start_matches('/');
    if rel.is_empty()
        || rel
            .split('/')
            .any(|s| s.is_empty() || s == "." || s == "..")
    {
        return Err(OciError::Invalid {
            file: c.file.clone(),
            field: "linux.cgroupsPath".into(),
            why: format!(
                "`{p}` must name a cgroup below the root, without empty, `.` or `..` parts"
            ),
        });
    }
    Ok((rel.to_string(), p.starts_with('/')))
}

/// The cgroup plan, and whether its path is rooted at the cgroup mount.
pub fn cgroup(linux: &Linux, nesting: bool, c: &Context) -> Result<(CgroupPlan, bool), OciError> {
    let (path, absolute) = cgroup_path(linux, c)?;
    let mut limits = LimitPlan::default();
    if let Some(r) = &linux.resources {
        if let Some((k, _)) = r.other.iter().find(|(_, v)| set(v)) {
            return Err(unsupported(
                c,
                format!("linux.resources.{k}"),
                "lxnest limits memory, pids and cpu bandwidth only",
            ));
        }
        if let Some(m) = &r.memory {
            only(
                m,
                &[
                    "limit",
                    "disableOOMKiller",
                    "useHierarchy",
                    "checkBeforeUpdate",
                ],
                "linux.resources.memory",
                c,
            )?;
            if m.get("disableOOMKiller")
                .is_some_and(|v| v == &Value::Bool(true))
            {
                return Err(unsupported(
                    c,
                    "linux.resources.memory.disableOOMKiller".into(),
                    "the OOM killer stays on",
                ));
            }
            limits.memory = int(m, "limit").filter(|l| *l > 0).map(|l| l as u64);
        }
        if let Some(p) = &r.pids {
            only(p, &["limit"], "linux.resources.pids", c)?;
            limits.pids = int(p, "limit").filter(|l| *l > 0).map(|l| l as u64);
        }
        if let Some(cpu) = &r.cpu {
            // 1024 is the kernel's default weight (containerd writes it always): no setting.
            let mut cpu = cpu.clone();
            if cpu.get("shares") == Some(&Value::from(1024)) {
                cpu.remove("shares");
            }
            let cpu = &cpu;
            only(cpu, &["quota", "period"], "linux.resources.cpu", c)?;
            let quota = int(cpu, "quota").filter(|q| *q > 0);
            let period = cpu.get("period").and_then(Value::as_u64).filter(|p| *p > 0);
            limits.cpu = quota.map(|q| (q as u64, period.unwrap_or(100_000)));
        }
    }
    let controllers = [
        ("memory", limits.memory.is_some()),
        ("pids", limits.pids.is_some()),
        ("cpu", limits.cpu.is_some()),
    ]
    .iter()
    .filter(|(_, on)| *on)
    .map(|(n, _)| n.to_string())
    .collect();
    Ok((
        CgroupPlan {
            path,
            mode: c.cgroup_mode,
            controllers,
            limits,
            delegate: nesting,
            init_leaf: None,
            premount: if nesting {
                Premount::Namespaced
            } else {
                Premount::ReadOnly
            },
        },
        absolute,
    ))
}

/// `linux.devices` as device plans (read, write and mknod of exactly these nodes).
pub fn devices(linux: &Linux, c: &Context) -> Result<Vec<DevicePlan>, OciError> {
    let mut out = Vec::new();
    for (i, d) in linux.devices.iter().enumerate() {
        let kind = match d.kind.as_str() {
            "c" | "u" => 'c',
            "b" => 'b',
            other => {
                return Err(unsupported(
                    c,
                    format!("linux.devices[{i}].type"),
                    &format!("`{other}`: lxnest creates character and block devices only"),
                ))
            }
        };
        if !d.path.starts_with("/dev/") || d.path.split('/').any(|s| s == "..") {
            return Err(OciError::Invalid {
                file: c.file.clone(),
                field: format!("linux.devices[{i}].path"),
                why: format!("`{}` must lie below /dev, without `..`", d.path),
            });
        }
        out.push(DevicePlan {
            path: d.path.clone(),
            kind,
            major: d.major,
            minor: d.minor,
            access: "rwm".into(),
        });
    }
    Ok(out)
}
