//! Safe probes of the syscalls a nested runtime needs, each in a forked child that exits at
//! once, with arguments that cannot change anything outside the child. A probe's result tells
//! whether the call reaches the kernel (allowed), or is stopped by a seccomp filter, by missing
//! capabilities, or by an LSM.
//!
//! Most probes pass arguments the kernel rejects during validation (EINVAL, EBADF, ENOENT)
//! before any capability check: getting that error proves the filters above let the call
//! through. Probes that need capabilities do the real thing inside private namespaces of the
//! child (a tmpfs on a private mount namespace), which vanish when it exits.

mod child;
mod list;

pub(crate) use list::run_all;

use nix::errno::Errno;
use serde::Serialize;

/// What happened in a probe child.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "kind", content = "value")]
pub enum Outcome {
    /// The syscall returned this non-negative value.
    Returned(i64),
    /// The syscall failed with this errno.
    Errno(i32),
    /// The child was killed by this signal (SIGSYS: a seccomp kill or trap).
    Signal(i32),
    /// Preparing the probe (a private namespace) failed with this errno; the probe did not run.
    SetupFailed(i32),
    /// The child did not finish in time.
    Timeout,
}

impl Outcome {
    /// Short text: `0`, `EPERM`, `SIGSYS`, `setup failed: EPERM`.
    pub fn describe(&self) -> String {
        let name = |e: i32| format!("{:?}", Errno::from_raw(e));
        match self {
            Outcome::Returned(v) => format!("returned {v}"),
            Outcome::Errno(e) => name(*e),
            Outcome::Signal(s) => nix::sys::signal::Signal::try_from(*s)
                .map(|s| s.as_str().to_string())
                .unwrap_or_else(|_| format!("signal {s}")),
            Outcome::SetupFailed(e) => format!("setup failed: {}", name(*e)),
            Outcome::Timeout => "timed out".into(),
        }
    }
}

/// How a probe's outcome is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ProbeClass {
    /// The call reached the kernel and did what was asked (or failed validation as planned).
    Allowed,
    /// A seccomp filter above stopped it (ENOSYS, SIGSYS, or EPERM while the capability is held).
    DeniedBySeccomp,
    /// The capability the call needs is not effective here.
    DeniedByCaps,
    /// An LSM (AppArmor, Landlock) refused it (EACCES).
    DeniedByLsm,
    /// A limit (`user.max_user_namespaces`) stopped it.
    Limited,
    /// The outcome does not say.
    Unknown,
}

impl ProbeClass {
    /// Whether the nested runtime can use the call.
    pub fn is_allowed(self) -> bool {
        self == ProbeClass::Allowed
    }
}

/// One probe: what was tried, what happened, and what it means.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ProbeResult {
    /// Probe name (`unshare(user)`, `mount(tmpfs)`, `keyctl`).
    pub name: String,
    /// The syscall it exercises, as the runtime presets name it.
    pub syscall: String,
    /// Raw outcome.
    pub outcome: Outcome,
    /// Reading of the outcome.
    pub class: ProbeClass,
    /// One sentence on why it is read that way.
    pub detail: String,
}

/// Reads an outcome. `reached` are the errnos that prove the call got past every filter
/// (chosen per probe); `cap` is the capability the call checks, `effective` the capabilities
/// held.
pub(crate) fn classify(
    outcome: Outcome,
    reached: &[i32],
    cap: Option<&str>,
    effective: &[String],
) -> (ProbeClass, String) {
    use ProbeClass::*;
    let holds = |c: &str| effective.iter().any(|e| e == c);
    match outcome {
        Outcome::Returned(_) => (Allowed, "succeeded".into()),
        Outcome::Errno(e) if reached.contains(&e) => {
            (Allowed, format!("{} from the kernel's own checks: the call got through", outcome.describe()))
        }
        Outcome::Signal(s) if s == libc::SIGSYS => {
            (DeniedBySeccomp, "killed by SIGSYS: a seccomp filter kills or traps this syscall".into())
        }
        Outcome::Errno(libc::ENOSYS) => {
            (DeniedBySeccomp, "ENOSYS although this kernel has the syscall: a seccomp filter returns it".into())
        }
        Outcome::Errno(libc::EACCES) => (DeniedByLsm, "EACCES: an LSM (AppArmor, Landlock) refuses it".into()),
        Outcome::Errno(libc::EPERM) => match cap {
            Some(c) if !holds(c) => (DeniedByCaps, format!("EPERM and cap_{c} is not effective here")),
            Some(c) => (
                DeniedBySeccomp,
                format!("EPERM although cap_{c} is effective: a seccomp filter (or a Landlock sandbox) denies it"),
            ),
            None => (DeniedBySeccomp, "EPERM where the kernel needs no capability: a seccomp filter denies it".into()),
        },
        Outcome::Errno(libc::ENOSPC) | Outcome::Errno(libc::EUSERS) => {
            (Limited, format!("{}: a namespace count limit is reached", outcome.describe()))
        }
        Outcome::SetupFailed(_) => (Unknown, format!("{}: the probe could not run", outcome.describe())),
        other => (Unknown, format!("{}: unexpected outcome", other.describe())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn eff(l: &[&str]) -> Vec<String> {
        l.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn reached_errnos_and_success_are_allowed() {
        assert_eq!(
            classify(Outcome::Returned(0), &[], None, &[]).0,
            ProbeClass::Allowed
        );
        assert_eq!(
            classify(Outcome::Errno(libc::EBADF), &[libc::EBADF], None, &[]).0,
            ProbeClass::Allowed
        );
    }

    #[test]
    fn seccomp_patterns() {
        let all = eff(&["sys_admin"]);
        assert_eq!(
            classify(Outcome::Errno(libc::ENOSYS), &[libc::EINVAL], None, &all).0,
            ProbeClass::DeniedBySeccomp
        );
        assert_eq!(
            classify(Outcome::Signal(libc::SIGSYS), &[], None, &all).0,
            ProbeClass::DeniedBySeccomp
        );
        // Docker's profile answers EPERM: with the capability held, that is the filter.
        assert_eq!(
            classify(Outcome::Errno(libc::EPERM), &[], Some("sys_admin"), &all).0,
            ProbeClass::DeniedBySeccomp
        );
        assert_eq!(
            classify(Outcome::Errno(libc::EPERM), &[libc::EBADF], None, &[]).0,
            ProbeClass::DeniedBySeccomp
        );
    }

    #[test]
    fn caps_lsm_limits_and_unknowns() {
        assert_eq!(
            classify(Outcome::Errno(libc::EPERM), &[], Some("sys_admin"), &[]).0,
            ProbeClass::DeniedByCaps
        );
        assert_eq!(
            classify(Outcome::Errno(libc::EACCES), &[], None, &[]).0,
            ProbeClass::DeniedByLsm
        );
        assert_eq!(
            classify(Outcome::Errno(libc::ENOSPC), &[], None, &[]).0,
            ProbeClass::Limited
        );
        assert_eq!(
            classify(Outcome::SetupFailed(libc::EPERM), &[], None, &[]).0,
            ProbeClass::Unknown
        );
        assert_eq!(
            classify(Outcome::Timeout, &[], None, &[]).0,
            ProbeClass::Unknown
        );
        assert_eq!(
            classify(Outcome::Signal(libc::SIGSEGV), &[], None, &[]).0,
            ProbeClass::Unknown
        );
    }

    #[test]
    fn outcome_text() {
        assert_eq!(Outcome::Errno(libc::EPERM).describe(), "EPERM");
        assert_eq!(Outcome::Signal(libc::SIGSYS).describe(), "SIGSYS");
        assert_eq!(
            Outcome::SetupFailed(libc::EPERM).describe(),
            "setup failed: EPERM"
        );
    }
}
