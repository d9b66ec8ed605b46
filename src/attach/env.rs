//! The attached process's environment, as LXC's lxc-attach builds it, with the container's
//! init environment as the base (so PATH, HOME and the plan's variables are the container's):
//!
//! - default: the init's variables, plus the caller's where the init has none;
//! - `--clear-env`: the init's variables only;
//! - `--keep-var NAME` (either mode): the caller's value of NAME wins;
//! - always `container=lxnest`; `-v NAME=VALUE` last, so it wins over everything.

use std::collections::BTreeMap;

/// How the caller's environment is used.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct EnvPolicy {
    /// Start from the init's environment only (`--clear-env`).
    pub clear: bool,
    /// Caller variables kept (and preferred) even with `clear`.
    pub keep: Vec<String>,
    /// Variables set explicitly (`-v NAME=VALUE`), applied last.
    pub set: Vec<(String, String)>,
}

/// Parses `NAME=VALUE`.
pub fn parse_assignment(s: &str) -> Option<(String, String)> {
    let (k, v) = s.split_once('=')?;
    (!k.is_empty() && !k.contains('\0') && !v.contains('\0'))
        .then(|| (k.to_string(), v.to_string()))
}

/// Parses the NUL-separated contents of /proc/PID/environ.
pub fn parse_environ(bytes: &[u8]) -> BTreeMap<String, String> {
    bytes
        .split(|b| *b == 0)
        .filter_map(|entry| parse_assignment(&String::from_utf8_lossy(entry)))
        .collect()
}

/// The environment in `NAME=VALUE` form, sorted by name.
pub fn build<I>(init: &BTreeMap<String, String>, caller: I, policy: &EnvPolicy) -> Vec<String>
where
    I: IntoIterator<Item = (String, String)>,
{
    let mut env = init.clone();
    for (k, v) in caller {
        if policy.keep.contains(&k) {
            env.insert(k, v);
        } else if !policy.clear {
            env.entry(k).or_insert(v);
        }
    }
    env.entry("PATH".into())
        .or_insert_with(|| crate::launch::child::DEFAULT_PATH.into());
    env.insert("container".into(), "lxnest".into());
    for (k, v) in &policy.set {
        env.insert(k.clone(), v.clone());
    }
    env.into_iter().map(|(k, v)| format!("{k}={v}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn init() -> BTreeMap<String, String> {
        parse_environ(b"PATH=/bin\0HOME=/root\0APP=1\0")
    }

    fn caller() -> Vec<(String, String)> {
        vec![
            ("PATH".into(), "/host/bin".into()),
            ("TERM".into(), "xterm".into()),
            ("SECRET".into(), "x".into()),
        ]
    }

    #[test]
    fn default_keeps_init_values_and_adds_callers() {
        let env = build(&init(), caller(), &EnvPolicy::default());
        assert_eq!(
            env,
            [
                "APP=1",
                "HOME=/root",
                "PATH=/bin",
                "SECRET=x",
                "TERM=xterm",
                "container=lxnest"
            ]
        );
    }

    #[test]
    fn clear_keep_and_set() {
        let p = EnvPolicy {
            clear: true,
            keep: vec!["TERM".into(), "PATH".into()],
            set: vec![
                ("APP".into(), "2".into()),
                ("container".into(), "other".into()),
            ],
        };
        let env = build(&init(), caller(), &p);
        assert_eq!(
            env,
            [
                "APP=2",
                "HOME=/root",
                "PATH=/host/bin",
                "TERM=xterm",
                "container=other"
            ]
        );
        let bare = build(
            &BTreeMap::new(),
            Vec::new(),
            &EnvPolicy {
                clear: true,
                ..Default::default()
            },
        );
        assert_eq!(
            bare,
            [
                format!("PATH={}", crate::launch::child::DEFAULT_PATH),
                "container=lxnest".into()
            ]
        );
    }

    #[test]
    fn assignments() {
        assert_eq!(parse_assignment("A=b=c"), Some(("A".into(), "b=c".into())));
        assert_eq!(parse_assignment("=x"), None);
        assert_eq!(parse_assignment("novalue"), None);
    }
}
