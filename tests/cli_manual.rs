//! What the Debian package ships from the command line itself: a man page per command that
//! `man -l` renders, completion scripts that bash, zsh and fish accept (bash completing
//! `lxnest st<TAB>`), and `--version` naming the commit. Needs man-db, groff-base, zsh and fish
//! (PACKAGES in scripts/test-all.sh).

use std::path::Path;
use std::process::{Command, Output};

fn lxnest(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_lxnest"))
        .args(args)
        .output()
        .expect("run lxnest")
}

fn stdout_ok(o: Output, what: &str) -> String {
    assert!(
        o.status.success(),
        "{what}: {:?}: {}",
        o.status,
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8(o.stdout).expect("utf8")
}

/// The visible commands `lxnest --help` lists (or `lxnest config --help` for a group), without
/// `help`: what a user can type, found without the clap definition the pages come from.
fn commands(prefix: &[&str]) -> Vec<String> {
    let mut args = prefix.to_vec();
    args.push("--help");
    let help = stdout_ok(lxnest(&args), "--help");
    help.split("Commands:\n")
        .nth(1)
        .expect("a Commands: section")
        .lines()
        .take_while(|l| l.starts_with("  "))
        .filter_map(|l| l.split_whitespace().next())
        .filter(|c| *c != "help")
        .map(String::from)
        .collect()
}

#[test]
fn every_command_has_a_man_page_that_man_renders() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().to_str().unwrap();
    stdout_ok(lxnest(&["man", "--dir", d]), "man --dir");
    let mut expected = vec!["lxnest".to_string()];
    let top = commands(&[]);
    assert!(top.len() >= 18, "{top:?}");
    for c in &top {
        expected.push(format!("lxnest-{c}"));
        // Groups (config, crypt) get a page per subcommand too.
        let help = stdout_ok(lxnest(&[c, "--help"]), c);
        if help.contains("\nCommands:\n") {
            for sub in commands(&[c]) {
                expected.push(format!("lxnest-{c}-{sub}"));
            }
        }
    }
    let mut written: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    written.sort();
    let mut want: Vec<String> = expected.iter().map(|n| format!("{n}.1")).collect();
    want.sort();
    assert_eq!(written, want, "one page per visible command, nothing else");
    assert!(
        !written
            .iter()
            .any(|w| w.contains("monitor") || w.contains("init-nested")),
        "internal commands have no page"
    );

    // man(1) renders it: the title, the synopsis and an option of the command.
    let page = dir.path().join("lxnest-start.1");
    let o = Command::new("man")
        .args(["-l", "-P", "cat"])
        .arg(&page)
        .env("MANWIDTH", "100")
        .env("LC_ALL", "C.UTF-8")
        .output()
        .expect("man (man-db) is installed");
    let text = stdout_ok(o, "man -l lxnest-start.1");
    for want in [
        "lxnest-start",
        "SYNOPSIS",
        "--nested",
        "Start the containers of a spec",
    ] {
        assert!(text.contains(want), "no {want:?} in:\n{text}");
    }
    let top = stdout_ok(
        Command::new("man")
            .args(["-l", "-P", "cat"])
            .arg(dir.path().join("lxnest.1"))
            .output()
            .unwrap(),
        "man -l lxnest.1",
    );
    assert!(
        top.contains("lxnest-start(1)"),
        "lxnest(1) lists its pages:\n{top}"
    );
}

/// Bash's own completion machinery on the generated script: the words offered for `WORDS`.
fn bash_complete(script: &Path, words: &[&str]) -> Vec<String> {
    let line = words.join(" ");
    let prog = format!(
        "source {script}\ncomplete -p lxnest\nCOMP_WORDS=({words})\nCOMP_CWORD={cword}\n\
         COMP_LINE='{line}'\nCOMP_POINT={point}\n\
         \"$(complete -p lxnest | sed -n 's/.*-F \\([^ ]*\\).*/\\1/p')\" lxnest '{cur}' '{prev}'\n\
         printf 'reply:%s\\n' \"${{COMPREPLY[@]}}\"\n",
        script = script.display(),
        words = words.join(" "),
        cword = words.len() - 1,
        point = line.len(),
        cur = words[words.len() - 1],
        prev = words[words.len() - 2],
    );
    let out = stdout_ok(
        Command::new("bash")
            .args(["--norc", "-c", &prog])
            .output()
            .unwrap(),
        "bash completion",
    );
    assert!(out.starts_with("complete "), "complete -p lxnest: {out}");
    out.lines()
        .filter_map(|l| l.strip_prefix("reply:"))
        .map(String::from)
        .collect()
}

#[test]
fn completions_work_in_bash_and_parse_in_zsh_and_fish() {
    let dir = tempfile::tempdir().unwrap();
    let bash = dir.path().join("lxnest");
    std::fs::write(&bash, stdout_ok(lxnest(&["completions", "bash"]), "bash")).unwrap();
    let mut got = bash_complete(&bash, &["lxnest", "st"]);
    got.sort();
    assert_eq!(got, ["start", "stop"], "lxnest st<TAB>");
    let opts = bash_complete(&bash, &["lxnest", "start", "--ne"]);
    assert_eq!(opts, ["--nested"], "lxnest start --ne<TAB>");

    for (shell, file, check) in [
        ("zsh", "_lxnest", vec!["zsh", "-n"]),
        ("fish", "lxnest.fish", vec!["fish", "--no-execute"]),
    ] {
        let text = stdout_ok(lxnest(&["completions", shell]), shell);
        assert!(
            text.contains("start") && text.contains("nested"),
            "{shell}: {text}"
        );
        let path = dir.path().join(file);
        std::fs::write(&path, text).unwrap();
        let o = Command::new(check[0])
            .args(&check[1..])
            .arg(&path)
            .output()
            .unwrap_or_else(|e| panic!("{} (PACKAGES in scripts/test-all.sh): {e}", check[0]));
        assert!(
            o.status.success(),
            "{shell} rejects its script: {}",
            String::from_utf8_lossy(&o.stderr)
        );
    }
    let bad = lxnest(&["completions", "tcsh"]);
    assert_eq!(
        bad.status.code(),
        Some(2),
        "an unknown shell is a usage error"
    );
    assert!(String::from_utf8_lossy(&bad.stderr).contains("bash, zsh, fish"));
}

#[test]
fn version_names_the_package_version_and_the_commit() {
    let v = stdout_ok(lxnest(&["--version"]), "--version");
    let manifest = env!("CARGO_MANIFEST_DIR");
    let git = |args: &[&str]| {
        Command::new("git")
            .args(["-C", manifest])
            .args(args)
            .output()
            .ok()
            .filter(|o| o.status.success())
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
    };
    // What build.rs saw: this checkout's HEAD, or "unknown" outside git.
    let in_git = git(&["rev-parse", "--show-toplevel"])
        .is_some_and(|t| std::fs::canonicalize(t).ok() == std::fs::canonicalize(manifest).ok());
    // LXNEST_COMMIT in the test's environment: the builder named the commit (build.rs).
    let commit = match std::env::var("LXNEST_COMMIT")
        .ok()
        .filter(|c| !c.is_empty())
    {
        Some(c) => c,
        None if in_git => git(&["rev-parse", "--short=12", "HEAD"]).expect("HEAD"),
        None => "unknown".into(),
    };
    assert_eq!(
        v.trim(),
        format!("lxnest {} (commit {commit})", env!("CARGO_PKG_VERSION"))
    );
}
