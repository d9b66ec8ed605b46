//! Device nodes: the minimal /dev every container gets and the extra nodes runtimes ask for.

use crate::plan::model::DevicePlan;

/// (path, type, major, minor) of the nodes lxnest knows how to provide.
const KNOWN: &[(&str, char, u32, u32)] = &[
    ("/dev/null", 'c', 1, 3),
    ("/dev/zero", 'c', 1, 5),
    ("/dev/full", 'c', 1, 7),
    ("/dev/random", 'c', 1, 8),
    ("/dev/urandom", 'c', 1, 9),
    ("/dev/tty", 'c', 5, 0),
    ("/dev/fuse", 'c', 10, 229),
    ("/dev/net/tun", 'c', 10, 200),
    ("/dev/loop-control", 'c', 10, 237),
    ("/dev/kvm", 'c', 10, 232),
];

/// What every container gets (ptmx and pts come from its own devpts instance).
pub const DEFAULT: &[&str] = &[
    "/dev/null",
    "/dev/zero",
    "/dev/full",
    "/dev/random",
    "/dev/urandom",
    "/dev/tty",
];

/// The plan entry for a known device path.
pub fn lookup(path: &str) -> Option<DevicePlan> {
    KNOWN
        .iter()
        .find(|(p, ..)| *p == path)
        .map(|&(p, kind, major, minor)| DevicePlan {
            path: p.into(),
            kind,
            major,
            minor,
            access: "rwm".into(),
        })
}

/// Paths lxnest can provide, for error messages.
pub fn known_paths() -> Vec<&'static str> {
    KNOWN.iter().map(|(p, ..)| *p).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_known() {
        assert!(DEFAULT.iter().all(|d| lookup(d).is_some()));
        assert_eq!(
            lookup("/dev/fuse").map(|d| (d.major, d.minor)),
            Some((10, 229))
        );
        assert!(lookup("/dev/sda").is_none());
    }
}
