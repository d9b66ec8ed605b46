//! The one reader every input file goes through ([`read_input`], [`open_input`]): the core
//! layers read nothing else from the filesystem (templates and policies are embedded), and the
//! readers of specs, includes, LXC configs, seccomp policies and OpenVZ configs all call it.
//! Which kind of input a path is ([`crate::input`]) is decided above it.

use std::io::Read;
use std::path::Path;
/// Largest input file lxnest reads (spec, include, LXC config, seccomp policy, OpenVZ config).
/// Real ones are a few KiB (Docker's seccomp profile, the largest, is about 25 KiB); the limit
/// keeps `/dev/zero` or a runaway file from exhausting memory.
pub const INPUT_LIMIT: u64 = 4 << 20;

/// `O_NONBLOCK` and `O_NOCTTY` of Linux's generic ABI (x86_64, aarch64), written here so that the
/// core crate needs no libc; a unit test holds them against libc's. std opens with `O_CLOEXEC`.
const O_NONBLOCK: i32 = 0o4000;
const O_NOCTTY: i32 = 0o400;

/// Open an input file for reading: only a regular file (after following symlinks). The file is
/// opened with `O_NONBLOCK`, so that a FIFO cannot block the open, and checked with `fstat` on the
/// open descriptor, so what is checked is what is read. Root filesystem tarballs, which have no
/// size limit, are opened with this too.
pub fn open_input(path: &Path) -> std::io::Result<std::fs::File> {
    use std::io::{Error, ErrorKind};
    use std::os::unix::fs::{FileTypeExt, OpenOptionsExt};
    let file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(O_NONBLOCK | O_NOCTTY)
        .open(path)?;
    let ft = file.metadata()?.file_type();
    if ft.is_file() {
        return Ok(file);
    }
    let kind = if ft.is_dir() {
        "a directory"
    } else if ft.is_fifo() {
        "a FIFO"
    } else if ft.is_char_device() {
        "a character device"
    } else if ft.is_block_device() {
        "a block device"
    } else if ft.is_socket() {
        "a socket"
    } else {
        "not a regular file"
    };
    Err(Error::new(
        ErrorKind::InvalidInput,
        format!("{kind}, not a regular file (fix: name a regular file; lxnest reads its inputs from regular files only)"),
    ))
}

/// Read an input file as text: only a regular file (after following symlinks) of at most
/// [`INPUT_LIMIT`] bytes, opened by [`open_input`].
pub fn read_input(path: &Path) -> std::io::Result<String> {
    use std::io::{Error, ErrorKind};
    let file = open_input(path)?;
    let meta = file.metadata()?;
    let too_large = || {
        Error::new(
            ErrorKind::InvalidInput,
            format!(
                "larger than {} MiB, the limit for input files (fix: split it, or name the right file)",
                INPUT_LIMIT >> 20
            ),
        )
    };
    if meta.len() > INPUT_LIMIT {
        return Err(too_large());
    }
    let mut bytes = Vec::with_capacity(meta.len() as usize);
    // A file that grows while it is read is still cut at the limit.
    file.take(INPUT_LIMIT + 1).read_to_end(&mut bytes)?;
    if bytes.len() as u64 > INPUT_LIMIT {
        return Err(too_large());
    }
    String::from_utf8(bytes).map_err(|e| {
        Error::new(
            ErrorKind::InvalidData,
            format!(
                "not UTF-8 text (invalid byte at offset {})",
                e.utf8_error().valid_up_to()
            ),
        )
    })
}

/// The regular files (after following symlinks) named `*.EXTENSION` in directory `dir`, sorted:
/// what an `lxc.include` of a directory reads, each then through [`read_input`].
pub fn files_in(dir: &Path, extension: &str) -> std::io::Result<Vec<std::path::PathBuf>> {
    let mut files: Vec<std::path::PathBuf> = std::fs::read_dir(dir)?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == extension) && p.is_file())
        .collect();
    files.sort();
    Ok(files)
}

/// `path` made absolute with every symlink resolved (how includes are told apart, and cycles found).
pub fn canonical(path: &Path) -> std::io::Result<std::path::PathBuf> {
    path.canonicalize()
}

/// Whether `path` names something (after following symlinks): an optional include that is absent.
pub fn exists(path: &Path) -> bool {
    path.exists()
}

/// The working directory, to show paths below it relative to it (`None` when it is gone).
pub fn current_dir() -> Option<std::path::PathBuf> {
    std::env::current_dir().ok()
}

/// Whether `path` names a directory (after following symlinks).
pub fn is_dir(path: &Path) -> bool {
    path.is_dir()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn open_flags_are_libcs() {
        assert_eq!((O_NONBLOCK, O_NOCTTY), (libc::O_NONBLOCK, libc::O_NOCTTY));
    }

    #[test]
    fn regular_files_and_symlinks_to_them_are_read() {
        let d = tempfile::tempdir().unwrap();
        let f = d.path().join("a.yaml");
        std::fs::write(&f, "name: x\n").unwrap();
        let l = d.path().join("l.yaml");
        std::os::unix::fs::symlink(&f, &l).unwrap();
        assert_eq!(read_input(&l).unwrap(), "name: x\n");
        std::fs::write(&f, [0xffu8, 0xfe]).unwrap();
        assert!(read_input(&f).unwrap_err().to_string().contains("UTF-8"));
    }
}
