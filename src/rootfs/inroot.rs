//! Writing files into a container's tree without following anything the container planted: a
//! tarball's or directory's rootfs is the container's, and a symlink `/etc/docker -> /host/etc`
//! in it must not steer a write made with the launcher's privileges. Every path is resolved with
//! `openat2(RESOLVE_IN_ROOT)` below the root's descriptor (absolute symlinks and `..` stay inside)
//! and the final component is created with `RESOLVE_NO_SYMLINKS`. (A crate-wide helper for
//! this may replace it; `crate::attach::inroot` has the same resolution for reads.)

use std::ffi::CString;
use std::io::{self, Read, Write};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Component, Path};

fn openat2(dir: &OwnedFd, path: &Path, flags: i32, mode: u32, resolve: u64) -> io::Result<OwnedFd> {
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

const IN_ROOT: u64 = libc::RESOLVE_IN_ROOT | libc::RESOLVE_NO_MAGICLINKS;

/// The root directory `root` as a descriptor that later resolutions stay inside.
pub fn open_root(root: &Path) -> io::Result<OwnedFd> {
    use std::os::unix::fs::OpenOptionsExt;
    let fd = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_DIRECTORY | libc::O_NOFOLLOW)
        .open(root)?;
    Ok(fd.into())
}

/// The components of an absolute or relative in-container path, refusing `..` (a generated
/// path never has one).
fn parts(path: &Path) -> io::Result<Vec<&std::ffi::OsStr>> {
    path.components()
        .filter_map(|c| match c {
            Component::Normal(n) => Some(Ok(n)),
            Component::RootDir | Component::CurDir => None,
            _ => Some(Err(io::Error::other(format!(
                "{}: `..` in path",
                path.display()
            )))),
        })
        .collect()
}

/// Opens (creating as needed, mode 0755) the directory `dir` inside `root`.
pub fn mkdirs(root: &OwnedFd, dir: &Path) -> io::Result<OwnedFd> {
    let mut cur = openat2(
        root,
        Path::new("."),
        libc::O_PATH | libc::O_DIRECTORY,
        0,
        IN_ROOT,
    )?;
    let mut at = std::path::PathBuf::from("/");
    for name in parts(dir)? {
        at.push(name);
        let c = CString::new(name.as_bytes()).map_err(io::Error::other)?;
        // SAFETY: `cur` is an open directory descriptor and `c` a NUL-terminated name; mkdirat
        // only creates an entry (EEXIST when one is there, which the next open checks).
        let rc = unsafe { libc::mkdirat(cur.as_raw_fd(), c.as_ptr(), 0o755) };
        if rc < 0 {
            let e = io::Error::last_os_error();
            if e.raw_os_error() != Some(libc::EEXIST) {
                return Err(io::Error::new(
                    e.kind(),
                    format!("mkdir {}: {e}", at.display()),
                ));
            }
        }
        // Re-resolve from the root: an existing entry may be a symlink, which then resolves
        // inside the root, never outside.
        cur = openat2(root, &at, libc::O_PATH | libc::O_DIRECTORY, 0, IN_ROOT)
            .map_err(|e| io::Error::new(e.kind(), format!("{}: {e}", at.display())))?;
    }
    Ok(cur)
}

/// Reads `path` inside `root`; `None` when it does not exist.
pub fn read(root: &OwnedFd, path: &Path) -> io::Result<Option<String>> {
    match openat2(root, path, libc::O_RDONLY, 0, IN_ROOT) {
        Ok(fd) => {
            let mut s = String::new();
            std::fs::File::from(fd).read_to_string(&mut s)?;
            Ok(Some(s))
        }
        Err(e) if e.raw_os_error() == Some(libc::ENOENT) => Ok(None),
        Err(e) => Err(e),
    }
}

/// Writes `text` to `path` inside `root` with `mode`, creating parent directories. The last
/// component must not be a symlink (ELOOP) or anything but a regular file.
pub fn write(root: &OwnedFd, path: &Path, text: &str, mode: u32) -> io::Result<()> {
    let name = path
        .file_name()
        .ok_or_else(|| io::Error::other(format!("{}: no file name", path.display())))?;
    let dir = mkdirs(root, path.parent().unwrap_or(Path::new("/")))?;
    let fd = openat2(
        &dir,
        Path::new(name),
        libc::O_WRONLY | libc::O_CREAT | libc::O_TRUNC | libc::O_NOFOLLOW,
        mode,
        libc::RESOLVE_BENEATH | libc::RESOLVE_NO_SYMLINKS | libc::RESOLVE_NO_MAGICLINKS,
    )?;
    let mut f = std::fs::File::from(fd);
    if !f.metadata()?.is_file() {
        return Err(io::Error::other(format!(
            "{}: not a regular file",
            path.display()
        )));
    }
    f.write_all(text.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::symlink;

    #[test]
    fn writes_stay_inside_the_root_whatever_the_tree_links_to() {
        let outside = tempfile::tempdir().expect("tempdir");
        let root = tempfile::tempdir().expect("tempdir");
        let fd = open_root(root.path()).expect("root");
        let nothing_outside = || {
            std::fs::read_dir(outside.path())
                .expect("ls")
                .next()
                .is_none()
        };

        // The container planted /etc -> the outside directory (absolute): it resolves inside
        // the root, where that path does not exist, so the write fails and nothing escapes.
        symlink(outside.path(), root.path().join("etc")).expect("symlink");
        assert!(write(&fd, Path::new("/etc/docker/daemon.json"), "{}", 0o644).is_err());
        assert!(nothing_outside());

        // A relative link climbing out lands on the root itself.
        symlink("../../../../..", root.path().join("up")).expect("symlink");
        write(&fd, Path::new("/up/x/f"), "in", 0o644).expect("write");
        assert_eq!(
            std::fs::read_to_string(root.path().join("x/f")).expect("inside"),
            "in"
        );

        // An absolute link to a directory that exists inside is followed inside.
        std::fs::create_dir(root.path().join("srv")).expect("mkdir");
        symlink("/srv", root.path().join("conf")).expect("symlink");
        write(&fd, Path::new("/conf/docker/daemon.json"), "{}", 0o644).expect("write");
        assert_eq!(
            std::fs::read_to_string(root.path().join("srv/docker/daemon.json")).expect("inside"),
            "{}"
        );

        // The file itself a symlink to a host file: refused, the host file unchanged.
        let target = outside.path().join("victim");
        std::fs::write(&target, "host").expect("write");
        symlink(&target, root.path().join("srv/f")).expect("symlink");
        let err = write(&fd, Path::new("/srv/f"), "container", 0o644).expect_err("refused");
        assert_eq!(err.raw_os_error(), Some(libc::ELOOP), "{err}");
        assert_eq!(std::fs::read_to_string(&target).expect("read"), "host");
        assert_eq!(read(&fd, Path::new("/nonexistent")).expect("read"), None);
        assert!(write(&fd, Path::new("/a/../b"), "", 0o644).is_err());
    }
}
