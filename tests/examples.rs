//! Every example stack plans on the built-in laptop host, and every artifact generated from it is
//! pinned by a snapshot and accepted by the real tools: `apparmor_parser -QT -K` for profiles and
//! LXC's own config parser (through `lxc-info`) for the LXC fragments.

mod support;
use lxnest::artifacts::{render_all, Artifact};
use lxnest::plan::host::HostSnapshot;
use lxnest::plan::Plan;
use std::path::{Path, PathBuf};
use std::process::Command;

const EXAMPLES: &[&str] = &["juju-laptop", "docker-in-lxc", "three-levels"];

fn example(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("nesting/examples")
        .join(format!("{name}.yaml"))
}

fn plan(name: &str) -> Plan {
    let stack = lxnest::spec::load(&example(name)).unwrap_or_else(|e| panic!("{name}: {e}"));
    lxnest::plan::plan(&stack, &HostSnapshot::laptop()).unwrap_or_else(|e| panic!("{name}: {e}"))
}

fn artifacts(name: &str, out: &Path) -> Vec<Artifact> {
    render_all(&plan(name), out, false).unwrap_or_else(|e| panic!("{name}: {e}"))
}

/// A tool the tests need: in CI its absence is a failure, elsewhere the test is skipped loudly.
fn tool(name: &str) -> bool {
    let found = Command::new("sh")
        .arg("-c")
        .arg(format!("command -v {name}"))
        .output()
        .is_ok_and(|o| o.status.success());
    support::require(found, &format!("{name} (scripts/test-all.sh installs it)"))
}

/// `apparmor_parser -QT -K -S -M FEATURES` on `profile`: the binary policy, or the parser's
/// complaint. `-M` makes the parser compile mount rules instead of dropping them unchecked.
fn compile_profile(profile: &Path) -> Result<Vec<u8>, String> {
    let out = Command::new("apparmor_parser")
        .args(["-QT", "-K", "-S", "-M"])
        .arg(support::apparmor_features())
        .arg(profile)
        .output()
        .expect("apparmor_parser runs");
    if out.status.success() {
        Ok(out.stdout)
    } else {
        Err(String::from_utf8_lossy(&out.stderr).into_owned())
    }
}

#[test]
fn artifacts_of_every_example_match_their_snapshots() {
    let fixed = Path::new("/out");
    for name in EXAMPLES {
        for a in artifacts(name, fixed) {
            if a.file.ends_with(".bpf") {
                continue; // binary; its disassembly is snapshotted
            }
            let text = String::from_utf8(a.bytes).expect("text artifact");
            let snap = format!("{name}__{}", a.file.replace('/', "__"));
            insta::assert_snapshot!(snap, text);
        }
    }
}

#[test]
fn every_generated_profile_compiles_with_apparmor_parser() {
    if !tool("apparmor_parser") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    for name in EXAMPLES {
        for a in artifacts(name, dir.path())
            .iter()
            .filter(|a| a.file.ends_with("apparmor.profile"))
        {
            let path = dir.path().join(a.file.replace('/', "_"));
            std::fs::write(&path, &a.bytes).unwrap();
            if let Err(e) = compile_profile(&path) {
                panic!("{name} {}: {e}", a.file);
            }
        }
    }
}

/// The compile above checks mount rules: a mount rule changes the compiled policy (without `-M`
/// the parser on this kernel drops it, and both compile to the same bytes).
#[test]
fn apparmor_compile_keeps_mount_rules() {
    if !tool("apparmor_parser") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let with = dir.path().join("with");
    let without = dir.path().join("without");
    let body = "abi <abi/3.0>,\nprofile lxnest-mount-check {\n  file,\n";
    std::fs::write(&with, format!("{body}  mount fstype=proc -> /proc/,\n}}\n")).unwrap();
    std::fs::write(&without, format!("{body}}}\n")).unwrap();
    let (a, b) = (compile_profile(&with), compile_profile(&without));
    assert!(a.is_ok() && b.is_ok(), "{a:?} {b:?}");
    assert_ne!(
        a, b,
        "the mount rule was dropped: apparmor_parser runs without -M"
    );
}

#[test]
fn lxc_accepts_every_generated_config_fragment() {
    if !tool("lxc-info") {
        return;
    }
    for name in EXAMPLES {
        let dir = tempfile::tempdir().unwrap();
        let all = artifacts(name, dir.path());
        lxnest::artifacts::write(dir.path(), &all).unwrap();
        for a in all.iter().filter(|a| a.file.ends_with("lxc.conf")) {
            // lxc-info loads NAME/config below -P through LXC's own parser and fails on any key or
            // value it does not accept.
            let lxcpath = tempfile::tempdir().unwrap();
            let cdir = lxcpath.path().join("c");
            std::fs::create_dir(&cdir).unwrap();
            std::fs::write(cdir.join("config"), &a.bytes).unwrap();
            let out = Command::new("lxc-info")
                .arg("-P")
                .arg(lxcpath.path())
                .args(["-n", "c", "-c", "lxc.uts.name"])
                .output()
                .unwrap();
            assert!(
                out.status.success(),
                "{name} {}: {}{}",
                a.file,
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
        }
    }
}

#[test]
fn lxc_parser_check_is_real() {
    // The check above must be able to fail: a config with a typo is refused.
    if !tool("lxc-info") {
        return;
    }
    let lxcpath = tempfile::tempdir().unwrap();
    std::fs::create_dir(lxcpath.path().join("c")).unwrap();
    std::fs::write(
        lxcpath.path().join("c/config"),
        "lxc.uts.name = c\nlxc.idmap = u 0 x 65536\n",
    )
    .unwrap();
    let out = Command::new("lxc-info")
        .arg("-P")
        .arg(lxcpath.path())
        .args(["-n", "c", "-c", "lxc.uts.name"])
        .output()
        .unwrap();
    assert!(!out.status.success());
}

#[test]
fn seccomp_text_of_every_container_round_trips() {
    for name in EXAMPLES {
        for c in plan(name).containers {
            let text = lxnest::seccomp::lxc_text::render(&c.seccomp.own);
            let back = lxnest::seccomp::lxc_text::parse(&text, "rendered").unwrap();
            let strip = |p: &lxnest::seccomp::Policy| {
                p.rules
                    .iter()
                    .map(|r| (r.syscall.clone(), r.action, r.args.clone()))
                    .collect::<Vec<_>>()
            };
            assert_eq!(strip(&back), strip(&c.seccomp.own), "{name} {}", c.path);
            assert_eq!(back.default_action, c.seccomp.own.default_action);
        }
    }
}
