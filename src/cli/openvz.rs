//! `lxnest import-openvz`: an OpenVZ container config to an lxnest spec and an LXC config.

use crate::cli::table::Table;
use lxnest::openvz::{import, Outcome};
use std::path::PathBuf;
use std::process::ExitCode;

/// import-openvz
#[derive(Debug, clap::Subcommand)]
pub enum OpenVzCommand {
    /// Convert an OpenVZ container config (CTID.conf) into an lxnest spec and an LXC config, and
    /// report what mapped, how, and what could not.
    ImportOpenvz {
        /// The container's config, e.g. /etc/vz/conf/101.conf.
        config: PathBuf,
        /// The global config with defaults such as VE_ROOT and VE_PRIVATE (default: /etc/vz/vz.conf
        /// when it exists).
        #[arg(long, value_name = "PATH")]
        vz_conf: Option<PathBuf>,
        /// Print the report and the files, write nothing.
        #[arg(long)]
        dry_run: bool,
        /// Where to write NAME.yaml and NAME.conf.
        #[arg(short = 'o', long, default_value = ".")]
        out: PathBuf,
    },
}

impl OpenVzCommand {
    /// Run the command.
    pub fn run(self) -> anyhow::Result<ExitCode> {
        let OpenVzCommand::ImportOpenvz {
            config,
            vz_conf,
            dry_run,
            out,
        } = self;
        let default_vz = PathBuf::from("/etc/vz/vz.conf");
        let vz = vz_conf.or_else(|| default_vz.exists().then_some(default_vz));
        let imp = import(&config, vz.as_deref())?;
        let mut t = Table::new(&["SETTING", "VALUE", "RESULT", "HOW / WHY"]);
        for l in &imp.report {
            let (result, detail) = match &l.outcome {
                Outcome::Mapped(d) => ("mapped", d),
                Outcome::Adapted(d) => ("adapted", d),
                Outcome::NotMapped(d) => ("not mapped", d),
            };
            let value: String = l.value.chars().take(40).collect();
            t.row(vec![l.key.clone(), value, result.into(), detail.clone()]);
        }
        print!("{}", t.render());
        let (yaml, conf) = (
            out.join(format!("{}.yaml", imp.container.name)),
            out.join(format!("{}.conf", imp.container.name)),
        );
        if dry_run {
            println!(
                "\n--- {} (not written)\n{}\n--- {} (not written)\n{}",
                yaml.display(),
                imp.spec_yaml,
                conf.display(),
                imp.lxc_config
            );
        } else {
            std::fs::create_dir_all(&out)?;
            std::fs::write(&yaml, &imp.spec_yaml)?;
            std::fs::write(&conf, &imp.lxc_config)?;
            println!("\nwrote {} and {}", yaml.display(), conf.display());
        }
        Ok(ExitCode::SUCCESS)
    }
}
