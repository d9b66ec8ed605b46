//! Helper programs on PATH that nesting relies on: newuidmap/newgidmap (setuid), cryptsetup.

use serde::Serialize;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

/// One program looked up on PATH.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Tool {
    /// Program name.
    pub name: String,
    /// Where it is, if found.
    pub path: Option<String>,
    /// Whether the file has the setuid bit and is owned by root.
    pub setuid_root: bool,
}

/// The helper programs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ToolFacts {
    /// newuidmap (uidmap package): writes uid maps from /etc/subuid for unprivileged users.
    pub newuidmap: Tool,
    /// newgidmap, likewise for gids.
    pub newgidmap: Tool,
    /// cryptsetup (dm-crypt volumes).
    pub cryptsetup: Tool,
}

/// The first `name` in the PATH-style `path_var`, filtered by `is_file`.
pub(crate) fn which(
    path_var: &str,
    name: &str,
    is_file: impl Fn(&Path) -> bool,
) -> Option<PathBuf> {
    path_var
        .split(':')
        .filter(|d| !d.is_empty())
        .map(|d| Path::new(d).join(name))
        .find(|p| is_file(p))
}

fn tool(name: &str) -> Tool {
    // sbin directories are searched too: root's tools are there even when PATH lacks them.
    let path_var = format!(
        "{}:/usr/sbin:/sbin",
        std::env::var("PATH").unwrap_or_default()
    );
    let path = which(&path_var, name, |p| p.is_file());
    let setuid_root = path
        .as_ref()
        .and_then(|p| std::fs::metadata(p).ok())
        .is_some_and(|m| {
            use std::os::unix::fs::MetadataExt;
            m.permissions().mode() & 0o4000 != 0 && m.uid() == 0
        });
    Tool {
        name: name.into(),
        path: path.map(|p| p.display().to_string()),
        setuid_root,
    }
}

/// Looks the helper programs up.
pub(crate) fn read() -> ToolFacts {
    ToolFacts {
        newuidmap: tool("newuidmap"),
        newgidmap: tool("newgidmap"),
        cryptsetup: tool("cryptsetup"),
    }
}

/// Why `newuidmap`/`newgidmap` cannot write an unprivileged user's multi-id maps, or `None`
/// when both are there and setuid root.
pub(crate) fn map_helpers_problem(newuidmap: &Tool, newgidmap: &Tool) -> Option<String> {
    let problems: Vec<String> = [newuidmap, newgidmap]
        .into_iter()
        .filter_map(|t| match &t.path {
            None => Some(format!(
                "{} is not installed (Debian: apt install uidmap)",
                t.name
            )),
            Some(p) if !t.setuid_root => Some(format!(
                "{p} is not setuid root (Debian: apt install --reinstall uidmap, or chmod u+s {p})"
            )),
            Some(_) => None,
        })
        .collect();
    (!problems.is_empty()).then(|| problems.join("; "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn which_takes_the_first_match() {
        let found = which("/a::/b:/c", "x", |p| {
            p == Path::new("/b/x") || p == Path::new("/c/x")
        });
        assert_eq!(found, Some(PathBuf::from("/b/x")));
        assert_eq!(which("", "x", |_| true), None);
    }

    #[test]
    fn helper_problems_name_the_program_and_the_fix() {
        let t = |name: &str, path: Option<&str>, setuid_root| Tool {
            name: name.into(),
            path: path.map(String::from),
            setuid_root,
        };
        let ok = t("newuidmap", Some("/usr/bin/newuidmap"), true);
        assert_eq!(map_helpers_problem(&ok, &ok), None);
        let missing = t("newgidmap", None, false);
        let plain = t("newuidmap", Some("/usr/bin/newuidmap"), false);
        let p = map_helpers_problem(&plain, &missing).expect("two problems");
        assert!(p.contains("/usr/bin/newuidmap is not setuid root"), "{p}");
        assert!(
            p.contains("newgidmap is not installed (Debian: apt install uidmap)"),
            "{p}"
        );
    }
}
