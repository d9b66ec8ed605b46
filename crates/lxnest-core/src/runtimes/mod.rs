//! What lxnest writes into a nesting host for the runtime it hosts: LXC's lxc-net settings and
//! default.conf, Docker's daemon.json, Podman's containers.conf, policy.json and registries.conf,
//! LXD's preseed, and root's /etc/subuid and /etc/subgid with the id range the plan reserved.
//! Pure: the texts come from `policy/runtimes/` and the [`LevelPlan`]; the start sequence writes
//! them inside the container's root (see `lxnest::rootfs::runtime_etc`) and `lxnest generate`
//! writes them next to the other artifacts.

use crate::plan::model::{BridgePlan, LevelPlan};
use crate::spec::model::Runtime;
use std::collections::BTreeMap;

/// Templates by name, compiled in.
const TEMPLATES: &[(&str, &str)] = &[
    (
        "lxc-net",
        include_str!("../../../../policy/runtimes/lxc-net.hbs"),
    ),
    (
        "lxc-default",
        include_str!("../../../../policy/runtimes/lxc-default.conf.hbs"),
    ),
    (
        "docker-daemon",
        include_str!("../../../../policy/runtimes/docker-daemon.json.hbs"),
    ),
    (
        "podman-containers",
        include_str!("../../../../policy/runtimes/podman-containers.conf.hbs"),
    ),
    (
        "lxd-preseed",
        include_str!("../../../../policy/runtimes/lxd-preseed.yaml.hbs"),
    ),
];

/// Podman's image trust policy: Debian's default (accept what is pulled or loaded).
const PODMAN_POLICY: &str = include_str!("../../../../policy/runtimes/podman-policy.json");

/// /etc/default/lxc for a root without one: Debian's lxc-net reads lxc-net through it.
const LXC_DEFAULTS: &str = include_str!("../../../../policy/runtimes/lxc-default-lxc");

/// Podman's registries: none searched for short names, so it stays offline.
const PODMAN_REGISTRIES: &str = include_str!("../../../../policy/runtimes/podman-registries.conf");

/// Rendering failed (only a defect in a template can cause this).
#[derive(Debug, thiserror::Error)]
pub enum RuntimeConfigError {
    /// A template did not compile or render.
    #[error("runtime config template {name}: {message}")]
    Template {
        /// Template name.
        name: &'static str,
        /// What went wrong.
        message: String,
    },
}

/// One file for the container's root.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuntimeFile {
    /// Absolute path inside the container (`/etc/default/lxc-net`).
    pub path: &'static str,
    /// Contents.
    pub text: String,
    /// How it meets a file already there.
    pub mode: WriteMode,
}

/// How a runtime file meets one the rootfs already has.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WriteMode {
    /// lxnest's text replaces it.
    Replace,
    /// Its `root:` line is replaced and the rest kept (/etc/subuid in a distribution's rootfs).
    MergeRootLine,
    /// Written only where there is none (a distribution's own /etc/default/lxc stays).
    IfAbsent,
}

/// Renders template `name`: every `{{key}}` is replaced by `ctx[key]`; a `{{#if key}}` ...
/// `{{/if}}` section (not nested) is kept when `ctx[key]` is non-empty. A small renderer of our
/// own rather than handlebars: the start sequence renders in the container's child process,
/// before pivot_root, on a stack too small for handlebars' parser.
fn render(name: &'static str, ctx: &Ctx) -> Result<String, RuntimeConfigError> {
    let fail = |message: String| RuntimeConfigError::Template { name, message };
    let text = TEMPLATES
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, t)| *t)
        .ok_or_else(|| fail("no such template".into()))?;
    let vars = ctx.vars();
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    let mut skipping = false;
    while let Some(open) = rest.find("{{") {
        if !skipping {
            out.push_str(&rest[..open]);
        }
        let after = &rest[open + 2..];
        let close = after.find("}}").ok_or_else(|| fail("unclosed {{".into()))?;
        let tag = after[..close].trim();
        rest = &after[close + 2..];
        if let Some(key) = tag.strip_prefix("#if ") {
            let v = vars
                .get(key.trim())
                .ok_or_else(|| fail(format!("unknown key {key}")))?;
            skipping = v.is_empty();
            // A section tag alone on its line leaves no empty line behind.
            rest = rest.strip_prefix('\n').unwrap_or(rest);
        } else if tag == "/if" {
            skipping = false;
            rest = rest.strip_prefix('\n').unwrap_or(rest);
        } else if !skipping {
            let v = vars
                .get(tag)
                .ok_or_else(|| fail(format!("unknown key {tag}")))?;
            out.push_str(v);
        }
    }
    out.push_str(rest);
    Ok(out)
}

struct IdRangeCtx {
    first: u32,
    count: u32,
}

struct Ctx {
    path: String,
    bridge: String,
    /// The bridge's address with prefix (`10.100.1.1/24`).
    address: String,
    /// The bridge's address alone.
    gateway: String,
    netmask: String,
    network: String,
    dhcp_first: String,
    dhcp_last: String,
    dhcp_max: u32,
    mtu: u32,
    pool: String,
    idmap: Option<IdRangeCtx>,
}

impl Ctx {
    /// The template variables by name (`idmap.first`, ...); an absent id range is empty.
    fn vars(&self) -> BTreeMap<&'static str, String> {
        let (first, count) = match &self.idmap {
            Some(r) => (r.first.to_string(), r.count.to_string()),
            None => (String::new(), String::new()),
        };
        BTreeMap::from([
            ("path", self.path.clone()),
            ("bridge", self.bridge.clone()),
            ("address", self.address.clone()),
            ("gateway", self.gateway.clone()),
            ("netmask", self.netmask.clone()),
            ("network", self.network.clone()),
            ("dhcp_first", self.dhcp_first.clone()),
            ("dhcp_last", self.dhcp_last.clone()),
            ("dhcp_max", self.dhcp_max.to_string()),
            ("mtu", self.mtu.to_string()),
            ("pool", self.pool.clone()),
            ("idmap", first.clone()),
            ("idmap.first", first),
            ("idmap.count", count),
        ])
    }
}

fn ctx(c: &LevelPlan, b: &BridgePlan) -> Ctx {
    let hosts = crate::plan::subnet::host;
    // A /24 and larger have at least 254 host addresses: the bridge takes the first, DHCP the
    // rest.
    let size = (1u64 << (32 - u32::from(b.subnet.prefix_len()))).saturating_sub(2);
    let last = u32::try_from(size).unwrap_or(u32::MAX).max(2);
    Ctx {
        path: c.path.clone(),
        bridge: b.name.clone(),
        address: b.address.to_string(),
        gateway: b.address.addr().to_string(),
        netmask: b.subnet.netmask().to_string(),
        network: b.subnet.to_string(),
        dhcp_first: hosts(&b.subnet, 2)
            .map(|n| n.addr().to_string())
            .unwrap_or_default(),
        dhcp_last: hosts(&b.subnet, last)
            .map(|n| n.addr().to_string())
            .unwrap_or_default(),
        dhcp_max: last - 1,
        mtu: b.mtu,
        pool: c
            .network
            .runtime_pool
            .map(|p| p.to_string())
            .unwrap_or_default(),
        idmap: c
            .idmap
            .as_ref()
            .and_then(|m| m.runtime)
            // One container's worth (what LXC maps by default); the rest of the reserved
            // range stays free for isolated maps.
            .map(|r| IdRangeCtx {
                first: r.first,
                count: r.count.min(crate::plan::idmap::RANGE),
            }),
    }
}

/// Every file lxnest writes into `c`'s root for its runtime, in a stable order; empty for a
/// container that hosts no runtime with a configuration of its own.
pub fn files(c: &LevelPlan) -> Result<Vec<RuntimeFile>, RuntimeConfigError> {
    let mut out = Vec::new();
    let file = |path, text| RuntimeFile {
        path,
        text,
        mode: WriteMode::Replace,
    };
    if let Some(b) = &c.network.runtime_bridge {
        let x = ctx(c, b);
        match c.runtime {
            Some(Runtime::Lxc) => {
                out.push(file("/etc/default/lxc-net", render("lxc-net", &x)?));
                out.push(RuntimeFile {
                    path: "/etc/default/lxc",
                    text: LXC_DEFAULTS.into(),
                    mode: WriteMode::IfAbsent,
                });
                out.push(file("/etc/lxc/default.conf", render("lxc-default", &x)?));
            }
            Some(Runtime::Docker) => out.push(file(
                "/etc/docker/daemon.json",
                render("docker-daemon", &x)?,
            )),
            Some(Runtime::Podman) => {
                out.push(file(
                    "/etc/containers/containers.conf",
                    render("podman-containers", &x)?,
                ));
                out.push(file("/etc/containers/policy.json", PODMAN_POLICY.into()));
                out.push(file(
                    "/etc/containers/registries.conf",
                    PODMAN_REGISTRIES.into(),
                ));
            }
            Some(Runtime::Lxd) => out.push(file(
                "/etc/lxnest/lxd-preseed.yaml",
                render("lxd-preseed", &x)?,
            )),
            _ => {}
        }
    }
    if let Some(line) = c
        .idmap
        .as_ref()
        .and_then(crate::plan::idreserve::subid_file)
    {
        for path in ["/etc/subuid", "/etc/subgid"] {
            out.push(RuntimeFile {
                path,
                text: line.clone(),
                mode: WriteMode::MergeRootLine,
            });
        }
    }
    Ok(out)
}

/// `existing` with its `root:` lines replaced by `root_line` (appended when there was none).
pub fn merge_root_line(existing: &str, root_line: &str) -> String {
    let mut out: String = existing
        .lines()
        .filter(|l| !l.starts_with("root:"))
        .map(|l| format!("{l}\n"))
        .collect();
    out.push_str(root_line);
    out
}

#[cfg(test)]
mod tests;
