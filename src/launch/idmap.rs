//! Writing the child's uid_map and gid_map from the parent, which holds the capabilities in the
//! parent user namespace that the kernel checks for multi-line maps.

use crate::plan::model::{IdMapLine, IdMapPlan};
use nix::unistd::Pid;
use std::io::Write;

/// The text of one map file (`inside outside count` per line): rendered by the planner.
pub use crate::plan::idmap::map_text;

/// Whether the gid map maps exactly one id, in which case `setgroups` must be denied first (an
/// unprivileged-style map; the kernel demands it so that dropping groups cannot be undone).
pub fn single_id(lines: &[IdMapLine]) -> bool {
    matches!(lines, [l] if l.count == 1)
}

fn write_proc(pid: Pid, file: &str, text: &str) -> std::io::Result<()> {
    let path = format!("/proc/{pid}/{file}");
    // One write(2) per file: the kernel accepts a map only once and only as a single write.
    let mut f = std::fs::OpenOptions::new().write(true).open(&path)?;
    f.write_all(text.as_bytes())
        .map_err(|e| std::io::Error::new(e.kind(), format!("{path}: {e}")))
}

/// Writes setgroups (when needed), gid_map and uid_map of `pid`: directly where the kernel lets
/// us (root, or a single-id map of our own ids), else through the setuid `newgidmap` and
/// `newuidmap`, which check the lines against /etc/subgid and /etc/subuid.
pub fn write_maps(pid: Pid, map: &IdMapPlan) -> std::io::Result<()> {
    let direct = nix::unistd::geteuid().is_root() || (single_id(&map.uid) && single_id(&map.gid));
    if !direct {
        run_helper("newgidmap", pid, &map.gid)?;
        return run_helper("newuidmap", pid, &map.uid);
    }
    if single_id(&map.gid) {
        write_proc(pid, "setgroups", "deny")?;
    }
    write_proc(pid, "gid_map", &map_text(&map.gid))?;
    write_proc(pid, "uid_map", &map_text(&map.uid))
}

/// Runs `newuidmap PID inside outside count ...` (or newgidmap); its message on failure.
fn run_helper(program: &str, pid: Pid, lines: &[IdMapLine]) -> std::io::Result<()> {
    let mut cmd = std::process::Command::new(program);
    cmd.arg(pid.to_string());
    for l in lines {
        cmd.args([l.inside, l.outside, l.count].map(|n| n.to_string()));
    }
    let out = cmd.output().map_err(|e| {
        std::io::Error::new(
            e.kind(),
            format!("{program}: {e} (Debian: apt install uidmap; it must be setuid root)"),
        )
    })?;
    if out.status.success() {
        return Ok(());
    }
    Err(std::io::Error::other(format!(
        "{program} {}: {} ({}); the lines must lie in your /etc/sub{}id ranges",
        map_text(lines).trim_end().replace('\n', ", "),
        String::from_utf8_lossy(&out.stderr).trim(),
        out.status,
        if program == "newuidmap" { "u" } else { "g" },
    )))
}

/// The id that `inside` maps to in the parent's namespace, if the map covers it.
pub fn outside_of(lines: &[IdMapLine], inside: u32) -> Option<u32> {
    lines
        .iter()
        .find(|l| inside >= l.inside && inside - l.inside < l.count)
        .map(|l| l.outside + (inside - l.inside))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_and_maps() {
        let lines = [IdMapLine {
            inside: 0,
            outside: 100_000,
            count: 65_536,
        }];
        assert_eq!(map_text(&lines), "0 100000 65536\n");
        assert_eq!(outside_of(&lines, 0), Some(100_000));
        assert_eq!(outside_of(&lines, 65_535), Some(165_535));
        assert_eq!(outside_of(&lines, 65_536), None);
        assert!(!single_id(&lines));
        assert!(single_id(&[IdMapLine {
            inside: 0,
            outside: 1000,
            count: 1
        }]));
    }
}
