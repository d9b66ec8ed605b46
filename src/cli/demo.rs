//! `lxnest demo`: Sallie's juju-laptop stack end to end on the built-in rootfs. It plans the
//! stack against this machine, starts level 1 and (through it) level 2, starts a real LXC
//! container inside juju-host next to the lxnest units (`demo_lxc.sh`), runs the escape battery
//! inside a level-1 and a level-2 container, prints policies and results per level, stops the
//! stack and checks that nothing is left behind.

use crate::cli::table::Table;
use anyhow::{bail, Context};
use lxnest::attach::{attach_output, AttachOptions};
use lxnest::launch::{nested, probe, StartOptions};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant};

/// Probes that act on a nesting host's own namespaces, which it legitimately manages.
const OWN_NAMESPACE: &[&str] = &[
    "cgroup_mkdir",
    "net_route_add",
    "net_addr_set",
    "mount_bind_root",
    "mount_over_proc",
];

/// demo
#[derive(Debug, clap::Subcommand)]
pub enum DemoCommand {
    /// Build the juju-laptop stack on the built-in rootfs, run the escape battery at each level,
    /// print the per-level policies and results, and clean up (needs root).
    Demo {
        /// Leave the stack running afterwards (stop it with `lxnest stop -P DIR -n juju-host`).
        #[arg(long)]
        keep: bool,
        /// State directory for the demo's containers.
        #[arg(short = 'P', long = "lxpath", default_value = "/run/lxnest-demo")]
        state_dir: PathBuf,
    },
}

impl DemoCommand {
    /// Run the demo.
    pub fn run(self) -> anyhow::Result<ExitCode> {
        let DemoCommand::Demo { keep, state_dir } = self;
        let spec = Path::new("builtin:juju-laptop");
        let loaded = lxnest::input::load(spec)?;
        let host = lxnest::host::read().context("reading this machine's facts")?;
        let plan = lxnest::plan::plan(&loaded.stack, &host)?;
        println!("== 1. the plan (against this machine)\n");
        print!("{}", super::planning::plan_text(&plan));
        let before = footprint();
        let level1 = plan
            .get("juju-host")
            .context("juju-host in the built-in stack")?
            .clone();
        println!("\n== 2. starting juju-host and, through it, its three units\n");
        start_nesting_host(&plan, &level1, &state_dir)?;
        // Step 3 runs the host's LXC inside juju-host (the built-in rootfs shares the host's
        // /usr): on a machine without it, the demo says what to install instead of failing.
        let lxc = match missing_lxc() {
            None => lxc_at_level_two(&state_dir, &level1),
            Some(what) => {
                println!(
                    "\n== 3. real LXC at level 2: not on this machine ({what}); `apt install lxc lxc-templates dnsmasq-base` to see juju-host run one"
                );
                Ok(())
            }
        };
        let result = battery(&state_dir);
        let result = match (lxc, result) {
            (Ok(()), r) => r,
            (Err(e), Ok(_)) => {
                println!("\nLXC AT LEVEL 2 FAILED: {e:#}");
                Ok(ExitCode::from(1))
            }
            (Err(e), Err(r)) => {
                println!("\nLXC AT LEVEL 2 FAILED: {e:#}");
                Err(r)
            }
        };
        if keep {
            println!(
                "\nthe stack keeps running: lxnest ls -P {0}; lxnest stop -P {0} -n juju-host",
                state_dir.display()
            );
            return result;
        }
        println!("\n== 5. stopping the stack\n");
        lxnest::launch::ops::stop(&state_dir, "juju-host", Duration::from_secs(10))?;
        let _ = std::fs::remove_dir(&state_dir);
        let after = footprint();
        let left: Vec<_> = after.iter().filter(|x| !before.contains(x)).collect();
        if left.is_empty() {
            println!("stopped; no bridge, veth, cgroup or state file of the demo is left");
        } else {
            println!("LEFT BEHIND: {left:?}");
            return Ok(ExitCode::from(1));
        }
        result
    }
}

fn start_nesting_host(
    plan: &lxnest::plan::Plan,
    level1: &lxnest::plan::LevelPlan,
    state_dir: &Path,
) -> anyhow::Result<()> {
    let mut c = level1.clone();
    let nested_json = nested::handoff_for(plan, &c);
    if nested_json.is_some() {
        c.init.command = vec!["lxnest".into(), "init-nested".into()];
    }
    let opts = StartOptions {
        state_dir: state_dir.to_path_buf(),
        bridge: plan.host_bridge.clone(),
        nested_json,
        ..Default::default()
    };
    let pid = lxnest::launch::start_detached(&c, &opts, Duration::from_secs(10))?;
    println!("juju-host started (pid {pid}); waiting for the units");
    let deadline = Instant::now() + Duration::from_secs(20);
    for unit in ["juju-host/unit-1", "juju-host/unit-2", "juju-host/unit-3"] {
        loop {
            if run_in(state_dir, unit, &["true"]).is_ok_and(|(code, _)| code == 0) {
                println!("  {unit} is running");
                break;
            }
            if Instant::now() > deadline {
                bail!("{unit} did not come up within 20 s");
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }
    Ok(())
}

/// What step 3 needs from the host that it lacks: LXC's tools, its busybox template and
/// lxc-net's DHCP server (the built-in rootfs shares the host's /usr).
fn missing_lxc() -> Option<&'static str> {
    [
        ("/usr/bin/lxc-start", "lxc"),
        ("/usr/share/lxc/templates/lxc-busybox", "lxc-templates"),
        ("/usr/sbin/dnsmasq", "dnsmasq-base"),
        ("/bin/busybox", "busybox-static"),
    ]
    .into_iter()
    .find(|(path, _)| !Path::new(path).exists())
    .map(|(_, package)| package)
}

/// Starts a real LXC container (busybox template, common.conf, `sys:mixed`) inside juju-host, as
/// juju would next to its units, and shows its address and seccomp stacking.
fn lxc_at_level_two(state_dir: &Path, level1: &lxnest::plan::LevelPlan) -> anyhow::Result<()> {
    println!("\n== 3. real LXC at level 2: juju-host runs an LXC container next to the units\n");
    let mut o = AttachOptions::new("juju-host");
    o.state_dir = state_dir.to_path_buf();
    o.command = vec!["/bin/sh".into(), "-c".into(), LXC_SCRIPT.into()];
    let out = attach_output(&o)?;
    let text = String::from_utf8_lossy(&out.stdout);
    if out.code != 0 {
        bail!(
            "lxc-create/lxc-start in juju-host exited {}: {}{}",
            out.code,
            text,
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let get = |k: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix(k).and_then(|v| v.strip_prefix('=')))
            .unwrap_or("?")
            .to_string()
    };
    let planned = level1
        .network
        .own_bridge
        .as_ref()
        .map(|b| b.subnet.to_string())
        .unwrap_or_else(|| "none".into());
    let mut t = Table::new(&["LXC CONTAINER", "ADDRESS", "LXCBR0", "SECCOMP_FILTERS"]);
    t.row(vec![
        format!("juju-host/{} ({})", "juju-lxc1", get("uname")),
        get("address"),
        get("bridge"),
        format!("{} (juju-host: {})", get("filters"), get("host_filters")),
    ]);
    print!("{}", t.render());
    println!("(lxnest's own bridge for the units in juju-host: {planned})");
    let filters: u32 = get("filters").parse().unwrap_or(0);
    let host_filters: u32 = get("host_filters").parse().unwrap_or(0);
    if get("address") == "none" {
        bail!("juju-lxc1 got no address from lxc-net");
    }
    // The planner never gives LXC its stock subnet (a laptop's own lxcbr0 has it).
    if get("address").starts_with("10.0.3.") {
        bail!("juju-lxc1 is on LXC's stock 10.0.3.0/24: lxc-net did not get the planned subnet");
    }
    if filters != host_filters + 1 {
        bail!("LXC's seccomp policy did not stack on juju-host's ({filters} filters)");
    }
    Ok(())
}

/// The shell steps of [`lxc_at_level_two`], run in juju-host.
const LXC_SCRIPT: &str = include_str!("demo_lxc.sh");

fn run_in(state_dir: &Path, name: &str, cmd: &[&str]) -> anyhow::Result<(i32, String)> {
    let mut o = AttachOptions::new(name);
    o.state_dir = state_dir.to_path_buf();
    o.command = cmd.iter().map(|s| s.to_string()).collect();
    let out = attach_output(&o)?;
    Ok((out.code, String::from_utf8_lossy(&out.stdout).into_owned()))
}

/// Runs every probe in juju-host (level 1, a nesting host) and juju-host/unit-1 (level 2).
fn battery(state_dir: &Path) -> anyhow::Result<ExitCode> {
    println!("\n== 4. the escape battery (every attempt must fail)\n");
    let me = std::process::id().to_string();
    let mut results = Vec::new();
    for name in ["juju-host", "juju-host/unit-1"] {
        let (_, out) = run_in(state_dir, name, &["lxnest", "__probe", "all", &me])?;
        let map: std::collections::BTreeMap<String, String> = out
            .lines()
            .filter_map(|l| l.split_once('\t'))
            .map(|(k, v)| (k.into(), v.into()))
            .collect();
        results.push(map);
    }
    let mut t = Table::new(&["PROBE", "LEVEL 1 (juju-host)", "LEVEL 2 (juju-host/unit-1)"]);
    let mut escapes = Vec::new();
    for p in probe::PROBES {
        let mut cell = |level: usize| -> String {
            let got = results[level]
                .get(*p)
                .cloned()
                .unwrap_or_else(|| "missing".into());
            match got.as_str() {
                "ok" if level == 0 && OWN_NAMESPACE.contains(p) => {
                    "allowed: its own namespace".into()
                }
                "ok" | "missing" => {
                    escapes.push(format!("{p} at level {}", level + 1));
                    format!("ESCAPED ({got})")
                }
                "absent" => "denied (no such file)".into(),
                errno => format!("denied ({errno})"),
            }
        };
        let (a, b) = (cell(0), cell(1));
        t.row(vec![p.to_string(), a, b]);
    }
    print!("{}", t.render());
    if escapes.is_empty() {
        println!("\nevery escape attempt failed at both levels");
        Ok(ExitCode::SUCCESS)
    } else {
        println!("\nESCAPES: {}", escapes.join(", "));
        Ok(ExitCode::from(1))
    }
}

/// What the demo could leave behind: lxnest interfaces and cgroup directories.
fn footprint() -> Vec<String> {
    let mut out = Vec::new();
    if let Ok(links) = std::fs::read_dir("/sys/class/net") {
        out.extend(
            links
                .flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|n| n.starts_with("lxnbr") || n.starts_with("vx")),
        );
    }
    if let Ok(hier) = std::fs::read_dir("/sys/fs/cgroup") {
        for h in hier.flatten() {
            let found = walk_named(&h.path(), "juju-host", 6);
            out.extend(found.into_iter().map(|p| p.display().to_string()));
        }
    }
    out
}

fn walk_named(dir: &Path, name: &str, depth: u32) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let Ok(rd) = std::fs::read_dir(dir) else {
        return out;
    };
    for e in rd
        .flatten()
        .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
    {
        if e.file_name() == name {
            out.push(e.path());
        } else if depth > 0 {
            out.extend(walk_named(&e.path(), name, depth - 1));
        }
    }
    out
}
