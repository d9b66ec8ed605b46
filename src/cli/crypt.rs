//! `lxnest crypt status|lock DIR`: inspect or lock an encrypted container root by hand (the
//! launcher unlocks before start and locks after stop on its own).

use anyhow::Context;
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
    /// Encrypt a new, empty DIR for a container root and leave it unlocked so it can be
    /// populated (copy or unpack a root filesystem into it), then `lxnest crypt lock DIR`.
    Init {
        /// The (empty or missing) directory.
        dir: PathBuf,
        /// Key source: `passphrase` (asked on the terminal), `stdin` or `file:/PATH`.
        #[arg(long, default_value = "passphrase")]
        key: String,
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
                        println!(
                            "key: {}",
                            key.map(|k| format!("{k:?}"))
                                .unwrap_or_else(|| "unknown".into())
                        );
                    }
                }
            }
            CryptSub::Init { dir, key } => {
                let abs = std::path::absolute(&dir)?;
                let spec = format!(
                    "containers:\n  - name: init\n    rootfs: dir:{}\n    encrypt: {{method: fscrypt, key: \"{key}\"}}\n",
                    abs.display()
                );
                let stack = lxnest::spec::parse_str(&spec, "crypt init")?;
                let plan = lxnest::crypt::plan::plan(&stack.containers[0], "init")?
                    .context("encrypt plan")?;
                let opened = lxnest::crypt::unlock_for_start(&plan)?;
                opened.guard.persist();
                println!(
                    "{}: encrypted ({}) and unlocked; key metadata in {}",
                    abs.display(),
                    if opened.created { "new" } else { "existing" },
                    plan.metadata
                );
                println!(
                    "populate it, then run `lxnest crypt lock {}` before starting the container",
                    abs.display()
                );
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
