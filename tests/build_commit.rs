//! build.rs's commit for `lxnest --version`, run as cargo runs it, in the situations a builder
//! meets: a git checkout (its HEAD), a source tree outside git (a Debian source package, a
//! tarball: "unknown"), such a tree unpacked inside some other repository (still "unknown", not
//! that repository's commit), and LXNEST_COMMIT set by the builder (that value).

use std::path::Path;
use std::process::Command;

/// Compiles build.rs on its own (it uses only std) into `dir`.
fn compile(dir: &Path) -> std::path::PathBuf {
    let exe = dir.join("build-script");
    let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".into());
    let o = Command::new(rustc)
        .args(["--edition=2021", "-o"])
        .arg(&exe)
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("build.rs"))
        .output()
        .expect("rustc");
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    exe
}

/// The commit build.rs reports for a package at `manifest_dir`, and its rerun-if lines.
fn commit(exe: &Path, manifest_dir: &Path, env: Option<&str>) -> (String, Vec<String>) {
    let mut cmd = Command::new(exe);
    cmd.env("CARGO_MANIFEST_DIR", manifest_dir)
        .env_remove("LXNEST_COMMIT");
    if let Some(c) = env {
        cmd.env("LXNEST_COMMIT", c);
    }
    let o = cmd.output().expect("run build script");
    assert!(o.status.success(), "{o:?}");
    let text = String::from_utf8(o.stdout).unwrap();
    let value = text
        .lines()
        .find_map(|l| l.strip_prefix("cargo::rustc-env=LXNEST_COMMIT="))
        .expect("LXNEST_COMMIT line")
        .to_string();
    let reruns = text
        .lines()
        .filter_map(|l| l.strip_prefix("cargo::rerun-if-changed="))
        .map(String::from)
        .collect();
    (value, reruns)
}

fn git(dir: &Path, args: &[&str]) -> String {
    let o = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(args)
        .output()
        .expect("git");
    assert!(o.status.success(), "git {args:?}: {o:?}");
    String::from_utf8_lossy(&o.stdout).trim().to_string()
}

#[test]
fn commit_from_git_from_the_builder_or_unknown() {
    let tmp = tempfile::tempdir().unwrap();
    let exe = compile(tmp.path());

    // A repository of its own: HEAD, and build.rs watches what moves on a commit.
    let repo = tmp.path().join("repo");
    std::fs::create_dir(&repo).unwrap();
    git(&repo, &["init", "-q", "-b", "main"]);
    std::fs::write(repo.join("Cargo.toml"), "[package]\n").unwrap();
    git(&repo, &["add", "."]);
    let ident = ["-c", "user.name=t", "-c", "user.email=t@t"];
    git(&repo, &[&ident[..], &["commit", "-qm", "one"]].concat());
    let (c1, reruns) = commit(&exe, &repo, None);
    assert_eq!(c1, git(&repo, &["rev-parse", "--short=12", "HEAD"]));
    assert!(
        reruns.iter().any(|r| r.ends_with("refs/heads/main"))
            && reruns.iter().any(|r| r.ends_with("HEAD")),
        "{reruns:?}"
    );
    git(
        &repo,
        &[&ident[..], &["commit", "-q", "--allow-empty", "-m", "two"]].concat(),
    );
    let (c2, _) = commit(&exe, &repo, None);
    assert_ne!(c1, c2, "a new commit is a new label");

    // The builder's word wins; an empty value does not count.
    assert_eq!(commit(&exe, &repo, Some("0123abcd")).0, "0123abcd");
    assert_eq!(commit(&exe, &repo, Some(" ")).0, c2);

    // A source tree outside git, and one unpacked inside another repository.
    let plain = tmp.path().join("plain");
    std::fs::create_dir(&plain).unwrap();
    assert_eq!(commit(&exe, &plain, None), ("unknown".into(), vec![]));
    let nested = repo.join("vendor/lxnest");
    std::fs::create_dir_all(&nested).unwrap();
    assert_eq!(commit(&exe, &nested, None).0, "unknown");
}
