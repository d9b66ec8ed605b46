//! The signal names a spec may give (`halt_signal`) and their numbers on Linux: the one table,
//! used by the spec's validation and the plan, with no libc (the core layers are pure data).
//!
//! The numbers are the Linux ABI's for x86_64 and aarch64 (asm-generic); `SIGRTMIN` is glibc's
//! and musl's 34 (the kernel's 32 and 33 are taken by the C library's threads), `SIGRTMAX` 64.
//! A unit test holds them against libc's.

/// SIGTERM: what `stop` sends when no halt signal is planned.
pub const SIGTERM: i32 = 15;
/// The first real-time signal a program may use (what libc's `SIGRTMIN()` returns).
pub const SIGRTMIN: i32 = 34;
/// The last real-time signal.
pub const SIGRTMAX: i32 = 64;

const NAMED: &[(&str, i32)] = &[
    ("TERM", SIGTERM),
    ("INT", 2),
    ("HUP", 1),
    ("PWR", 30),
    ("QUIT", 3),
    ("USR1", 10),
    ("USR2", 12),
];

/// `SIGTERM`, `SIGPWR`, `SIGRTMIN+3` ... as a number; `None` for an unknown name.
pub fn number(name: &str) -> Option<i32> {
    let n = name.strip_prefix("SIG").unwrap_or(name);
    if let Some(k) = n.strip_prefix("RTMIN+") {
        let k: i32 = k.parse().ok()?;
        let sig = SIGRTMIN.checked_add(k)?;
        return (SIGRTMIN..=SIGRTMAX).contains(&sig).then_some(sig);
    }
    NAMED.iter().find(|(s, _)| *s == n).map(|(_, v)| *v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_are_libcs() {
        assert_eq!(number("SIGRTMIN+3"), Some(libc::SIGRTMIN() + 3));
        assert_eq!(SIGRTMAX, libc::SIGRTMAX());
        assert_eq!(number("PWR"), Some(libc::SIGPWR));
        assert_eq!(number("TERM"), Some(libc::SIGTERM));
        assert_eq!(number("SIGINT"), Some(libc::SIGINT));
        assert_eq!(number("HUP"), Some(libc::SIGHUP));
        assert_eq!(number("QUIT"), Some(libc::SIGQUIT));
        assert_eq!(number("USR1"), Some(libc::SIGUSR1));
        assert_eq!(number("USR2"), Some(libc::SIGUSR2));
        assert_eq!(number("RTMIN+31"), None);
        assert_eq!(number("RTMIN+-40"), None);
        assert_eq!(number("KILLME"), None);
    }
}
