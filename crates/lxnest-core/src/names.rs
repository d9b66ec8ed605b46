//! Container names: the one rule every command and the spec check apply, and the only way a
//! name becomes a path. A name reaches `remove_dir_all` (destroy), `create_dir` (start) and
//! `/proc/PID/root/run/lxnest/NAME` (attach), so `..`, `/` or a leading `-` must never get
//! that far: `destroy -n ../../tmp/X` once deleted /tmp/X.

use std::path::{Path, PathBuf};

/// Longest container name; interface names are derived from it and must fit in 15 bytes.
pub const NAME_MAX: usize = 32;

/// The rule in words, for error messages and docs.
pub const RULE: &str =
    "lower-case letters, digits and `-`, starting with a letter or digit, at most 32 characters";

/// Why a name was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NameError {
    /// The name breaks the rule.
    #[error("container name `{name}` is not valid: use {RULE}")]
    Invalid {
        /// The name as given.
        name: String,
    },
    /// A path of names (`host/child`) with an invalid component.
    #[error(
        "container path `{path}` is not valid: each `/`-separated part must be a name of {RULE}"
    )]
    InvalidPath {
        /// The path as given.
        path: String,
    },
}

/// Whether `name` is one container name (no `/`).
pub fn is_valid(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= NAME_MAX
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !name.starts_with('-')
}

/// Checks one container name.
pub fn check(name: &str) -> Result<(), NameError> {
    if is_valid(name) {
        Ok(())
    } else {
        Err(NameError::Invalid { name: name.into() })
    }
}

/// Checks a path of names (`juju-host/unit-1`), for the commands that take one (attach, start -n).
pub fn check_path(path: &str) -> Result<(), NameError> {
    if !path.is_empty() && path.split('/').all(is_valid) {
        Ok(())
    } else {
        Err(NameError::InvalidPath { path: path.into() })
    }
}

/// `clap` value parser for `-n NAME`.
pub fn parse_name(s: &str) -> Result<String, NameError> {
    check(s).map(|()| s.to_string())
}

/// `clap` value parser for `-n NAME` where a path of names is accepted.
pub fn parse_path(s: &str) -> Result<String, NameError> {
    check_path(s).map(|()| s.to_string())
}

/// `<base>/<name>`, only for a valid name: the result is always one level below `base`.
pub fn join(base: &Path, name: &str) -> Result<PathBuf, NameError> {
    check(name)?;
    Ok(base.join(name))
}

/// `<base>/<a>/<b>` for a valid path of names: the result always stays below `base`.
pub fn join_path(base: &Path, path: &str) -> Result<PathBuf, NameError> {
    check_path(path)?;
    Ok(base.join(path))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_that_could_leave_the_state_directory_are_refused() {
        for bad in [
            "",
            ".",
            "..",
            "../x",
            "../../tmp/X",
            "a/b",
            "/abs",
            "-rf",
            ".hidden",
            "UPPER",
            "a b",
            "a\0b",
            "a\nb",
            &"x".repeat(NAME_MAX + 1),
        ] {
            assert!(check(bad).is_err(), "{bad:?} accepted");
            assert!(join(Path::new("/run/lxnest"), bad).is_err());
        }
        for good in [
            "web",
            "run-1234",
            "alpine-3-20-x86",
            "1a",
            &"x".repeat(NAME_MAX),
        ] {
            check(good).expect(good);
        }
    }

    #[test]
    fn paths_of_names_check_every_part() {
        check_path("juju-host/unit-1").expect("nested path");
        for bad in ["a/../b", "a//b", "/a", "a/", "..", "a/.", "a/-x"] {
            assert!(check_path(bad).is_err(), "{bad:?} accepted");
        }
        assert_eq!(
            join_path(Path::new("/s"), "a/b").expect("join"),
            PathBuf::from("/s/a/b")
        );
    }
}
