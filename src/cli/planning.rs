//! Commands that read a spec and answer from its plan: plan, generate, explain, diff.

use crate::cli::table::Table;
use anyhow::{bail, Context};
use lxnest::plan::host::HostSnapshot;
use lxnest::plan::model::{LevelPlan, Plan};
use std::path::PathBuf;
use std::process::ExitCode;

/// Output format of the reading commands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Output {
    /// Human-readable tables.
    Text,
    /// JSON, for scripts.
    Json,
}

/// What `generate` writes (`lxnest::export::Format`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ExportFormat {
    /// lxnest's own artifacts.
    Lxnest,
    /// Security Profiles Operator objects.
    Spo,
    /// Incus/LXD profiles.
    Incus,
}

/// Where the host facts come from.
#[derive(Debug, Clone, clap::Args)]
pub struct HostArgs {
    /// Plan against a built-in host instead of this machine (`laptop`: LAN 192.168.1.0/24,
    /// lxcbr0 on 10.0.3.0/24, hybrid cgroups, no AppArmor). Plans are then reproducible.
    #[arg(long, value_name = "NAME")]
    host_fixture: Option<String>,
}

impl HostArgs {
    fn snapshot(&self) -> anyhow::Result<HostSnapshot> {
        match self.host_fixture.as_deref() {
            Some("laptop") => Ok(HostSnapshot::laptop()),
            Some(other) => bail!("unknown host fixture `{other}`; the only one is `laptop`"),
            // This machine, with what lxnest's allocation registry holds now.
            None => lxnest::api::host_snapshot(None).context("reading this machine's facts"),
        }
    }
}

/// plan, generate, explain, diff
#[derive(Debug, clap::Subcommand)]
pub enum PlanningCommand {
    /// Plan a stack and print each level: policies, cgroups, id maps, network.
    Plan {
        /// The nesting spec (YAML), `builtin:NAME`, or an LXC config file.
        spec: PathBuf,
        /// Output format.
        #[arg(long, value_enum, default_value_t = Output::Text)]
        output: Output,
        #[command(flatten)]
        host: HostArgs,
    },
    /// Write every artifact of a plan (profiles, filters, LXC config, plan.json) below a directory.
    Generate {
        /// The nesting spec (YAML), `builtin:NAME`, or an LXC config file.
        spec: PathBuf,
        /// Output directory (created).
        #[arg(short = 'o', long = "out", value_name = "DIR")]
        out: PathBuf,
        /// What to write: lxnest's own artifacts, Security Profiles Operator objects (`spo`),
        /// or Incus/LXD profiles (`incus`), one file per container (docs/export.md).
        #[arg(long, value_enum, default_value_t = ExportFormat::Lxnest)]
        format: ExportFormat,
        #[command(flatten)]
        host: HostArgs,
    },
    /// Say which rule of which level decides a syscall or a path for a container.
    Explain {
        /// The nesting spec (YAML), `builtin:NAME`, or an LXC config file.
        spec: PathBuf,
        /// Container path, e.g. juju-host/unit-1.
        #[arg(required_unless_present = "audit")]
        container: Option<String>,
        /// A syscall name (`keyctl`) or an absolute path (`/proc/sysrq-trigger`).
        #[arg(required_unless_present = "audit")]
        what: Option<String>,
        /// Instead: an AppArmor audit record (`apparmor="DENIED" ...`, `-` for every record on
        /// standard input): the level, container, profile and rule that decided, and the
        /// smallest spec change (as `lxnest explain-audit`).
        #[arg(long, conflicts_with_all = ["container", "what"])]
        audit: Option<String>,
        /// For a path: the access asked about (r, w, x, m, k, l).
        #[arg(long, default_value = "w")]
        access: String,
        /// Output format.
        #[arg(long, value_enum, default_value_t = Output::Text)]
        output: Output,
        #[command(flatten)]
        host: HostArgs,
    },
    /// Compare two specs' plans, or two containers of one plan (`--levels A B`).
    Diff {
        /// First spec.
        spec: PathBuf,
        /// Second spec (omit with --levels).
        other: Option<PathBuf>,
        /// Compare two containers of the first spec's plan.
        #[arg(long, num_args = 2, value_names = ["A", "B"])]
        levels: Option<Vec<String>>,
        /// Output format.
        #[arg(long, value_enum, default_value_t = Output::Text)]
        output: Output,
        #[command(flatten)]
        host: HostArgs,
    },
}

impl PlanningCommand {
    /// Run the command.
    pub fn run(self) -> anyhow::Result<ExitCode> {
        match self {
            PlanningCommand::Plan { spec, output, host } => {
                let plan = load_plan(&spec, &host)?;
                match output {
                    Output::Json => super::json::print_object(&plan)?,
                    Output::Text => print!("{}", plan_text(&plan)),
                }
            }
            PlanningCommand::Generate {
                spec,
                out,
                format,
                host,
            } => {
                let plan = load_plan(&spec, &host)?;
                let artifacts = match format {
                    ExportFormat::Lxnest => {
                        let has_aa = host.snapshot().map(|h| h.kernel.apparmor).unwrap_or(false);
                        let out_abs = std::path::absolute(&out).unwrap_or(out.clone());
                        lxnest::artifacts::render_all(&plan, &out_abs, has_aa)?
                    }
                    ExportFormat::Spo => {
                        lxnest::export::render(&plan, lxnest::export::Format::Spo)?
                    }
                    ExportFormat::Incus => {
                        lxnest::export::render(&plan, lxnest::export::Format::Incus)?
                    }
                };
                lxnest::artifacts::write(&out, &artifacts)?;
                println!(
                    "wrote {} files for {} containers below {}",
                    artifacts.len(),
                    plan.containers.len(),
                    out.display()
                );
                // The plan's warnings (e.g. where LXC would refuse a generated seccomp.lxc).
                for w in &plan.warnings {
                    eprintln!("warning: {w}");
                }
            }
            PlanningCommand::Explain {
                spec,
                container,
                what,
                audit,
                access,
                output,
                host,
            } => {
                let plan = load_plan(&spec, &host)?;
                match (audit, container, what) {
                    (Some(line), _, _) => {
                        return super::explain_audit::explain_records(&plan, &line);
                    }
                    (None, Some(c), Some(w)) => explain(&plan, &c, &w, &access, output)?,
                    _ => anyhow::bail!("give CONTAINER and WHAT, or --audit LINE"),
                }
            }
            PlanningCommand::Diff {
                spec,
                other,
                levels,
                output,
                host,
            } => {
                let a = load_plan(&spec, &host)?;
                let changes = match (other, levels) {
                    (Some(b), None) => lxnest::diff::plans(&a, &load_plan(&b, &host)?),
                    (None, Some(l)) => {
                        let (x, y) = (get(&a, &l[0])?, get(&a, &l[1])?);
                        lxnest::diff::levels(format!("{} -> {}", l[0], l[1]), x, y)
                    }
                    _ => bail!("give a second spec, or --levels A B, not both"),
                };
                print_diff(&changes, output)?;
            }
        }
        Ok(ExitCode::SUCCESS)
    }
}

fn load_plan(spec: &std::path::Path, host: &HostArgs) -> anyhow::Result<Plan> {
    let loaded = lxnest::input::load(spec)?;
    for note in &loaded.notes {
        eprintln!("lxnest: note: {note}");
    }
    let snapshot = host.snapshot()?;
    Ok(lxnest::plan::plan(&loaded.stack, &snapshot)?)
}

fn get<'a>(plan: &'a Plan, path: &str) -> anyhow::Result<&'a LevelPlan> {
    Ok(lxnest::explain::container(plan, path)?)
}

/// One table per level, then the warnings.
pub fn plan_text(plan: &Plan) -> String {
    let mut out = format!(
        "stack {} ({}), planned at level {}\n",
        plan.stack, plan.source, plan.base_level
    );
    if let Some(b) = &plan.host_bridge {
        out.push_str(&format!(
            "bridge {} {} (owned by lxnest at level {}; no NAT there)\n",
            b.name, b.address, plan.base_level
        ));
    }
    let max = plan.containers.iter().map(|c| c.depth).max().unwrap_or(0);
    for depth in plan.base_level + 1..=max {
        out.push_str(&format!("\nlevel {depth}\n"));
        let mut t = Table::new(&[
            "CONTAINER",
            "RUNTIME",
            "SECCOMP",
            "APPARMOR",
            "CGROUP",
            "LIMITS",
            "IDS (host)",
            "NETWORK",
            "OWN BRIDGE",
            "RUNTIME (ids inside, bridge)",
        ]);
        for c in plan.containers.iter().filter(|c| c.depth == depth) {
            t.row(level_row(c));
        }
        out.push_str(&t.render());
    }
    if !plan.reserved.is_empty() {
        out.push_str("\nreserved (kept clear of)\n");
        let mut t = Table::new(&["WHAT", "SUBNET", "UIDS (host)", "GIDS (host)", "HOLDER"]);
        let range = |r: Option<lxnest::plan::host::IdRange>| {
            r.map(|r| {
                format!(
                    "{}-{}",
                    r.first,
                    u64::from(r.first) + u64::from(r.count) - 1
                )
            })
            .unwrap_or_else(|| "-".into())
        };
        for r in &plan.reserved {
            t.row(vec![
                r.what.clone(),
                r.subnet
                    .map(|n| n.to_string())
                    .unwrap_or_else(|| "-".into()),
                range(r.uids),
                range(r.gids),
                r.holder.clone(),
            ]);
        }
        out.push_str(&t.render());
    }
    if !plan.warnings.is_empty() {
        out.push_str("\nwarnings:\n");
        plan.warnings
            .iter()
            .for_each(|w| out.push_str(&format!("  - {w}\n")));
    }
    out
}

fn level_row(c: &LevelPlan) -> Vec<String> {
    let own = &c.seccomp.own;
    let stacked = c.seccomp.inherited_from.len() + 1;
    let seccomp = format!(
        "{} rules, {stacked} stacked, {} denied",
        own.rules.len(),
        c.seccomp.effective.len()
    );
    let l = &c.cgroup.limits;
    let mut limits = Vec::new();
    if let Some(m) = l.memory {
        limits.push(format!("mem {}", lxnest::plan::cgroup::human(m)));
    }
    if let Some(p) = l.pids {
        limits.push(format!("pids {p}"));
    }
    if let Some((q, p)) = l.cpu {
        limits.push(format!("cpu {:.2}", q as f64 / p as f64));
    }
    let ids = c
        .idmap
        .as_ref()
        .map(|m| match m.uid.as_slice() {
            // An unprivileged user's container: the user as root, then subordinate ids.
            [me, rest] if c.parent.is_none() => {
                format!("{},{}+{}", me.outside, rest.outside, rest.count)
            }
            _ => format!("{}+{}", m.host_uid.first, m.host_uid.count),
        })
        .unwrap_or_else(|| "privileged".into());
    let net = match (&c.network.address, &c.network.parent_bridge) {
        (Some(a), Some(b)) => format!("{a} on {b}"),
        _ => c.network.mode.to_string(),
    };
    let own_bridge = c
        .network
        .own_bridge
        .as_ref()
        .map(|b| format!("{} {}{}", b.name, b.subnet, if b.nat { " nat" } else { "" }));
    let cgroup = format!(
        "{}{}",
        c.cgroup.path,
        if c.cgroup.delegate {
            " (delegated)"
        } else {
            ""
        }
    );
    vec![
        format!(
            "{}{}",
            "  ".repeat(c.depth.saturating_sub(1) as usize),
            c.name
        ),
        c.runtime.map_or_else(|| "-".into(), |r| r.to_string()),
        seccomp,
        c.apparmor.label.clone(),
        cgroup,
        if limits.is_empty() {
            "-".into()
        } else {
            limits.join(" ")
        },
        ids,
        net,
        own_bridge.unwrap_or_else(|| "-".into()),
        runtime_cell(c),
    ]
}

/// What the container's own runtime gets: the ids reserved for its containers (inside the
/// container, as its /etc/subuid says) and the bridge it creates itself.
fn runtime_cell(c: &LevelPlan) -> String {
    let ids = c
        .idmap
        .as_ref()
        .and_then(|m| m.runtime)
        .map(|r| format!("{}+{}", r.first, r.count));
    let bridge = c
        .network
        .runtime_bridge
        .as_ref()
        .map(|b| format!("{} {}", b.name, b.subnet));
    match (ids, bridge) {
        (None, None) => "-".into(),
        (i, b) => [i, b].into_iter().flatten().collect::<Vec<_>>().join(", "),
    }
}

fn explain(
    plan: &Plan,
    container: &str,
    what: &str,
    access: &str,
    output: Output,
) -> anyhow::Result<()> {
    if what.starts_with('/') {
        let ans = lxnest::explain::path(plan, container, what, access)?;
        if output == Output::Json {
            return super::json::print_object(&ans);
        }
        let mut t = Table::new(&["LEVEL", "CONTAINER", "PROFILE", "RESULT", "RULE"]);
        for l in &ans.levels {
            let rule = l
                .rule
                .as_ref()
                .map(|(n, r)| format!("line {n}: {r}"))
                .unwrap_or_else(|| "no rule matches (denied by default)".into());
            t.row(vec![
                l.level.to_string(),
                l.container.clone(),
                l.profile.clone(),
                verdict(l.allowed),
                rule,
            ]);
        }
        print!("{}", t.render());
        if let Some((ok, why)) = &ans.landlock {
            println!("landlock: {} ({why})", verdict(*ok));
        }
        println!(
            "effective: {} {} for {}: {}",
            access,
            ans.path,
            container,
            verdict(ans.allowed)
        );
        return Ok(());
    }
    let ans = lxnest::explain::syscall(plan, container, what)?;
    if output == Output::Json {
        return super::json::print_object(&ans);
    }
    let mut t = Table::new(&["LEVEL", "CONTAINER", "ACTION", "RULE", "WHERE"]);
    for l in &ans.levels {
        let rule = l.rule.clone().unwrap_or_else(|| "(default action)".into());
        let cond = if l.conditional {
            " (argument rules apply)"
        } else {
            ""
        };
        t.row(vec![
            l.level.to_string(),
            l.container.clone(),
            format!("{}{cond}", l.action),
            rule,
            l.origin.to_string(),
        ]);
    }
    print!("{}", t.render());
    match &ans.decided_by {
        Some(by) => println!(
            "effective: {} for {} is {}, decided by {by}",
            what, container, ans.effective
        ),
        None => println!(
            "effective: {} for {} is allowed by every level",
            what, container
        ),
    }
    Ok(())
}

fn verdict(ok: bool) -> String {
    if ok { "allowed" } else { "denied" }.into()
}

fn print_diff(changes: &[lxnest::diff::Change], output: Output) -> anyhow::Result<()> {
    if output == Output::Json {
        return super::json::print_list("changes", changes);
    }
    if changes.is_empty() {
        println!("no differences");
    }
    for c in changes {
        match (&c.before, &c.after) {
            (Some(b), Some(a)) => println!("{}: {}: {b} -> {a}", c.container, c.field),
            (Some(b), None) => println!("{}: {}: - {b}", c.container, c.field),
            (None, Some(a)) => println!("{}: {}: + {a}", c.container, c.field),
            (None, None) => {}
        }
    }
    Ok(())
}
