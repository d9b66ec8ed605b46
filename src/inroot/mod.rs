//! Opening and creating files that a container controls, from the host or the launcher, without
//! letting the container steer a privileged open, write or mount (see [`create`] for the writing
//! side): a nesting host's state files and cgroup paths live in its mount
//! namespace, where it can put symlinks and mounts. Paths in a container's root are resolved with
//! `openat2(RESOLVE_IN_ROOT)` below `/proc/<init>/root` (absolute symlinks stay inside); files
//! below a cgroup directory are opened with `RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS |
//! RESOLVE_NO_XDEV` (no way out, no other mount), and cgroup directories must be on a cgroup
//! filesystem.

use std::ffi::CString;
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

pub mod create;

/// Resolution that keeps every path (`..`, absolute symlinks) inside the starting directory and
/// follows no magic link (`/proc/PID/fd/N`, `/proc/PID/root`) out of it.
pub const IN_ROOT: u64 = libc::RESOLVE_IN_ROOT | libc::RESOLVE_NO_MAGICLINKS;

/// `openat2(2)` below `dir` with `resolve` flags (`O_CLOEXEC` always added).
pub fn openat2(dir: &OwnedFd, path: &Path, flags: i32, resolve: u64) -> io::Result<OwnedFd> {
    openat2_mode(dir, path, flags, 0, resolve)
}

/// [`openat2`] with a creation mode (for `O_CREAT`).
pub fn openat2_mode(
    dir: &OwnedFd,
    path: &Path,
    flags: i32,
    mode: u32,
    resolve: u64,
) -> io::Result<OwnedFd> {
    let c = CString::new(path.as_os_str().as_bytes()).map_err(io::Error::other)?;
    // SAFETY: open_how is plain integers, for which all-zero is valid (and what the kernel
    // expects in fields we do not set).
    let mut how: libc::open_how = unsafe { std::mem::zeroed() };
    how.flags = (flags | libc::O_CLOEXEC) as u64;
    how.mode = u64::from(mode);
    how.resolve = resolve;
    // SAFETY: `c` and `how` live across the call; openat2 copies `how` (its size is passed) and
    // returns a new descriptor or -1.
    let rc = unsafe {
        libc::syscall(
            libc::SYS_openat2,
            dir.as_raw_fd(),
            c.as_ptr(),
            &how as *const libc::open_how,
            std::mem::size_of::<libc::open_how>(),
        )
    };
    if rc < 0 {
        return Err(io::Error::last_os_error());
    }
    let fd = i32::try_from(rc).map_err(|_| io::Error::other("fd out of range"))?;
    // SAFETY: openat2 returned a new descriptor that nothing else owns.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// The root directory of process `pid` (its mount namespace's view).
pub fn root_of(pid: i32) -> io::Result<OwnedFd> {
    Ok(std::fs::File::open(format!("/proc/{pid}/root"))?.into())
}

/// Opens `path` (absolute or relative, in the container) below `root` with RESOLVE_IN_ROOT.
pub fn open_in_root(root: &OwnedFd, path: &Path, flags: i32) -> io::Result<OwnedFd> {
    let rel = path.strip_prefix("/").unwrap_or(path);
    // "/" is the root itself: openat2 takes no empty path.
    let rel = if rel.as_os_str().is_empty() {
        Path::new(".")
    } else {
        rel
    };
    openat2(root, rel, flags, IN_ROOT)
}

/// Opens `rel` below the directory `dir`, on the same mount, following no symlink.
pub fn open_beneath(dir: &OwnedFd, rel: &Path, flags: i32) -> io::Result<OwnedFd> {
    openat2(
        dir,
        rel,
        flags,
        libc::RESOLVE_BENEATH | libc::RESOLVE_NO_SYMLINKS | libc::RESOLVE_NO_XDEV,
    )
}

/// Reads a file of `pid`'s filesystem as text.
pub fn read_in(pid: i32, path: &Path) -> io::Result<String> {
    use std::io::Read;
    // The container owns the file: a FIFO there must not block us (O_NONBLOCK, then regular
    // files only), and a huge or endless file must not fill our memory (READ_LIMIT).
    let fd = open_in_root(&root_of(pid)?, path, libc::O_RDONLY | libc::O_NONBLOCK)?;
    let st = nix::sys::stat::fstat(&fd).map_err(io::Error::from)?;
    if st.st_mode & libc::S_IFMT != libc::S_IFREG {
        return Err(io::Error::other(format!(
            "{}: not a regular file in the container",
            path.display()
        )));
    }
    let mut text = String::new();
    std::fs::File::from(fd)
        .take(READ_LIMIT + 1)
        .read_to_string(&mut text)?;
    if text.len() as u64 > READ_LIMIT {
        return Err(io::Error::other(format!(
            "{}: larger than {READ_LIMIT} bytes",
            path.display()
        )));
    }
    Ok(text)
}

/// The most lxnest reads of a file a container controls (its /etc/passwd, a nesting host's
/// handed-over plan).
pub const READ_LIMIT: u64 = 16 << 20;

/// Names in a directory of `pid`'s filesystem.
pub fn list_in(pid: i32, path: &Path) -> Vec<String> {
    let Ok(fd) =
        root_of(pid).and_then(|r| open_in_root(&r, path, libc::O_RDONLY | libc::O_DIRECTORY))
    else {
        return Vec::new();
    };
    let mut names: Vec<String> = std::fs::read_dir(fd_path(&fd))
        .map(|rd| {
            rd.flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}

/// A path naming exactly the file `fd` refers to (valid while `fd` is open, in this process).
pub fn fd_path(fd: &OwnedFd) -> PathBuf {
    PathBuf::from(format!("/proc/self/fd/{}", fd.as_raw_fd()))
}

/// Whether `fd` is on a cgroup (v1) or cgroup2 filesystem.
pub fn is_cgroupfs(fd: &OwnedFd) -> bool {
    nix::sys::statfs::fstatfs(fd).is_ok_and(|s| {
        let t = s.filesystem_type();
        t == nix::sys::statfs::CGROUP_SUPER_MAGIC || t == nix::sys::statfs::CGROUP2_SUPER_MAGIC
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolution_stays_inside() {
        let d = tempfile::tempdir().expect("tempdir");
        std::fs::create_dir(d.path().join("etc")).expect("mkdir");
        std::fs::write(d.path().join("etc/x"), "inside").expect("write");
        std::os::unix::fs::symlink("/etc/x", d.path().join("abs")).expect("symlink");
        let root: OwnedFd = std::fs::File::open(d.path()).expect("open").into();
        // An absolute symlink resolves against the given root, not ours.
        let fd = open_in_root(&root, Path::new("/abs"), libc::O_RDONLY).expect("open abs");
        assert_eq!(
            io::read_to_string(std::fs::File::from(fd)).expect("read"),
            "inside"
        );
        // Beneath: no symlinks, no escape.
        assert!(open_beneath(&root, Path::new("abs"), libc::O_RDONLY).is_err());
        assert!(open_beneath(&root, Path::new("../etc"), libc::O_RDONLY).is_err());
        assert!(open_beneath(&root, Path::new("etc/x"), libc::O_RDONLY).is_ok());
        assert!(!is_cgroupfs(&root));
    }
}
