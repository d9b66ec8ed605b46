//! `lxnest config show`: an LXC configuration resolved through its includes, each value with the
//! file and line it came from.

use lxnest::lxc::config::{effective, not_enforced, read};
use std::path::PathBuf;
use std::process::ExitCode;

/// Output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// `key = value    # file:line`
    Text,
    /// JSON objects with key, value and origin.
    Json,
}

/// config
#[derive(Debug, clap::Subcommand)]
pub enum ConfigCommand {
    /// Work with LXC configuration files.
    #[command(subcommand)]
    Config(ConfigSub),
}

/// config subcommands
#[derive(Debug, clap::Subcommand)]
pub enum ConfigSub {
    /// Print the effective configuration with the file:line of every value.
    Show {
        /// The LXC configuration file.
        #[arg(short = 'f', long = "config", value_name = "CONFIG")]
        config: PathBuf,
        /// Output format.
        #[arg(long, value_enum, default_value_t = Format::Text)]
        output: Format,
    },
}

impl ConfigCommand {
    /// Run the command.
    pub fn run(self) -> anyhow::Result<ExitCode> {
        let ConfigCommand::Config(ConfigSub::Show { config, output }) = self;
        let cfg = read(&config)?;
        let eff = effective(&cfg);
        match output {
            Format::Json => {
                let items: Vec<_> = eff
                    .iter()
                    .flat_map(|(k, vs)| vs.iter().map(move |(v, o)| serde_json::json!({"key": k, "value": v, "file": o.file, "line": o.line})))
                    .collect();
                super::json::print_list("values", &items)?;
            }
            Format::Text => {
                let lines: Vec<(String, String)> = eff
                    .iter()
                    .flat_map(|(k, vs)| {
                        vs.iter()
                            .map(move |(v, o)| (format!("{k} = {v}"), o.to_string()))
                    })
                    .collect();
                let width = lines
                    .iter()
                    .map(|(l, _)| l.len())
                    .max()
                    .unwrap_or(0)
                    .min(64);
                for (l, o) in lines {
                    println!("{l:<width$}  # {o}");
                }
            }
        }
        let ignored = not_enforced(&cfg);
        if !ignored.is_empty() {
            let list: Vec<String> = ignored.iter().map(|(k, o)| format!("{k} ({o})")).collect();
            eprintln!(
                "lxnest: warning: read but not enforced by lxnest: {}",
                list.join(", ")
            );
        }
        Ok(ExitCode::SUCCESS)
    }
}
