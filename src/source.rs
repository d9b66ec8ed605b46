//! One entry point for what users hand lxnest: a YAML nesting spec, a built-in example
//! (`builtin:NAME`), or an LXC configuration file (its first setting is an `lxc.` key); and the one
//! reader every input file goes through ([`read_input`]).

use crate::spec::Stack;
use std::io::Read;
use std::path::Path;
use thiserror::Error;

/// Largest input file lxnest reads (spec, include, LXC config, seccomp policy, OpenVZ config).
/// Real ones are a few KiB (Docker's seccomp profile, the largest, is about 25 KiB); the limit
/// keeps `/dev/zero` or a runaway file from exhausting memory.
pub const INPUT_LIMIT: u64 = 4 << 20;

/// Open an input file for reading: only a regular file (after following symlinks). The file is
/// opened with `O_NONBLOCK`, so that a FIFO cannot block the open, and checked with `fstat` on the
/// open descriptor, so what is checked is what is read. Root filesystem tarballs, which have no
/// size limit, are opened with this too.
pub fn open_input(path: &Path) -> std::io::Result<std::fs::File> {
    use std::io::{Error, ErrorKind};
    use std::os::unix::fs::{FileTypeExt, OpenOptionsExt};
    let file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK | libc::O_NOCTTY | libc::O_CLOEXEC)
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

/// Reading the input failed.
#[derive(Debug, Error)]
pub enum SourceError {
    /// A YAML spec could not be read.
    #[error(transparent)]
    Spec(#[from] crate::spec::SpecError),
    /// An LXC config could not be read or mapped.
    #[error(transparent)]
    Lxc(#[from] crate::lxc::to_spec::LoadError),
}

/// A stack ready to plan, and notes for the user (LXC keys read but not enforced...).
pub struct Loaded {
    /// The stack.
    pub stack: Stack,
    /// Notes to print as warnings.
    pub notes: Vec<String>,
}

/// Read a spec, a built-in example, or an LXC config.
pub fn load(path: &Path) -> Result<Loaded, SourceError> {
    let is_lxc = !path
        .to_string_lossy()
        .starts_with(crate::spec::load::BUILTIN_PREFIX)
        && read_input(path).is_ok_and(|t| crate::lxc::to_spec::looks_like_lxc(&t));
    if is_lxc {
        let m = crate::lxc::to_spec::load(path, None)?;
        return Ok(Loaded {
            stack: m.stack,
            notes: m.notes,
        });
    }
    Ok(Loaded {
        stack: crate::spec::load(path)?,
        notes: Vec::new(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, Instant};

    fn mkfifo(p: &Path) {
        let c = std::ffi::CString::new(p.as_os_str().as_encoded_bytes()).unwrap();
        // SAFETY: `c` is a valid NUL-terminated path that outlives the call.
        assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
    }

    /// Every way an input file is named must refuse special files at once, naming the file.
    #[test]
    fn special_and_huge_files_are_refused_naming_the_file() {
        let d = tempfile::tempdir().unwrap();
        let fifo = d.path().join("fifo.yaml");
        mkfifo(&fifo);
        let big = d.path().join("big.yaml");
        std::fs::write(&big, vec![b'#'; INPUT_LIMIT as usize + 1]).unwrap();
        let started = Instant::now();
        for (name, text, names, why) in [
            (
                "inc-zero.yaml",
                "include: [/dev/zero]\n",
                "/dev/zero",
                "character device",
            ),
            (
                "inc-fifo.yaml",
                "include: [fifo.yaml]\n",
                "fifo.yaml",
                "a FIFO",
            ),
            ("inc-dir.yaml", "include: [/usr]\n", "/usr", "a directory"),
            ("inc-big.yaml", "include: [big.yaml]\n", "big.yaml", "4 MiB"),
            (
                "seccomp-zero.yaml",
                "containers:\n  - name: a\n    seccomp: {files: [/dev/zero]}\n",
                "/dev/zero",
                "character device",
            ),
            (
                "lxc-zero.conf",
                "lxc.uts.name = a\nlxc.include = /dev/zero\n",
                "/dev/zero",
                "character device",
            ),
            (
                "lxc-fifo.conf",
                "lxc.uts.name = a\nlxc.include = fifo.yaml\n",
                "fifo.yaml",
                "a FIFO",
            ),
        ] {
            let p = d.path().join(name);
            std::fs::write(&p, text).unwrap();
            let err = match load(&p) {
                Ok(_) => panic!("{name} was accepted"),
                Err(e) => e.to_string(),
            };
            assert!(
                err.contains(&format!("{name}:")) && err.contains(names) && err.contains(why),
                "{name}: {err}"
            );
        }
        // A rootfs tarball has no size limit but must be a regular file too.
        let e = crate::tarball::unpack_fresh(&fifo, &d.path().join("root"), None).unwrap_err();
        assert!(e.to_string().contains("a FIFO"), "{e}");
        assert!(!d.path().join("root.partial").exists());
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "a special file blocked"
        );
        let e = read_input(Path::new("/dev/zero")).unwrap_err();
        assert!(e.to_string().contains("character device"), "{e}");
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
