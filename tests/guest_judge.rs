//! The guest stage's judging (tests/guest/judge.sh, run.sh's opt-out) on recorded console output,
//! without booting the guest: a run passes only if checks.sh finished (`@@ DONE`), nothing
//! failed, and every check of tests/guest/juju-laptop.expected reported PASS.

use std::path::{Path, PathBuf};
use std::process::Command;

fn guest() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/guest")
}

/// judge.sh's exit status and output on console text `log`.
fn judge(log: &str, selftest: bool) -> (bool, String) {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("console.log");
    std::fs::write(&path, log).expect("write log");
    let mut c = Command::new("bash");
    c.arg(guest().join("judge.sh"))
        .arg(guest().join("juju-laptop.expected"))
        .arg(&path);
    if selftest {
        c.arg("selftest");
    }
    let o = c.output().expect("bash runs");
    (
        o.status.success(),
        String::from_utf8_lossy(&o.stdout).into_owned(),
    )
}

fn recorded(name: &str) -> String {
    std::fs::read_to_string(guest().join("recorded").join(name)).expect("recorded log")
}

#[test]
fn complete_run_passes() {
    let (ok, out) = judge(&recorded("pass.log"), true);
    assert!(ok, "{out}");
    assert!(out.contains("all 51 expected checks passed"), "{out}");
}

#[test]
fn every_expected_check_is_needed() {
    let log = recorded("pass.log");
    let lines: Vec<&str> = log.lines().collect();
    let mut tried = 0;
    for (i, l) in lines.iter().enumerate() {
        if !l.starts_with("@@ PASS ") {
            continue;
        }
        // The check gone from the run, as if removed from checks.sh or never reached.
        let without: Vec<&str> = lines
            .iter()
            .enumerate()
            .filter(|(j, _)| *j != i)
            .map(|(_, l)| *l)
            .collect();
        let (ok, out) = judge(&(without.join("\n") + "\n"), true);
        assert!(!ok, "passed without `{l}`: {out}");
        assert!(out.contains("expected check did not PASS"), "{out}");
        // Turned into an INFO line (a check that no longer decides anything) is no better.
        let info = log.replacen(l, &l.replacen("@@ PASS", "@@ INFO", 1), 1);
        assert!(!judge(&info, true).0, "passed with `{l}` as INFO");
        tried += 1;
    }
    assert_eq!(tried, 51);
}

#[test]
fn unfinished_or_failed_runs_fail() {
    let log = recorded("pass.log");
    // checks.sh exited non-zero: init prints no DONE.
    let no_done = log.replace("@@ DONE\n", "@@ FAIL checks.sh exited with status 2\n");
    let (ok, out) = judge(&no_done, true);
    assert!(!ok && out.contains("no '@@ DONE'"), "{out}");
    // A timeout: the log just stops.
    let cut: String = log.lines().take(20).map(|l| format!("{l}\n")).collect();
    assert!(!judge(&cut, true).0);
    // A FAIL among all the PASS lines.
    let failed = log.replace(
        "@@ DONE\n",
        "@@ FAIL label juju-host/unit-9: gone\n@@ DONE\n",
    );
    let (ok, out) = judge(&failed, true);
    assert!(!ok && out.contains("1 check(s) reported FAIL"), "{out}");
    // A DONE that is not the marker line itself.
    let fake = log.replace("@@ DONE\n", "echo @@ DONE\n");
    assert!(!judge(&fake, true).0);
    // The lead's run of 2026-12-04 that stopped at the labels.
    assert!(!judge(&recorded("lead-partial-2026-12-04.log"), true).0);
}

#[test]
fn selftest_expected_only_when_it_runs() {
    let log = recorded("pass.log");
    let no_self: String = log
        .lines()
        .filter(|l| !l.starts_with("@@ PASS self-test:"))
        .map(|l| format!("{l}\n"))
        .collect();
    assert!(judge(&no_self, false).0);
    assert!(!judge(&no_self, true).0);
}

#[test]
fn opting_out_is_refused_in_ci() {
    let run = |ci: Option<&str>| {
        let mut c = Command::new("bash");
        c.arg(guest().join("run.sh"))
            .env("LXNEST_SKIP_GUEST", "1")
            .env_remove("CI");
        if let Some(v) = ci {
            c.env("CI", v);
        }
        c.output().expect("bash runs")
    };
    let o = run(Some("true"));
    assert_eq!(o.status.code(), Some(2), "{o:?}");
    assert!(String::from_utf8_lossy(&o.stdout).contains("refused under CI=true"));
    let o = run(None);
    assert!(o.status.success(), "{o:?}");
    assert!(String::from_utf8_lossy(&o.stdout).contains("SKIPPED"));
}

#[test]
fn init_prints_done_only_after_checks_exit_zero() {
    // init's tail, run with a checks.sh stand-in: DONE only for exit status 0.
    let init = std::fs::read_to_string(guest().join("init")).expect("init");
    let start = init.find("if mount -t 9p").expect("the checks block");
    let end = init[start..].find("\nfi\n").expect("its end") + start + 4;
    let block = &init[start..end];
    for (status, done) in [(0, true), (1, false), (2, false)] {
        let dir = tempfile::tempdir().expect("tempdir");
        let checks = dir.path().join("checks.sh");
        std::fs::write(&checks, format!("echo '@@ PASS x'\nexit {status}\n")).expect("write");
        let script = block
            .replace(
                "mount -t 9p -o trans=virtio,version=9p2000.L,ro share /share",
                "true",
            )
            .replace("/share/tests/guest/checks.sh", &checks.to_string_lossy());
        let o = Command::new("sh")
            .arg("-c")
            .arg(&script)
            .output()
            .expect("sh");
        let out = String::from_utf8_lossy(&o.stdout);
        assert_eq!(out.lines().any(|l| l == "@@ DONE"), done, "{status}: {out}");
    }
}
