//! An LXC 5 config fragment for one planned container, so the same plan can be run by lxc-start.
//! Pure: the text comes from `policy/lxc/container.conf.hbs` and the plan.

use crate::plan::host::CgroupMode;
use crate::plan::model::{LevelPlan, Premount, RootfsPlan};
use handlebars::Handlebars;
use serde::Serialize;
use std::sync::OnceLock;

const TEMPLATE: &str = include_str!("../../policy/lxc/container.conf.hbs");

/// Rendering failed (only a defect in the template can cause this).
#[derive(Debug, thiserror::Error)]
#[error("LXC config template: {0}")]
pub struct FragmentError(String);

fn registry() -> &'static Result<Handlebars<'static>, String> {
    static REG: OnceLock<Result<Handlebars<'static>, String>> = OnceLock::new();
    REG.get_or_init(|| {
        let mut h = Handlebars::new();
        h.set_strict_mode(true);
        h.register_escape_fn(handlebars::no_escape);
        h.register_template_string("container", TEMPLATE)
            .map_err(|e| e.to_string())?;
        Ok(h)
    })
}

#[derive(Serialize)]
struct Net {
    link: String,
    name: String,
    pair: String,
    mtu: u32,
    address: String,
    gateway: String,
}

#[derive(Serialize)]
struct Ctx {
    stack: String,
    path: String,
    depth: u32,
    hostname: String,
    rootfs: Option<String>,
    idmap: Vec<String>,
    caps: String,
    mount_auto: String,
    mounts: Vec<String>,
    cgroup: Vec<String>,
    devices: Vec<String>,
    net: Option<Net>,
    apparmor: Option<String>,
    seccomp_file: String,
    seccomp_nesting: bool,
    environment: Vec<String>,
    hooks: Vec<String>,
    init: String,
}

/// Render the fragment. `seccomp_file` is where the LXC-text filter is written next to it;
/// `builtin_rootfs` is the directory LXC should use for a built-in or tarball rootfs.
pub fn render(
    stack: &str,
    c: &LevelPlan,
    seccomp_file: &str,
    builtin_rootfs: &str,
    apparmor: bool,
) -> Result<String, FragmentError> {
    let ctx = Ctx {
        stack: stack.into(),
        path: c.path.clone(),
        depth: c.depth,
        hostname: c.init.hostname.clone(),
        rootfs: Some(match &c.rootfs {
            RootfsPlan::Builtin => builtin_rootfs.to_string(),
            RootfsPlan::Dir(p) => p.clone(),
            // LXC cannot read a tarball; the caller passes where lxnest unpacks it.
            RootfsPlan::Tar(_) => builtin_rootfs.to_string(),
        }),
        idmap: idmap_lines(c),
        caps: c.capabilities.join(" "),
        mount_auto: mount_auto(c),
        mounts: c
            .mounts
            .iter()
            .map(|m| {
                format!(
                    "{} {} {} {} 0 0",
                    m.source,
                    m.target.trim_start_matches('/'),
                    m.fstype,
                    mount_opts(m)
                )
            })
            .collect(),
        cgroup: cgroup_lines(c),
        devices: device_lines(c),
        net: net(c),
        apparmor: apparmor.then(|| c.apparmor.label.clone()),
        seccomp_file: seccomp_file.into(),
        seccomp_nesting: c.seccomp.allow_nesting,
        environment: c
            .init
            .environment
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect(),
        hooks: c
            .hooks
            .iter()
            .flat_map(|(k, v)| v.iter().map(move |h| format!("lxc.hook.{k} = {h}")))
            .collect(),
        init: c.init.command.join(" "),
    };
    match registry() {
        Ok(h) => h
            .render("container", &ctx)
            .map_err(|e| FragmentError(e.to_string())),
        Err(e) => Err(FragmentError(e.clone())),
    }
}

fn mount_opts(m: &crate::plan::model::MountPlan) -> String {
    let mut o = m.options.clone();
    if m.fstype == "bind" && !o.iter().any(|x| x == "bind" || x == "rbind") {
        o.insert(0, "bind".into());
    }
    if o.is_empty() {
        "defaults".into()
    } else {
        o.join(",")
    }
}

fn idmap_lines(c: &LevelPlan) -> Vec<String> {
    let Some(m) = &c.idmap else { return Vec::new() };
    let u = m
        .uid
        .iter()
        .map(|l| format!("u {} {} {}", l.inside, l.outside, l.count));
    let g = m
        .gid
        .iter()
        .map(|l| format!("g {} {} {}", l.inside, l.outside, l.count));
    u.chain(g).collect()
}

/// proc and sys mixed (read-only where it matters); the cgroup tree read-write only when delegated.
fn mount_auto(c: &LevelPlan) -> String {
    let cg = match c.cgroup.premount {
        Premount::Namespaced => "cgroup:rw:force",
        Premount::ReadOnly => "cgroup:ro:force",
    };
    format!("proc:mixed sys:mixed {cg}")
}

/// Limits in the hierarchy that holds each controller.
fn cgroup_lines(c: &LevelPlan) -> Vec<String> {
    let v2 = c.cgroup.mode == CgroupMode::Unified;
    let l = &c.cgroup.limits;
    let mut out = Vec::new();
    if let Some(m) = l.memory {
        out.push(if v2 {
            format!("lxc.cgroup2.memory.max = {m}")
        } else {
            format!("lxc.cgroup.memory.limit_in_bytes = {m}")
        });
    }
    if let Some(p) = l.pids {
        out.push(if v2 {
            format!("lxc.cgroup2.pids.max = {p}")
        } else {
            format!("lxc.cgroup.pids.max = {p}")
        });
    }
    if let Some((q, per)) = l.cpu {
        if v2 {
            out.push(format!("lxc.cgroup2.cpu.max = {q} {per}"));
        } else {
            out.push(format!("lxc.cgroup.cpu.cfs_quota_us = {q}"));
            out.push(format!("lxc.cgroup.cpu.cfs_period_us = {per}"));
        }
    }
    out
}

/// Device allowlist (cgroup v1 devices controller; LXC turns it into an eBPF program on v2).
fn device_lines(c: &LevelPlan) -> Vec<String> {
    let key = if c.cgroup.mode == CgroupMode::Unified {
        "lxc.cgroup2.devices"
    } else {
        "lxc.cgroup.devices"
    };
    let mut out = vec![format!("{key}.deny = a")];
    out.extend(c.devices.iter().map(|d| {
        format!(
            "{key}.allow = {} {}:{} {}",
            d.kind, d.major, d.minor, d.access
        )
    }));
    out.push(format!("{key}.allow = c 136:* rwm"));
    out.push(format!("{key}.allow = c 5:2 rwm"));
    out
}

fn net(c: &LevelPlan) -> Option<Net> {
    let n = &c.network;
    Some(Net {
        link: n.parent_bridge.clone()?,
        name: n.interface.clone(),
        pair: n.veth_host.clone()?,
        mtu: n.mtu,
        address: n.address?.to_string(),
        gateway: n.gateway?.to_string(),
    })
}
