//! `lxnest completions SHELL` and the hidden `lxnest man --dir DIR`: shell completions and man
//! pages generated from the clap definition itself, so they cannot drift from the commands.
//! docs/packaging.md says where the Debian package installs them.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// The shells a completion script is generated for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Shell {
    Bash,
    Zsh,
    Fish,
}

/// completions, man
#[derive(Debug, clap::Subcommand)]
pub enum ManualCommand {
    /// Print a completion script for bash, zsh or fish on standard output
    /// (e.g. `source <(lxnest completions bash)`).
    Completions {
        /// The shell.
        #[arg(value_enum)]
        shell: Shell,
    },
    /// Write the man pages (lxnest.1, and lxnest-COMMAND.1 for every command) into a directory,
    /// for packagers.
    #[command(hide = true)]
    Man {
        /// Output directory (created).
        #[arg(long, value_name = "DIR")]
        dir: PathBuf,
    },
}

impl ManualCommand {
    /// Run the command.
    pub fn run(self) -> anyhow::Result<ExitCode> {
        match self {
            ManualCommand::Completions { shell } => {
                let shell = match shell {
                    Shell::Bash => clap_complete::Shell::Bash,
                    Shell::Zsh => clap_complete::Shell::Zsh,
                    Shell::Fish => clap_complete::Shell::Fish,
                };
                let mut cmd = super::command();
                clap_complete::generate(shell, &mut cmd, "lxnest", &mut std::io::stdout());
            }
            ManualCommand::Man { dir } => {
                write_man_pages(&dir)?;
            }
        }
        Ok(ExitCode::SUCCESS)
    }
}

/// One page per visible command and subcommand (hidden ones are internal: `__monitor`,
/// `init-nested`, `man`), each footed with lxnest's version and commit.
fn write_man_pages(dir: &Path) -> anyhow::Result<()> {
    use anyhow::Context;
    fn write(cmd: &clap::Command, dir: &Path) -> std::io::Result<()> {
        for sub in cmd.get_subcommands().filter(|s| !s.is_hide_set()) {
            write(sub, dir)?;
        }
        clap_mangen::Man::new(cmd.clone())
            .source(format!("lxnest {}", super::VERSION))
            .generate_to(dir)
            .map(drop)
    }
    std::fs::create_dir_all(dir).with_context(|| format!("create {}", dir.display()))?;
    // Built, a subcommand knows its display name (`lxnest-config-show`): the page's name.
    let mut cmd = super::command().disable_help_subcommand(true);
    cmd.build();
    write(&cmd, dir).with_context(|| format!("write man pages to {}", dir.display()))
}
