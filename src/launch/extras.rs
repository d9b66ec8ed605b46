//! What an OCI bundle asks of a container beyond its [`crate::plan::model::LevelPlan`]
//! ([`OciProcess`]: the process's user, directory, limits, masks, sysctls) and the exec gate that
//! splits a start into `create` and `start`. Only `lxnest-oci` sets them; lxnest's own commands
//! start with none, and then nothing here runs.
//!
//! The gate is a FIFO, as runc's `exec.fifo`: the init opens it (`O_PATH`) while it still has
//! the launcher's identity, and right before exec, with everything else in place, it opens it
//! again for writing through `/proc/self/fd`, which blocks until `lxnest-oci start` opens it
//! for reading. The parent does not wait for that exec (see `start::parent_steps`).

use lxnest_core::oci::OciProcess;
use std::io;
use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

/// The extras of one start.
#[derive(Debug, Clone, Default)]
pub struct Extras {
    /// The process settings.
    pub process: OciProcess,
    /// The FIFO the init waits on before exec; `None`: exec at once.
    pub exec_gate: Option<PathBuf>,
}

/// Opens the gate's FIFO as a path descriptor (no open for reading or writing yet: that would
/// block or succeed at the wrong time).
pub fn hold_gate(extras: Option<&Extras>) -> io::Result<Option<OwnedFd>> {
    let Some(path) = extras.and_then(|e| e.exec_gate.as_ref()) else {
        return Ok(None);
    };
    let f = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_PATH | libc::O_CLOEXEC | libc::O_NOFOLLOW)
        .open(path)
        .map_err(|e| io::Error::new(e.kind(), format!("{}: {e}", path.display())))?;
    Ok(Some(f.into()))
}

/// Waits at the gate: blocks until a reader opens the FIFO, then writes one byte. The write end
/// closes at exec.
pub fn wait_at_gate(gate: &OwnedFd) -> io::Result<()> {
    // Every descriptor above stdio but the gate closes now rather than at exec, which may be
    // long after: a launcher's pipe it holds would keep `create` waiting for end-of-file.
    let g = gate.as_raw_fd() as u32;
    for (first, last) in [(3, g.saturating_sub(1)), (g + 1, u32::MAX)] {
        if first <= last {
            // SAFETY: close_range takes plain integers; every descriptor in the range is
            // close-on-exec already (child::close_on_exec_from_3) and unused from here on.
            if unsafe { libc::syscall(libc::SYS_close_range, first, last, 0u32) } != 0 {
                return Err(io::Error::last_os_error());
            }
        }
    }
    let path = format!("/proc/self/fd/{g}");
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .custom_flags(libc::O_CLOEXEC)
        .open(&path)?;
    io::Write::write_all(&mut f, b"0")?;
    // Kept open until exec (close-on-exec), so the reader sees end-of-file only then.
    std::mem::forget(f);
    Ok(())
}

/// Writes the namespaced sysctls through the launcher's /proc, after the container's network
/// and IPC namespaces exist (a `net.` sysctl applies to the writer's network namespace).
pub fn write_sysctls(p: &OciProcess) -> io::Result<()> {
    for (k, v) in &p.sysctl {
        if !lxnest_core::oci::process::namespaced_sysctl(k) {
            return Err(io::Error::other(format!("sysctl {k} is not namespaced")));
        }
        let path = Path::new("/proc/sys").join(k.replace('.', "/"));
        std::fs::write(&path, v)
            .map_err(|e| io::Error::new(e.kind(), format!("sysctl {k}: {e}")))?;
    }
    Ok(())
}

/// Masks and read-only paths, resolved inside `root` (no symlink of the tree leads out), after
/// /proc and /sys are mounted and before pivot_root. Paths that do not exist are skipped, as runc
/// does.
pub fn mask_paths(root: &Path, p: &OciProcess) -> io::Result<()> {
    use nix::mount::MsFlags;
    if p.masked_paths.is_empty() && p.readonly_paths.is_empty() {
        return Ok(());
    }
    let rootfd = crate::inroot::create::open_root(root)?;
    let open = |path: &str| match crate::inroot::open_in_root(
        &rootfd,
        Path::new(path),
        libc::O_PATH | libc::O_CLOEXEC,
    ) {
        Ok(fd) => Ok(Some(fd)),
        Err(e) if e.raw_os_error() == Some(libc::ENOENT) => Ok(None),
        Err(e) => Err(io::Error::new(e.kind(), format!("{path}: {e}"))),
    };
    let null =
        open("/dev/null")?.ok_or_else(|| io::Error::other("the container has no /dev/null"))?;
    let ctx = |path: &str| {
        let path = path.to_string();
        move |e: crate::mounts::MountError| io::Error::other(format!("{path}: {e}"))
    };
    for path in &p.masked_paths {
        let Some(fd) = open(path)? else { continue };
        let at = crate::inroot::fd_path(&fd);
        if nix::sys::stat::fstat(&fd).map(|s| s.st_mode & libc::S_IFMT == libc::S_IFDIR)? {
            let flags =
                MsFlags::MS_RDONLY | MsFlags::MS_NOSUID | MsFlags::MS_NODEV | MsFlags::MS_NOEXEC;
            crate::mounts::mount_fs("tmpfs", &at, flags, Some("size=0")).map_err(ctx(path))?;
        } else {
            crate::mounts::bind(&crate::inroot::fd_path(&null), &at, false).map_err(ctx(path))?;
        }
    }
    for path in &p.readonly_paths {
        let Some(fd) = open(path)? else { continue };
        let at = crate::inroot::fd_path(&fd);
        crate::mounts::bind(&at, &at, true).map_err(ctx(path))?;
        // The bind is a new mount on top: resolve again to remount it, not what lay below.
        let Some(fd) = open(path)? else { continue };
        crate::mounts::remount_ro(&crate::inroot::fd_path(&fd), MsFlags::empty())
            .map_err(ctx(path))?;
    }
    Ok(())
}

/// Limits and the OOM score, in the container after pivot_root (its own /proc).
pub fn limits(p: &OciProcess) -> io::Result<()> {
    for r in &p.rlimits {
        let lim = libc::rlimit {
            rlim_cur: r.soft,
            rlim_max: r.hard,
        };
        // SAFETY: setrlimit reads the struct we pass; the resource number is one of Linux's
        // (translated from the spec's names).
        if unsafe { libc::setrlimit(r.resource as libc::__rlimit_resource_t, &lim) } != 0 {
            return Err(io::Error::last_os_error());
        }
    }
    if let Some(adj) = p.oom_score_adj {
        std::fs::write("/proc/self/oom_score_adj", adj.to_string())?;
    }
    if let Some(mask) = p.umask {
        nix::sys::stat::umask(nix::sys::stat::Mode::from_bits_truncate(mask));
    }
    Ok(())
}

/// The process's own identity and directory, last before the gate (after seccomp: installing
/// the filter without NO_NEW_PRIVS needs the root's CAP_SYS_ADMIN). A non-root uid leaves the
/// process with no effective or permitted capabilities, as exec as that user would.
pub fn identity(p: &OciProcess) -> io::Result<()> {
    use nix::unistd::{Gid, Uid};
    if p.no_new_privileges {
        // SAFETY: prctl with integer arguments only.
        if unsafe { libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) } != 0 {
            return Err(io::Error::last_os_error());
        }
    }
    if p.uid != 0 || p.gid != 0 || !p.additional_gids.is_empty() {
        let groups: Vec<Gid> = p
            .additional_gids
            .iter()
            .map(|g| Gid::from_raw(*g))
            .collect();
        nix::unistd::setgroups(&groups)?;
        let g = Gid::from_raw(p.gid);
        nix::unistd::setresgid(g, g, g)?;
        let u = Uid::from_raw(p.uid);
        nix::unistd::setresuid(u, u, u)?;
    }
    std::env::set_current_dir(&p.cwd)
        .map_err(|e| io::Error::new(e.kind(), format!("cwd {}: {e}", p.cwd)))
}
