//! The policies lxnest ships (policy/seccomp/), compiled into the binary.

use super::error::SeccompError;
use super::lxc_text;
use super::model::Policy;

/// Path of the base denylist, as origins name it.
pub const DEFAULT_FILE: &str = "policy/seccomp/default.seccomp";
/// Path of the extra denials for containers that host nothing.
pub const NO_NESTING_FILE: &str = "policy/seccomp/no-nesting.seccomp";

/// Text of [`DEFAULT_FILE`].
pub const DEFAULT_TEXT: &str = include_str!("../../../../policy/seccomp/default.seccomp");
/// Text of [`NO_NESTING_FILE`].
pub const NO_NESTING_TEXT: &str = include_str!("../../../../policy/seccomp/no-nesting.seccomp");

/// The denylist every lxnest container gets.
pub fn default_policy() -> Result<Policy, SeccompError> {
    lxc_text::parse(DEFAULT_TEXT, DEFAULT_FILE)
}

/// Extra denials for containers that host no containers (mounts, namespaces, new mount API).
pub fn no_nesting_policy() -> Result<Policy, SeccompError> {
    lxc_text::parse(NO_NESTING_TEXT, NO_NESTING_FILE)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::seccomp::model::Action;

    #[test]
    fn shipped_policies_parse_and_deny_what_they_say() {
        let d = default_policy().expect("default.seccomp parses");
        assert!(d.reject_force_umount);
        for name in [
            "kexec_load",
            "open_by_handle_at",
            "init_module",
            "bpf",
            "userfaultfd",
        ] {
            assert_eq!(
                crate::seccomp::decide(&d, name).action,
                Action::Errno(1),
                "{name}"
            );
        }
        for name in ["keyctl", "add_key", "request_key"] {
            assert_eq!(
                crate::seccomp::decide(&d, name).action,
                Action::Errno(38),
                "{name}"
            );
        }
        let n = no_nesting_policy().expect("no-nesting.seccomp parses");
        assert_eq!(
            crate::seccomp::decide(&n, "clone3").action,
            Action::Errno(38)
        );
        let clone = crate::seccomp::decide(&n, "clone");
        assert!(clone.conditional && clone.action == Action::Allow);
        // One syscall per rule, so the planner can drop rules one syscall at a time.
        for p in [&d, &n] {
            assert!(p.rules.iter().all(|r| !r.syscall.contains(' ')));
        }
    }
}
