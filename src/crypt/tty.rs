//! Passphrase entry: from the controlling terminal with echo off, or, without a terminal (CI,
//! pipes), the first line of standard input.

use super::error::CryptError;
use super::key::{read_key_file, read_key_from, Passphrase, Secret};
use crate::spec::model::KeySource;
use nix::sys::termios::{tcgetattr, tcsetattr, LocalFlags, SetArg, Termios};
use std::fs::File;
use std::io::{Read, Write};
use std::path::Path;

/// Longest passphrase read; more is refused rather than silently cut.
const MAX_LEN: usize = 1024;

/// Restores the terminal's echo on drop, also when reading fails.
struct EchoOff<'a> {
    tty: &'a File,
    saved: Termios,
}

impl<'a> EchoOff<'a> {
    fn new(tty: &'a File) -> Result<Self, CryptError> {
        let saved = tcgetattr(tty)
            .map_err(|e| CryptError::io("tcgetattr", Path::new("/dev/tty"), e.into()))?;
        let mut quiet = saved.clone();
        quiet.local_flags.remove(LocalFlags::ECHO);
        quiet.local_flags.insert(LocalFlags::ECHONL);
        tcsetattr(tty, SetArg::TCSAFLUSH, &quiet)
            .map_err(|e| CryptError::io("tcsetattr", Path::new("/dev/tty"), e.into()))?;
        Ok(EchoOff { tty, saved })
    }
}

impl Drop for EchoOff<'_> {
    fn drop(&mut self) {
        let _ = tcsetattr(self.tty, SetArg::TCSAFLUSH, &self.saved);
    }
}

/// Reads a passphrase, prompting on the terminal when there is one.
pub fn read_passphrase(prompt: &str) -> Result<Passphrase, CryptError> {
    match std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open("/dev/tty")
    {
        Ok(mut tty) => {
            let _ = tty.write_all(prompt.as_bytes());
            let _echo = EchoOff::new(&tty)?;
            read_line(&tty, "/dev/tty")
        }
        Err(_) => read_line(unbuffered_stdin()?, "stdin"),
    }
}

/// Reads one line byte by byte (no buffer that would keep a copy), without the newline.
pub fn read_line(mut r: impl Read, what: &str) -> Result<Passphrase, CryptError> {
    // Never reallocated (which would leave an unwiped copy behind): the limit is checked below.
    let mut line = zeroize::Zeroizing::new(Vec::with_capacity(MAX_LEN + 2));
    let mut b = [0u8; 1];
    loop {
        match r.read(&mut b) {
            Ok(0) => break,
            Ok(_) if b[0] == b'\n' => break,
            Ok(_) => line.push(b[0]),
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(CryptError::io("read passphrase", Path::new(what), e)),
        }
        if line.len() > MAX_LEN {
            return Err(CryptError::BadKey {
                source_name: what.into(),
                message: format!("passphrase longer than {MAX_LEN} bytes"),
            });
        }
    }
    if line.last() == Some(&b'\r') {
        line.pop();
    }
    Passphrase::new(std::mem::take(&mut *line))
}

/// Reads what `source` names: a key file, a key on stdin, or a passphrase from the terminal (or
/// from stdin's first line when there is no terminal).
pub fn read_secret(source: &KeySource) -> Result<Secret, CryptError> {
    match source {
        KeySource::File(p) => read_key_file(Path::new(p)).map(Secret::Key),
        KeySource::Stdin => read_key_from(unbuffered_stdin()?, "stdin").map(Secret::Key),
        KeySource::Passphrase => {
            super::tty::read_passphrase("passphrase: ").map(Secret::Passphrase)
        }
    }
}

/// Standard input without std's buffer, which would keep a copy of the key after it is wiped.
fn unbuffered_stdin() -> Result<std::fs::File, CryptError> {
    use std::os::fd::AsFd;
    std::io::stdin()
        .as_fd()
        .try_clone_to_owned()
        .map(std::fs::File::from)
        .map_err(|e| CryptError::io("duplicate", Path::new("stdin"), e))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypt::key::{KdfParams, Key, Salt};

    #[test]
    fn reads_the_first_line_only() {
        let p = read_line(&b"secret words\r\nsecond line\n"[..], "t").unwrap();
        let want = Passphrase::new(b"secret words".to_vec()).unwrap();
        let kdf = KdfParams {
            algorithm: "argon2id".into(),
            version: 0x13,
            memory_kib: 64,
            iterations: 1,
            parallelism: 1,
            salt: Salt(vec![9; 16]),
        };
        let (a, b) = (
            Key::from_passphrase(&p, &kdf).unwrap(),
            Key::from_passphrase(&want, &kdf).unwrap(),
        );
        assert_eq!(a.identifier(), b.identifier());
        assert!(read_line(&b"\n"[..], "t").is_err());
        assert!(read_line(&vec![b'a'; MAX_LEN + 1][..], "t").is_err());
    }
}
