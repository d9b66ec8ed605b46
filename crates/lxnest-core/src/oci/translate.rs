//! A bundle's `config.json` as an lxnest [`LevelPlan`] plus the process settings the plan has no
//! room for ([`OciProcess`]). Pure: the caller reads the file and the host facts.

use super::config::{Config, Hooks, Linux, Process};
use super::error::OciError;
use super::process::{namespaced_sysctl, OciProcess, RlimitPlan, RLIMITS};
use super::resources;
use crate::origin::Origin;
use crate::plan::model::*;
use crate::spec::model::{NetworkMode, Runtime};
use std::collections::BTreeMap;

/// The annotation that makes a container a nesting host planned by lxnest.
pub const NESTING_ANNOTATION: &str = "org.lxnest.nesting";

pub use super::context::Context;

/// A translated bundle.
#[derive(Debug, Clone)]
pub struct Translated {
    /// The container as lxnest plans it.
    pub plan: LevelPlan,
    /// The process settings applied in its init.
    pub process: OciProcess,
    /// The hooks the runtime runs on the host.
    pub hooks: Hooks,
    /// `cgroupsPath` was absolute: rooted at the cgroup mount, not the runtime's own cgroup.
    pub cgroup_absolute: bool,
    /// The config's annotations, for the state JSON.
    pub annotations: BTreeMap<String, String>,
}

fn unsupported(c: &Context, field: &str, why: &str) -> OciError {
    OciError::Unsupported {
        file: c.file.clone(),
        field: field.into(),
        why: why.into(),
    }
}

fn invalid(c: &Context, field: &str, why: String) -> OciError {
    OciError::Invalid {
        file: c.file.clone(),
        field: field.into(),
        why,
    }
}

/// Reads `text` (a config.json) for `ctx`.
pub fn parse(text: &str, ctx: &Context) -> Result<Translated, OciError> {
    let config: Config = serde_json::from_str(text).map_err(|e| OciError::Syntax {
        file: ctx.file.clone(),
        line: e.line(),
        message: e.to_string(),
    })?;
    translate(&config, ctx)
}

/// Translates a parsed config.
pub fn translate(config: &Config, ctx: &Context) -> Result<Translated, OciError> {
    refuse_other(ctx, "", config.other.keys())?;
    let process = config.process.as_ref().ok_or_else(|| {
        invalid(
            ctx,
            "process",
            "missing: the container needs a process".into(),
        )
    })?;
    let default_linux = Linux::default();
    let linux = config.linux.as_ref().unwrap_or(&default_linux);
    refuse_other(ctx, "linux.", linux.other.keys())?;
    refuse_other(ctx, "process.", process.other.keys())?;
    refuse_other(ctx, "process.user.", process.user.other.keys())?;
    if let Some(l) = process.selinux_label.as_deref().filter(|l| !l.is_empty()) {
        return Err(unsupported(
            ctx,
            "process.selinuxLabel",
            &format!("`{l}`: this kernel has no SELinux for lxnest to apply"),
        ));
    }
    if linux.mount_label.as_deref().is_some_and(|l| !l.is_empty()) {
        return Err(unsupported(
            ctx,
            "linux.mountLabel",
            "SELinux labels are not applied by lxnest",
        ));
    }
    if let Some(p) = process
        .apparmor_profile
        .as_deref()
        .filter(|p| !p.is_empty())
    {
        return Err(unsupported(ctx, "process.apparmorProfile", &format!("`{p}`: lxnest confines a container with the profile it plans itself; leave the engine's profile out (podman --security-opt apparmor=unconfined)")));
    }
    let nesting = nesting_runtime(config, ctx)?;
    let root = config.root.as_ref().ok_or_else(|| {
        invalid(
            ctx,
            "root",
            "missing: the bundle needs a root filesystem".into(),
        )
    })?;
    let root_path = if root.path.starts_with('/') {
        root.path.clone()
    } else {
        format!("{}/{}", ctx.bundle, root.path)
    };
    let namespaces = super::namespaces::check(linux, ctx)?;
    let idmap = super::namespaces::idmap(linux, namespaces.user, ctx)?;
    if nesting.is_some() && idmap.is_none() {
        return Err(unsupported(ctx, "linux.uidMappings", "a nesting host (org.lxnest.nesting) runs in a user namespace: give the container uid and gid mappings (podman --userns=auto, or --uidmap/--gidmap)"));
    }
    let capabilities = capabilities(process, ctx)?;
    let seccomp = seccomp(linux, &capabilities, nesting.is_some(), ctx)?;
    let (cgroup, cgroup_absolute) = resources::cgroup(linux, nesting.is_some(), ctx)?;
    let mut devices: Vec<DevicePlan> = crate::plan::devices::DEFAULT
        .iter()
        .filter_map(|d| crate::plan::devices::lookup(d))
        .collect();
    devices.extend(resources::devices(linux, ctx)?);
    let hooks = hooks(config, ctx)?;
    let environment = environment(process, ctx)?;
    let hostname = config
        .hostname
        .clone()
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| ctx.name.clone());
    let plan = LevelPlan {
        name: ctx.name.clone(),
        path: ctx.name.clone(),
        depth: ctx.depth,
        parent: None,
        runtime: nesting,
        origin: Origin::new(&ctx.file, 0),
        rootfs: RootfsPlan::Dir(root_path),
        encrypt: None,
        init: InitPlan {
            command: process.args.clone(),
            environment,
            hostname,
            halt_signal: None,
        },
        apparmor: AppArmorPlan {
            profile: format!("lxnest-{}", ctx.name),
            namespace: None,
            label: format!("lxnest-{}", ctx.name),
            flags: Vec::new(),
            extra_rules: Vec::new(),
            text: String::new(),
            note: Some("OCI bundle: no profile rendered".into()),
        },
        seccomp,
        cgroup,
        network: NetPlan {
            mode: NetworkMode::Loopback,
            interface: "eth0".into(),
            mtu: 1500,
            ..Default::default()
        },
        capabilities,
        devices,
        idmap,
        mounts: super::mounts::translate(&config.mounts, &ctx.bundle, &ctx.file)?,
        landlock: LandlockPlan {
            enabled: false,
            reason: Some("OCI container: the runtime spec has no Landlock policy".into()),
            ..Default::default()
        },
        hooks: Default::default(),
    };
    Ok(Translated {
        plan,
        process: oci_process(process, linux, root.readonly, ctx)?,
        hooks,
        cgroup_absolute,
        annotations: config.annotations.clone(),
    })
}

fn refuse_other<'a>(
    c: &Context,
    prefix: &str,
    keys: impl Iterator<Item = &'a String>,
) -> Result<(), OciError> {
    // Other platforms' sections mean nothing on Linux; any other unknown key may be a setting
    // the engine relies on.
    const OTHER_PLATFORMS: &[&str] = &["windows", "solaris", "vm", "zos"];
    for k in keys {
        if prefix.is_empty() && OTHER_PLATFORMS.contains(&k.as_str()) {
            continue;
        }
        return Err(unsupported(
            c,
            &format!("{prefix}{k}"),
            "lxnest-oci does not carry it out; leave it out of the config",
        ));
    }
    Ok(())
}

fn nesting_runtime(config: &Config, c: &Context) -> Result<Option<Runtime>, OciError> {
    let Some(v) = config.annotations.get(NESTING_ANNOTATION) else {
        return Ok(None);
    };
    v.parse::<Runtime>().map(Some).map_err(|_| {
        let names: Vec<&str> = Runtime::ALL.iter().map(|r| r.as_str()).collect();
        invalid(
            c,
            &format!("annotations.{NESTING_ANNOTATION}"),
            format!(
                "`{v}` is not a runtime lxnest plans for: use one of {}",
                names.join(", ")
            ),
        )
    })
}

fn cap_name(s: &str) -> String {
    s.to_ascii_lowercase()
        .trim_start_matches("cap_")
        .to_string()
}

/// The bounding set becomes the plan's one set (lxnest gives the init bounding = effective =
/// permitted). An ambient set for a non-root user would grant what lxnest does not: refused.
fn capabilities(p: &Process, c: &Context) -> Result<Vec<String>, OciError> {
    let Some(caps) = &p.capabilities else {
        return Ok(Vec::new());
    };
    if p.user.uid != 0 && !caps.ambient.is_empty() {
        return Err(unsupported(c, "process.capabilities.ambient", "a non-root process gets no capabilities under lxnest; run it as root inside the user namespace"));
    }
    let mut out: Vec<String> = caps.bounding.iter().map(|s| cap_name(s)).collect();
    for (set, names) in [
        ("effective", &caps.effective),
        ("permitted", &caps.permitted),
    ] {
        if let Some(n) = names.iter().find(|n| !caps.bounding.contains(n)) {
            return Err(invalid(
                c,
                &format!("process.capabilities.{set}"),
                format!("{n} is not in the bounding set"),
            ));
        }
    }
    out.sort();
    out.dedup();
    Ok(out)
}

fn seccomp(
    linux: &Linux,
    caps: &[String],
    nesting: bool,
    c: &Context,
) -> Result<SeccompPlan, OciError> {
    let seccomp_err = |source| OciError::Seccomp {
        file: c.file.clone(),
        source,
    };
    let own = match &linux.seccomp {
        Some(v) => {
            for k in ["listenerPath", "listenerMetadata"] {
                if v.get(k).is_some_and(|x| !x.is_null() && x != "") {
                    return Err(unsupported(
                        c,
                        &format!("linux.seccomp.{k}"),
                        "seccomp notification agents are not offered",
                    ));
                }
            }
            let text = v.to_string();
            let ctx = crate::seccomp::oci_in::OciContext {
                capabilities: caps.to_vec(),
                kernel: c.kernel,
            };
            crate::seccomp::oci_in::parse(&text, &format!("{}#linux.seccomp", c.file), &ctx)
                .map_err(seccomp_err)?
                .0
        }
        // No profile: lxnest's base policy rather than none (docs/oci.md).
        None => {
            let mut p = crate::seccomp::builtin::default_policy().map_err(seccomp_err)?;
            if !nesting {
                p.rules.extend(
                    crate::seccomp::builtin::no_nesting_policy()
                        .map_err(seccomp_err)?
                        .rules,
                );
            }
            p
        }
    };
    Ok(SeccompPlan {
        own: own.into(),
        inherited_from: Vec::new(),
        allow_nesting: nesting,
        effective: BTreeMap::new(),
    })
}

fn environment(p: &Process, c: &Context) -> Result<BTreeMap<String, String>, OciError> {
    let mut env = BTreeMap::new();
    for (i, line) in p.env.iter().enumerate() {
        let (k, v) = line
            .split_once('=')
            .filter(|(k, _)| !k.is_empty())
            .ok_or_else(|| {
                invalid(
                    c,
                    &format!("process.env[{i}]"),
                    format!("`{line}` is not NAME=VALUE"),
                )
            })?;
        env.insert(k.to_string(), v.to_string());
    }
    Ok(env)
}

fn hooks(config: &Config, c: &Context) -> Result<Hooks, OciError> {
    let Some(h) = &config.hooks else {
        return Ok(Hooks::default());
    };
    for (name, list) in [
        ("createContainer", &h.create_container),
        ("startContainer", &h.start_container),
    ] {
        if !list.is_empty() {
            return Err(unsupported(c, &format!("hooks.{name}"), "hooks that run inside the container's namespaces are not offered; use createRuntime or poststart"));
        }
    }
    for (name, list) in [
        ("prestart", &h.prestart),
        ("createRuntime", &h.create_runtime),
        ("poststart", &h.poststart),
        ("poststop", &h.poststop),
    ] {
        if let Some((i, hook)) = list
            .iter()
            .enumerate()
            .find(|(_, x)| !x.path.starts_with('/'))
        {
            return Err(invalid(
                c,
                &format!("hooks.{name}[{i}].path"),
                format!("`{}` must be absolute", hook.path),
            ));
        }
    }
    Ok(h.clone())
}

fn oci_process(
    p: &Process,
    linux: &Linux,
    readonly_root: bool,
    c: &Context,
) -> Result<OciProcess, OciError> {
    let mut rlimits = Vec::new();
    for (i, r) in p.rlimits.iter().enumerate() {
        let resource = RLIMITS
            .iter()
            .find(|(n, _)| *n == r.kind)
            .map(|(_, n)| *n)
            .ok_or_else(|| {
                invalid(
                    c,
                    &format!("process.rlimits[{i}].type"),
                    format!("`{}` is not a Linux resource limit", r.kind),
                )
            })?;
        if r.soft > r.hard {
            return Err(invalid(
                c,
                &format!("process.rlimits[{i}]"),
                "soft limit above the hard limit".into(),
            ));
        }
        rlimits.push(RlimitPlan {
            resource,
            soft: r.soft,
            hard: r.hard,
        });
    }
    for k in linux.sysctl.keys() {
        if !namespaced_sysctl(k) {
            return Err(unsupported(
                c,
                &format!("linux.sysctl.{k}"),
                "only sysctls of the container's own network, IPC and mqueue namespaces may be set",
            ));
        }
    }
    if let Some(p) = linux
        .rootfs_propagation
        .as_deref()
        .filter(|p| !matches!(*p, "" | "private" | "rprivate" | "slave" | "rslave"))
    {
        return Err(unsupported(
            c,
            "linux.rootfsPropagation",
            &format!("`{p}`: a container's mounts never propagate back under lxnest"),
        ));
    }
    let cwd = if p.cwd.is_empty() {
        "/".to_string()
    } else {
        p.cwd.clone()
    };
    if !cwd.starts_with('/') {
        return Err(invalid(
            c,
            "process.cwd",
            format!("`{cwd}` must be absolute"),
        ));
    }
    for (field, list) in [
        ("linux.maskedPaths", &linux.masked_paths),
        ("linux.readonlyPaths", &linux.readonly_paths),
    ] {
        if let Some(bad) = list
            .iter()
            .find(|p| !p.starts_with('/') || p.split('/').any(|s| s == ".."))
        {
            return Err(invalid(
                c,
                field,
                format!("`{bad}` must be absolute, without `..`"),
            ));
        }
    }
    Ok(OciProcess {
        uid: p.user.uid,
        gid: p.user.gid,
        additional_gids: p.user.additional_gids.clone(),
        umask: p.user.umask,
        cwd,
        rlimits,
        no_new_privileges: p.no_new_privileges,
        oom_score_adj: p.oom_score_adj,
        masked_paths: linux.masked_paths.clone(),
        readonly_paths: linux.readonly_paths.clone(),
        readonly_root,
        sysctl: linux.sysctl.clone(),
        terminal: p.terminal,
    })
}
