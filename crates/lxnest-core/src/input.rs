//! One entry point for what users hand lxnest: a YAML nesting spec, a built-in example
//! (`builtin:NAME`), or an LXC configuration file (its first setting is an `lxc.` key). Every file
//! is read through [`crate::source`].

use crate::source::read_input;
use crate::spec::Stack;
use std::path::Path;
use thiserror::Error;

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
        std::fs::write(&big, vec![b'#'; crate::source::INPUT_LIMIT as usize + 1]).unwrap();
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
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "a special file blocked"
        );
        let e = crate::source::read_input(Path::new("/dev/zero")).unwrap_err();
        assert!(e.to_string().contains("character device"), "{e}");
    }
}
