//! Commands: check.

use std::process::ExitCode;

/// check
#[derive(Debug, clap::Subcommand)]
pub enum CheckCommand {
    /// Placeholder until the check commands land.
    #[command(hide = true, name = "__check_placeholder")]
    Placeholder,
}

impl CheckCommand {
    /// Run the command.
    pub fn run(self) -> anyhow::Result<ExitCode> {
        match self {
            CheckCommand::Placeholder => anyhow::bail!("not implemented yet"),
        }
    }
}
