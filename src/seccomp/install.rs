//! Install a compiled filter on the calling thread with `seccomp(2)`.
//!
//! NO_NEW_PRIVS is set only when needed: the kernel refuses a filter from a caller that has
//! neither NNP nor CAP_SYS_ADMIN in its user namespace. LXC leaves NNP off so that setuid
//! programs inside a container (su, sudo, ping) keep working; lxnest does the same unless asked.

use super::bpf::sock_filter;
use super::error::SeccompError;
use std::os::fd::{FromRawFd, OwnedFd};

/// When to set `PR_SET_NO_NEW_PRIVS` before installing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum NoNewPrivs {
    /// Only when the caller lacks CAP_SYS_ADMIN (the kernel requires one of the two).
    #[default]
    Auto,
    /// Always (setuid binaries then no longer gain privileges).
    Always,
}

/// What [`install`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Installed {
    /// Whether NO_NEW_PRIVS was set by this call.
    pub set_no_new_privs: bool,
}

/// The kernel's `struct sock_fprog`.
#[repr(C)]
struct SockFprog {
    len: u16,
    filter: *const sock_filter,
}

const SECCOMP_SET_MODE_FILTER: libc::c_ulong = 1;
/// `SECCOMP_FILTER_FLAG_NEW_LISTENER`: return a user-notification fd (Linux 5.0+).
const SECCOMP_FILTER_FLAG_NEW_LISTENER: libc::c_ulong = 1 << 3;

/// Install `prog` on the calling thread (inherited by children created afterwards).
pub fn install(prog: &[sock_filter], nnp: NoNewPrivs) -> Result<(), SeccompError> {
    install_report(prog, nnp).map(|_| ())
}

/// [`install`], saying whether NO_NEW_PRIVS was set.
pub fn install_report(prog: &[sock_filter], nnp: NoNewPrivs) -> Result<Installed, SeccompError> {
    install_flags(prog, nnp, 0).map(|(installed, _)| installed)
}

/// Install `prog` and return the listener for its `notify` rules: the supervisor reads
/// `SECCOMP_IOCTL_NOTIF_RECV` on it. Without a listener the kernel fails notified calls with
/// ENOSYS; so it does once the listener is closed.
pub fn install_with_listener(
    prog: &[sock_filter],
    nnp: NoNewPrivs,
) -> Result<(Installed, OwnedFd), SeccompError> {
    let (installed, rc) = install_flags(prog, nnp, SECCOMP_FILTER_FLAG_NEW_LISTENER)?;
    let fd = i32::try_from(rc).map_err(|_| SeccompError::Kernel {
        step: "seccomp(SECCOMP_FILTER_FLAG_NEW_LISTENER)",
        source: std::io::Error::other(format!("listener fd {rc} out of range")),
    })?;
    // SAFETY: with NEW_LISTENER the kernel returns a new fd that nothing else owns.
    Ok((installed, unsafe { OwnedFd::from_raw_fd(fd) }))
}

fn install_flags(
    prog: &[sock_filter],
    nnp: NoNewPrivs,
    flags: libc::c_ulong,
) -> Result<(Installed, i64), SeccompError> {
    let len = u16::try_from(prog.len())
        .ok()
        .filter(|l| *l > 0 && usize::from(*l) <= super::bpf::MAX_INSNS)
        .ok_or(SeccompError::TooLong {
            len: prog.len(),
            max: super::bpf::MAX_INSNS,
        })?;
    let set_nnp = match nnp {
        NoNewPrivs::Always => true,
        NoNewPrivs::Auto => !has_sys_admin(),
    };
    if set_nnp {
        // SAFETY: PR_SET_NO_NEW_PRIVS takes plain integers and touches no memory of ours.
        let rc = unsafe { libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) };
        if rc != 0 {
            return Err(SeccompError::Kernel {
                step: "prctl(PR_SET_NO_NEW_PRIVS)",
                source: std::io::Error::last_os_error(),
            });
        }
    }
    let fprog = SockFprog {
        len,
        filter: prog.as_ptr(),
    };
    // SAFETY: seccompiler's sock_filter is #[repr(C)] with the kernel's layout; `fprog` points at
    // `prog`, which outlives the call, and the kernel copies the program before returning.
    let rc = unsafe {
        libc::syscall(
            libc::SYS_seccomp,
            SECCOMP_SET_MODE_FILTER,
            flags,
            &fprog as *const SockFprog,
        )
    };
    if rc < 0 {
        return Err(SeccompError::Kernel {
            step: "seccomp(SECCOMP_SET_MODE_FILTER)",
            source: std::io::Error::last_os_error(),
        });
    }
    Ok((
        Installed {
            set_no_new_privs: set_nnp,
        },
        rc,
    ))
}

/// Whether the calling thread has CAP_SYS_ADMIN in its effective set (in its user namespace).
fn has_sys_admin() -> bool {
    caps::has_cap(
        None,
        caps::CapSet::Effective,
        caps::Capability::CAP_SYS_ADMIN,
    )
    .unwrap_or(false)
}

/// How many filters are stacked on this process (`Seccomp_filters` in /proc/self/status).
pub fn filter_count() -> Result<u32, SeccompError> {
    let status = std::fs::read_to_string("/proc/self/status")
        .map_err(|e| SeccompError::Status(e.to_string()))?;
    status_field(&status, "Seccomp_filters:")
}

/// Whether NO_NEW_PRIVS is set on this process (`NoNewPrivs` in /proc/self/status).
pub fn no_new_privs() -> Result<bool, SeccompError> {
    let status = std::fs::read_to_string("/proc/self/status")
        .map_err(|e| SeccompError::Status(e.to_string()))?;
    status_field(&status, "NoNewPrivs:").map(|v| v == 1)
}

fn status_field(status: &str, key: &str) -> Result<u32, SeccompError> {
    status
        .lines()
        .find_map(|l| l.strip_prefix(key))
        .and_then(|v| v.trim().parse().ok())
        .ok_or_else(|| SeccompError::Status(format!("no `{key}` line (kernel older than 5.9?)")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_status_fields() {
        let s = "Name:\tx\nNoNewPrivs:\t0\nSeccomp:\t2\nSeccomp_filters:\t3\n";
        assert_eq!(status_field(s, "Seccomp_filters:").ok(), Some(3));
        assert_eq!(status_field(s, "NoNewPrivs:").ok(), Some(0));
        assert!(status_field("Seccomp:\t0\n", "Seccomp_filters:").is_err());
        // This process's own counters are readable (any kernel lxnest supports has them).
        assert!(filter_count().is_ok());
    }

    /// An empty or oversized program is refused before anything reaches the kernel, so no
    /// filter goes in and NO_NEW_PRIVS stays as it was (the mutation run found the empty case
    /// let through unnoticed).
    #[test]
    fn empty_and_oversized_programs_are_refused_before_the_kernel() {
        let before = (filter_count().ok(), no_new_privs().ok());
        for len in [0, super::super::bpf::MAX_INSNS + 1] {
            // `ret ALLOW`: harmless even if a broken check let it into the kernel.
            let allow = sock_filter {
                code: 6,
                jt: 0,
                jf: 0,
                k: 0x7fff_0000,
            };
            let prog = vec![allow; len];
            let r = install(&prog, NoNewPrivs::Always);
            assert!(
                matches!(r, Err(SeccompError::TooLong { len: l, .. }) if l == len),
                "{len}: {r:?}"
            );
        }
        assert_eq!((filter_count().ok(), no_new_privs().ok()), before);
    }
}
