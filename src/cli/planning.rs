//! Commands: plan, generate, explain, diff.

use std::process::ExitCode;

/// plan, generate, explain, diff
#[derive(Debug, clap::Subcommand)]
pub enum PlanningCommand {
    /// Placeholder until the planning commands land.
    #[command(hide = true, name = "__planning_placeholder")]
    Placeholder,
}

impl PlanningCommand {
    /// Run the command.
    pub fn run(self) -> anyhow::Result<ExitCode> {
        match self {
            PlanningCommand::Placeholder => anyhow::bail!("not implemented yet"),
        }
    }
}
