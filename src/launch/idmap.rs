//! Writing the child's uid_map and gid_map from the parent, which holds the capabilities in the
//! parent user namespace that the kernel checks for multi-line maps.

use crate::plan::model::{IdMapLine, IdMapPlan};
use nix::unistd::Pid;
use std::io::Write;

/// The text of one map file (`inside outside count` per line).
pub fn map_text(lines: &[IdMapLine]) -> String {
    lines
        .iter()
        .map(|l| format!("{} {} {}\n", l.inside, l.outside, l.count))
        .collect()
}

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

/// Writes setgroups (when needed), gid_map and uid_map of `pid`.
pub fn write_maps(pid: Pid, map: &IdMapPlan) -> std::io::Result<()> {
    if single_id(&map.gid) {
        write_proc(pid, "setgroups", "deny")?;
    }
    write_proc(pid, "gid_map", &map_text(&map.gid))?;
    write_proc(pid, "uid_map", &map_text(&map.uid))
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
