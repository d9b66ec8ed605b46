//! Every profile lxnest renders must compile with the real `apparmor_parser` (`-QT -K`: parse and
//! compile, never load). Mount rules are only compiled when the parser is told the kernel mediates
//! mounts, and this kernel has no AppArmor, so the tests pass a features file with `-M`.
//!
//! Without `apparmor_parser` the tests skip with a message, except under CI (`CI=true`), where a
//! missing parser is a failure.

mod support;
use lxnest::apparmor::{
    default_rootfs_dirs, known_flags, names, render, runtime_rootfs_dirs, ProfileParams,
};
use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

const PARSER: &str = "apparmor_parser";

/// Features files that describe a kernel with mount, signal, ptrace and stacking mediation.
const FEATURES: &[&str] = &[
    "/usr/share/apparmor-features/features",
    "/etc/apparmor.d/abi/3.0",
];

/// The flags a level-1 container hosting LXC with systemd inside gets.
const LXC_NESTING_HOST: &[&str] = &[
    "mount_proc",
    "mount_sysfs",
    "mount_cgroup",
    "mount_tmpfs",
    "mount_devpts",
    "mount_mqueue",
    "mount_bind",
    "pivot_root",
    "change_profile",
    "ptrace_children",
    "signal_children",
    "load_policy",
    "sysctl_net",
    "systemd",
];

fn parser_available() -> bool {
    let found = Command::new(PARSER)
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok();
    support::require(found, &format!("{PARSER} (Debian package `apparmor`)"))
}

fn features() -> &'static str {
    FEATURES
        .iter()
        .copied()
        .find(|f| Path::new(f).exists())
        .expect("no AppArmor features file installed with apparmor_parser")
}

/// Compiles `text` and returns the binary policy.
fn compile(text: &str) -> Result<Vec<u8>, String> {
    compile_with(text, true)
}

/// Compiles with the features file (`mount_rules`, mount rules compiled) or with the parser's
/// defaults on this AppArmor-less kernel (mount rules dropped, as a plain `-QT -K -S` does).
fn compile_with(text: &str, mount_rules: bool) -> Result<Vec<u8>, String> {
    let mut cmd = Command::new(PARSER);
    cmd.args(["-QT", "-K", "-S"]);
    if mount_rules {
        cmd.args(["-M", features()]);
    }
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| e.to_string())?;
    child
        .stdin
        .take()
        .expect("stdin is piped")
        .write_all(text.as_bytes())
        .map_err(|e| e.to_string())?;
    let out = child.wait_with_output().map_err(|e| e.to_string())?;
    if !out.status.success() {
        return Err(String::from_utf8_lossy(&out.stderr).into_owned());
    }
    Ok(out.stdout)
}

fn all_dirs() -> Vec<String> {
    default_rootfs_dirs()
        .iter()
        .map(|d| d.to_string())
        .collect()
}

fn level1(flags: &[&str], rootfs: Vec<String>) -> String {
    level1_named("host1", flags, rootfs)
}

fn level1_named(name: &str, flags: &[&str], rootfs: Vec<String>) -> String {
    let n = names(&[name]);
    let mut p = ProfileParams::new(n.profile).with_flags(flags.iter().copied());
    p.child_namespace = n.child_namespace;
    p.rootfs_dirs = rootfs;
    render(&p).expect("render")
}

fn check(what: &str, text: &str) {
    if let Err(e) = compile(text) {
        panic!("{what} does not compile:\n{e}\n--- profile ---\n{text}");
    }
}

#[test]
fn base_and_every_single_flag_compile() {
    if !parser_available() {
        return;
    }
    check("base profile", &level1(&[], vec![]));
    for (flag, _) in known_flags() {
        check(
            &format!("flag {flag} (level 1)"),
            &level1(&[flag], all_dirs()),
        );
        // A container that hosts no runtime: the rules for children's rootfs are left out.
        check(
            &format!("flag {flag} (level 1, no children)"),
            &level1(&[flag], vec![]),
        );
        // Level 2: no child namespace, loaded inside level 1's namespace.
        let n = names(&["host1", "child"]);
        let mut p = ProfileParams::new(n.profile).with_flags([*flag]);
        p.namespace = n.namespace;
        check(
            &format!("flag {flag} (level 2)"),
            &render(&p).expect("render"),
        );
    }
}

#[test]
fn every_runtime_and_all_flags_together_compile() {
    if !parser_available() {
        return;
    }
    let all: Vec<&str> = known_flags().iter().map(|(k, _)| *k).collect();
    check("all flags, all runtimes", &level1(&all, all_dirs()));
    check("all flags, no children", &level1(&all, vec![]));
    for rt in ["lxc", "lxd", "docker", "lxnest"] {
        let dirs = runtime_rootfs_dirs(rt);
        assert!(!dirs.is_empty(), "no rootfs directories for {rt}");
        check(&format!("all flags, {rt}"), &level1(&all, dirs.clone()));
        check(
            &format!("LXC nesting host flags, {rt}"),
            &level1(LXC_NESTING_HOST, dirs),
        );
    }
}

/// Every pair of flags, since flags share variables and deny rules; two threads, as compiling
/// is CPU-bound and the pairs are independent.
#[test]
fn every_pair_of_flags_compiles() {
    if !parser_available() {
        return;
    }
    let flags: Vec<&str> = known_flags().iter().map(|(k, _)| *k).collect();
    let mut pairs = Vec::new();
    for (i, a) in flags.iter().enumerate() {
        for b in &flags[i + 1..] {
            pairs.push([*a, *b]);
        }
    }
    let (left, right) = pairs.split_at(pairs.len() / 2);
    std::thread::scope(|s| {
        for half in [left, right] {
            s.spawn(move || {
                for pair in half {
                    check(
                        &format!("flags {pair:?}"),
                        &level1(pair, runtime_rootfs_dirs("lxc")),
                    );
                }
            });
        }
    });
}

#[test]
fn extra_rules_are_compiled_too_and_a_bad_one_is_caught() {
    if !parser_available() {
        return;
    }
    let mut p = ProfileParams::new("lxnest-x");
    p.extra_rules = vec![
        "deny /srv/secret/** rw,".into(),
        "mount fstype=nfs -> /mnt/nfs/,".into(),
    ];
    check("extra rules", &render(&p).expect("render"));
    // Passes lxnest's shape checks but is not AppArmor: the parser must refuse it, which shows
    // this test would notice a template that stopped compiling.
    p.extra_rules = vec!["frobnicate /srv/x,".into()];
    assert!(compile(&render(&p).expect("render")).is_err());
}

/// CPU time (user + system) of the parser compiling `text`: the best of several runs, so that
/// other work on the machine does not count.
fn compile_cpu_time(text: &str, mount_rules: bool) -> Duration {
    use nix::sys::resource::{getrusage, UsageWho};
    use nix::sys::time::TimeValLike;
    let cpu = || {
        let u = getrusage(UsageWho::RUSAGE_CHILDREN).expect("getrusage");
        Duration::from_micros(
            (u.user_time().num_microseconds() + u.system_time().num_microseconds()) as u64,
        )
    };
    (0..9)
        .map(|_| {
            let before = cpu();
            compile_with(text, mount_rules).expect("compiles");
            cpu() - before
        })
        .min()
        .expect("nine runs")
}

/// The DESIGN goal: a level-1 nesting profile no larger than LXC's static
/// lxc-container-default-with-nesting while denying more. Compared with the same parser
/// and features file; the figures are printed for docs/apparmor.md.
#[test]
fn level1_nesting_profile_is_no_larger_than_lxcs() {
    if !parser_available() {
        return;
    }
    let lxc_profile = Path::new("/etc/apparmor.d/lxc/lxc-default-with-nesting");
    if !support::require(
        lxc_profile.exists(),
        &format!("{} (Debian package `lxc`)", lxc_profile.display()),
    ) {
        return;
    }
    let lxc_text = "#include <tunables/global>\n#include <lxc/lxc-default-with-nesting>\n";
    // The namespace name is compiled into the change_profile rules, so size grows with the
    // container name (about 60 bytes a character): a typical name, and the longest the spec
    // allows (32 characters).
    for name in [
        "ci-host",
        "juju-host-01",
        "build-farm-ci-runner-nested-0042",
    ] {
        let ours = level1_named(name, LXC_NESTING_HOST, runtime_rootfs_dirs("lxc"));
        for mount_rules in [true, false] {
            let lxc_size = compile_with(lxc_text, mount_rules)
                .expect("LXC's profile compiles")
                .len();
            let our_size = compile_with(&ours, mount_rules)
                .expect("ours compiles")
                .len();
            let lxc_time = compile_cpu_time(lxc_text, mount_rules);
            let our_time = compile_cpu_time(&ours, mount_rules);
            eprintln!(
                "level-1 LXC nesting host {name:?} ({}): lxnest {our_size} B in {our_time:?} CPU, LXC with-nesting \
                 {lxc_size} B in {lxc_time:?} CPU (size ratio {:.2}, time ratio {:.2})",
                if mount_rules { "mount rules compiled, -M" } else { "plain -QT -K -S, mount rules dropped" },
                our_size as f64 / lxc_size as f64,
                our_time.as_secs_f64() / lxc_time.as_secs_f64()
            );
            // With mount mediation, the only kernels where either profile is loaded, lxnest's is
            // no larger. With mount rules dropped only file rules are compared, and lxnest's also
            // protects the proc and sys copies it lets children mount (see docs/apparmor.md).
            if mount_rules {
                assert!(
                    our_size <= lxc_size,
                    "{name}: lxnest {our_size} B > LXC's {lxc_size} B (mount rules: {mount_rules})"
                );
            }
        }
    }
    let ours = level1(LXC_NESTING_HOST, runtime_rootfs_dirs("lxc"));
    // Denies more: no blanket mount, and the kernel knobs LXC leaves open stay closed.
    assert!(!ours.lines().any(|l| l.trim() == "mount,"));
    for rule in [
        "deny capability sys_module,",
        "deny /proc/{sysrq-trigger,kcore,kmem,mem} rwklx,",
        "deny /sys/{block,bus,class,dev,firmware,hypervisor,module,power}/** wklx,",
    ] {
        assert!(ours.contains(rule), "missing {rule}");
    }
}
