//! Creating directories, mount points and files inside a container's tree. Each parent is
//! resolved with `openat2(RESOLVE_IN_ROOT)` from the tree's root descriptor, so `..` and
//! absolute symlinks stay inside, and the last component is created with `*at` calls relative
//! to that parent, never through a symlink: a container that plants `run -> /etc` or
//! `etc/group -> /root/secret` steers nothing outside its own tree.

use super::{openat2, openat2_mode, IN_ROOT};
use std::ffi::{CString, OsStr};
use std::io::{self, Write};
use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Component, Path, PathBuf};

/// The tree at `root` as a descriptor that later resolutions stay inside (`root` itself is the
/// launcher's own path, not the container's, and must not be a symlink).
pub fn open_root(root: &Path) -> io::Result<OwnedFd> {
    use std::os::unix::fs::OpenOptionsExt;
    let f = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_DIRECTORY | libc::O_NOFOLLOW | libc::O_CLOEXEC)
        .open(root)
        .map_err(|e| named(root, e))?;
    Ok(f.into())
}

fn named(p: &Path, e: io::Error) -> io::Error {
    io::Error::new(e.kind(), format!("{}: {e}", p.display()))
}

/// The normal components of an in-container path; `..` is refused (lxnest's own paths never
/// have one, and resolution would clamp it at the root anyway).
fn parts(path: &Path) -> io::Result<Vec<&OsStr>> {
    path.components()
        .filter_map(|c| match c {
            Component::Normal(n) => Some(Ok(n)),
            Component::RootDir | Component::CurDir => None,
            _ => Some(Err(io::Error::other(format!(
                "{}: `..` in a path inside the container",
                path.display()
            )))),
        })
        .collect()
}

fn cname(name: &OsStr) -> io::Result<CString> {
    CString::new(name.as_bytes()).map_err(io::Error::other)
}

/// Opens the directory `dir` inside `root` (`O_PATH`), creating missing components with `mode`.
pub fn mkdirs(root: &OwnedFd, dir: &Path, mode: u32) -> io::Result<OwnedFd> {
    let dirflags = libc::O_PATH | libc::O_DIRECTORY;
    let mut at = PathBuf::from("/");
    let mut cur = openat2(root, Path::new("."), dirflags, IN_ROOT)?;
    for name in parts(dir)? {
        at.push(name);
        let c = cname(name)?;
        // SAFETY: `cur` is an open directory and `c` a NUL-terminated single name; mkdirat only
        // creates an entry (EEXIST when something is there, which the resolution below checks).
        if unsafe { libc::mkdirat(cur.as_raw_fd(), c.as_ptr(), mode) } < 0 {
            let e = io::Error::last_os_error();
            if e.raw_os_error() != Some(libc::EEXIST) {
                return Err(named(&at, e));
            }
        }
        // Resolved again from the root: an existing entry may be a symlink, which then stays
        // inside the tree; anything but a directory fails with ENOTDIR.
        let rel = at.strip_prefix("/").unwrap_or(&at);
        cur = openat2(root, rel, dirflags, IN_ROOT).map_err(|e| named(&at, e))?;
    }
    Ok(cur)
}

/// What a mount point must be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A directory (for a filesystem or a directory bind).
    Dir,
    /// A regular file (for a file bind: a device node, /dev/null over a /proc file).
    File,
}

/// The mount point `path` inside `root`, created when missing (directories 0755, files 0644,
/// empty), opened `O_PATH`: mount onto [`super::fd_path`] of it, so the mount lands exactly where
/// the resolution inside the tree ended. An existing entry is used as it is (a symlink is
/// followed inside the tree, as `/etc/resolv.conf` often is one), never opened for I/O or
/// truncated.
pub fn mount_point(root: &OwnedFd, path: &Path, kind: Kind) -> io::Result<OwnedFd> {
    if kind == Kind::Dir {
        return mkdirs(root, path, 0o755);
    }
    let rel = path.strip_prefix("/").unwrap_or(path);
    match openat2(root, rel, libc::O_PATH, IN_ROOT) {
        Ok(fd) => return Ok(fd),
        Err(e) if e.raw_os_error() == Some(libc::ENOENT) => {}
        Err(e) => return Err(named(path, e)),
    }
    let name = path
        .file_name()
        .ok_or_else(|| io::Error::other(format!("{}: no file name", path.display())))?;
    let parent = mkdirs(root, path.parent().unwrap_or(Path::new("/")), 0o755)?;
    // O_EXCL: created here or not at all (a dangling symlink planted at the name is refused).
    let flags = libc::O_CREAT | libc::O_EXCL | libc::O_WRONLY | libc::O_NOFOLLOW;
    openat2_mode(&parent, Path::new(name), flags, 0o644, IN_ROOT).map_err(|e| named(path, e))?;
    openat2(root, rel, libc::O_PATH, IN_ROOT).map_err(|e| named(path, e))
}

/// Writes `text` to `path` inside `root` (mode `mode`), replacing a regular file there; a
/// symlink or anything else at the last component is refused.
pub fn write(root: &OwnedFd, path: &Path, text: &str, mode: u32) -> io::Result<()> {
    let name = path
        .file_name()
        .ok_or_else(|| io::Error::other(format!("{}: no file name", path.display())))?;
    let parent = mkdirs(root, path.parent().unwrap_or(Path::new("/")), 0o755)?;
    let flags =
        libc::O_CREAT | libc::O_WRONLY | libc::O_TRUNC | libc::O_NOFOLLOW | libc::O_NONBLOCK;
    let fd = openat2_mode(
        &parent,
        Path::new(name),
        flags,
        mode,
        IN_ROOT | libc::RESOLVE_NO_SYMLINKS,
    )
    .map_err(|e| named(path, e))?;
    let meta = nix::sys::stat::fstat(&fd).map_err(|e| named(path, e.into()))?;
    if meta.st_mode & libc::S_IFMT != libc::S_IFREG {
        return Err(named(path, io::Error::other("not a regular file")));
    }
    let mut f = std::fs::File::from(fd);
    f.write_all(text.as_bytes()).map_err(|e| named(path, e))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::symlink;

    fn tree() -> (tempfile::TempDir, tempfile::TempDir, OwnedFd) {
        let t = tempfile::tempdir().expect("tree");
        let outside = tempfile::tempdir().expect("outside");
        let root = open_root(t.path()).expect("root");
        (t, outside, root)
    }

    #[test]
    fn a_symlinked_directory_resolves_inside_the_tree() {
        let (t, outside, root) = tree();
        // Pointing outside: resolved inside the tree, where that path does not exist.
        symlink(outside.path(), t.path().join("run")).expect("symlink");
        assert!(write(&root, Path::new("/run/lxnest/level"), "1\n", 0o644).is_err());
        assert!(
            !outside.path().join("lxnest").exists(),
            "nothing written outside"
        );
        // Once the path exists inside the tree, the write lands there.
        let inside = t
            .path()
            .join(outside.path().strip_prefix("/").expect("abs"));
        std::fs::create_dir_all(&inside).expect("inside dir");
        write(&root, Path::new("/run/lxnest/level"), "1\n", 0o644).expect("write");
        assert!(
            !outside.path().join("lxnest").exists(),
            "nothing written outside"
        );
        assert_eq!(
            std::fs::read_to_string(inside.join("lxnest/level")).expect("inside"),
            "1\n"
        );
    }

    #[test]
    fn a_symlinked_file_is_never_written_or_truncated() {
        let (t, outside, root) = tree();
        let secret = outside.path().join("secret");
        std::fs::write(&secret, "keep").expect("secret");
        std::fs::create_dir(t.path().join("etc")).expect("etc");
        symlink(&secret, t.path().join("etc/group")).expect("symlink");
        assert!(write(&root, Path::new("/etc/group"), "x", 0o644).is_err());
        // The symlink resolves inside the tree, where nothing is: refused, nothing created
        // outside, the secret untouched.
        assert!(mount_point(&root, Path::new("/etc/group"), Kind::File).is_err());
        assert_eq!(std::fs::read_to_string(&secret).expect("read"), "keep");
        // A symlink to a file inside the tree is a fine mount point.
        std::fs::write(t.path().join("etc/real"), "r").expect("real");
        symlink("/etc/real", t.path().join("etc/link")).expect("symlink");
        mount_point(&root, Path::new("/etc/link"), Kind::File).expect("inside link");
    }

    #[test]
    fn mount_points_are_made_and_existing_files_kept() {
        let (t, _outside, root) = tree();
        std::fs::create_dir(t.path().join("etc")).expect("etc");
        std::fs::write(t.path().join("etc/hosts"), "kept").expect("hosts");
        mount_point(&root, Path::new("/etc/hosts"), Kind::File).expect("file");
        mount_point(&root, Path::new("/a/b"), Kind::Dir).expect("dir");
        assert_eq!(
            std::fs::read_to_string(t.path().join("etc/hosts")).expect("read"),
            "kept"
        );
        assert!(t.path().join("a/b").is_dir());
        assert!(
            mkdirs(&root, Path::new("/etc/hosts"), 0o755).is_err(),
            "not a dir"
        );
    }
}
