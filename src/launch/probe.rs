//! Escape probes, run inside a container (`lxnest __probe NAME|all [HOST_PID]`) by the escape
//! battery: each attempts one thing a container must not be able to do and prints
//! `name<TAB>result`, where result is `ok` (the attempt worked: an escape) or the errno's name.
//! Attempts that could harm the host if they succeeded use harmless arguments.

use nix::errno::Errno;
use std::ffi::CString;
use std::io::Write;

/// Probe names, in the order `all` runs them.
/// The mount probes come last: where one succeeds (a nesting host's own mount namespace) it
/// must not change what the others see.
pub const PROBES: &[&str] = &[
    "write_sysrq",
    "write_proc_sys_kernel",
    "write_sys_kernel",
    "write_clean_proc_sys_kernel",
    "kexec_load",
    "init_module",
    "finit_module",
    "delete_module",
    "open_by_handle_at",
    "reboot",
    "swapon",
    "clock_settime",
    "syslog",
    "mknod_block",
    "kill_outside",
    "ptrace_outside",
    "cgroup_raise_limit",
    "cgroup_mkdir",
    "net_route_add",
    "net_addr_set",
    // Before the mounts below, which in a nesting host cover /proc.
    "umount_masks",
    "remount_proc_sys_rw",
    "mount_bind_root",
    "mount_over_proc",
];

/// The AppArmor part of the battery (`lxnest __probe apparmor`), what the AppArmor guest stage
/// runs at each level. Besides the writes to kernel-wide knobs, which the kernel's own
/// permission checks usually refuse before it asks AppArmor (in a user namespace the knobs'
/// owner is unmapped, and lxnest masks them read-only), the attempts an attacker would make
/// first: taking lxnest's masks away, which AppArmor refuses on top of the kernel (the masks
/// are locked mounts, see `launch::lock`).
pub const APPARMOR_PROBES: &[&str] = &[
    "write_sysrq",
    "write_proc_sys_kernel",
    "write_sys_kernel",
    "unmask_proc_sys",
    "unmask_sysrq",
    "remount_sys_rw",
    "mount_bind_root",
    "mount_over_proc",
];

fn rc(r: libc::c_long) -> Result<(), Errno> {
    if r < 0 {
        Err(Errno::last())
    } else {
        Ok(())
    }
}

/// A raw syscall with up to four arguments, as the probes need.
fn sys(nr: libc::c_long, a: [libc::c_long; 4]) -> Result<(), Errno> {
    // SAFETY: every probe passes null pointers, invalid descriptors, or pointers to values it
    // keeps alive across the call (CStrings, a timespec); the kernel validates all of them, and
    // none of these calls writes into our memory.
    rc(unsafe { libc::syscall(nr, a[0], a[1], a[2], a[3]) })
}

fn cs(s: &str) -> CString {
    CString::new(s).unwrap_or_default()
}

/// Writes a file's current value back to it: harmless if the write were allowed.
fn write_same(path: &str) -> Result<(), Errno> {
    let current = std::fs::read_to_string(path).unwrap_or_default();
    write_file(path, &current)
}

fn write_file(path: &str, data: &str) -> Result<(), Errno> {
    std::fs::OpenOptions::new()
        .write(true)
        .open(path)
        .and_then(|mut f| f.write_all(data.as_bytes()))
        .map_err(|e| Errno::from_raw(e.raw_os_error().unwrap_or(libc::EIO)))
}

/// The container's own cgroup directory of a controller, as premounted.
fn cgroup_dir() -> String {
    for d in [
        "/sys/fs/cgroup/pids",
        "/sys/fs/cgroup/memory",
        "/sys/fs/cgroup/unified",
        "/sys/fs/cgroup",
    ] {
        if std::path::Path::new(d).join("cgroup.procs").exists() {
            return d.to_string();
        }
    }
    "/sys/fs/cgroup".into()
}

fn route_ioctl(req: libc::c_ulong) -> Result<(), Errno> {
    // SAFETY: socket(2) with constant arguments.
    let fd = unsafe { libc::socket(libc::AF_INET, libc::SOCK_DGRAM, 0) };
    if fd < 0 {
        return Err(Errno::last());
    }
    let r = if req == libc::SIOCADDRT {
        // SAFETY: rtentry is plain data; zeroed is valid (a default route to 0.0.0.0/0 on no device).
        let mut rt: libc::rtentry = unsafe { std::mem::zeroed() };
        rt.rt_dst.sa_family = libc::AF_INET as u16;
        rt.rt_genmask.sa_family = libc::AF_INET as u16;
        rt.rt_flags = libc::RTF_UP;
        // SAFETY: SIOCADDRT reads a valid rtentry.
        unsafe { libc::ioctl(fd, libc::SIOCADDRT, &rt) }
    } else {
        // SAFETY: ifreq is plain data; set lo's address to 0.0.0.0 (the kernel checks CAP_NET_ADMIN first).
        let mut ifr: libc::ifreq = unsafe { std::mem::zeroed() };
        ifr.ifr_name[0] = b'l' as libc::c_char;
        ifr.ifr_name[1] = b'o' as libc::c_char;
        ifr.ifr_ifru.ifru_addr.sa_family = libc::AF_INET as u16;
        // SAFETY: SIOCSIFADDR reads a valid ifreq.
        unsafe { libc::ioctl(fd, libc::SIOCSIFADDR, &ifr) }
    };
    let out = if r < 0 { Err(Errno::last()) } else { Ok(()) };
    // SAFETY: fd is ours and closed once.
    unsafe { libc::close(fd) };
    out
}

/// Tries to unmount each of lxnest's masks on /proc; the first refusal's errno, `Ok` when any
/// mask came off (an escape), ENOENT when there was no mask to try.
fn umount_masks() -> Result<(), Errno> {
    use super::proc::{MASKED_DIRS, MASKED_FILES, READ_ONLY};
    let mut first = None;
    for name in MASKED_FILES.iter().chain(MASKED_DIRS).chain(READ_ONLY) {
        let path = format!("/proc/{name}");
        if !std::path::Path::new(&path).exists() {
            continue;
        }
        match nix::mount::umount2(path.as_str(), nix::mount::MntFlags::MNT_DETACH) {
            Ok(()) => return Ok(()),
            Err(e) => {
                first.get_or_insert(e);
            }
        }
    }
    Err(first.unwrap_or(Errno::ENOENT))
}

/// Runs one probe; `outside` is a pid of the parent's namespace (for kill/ptrace).
pub fn attempt(name: &str, outside: i32) -> Result<(), Errno> {
    use nix::mount::{mount, MsFlags};
    match name {
        "mount_bind_root" => mount(
            Some("/"),
            "/mnt",
            None::<&str>,
            MsFlags::MS_BIND | MsFlags::MS_REC,
            None::<&str>,
        ),
        // Taking lxnest's masks away: the read-only binds over /proc/sys and
        // /proc/sysrq-trigger, and the read-only sysfs.
        "unmask_proc_sys" => nix::mount::umount2("/proc/sys", nix::mount::MntFlags::empty()),
        // Every mask lxnest puts on /proc: each must stay (locked: EINVAL; no mount rights: EPERM).
        "umount_masks" => umount_masks(),
        // The read-only /proc/sys made writable again: a locked read-only flag stays (EPERM).
        "remount_proc_sys_rw" => mount(
            None::<&str>,
            "/proc/sys",
            None::<&str>,
            MsFlags::MS_REMOUNT
                | MsFlags::MS_BIND
                | MsFlags::MS_NOSUID
                | MsFlags::MS_NODEV
                | MsFlags::MS_NOEXEC,
            None::<&str>,
        ),
        "unmask_sysrq" => nix::mount::umount2("/proc/sysrq-trigger", nix::mount::MntFlags::empty()),
        "remount_sys_rw" => mount(
            None::<&str>,
            "/sys",
            None::<&str>,
            MsFlags::MS_REMOUNT,
            None::<&str>,
        ),
        "mount_over_proc" => mount(
            Some("/tmp"),
            "/proc",
            None::<&str>,
            MsFlags::MS_BIND,
            None::<&str>,
        ),
        // "h" only prints help to the kernel log, should the write ever go through.
        "write_sysrq" => write_file("/proc/sysrq-trigger", "h"),
        "write_proc_sys_kernel" => write_same("/proc/sys/kernel/panic"),
        "write_sys_kernel" => write_same(SYS_KERNEL_FILE),
        // A nesting host's unmasked proc copy: the kernel itself must still refuse host knobs.
        "write_clean_proc_sys_kernel" => write_same(CLEAN_PROC_KNOB),
        "kexec_load" => sys(libc::SYS_kexec_load, [0, 0, 0, 0]),
        "init_module" => {
            let params = cs("");
            sys(
                libc::SYS_init_module,
                [0, 0, params.as_ptr() as libc::c_long, 0],
            )
        }
        "finit_module" => {
            let params = cs("");
            sys(
                libc::SYS_finit_module,
                [-1, params.as_ptr() as libc::c_long, 0, 0],
            )
        }
        "delete_module" => {
            let name = cs("lxnest_probe");
            sys(
                libc::SYS_delete_module,
                [
                    name.as_ptr() as libc::c_long,
                    libc::O_NONBLOCK as libc::c_long,
                    0,
                    0,
                ],
            )
        }
        "open_by_handle_at" => sys(libc::SYS_open_by_handle_at, [-1, 0, 0, 0]),
        // Ctrl-Alt-Del handling "on": harmless even if it were allowed.
        "reboot" => sys(
            libc::SYS_reboot,
            [
                libc::LINUX_REBOOT_MAGIC1 as libc::c_long,
                libc::LINUX_REBOOT_MAGIC2 as libc::c_long,
                libc::LINUX_REBOOT_CMD_CAD_ON as libc::c_long,
                0,
            ],
        ),
        "swapon" => {
            let path = cs("/dev/null");
            sys(libc::SYS_swapon, [path.as_ptr() as libc::c_long, 0, 0, 0])
        }
        "clock_settime" => {
            let mut ts = libc::timespec {
                tv_sec: 0,
                tv_nsec: 0,
            };
            // SAFETY: reads the clock into a valid timespec we own.
            unsafe { libc::clock_gettime(libc::CLOCK_REALTIME, &mut ts) };
            // Setting the clock to the value it has: harmless even if it were allowed.
            sys(
                libc::SYS_clock_settime,
                [
                    libc::CLOCK_REALTIME as libc::c_long,
                    &ts as *const libc::timespec as libc::c_long,
                    0,
                    0,
                ],
            )
        }
        // SYSLOG_ACTION_SIZE_BUFFER (10): reads nothing but needs the same privilege.
        "syslog" => sys(libc::SYS_syslog, [10, 0, 0, 0]),
        "mknod_block" => {
            let dev = libc::makedev(8, 0);
            // SAFETY: a path string we own; creates a node in the container's /tmp at most.
            rc(
                unsafe { libc::mknod(cs("/tmp/probe-sda").as_ptr(), libc::S_IFBLK | 0o600, dev) }
                    as libc::c_long,
            )
        }
        "kill_outside" => nix::sys::signal::kill(nix::unistd::Pid::from_raw(outside), None),
        "ptrace_outside" => sys(
            libc::SYS_ptrace,
            [
                libc::PTRACE_ATTACH as libc::c_long,
                outside as libc::c_long,
                0,
                0,
            ],
        ),
        "cgroup_raise_limit" => {
            let d = cgroup_dir();
            let file = if d.ends_with("pids") {
                "pids.max"
            } else {
                "cgroup.max.descendants"
            };
            write_file(&format!("{d}/{file}"), "max")
        }
        "cgroup_mkdir" => std::fs::create_dir(format!("{}/probe-escape", cgroup_dir()))
            .map_err(|e| Errno::from_raw(e.raw_os_error().unwrap_or(libc::EIO))),
        "net_route_add" => route_ioctl(libc::SIOCADDRT),
        "net_addr_set" => route_ioctl(libc::SIOCSIFADDR),
        _ => Err(Errno::EINVAL),
    }
}

/// The /sys/kernel file the sysfs probe writes (present on every kernel lxnest supports).
pub const SYS_KERNEL_FILE: &str = "/sys/kernel/rcu_expedited";

/// A host-wide knob as seen through a nesting host's clean proc copy.
pub const CLEAN_PROC_KNOB: &str = "/dev/.lxnest/proc/sys/kernel/panic";

/// The file a probe needs, when the host may lack it (kernel configuration, or a clean proc
/// copy that only nesting hosts have).
pub fn needs_file(name: &str) -> Option<&'static str> {
    match name {
        "write_sysrq" => Some("/proc/sysrq-trigger"),
        "write_proc_sys_kernel" => Some("/proc/sys/kernel/panic"),
        "write_sys_kernel" => Some(SYS_KERNEL_FILE),
        "write_clean_proc_sys_kernel" => Some(CLEAN_PROC_KNOB),
        _ => None,
    }
}

/// Result text: `ok` or the errno name (`EPERM`).
pub fn result_text(r: Result<(), Errno>) -> String {
    match r {
        Ok(()) => "ok".into(),
        Err(e) => format!("{e:?}"),
    }
}

/// The `__probe` command: prints one line per probe; exits 0 (the caller judges the results).
pub fn run(name: &str, args: &[String]) -> i32 {
    let outside = args.first().and_then(|a| a.parse().ok()).unwrap_or(1);
    if name == "read_key" {
        return read_key_probe(args);
    }
    if name == "tiocsti" {
        return tiocsti_probe();
    }
    let names: Vec<&str> = match name {
        "all" => PROBES.to_vec(),
        "apparmor" => APPARMOR_PROBES.to_vec(),
        _ => vec![name],
    };
    for n in names {
        let result = match needs_file(n) {
            Some(f) if !std::path::Path::new(f).exists() => "absent".to_string(),
            _ => result_text(attempt(n, outside)),
        };
        println!("{n}\t{result}");
    }
    0
}

/// `__probe read_key SERIAL`: tries to read a key the caller holds outside (`read_key<TAB>ok
/// PAYLOAD` would be an escape), then, as a control that `keyctl` is not simply filtered, asks
/// for its own session keyring's id (`keyctl<TAB>ok`).
fn read_key_probe(args: &[String]) -> i32 {
    use super::keyring;
    let serial = args.first().and_then(|a| a.parse().ok()).unwrap_or(0);
    match keyring::read_key(serial) {
        Ok(v) => println!("read_key\tok {}", String::from_utf8_lossy(&v)),
        Err(e) => println!(
            "read_key\t{:?}",
            Errno::from_raw(e.raw_os_error().unwrap_or(0))
        ),
    }
    println!(
        "keyctl\t{}",
        result_text(
            keyring::session_id()
                .map(|_| ())
                .map_err(|e| Errno::from_raw(e.raw_os_error().unwrap_or(0)))
        )
    );
    0
}

/// `__probe tiocsti`: pushes `X<fd>Y` into the input queue of descriptors 0-2 and of /dev/tty
/// with TIOCSTI (`tiocsti_N<TAB>ok` says the push worked: harmless on a terminal of the
/// container's own, an escape on the caller's, which the test checks from outside), and lists
/// the descriptors this process has (`fds<TAB>0,1,2`).
fn tiocsti_probe() -> i32 {
    let push = |fd: i32, tag: &str| -> Result<(), Errno> {
        for b in format!("X{tag}Y").bytes() {
            // SAFETY: TIOCSTI reads one byte from a pointer to a local that outlives the call.
            rc(unsafe { libc::ioctl(fd, libc::TIOCSTI, &b as *const u8) } as libc::c_long)?;
        }
        Ok(())
    };
    // Listed first, before /dev/tty is opened.
    let mut fds: Vec<i32> = std::fs::read_dir("/proc/self/fd")
        .map(|rd| {
            rd.flatten()
                .filter_map(|e| e.file_name().to_str()?.parse().ok())
                .collect()
        })
        .unwrap_or_default();
    fds.sort();
    // The last one is read_dir's own descriptor.
    fds.pop();
    let list: Vec<String> = fds.iter().map(|f| f.to_string()).collect();
    println!("fds\t{}", list.join(","));
    for fd in 0..3 {
        println!("tiocsti_{fd}\t{}", result_text(push(fd, &fd.to_string())));
    }
    let tty = match std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open("/dev/tty")
    {
        Ok(f) => {
            use std::os::fd::AsRawFd;
            result_text(push(f.as_raw_fd(), "T"))
        }
        Err(e) => format!("open: {:?}", Errno::from_raw(e.raw_os_error().unwrap_or(0))),
    };
    println!("tiocsti_tty\t{tty}");
    0
}
