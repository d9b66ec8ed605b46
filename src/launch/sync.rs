//! The typed channel between the launcher (parent) and the container's first process (child)
//! before it execs: a close-on-exec socketpair carrying one JSON message per line. A successful
//! exec closes the child's end, which the parent sees as end-of-file.

use serde::{Deserialize, Serialize};
use std::io::{BufRead, BufReader, Write};
use std::os::unix::net::UnixStream;

/// What the child enforced on itself, reported just before exec for `lxnest info`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Enforced {
    /// Number of seccomp filters stacked on the process (all levels).
    pub seccomp_filters: u32,
    /// Instructions of this level's own filter.
    pub seccomp_insns: usize,
    /// Whether NO_NEW_PRIVS ended up set.
    pub no_new_privs: bool,
    /// Landlock outcome (`fully enforced`, `partially enforced`, `not enforced: ...`, `disabled: ...`).
    pub landlock: String,
    /// AppArmor outcome (`label X on exec`, `unavailable: ...`).
    pub apparmor: String,
    /// Capabilities left in the bounding set (names, lower case).
    pub capabilities: Vec<String>,
}

/// One message on the channel.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Msg {
    /// Parent -> child: the step the child waits for is done, go on.
    Continue,
    /// Child -> parent: the child unshared its cgroup and network namespaces (the parent may now
    /// move it into its init leaf and plug its veth).
    NamespacesReady,
    /// Child -> parent: everything is set up and enforced; exec follows.
    Enforced(Enforced),
    /// Child -> parent: a step failed; the child exits after sending this.
    Failed {
        /// Step name.
        step: String,
        /// Error text.
        message: String,
    },
}

/// One end of the channel.
#[derive(Debug)]
pub struct Channel {
    reader: BufReader<UnixStream>,
    writer: UnixStream,
}

/// Errors of the channel.
#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    /// The socket failed.
    #[error("sync channel: {0}")]
    Io(#[from] std::io::Error),
    /// The peer closed the channel (for the parent: the child exec'd or died).
    #[error("sync channel closed by the peer")]
    Closed,
    /// A line was not a message.
    #[error("sync channel: bad message {0:?}")]
    Bad(String),
}

impl Channel {
    /// A connected pair (parent end, child end), both close-on-exec.
    pub fn pair() -> Result<(Channel, Channel), SyncError> {
        let (a, b) = UnixStream::pair()?;
        Ok((Channel::new(a)?, Channel::new(b)?))
    }

    fn new(s: UnixStream) -> Result<Channel, SyncError> {
        Ok(Channel {
            writer: s.try_clone()?,
            reader: BufReader::new(s),
        })
    }

    /// Sends one message.
    pub fn send(&mut self, msg: &Msg) -> Result<(), SyncError> {
        let mut line = serde_json::to_string(msg).map_err(|e| SyncError::Bad(e.to_string()))?;
        line.push('\n');
        self.writer.write_all(line.as_bytes())?;
        Ok(())
    }

    /// Receives one message; [`SyncError::Closed`] at end of file.
    pub fn recv(&mut self) -> Result<Msg, SyncError> {
        let mut line = String::new();
        if self.reader.read_line(&mut line)? == 0 {
            return Err(SyncError::Closed);
        }
        serde_json::from_str(line.trim_end()).map_err(|_| SyncError::Bad(line))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_cross_and_eof_is_closed() {
        let (mut p, mut c) = Channel::pair().expect("socketpair");
        c.send(&Msg::NamespacesReady).expect("send");
        c.send(&Msg::Failed {
            step: "pivot".into(),
            message: "EINVAL".into(),
        })
        .expect("send");
        assert_eq!(p.recv().expect("recv"), Msg::NamespacesReady);
        assert!(matches!(p.recv().expect("recv"), Msg::Failed { step, .. } if step == "pivot"));
        drop(c);
        assert!(matches!(p.recv(), Err(SyncError::Closed)));
    }
}
