//! Fleet export (`lxnest generate --format spo|incus`, docs/export.md): every example stack's
//! exports are pinned by snapshots, say the planner's effective seccomp decisions when read back
//! by lxnest's own OCI and LXC readers, and are accepted by the tools' own checks: the OCI
//! runtime-spec JSON schema (Debian's copy, through python3-jsonschema) for the SeccompProfiles,
//! `apparmor_parser -QT -K` for the AppArmor text and the `raw.apparmor` rules, LXC's config
//! parser (`lxc-info`) and Incus's `raw.lxc` rules for `raw.lxc`.

mod support;
use lxnest::export::{render, Format};
use lxnest::plan::host::HostSnapshot;
use lxnest::plan::model::LevelPlan;
use lxnest::plan::Plan;
use lxnest::seccomp::{decide, Action, Policy};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;

const EXAMPLES: &[&str] = &["juju-laptop", "docker-in-lxc", "three-levels"];

/// Where Debian's golang-github-opencontainers-specs-dev puts the runtime-spec schema.
const OCI_SCHEMA: &str = "/usr/share/gocode/src/github.com/opencontainers/runtime-spec/schema";

fn plan(name: &str) -> Plan {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("nesting/examples")
        .join(format!("{name}.yaml"));
    let stack = lxnest::spec::load(&path).unwrap_or_else(|e| panic!("{name}: {e}"));
    lxnest::plan::plan(&stack, &HostSnapshot::laptop()).unwrap_or_else(|e| panic!("{name}: {e}"))
}

/// (container, file text) of every export of `format`.
fn exports(plan: &Plan, format: Format) -> Vec<(&LevelPlan, String)> {
    render(plan, format)
        .expect("exports render")
        .into_iter()
        .map(|a| {
            let path = a.file.rsplit_once('/').map(|(p, _)| p).unwrap_or("");
            let c = plan.get(path).expect("file of a container");
            (c, String::from_utf8(a.bytes).expect("text"))
        })
        .collect()
}

fn documents(text: &str) -> Vec<Value> {
    serde_yaml_ng::Deserializer::from_str(text)
        .map(|d| serde::Deserialize::deserialize(d).expect("YAML document"))
        .collect()
}

fn tool(name: &str) -> bool {
    let found = Command::new("sh")
        .arg("-c")
        .arg(format!("command -v {name}"))
        .output()
        .is_ok_and(|o| o.status.success());
    support::require(found, &format!("{name} (scripts/test-all.sh installs it)"))
}

/// Debian's python3 with python3-jsonschema and python3-yaml, and the OCI schema.
fn python_validator() -> bool {
    let ready = Path::new(OCI_SCHEMA).join("config-schema.json").exists()
        && Command::new("/usr/bin/python3")
            .args(["-c", "import jsonschema, yaml"])
            .output()
            .is_ok_and(|o| o.status.success());
    support::require(
        ready,
        "python3-jsonschema, python3-yaml and golang-github-opencontainers-specs-dev",
    )
}

fn validate(files: &[PathBuf]) -> std::process::Output {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/export_validate.py");
    Command::new("/usr/bin/python3")
        .arg(script)
        .arg(OCI_SCHEMA)
        .args(files)
        .output()
        .expect("python3 runs")
}

#[test]
fn exports_of_every_example_match_their_snapshots() {
    for name in EXAMPLES {
        let plan = plan(name);
        for (format, tag) in [(Format::Spo, "spo"), (Format::Incus, "incus")] {
            for (c, text) in exports(&plan, format) {
                let snap = format!("{name}__{tag}__{}", c.path.replace('/', "__"));
                insta::assert_snapshot!(snap, text);
            }
        }
    }
}

/// What the planner says a container's stack decides, against what a reader of the export
/// decides: equal for every syscall the plan decides outright, never looser for the rest.
fn assert_effective(c: &LevelPlan, exported: &Policy, what: &str) {
    for (syscall, d) in &c.seccomp.effective {
        let got = decide(exported, syscall).action;
        assert!(
            got.strictness() >= d.action.strictness(),
            "{} {what}: {syscall} {got} looser than the plan's {}",
            c.path,
            d.action
        );
        if !d.conditional && d.action != Action::Notify {
            assert_eq!(got, d.action, "{} {what}: {syscall}", c.path);
        }
    }
    for plain in ["read", "write", "openat", "execve"] {
        if !c.seccomp.effective.contains_key(plain) {
            assert_eq!(decide(exported, plain).action, Action::Allow, "{plain}");
        }
    }
}

#[test]
fn seccomp_profiles_read_back_as_the_plans_effective_decisions() {
    for name in EXAMPLES {
        let plan = plan(name);
        for (c, text) in exports(&plan, Format::Spo) {
            let spec = &documents(&text)[0]["spec"];
            let json = serde_json::to_string(spec).expect("json");
            let p = lxnest::seccomp::oci_in::parse_profile(&json, "spo.yaml")
                .unwrap_or_else(|e| panic!("{name} {}: {e}", c.path));
            assert_effective(c, &p, "SeccompProfile");
        }
        for (c, text) in exports(&plan, Format::Incus) {
            let doc = &documents(&text)[0];
            let raw = doc["config"]["raw.seccomp"].as_str().expect("raw.seccomp");
            let p = lxnest::seccomp::lxc_text::parse(raw, "raw.seccomp")
                .unwrap_or_else(|e| panic!("{name} {}: {e}", c.path));
            assert_effective(c, &p, "raw.seccomp");
        }
    }
}

#[test]
fn seccomp_profiles_are_valid_oci_and_incus_profiles_are_well_formed() {
    if !python_validator() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let mut files = Vec::new();
    for name in EXAMPLES {
        for format in [Format::Spo, Format::Incus] {
            for a in render(&plan(name), format).unwrap() {
                let path = dir
                    .path()
                    .join(format!("{name}-{}", a.file.replace('/', "_")));
                std::fs::write(&path, &a.bytes).unwrap();
                files.push(path);
            }
        }
    }
    let out = validate(&files);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        stdout.matches("valid OCI linux.seccomp").count(),
        files.len() / 2,
        "{stdout}"
    );
}

/// The schema check above can fail: an action the runtime-spec does not know is refused.
#[test]
fn the_oci_schema_check_is_real() {
    if !python_validator() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.yaml");
    std::fs::write(
        &bad,
        "kind: SeccompProfile\nmetadata: {name: x}\nspec:\n  defaultAction: SCMP_ACT_ALLOW\n  \
         syscalls:\n  - names: [mount]\n    action: SCMP_ACT_DENY\n",
    )
    .unwrap();
    let out = validate(&[bad]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("SCMP_ACT_DENY"));
}

fn compile_profile(text: &str) -> Result<(), String> {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("profile");
    std::fs::write(&path, text).unwrap();
    let out = Command::new("apparmor_parser")
        .args(["-QT", "-K", "-M"])
        .arg(support::apparmor_features())
        .arg(&path)
        .output()
        .expect("apparmor_parser runs");
    if out.status.success() {
        Ok(())
    } else {
        Err(String::from_utf8_lossy(&out.stderr).into_owned())
    }
}

#[test]
fn apparmor_text_of_every_export_compiles() {
    if !tool("apparmor_parser") {
        return;
    }
    for name in EXAMPLES {
        let plan = plan(name);
        for (c, text) in exports(&plan, Format::Spo) {
            for doc in documents(&text)
                .iter()
                .filter(|d| d["kind"] == "AppArmorProfile")
            {
                let policy = doc["spec"]["policy"].as_str().expect("policy");
                assert_eq!(policy, c.apparmor.text, "the text survives YAML");
                compile_profile(policy).unwrap_or_else(|e| panic!("{}: {e}", c.path));
            }
        }
        // raw.apparmor is appended inside Incus's profile: inside a profile of its own here.
        for (c, text) in exports(&plan, Format::Incus) {
            let raw = documents(&text)[0]["config"]["raw.apparmor"]
                .as_str()
                .expect("raw.apparmor")
                .to_string();
            assert!(raw.contains("deny capability sys_module,"), "{}", c.path);
            let profile = format!(
                "abi <abi/3.0>,\nprofile lxnest-export-check flags=(attach_disconnected) {{\n  \
                 file,\n{raw}}}\n"
            );
            compile_profile(&profile).unwrap_or_else(|e| panic!("{}: {e}\n{raw}", c.path));
        }
    }
}

/// Incus refuses these in `raw.lxc` (its `lxcValidConfig`): log files, syslog, ephemeral,
/// process limits, and network keys other than an interface's addresses and gateways.
fn incus_refuses(key: &str) -> bool {
    let net_ok = |k: &str| {
        let f: Vec<&str> = k.split('.').collect();
        f.len() == 5 && ["ipv4", "ipv6"].contains(&f[3]) && ["address", "gateway"].contains(&f[4])
    };
    [
        "lxc.logfile",
        "lxc.log.file",
        "lxc.syslog",
        "lxc.log.syslog",
        "lxc.ephemeral",
    ]
    .contains(&key)
        || key.starts_with("lxc.prlimit.")
        || (key.starts_with("lxc.net.") && !net_ok(key))
}

#[test]
fn raw_lxc_is_accepted_by_lxc_and_allowed_by_incus() {
    for name in EXAMPLES {
        for (c, text) in exports(&plan(name), Format::Incus) {
            let raw = documents(&text)[0]["config"]["raw.lxc"]
                .as_str()
                .expect("raw.lxc")
                .to_string();
            for line in raw.lines().filter(|l| !l.is_empty() && !l.starts_with('#')) {
                let (key, _) = line.split_once('=').expect("key = value");
                assert!(!incus_refuses(key.trim()), "{}: {line}", c.path);
            }
            if !tool("lxc-info") {
                continue;
            }
            let lxcpath = tempfile::tempdir().unwrap();
            let cdir = lxcpath.path().join("c");
            std::fs::create_dir(&cdir).unwrap();
            std::fs::write(cdir.join("config"), format!("lxc.uts.name = c\n{raw}")).unwrap();
            let out = Command::new("lxc-info")
                .arg("-P")
                .arg(lxcpath.path())
                .args(["-n", "c", "-c", "lxc.cap.drop"])
                .output()
                .unwrap();
            assert!(
                out.status.success(),
                "{}: {}",
                c.path,
                String::from_utf8_lossy(&out.stderr)
            );
        }
    }
}

/// An ancestor's denials reach its child's export, whatever the child's own filter says.
#[test]
fn a_childs_export_carries_its_ancestors_denials() {
    let plan = plan("juju-laptop");
    let child = plan
        .containers
        .iter()
        .find(|c| c.depth == 2)
        .expect("level 2");
    let parent = plan.get(child.parent.as_deref().unwrap()).unwrap();
    let exported = exports(&plan, Format::Spo);
    let text = &exported
        .iter()
        .find(|(c, _)| c.path == child.path)
        .unwrap()
        .1;
    let spec = serde_json::to_string(&documents(text)[0]["spec"]).unwrap();
    let p = lxnest::seccomp::oci_in::parse_profile(&spec, "spo.yaml").unwrap();
    for rule in parent
        .seccomp
        .own
        .rules
        .iter()
        .filter(|r| r.args.is_empty())
    {
        let got = decide(&p, &rule.syscall).action;
        assert!(
            got.strictness() >= rule.action.strictness(),
            "{}: the parent's {} became {got}",
            rule.syscall,
            rule.action
        );
    }
}

/// `lxnest generate --format spo|incus` writes one file per container, and `--format` left out
/// writes lxnest's own artifacts as before.
#[test]
fn generate_writes_the_chosen_format() {
    for (format, file) in [
        (Some("spo"), "juju-host/unit-1/spo.yaml"),
        (Some("incus"), "juju-host/unit-1/incus-profile.yaml"),
        (None, "juju-host/unit-1/seccomp.lxc"),
    ] {
        let dir = tempfile::tempdir().unwrap();
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_lxnest"));
        cmd.args([
            "generate",
            "builtin:juju-laptop",
            "--host-fixture",
            "laptop",
            "-o",
        ])
        .arg(dir.path());
        if let Some(f) = format {
            cmd.args(["--format", f]);
        }
        let out = cmd.output().expect("lxnest runs");
        assert!(out.status.success(), "{out:?}");
        assert!(dir.path().join(file).is_file(), "{format:?}: {file}");
        let spo = dir.path().join("juju-host/unit-1/spo.yaml").exists();
        assert_eq!(spo, format == Some("spo"), "{format:?}");
    }
}
