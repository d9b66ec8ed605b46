//! The probes: which syscall, with which harmless arguments, and which errnos prove that the
//! call reached the kernel's own checks.

use super::child::{neg_errno, run, Step};
use super::{classify, ProbeResult};
use crate::host::HostError;
use std::ffi::CString;

/// A path that does not exist; every probe that takes a path uses it so lookups fail.
const NOWHERE: &str = "/nonexistent-lxnest-probe/x";

/// Strings prepared before forking (the child must not allocate).
struct Args {
    nowhere: CString,
    empty: CString,
    none: CString,
    tmpfs: CString,
    no_fs: CString,
    /// Mount point for the tmpfs probe inside the child's private mount namespace.
    target: CString,
    tmpfs_opts: CString,
    root: CString,
}

impl Args {
    fn new() -> Self {
        let c = |s: &str| CString::new(s).unwrap_or_default();
        let target = if std::path::Path::new("/tmp").is_dir() {
            "/tmp"
        } else {
            "/"
        };
        Args {
            nowhere: c(NOWHERE),
            empty: c(""),
            none: c("lxnest-probe"),
            tmpfs: c("tmpfs"),
            no_fs: c("lxnest-no-such-fs"),
            target: c(target),
            tmpfs_opts: c("size=16k,mode=700"),
            root: c("/"),
        }
    }
}

fn ret(v: libc::c_long) -> Step {
    Step::Ran(if v < 0 { neg_errno() } else { v })
}

fn ret_int(v: libc::c_int) -> Step {
    ret(libc::c_long::from(v))
}

/// Enters a fresh mount namespace with private propagation, so that mounts made afterwards
/// stay in this child. Returns the setup errno on failure; then nothing else may be mounted.
fn private_mount_ns(a: &Args) -> Result<(), i32> {
    let errno = || {
        std::io::Error::last_os_error()
            .raw_os_error()
            .unwrap_or(libc::EIO)
    };
    // SAFETY: unshare only affects this (child) process.
    if unsafe { libc::unshare(libc::CLONE_NEWNS) } != 0 {
        return Err(errno());
    }
    // SAFETY: the mount namespace is this child's own copy (unshare succeeded above); making it
    // private stops propagation back to the parent's namespace.
    let r = unsafe {
        libc::mount(
            std::ptr::null(),
            a.root.as_ptr(),
            std::ptr::null(),
            libc::MS_REC | libc::MS_PRIVATE,
            std::ptr::null(),
        )
    };
    if r != 0 {
        return Err(errno());
    }
    Ok(())
}

/// Mounts a small tmpfs on the target inside the child's private namespace.
fn mount_tmpfs(a: &Args) -> libc::c_int {
    // SAFETY: called only after private_mount_ns succeeded; all pointers are live CStrings.
    unsafe {
        libc::mount(
            a.none.as_ptr(),
            a.target.as_ptr(),
            a.tmpfs.as_ptr(),
            libc::MS_NOSUID | libc::MS_NODEV | libc::MS_NOEXEC,
            a.tmpfs_opts.as_ptr().cast(),
        )
    }
}

/// A filter program that allows everything, for the seccomp probes.
static ALLOW_ALL: [libc::sock_filter; 1] = [libc::sock_filter {
    code: (libc::BPF_RET | libc::BPF_K) as u16,
    jt: 0,
    jf: 0,
    k: libc::SECCOMP_RET_ALLOW,
}];

fn install_allow_all(flags: libc::c_ulong) -> Step {
    let prog = libc::sock_fprog {
        len: 1,
        filter: ALLOW_ALL.as_ptr().cast_mut(),
    };
    // SAFETY: no_new_privs and the filter apply to this child only; the program is a static
    // one-instruction ALLOW.
    unsafe {
        if libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 {
            return Step::Setup(
                std::io::Error::last_os_error()
                    .raw_os_error()
                    .unwrap_or(libc::EIO),
            );
        }
        ret(libc::syscall(
            libc::SYS_seccomp,
            libc::SECCOMP_SET_MODE_FILTER,
            flags,
            &prog as *const libc::sock_fprog,
        ))
    }
}

/// One probe definition.
struct Probe {
    name: &'static str,
    syscall: &'static str,
    /// Errnos that prove the kernel's own checks ran.
    reached: &'static [i32],
    /// Capability the kernel checks for this call, if any.
    cap: Option<&'static str>,
    body: fn(&Args) -> Step,
}

fn unshare(flag: libc::c_int) -> Step {
    // SAFETY: unshare only affects this child, which exits right after.
    ret_int(unsafe { libc::unshare(flag) })
}

const CLONE_NEWTIME: libc::c_int = 0x80;

/// The probes, in report order. Every call is either rejected during argument validation or
/// acts inside the child's own new namespaces.
const PROBES: &[Probe] = &[
    // CLONE_NEWNS with CLONE_FS is always EINVAL: this passes namespace flags through any
    // argument-checking filter (Docker's) without creating anything.
    Probe {
        name: "clone(namespace flags)",
        syscall: "clone",
        reached: &[libc::EINVAL],
        cap: None,
        // SAFETY: the flag combination is rejected before any process is created.
        body: |_| {
            ret(unsafe {
                libc::syscall(
                    libc::SYS_clone,
                    libc::CLONE_NEWNS | libc::CLONE_FS,
                    0,
                    0,
                    0,
                    0,
                )
            })
        },
    },
    // A NULL argument of size 0 is EINVAL (too small) before anything else.
    Probe {
        name: "clone3",
        syscall: "clone3",
        reached: &[libc::EINVAL],
        cap: None,
        // SAFETY: size 0 is rejected before the NULL pointer would be read.
        body: |_| {
            ret(unsafe {
                libc::syscall(libc::SYS_clone3, std::ptr::null::<libc::c_void>(), 0usize)
            })
        },
    },
    // A signal-number bit is never a valid unshare flag: EINVAL.
    Probe {
        name: "unshare",
        syscall: "unshare",
        reached: &[libc::EINVAL],
        cap: None,
        body: |_| unshare(0x40),
    },
    Probe {
        name: "unshare(user)",
        syscall: "unshare",
        reached: &[],
        cap: None,
        body: |_| unshare(libc::CLONE_NEWUSER),
    },
    Probe {
        name: "unshare(mnt)",
        syscall: "unshare",
        reached: &[],
        cap: Some("sys_admin"),
        body: |_| unshare(libc::CLONE_NEWNS),
    },
    Probe {
        name: "unshare(pid)",
        syscall: "unshare",
        reached: &[],
        cap: Some("sys_admin"),
        body: |_| unshare(libc::CLONE_NEWPID),
    },
    Probe {
        name: "unshare(net)",
        syscall: "unshare",
        reached: &[],
        cap: Some("sys_admin"),
        body: |_| unshare(libc::CLONE_NEWNET),
    },
    Probe {
        name: "unshare(uts)",
        syscall: "unshare",
        reached: &[],
        cap: Some("sys_admin"),
        body: |_| unshare(libc::CLONE_NEWUTS),
    },
    Probe {
        name: "unshare(ipc)",
        syscall: "unshare",
        reached: &[],
        cap: Some("sys_admin"),
        body: |_| unshare(libc::CLONE_NEWIPC),
    },
    Probe {
        name: "unshare(cgroup)",
        syscall: "unshare",
        reached: &[],
        cap: Some("sys_admin"),
        body: |_| unshare(libc::CLONE_NEWCGROUP),
    },
    Probe {
        name: "unshare(time)",
        syscall: "unshare",
        reached: &[],
        cap: Some("sys_admin"),
        body: |_| unshare(CLONE_NEWTIME),
    },
    // fd -1 is EBADF before the namespace type is looked at.
    Probe {
        name: "setns",
        syscall: "setns",
        reached: &[libc::EBADF],
        cap: None,
        // SAFETY: an invalid fd cannot name a namespace.
        body: |_| ret_int(unsafe { libc::setns(-1, 0) }),
    },
    // The target path does not exist: ENOENT comes before the capability check.
    Probe {
        name: "mount",
        syscall: "mount",
        reached: &[libc::ENOENT],
        cap: None,
        // SAFETY: the target does not exist, so nothing can be mounted.
        body: |a| {
            ret_int(unsafe {
                libc::mount(
                    a.none.as_ptr(),
                    a.nowhere.as_ptr(),
                    a.tmpfs.as_ptr(),
                    0,
                    std::ptr::null(),
                )
            })
        },
    },
    Probe {
        name: "mount(tmpfs)",
        syscall: "mount",
        reached: &[],
        cap: Some("sys_admin"),
        body: |a| match private_mount_ns(a) {
            Ok(()) => ret_int(mount_tmpfs(a)),
            Err(e) => Step::Setup(e),
        },
    },
    // Unknown umount flags are EINVAL before the path is looked up.
    Probe {
        name: "umount2",
        syscall: "umount2",
        reached: &[libc::EINVAL],
        cap: None,
        // SAFETY: invalid flags and a missing path: nothing is unmounted.
        body: |a| ret_int(unsafe { libc::umount2(a.nowhere.as_ptr(), 0x4000_0000) }),
    },
    Probe {
        name: "umount2(tmpfs)",
        syscall: "umount2",
        reached: &[],
        cap: Some("sys_admin"),
        body: |a| match private_mount_ns(a) {
            // SAFETY: unmounts the tmpfs this child just mounted in its private namespace.
            Ok(()) if mount_tmpfs(a) == 0 => {
                ret_int(unsafe { libc::umount2(a.target.as_ptr(), 0) })
            }
            Ok(()) => Step::Setup(
                std::io::Error::last_os_error()
                    .raw_os_error()
                    .unwrap_or(libc::EIO),
            ),
            Err(e) => Step::Setup(e),
        },
    },
    // Missing paths: ENOENT after the capability check.
    Probe {
        name: "pivot_root",
        syscall: "pivot_root",
        reached: &[libc::ENOENT],
        cap: Some("sys_admin"),
        // SAFETY: neither path exists, so the root cannot change.
        body: |a| {
            ret(unsafe {
                libc::syscall(libc::SYS_pivot_root, a.nowhere.as_ptr(), a.nowhere.as_ptr())
            })
        },
    },
    // SECCOMP_GET_ACTION_AVAIL only reads.
    Probe {
        name: "seccomp",
        syscall: "seccomp",
        reached: &[],
        cap: None,
        body: |_| {
            let action: u32 = libc::SECCOMP_RET_ALLOW;
            // SAFETY: the kernel reads one u32 from a live stack variable.
            ret(unsafe {
                libc::syscall(
                    libc::SYS_seccomp,
                    libc::SECCOMP_GET_ACTION_AVAIL,
                    0,
                    &action as *const u32,
                )
            })
        },
    },
    Probe {
        name: "seccomp(filter)",
        syscall: "seccomp",
        reached: &[],
        cap: None,
        body: |_| install_allow_all(0),
    },
    Probe {
        name: "seccomp(user_notif)",
        syscall: "seccomp",
        reached: &[],
        cap: None,
        body: |_| install_allow_all(libc::SECCOMP_FILTER_FLAG_NEW_LISTENER as libc::c_ulong),
    },
    // A name longer than 64 bytes is EINVAL after the capability check.
    Probe {
        name: "sethostname",
        syscall: "sethostname",
        reached: &[libc::EINVAL],
        cap: Some("sys_admin"),
        body: |_| {
            let long = [b'x'; 65];
            // SAFETY: the length is over the limit, so the hostname is never changed.
            ret_int(unsafe { libc::sethostname(long.as_ptr().cast(), long.len()) })
        },
    },
    // KEYCTL_GET_KEYRING_ID without create only reads.
    Probe {
        name: "keyctl",
        syscall: "keyctl",
        reached: &[libc::ENOKEY],
        cap: None,
        // SAFETY: a read-only query of the session keyring's id.
        body: |_| ret(unsafe { libc::syscall(libc::SYS_keyctl, 0, -3i64, 0) }),
    },
    // An unknown command is EINVAL.
    Probe {
        name: "bpf",
        syscall: "bpf",
        reached: &[libc::EINVAL],
        cap: None,
        // SAFETY: an unknown command with size 0 reads nothing.
        body: |_| {
            ret(unsafe {
                libc::syscall(
                    libc::SYS_bpf,
                    0x7fff_ffff,
                    std::ptr::null::<libc::c_void>(),
                    0,
                )
            })
        },
    },
    // Unknown flags are EINVAL first.
    Probe {
        name: "move_mount",
        syscall: "move_mount",
        reached: &[libc::EINVAL],
        cap: None,
        // SAFETY: invalid flags and fds: nothing moves.
        body: |a| {
            ret(unsafe {
                libc::syscall(
                    libc::SYS_move_mount,
                    -1,
                    a.empty.as_ptr(),
                    -1,
                    a.empty.as_ptr(),
                    0x4000_0000,
                )
            })
        },
    },
    Probe {
        name: "open_tree",
        syscall: "open_tree",
        reached: &[libc::EINVAL],
        cap: None,
        // SAFETY: invalid flags: no tree is opened.
        body: |a| {
            ret(unsafe { libc::syscall(libc::SYS_open_tree, -1, a.nowhere.as_ptr(), 0x4000_0000) })
        },
    },
    // An unknown filesystem type is ENODEV after the capability check.
    Probe {
        name: "fsopen",
        syscall: "fsopen",
        reached: &[libc::ENODEV],
        cap: Some("sys_admin"),
        // SAFETY: no such filesystem: no context is created.
        body: |a| ret(unsafe { libc::syscall(libc::SYS_fsopen, a.no_fs.as_ptr(), 0) }),
    },
    // fd -1 is EBADF after the capability check.
    Probe {
        name: "fsmount",
        syscall: "fsmount",
        reached: &[libc::EBADF],
        cap: Some("sys_admin"),
        // SAFETY: an invalid fs context fd: nothing is mounted.
        body: |_| ret(unsafe { libc::syscall(libc::SYS_fsmount, -1, 0, 0) }),
    },
];

/// Runs every probe. `effective` are the capabilities held (for reading EPERM).
pub(crate) fn run_all(effective: &[String]) -> Result<Vec<ProbeResult>, HostError> {
    let args = Args::new();
    PROBES
        .iter()
        .map(|p| {
            let outcome = run(p.name, &|| (p.body)(&args))?;
            let (class, detail) = classify(outcome, p.reached, p.cap, effective);
            Ok(ProbeResult {
                name: p.name.into(),
                syscall: p.syscall.into(),
                outcome,
                class,
                detail,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_preset_syscall_has_a_probe() {
        let probed: Vec<&str> = PROBES.iter().map(|p| p.syscall).collect();
        for needs in crate::spec::runtime::builtin_all() {
            for s in &needs.syscalls {
                assert!(
                    probed.contains(&s.as_str()),
                    "{}: no probe for {s}",
                    needs.name
                );
            }
        }
    }
}
