//! `process.terminal`: a new pseudo-terminal whose master goes to the engine over the
//! `--console-socket` (SCM_RIGHTS, as runc sends it) and whose slave becomes the process's
//! stdio and controlling terminal.

use super::error::{OciRunError, Result};
use std::io::IoSlice;
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::os::unix::net::UnixStream;
use std::path::Path;

/// Opens a pty, sends its master to `socket`; returns the slave.
pub fn open(socket: &Path) -> Result<OwnedFd> {
    let stdin = std::io::stdin();
    let (master, slave) = crate::pty::open(stdin.as_fd())
        .map_err(|e| OciRunError::Other(format!("open a pseudo-terminal: {e}")))?;
    let stream = UnixStream::connect(socket).map_err(OciRunError::io(socket))?;
    let fds = [master.as_raw_fd()];
    let cmsg = [nix::sys::socket::ControlMessage::ScmRights(&fds)];
    let name = b"/dev/ptmx";
    nix::sys::socket::sendmsg::<()>(
        stream.as_raw_fd(),
        &[IoSlice::new(name)],
        &cmsg,
        nix::sys::socket::MsgFlags::empty(),
        None,
    )
    .map_err(|e| OciRunError::io(socket)(e.into()))?;
    Ok(slave)
}

/// Three copies of `fd`, for descriptors 0-2.
pub fn triple(fd: OwnedFd) -> Result<[OwnedFd; 3]> {
    let dup = |f: &OwnedFd| {
        f.try_clone()
            .map_err(|e| OciRunError::Other(format!("dup: {e}")))
    };
    Ok([dup(&fd)?, dup(&fd)?, fd])
}
