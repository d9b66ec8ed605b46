//! The child bodies of tests/seccomp_root.rs (each runs in the re-executed test binary, see
//! tests/support/child.rs) and the raw-syscall helpers they use: install filters, make
//! syscalls (raw x86_64, x32 numbers, i386 through `int 0x80`), report what the kernel answered.

use crate::support::child::report;
use lxnest::seccomp::bpf::sock_filter;
use lxnest::seccomp::install::{install_report, no_new_privs};
use lxnest::seccomp::lxc_text::parse;
use lxnest::seccomp::{compile, filter_count, install, NoNewPrivs};
use nix::sys::signal::Signal;
use std::os::fd::AsRawFd;

/// Compile LXC text (test policies are known-good).
pub fn prog(text: &str) -> Vec<sock_filter> {
    compile(&parse(text, "test.seccomp").unwrap_or_else(|e| panic!("{e}")))
        .unwrap_or_else(|e| panic!("{e}"))
}

/// A syscall's result as `ret` or `-errno`.
pub fn raw(nr: i64, args: [u64; 3]) -> i64 {
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
pub fn int80(nr: u32) -> i64 {
    let ret: u32;
    // SAFETY: `int 0x80` with an argument-less i386 syscall number reads only eax and writes
    // eax; the kernel preserves every other register for compat callers.
    unsafe { std::arch::asm!("int 0x80", inlateout("eax") nr => ret, options(nostack)) };
    i64::from(ret as i32)
}

/// An i386 syscall with two arguments through `int 0x80`.
pub fn int80_2(nr: u32, a0: u32, a1: u32) -> i64 {
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
pub fn marker(nr: i64, errno: u32) -> Vec<sock_filter> {
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

/// The x32 number of getpid.
pub const X32_GETPID: i64 = 0x4000_0000 | libc::SYS_getpid;

pub const POLICY: &str = "2
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
pub fn abis_natively() -> i32 {
    report(&[raw(X32_GETPID, [0; 3]), int80(20)])
}

/// Child: [`POLICY`]'s rules, each call an errno or its result.
pub fn rules() -> i32 {
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
pub fn x32_under_a_marker() -> i32 {
    if install(&marker(X32_GETPID, 77), NoNewPrivs::Auto).is_err() {
        return report(&[]);
    }
    let alone = raw(X32_GETPID, [0; 3]);
    if install(&prog(POLICY), NoNewPrivs::Auto).is_err() {
        return report(&[]);
    }
    report(&[alone, raw(X32_GETPID, [0; 3])])
}

/// Child: an allowlist that allows everything a Rust child needs to report, but not getpid.
pub fn allowlist() -> i32 {
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

/// The trap/kill policy of `seccomp_root_trap_and_kill`.
pub const TRAP_KILL: &str = "2\ndenylist\ngetppid trap\ngetpid kill\n";

/// Child: a trapped getppid with no SIGSYS handler.
pub fn trap_uncaught() -> i32 {
    let _ = install(&prog(TRAP_KILL), NoNewPrivs::Auto);
    raw(libc::SYS_getppid, [0; 3]);
    report(&[])
}

/// Child: syscall `nr` under [`TRAP_KILL`] with a SIGSYS handler that exits 77.
pub fn under_sigsys_handler(nr: i64) -> i32 {
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
pub fn trap_caught() -> i32 {
    under_sigsys_handler(libc::SYS_getppid)
}

/// Child: a killing getpid, a SIGSYS handler installed (that cannot catch it).
pub fn kill_caught() -> i32 {
    under_sigsys_handler(libc::SYS_getpid)
}

/// Child: two stacked filters, the filter count before and after and two calls both decide.
pub fn stacked() -> i32 {
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
pub fn stacked_trap() -> i32 {
    let outer = prog("2\ndenylist\ngetpriority errno 2\n");
    let inner = prog("2\ndenylist\ngetpriority trap\n");
    let _ = install(&outer, NoNewPrivs::Auto);
    let _ = install(&inner, NoNewPrivs::Auto);
    raw(libc::SYS_getpriority, [0, 0, 0]);
    report(&[])
}

/// The policy of the NO_NEW_PRIVS children.
pub const KEXEC: &str = "2\ndenylist\nkexec_load errno 1\n";

/// Child: NoNewPrivs::Auto as root: whether install set NNP, and whether it is set.
pub fn nnp_auto() -> i32 {
    let set = install_report(&prog(KEXEC), NoNewPrivs::Auto)
        .map(|r| i64::from(r.set_no_new_privs))
        .unwrap_or(-1);
    report(&[set, no_new_privs().map(i64::from).unwrap_or(-1)])
}

/// Child: NNP before and after an install with NoNewPrivs::Always.
pub fn nnp_always() -> i32 {
    let before = no_new_privs().map(i64::from).unwrap_or(-1);
    let _ = install(&prog(KEXEC), NoNewPrivs::Always);
    report(&[before, no_new_privs().map(i64::from).unwrap_or(-1)])
}

/// Child: NoNewPrivs::Auto without CAP_SYS_ADMIN.
pub fn nnp_without_sys_admin() -> i32 {
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

/// Child: a notify rule answered by a supervisor thread of the child, then by the kernel once the
/// listener is closed.
pub fn notify() -> i32 {
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

/// Child: installs the default policy with `LXNEST_TEST_NNP` (`auto` or `always`) while still
/// root, drops to uid/gid 65534 and runs the setuid program `LXNEST_TEST_ID -u` in its place.
pub fn setuid_id() -> i32 {
    use std::os::unix::process::CommandExt;
    let nnp = match crate::support::child::param("LXNEST_TEST_NNP").as_str() {
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
    let e = std::process::Command::new(crate::support::child::param("LXNEST_TEST_ID"))
        .arg("-u")
        .exec();
    panic!("exec id: {e}")
}

/// Child: both shipped policies stacked; a thread, namespaces, keyctl, mount, syslog.
pub fn shipped_stacked() -> i32 {
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

/// Child: issue 16's policy (multiplexers, a 64-bit value, a masked datum), x86_64 and i386 calls.
pub fn i386_multiplexers() -> i32 {
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
