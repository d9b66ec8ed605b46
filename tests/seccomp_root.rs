//! seccomp against the real kernel: each test runs a child process (this test binary again, see
//! tests/support/child.rs: single-threaded, no fork of the harness), which installs compiled
//! filters, makes syscalls (raw x86_64, x32 numbers, i386 through `int 0x80`) and reports what
//! the kernel answered on stdout. The parent only waits and checks, so nothing it holds is
//! filtered. Needs root (CAP_SYS_ADMIN lets a filter go in without NO_NEW_PRIVS).

mod support;

use lxnest::seccomp::install::{install_report, no_new_privs};
use lxnest::seccomp::lxc_text::parse;
use lxnest::seccomp::{compile, filter_count, install, NoNewPrivs};
use nix::sys::signal::Signal;
use seccompiler::sock_filter;
use std::os::fd::AsRawFd;
use std::os::unix::process::ExitStatusExt;
use std::process::ExitStatus;
use support::child::report;

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

/// Compile LXC text (test policies are known-good).
fn prog(text: &str) -> Vec<sock_filter> {
    compile(&parse(text, "test.seccomp").unwrap_or_else(|e| panic!("{e}")))
        .unwrap_or_else(|e| panic!("{e}"))
}

/// A syscall's result as `ret` or `-errno`.
fn raw(nr: i64, args: [u64; 3]) -> i64 {
    // SAFETY: the syscalls used here take integers (or a NUL-terminated path we own), never
    // memory the call could corrupt.
    let ret = unsafe { libc::syscall(nr, args[0], args[1], args[2]) };
    if ret == -1 {
        -i64::from(std::io::Error::last_os_error().raw_os_error().unwrap_or(0))
    } else {
        ret
    }
}

/// An i386 syscall without arguments through `int 0x80` (returns `-errno` on failure).
fn int80(nr: u32) -> i64 {
    let ret: u32;
    // SAFETY: `int 0x80` with an argument-less i386 syscall number reads only eax and writes
    // eax; the kernel preserves every other register for compat callers.
    unsafe { std::arch::asm!("int 0x80", inlateout("eax") nr => ret, options(nostack)) };
    i64::from(ret as i32)
}

/// An i386 syscall with two arguments through `int 0x80`.
fn int80_2(nr: u32, a0: u32, a1: u32) -> i64 {
    let ret: u32;
    // SAFETY: as `int80`; LLVM reserves rbx, so the first argument is swapped into ebx around
    // the call and rbx restored before the asm block ends.
    unsafe {
        std::arch::asm!(
            "xchg {b:r}, rbx",
            "int 0x80",
            "xchg {b:r}, rbx",
            b = inout(reg) u64::from(a0) => _,
            inlateout("eax") nr => ret,
            in("ecx") a1,
            options(nostack),
        )
    };
    i64::from(ret as i32)
}

/// A filter returning `errno` for syscall number `nr` and allowing everything else. Installed
/// before lxnest's filter it marks whether that filter decided `nr` itself: the kernel runs both
/// and, for two errno answers, takes the later filter's (lxnest's); if lxnest's filter allowed
/// `nr`, the marker's errno comes back. Unlike the kernel's own ENOSYS for a disabled ABI, this
/// tells "the filter refused it" from "the kernel does not know it".
fn marker(nr: i64, errno: u32) -> Vec<sock_filter> {
    let ins = |code: u16, jt: u8, jf: u8, k: u32| sock_filter { code, jt, jf, k };
    vec![
        ins((libc::BPF_LD | libc::BPF_W | libc::BPF_ABS) as u16, 0, 0, 0), // seccomp_data.nr
        ins(
            (libc::BPF_JMP | libc::BPF_JEQ | libc::BPF_K) as u16,
            0,
            1,
            nr as u32,
        ),
        ins(
            (libc::BPF_RET | libc::BPF_K) as u16,
            0,
            0,
            libc::SECCOMP_RET_ERRNO | errno,
        ),
        ins(
            (libc::BPF_RET | libc::BPF_K) as u16,
            0,
            0,
            libc::SECCOMP_RET_ALLOW,
        ),
    ]
}

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

/// The x32 number of getpid.
const X32_GETPID: i64 = 0x4000_0000 | libc::SYS_getpid;

const POLICY: &str = "2
denylist
reject_force_umount
[all]
getppid errno 42
getpriority errno 5 [0,2,==]
getpriority errno 6 [1,0x100000000,==]
[i386]
getuid errno 33
";

/// Child: x32 getpid and i386 getpid with no filter (what this kernel has).
fn abis_natively() -> i32 {
    report(&[raw(X32_GETPID, [0; 3]), int80(20)])
}

/// Child: [`POLICY`]'s rules, each call an errno or its result.
fn rules() -> i32 {
    if install(&prog(POLICY), NoNewPrivs::Auto).is_err() {
        return report(&[]);
    }
    let path = c"/nonexistent-lxnest-seccomp-test".as_ptr() as u64;
    report(&[
        raw(libc::SYS_getppid, [0; 3]),
        raw(libc::SYS_getpriority, [2, 0, 0]),
        raw(libc::SYS_getpriority, [0, 0x1_0000_0000, 0]),
        raw(libc::SYS_getpriority, [0, 0, 0]),
        raw(libc::SYS_umount2, [path, libc::MNT_FORCE as u64, 0]),
        raw(libc::SYS_umount2, [path, 0, 0]),
        raw(libc::SYS_getuid, [0; 3]),
        raw(X32_GETPID, [0; 3]),
        int80(24), // i386 getuid
        int80(64), // i386 getppid
        raw(libc::SYS_getpid, [0; 3]),
        int80_2(96, 2, 0), // i386 getpriority(PRIO_USER, 0)
        int80_2(96, 0, 0), // i386 getpriority(PRIO_PROCESS, 0)
    ])
}

/// Child: x32 getpid under the errno-77 marker alone, then with [`POLICY`] on top.
fn x32_under_a_marker() -> i32 {
    if install(&marker(X32_GETPID, 77), NoNewPrivs::Auto).is_err() {
        return report(&[]);
    }
    let alone = raw(X32_GETPID, [0; 3]);
    if install(&prog(POLICY), NoNewPrivs::Auto).is_err() {
        return report(&[]);
    }
    report(&[alone, raw(X32_GETPID, [0; 3])])
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

/// Child: an allowlist that allows everything a Rust child needs to report, but not getpid.
fn allowlist() -> i32 {
    let mut text = String::from("2\nallowlist errno 1\n[all]\n");
    for name in lxnest::seccomp::syscalls::all_names().filter(|n| *n != "getpid") {
        text.push_str(name);
        text.push('\n');
    }
    if install(&prog(&text), NoNewPrivs::Auto).is_err() {
        return report(&[]);
    }
    report(&[
        raw(libc::SYS_getpid, [0; 3]),
        raw(X32_GETPID, [0; 3]),
        raw(libc::SYS_getppid, [0; 3]),
    ])
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

/// The trap/kill policy of `seccomp_root_trap_and_kill`.
const TRAP_KILL: &str = "2\ndenylist\ngetppid trap\ngetpid kill\n";

/// Child: a trapped getppid with no SIGSYS handler.
fn trap_uncaught() -> i32 {
    let _ = install(&prog(TRAP_KILL), NoNewPrivs::Auto);
    raw(libc::SYS_getppid, [0; 3]);
    report(&[])
}

/// Child: syscall `nr` under [`TRAP_KILL`] with a SIGSYS handler that exits 77.
fn under_sigsys_handler(nr: i64) -> i32 {
    extern "C" fn on_sigsys(_: libc::c_int) {
        // SAFETY: _exit is async-signal-safe.
        unsafe { libc::_exit(77) }
    }
    let handler = nix::sys::signal::SigHandler::Handler(on_sigsys);
    // SAFETY: the handler only calls _exit.
    let _ = unsafe { nix::sys::signal::signal(Signal::SIGSYS, handler) };
    let _ = install(&prog(TRAP_KILL), NoNewPrivs::Auto);
    raw(nr, [0; 3]);
    report(&[])
}

/// Child: a trapped getppid, the SIGSYS caught.
fn trap_caught() -> i32 {
    under_sigsys_handler(libc::SYS_getppid)
}

/// Child: a killing getpid, a SIGSYS handler installed (that cannot catch it).
fn kill_caught() -> i32 {
    under_sigsys_handler(libc::SYS_getpid)
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

/// Child: two stacked filters, the filter count before and after and two calls both decide.
fn stacked() -> i32 {
    let outer = prog("2\ndenylist\ngetppid errno 1\ngetpriority errno 2\nsched_yield errno 3\n");
    let inner = prog("2\ndenylist\ngetppid errno 38\ngetpriority trap\n");
    let before = filter_count().map(i64::from).unwrap_or(-100);
    if install(&outer, NoNewPrivs::Auto).is_err() || install(&inner, NoNewPrivs::Auto).is_err() {
        return report(&[]);
    }
    let count = filter_count().map(i64::from).unwrap_or(-100);
    report(&[
        before,
        count,
        raw(libc::SYS_getppid, [0; 3]),
        raw(libc::SYS_sched_yield, [0; 3]),
    ])
}

/// Child: errno under trap for the same call.
fn stacked_trap() -> i32 {
    let outer = prog("2\ndenylist\ngetpriority errno 2\n");
    let inner = prog("2\ndenylist\ngetpriority trap\n");
    let _ = install(&outer, NoNewPrivs::Auto);
    let _ = install(&inner, NoNewPrivs::Auto);
    raw(libc::SYS_getpriority, [0, 0, 0]);
    report(&[])
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

/// The policy of the NO_NEW_PRIVS children.
const KEXEC: &str = "2\ndenylist\nkexec_load errno 1\n";

/// Child: NoNewPrivs::Auto as root: whether install set NNP, and whether it is set.
fn nnp_auto() -> i32 {
    let set = install_report(&prog(KEXEC), NoNewPrivs::Auto)
        .map(|r| i64::from(r.set_no_new_privs))
        .unwrap_or(-1);
    report(&[set, no_new_privs().map(i64::from).unwrap_or(-1)])
}

/// Child: NNP before and after an install with NoNewPrivs::Always.
fn nnp_always() -> i32 {
    let before = no_new_privs().map(i64::from).unwrap_or(-1);
    let _ = install(&prog(KEXEC), NoNewPrivs::Always);
    report(&[before, no_new_privs().map(i64::from).unwrap_or(-1)])
}

/// Child: NoNewPrivs::Auto without CAP_SYS_ADMIN.
fn nnp_without_sys_admin() -> i32 {
    if caps::drop(
        None,
        caps::CapSet::Effective,
        caps::Capability::CAP_SYS_ADMIN,
    )
    .is_err()
    {
        return report(&[]);
    }
    let set = install_report(&prog(KEXEC), NoNewPrivs::Auto)
        .map(|r| i64::from(r.set_no_new_privs))
        .unwrap_or(-1);
    report(&[
        set,
        no_new_privs().map(i64::from).unwrap_or(-1),
        raw(libc::SYS_kexec_load, [0; 3]),
    ])
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

/// Child: a notify rule answered by a supervisor thread of the child, then by the kernel once the
/// listener is closed.
fn notify() -> i32 {
    use lxnest::seccomp::install::install_with_listener;
    let p = prog("2\ndenylist\ngetppid notify\n");
    let Ok((_, listener)) = install_with_listener(&p, NoNewPrivs::Auto) else {
        return report(&[]);
    };
    let fd = listener.as_raw_fd();
    // A supervisor thread answers the first notification with errno 77.
    let supervisor = std::thread::spawn(move || {
        // SAFETY: both structs are plain data the kernel fills or reads; they outlive the
        // ioctls, and `fd` stays open until the thread is joined.
        unsafe {
            let mut req: libc::seccomp_notif = std::mem::zeroed();
            if libc::ioctl(fd, libc::SECCOMP_IOCTL_NOTIF_RECV, &mut req) != 0 {
                return -1;
            }
            let mut resp: libc::seccomp_notif_resp = std::mem::zeroed();
            resp.id = req.id;
            resp.error = -77;
            if libc::ioctl(fd, libc::SECCOMP_IOCTL_NOTIF_SEND, &mut resp) != 0 {
                return -2;
            }
            i64::from(req.data.nr)
        }
    });
    let answered = raw(libc::SYS_getppid, [0; 3]);
    let seen_nr = supervisor.join().unwrap_or(-3);
    drop(listener);
    // With the listener gone the kernel answers ENOSYS itself.
    report(&[answered, seen_nr, raw(libc::SYS_getppid, [0; 3])])
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

/// Child: installs the default policy with `LXNEST_TEST_NNP` (`auto` or `always`) while still
/// root, drops to uid/gid 65534 and runs the setuid program `LXNEST_TEST_ID -u` in its place.
fn setuid_id() -> i32 {
    use std::os::unix::process::CommandExt;
    let nnp = match support::child::param("LXNEST_TEST_NNP").as_str() {
        "always" => NoNewPrivs::Always,
        _ => NoNewPrivs::Auto,
    };
    let filter =
        compile(&lxnest::seccomp::builtin::default_policy().expect("parses")).expect("compiles");
    install(&filter, nnp).expect("install the filter");
    // SAFETY: plain syscalls on no memory of ours (setgroups with an empty list).
    let dropped = unsafe {
        libc::setgroups(0, std::ptr::null()) == 0
            && libc::setgid(65534) == 0
            && libc::setuid(65534) == 0
    };
    assert!(
        dropped,
        "drop to 65534: {}",
        std::io::Error::last_os_error()
    );
    let e = std::process::Command::new(support::child::param("LXNEST_TEST_ID"))
        .arg("-u")
        .exec();
    panic!("exec id: {e}")
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

/// Child: both shipped policies stacked; a thread, namespaces, keyctl, mount, syslog.
fn shipped_stacked() -> i32 {
    use lxnest::seccomp::builtin;
    let default = compile(&builtin::default_policy().expect("parses")).expect("compiles");
    let no_nesting = compile(&builtin::no_nesting_policy().expect("parses")).expect("compiles");
    if install(&default, NoNewPrivs::Auto).is_err()
        || install(&no_nesting, NoNewPrivs::Auto).is_err()
    {
        return report(&[]);
    }
    // glibc tries clone3 for a new thread, gets ENOSYS and falls back to clone without
    // CLONE_NEW* flags, which the filter lets through.
    let thread = std::thread::spawn(|| 7).join().map(i64::from).unwrap_or(-1);
    let flags = |f: libc::c_int| f as u64;
    report(&[
        filter_count().map(i64::from).unwrap_or(-1),
        thread,
        raw(libc::SYS_unshare, [flags(libc::CLONE_NEWUSER), 0, 0]),
        raw(
            libc::SYS_clone,
            [flags(libc::CLONE_NEWUSER | libc::SIGCHLD), 0, 0],
        ),
        raw(
            libc::SYS_clone,
            [flags(libc::CLONE_NEWNET | libc::SIGCHLD), 0, 0],
        ),
        raw(libc::SYS_clone3, [0, 0, 0]),
        raw(libc::SYS_keyctl, [0, 0, 0]),
        raw(libc::SYS_mount, [0, 0, 0]),
        raw(libc::SYS_syslog, [3, 0, 0]),
    ])
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

/// Child: issue 16's policy (multiplexers, a 64-bit value, a masked datum), x86_64 and i386 calls.
fn i386_multiplexers() -> i32 {
    let p = prog(
        "2\ndenylist\nsocket errno 97\nshmget errno 1\nkill errno 3 [0,0xffffffffffffffff,SCMP_CMP_EQ]\npersonality errno 1 [0,0x7E020000,SCMP_CMP_MASKED_EQ,0x7E000000]\n",
    );
    if install(&p, NoNewPrivs::Auto).is_err() {
        return report(&[]);
    }
    report(&[
        raw(libc::SYS_personality, [0x7e00_0000, 0, 0]),
        int80_2(102, 1, 0),                    // i386 socketcall(SYS_SOCKET, NULL)
        int80_2(102, 3, 0),                    // i386 socketcall(SYS_CONNECT, NULL)
        int80_2(117, 23, 0),                   // i386 ipc(SHMGET, 0)
        int80_2(37, 0xffff_ffff, 0),           // i386 kill(-1, 0)
        raw(libc::SYS_kill, [u64::MAX, 0, 0]), // x86_64 kill(-1, 0): [0,-1 (64 bits),==]
    ])
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
