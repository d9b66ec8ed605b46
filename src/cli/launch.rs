//! Commands: start, stop, ls, info, run, destroy (LXC-style flags where LXC has them), and the
//! hidden `init-nested` and `__probe` used inside containers.

use anyhow::{bail, Context};
use lxnest::launch::{self, defaults, monitor, nested, state, StartOptions};
use lxnest::plan::model::Plan;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

/// Output format of `ls` and `info`.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum Output {
    /// A table / readable text.
    Text,
    /// JSON.
    Json,
}

/// start, stop, ls, info, run, destroy
#[derive(Debug, clap::Subcommand)]
pub enum LaunchCommand {
    /// Start the containers of a spec (level 1; with --nested, the whole stack through them).
    Start {
        /// Start nesting hosts with `lxnest init-nested`, which starts their children.
        #[arg(long)]
        nested: bool,
        /// Stay in the foreground (one container) and exit with its init's code.
        #[arg(short = 'F', long)]
        foreground: bool,
        /// Spec file (YAML) or plan (JSON, as `lxnest plan --output json` writes).
        #[arg(short = 'f', long = "config", value_name = "SPEC")]
        config: Option<PathBuf>,
        /// Spec file, as a positional argument.
        spec: Option<PathBuf>,
        /// Start only this container (name or path).
        #[arg(short = 'n', long, value_parser = lxnest::names::parse_path)]
        name: Option<String>,
        /// State directory.
        #[arg(short = 'P', long = "lxpath", default_value_os_t = state::default_dir())]
        state_dir: PathBuf,
        /// Refuse to start without AppArmor instead of logging and going on.
        #[arg(long)]
        require_apparmor: bool,
        /// Seconds between SIGTERM and SIGKILL when the container is stopped.
        #[arg(short = 't', long, default_value_t = 10)]
        timeout: u64,
    },
    /// Stop a container (SIGTERM to its init, SIGKILL of its cgroup after the timeout).
    Stop {
        /// Container name.
        #[arg(short = 'n', long, value_parser = lxnest::names::parse_name)]
        name: String,
        /// State directory.
        #[arg(short = 'P', long = "lxpath", default_value_os_t = state::default_dir())]
        state_dir: PathBuf,
        /// Seconds to wait before SIGKILL.
        #[arg(short = 't', long, default_value_t = 10)]
        timeout: u64,
    },
    /// List containers.
    Ls {
        /// State directory.
        #[arg(short = 'P', long = "lxpath", default_value_os_t = state::default_dir())]
        state_dir: PathBuf,
        /// Output format.
        #[arg(long, value_enum, default_value = "text")]
        output: Output,
    },
    /// Show a container's state and the policies in force.
    Info {
        /// Container name.
        #[arg(short = 'n', long, value_parser = lxnest::names::parse_name)]
        name: String,
        /// State directory.
        #[arg(short = 'P', long = "lxpath", default_value_os_t = state::default_dir())]
        state_dir: PathBuf,
        /// Output format.
        #[arg(long, value_enum, default_value = "text")]
        output: Output,
    },
    /// Run a command in a one-shot container on the built-in rootfs; exits with its code.
    Run {
        /// Make it a nesting host (lxnest inside can start containers).
        #[arg(long)]
        nested: bool,
        /// Take the container's plan from this spec's first container instead of the defaults.
        #[arg(long)]
        spec: Option<PathBuf>,
        /// The default plan on another root: `tar:PATH` (a rootfs tarball) or `dir:PATH`.
        #[arg(long, conflicts_with = "spec")]
        rootfs: Option<lxnest::spec::model::Rootfs>,
        /// Container name (default `run-<pid>`).
        #[arg(short = 'n', long, value_parser = lxnest::names::parse_name)]
        name: Option<String>,
        /// State directory.
        #[arg(short = 'P', long = "lxpath", default_value_os_t = state::default_dir())]
        state_dir: PathBuf,
        /// Refuse to start without AppArmor.
        #[arg(long)]
        require_apparmor: bool,
        /// The command.
        #[arg(last = true, required = true)]
        command: Vec<String>,
    },
    /// Stop a container if it runs and remove everything left of it.
    Destroy {
        /// Container name.
        #[arg(short = 'n', long, value_parser = lxnest::names::parse_name)]
        name: String,
        /// State directory.
        #[arg(short = 'P', long = "lxpath", default_value_os_t = state::default_dir())]
        state_dir: PathBuf,
        /// Also erase an encrypted root for good: remove its key from the kernel and its key
        /// metadata (salt), then the directory; the data cannot be recovered even with the old
        /// passphrase.
        #[arg(long)]
        crypto_erase: bool,
        /// The spec that defines the container (needed with --crypto-erase once it is stopped).
        #[arg(short = 'f', long = "config", value_name = "SPEC")]
        config: Option<PathBuf>,
    },
    /// First process of a nesting host: start its children from the handed-over plan.
    #[command(hide = true, name = "init-nested")]
    InitNested {
        /// Handoff file (default /run/lxnest/plan.json).
        #[arg(long)]
        plan: Option<PathBuf>,
    },
    /// Runs a start handed over by a multi-threaded library caller (`launch::helper`).
    #[command(hide = true, name = "__monitor")]
    Monitor,
    /// Escape probe run inside a container by the tests (`all` runs every probe).
    #[command(hide = true, name = "__probe")]
    Probe {
        /// Probe name.
        name: String,
        /// Arguments (a host pid for the kill/ptrace probes).
        args: Vec<String>,
    },
}

/// Reads a plan: JSON as written by `lxnest plan --output json`, or a spec (YAML, LXC config,
/// `builtin:NAME`) planned here against this machine.
fn load_plan(path: &Path) -> anyhow::Result<Plan> {
    if path.extension().is_some_and(|e| e == "json") {
        let text =
            lxnest::source::read_input(path).with_context(|| format!("read {}", path.display()))?;
        return super::json::read_plan(&text, path);
    }
    let loaded = lxnest::input::load(path)?;
    for note in &loaded.notes {
        eprintln!("lxnest: note: {note}");
    }
    let snapshot = lxnest::api::host_snapshot(None).context("reading this machine's facts")?;
    Ok(lxnest::plan::plan(&loaded.stack, &snapshot)?)
}

fn print_ls(states: &[state::State], output: Output) -> anyhow::Result<()> {
    match output {
        Output::Json => super::json::print_list("containers", states)?,
        Output::Text => {
            println!(
                "{:<20} {:<8} {:>8} {:>5} {:<28} ADDRESS",
                "NAME", "STATE", "PID", "LEVEL", "CGROUP"
            );
            for s in states {
                let monitor = s.monitor_pid > 0
                    && nix::sys::signal::kill(nix::unistd::Pid::from_raw(s.monitor_pid), None)
                        .is_ok();
                let st = match (state::alive(s), monitor) {
                    (false, _) => "stale",
                    (true, false) => "orphan",
                    (true, true) => s.status.as_str(),
                };
                let addr = s
                    .plan
                    .network
                    .address
                    .map(|a| a.to_string())
                    .unwrap_or_else(|| "-".into());
                // An unprivileged container without a delegated cgroup has none.
                let cgroup = if s.cgroups.is_empty() {
                    "-"
                } else {
                    s.plan.cgroup.path.as_str()
                };
                println!(
                    "{:<20} {:<8} {:>8} {:>5} {:<28} {}",
                    s.name, st, s.pid, s.level, cgroup, addr
                );
            }
        }
    }
    Ok(())
}

fn print_info(s: &state::State, state_dir: &Path, output: Output) -> anyhow::Result<()> {
    if let Output::Json = output {
        return super::json::print_object(s);
    }
    let e = &s.enforced;
    println!("name:        {}", s.name);
    println!("path:        {}", s.path);
    println!(
        "state:       {}",
        if state::alive(s) { &s.status } else { "stale" }
    );
    println!("pid:         {}", s.pid);
    println!("level:       {}", s.level);
    match &s.cgroup_note {
        Some(note) => println!("cgroup:      {note}"),
        None => {
            for (h, d) in &s.cgroups {
                println!("cgroup:      {h}: {}", d.display());
            }
        }
    }
    let ids = match &s.plan.idmap {
        Some(m) => m
            .uid
            .iter()
            .map(|l| format!("{}->{} ({})", l.inside, l.outside, l.count))
            .collect::<Vec<_>>()
            .join(", "),
        None => "privileged (no user namespace)".into(),
    };
    println!("uids:        {ids}");
    println!(
        "network:     {} {}",
        s.plan.network.mode,
        s.plan
            .network
            .address
            .map(|a| a.to_string())
            .unwrap_or_default()
    );
    if let Some(v) = &s.veth {
        println!("veth:        {v}");
    }
    println!(
        "seccomp:     {} filter(s) stacked, own filter {} instructions, no_new_privs={}",
        e.seccomp_filters, e.seccomp_insns, e.no_new_privs
    );
    println!("landlock:    {}", e.landlock);
    println!("apparmor:    {}", e.apparmor);
    println!("capabilities: {}", e.capabilities.join(" "));
    if s.plan.init.halt_signal.is_some() && state::alive(s) {
        println!("systemd:     {}", systemd_state(s, state_dir));
    }
    Ok(())
}

/// systemd's own answer to `systemctl is-system-running` inside the container (`running`,
/// `starting`, `degraded` ...), asked exactly as `lxnest attach` would.
fn systemd_state(s: &state::State, state_dir: &Path) -> String {
    let mut opts = lxnest::attach::AttachOptions::new(&s.name);
    opts.state_dir = state_dir.to_path_buf();
    opts.command = vec!["systemctl".into(), "is-system-running".into()];
    opts.pty = lxnest::attach::PtyMode::Never;
    match lxnest::attach::attach_output(&opts) {
        // It exits non-zero for every state but `running` and still prints the state.
        Ok(o) if !o.stdout.is_empty() => String::from_utf8_lossy(&o.stdout).trim().to_string(),
        Ok(o) => format!("unknown (exit {})", o.code),
        Err(e) => format!("unknown ({e})"),
    }
}

/// `alpine` for `tar:/media/usb/alpine.tar.xz`.
fn tarball_name(rootfs: &lxnest::spec::model::Rootfs) -> Option<String> {
    let lxnest::spec::model::Rootfs::Tar(path) = rootfs else {
        return None;
    };
    let file = std::path::Path::new(path).file_name()?.to_string_lossy();
    let mut stem = file.as_ref();
    while let Some(s) = [".gz", ".xz", ".zst", ".bz2", ".tgz", ".txz", ".tar"]
        .iter()
        .find_map(|ext| stem.strip_suffix(ext))
    {
        stem = s;
    }
    if stem.is_empty() || stem.starts_with('.') {
        return None;
    }
    let clean: String = stem
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' {
                c.to_ascii_lowercase()
            } else {
                '-'
            }
        })
        .take(lxnest::names::NAME_MAX)
        .collect();
    lxnest::names::is_valid(&clean).then_some(clean)
}

fn code(c: i32) -> ExitCode {
    ExitCode::from(u8::try_from(c).unwrap_or(1))
}

impl LaunchCommand {
    /// Whether the command only prints (see `Command::only_prints`).
    pub fn only_prints(&self) -> bool {
        matches!(self, LaunchCommand::Ls { .. } | LaunchCommand::Info { .. })
    }

    /// Run the command.
    pub fn run(self) -> anyhow::Result<ExitCode> {
        match self {
            LaunchCommand::Start {
                nested,
                foreground,
                config,
                spec,
                name,
                state_dir,
                require_apparmor,
                timeout,
            } => {
                // The library does the work (and remembers what it started, so a stopped
                // container can be started again by name, listed and executed in).
                let what = match config.or(spec) {
                    Some(p) => p.to_string_lossy().into_owned(),
                    None => name.clone().context(
                        "give a spec (SPEC or -f SPEC), or -n NAME of a container started before",
                    )?,
                };
                let opts = lxnest::api::StartOpts {
                    state_dir,
                    name,
                    nested,
                    foreground,
                    require_apparmor,
                    grace: Duration::from_secs(timeout),
                };
                for s in lxnest::api::start(&what, &opts)? {
                    if foreground {
                        return Ok(code(s.exit_code.unwrap_or(1)));
                    }
                    match s.pid {
                        Some(pid) => println!("{} started (pid {pid})", s.name),
                        None => println!("{} started", s.name),
                    }
                }
                Ok(ExitCode::SUCCESS)
            }
            LaunchCommand::Stop {
                name,
                state_dir,
                timeout,
            } => {
                lxnest::api::stop(&state_dir, &name, Duration::from_secs(timeout))?;
                Ok(ExitCode::SUCCESS)
            }
            LaunchCommand::Ls { state_dir, output } => {
                print_ls(&state::list(&state_dir), output)?;
                Ok(ExitCode::SUCCESS)
            }
            LaunchCommand::Info {
                name,
                state_dir,
                output,
            } => {
                print_info(&state::read(&state_dir, &name)?, &state_dir, output)?;
                Ok(ExitCode::SUCCESS)
            }
            LaunchCommand::Run {
                nested,
                spec,
                rootfs,
                name,
                state_dir,
                require_apparmor,
                command,
            } => {
                // A tarball's tree is kept per container name: name it after the tarball so the
                // next run reuses the tree instead of unpacking another copy.
                let name = name
                    .or_else(|| rootfs.as_ref().and_then(tarball_name))
                    .unwrap_or_else(|| format!("run-{}", std::process::id()));
                // A spec's container plugs into the spec's host bridge, created here if missing.
                let (mut plan, bridge) = match spec {
                    Some(p) => {
                        let full = load_plan(&p)?;
                        let first = full.containers.first().cloned();
                        let first =
                            first.with_context(|| format!("{} has no container", p.display()))?;
                        (first, full.host_bridge)
                    }
                    None => (defaults::level_plan(&name, Vec::new(), nested)?, None),
                };
                if let Some(r) = rootfs {
                    plan.rootfs = r;
                }
                plan.name = name.clone();
                plan.init.command = command;
                // Root's one-shot container takes its host ids from the allocation registry, so
                // it shares none with a stack, another run or a user's subordinate range.
                lxnest::launch::timing::mark(&name, "planned");
                let _reserved = lxnest::api::reserve_for_run(&mut plan, &state_dir)?;
                let opts = StartOptions {
                    state_dir,
                    require_apparmor,
                    bridge,
                    ..Default::default()
                };
                Ok(code(lxnest::launch::run_foreground(
                    &plan,
                    &opts,
                    monitor::DEFAULT_GRACE,
                )?))
            }
            LaunchCommand::Destroy {
                name,
                state_dir,
                crypto_erase,
                config,
            } => {
                // Read what is encrypted before the state goes with the container.
                let encrypt = match (crypto_erase, state::read(&state_dir, &name)) {
                    (false, _) => None,
                    (true, Ok(st)) => st.plan.encrypt.clone(),
                    (true, Err(_)) => {
                        let spec = config.context("the container is not running: give its spec with -f SPEC to find the encrypted root")?;
                        let plan = load_plan(&spec)?;
                        let c = plan
                            .containers
                            .iter()
                            .find(|c| c.name == name || c.path == name);
                        c.with_context(|| format!("no container {name} in {}", spec.display()))?
                            .encrypt
                            .clone()
                    }
                };
                if crypto_erase && encrypt.is_none() {
                    bail!("{name} has no encrypted root");
                }
                if !crypto_erase || state::read(&state_dir, &name).is_ok() {
                    lxnest::api::destroy(&state_dir, &name, monitor::DEFAULT_GRACE)?;
                }
                if let Some(e) = encrypt {
                    let report =
                        lxnest::crypt::crypto_erase(Path::new(&e.dir), Path::new(&e.metadata))?;
                    std::fs::remove_dir_all(&e.dir)
                        .with_context(|| format!("removing {}", e.dir))?;
                    println!(
                        "{}: key and key metadata erased ({report:?}); the directory is gone",
                        e.dir
                    );
                }
                Ok(ExitCode::SUCCESS)
            }
            LaunchCommand::InitNested { plan } => Ok(code(nested::init_nested(plan)?)),
            LaunchCommand::Monitor => Ok(code(lxnest::api::serve_helper())),
            LaunchCommand::Probe { name, args } => Ok(code(launch::probe::run(&name, &args))),
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_tarball_names_its_one_shot_container() {
        let name = |r: &str| super::tarball_name(&r.parse().unwrap());
        assert_eq!(
            name("tar:/media/usb/alpine-3.20_x86.tar.xz").as_deref(),
            Some("alpine-3-20-x86")
        );
        assert_eq!(name("dir:/srv/x"), None);
        assert_eq!(name("tar:/media/.hidden"), None);
    }
}
