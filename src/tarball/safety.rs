//! Where an archive entry may go: names are relative, never climb with `..`, and are never
//! written through a symlink; hard links point inside the tree. Pure path logic plus one lstat
//! walk, so nothing is ever written outside the target directory.

use std::path::{Component, Path, PathBuf};

/// Why an entry is refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// `/etc/passwd` instead of `etc/passwd`.
    Absolute,
    /// A `..` component.
    Climbs,
    /// A parent of the entry is a symlink in the tree being built.
    ThroughSymlink(PathBuf),
    /// A hard link whose target is absolute or climbs out.
    LinkEscapes(String),
}

impl std::fmt::Display for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Refusal::Absolute => write!(f, "absolute name"),
            Refusal::Climbs => write!(f, "name climbs out of the tree with `..`"),
            Refusal::ThroughSymlink(p) => {
                write!(f, "would be written through the symlink {}", p.display())
            }
            Refusal::LinkEscapes(t) => write!(f, "hard link to `{t}`, outside the tree"),
        }
    }
}

/// The entry's name as a clean relative path (`./a/b` -> `a/b`).
pub fn relative(name: &Path) -> Result<PathBuf, Refusal> {
    let mut out = PathBuf::new();
    for c in name.components() {
        match c {
            Component::Normal(p) => out.push(p),
            Component::CurDir => {}
            Component::ParentDir => return Err(Refusal::Climbs),
            Component::RootDir | Component::Prefix(_) => return Err(Refusal::Absolute),
        }
    }
    Ok(out)
}

/// Refuse if any existing ancestor of `rel` below `root` is a symlink (or not a directory that
/// could hold it); the entry itself may be replaced.
pub fn check_parents(root: &Path, rel: &Path) -> Result<(), Refusal> {
    let mut cur = root.to_path_buf();
    let parents: Vec<_> = rel
        .parent()
        .map(|p| p.components().collect())
        .unwrap_or_default();
    for c in parents {
        cur.push(c);
        match std::fs::symlink_metadata(&cur) {
            Ok(m) if m.file_type().is_symlink() => {
                return Err(Refusal::ThroughSymlink(
                    cur.strip_prefix(root).unwrap_or(&cur).to_path_buf(),
                ))
            }
            _ => {}
        }
    }
    Ok(())
}

/// A hard link target (a name inside the archive).
pub fn link_target(target: &Path) -> Result<PathBuf, Refusal> {
    relative(target).map_err(|_| Refusal::LinkEscapes(target.display().to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        assert_eq!(
            relative(Path::new("./etc/passwd")).unwrap(),
            PathBuf::from("etc/passwd")
        );
        assert_eq!(relative(Path::new("/etc/passwd")), Err(Refusal::Absolute));
        assert_eq!(relative(Path::new("a/../../escape")), Err(Refusal::Climbs));
        assert!(link_target(Path::new("/etc/shadow")).is_err());
        assert!(link_target(Path::new("usr/bin/x")).is_ok());
    }

    #[test]
    fn symlinked_parent_is_refused() {
        let d = tempfile::tempdir().unwrap();
        std::os::unix::fs::symlink("/tmp", d.path().join("evil")).unwrap();
        std::fs::create_dir(d.path().join("ok")).unwrap();
        assert!(matches!(
            check_parents(d.path(), Path::new("evil/x")),
            Err(Refusal::ThroughSymlink(_))
        ));
        assert!(check_parents(d.path(), Path::new("ok/x")).is_ok());
        assert!(
            check_parents(d.path(), Path::new("evil")).is_ok(),
            "the entry itself may be replaced"
        );
    }
}
