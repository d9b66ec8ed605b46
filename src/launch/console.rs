//! The console log of a detached container: its stdout and stderr (and the monitor's) go into a
//! pipe that the monitor copies into `<statedir>/<name>/console.log`, 0600, capped at
//! [`LOG_MAX`] with one rotation (`console.log.1`), like LXC's `lxc.console.size` with
//! logrotate's `rotate 1`. Written straight to the file, a container once filled 400 MB of host
//! disk from 64 MB of memory.
//!
//! The read end waits in a process-wide slot between the start (which redirects our stdio
//! before the clone, so the init inherits it) and the monitor's wait loop, which polls it.

use std::io::{self, Write};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// Largest size of `console.log`; the previous part is kept as `console.log.1`.
pub const LOG_MAX: u64 = 1 << 20;

/// A pipe's read end copied into a size-capped, rotated log file.
#[derive(Debug)]
pub struct Console {
    read: OwnedFd,
    path: PathBuf,
    file: std::fs::File,
    size: u64,
}

/// Descriptors the monitor's wait loop polls besides its signals, and what to do when one is
/// readable.
pub trait Pump {
    /// The descriptors to poll now.
    fn fds(&self) -> Vec<BorrowedFd<'_>>;
    /// The `i`-th descriptor of [`Pump::fds`] is ready; false: stop polling this pump.
    fn ready(&mut self, i: usize) -> bool;
}

impl Pump for Console {
    fn fds(&self) -> Vec<BorrowedFd<'_>> {
        vec![self.read.as_fd()]
    }

    fn ready(&mut self, _i: usize) -> bool {
        matches!(self.pump(), Ok(true))
    }
}

static SLOT: Mutex<Option<Console>> = Mutex::new(None);

/// Points stdin at /dev/null and stdout/stderr at a pipe whose read end is kept for
/// [`take`]; the log file is created (0600) at once, so it exists from the start.
pub fn redirect(log: &Path) -> io::Result<()> {
    let null = std::fs::File::open("/dev/null")?;
    let (read, write) =
        nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC).map_err(io::Error::from)?;
    let file = super::private::create_file(log, true)?;
    let size = file.metadata()?.len();
    for (src, dst) in [
        (null.as_raw_fd(), 0),
        (write.as_raw_fd(), 1),
        (write.as_raw_fd(), 2),
    ] {
        // SAFETY: dup2 onto the standard descriptors from descriptors owned above; the copies
        // do not carry O_CLOEXEC, so the container's init inherits them.
        if unsafe { libc::dup2(src, dst) } < 0 {
            return Err(io::Error::last_os_error());
        }
    }
    let console = Console {
        read,
        path: log.to_path_buf(),
        file,
        size,
    };
    *SLOT.lock().unwrap_or_else(|p| p.into_inner()) = Some(console);
    Ok(())
}

/// The console redirected by [`redirect`] in this process, if any.
pub fn take() -> Option<Console> {
    SLOT.lock().unwrap_or_else(|p| p.into_inner()).take()
}

impl Console {
    /// The descriptor to poll.
    pub fn fd(&self) -> BorrowedFd<'_> {
        self.read.as_fd()
    }

    /// Copies what the pipe holds now into the log (one read); false at end of file.
    pub fn pump(&mut self) -> io::Result<bool> {
        let mut buf = [0u8; 65536];
        let n = match nix::unistd::read(&self.read, &mut buf) {
            Ok(n) => n,
            Err(nix::errno::Errno::EINTR) | Err(nix::errno::Errno::EAGAIN) => return Ok(true),
            Err(e) => return Err(e.into()),
        };
        if n == 0 {
            return Ok(false);
        }
        self.write(&buf[..n])?;
        Ok(true)
    }

    /// Appends `data`, rotating first when it would pass [`LOG_MAX`]; a chunk larger than the
    /// cap keeps only its tail.
    pub fn write(&mut self, mut data: &[u8]) -> io::Result<()> {
        let cap = LOG_MAX as usize;
        if data.len() > cap {
            data = &data[data.len() - cap..];
        }
        if self.size + data.len() as u64 > LOG_MAX {
            self.rotate()?;
        }
        self.file.write_all(data)?;
        self.size += data.len() as u64;
        Ok(())
    }

    fn rotate(&mut self) -> io::Result<()> {
        let mut old = self.path.clone().into_os_string();
        old.push(".1");
        std::fs::rename(&self.path, &old)?;
        self.file = super::private::create_file(&self.path, true)?;
        self.size = 0;
        Ok(())
    }

    /// Stops relaying: copies what is left without blocking, then points our own stdout and
    /// stderr at the log file, so the monitor's last messages cannot fill a pipe nobody reads.
    pub fn finish(mut self) {
        let _ = nix::fcntl::fcntl(
            &self.read,
            nix::fcntl::FcntlArg::F_SETFL(nix::fcntl::OFlag::O_NONBLOCK),
        );
        // Until the pipe is empty (EAGAIN) or closed; at most 16 MiB, as a process left
        // behind may keep writing.
        let mut buf = [0u8; 65536];
        for _ in 0..256 {
            match nix::unistd::read(&self.read, &mut buf) {
                Ok(n) if n > 0 => {
                    if self.write(&buf[..n]).is_err() {
                        break;
                    }
                }
                _ => break,
            }
        }
        for dst in [1, 2] {
            // SAFETY: dup2 of our own open log file onto a standard descriptor.
            unsafe { libc::dup2(self.file.as_raw_fd(), dst) };
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_log_rotates_once_and_stays_capped() {
        let d = tempfile::tempdir().expect("tempdir");
        let log = d.path().join("console.log");
        let (read, _w) = nix::unistd::pipe().expect("pipe");
        let mut c = Console {
            read,
            path: log.clone(),
            file: super::super::private::create_file(&log, true).expect("create"),
            size: 0,
        };
        let chunk = vec![b'x'; 300_000];
        for _ in 0..20 {
            c.write(&chunk).expect("write");
        }
        let size = |p: &Path| std::fs::metadata(p).map(|m| m.len()).unwrap_or(0);
        assert!(size(&log) <= LOG_MAX, "{}", size(&log));
        assert!(size(&d.path().join("console.log.1")) <= LOG_MAX);
        assert!(size(&d.path().join("console.log.1")) > 0, "rotated once");
        let names: Vec<_> = std::fs::read_dir(d.path()).expect("ls").flatten().collect();
        assert_eq!(names.len(), 2, "one rotation only");
        c.write(&vec![b'y'; 3 * LOG_MAX as usize])
            .expect("huge chunk");
        assert!(size(&log) <= LOG_MAX);
    }
}
