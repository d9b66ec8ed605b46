//! The imported container written out: an lxnest spec (YAML) and an LXC config.

use crate::spec::model::{ContainerSpec, HookKind, NetworkMode};
use serde_yaml_ng::{Mapping, Value};

fn s(v: &str) -> Value {
    Value::String(v.into())
}

/// A one-container lxnest spec.
pub fn spec_yaml(ctid: &str, source: &str, c: &ContainerSpec) -> String {
    let mut m = Mapping::new();
    m.insert(s("name"), s(&c.name));
    if let Some(r) = c.rootfs() {
        m.insert(s("rootfs"), s(&r.to_string()));
    }
    let mut limits = Mapping::new();
    if let Some(mem) = &c.limits.memory {
        limits.insert(s("memory"), s(mem));
    }
    if let Some(p) = c.limits.pids {
        limits.insert(s("pids"), Value::Number(p.into()));
    }
    if let Some(cpu) = c.limits.cpu {
        limits.insert(s("cpu"), Value::Number(serde_yaml_ng::Number::from(cpu)));
    }
    if !limits.is_empty() {
        m.insert(s("limits"), Value::Mapping(limits));
    }
    if let Some(mode) = &c.network.mode {
        let mut n = Mapping::new();
        n.insert(s("mode"), s(mode.as_str()));
        m.insert(s("network"), Value::Mapping(n));
    }
    if !c.capabilities.drop.is_empty() {
        let mut caps = Mapping::new();
        caps.insert(
            s("drop"),
            Value::Sequence(c.capabilities.drop.iter().map(|x| s(x)).collect()),
        );
        m.insert(s("capabilities"), Value::Mapping(caps));
    }
    if !c.devices.is_empty() {
        m.insert(
            s("devices"),
            Value::Sequence(c.devices.iter().map(|x| s(x)).collect()),
        );
    }
    if !c.mounts.is_empty() {
        let mounts = c.mounts.iter().map(|mw| {
            let mut e = Mapping::new();
            e.insert(s("source"), s(&mw.source));
            e.insert(s("target"), s(&mw.target));
            e.insert(
                s("options"),
                Value::Sequence(mw.options.iter().map(|o| s(o)).collect()),
            );
            Value::Mapping(e)
        });
        m.insert(s("mounts"), Value::Sequence(mounts.collect()));
    }
    let start = c.hooks.get(HookKind::Start);
    if !start.is_empty() {
        let mut h = Mapping::new();
        h.insert(
            s(HookKind::Start.as_str()),
            Value::Sequence(start.iter().map(|x| s(x)).collect()),
        );
        m.insert(s("hooks"), Value::Mapping(h));
    }
    let mut top = Mapping::new();
    top.insert(s("name"), s(&c.name));
    top.insert(s("containers"), Value::Sequence(vec![Value::Mapping(m)]));
    let body = serde_yaml_ng::to_string(&Value::Mapping(top)).unwrap_or_default();
    format!("# Imported from OpenVZ container {ctid} ({source}) by `lxnest import-openvz`.\n{body}")
}

/// The same container as an LXC 5 config.
pub fn lxc_config(ctid: &str, source: &str, c: &ContainerSpec) -> String {
    let mut out = vec![
        format!("# Imported from OpenVZ container {ctid} ({source}) by `lxnest import-openvz`."),
        kv("lxc.uts.name", &c.name),
    ];
    if let Some(r) = c.rootfs().filter(|r| r.dir().is_some()) {
        out.push(kv("lxc.rootfs.path", &r.to_string()));
    }
    out.push("lxc.idmap = u 0 100000 65536".into());
    out.push("lxc.idmap = g 0 100000 65536".into());
    if let Some(mem) = &c.limits.memory {
        if let Ok(b) = crate::spec::validate::parse_bytes(mem) {
            out.push(format!("lxc.cgroup2.memory.max = {b}"));
        }
    }
    if let Some(p) = c.limits.pids {
        out.push(format!("lxc.cgroup2.pids.max = {p}"));
    }
    if let Some(cpu) = c.limits.cpu {
        out.push(format!(
            "lxc.cgroup2.cpu.max = {} 100000",
            (cpu * 100_000.0).round() as u64
        ));
    }
    if !c.capabilities.drop.is_empty() {
        out.push(format!("lxc.cap.drop = {}", c.capabilities.drop.join(" ")));
    }
    out.push(match c.network.mode {
        Some(NetworkMode::Bridge) => {
            "lxc.net.0.type = veth\nlxc.net.0.link = lxcbr0\nlxc.net.0.flags = up".into()
        }
        _ => "lxc.net.0.type = empty".into(),
    });
    for mw in &c.mounts {
        let f = |x: &str| crate::lxc::encode::mount_field(x).unwrap_or_else(|_| "?".into());
        out.push(kv(
            "lxc.mount.entry",
            &format!(
                "{} {} none {} 0 0",
                f(&mw.source),
                f(mw.target.trim_start_matches('/')),
                f(&mw.options.join(","))
            ),
        ));
    }
    for d in &c.devices {
        if let Some(p) = crate::plan::devices::lookup(d) {
            out.push(format!(
                "lxc.cgroup2.devices.allow = {} {}:{} rwm",
                p.kind, p.major, p.minor
            ));
            out.push(format!(
                "lxc.mount.entry = {d} {} none bind,create=file 0 0",
                d.trim_start_matches('/')
            ));
        }
    }
    // Hooks are written as they are (LXC runs each through /bin/sh -c); the mapper makes them
    // self-contained shell with quoted values. A value LXC cannot carry is left out, with a note.
    for h in c.hooks.get(HookKind::Start) {
        match crate::lxc::encode::value(h) {
            Ok(v) => out.push(format!("lxc.hook.start = {v}")),
            Err(e) => out.push(format!("# a start hook is left out: {e}")),
        }
    }
    out.join("\n") + "\n"
}

/// `key = value`, the value encoded as LXC reads it; one LXC cannot carry becomes a comment.
fn kv(key: &str, value: &str) -> String {
    match crate::lxc::encode::value(value) {
        Ok(v) => format!("{key} = {v}"),
        Err(e) => format!("# {key} is left out: {e}"),
    }
}
