//! `lxnest crypt status|lock DIR`: inspect or lock an encrypted container root by hand (the
//! launcher unlocks before start and locks after stop on its own).

use lxnest::crypt::fscrypt;
use std::path::PathBuf;
use std::process::ExitCode;

/// crypt
#[derive(Debug, clap::Subcommand)]
pub enum CryptCommand {
    /// Encrypted container roots (fscrypt).
    #[command(subcommand)]
    Crypt(CryptSub),
}

/// crypt subcommands
#[derive(Debug, clap::Subcommand)]
pub enum CryptSub {
    /// Whether DIR is encrypted, with which policy, and whether its key is present.
    Status {
        /// The container's root directory.
        dir: PathBuf,
    },
    /// Remove DIR's key from the kernel (files stay encrypted on disk and unreadable).
    Lock {
        /// The container's root directory.
        dir: PathBuf,
    },
}

impl CryptCommand {
    /// Run the command.
    pub fn run(self) -> anyhow::Result<ExitCode> {
        let CryptCommand::Crypt(sub) = self;
        match sub {
            CryptSub::Status { dir } => {
                let st = fscrypt::status(&dir)?;
                match (&st.policy, &st.key) {
                    (None, _) => println!("{}: not encrypted", dir.display()),
                    (Some(p), key) => {
                        println!("{}: encrypted, {p:?}", dir.display());
                        println!("key: {}", key.map(|k| format!("{k:?}")).unwrap_or_else(|| "unknown".into()));
                    }
                }
            }
            CryptSub::Lock { dir } => {
                let st = fscrypt::status(&dir)?;
                let Some(p) = st.policy else {
                    anyhow::bail!("{} is not encrypted", dir.display());
                };
                let outcome = fscrypt::lock(&dir, p.key_id)?;
                println!("{}: {outcome:?}", dir.display());
            }
        }
        Ok(ExitCode::SUCCESS)
    }
}
