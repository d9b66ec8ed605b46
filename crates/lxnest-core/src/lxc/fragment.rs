//! An LXC 5 config fragment for one planned container, so the same plan can be run by lxc-start.
//! Pure: the text comes from `policy/lxc/container.conf.hbs` and the plan.

use crate::lxc::encode::{self, Unencodable};
use crate::plan::host::CgroupMode;
use crate::plan::model::{LevelPlan, Premount, RootfsPlan};
use handlebars::Handlebars;
use serde::Serialize;
use std::sync::OnceLock;

const TEMPLATE: &str = include_str!("../../../../policy/lxc/container.conf.hbs");

/// Rendering failed.
#[derive(Debug, thiserror::Error)]
pub enum FragmentError {
    /// A defect in the template.
    #[error("LXC config template: {0}")]
    Template(String),
    /// A planned value that LXC's config format cannot carry (see [`crate::lxc::encode`]).
    #[error("{origin}: {what} cannot be written into an LXC config: {why}\n  fix: {fix}")]
    Value {
        /// Where the container (or the value) was written.
        origin: crate::origin::Origin,
        /// Which value (`command`, `environment FOO`...).
        what: String,
        /// Why not.
        why: String,
        /// What to do instead.
        fix: String,
    },
}

fn registry() -> &'static Result<Handlebars<'static>, String> {
    static REG: OnceLock<Result<Handlebars<'static>, String>> = OnceLock::new();
    REG.get_or_init(|| {
        let mut h = Handlebars::new();
        // Strict: a value the template names but the context lacks is an error.
        h.set_strict_mode(true);
        // LXC config is not HTML; values are encoded by `lxc::encode` instead of escaped.
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
/// `builtin_rootfs` is the directory LXC should use for a built-in or tarball rootfs. Every value
/// is encoded so that LXC reads back exactly it; what LXC cannot carry is refused.
pub fn render(
    stack: &str,
    c: &LevelPlan,
    seccomp_file: &str,
    builtin_rootfs: &str,
    apparmor: bool,
) -> Result<String, FragmentError> {
    let refuse = |what: &str, fix: &str| {
        let origin = c.origin.clone();
        let (what, fix) = (what.to_string(), fix.to_string());
        move |e: Unencodable| FragmentError::Value {
            origin,
            what,
            why: e.why,
            fix,
        }
    };
    let line_fix = "write it on one line, without NUL, newline or carriage return";
    let v = |what: &str, x: &str| encode::value(x).map_err(refuse(what, line_fix));
    let rootfs = match &c.rootfs {
        RootfsPlan::Builtin => builtin_rootfs.to_string(),
        RootfsPlan::Dir(p) => p.clone(),
        // LXC cannot read a tarball; the caller passes where lxnest unpacks it.
        RootfsPlan::Tar(_) => builtin_rootfs.to_string(),
    };
    let mut mounts = Vec::new();
    for m in &c.mounts {
        let field = |x: &str| {
            encode::mount_field(x).map_err(refuse(
                &format!(
                    "mount {} -> {}",
                    m.source.escape_debug(),
                    m.target.escape_debug()
                ),
                "use paths and options without NUL or carriage return",
            ))
        };
        let target = m.target.trim_start_matches('/');
        let line = format!(
            "{} {} {} {} 0 0",
            field(&m.source)?,
            field(if target.is_empty() { "." } else { target })?,
            field(&m.fstype)?,
            field(&mount_opts(m))?
        );
        mounts.push(v("a mount entry", &line)?);
    }
    let mut environment = Vec::new();
    for (k, x) in &c.init.environment {
        let what = format!("environment `{}`", k.escape_debug());
        encode::env_name(k)
            .map_err(refuse(&what, "name variables with letters, digits and `_`"))?;
        environment.push(v(&what, &format!("{k}={x}"))?);
    }
    let mut hooks = Vec::new();
    for (k, list) in c.hooks.iter() {
        for h in list {
            let what = format!("{k} hook");
            let h = encode::value(h).map_err(refuse(
                &what,
                "put a multi-line hook in a script file and name the script",
            ))?;
            hooks.push(format!("lxc.hook.{k} = {h}"));
        }
    }
    let init = encode::init_cmd(&c.init.command).map_err(refuse(
        "command",
        "put the command line in a script inside the container and make the script the command, \
         or start the container with lxnest itself (`lxnest start`), which passes arguments as they are",
    ))?;
    let ctx = Ctx {
        stack: v("the stack name", stack)?,
        path: v("the container path", &c.path)?,
        depth: c.depth,
        hostname: v("the hostname", &c.init.hostname)?,
        rootfs: Some(v("the rootfs path", &rootfs)?),
        idmap: idmap_lines(c),
        caps: c.capabilities.join(" "),
        mount_auto: mount_auto(c),
        mounts,
        cgroup: cgroup_lines(c),
        devices: device_lines(c),
        net: net(c),
        apparmor: apparmor
            .then(|| v("the AppArmor label", &c.apparmor.label))
            .transpose()?,
        seccomp_file: v("the seccomp file path", seccomp_file)?,
        seccomp_nesting: c.seccomp.allow_nesting,
        environment,
        hooks,
        init,
    };
    match registry() {
        Ok(h) => h
            .render("container", &ctx)
            .map_err(|e| FragmentError::Template(e.to_string())),
        Err(e) => Err(FragmentError::Template(e.clone())),
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
