//! Build script: the commit the binary was built from, for `lxnest --version`.
//!
//! From git when building in a checkout; from `LXNEST_COMMIT` when the builder knows it without
//! git (a Debian source package, a tarball); otherwise "unknown". The commit is a label only:
//! nothing else in the build depends on git.

use std::path::Path;
use std::process::Command;

fn main() {
    println!("cargo::rerun-if-env-changed=LXNEST_COMMIT");
    let commit = std::env::var("LXNEST_COMMIT")
        .ok()
        .filter(|c| !c.trim().is_empty())
        .or_else(from_git)
        .unwrap_or_else(|| "unknown".into());
    println!("cargo::rustc-env=LXNEST_COMMIT={}", commit.trim());
}

/// `git rev-parse HEAD` when the package directory is the top of a git work tree (not a source
/// tarball unpacked inside some other repository). Re-run when HEAD moves (a commit, a checkout),
/// so the label follows the tree without re-running on every build. Uncommitted edits are not
/// marked: the label names the commit the tree was based on.
fn from_git() -> Option<String> {
    let dir = std::env::var("CARGO_MANIFEST_DIR").ok()?;
    let git = |args: &[&str]| -> Option<String> {
        let out = Command::new("git")
            .args(["-C", &dir])
            .args(args)
            .output()
            .ok()?;
        out.status
            .success()
            .then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
    };
    let top = git(&["rev-parse", "--show-toplevel"])?;
    if std::fs::canonicalize(&top).ok()? != std::fs::canonicalize(&dir).ok()? {
        return None;
    }
    let commit = git(&["rev-parse", "--short=12", "HEAD"])?;
    // HEAD, the branch it points at (a commit moves the branch, not HEAD) and packed-refs (where
    // `git gc` moves it), each resolved through --git-path so that worktrees work too.
    let mut watch = vec!["HEAD".to_string(), "packed-refs".to_string()];
    if let Some(branch) = git(&["symbolic-ref", "-q", "HEAD"]) {
        watch.push(branch);
    }
    for w in watch {
        if let Some(p) = git(&["rev-parse", "--git-path", &w]) {
            let p = Path::new(&dir).join(p);
            if p.exists() {
                println!("cargo::rerun-if-changed={}", p.display());
            }
        }
    }
    Some(commit)
}
