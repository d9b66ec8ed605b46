//! Command-line parsing and dispatch. Each command group lives in its own file and exposes a
//! clap `Subcommand` enum with a `run` method; this file only flattens them into one CLI.

mod attach;
mod check;
mod config;
mod crypt;
mod demo;
mod explain_audit;
mod json;
mod launch;
mod manual;
mod openvz;
mod planning;
mod table;

use clap::Parser;
use std::process::ExitCode;

/// `lxnest --version`: the package version and the commit it was built from (build.rs).
const VERSION: &str = concat!(
    env!("CARGO_PKG_VERSION"),
    " (commit ",
    env!("LXNEST_COMMIT"),
    ")"
);

/// lxnest: plan, check, generate and launch nested container stacks.
#[derive(Debug, Parser)]
#[command(name = "lxnest", version = VERSION, about)]
pub struct Cli {
    /// Log filter (`info`, `debug`, `lxnest=trace`); also from LXNEST_LOG.
    #[arg(long, global = true)]
    log: Option<String>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, clap::Subcommand)]
enum Command {
    #[command(flatten)]
    Planning(planning::PlanningCommand),
    #[command(flatten)]
    Launch(launch::LaunchCommand),
    #[command(flatten)]
    Check(check::CheckCommand),
    #[command(flatten)]
    Config(config::ConfigCommand),
    #[command(flatten)]
    ExplainAudit(explain_audit::ExplainAuditCommand),
    #[command(flatten)]
    OpenVz(openvz::OpenVzCommand),
    #[command(flatten)]
    Attach(attach::AttachCommand),
    #[command(flatten)]
    Demo(demo::DemoCommand),
    #[command(flatten)]
    Crypt(crypt::CryptCommand),
    #[command(flatten)]
    Manual(manual::ManualCommand),
}

/// The whole command line as clap sees it: for man pages and completions.
pub(crate) fn command() -> clap::Command {
    <Cli as clap::CommandFactory>::command()
}

/// Parse arguments and run; errors are printed with their whole cause chain.
pub fn main() -> ExitCode {
    lxnest::launch::timing::mark("", "main");
    let cli = Cli::parse();
    init_logging(cli.log.as_deref());
    if cli.command.only_prints() {
        restore_sigpipe();
    }
    let result = match cli.command {
        Command::Planning(c) => c.run(),
        Command::Launch(c) => c.run(),
        Command::Check(c) => c.run(),
        Command::Config(c) => c.run(),
        Command::ExplainAudit(c) => c.run(),
        Command::OpenVz(c) => c.run(),
        Command::Attach(c) => c.run(),
        Command::Demo(c) => c.run(),
        Command::Crypt(c) => c.run(),
        Command::Manual(c) => c.run(),
    };
    match result {
        Ok(code) => code,
        Err(err) => {
            eprintln!("lxnest: {}", describe(&err));
            ExitCode::from(1)
        }
    }
}

impl Command {
    /// Commands that only print (no container, mount or cgroup to clean up if they die): a
    /// closed pipe (`lxnest info | head`) ends them quietly, as it ends `ls(1)`. The others keep
    /// Rust's ignored SIGPIPE, so a write error cannot kill them halfway through a start.
    fn only_prints(&self) -> bool {
        match self {
            Command::Launch(l) => l.only_prints(),
            Command::Planning(_)
            | Command::Check(_)
            | Command::Config(_)
            | Command::ExplainAudit(_)
            | Command::OpenVz(_)
            | Command::Manual(_) => true,
            Command::Attach(_) | Command::Demo(_) | Command::Crypt(_) => false,
        }
    }
}

/// SIGPIPE back to its default action (the Rust runtime ignores it, so `println!` panics on
/// EPIPE instead).
fn restore_sigpipe() {
    // SAFETY: setting a standard signal's disposition to SIG_DFL, before any thread exists.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
}

/// The default log filter: lxnest's warnings, but not a dependency's complaint about kernel
/// attributes newer than it knows (netlink-packet-route warns on every link dump of a newer
/// kernel's IFLA_INET6_CONF, which lxnest does not read). `--log`/LXNEST_LOG show everything.
const DEFAULT_LOG: &str = "warn,netlink_packet_route=error";

/// An error and its causes on one line, each said once: many of lxnest's errors already include
/// their cause's text (`{file}: cannot read: {source}`), and anyhow's `{:#}` would repeat it.
pub(crate) fn describe(err: &anyhow::Error) -> String {
    lxnest::api::join_causes(err.chain().map(|e| e.to_string()))
}

fn init_logging(filter: Option<&str>) {
    let filter = filter
        .map(String::from)
        .or_else(|| std::env::var("LXNEST_LOG").ok())
        .unwrap_or_else(|| DEFAULT_LOG.into());
    let _ = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::new(filter))
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_writer(std::io::stderr)
        .without_time()
        .try_init();
}
