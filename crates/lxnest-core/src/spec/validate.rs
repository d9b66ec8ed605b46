//! Checks on a spec that need no plan: names, limits, combinations of values. Errors point at the
//! line of the value at fault (the container's `name:` line for the container as a whole) and
//! say what to write instead. Runtimes, init, network modes and the rootfs syntax are types, so a
//! wrong one is already a parse error at its own line.

use crate::origin::Origin;
use crate::spec::error::SpecError;
use crate::spec::model::{ContainerSpec, NetworkMode, Runtime};
use std::collections::BTreeMap;

/// CPU bandwidth period in microseconds (the kernel's default).
pub const CPU_PERIOD: u64 = 100_000;
/// The smallest CFS quota the kernel accepts, in µs (cgroup v1 `cfs_quota_us`, v2 `cpu.max`).
pub const CPU_QUOTA_MIN: u64 = 1_000;

/// Longest container name (the rule itself lives in [`crate::names`]).
pub use crate::names::NAME_MAX;

/// Validate a list of sibling containers and, recursively, their children.
pub fn containers(list: &[ContainerSpec], source: &str) -> Result<(), SpecError> {
    let mut seen: BTreeMap<&str, &Origin> = BTreeMap::new();
    for c in list {
        if let Some(first) = seen.insert(&c.name, &c.origin) {
            return Err(invalid(
                &c.origin,
                format!(
                    "container name `{}` is used twice among siblings (first at {first})",
                    c.name
                ),
                "give each container at the same level its own name",
            ));
        }
        container(c, source)?;
        containers(&c.children, source)?;
    }
    Ok(())
}

fn container(c: &ContainerSpec, _source: &str) -> Result<(), SpecError> {
    name(c)?;
    if let Some(sig) = &c.halt_signal {
        if crate::signal::number(sig).is_none() {
            return Err(invalid(
                &c.origin_of("halt_signal"),
                format!("container `{}`: unknown halt_signal `{sig}`", c.name),
                "use SIGTERM, SIGINT, SIGHUP, SIGPWR, SIGQUIT, SIGUSR1, SIGUSR2 or SIGRTMIN+N",
            ));
        }
    }
    if c.network.mode == Some(NetworkMode::UserNic) && c.network.link.is_none() {
        return Err(invalid(
            &c.origin_of("network.mode"),
            format!("container `{}`: network mode `user-nic` without `link`", c.name),
            "name the host bridge lxc-user-nic attaches the veth to, e.g. `network: {mode: user-nic, link: lxcbr0}`",
        ));
    }
    limits(c)?;
    crate::spec::validate_values::container(c)?;
    if c.idmap.as_ref().is_some_and(|m| m.privileged) && !c.children.is_empty() {
        return Err(invalid(
            &c.origin_of("idmap.privileged"),
            format!("container `{}` is privileged and hosts containers", c.name),
            "drop `privileged: true`: a nesting host must run in a user namespace so its children cannot reach real root",
        ));
    }
    if c.runtime.is_none() && !c.children.is_empty() {
        return Err(invalid(
            &c.origin,
            format!("container `{}` has children but no `runtime`", c.name),
            &format!(
                "set `runtime: lxnest` (or one of {}) on the container that hosts them",
                Runtime::ALL.map(Runtime::as_str).join(", ")
            ),
        ));
    }
    Ok(())
}

fn name(c: &ContainerSpec) -> Result<(), SpecError> {
    if crate::names::is_valid(&c.name) {
        return Ok(());
    }
    Err(invalid(
        &c.origin,
        format!("container name `{}` is not valid", c.name),
        &format!("use {}", crate::names::RULE),
    ))
}

fn limits(c: &ContainerSpec) -> Result<(), SpecError> {
    if let Some(m) = c
        .limits
        .memory
        .as_ref()
        .filter(|m| *m != crate::spec::model::UNLIMITED_WORD)
    {
        parse_bytes(m).map_err(|why| {
            invalid(
                &c.origin_of("limits.memory"),
                format!("container `{}`: memory `{m}`: {why}", c.name),
                "write e.g. `512M` or `4G`, or `unlimited`",
            )
        })?;
    }
    if c.limits.pids == Some(0) {
        return Err(invalid(
            &c.origin_of("limits.pids"),
            format!("container `{}`: pids 0", c.name),
            "use at least 1, or leave it out",
        ));
    }
    if let Some(cpu) = c.limits.cpu {
        if !(cpu.is_finite() && cpu > 0.0 && cpu <= 4096.0) {
            return Err(invalid(
                &c.origin_of("limits.cpu"),
                format!("container `{}`: cpu {cpu} is out of range", c.name),
                "give a number of cores such as 0.5 or 2",
            ));
        }
        // The kernel refuses a CFS quota (cgroup v1 cfs_quota_us, v2 cpu.max) below 1 ms.
        let quota = (cpu * CPU_PERIOD as f64).round() as u64;
        if quota < CPU_QUOTA_MIN {
            return Err(invalid(
                &c.origin_of("limits.cpu"),
                format!(
                    "container `{}`: cpu {cpu} is a quota of {quota} µs per {CPU_PERIOD} µs, below the kernel's minimum of {CPU_QUOTA_MIN} µs",
                    c.name
                ),
                &format!(
                    "give at least {} cores, or leave `cpu` out for no limit",
                    CPU_QUOTA_MIN as f64 / CPU_PERIOD as f64
                ),
            ));
        }
    }
    Ok(())
}

/// Parse `512M`, `4G`, `1024`, `2GiB` into bytes (suffixes are powers of 1024).
pub fn parse_bytes(s: &str) -> Result<u64, String> {
    let t = s.trim();
    let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let n: u64 = num.parse().map_err(|_| "not a number".to_string())?;
    let mult: u64 = match unit.trim().to_ascii_uppercase().as_str() {
        "" | "B" => 1,
        "K" | "KB" | "KIB" => 1 << 10,
        "M" | "MB" | "MIB" => 1 << 20,
        "G" | "GB" | "GIB" => 1 << 30,
        "T" | "TB" | "TIB" => 1 << 40,
        other => return Err(format!("unknown unit `{other}`")),
    };
    let bytes = n.checked_mul(mult).ok_or_else(|| "too large".to_string())?;
    if bytes < 1 << 20 {
        return Err("below 1M, a container cannot start in that".into());
    }
    Ok(bytes)
}

fn invalid(origin: &Origin, message: String, fix: &str) -> SpecError {
    SpecError::Invalid {
        origin: origin.clone(),
        message,
        fix: fix.into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bytes_with_units() {
        assert_eq!(parse_bytes("512M"), Ok(512 << 20));
        assert_eq!(parse_bytes("4G"), Ok(4 << 30));
        assert_eq!(parse_bytes("2GiB"), Ok(2 << 30));
        assert_eq!(parse_bytes("2097152"), Ok(2 << 20));
        assert!(parse_bytes("12Q").is_err());
        assert!(parse_bytes("G").is_err());
        assert!(parse_bytes("100K").is_err(), "too small to be a real limit");
    }
}
