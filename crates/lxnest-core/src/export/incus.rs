//! An Incus/LXD profile for one container: the effective seccomp filter as `raw.seccomp`,
//! lxnest's AppArmor deny rules as `raw.apparmor`, the capability set as `raw.lxc`, and the
//! plan's privilege, id map, limits, environment and extra devices as Incus keys.

use super::{effective, header, object_name, ExportError};
use crate::plan::model::{LevelPlan, Plan};
use crate::seccomp::Policy;
use serde_json::{json, Map, Value};
use std::collections::BTreeMap;

/// Devices every Incus container has already (its defaults, or optional binds it adds).
const INCUS_DEVICES: &[&str] = &[
    "/dev/null",
    "/dev/zero",
    "/dev/full",
    "/dev/random",
    "/dev/urandom",
    "/dev/tty",
    "/dev/console",
    "/dev/ptmx",
    "/dev/fuse",
    "/dev/net/tun",
];

/// AppArmor variables are expanded at most this deep (they may name each other).
const VARIABLE_DEPTH: usize = 4;

/// The profile YAML for container `c` (`chain`: its ancestors and itself, outermost first).
pub fn render(plan: &Plan, c: &LevelPlan, chain: &[&LevelPlan]) -> Result<String, ExportError> {
    let policies: Vec<&Policy> = chain.iter().map(|l| &*l.seccomp.own).collect();
    let flat = effective::flatten(&policies);
    let name = object_name(plan, c)?;
    let ctx = json!({
        "path": c.path,
        "depth": c.depth,
        "stack": plan.stack,
        "name": name,
        "chain": chain.iter().map(|l| l.path.as_str()).collect::<Vec<_>>(),
        "notes": super::note_lines(&flat.notes),
    });
    let mut out = header("incus", &ctx, &c.path)?;
    let mut config = Map::new();
    config.insert("raw.seccomp".into(), json!(raw_seccomp(&flat.policy)));
    config.insert("raw.apparmor".into(), json!(raw_apparmor(chain)));
    config.insert("raw.lxc".into(), json!(raw_lxc(c)));
    security(c, &mut config);
    limits(c, &mut config);
    // `container` names the container manager to systemd: Incus sets its own.
    for (k, v) in c.init.environment.iter().filter(|(k, _)| *k != "container") {
        config.insert(format!("environment.{k}"), json!(v));
    }
    // No `name`: the command line gives it (`incus profile create NAME`).
    let doc = json!({
        "description": format!("lxnest {} / {}", plan.stack, c.path),
        "config": config,
        "devices": devices(c),
    });
    let yaml = serde_yaml_ng::to_string(&doc).map_err(|source| ExportError::Yaml {
        container: c.path.clone(),
        what: "Incus profile",
        source,
    })?;
    out.push_str(&yaml);
    Ok(out)
}

/// LXC seccomp v2 text of the flat filter, every rule in `[all]` as LXC's and Incus's own
/// policies write them. x32 thereby gets the x86_64 rules, not lxnest's refusal of every x32
/// call: with an `[x32]` section that refuses every syscall, LXC 5.0 (Debian 12) could not
/// start the container at all, where a one-rule `[x32]` section started (found in the LXD of
/// tests/export_lxd_root.rs), so the export says so instead (docs/export.md).
pub fn raw_seccomp(p: &Policy) -> String {
    let mut p = p.clone();
    for r in &mut p.rules {
        r.arches = crate::seccomp::lxc_text::ALL_ARCHES.to_vec();
    }
    crate::seccomp::lxc_text::render(&p)
}

/// The deny rules of every profile along the chain (stacking makes each of them hold), with
/// the profiles' own variables expanded: `raw.apparmor` lands inside Incus's profile, where
/// they are not defined.
pub fn raw_apparmor(chain: &[&LevelPlan]) -> String {
    let mut out = String::from("# lxnest: deny rules of the profiles stacked on this container\n");
    let mut seen = std::collections::BTreeSet::new();
    for l in chain {
        let vars = variables(&l.apparmor.text);
        for line in l.apparmor.text.lines().map(str::trim) {
            let is_deny = line.starts_with("deny ") || line.starts_with("audit deny ");
            if !is_deny || !line.ends_with(',') {
                continue;
            }
            for rule in expand(line, &vars, VARIABLE_DEPTH) {
                if seen.insert(rule.clone()) {
                    out.push_str(&rule);
                    out.push('\n');
                }
            }
        }
    }
    out
}

/// `@{name}=a b` definitions at the top level of a profile text.
fn variables(text: &str) -> BTreeMap<String, Vec<String>> {
    text.lines()
        .filter_map(|l| {
            let l = l.trim();
            let (name, values) = l.split_once('=')?;
            let name = name.trim();
            (name.starts_with("@{") && name.ends_with('}')).then(|| {
                (
                    name.to_string(),
                    values.split_whitespace().map(str::to_string).collect(),
                )
            })
        })
        .collect()
}

/// The rule once per value of its first variable, recursively; a variable the profile does not
/// define leaves the rule out (Incus's profile would refuse it).
fn expand(rule: &str, vars: &BTreeMap<String, Vec<String>>, depth: usize) -> Vec<String> {
    let Some(start) = rule.find("@{") else {
        return vec![rule.to_string()];
    };
    let Some(len) = rule[start..].find('}') else {
        return Vec::new();
    };
    let var = &rule[start..start + len + 1];
    match (vars.get(var), depth) {
        (Some(values), 1..) => values
            .iter()
            .flat_map(|v| expand(&rule.replacen(var, v, 1), vars, depth - 1))
            .collect(),
        _ => Vec::new(),
    }
}

/// What of lxnest's LXC fragment Incus lets a profile say: the capability set, as the drops
/// (Incus sets `lxc.cap.drop` itself, and LXC refuses `lxc.cap.keep` beside it), and the
/// filter's loading where a filter is already in place.
pub fn raw_lxc(c: &LevelPlan) -> String {
    let drop: Vec<&str> = crate::plan::caps::ALL
        .iter()
        .copied()
        .filter(|cap| !c.capabilities.iter().any(|k| k == cap))
        .collect();
    let mut out = String::from(
        "# lxnest: the capabilities the plan keeps, as drops. Left to Incus: rootfs, network,\n\
         # mounts, the cgroup device policy, hooks and the init command (docs/export.md).\n\
         # allow_nesting: LXC loads raw.seccomp also where Incus itself runs under a filter\n\
         # (nested); without it LXC would skip it there.\n\
         lxc.seccomp.allow_nesting = 1\n",
    );
    if !drop.is_empty() {
        out.push_str(&format!("lxc.cap.drop = {}\n", drop.join(" ")));
    }
    out
}

fn security(c: &LevelPlan, config: &mut Map<String, Value>) {
    let flag = |b: bool| json!(if b { "true" } else { "false" });
    config.insert("security.nesting".into(), flag(c.runtime.is_some()));
    config.insert("security.privileged".into(), flag(c.idmap.is_none()));
    if let Some(map) = &c.idmap {
        // The block the plan gives this container in its parent's id space, kept to itself.
        let base = map.uid.iter().map(|l| l.outside).min().unwrap_or(0);
        let size: u64 = map.uid.iter().map(|l| u64::from(l.count)).sum();
        config.insert("security.idmap.isolated".into(), flag(true));
        config.insert("security.idmap.base".into(), json!(base.to_string()));
        config.insert("security.idmap.size".into(), json!(size.to_string()));
    }
}

fn limits(c: &LevelPlan, config: &mut Map<String, Value>) {
    let l = &c.cgroup.limits;
    if let Some(m) = l.memory {
        config.insert("limits.memory".into(), json!(format!("{m}B")));
    }
    if let Some(p) = l.pids {
        config.insert("limits.processes".into(), json!(p.to_string()));
    }
    if let Some((quota, period)) = l.cpu {
        config.insert(
            "limits.cpu.allowance".into(),
            json!(format!("{}/{}", duration(quota), duration(period))),
        );
    }
}

/// Microseconds as Incus's allowance takes them (`50ms`, `12500us`).
fn duration(us: u64) -> String {
    if us.is_multiple_of(1000) {
        format!("{}ms", us / 1000)
    } else {
        format!("{us}us")
    }
}

/// The plan's devices that Incus does not give every container, as `unix-char`/`unix-block`.
fn devices(c: &LevelPlan) -> Value {
    let mut out = Map::new();
    for d in c
        .devices
        .iter()
        .filter(|d| !INCUS_DEVICES.contains(&d.path.as_str()))
    {
        let name: String = d
            .path
            .trim_start_matches("/dev/")
            .chars()
            .map(|ch| if ch.is_ascii_alphanumeric() { ch } else { '-' })
            .collect();
        let kind = if d.kind == 'b' {
            "unix-block"
        } else {
            "unix-char"
        };
        out.insert(
            name,
            json!({
                "type": kind,
                "path": d.path,
                "major": d.major.to_string(),
                "minor": d.minor.to_string(),
            }),
        );
    }
    Value::Object(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn variables_expand_and_unknown_ones_drop_the_rule() {
        let text = "@{a}=/x /y\n@{b}=@{a}/sys\nprofile p {\n}\n";
        let vars = variables(text);
        assert_eq!(
            expand("deny @{b}/** w,", &vars, VARIABLE_DEPTH),
            vec!["deny /x/sys/** w,", "deny /y/sys/** w,"]
        );
        assert!(expand("deny @{PROC}/** w,", &vars, VARIABLE_DEPTH).is_empty());
    }

    #[test]
    fn durations_read_as_incus_reads_them() {
        assert_eq!(duration(50_000), "50ms");
        assert_eq!(duration(12_500), "12500us");
    }
}
