//! Every `--output json` document is an object whose first key is `"schema": "lxnest/v1"`
//! (docs/json.md); lists sit under a named key; a plan written by `plan --output json` reads back,
//! and one that says another schema is refused with the file's name. Planned against the
//! built-in laptop host: no root needed.

use serde_json::Value;
use std::process::Command;

fn json(args: &[&str]) -> (String, Value) {
    let o = Command::new(env!("CARGO_BIN_EXE_lxnest"))
        .args(args)
        .args(["--output", "json"])
        .output()
        .expect("run lxnest");
    assert!(
        o.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    let text = String::from_utf8(o.stdout).expect("utf8");
    let v: Value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{args:?}: {e}: {text}"));
    assert_eq!(v["schema"], "lxnest/v1", "{args:?}");
    // The version is the document's first key, so `head -2` tells a reader what follows.
    let first = text.lines().nth(1).unwrap_or_default().trim();
    assert!(first.starts_with("\"schema\": "), "{args:?}: {first}");
    (text, v)
}

const LAPTOP: &[&str] = &["--host-fixture", "laptop"];

fn with(args: &[&str], tail: &[&str]) -> Vec<String> {
    args.iter().chain(tail).map(|s| s.to_string()).collect()
}

fn run(args: Vec<String>) -> (String, Value) {
    json(&args.iter().map(String::as_str).collect::<Vec<_>>())
}

#[test]
fn plan_explain_and_diff_documents_carry_the_schema() {
    let (_, plan) = run(with(&["plan", "builtin:juju-laptop"], LAPTOP));
    assert_eq!(plan["stack"], "juju-laptop");
    assert!(plan["containers"].as_array().is_some_and(|c| c.len() == 4));

    let (_, sys) = run(with(
        &[
            "explain",
            "builtin:juju-laptop",
            "juju-host/unit-1",
            "kexec_load",
        ],
        LAPTOP,
    ));
    assert!(
        sys["levels"].as_array().is_some_and(|l| l.len() == 2),
        "{sys}"
    );
    let (_, path) = run(with(
        &[
            "explain",
            "builtin:juju-laptop",
            "juju-host/unit-1",
            "/proc/sysrq-trigger",
        ],
        LAPTOP,
    ));
    assert_eq!(path["allowed"], false, "{path}");

    let (_, diff) = run(with(
        &[
            "diff",
            "builtin:juju-laptop",
            "--levels",
            "juju-host",
            "juju-host/unit-1",
        ],
        LAPTOP,
    ));
    let changes = diff["changes"].as_array().expect("changes: a list");
    assert!(changes
        .iter()
        .all(|c| c["container"].is_string() && c["field"].is_string()));
    assert!(!changes.is_empty());
}

#[test]
fn config_show_lists_values_under_their_key() {
    let dir = tempfile::tempdir().unwrap();
    let conf = dir.path().join("c.conf");
    std::fs::write(&conf, "lxc.uts.name = web1\nlxc.cap.drop = sys_time\n").unwrap();
    let (_, v) = json(&["config", "show", "-f", conf.to_str().unwrap()]);
    let values = v["values"].as_array().expect("values: a list");
    let uts = values
        .iter()
        .find(|x| x["key"] == "lxc.uts.name")
        .expect("uts");
    assert_eq!(
        (uts["value"].as_str(), uts["line"].as_u64()),
        (Some("web1"), Some(1))
    );
}

#[test]
fn a_plan_reads_back_and_another_schema_is_refused_with_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let (text, _) = run(with(&["plan", "builtin:juju-laptop"], LAPTOP));
    let good = dir.path().join("plan.json");
    std::fs::write(&good, &text).unwrap();
    let record = r#"audit: type=1400 audit(1764390000.123:42): apparmor="DENIED" operation="open" class="file" namespace="root//lxnest-juju-host" profile="lxnest-juju-host.unit-1" name="/proc/sysrq-trigger" pid=612 comm="sh" requested_mask="w" denied_mask="w" fsuid=100000 ouid=0"#;
    let explain = |plan: &std::path::Path| {
        Command::new(env!("CARGO_BIN_EXE_lxnest"))
            .args(["explain-audit", plan.to_str().unwrap(), record])
            .output()
            .unwrap()
    };
    let ok = explain(&good);
    assert!(
        ok.status.success() && String::from_utf8_lossy(&ok.stdout).contains("unit-1"),
        "{}{}",
        String::from_utf8_lossy(&ok.stdout),
        String::from_utf8_lossy(&ok.stderr)
    );
    let old = dir.path().join("old.json");
    std::fs::write(&old, text.replacen("lxnest/v1", "lxnest/v0", 1)).unwrap();
    let refused = explain(&old);
    let err = String::from_utf8_lossy(&refused.stderr);
    assert_eq!(refused.status.code(), Some(1), "{err}");
    assert!(
        err.contains("old.json") && err.contains("lxnest/v0") && err.contains("plan --output json"),
        "{err}"
    );
}
