//! The README's first command, `cargo run --release -- demo`, names no binary: with lxnest-oci
//! beside lxnest, cargo refuses to guess unless the package says which one `cargo run` runs.

use std::process::Command;

#[test]
fn cargo_run_without_bin_runs_lxnest() {
    let out = Command::new(env!("CARGO"))
        .args([
            "metadata",
            "--no-deps",
            "--format-version",
            "1",
            "--offline",
        ])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("cargo metadata");
    assert!(out.status.success(), "{out:?}");
    let meta: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    let pkg = meta["packages"]
        .as_array()
        .expect("packages")
        .iter()
        .find(|p| p["name"] == "lxnest")
        .expect("the lxnest package");
    let bins = pkg["targets"]
        .as_array()
        .expect("targets")
        .iter()
        .filter(|t| {
            t["kind"]
                .as_array()
                .is_some_and(|k| k.iter().any(|k| k == "bin"))
        })
        .count();
    assert!(
        bins == 1 || pkg["default_run"] == "lxnest",
        "{bins} binaries and default-run {}: `cargo run -- demo` would fail",
        pkg["default_run"]
    );
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).expect("README");
    assert!(
        readme.contains("cargo run --release -- demo"),
        "the README's command changed"
    );
}
