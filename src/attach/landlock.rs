//! The container's Landlock domain, re-created for the attached process: the same handled
//! accesses and rules as the launcher's (crate::launch::landlock), one ruleset per level that has
//! one, outermost first. The rules' paths are the container's: they are opened on the host side,
//! before any namespace is joined, below `/proc/<init>/root` with `RESOLVE_IN_ROOT`, so that
//! absolute symlinks inside the container resolve against its root, not ours. The attaching
//! process only calls `restrict_self`.

use super::target::Level;
use landlock::{
    Access, AccessFs, PathBeneath, Ruleset, RulesetAttr, RulesetCreated, RulesetCreatedAttr, ABI,
};
use std::ffi::CString;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};

/// The ABI the launcher asks for (the crate downgrades to what the kernel has).
const ABI_WANTED: ABI = ABI::V5;

/// Opens `path` (absolute, in the container) as an O_PATH descriptor below `root`.
fn open_in_root(root: &OwnedFd, path: &str) -> std::io::Result<OwnedFd> {
    let c = CString::new(path).map_err(std::io::Error::other)?;
    // SAFETY: open_how is plain integers, for which all-zero is valid (and what the kernel
    // expects in fields we do not set).
    let mut how: libc::open_how = unsafe { std::mem::zeroed() };
    how.flags = (libc::O_PATH | libc::O_CLOEXEC) as u64;
    how.resolve = libc::RESOLVE_IN_ROOT;
    // SAFETY: `c` and `how` live across the call; openat2 copies `how` (its size is passed) and
    // returns a new descriptor or -1.
    let rc = unsafe {
        libc::syscall(
            libc::SYS_openat2,
            root.as_raw_fd(),
            c.as_ptr(),
            &how as *const libc::open_how,
            std::mem::size_of::<libc::open_how>(),
        )
    };
    if rc < 0 {
        return Err(std::io::Error::last_os_error());
    }
    let fd = i32::try_from(rc).map_err(|_| std::io::Error::other("fd out of range"))?;
    // SAFETY: openat2 returned a new descriptor that nothing else owns.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// Builds the rulesets of every level with Landlock enabled, outermost first.
pub fn prepare(levels: &[Level]) -> Result<Vec<RulesetCreated>, String> {
    let mut out = Vec::new();
    for level in levels {
        let plan = &level.state.plan.landlock;
        if !plan.enabled {
            continue;
        }
        let root_path = format!("/proc/{}/root", level.host_pid);
        let root: OwnedFd = std::fs::File::open(&root_path)
            .map_err(|e| format!("{root_path}: {e}"))?
            .into();
        let all = AccessFs::from_all(ABI_WANTED);
        let read = AccessFs::from_read(ABI_WANTED);
        let lerr = |e: landlock::RulesetError| format!("{}: {e}", level.state.name);
        let mut created = Ruleset::default()
            .handle_access(all)
            .map_err(lerr)?
            .create()
            .map_err(lerr)?;
        for (paths, access) in [(&plan.read_only, read), (&plan.read_write, all)] {
            for p in paths {
                // A path the container lacks was denied at start; it stays denied.
                if let Ok(fd) = open_in_root(&root, p) {
                    created = created
                        .add_rule(PathBeneath::new(fd, access))
                        .map_err(lerr)?;
                }
            }
        }
        out.push(created.no_new_privs(false));
    }
    Ok(out)
}

/// Enforces the rulesets on the calling process (needs CAP_SYS_ADMIN or NO_NEW_PRIVS).
pub fn restrict(rulesets: Vec<RulesetCreated>) -> Result<(), landlock::RulesetError> {
    for r in rulesets {
        r.restrict_self()?;
    }
    Ok(())
}
