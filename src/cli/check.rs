//! `lxnest check`: what this machine (or this container) offers a nested runtime, line by line,
//! ending with a verdict per runtime kind. docs/check.md explains every line.

use lxnest::host::verdict::{verdicts, Verdict};
use lxnest::host::{facts, Availability, Facts, ProbeClass, Tool};
use lxnest::plan::host::CgroupMode;
use lxnest::spec::runtime::{builtin, builtin_all, builtin_names};
use std::fmt::Write as _;
use std::process::ExitCode;

/// Output format.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum Output {
    /// Sections of yes/no lines for people.
    Text,
    /// One JSON object: `{"facts": ..., "verdicts": [...]}`.
    Json,
}

/// check
#[derive(Debug, clap::Subcommand)]
pub enum CheckCommand {
    /// Report what this machine or container offers nested runtimes, and whether each can run.
    /// Exit status: 0 when the `--for` runtime can run here (or no `--for`), 1 when it is
    /// blocked, 2 on error.
    Check {
        /// Runtime kind to decide for (`lxc`, `lxnest`, `docker`, `podman`, `lxd`, `systemd`).
        #[arg(long = "for", value_name = "KIND")]
        for_kind: Option<String>,
        /// Output format.
        #[arg(long, value_enum, default_value = "text")]
        output: Output,
    },
}

impl CheckCommand {
    /// Run the command.
    pub fn run(self) -> anyhow::Result<ExitCode> {
        let CheckCommand::Check { for_kind, output } = self;
        // Errors exit 2 (not the CLI's usual 1, which here means "blocked").
        match check(for_kind.as_deref(), output) {
            Ok(code) => Ok(code),
            Err(err) => {
                eprintln!("lxnest: {}", super::describe(&err));
                Ok(ExitCode::from(2))
            }
        }
    }
}

fn check(for_kind: Option<&str>, output: Output) -> anyhow::Result<ExitCode> {
    let needs = match for_kind {
        Some(k) => vec![builtin(k).ok_or_else(|| {
            anyhow::anyhow!(
                "unknown runtime kind {k:?}; known: {}",
                builtin_names().join(", ")
            )
        })?],
        None => builtin_all(),
    };
    let facts = facts()?;
    let vs = verdicts(&facts, &needs);
    match output {
        Output::Json => {
            let doc = serde_json::json!({ "facts": facts, "verdicts": vs });
            super::json::print_object(&doc)?;
        }
        Output::Text => print!("{}", render(&facts, &vs)),
    }
    let blocked = for_kind.is_some() && vs.iter().any(|v| !v.ready);
    Ok(ExitCode::from(u8::from(blocked)))
}

/// `[yes]`/`[no ]` line with its meaning.
fn item(out: &mut String, ok: bool, label: &str, meaning: &str) {
    let mark = if ok { "yes" } else { "no " };
    let _ = writeln!(out, "  [{mark}] {label:<34} {meaning}");
}

fn avail(a: &Availability) -> (bool, String) {
    match a {
        Availability::Yes(s) => (true, s.describe()),
        Availability::No(s) => (false, s.describe()),
        Availability::Unknown => (false, "unknown".into()),
    }
}

fn tool_line(out: &mut String, t: &Tool, need_setuid: bool, meaning: &str) {
    let ok = t.path.is_some() && (!need_setuid || t.setuid_root);
    let label = match (&t.path, need_setuid, t.setuid_root) {
        (None, _, _) => format!("{} (not found)", t.name),
        (Some(p), true, false) => format!("{p} (not setuid root)"),
        (Some(p), _, _) => p.clone(),
    };
    item(out, ok, &label, meaning);
}

/// Renders the text report.
fn render(f: &Facts, vs: &[Verdict]) -> String {
    let mut o = String::new();
    let n = &f.nesting;
    let where_ = match (n.level, &n.runtime) {
        (0, _) => "the host (level 0)".to_string(),
        (l, Some(r)) => format!(
            "a container ({r}) at level {l}{}",
            if n.exact { "" } else { " or deeper" }
        ),
        (l, None) => format!(
            "a container at level {l}{}",
            if n.exact { "" } else { " or deeper" }
        ),
    };
    let _ = writeln!(o, "lxnest check: {where_}, kernel {}", f.kernel.release);
    for s in &n.signals {
        let _ = writeln!(
            o,
            "  evidence: {} = {}{}",
            s.source,
            s.value,
            if s.strong { "" } else { " (weak)" }
        );
    }
    for u in &n.unreadable {
        let _ = writeln!(o, "  evidence: {u} unreadable");
    }
    for note in &f.notes {
        let _ = writeln!(o, "  note: {note}");
    }

    namespaces(&mut o, f);
    seccomp(&mut o, f);
    cgroups(&mut o, f);
    lsms(&mut o, f);
    storage_network(&mut o, f);
    ids(&mut o, f);
    container_view(&mut o, f);
    probes(&mut o, f);
    verdict_lines(&mut o, vs);
    o
}

/// The namespaces section.
fn namespaces(o: &mut String, f: &Facts) {
    let k = &f.snapshot.kernel;
    let _ = writeln!(o, "\nNamespaces");
    item(
        o,
        k.userns,
        "user namespaces",
        "unprivileged containers with their own id maps",
    );
    item(
        o,
        k.cgroupns,
        "cgroup namespaces",
        "containers see their own cgroup as /",
    );
    item(
        o,
        k.timens,
        "time namespaces",
        "containers can have their own monotonic clocks",
    );
    if let Some(m) = f.kernel.max_user_namespaces {
        let _ = writeln!(o, "        user.max_user_namespaces = {m}");
    }
}

/// The seccomp section.
fn seccomp(o: &mut String, f: &Facts) {
    let s = &f.seccomp;
    let k = &f.snapshot.kernel;
    let _ = writeln!(o, "\nseccomp");
    item(
        o,
        !s.actions.is_empty(),
        "seccomp filters",
        "syscall filters per container (every level adds one)",
    );
    let _ = writeln!(
        o,
        "        filters stacked over this process: {} (mode {})",
        s.filters.map_or("?".into(), |n| n.to_string()),
        s.mode.map_or("?".into(), |n| n.to_string())
    );
    item(
        o,
        k.seccomp_notify,
        "user notification",
        "a supervisor can answer syscalls (LXC's notify action)",
    );
    item(
        o,
        s.allow_cache,
        "ALLOW cache (Linux >= 5.11)",
        "argument-free ALLOW rules cost nothing after the first call",
    );
    let _ = writeln!(o, "        actions: {}", s.actions.join(" "));
    if s.no_new_privs == Some(true) {
        let _ = writeln!(
            o,
            "        no_new_privs is set: setuid programs do not gain privileges here"
        );
    }
}

/// The cgroups section.
fn cgroups(o: &mut String, f: &Facts) {
    let c = &f.snapshot.cgroup;
    let d = &f.cgroup.delegation;
    let n = &f.nesting;
    let _ = writeln!(o, "\ncgroups");
    let layout = match c.mode {
        CgroupMode::V1 => format!("v1: {}", c.v1_controllers.join(" ")),
        CgroupMode::Unified => format!(
            "unified at {}: {}",
            c.unified_mount.as_deref().unwrap_or("(not mounted)"),
            c.unified_controllers.join(" ")
        ),
        CgroupMode::Hybrid => format!(
            "hybrid: v1 [{}], cgroup2 at {} [{}]",
            c.v1_controllers.join(" "),
            c.unified_mount.as_deref().unwrap_or("(not mounted)"),
            c.unified_controllers.join(" ")
        ),
    };
    let _ = writeln!(o, "        layout: {layout}");
    item(
        o,
        c.nsdelegate,
        "nsdelegate",
        "cgroup namespaces are delegation boundaries",
    );
    let writable = d.writable();
    item(
        o,
        writable,
        "cgroups writable",
        "a runtime here can create cgroups for its containers",
    );
    if let Some(dir) = &d.unified_dir {
        item(
            o,
            !d.unified_delegable.is_empty(),
            "cgroup2 controllers delegable",
            &format!(
                "[{}] can be enabled below {dir}",
                d.unified_delegable.join(" ")
            ),
        );
    }
    // The real root cgroup is exempt from the no-internal-processes rule.
    if let Some(own) = &d.own_dir {
        if n.level > 0 || f.cgroup.membership.iter().all(|m| m != "0::/") {
            item(
                o,
                d.in_leaf(),
                "own processes in a leaf",
                &format!("{} process(es) in {own}", d.own_processes),
            );
        }
    }
    for h in &d.v1 {
        item(
            o,
            h.writable,
            &format!("v1 {} writable", h.controllers),
            "child cgroups can be created in this hierarchy",
        );
    }
    for note in &d.notes {
        let _ = writeln!(o, "        note: {note}");
    }
    if !f.cgroup.delegate_files.is_empty() {
        let _ = writeln!(
            o,
            "        delegatable files: {}",
            f.cgroup.delegate_files.join(" ")
        );
    }
}

/// The lsms section.
fn lsms(o: &mut String, f: &Facts) {
    let a = &f.apparmor;
    let k = &f.snapshot.kernel;
    let _ = writeln!(o, "\nLSMs");
    item(
        o,
        a.enabled,
        "AppArmor",
        if a.enabled {
            "profiles confine containers"
        } else {
            "absent: no profiles are loaded or needed"
        },
    );
    if a.enabled {
        item(
            o,
            a.stacking,
            "AppArmor stacking",
            "a container's profile can be stacked with its parent's",
        );
        item(
            o,
            a.policy_namespaces,
            "AppArmor policy namespaces",
            "level 1 can load profiles for level 2",
        );
    }
    if let Some(label) = &a.label {
        let _ = writeln!(o, "        LSM label of this process: {label}");
    }
    if let Some(v) = &a.parser_version {
        let _ = writeln!(
            o,
            "        apparmor_parser {v}; ABIs: {}",
            a.parser_abis.join(" ")
        );
    }
    if let Some(r) = a.restrict_unprivileged_userns {
        item(
            o,
            !r,
            "unprivileged userns unrestricted",
            "kernel.apparmor_restrict_unprivileged_userns",
        );
    }
    item(
        o,
        k.landlock_abi.is_some(),
        &format!(
            "Landlock ABI {}",
            k.landlock_abi.map_or("-".into(), |v| v.to_string())
        ),
        "unprivileged filesystem sandboxing, stackable at every level",
    );
}

/// The storage network section.
fn storage_network(o: &mut String, f: &Facts) {
    let x = &f.kernel;
    let _ = writeln!(o, "\nStorage and network");
    let (ok, src) = avail(&x.fscrypt);
    item(
        o,
        ok,
        "fscrypt",
        &format!("per-directory encrypted rootfs ({src})"),
    );
    let (ok, src) = avail(&x.dm_crypt);
    item(
        o,
        ok,
        "dm-crypt",
        &format!(
            "encrypted block volumes ({src}); device-mapper {}",
            if x.device_mapper { "present" } else { "absent" }
        ),
    );
    tool_line(o, &f.tools.cryptsetup, false, "sets up dm-crypt volumes");
    for (name, a, meaning) in [
        ("overlayfs", &x.overlay, "layered root filesystems"),
        ("veth", &x.veth, "container network links"),
        ("bridge", &x.bridge, "per-level bridges"),
        ("nftables", &x.nftables, "NAT for container subnets"),
    ] {
        let (ok, src) = avail(a);
        item(o, ok, name, &format!("{meaning} ({src})"));
    }
    let routes: Vec<String> = f.snapshot.routes.iter().map(|r| r.to_string()).collect();
    let _ = writeln!(o, "        subnets in use: {}", routes.join(" "));
    let _ = writeln!(
        o,
        "        uplink: {} mtu {}",
        f.uplink.as_deref().unwrap_or("none"),
        f.snapshot.uplink_mtu
    );
}

/// The ids section.
fn ids(o: &mut String, f: &Facts) {
    let _ = writeln!(o, "\nIds and privileges");
    item(
        o,
        f.snapshot.privileged,
        "real root",
        "uid 0 in the initial user namespace",
    );
    tool_line(
        o,
        &f.tools.newuidmap,
        true,
        "maps subordinate uids for unprivileged users",
    );
    tool_line(
        o,
        &f.tools.newgidmap,
        true,
        "maps subordinate gids for unprivileged users",
    );
    let ranges = |r: &[lxnest::plan::host::IdRange]| {
        r.iter()
            .map(|x| format!("{}+{}", x.first, x.count))
            .collect::<Vec<_>>()
            .join(" ")
    };
    item(
        o,
        !f.snapshot.subuids.is_empty(),
        "subordinate uids",
        &ranges(&f.snapshot.subuids),
    );
    item(
        o,
        !f.snapshot.subgids.is_empty(),
        "subordinate gids",
        &ranges(&f.snapshot.subgids),
    );
    let dropped: Vec<&str> = lxnest::host::CAP_NAMES
        .iter()
        .copied()
        .filter(|c| !f.caps.bounding.iter().any(|b| b == c))
        .collect();
    let _ = writeln!(
        o,
        "        capabilities not in the bounding set: {}",
        if dropped.is_empty() {
            "none".into()
        } else {
            dropped.join(" ")
        }
    );
    let idle: Vec<&str> = f
        .caps
        .bounding
        .iter()
        .filter(|c| !f.caps.effective.contains(c))
        .map(String::as_str)
        .collect();
    if !idle.is_empty() {
        let _ = writeln!(
            o,
            "        bounded but not effective now: {}",
            idle.join(" ")
        );
    }
}

/// The container view section.
fn container_view(o: &mut String, f: &Facts) {
    let _ = writeln!(o, "\nContainer view");
    let clean_proc = f.proc_sysfs.clean_proc();
    let clean_sys = f.proc_sysfs.clean_sysfs();
    item(
        o,
        clean_proc.is_some(),
        "unmasked proc",
        clean_proc.unwrap_or("every proc mount is partly covered"),
    );
    item(
        o,
        clean_sys.is_some(),
        "unmasked sysfs",
        clean_sys.unwrap_or("every sysfs mount is partly covered"),
    );
    for dv in &f.devices {
        let ok = dv.present && dv.open_error.is_none();
        let why = match (&dv.open_error, dv.present) {
            (_, false) => "missing".to_string(),
            (Some(e), _) => format!("cannot be opened: {e}"),
            (None, _) => "usable".into(),
        };
        item(o, ok, &dv.path, &why);
    }
}

/// The probes section.
fn probes(o: &mut String, f: &Facts) {
    let _ = writeln!(o, "\nSyscall probes (forked children, harmless arguments)");
    for p in &f.probes {
        let class = match p.class {
            ProbeClass::Allowed => "allowed",
            ProbeClass::DeniedBySeccomp => "denied by seccomp",
            ProbeClass::DeniedByCaps => "denied by capabilities",
            ProbeClass::DeniedByLsm => "denied by an LSM",
            ProbeClass::Limited => "limited",
            ProbeClass::Unknown => "unknown",
        };
        item(
            o,
            p.class.is_allowed(),
            &p.name,
            &format!("{class}: {}", p.detail),
        );
    }
}

/// The verdicts section.
fn verdict_lines(o: &mut String, vs: &[Verdict]) {
    let _ = writeln!(o, "\nVerdicts");
    for v in vs {
        let _ = writeln!(o, "  {}", v.line());
        for b in v.blockers.iter().skip(1) {
            let _ = writeln!(o, "      also: {}; {}", b.message, b.fix);
        }
        for w in &v.warnings {
            let _ = writeln!(o, "      warning: {}; {}", w.message, w.fix);
        }
    }
}
