//! Command: explain-audit, from a kernel AppArmor audit record to the level, container, profile
//! and rule that decided, and the smallest spec change that would allow it.

use anyhow::Context;
use std::path::PathBuf;
use std::process::ExitCode;

/// explain-audit
#[derive(Debug, clap::Subcommand)]
pub enum ExplainAuditCommand {
    /// Explain an AppArmor audit record (`apparmor="DENIED" ...` from dmesg or the audit log).
    #[command(name = "explain-audit")]
    ExplainAudit {
        /// The nesting spec (YAML), `builtin:NAME`, or a plan JSON (`lxnest plan --output json`).
        spec: PathBuf,
        /// The audit line; `-` reads lines from standard input and explains each record.
        line: String,
        /// Plan against the built-in laptop host instead of this machine (labels and profiles
        /// do not depend on the host).
        #[arg(long)]
        host_fixture: Option<String>,
    },
}

fn plan_of(
    spec: &std::path::Path,
    fixture: Option<&str>,
) -> anyhow::Result<lxnest::plan::model::Plan> {
    let text = lxnest::source::read_input(spec).unwrap_or_default();
    if text.trim_start().starts_with('{') {
        return super::json::read_plan(&text, spec);
    }
    let loaded = lxnest::input::load(spec)?;
    let host = match fixture {
        Some("laptop") => lxnest::plan::host::HostSnapshot::laptop(),
        Some(other) => anyhow::bail!("unknown host fixture `{other}`; the only one is `laptop`"),
        None => lxnest::host::read().context("reading this machine's facts")?,
    };
    Ok(lxnest::plan::plan(&loaded.stack, &host)?)
}

impl ExplainAuditCommand {
    /// Run the command.
    pub fn run(self) -> anyhow::Result<ExitCode> {
        let ExplainAuditCommand::ExplainAudit {
            spec,
            line,
            host_fixture,
        } = self;
        let plan = plan_of(&spec, host_fixture.as_deref())?;
        explain_records(&plan, &line)
    }
}

/// Explains one audit record, or every AppArmor record on standard input for `-`.
pub fn explain_records(plan: &lxnest::plan::model::Plan, line: &str) -> anyhow::Result<ExitCode> {
    if line != "-" {
        print!(
            "{}",
            lxnest::explain_audit::explain_line(plan, line)?.to_text()
        );
        return Ok(ExitCode::SUCCESS);
    }
    let mut seen = 0;
    for l in std::io::stdin().lines() {
        let l = l?;
        if !l.contains("apparmor=") {
            continue;
        }
        if seen > 0 {
            println!();
        }
        seen += 1;
        match lxnest::explain_audit::explain_line(plan, &l) {
            Ok(a) => print!("{}", a.to_text()),
            Err(e) => println!("lxnest: {e}"),
        }
    }
    Ok(ExitCode::SUCCESS)
}
