//! Commands: start, stop, ls, info, run, destroy, attach, execute.

use std::process::ExitCode;

/// start, stop, ls, info, run, destroy, attach, execute
#[derive(Debug, clap::Subcommand)]
pub enum LaunchCommand {
    /// Placeholder until the launch commands land.
    #[command(hide = true, name = "__launch_placeholder")]
    Placeholder,
}

impl LaunchCommand {
    /// Run the command.
    pub fn run(self) -> anyhow::Result<ExitCode> {
        match self {
            LaunchCommand::Placeholder => anyhow::bail!("not implemented yet"),
        }
    }
}
