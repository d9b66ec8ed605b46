//! What a library call captures of a container's output (`attach_output`, `execute_output`,
//! `api::attach`, Python's `Container.attach`). The container decides how much it writes, so what
//! is kept is bounded: past [`LIMIT`] bytes of a stream the rest is read (the writer never blocks
//! on a full pipe) and dropped, and the caller's stderr buffer ends with a line that says so.

/// Bytes kept of each captured stream (stdout, stderr).
pub const LIMIT: usize = 64 << 20;

/// One captured stream: what was kept, and how much was dropped past [`LIMIT`].
#[derive(Debug, Default)]
pub struct Captured {
    kept: Vec<u8>,
    dropped: u64,
}

impl Captured {
    /// Keeps `data` while under the limit, counts the rest.
    pub fn push(&mut self, data: &[u8]) {
        let room = LIMIT.saturating_sub(self.kept.len());
        let (keep, drop) = data.split_at(room.min(data.len()));
        self.kept.extend_from_slice(keep);
        self.dropped += drop.len() as u64;
    }

    /// The kept bytes alone (for a stream whose cut needs no note, such as a short report).
    pub fn into_bytes(self) -> Vec<u8> {
        self.kept
    }
}

/// The two streams as the caller gets them: stdout, and stderr with a closing line for each
/// stream that was cut.
pub fn finish(out: Captured, err: Captured) -> (Vec<u8>, Vec<u8>) {
    let mut e = err.kept;
    for (name, dropped) in [("stdout", out.dropped), ("stderr", err.dropped)] {
        if dropped > 0 {
            e.extend_from_slice(
                format!(
                    "\nlxnest: {name} cut at {} MiB: {dropped} more bytes were read and dropped\n",
                    LIMIT >> 20
                )
                .as_bytes(),
            );
        }
    }
    (out.kept, e)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stream_past_the_limit_is_cut_and_said() {
        let mut out = Captured::default();
        let chunk = vec![b'x'; 1 << 20];
        for _ in 0..(LIMIT >> 20) + 3 {
            out.push(&chunk);
        }
        let mut err = Captured::default();
        err.push(b"warning\n");
        let (o, e) = finish(out, err);
        assert_eq!(o.len(), LIMIT);
        let e = String::from_utf8(e).expect("utf-8");
        assert!(e.starts_with("warning\n"), "{e}");
        assert!(
            e.contains("stdout cut at 64 MiB: 3145728 more bytes"),
            "{e}"
        );
        assert!(!e.contains("stderr cut"), "{e}");
    }

    #[test]
    fn a_small_stream_is_kept_whole() {
        let mut out = Captured::default();
        out.push(b"hello");
        let (o, e) = finish(out, Captured::default());
        assert_eq!((o.as_slice(), e.len()), (&b"hello"[..], 0));
    }
}
