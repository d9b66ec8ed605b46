//! seccomp against the real kernel: each test runs a child process (this test binary again, see
//! tests/support/child.rs: single-threaded, no fork of the harness), which installs compiled
//! filters, makes syscalls (raw x86_64, x32 numbers, i386 through `int 0x80`) and reports what
//! the kernel answered on stdout. The parent only waits and checks, so nothing it holds is
//! filtered. Needs root (CAP_SYS_ADMIN lets a filter go in without NO_NEW_PRIVS).

mod seccomp_children;
mod support;

use nix::sys::signal::Signal;
use seccomp_children::*;
use std::os::unix::process::ExitStatusExt;
use std::process::ExitStatus;

test_children!(
    abis_natively,
    rules,
    x32_under_a_marker,
    allowlist,
    trap_uncaught,
    trap_caught,
    kill_caught,
    stacked,
    stacked_trap,
    nnp_auto,
    nnp_always,
    nnp_without_sys_admin,
    notify,
    setuid_id,
    shipped_stacked,
    i386_multiplexers,
);

/// What a child reported, and how it ended.
struct Child {
    status: ExitStatus,
    values: Vec<i64>,
}

/// Runs child body `name` (a function registered above) with `params` in its environment.
fn in_child(name: &str, params: &[(&str, &str)]) -> Child {
    let out = support::child::run(name, params);
    if !out.stderr.is_empty() {
        eprintln!("{name}: {}", String::from_utf8_lossy(&out.stderr));
    }
    Child {
        status: out.status,
        values: support::child::values(&out),
    }
}

/// Whether the child was killed by SIGSYS (a trap not caught, or a kill action).
fn killed_by_sigsys(c: &Child) -> bool {
    c.status.signal() == Some(Signal::SIGSYS as i32)
}

fn exited_ok(c: &Child) {
    assert_eq!(
        c.status.code(),
        Some(0),
        "child did not finish: {:?}",
        c.status
    );
}

#[test]
fn seccomp_root_rules_errnos_args_and_arches() {
    if !support::root() {
        return;
    }
    // Before any filter: is x32 / i386 available in this kernel?
    let before = in_child("abis_natively", &[]);
    exited_ok(&before);
    let (x32_native, i386_native) = (before.values[0], before.values[1]);

    let c = in_child("rules", &[]);
    exited_ok(&c);
    let v = &c.values;
    assert_eq!(v.len(), 13, "the child could not install the filter");
    assert_eq!(v[0], -42, "getppid errno 42");
    assert_eq!(v[1], -5, "getpriority(PRIO_USER) matches [0,2,==]");
    assert_eq!(v[2], -6, "the high word of arg1 is compared");
    assert!(
        v[3] >= 0,
        "getpriority(PRIO_PROCESS, 0) is allowed: {}",
        v[3]
    );
    assert_eq!(v[4], -libc::EACCES as i64, "reject_force_umount");
    assert_eq!(
        v[5],
        -libc::ENOENT as i64,
        "umount2 without MNT_FORCE reaches the kernel"
    );
    assert_eq!(v[6], 0, "x86_64 getuid is not in the [i386] section");
    assert_eq!(
        v[7],
        -libc::ENOSYS as i64,
        "x32 calls get ENOSYS under a denylist (natively: {x32_native})"
    );
    // The same ENOSYS is the kernel's answer when x32 is off: decided by the filter only if a
    // marker filter underneath (errno 77 for x32 getpid) is overridden.
    let m = in_child("x32_under_a_marker", &[]);
    exited_ok(&m);
    assert_eq!(m.values.len(), 2, "the child could not install the filters");
    assert_eq!(m.values[0], -77, "the marker alone answers x32 getpid");
    assert_eq!(
        m.values[1],
        -libc::ENOSYS as i64,
        "lxnest's x32 guard answered, not the marker underneath it"
    );
    assert!(v[10] > 0, "getpid allowed");
    if support::require(
        i386_native > 0,
        &format!("i386 emulation in the kernel for int 0x80 (getpid gave {i386_native})"),
    ) {
        assert_eq!(v[8], -33, "i386 getuid via int 0x80 hits the [i386] rule");
        assert_eq!(v[9], -42, "i386 getppid via int 0x80 hits the [all] rule");
        assert_eq!(v[11], -5, "i386 arguments are checked at the same offsets");
        // i386 values are truncated to 32 bits, as libseccomp does: [1,0x100000000,==] is
        // [1,0,==] there, so getpriority(PRIO_PROCESS, 0) matches it.
        assert_eq!(
            v[12], -6,
            "i386 getpriority(PRIO_PROCESS, 0) matches the truncated value"
        );
    }
}

#[test]
fn seccomp_root_allowlist_closes_x32() {
    if !support::root() {
        return;
    }
    let c = in_child("allowlist", &[]);
    exited_ok(&c);
    // x32 getpid answers EPERM from the filter, not the kernel's ENOSYS: the guard ran.
    assert_eq!(c.values.len(), 3, "the child could not install the filter");
    assert_eq!(c.values[0], -1, "getpid is not on the allowlist: EPERM");
    assert_eq!(
        c.values[1], -1,
        "x32 getpid gets the allowlist default, not the kernel's ENOSYS"
    );
    assert!(c.values[2] > 0, "getppid is allowed");
}

#[test]
fn seccomp_root_trap_and_kill() {
    if !support::root() {
        return;
    }
    let trap = in_child("trap_uncaught", &[]);
    assert!(killed_by_sigsys(&trap), "trap: {:?}", trap.status);
    // SIGSYS from trap can be caught; from kill it cannot. Catch it to tell the two apart.
    let trapped = in_child("trap_caught", &[]);
    assert_eq!(
        trapped.status.code(),
        Some(77),
        "trap is catchable: {:?}",
        trapped.status
    );
    let killed = in_child("kill_caught", &[]);
    assert!(killed_by_sigsys(&killed), "kill: {:?}", killed.status);
}

#[test]
fn seccomp_root_stacked_filters_strictest_wins() {
    if !support::root() {
        return;
    }
    let c = in_child("stacked", &[]);
    exited_ok(&c);
    let before = c.values.first().copied().unwrap_or(-100);
    assert_eq!(
        c.values.get(1).copied(),
        Some(before + 2),
        "Seccomp_filters grew by 2"
    );
    assert_eq!(
        c.values.get(2).copied(),
        Some(-38),
        "errno vs errno: the inner (latest) filter's errno"
    );
    assert_eq!(
        c.values.get(3).copied(),
        Some(-3),
        "the outer filter still applies"
    );
    let trap = in_child("stacked_trap", &[]);
    assert!(
        killed_by_sigsys(&trap),
        "trap beats errno: {:?}",
        trap.status
    );
}

#[test]
fn seccomp_root_no_new_privs_only_when_needed() {
    if !support::root() {
        return;
    }
    let auto = in_child("nnp_auto", &[]);
    exited_ok(&auto);
    // As root (CAP_SYS_ADMIN) the filter goes in without NNP, so setuid programs keep working.
    assert_eq!(auto.values, vec![0, 0]);
    let always = in_child("nnp_always", &[]);
    exited_ok(&always);
    assert_eq!(always.values, vec![0, 1]);
    // Without CAP_SYS_ADMIN, Auto must set NNP or the kernel refuses the filter.
    let unprivileged = in_child("nnp_without_sys_admin", &[]);
    exited_ok(&unprivileged);
    assert_eq!(unprivileged.values, vec![1, 1, -1]);
}

#[test]
fn seccomp_root_notify_goes_to_the_listener() {
    if !support::root() {
        return;
    }
    let c = in_child("notify", &[]);
    exited_ok(&c);
    assert_eq!(
        c.values,
        vec![-77, libc::SYS_getppid, -(libc::ENOSYS as i64)]
    );
}

/// Run `script` in a throwaway LXC container (host root filesystem, no network) whose filter
/// LXC itself loads from `policy`. Returns (success, stdout+stderr).
/// The cgroups LXC makes for container NAME (payload, monitor) and the `lxc.pivot` cgroup it
/// parks its monitor in and leaves behind empty: removed on drop, also when lxc-execute failed
/// halfway or an assertion did (rmdir only removes empty cgroups, so nothing in use goes).
struct LxcCgroups(String);

impl Drop for LxcCgroups {
    fn drop(&mut self) {
        let Ok(hierarchies) = std::fs::read_dir("/sys/fs/cgroup") else {
            return;
        };
        for h in hierarchies.flatten() {
            for top in [
                format!("lxc.payload.{}", self.0),
                format!("lxc.monitor.{}", self.0),
                "lxc.pivot".to_string(),
            ] {
                let mut dirs = support::dir_tree(&h.path().join(&top));
                dirs.sort_by_key(|d| std::cmp::Reverse(d.components().count()));
                for d in dirs {
                    let _ = std::fs::remove_dir(d);
                }
            }
        }
    }
}

fn lxc_execute(policy: &str, script: &str) -> (bool, String) {
    let dir = tempfile::tempdir().expect("tempdir");
    let policy_path = dir.path().join("policy.seccomp");
    std::fs::write(&policy_path, policy).expect("write policy");
    let name = format!("lxnest-sc-{}", std::process::id());
    let conf = format!(
        "lxc.uts.name = {name}\nlxc.net.0.type = empty\nlxc.console.path = none\nlxc.tty.max = 0\n\
         lxc.pty.max = 0\nlxc.mount.auto = proc:rw\nlxc.apparmor.profile = unconfined\n\
         lxc.seccomp.profile = {}\n",
        policy_path.display()
    );
    std::fs::write(dir.path().join("conf"), conf).expect("write config");
    let _cgroups = LxcCgroups(name.clone());
    let out = std::process::Command::new("lxc-execute")
        .arg("-n")
        .arg(&name)
        .arg("-P")
        .arg(dir.path())
        .arg("-f")
        .arg(dir.path().join("conf"))
        .args(["--", "/bin/sh", "-c", script])
        .stdin(std::process::Stdio::null())
        .output()
        .expect("lxc-execute runs");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

#[test]
fn seccomp_root_lxc_loads_the_shipped_policies() {
    if !support::root()
        || !support::require(
            support::has_program("lxc-execute", "--version"),
            "lxc-execute (Debian package lxc)",
        )
    {
        return;
    }
    use lxnest::seccomp::builtin;
    // LXC reads the text itself; NO_NEW_PRIVS stays off, as lxnest's install does for root.
    let status = "grep -E '^(NoNewPrivs|Seccomp_filters)' /proc/self/status";
    let (ok, out) = lxc_execute(builtin::DEFAULT_TEXT, status);
    assert!(
        ok && out.contains("Seccomp_filters:\t1") && out.contains("NoNewPrivs:\t0"),
        "{out}"
    );
    let script = format!("{status}; unshare -U true && echo unshare-allowed; true");
    let (ok, out) = lxc_execute(builtin::NO_NESTING_TEXT, &script);
    assert!(ok && out.contains("Seccomp_filters:\t1"), "{out}");
    assert!(
        !out.contains("unshare-allowed") && out.contains("Operation not permitted"),
        "{out}"
    );
    // The check is real: a rule LXC refuses (the default action again) stops the container.
    let (ok, out) = lxc_execute("2\ndenylist\nmount allow\n", "true");
    assert!(!ok, "{out}");
    // And so does the comment after an argument check that no-nesting.seccomp once had.
    let (ok, out) = lxc_execute(
        "2\ndenylist\nclone errno 1 [0,1,SCMP_CMP_EQ] # why\n",
        "true",
    );
    assert!(!ok, "{out}");
}

/// `id -u` run through a setuid-root copy of `id` by uid 65534 under lxnest's default filter,
/// installed with `nnp` (`auto`, `always`) while still root: what a setuid program inside a
/// container gets.
fn setuid_id_under(nnp: &str) -> String {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::Builder::new()
        .prefix("lxnest-suid")
        .tempdir_in(env!("CARGO_TARGET_TMPDIR"))
        .expect("tempdir");
    let id = dir.path().join("id");
    std::fs::copy("/usr/bin/id", &id).expect("copy id");
    std::fs::set_permissions(&id, std::fs::Permissions::from_mode(0o4755)).expect("setuid bit");
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).expect("dir mode");
    let id = id.to_str().expect("a UTF-8 temporary path");
    let out = support::child::run(
        "setuid_id",
        &[("LXNEST_TEST_NNP", nnp), ("LXNEST_TEST_ID", id)],
    );
    support::child::assert_ok(&out);
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

#[test]
fn seccomp_root_setuid_programs_keep_working() {
    if !support::root() {
        return;
    }
    // NoNewPrivs::Auto as root leaves NNP off: the setuid bit still raises the effective uid.
    assert_eq!(setuid_id_under("auto"), "0");
    // With NNP the kernel ignores the setuid bit: this is what LXC and lxnest avoid.
    assert_eq!(setuid_id_under("always"), "65534");
}

#[test]
fn seccomp_root_shipped_policies_stacked() {
    if !support::root() {
        return;
    }
    let c = in_child("shipped_stacked", &[]);
    exited_ok(&c);
    let (eperm, enosys) = (-(libc::EPERM as i64), -(libc::ENOSYS as i64));
    assert_eq!(c.values.len(), 9, "the child could not install the filters");
    assert!(c.values[0] >= 2, "two more filters: {}", c.values[0]);
    assert_eq!(
        c.values[1], 7,
        "threads still start (clone3 -> ENOSYS -> clone)"
    );
    assert_eq!(
        &c.values[2..],
        &[eperm, eperm, eperm, enosys, enosys, eperm, eperm]
    );
}

/// Issue 16's findings against the kernel: i386 socketcall/ipc follow socket/shmget rules, a
/// 64-bit value is truncated on i386, a MASKED_EQ datum is masked.
#[test]
fn seccomp_root_i386_multiplexers_truncation_and_masked_datum() {
    if !support::root() {
        return;
    }
    let i386_native = in_child("abis_natively", &[])
        .values
        .get(1)
        .copied()
        .unwrap_or(-1);
    let c = in_child("i386_multiplexers", &[]);
    exited_ok(&c);
    let v = &c.values;
    assert_eq!(v.len(), 6, "the child could not install the filter");
    assert_eq!(v[0], -1, "personality(0x7E000000): the datum is masked");
    assert_eq!(v[5], -3, "x86_64 kill(-1) matches the 64-bit value");
    if support::require(
        i386_native > 0,
        &format!("i386 emulation in the kernel for int 0x80 (getpid gave {i386_native})"),
    ) {
        assert_eq!(
            v[1], -97,
            "socketcall(SYS_SOCKET) follows `socket errno 97`"
        );
        assert_eq!(
            v[2],
            -libc::EFAULT as i64,
            "socketcall(SYS_CONNECT) reaches the kernel"
        );
        assert_eq!(v[3], -1, "ipc(SHMGET) follows `shmget errno 1`");
        assert_eq!(v[4], -3, "i386 kill(-1): the value is truncated to 32 bits");
    }
}
