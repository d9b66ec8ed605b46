//! A small fuzzing driver for stable Rust (cargo-fuzz needs nightly; see docs/fuzzing.md).
//!
//! A supervisor forks one worker per target run. The worker mutates the corpus seeds (bit flips,
//! interesting bytes and numbers, dictionary tokens, deletions, duplications, splices) and keeps
//! the mutants that get at least as deep into the target as their parent did (the targets report
//! a depth: parsed, planned, rendered), a cheap stand-in for coverage feedback. Before each run it
//! copies the input into memory shared with the supervisor and stamps the time, so that whatever
//! way the worker dies (a panic, an abort, a kill for running too long or growing too large), the
//! supervisor saves the input that did it.

use crate::targets::Target;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// Inputs are cut to this many bytes.
pub const MAX_LEN: usize = 64 << 10;

/// Limits of one run.
pub struct Limits {
    /// How long the worker fuzzes.
    pub duration: Duration,
    /// Longest time one input may take.
    pub per_input: Duration,
    /// Largest resident set the worker may reach, in bytes.
    pub rss: u64,
}

/// Layout of the shared page: length, start time of the current input (ms, 0 when idle), number
/// of inputs run, then the input.
const HEADER: usize = 3 * 8;
const SHARED: usize = HEADER + MAX_LEN;

struct Shared(*mut u8);

impl Shared {
    fn new() -> std::io::Result<Shared> {
        // SAFETY: an anonymous shared mapping with no address hint; the result is checked.
        let p = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                SHARED,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_SHARED | libc::MAP_ANONYMOUS,
                -1,
                0,
            )
        };
        if p == libc::MAP_FAILED {
            return Err(std::io::Error::last_os_error());
        }
        Ok(Shared(p.cast()))
    }

    fn word(&self, i: usize) -> *mut u64 {
        // SAFETY: i < 3, inside the mapping, and the mapping is page-aligned so the word is too.
        unsafe { self.0.add(i * 8).cast() }
    }

    fn set(&self, i: usize, v: u64) {
        // SAFETY: a valid, aligned word of the mapping; the other process reads it with a volatile
        // load, and a torn value only misreports one input's start time.
        unsafe { self.word(i).write_volatile(v) }
    }

    fn get(&self, i: usize) -> u64 {
        // SAFETY: as in `set`.
        unsafe { self.word(i).read_volatile() }
    }

    fn store(&self, data: &[u8]) {
        let n = data.len().min(MAX_LEN);
        self.set(0, 0);
        // SAFETY: n <= MAX_LEN bytes fit after the header; the source is a valid slice.
        unsafe { std::ptr::copy_nonoverlapping(data.as_ptr(), self.0.add(HEADER), n) };
        self.set(0, n as u64);
    }

    fn load(&self) -> Vec<u8> {
        let n = (self.get(0) as usize).min(MAX_LEN);
        // SAFETY: n <= MAX_LEN bytes after the header lie inside the mapping.
        unsafe { std::slice::from_raw_parts(self.0.add(HEADER), n) }.to_vec()
    }
}

fn now_ms() -> u64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid timespec to fill; CLOCK_MONOTONIC is the same in both processes.
    unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut ts) };
    ts.tv_sec as u64 * 1000 + ts.tv_nsec as u64 / 1_000_000
}

/// xorshift64*: small, seedable, good enough to pick mutations.
pub struct Rng(u64);

impl Rng {
    /// A generator from a non-zero seed.
    pub fn new(seed: u64) -> Rng {
        Rng(seed.max(1))
    }
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: usize) -> usize {
        if n == 0 {
            0
        } else {
            (self.next() % n as u64) as usize
        }
    }
}

const INTERESTING_BYTES: &[u8] = b"\0\xff\n\r \t:-\"'{}[]#=\\/.,*&!|%$0";
const INTERESTING_NUMBERS: &[&str] = &[
    "0",
    "-1",
    "1",
    "255",
    "4096",
    "65535",
    "2147483647",
    "2147483648",
    "4294967295",
    "4294967296",
    "9223372036854775807",
    "18446744073709551615",
    "18446744073709551616",
    "1e-9",
    "1e308",
    "NaN",
    "0x7fffffff",
    "-0",
];

/// One mutation of `data`; `pool` provides splice material.
fn mutate(r: &mut Rng, data: &mut Vec<u8>, pool: &[Vec<u8>], dict: &[&str]) {
    let len = data.len();
    match r.below(9) {
        0 if len > 0 => {
            let i = r.below(len);
            data[i] ^= 1 << r.below(8);
        }
        1 if len > 0 => {
            let i = r.below(len);
            data[i] = INTERESTING_BYTES[r.below(INTERESTING_BYTES.len())];
        }
        2 if len > 0 => {
            let i = r.below(len);
            let n = 1 + r.below(16.min(len - i));
            data.drain(i..i + n);
        }
        3 if len > 0 => {
            let i = r.below(len);
            let n = 1 + r.below(32.min(len - i));
            let chunk = data[i..i + n].to_vec();
            let at = r.below(len + 1);
            data.splice(at..at, chunk);
        }
        4 | 5 if !dict.is_empty() => {
            let tok = dict[r.below(dict.len())].as_bytes();
            let at = r.below(len + 1);
            data.splice(at..at, tok.iter().copied());
        }
        6 if !pool.is_empty() => {
            let other = &pool[r.below(pool.len())];
            if !other.is_empty() {
                let i = r.below(other.len());
                let n = 1 + r.below((other.len() - i).min(256));
                let at = r.below(len + 1);
                data.splice(at..at, other[i..i + n].iter().copied());
            }
        }
        7 => {
            // Replace a run of digits (or insert) with a boundary number.
            let num = INTERESTING_NUMBERS[r.below(INTERESTING_NUMBERS.len())].as_bytes();
            let start = data.iter().position(|b| b.is_ascii_digit());
            match start {
                Some(s) if r.below(2) == 0 => {
                    let e = data[s..]
                        .iter()
                        .position(|b| !b.is_ascii_digit())
                        .map_or(len, |e| s + e);
                    data.splice(s..e, num.iter().copied());
                }
                _ => {
                    let at = r.below(len + 1);
                    data.splice(at..at, num.iter().copied());
                }
            }
        }
        _ => {
            // Swap two lines.
            let lines: Vec<&[u8]> = data.split(|b| *b == b'\n').collect();
            if lines.len() > 2 {
                let (a, b) = (r.below(lines.len()), r.below(lines.len()));
                let mut l: Vec<Vec<u8>> = lines.iter().map(|x| x.to_vec()).collect();
                l.swap(a, b);
                *data = l.join(&b'\n');
            }
        }
    }
    data.truncate(MAX_LEN);
}

/// The seed files of a target.
pub fn seeds(corpus: &Path) -> Vec<Vec<u8>> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(corpus)
        .map(|rd| rd.filter_map(|e| e.ok().map(|e| e.path())).collect())
        .unwrap_or_default();
    files.sort();
    let mut out: Vec<Vec<u8>> = files
        .iter()
        .filter_map(|f| std::fs::read(f).ok())
        .map(|mut d| {
            d.truncate(MAX_LEN);
            d
        })
        .collect();
    if out.is_empty() {
        out.push(Vec::new());
    }
    out
}

/// Confine the worker: writes only below `dir` (Landlock), bounded file sizes and address space.
pub fn confine(dir: &Path, rss: u64) -> Result<(), String> {
    use landlock::{AccessFs, PathBeneath, PathFd, Ruleset, RulesetAttr, RulesetCreatedAttr, ABI};
    let abi = ABI::V2;
    let fd = PathFd::new(dir).map_err(|e| e.to_string())?;
    Ruleset::default()
        .handle_access(AccessFs::from_write(abi))
        .and_then(|r| r.create())
        .and_then(|r| r.add_rule(PathBeneath::new(fd, AccessFs::from_write(abi))))
        .and_then(|r| r.restrict_self())
        .map_err(|e| format!("landlock: {e}"))?;
    let limit = |res, v: u64| {
        let l = libc::rlimit {
            rlim_cur: v,
            rlim_max: v,
        };
        // SAFETY: a valid rlimit for this process.
        unsafe { libc::setrlimit(res, &l) }
    };
    // Address space a little above the RSS limit (the supervisor enforces the RSS itself); an
    // oversized file write fails with EFBIG instead of killing the worker with SIGXFSZ.
    limit(libc::RLIMIT_AS, rss.saturating_mul(4));
    limit(libc::RLIMIT_FSIZE, 16 << 20);
    // SAFETY: ignoring SIGXFSZ installs no handler code.
    unsafe { libc::signal(libc::SIGXFSZ, libc::SIG_IGN) };
    Ok(())
}

/// How a run ended.
pub enum Outcome {
    /// Ran its time without failure.
    Clean {
        /// Inputs run.
        execs: u64,
    },
    /// The worker failed on `input`.
    Failed {
        /// crash, hang or oom.
        kind: &'static str,
        /// What happened.
        detail: String,
        /// The input.
        input: Vec<u8>,
    },
}

fn worker(
    t: &Target,
    corpus: &Path,
    scratch: &Path,
    limits: &Limits,
    seed: u64,
    shared: &Shared,
) -> ! {
    if let Err(e) = confine(scratch, limits.rss) {
        eprintln!("{e}");
        // SAFETY: ends the forked child at once, without running the parent's exit handlers.
        unsafe { libc::_exit(2) };
    }
    // Report a panic and end at once: a symbolized backtrace can take longer than the per-input
    // limit in a debug build (`replay` shows one).
    std::panic::set_hook(Box::new(|info| {
        eprintln!("worker panicked: {info}");
        // SAFETY: ends the forked child at once, without running the parent's exit handlers.
        unsafe { libc::_exit(101) }
    }));
    let mut pool: Vec<(Vec<u8>, usize)> = Vec::new();
    let run = |data: &[u8]| {
        shared.store(data);
        shared.set(1, now_ms());
        let depth = (t.run)(data, scratch);
        shared.set(1, 0);
        shared.set(2, shared.get(2) + 1);
        depth
    };
    let mut all = seeds(corpus);
    all.extend(t.system_seeds.iter().filter_map(|f| std::fs::read(f).ok()));
    for s in all {
        let d = run(&s);
        pool.push((s, d));
    }
    let dict = t.dict;
    let mut r = Rng::new(seed);
    let end = Instant::now() + limits.duration;
    let mut material: Vec<Vec<u8>> = pool.iter().map(|(d, _)| d.clone()).collect();
    while Instant::now() < end {
        let (parent, depth) = pool[r.below(pool.len())].clone();
        let mut data = parent;
        for _ in 0..1 + r.below(8) {
            mutate(&mut r, &mut data, &material, dict);
        }
        let d = run(&data);
        if d >= depth && d > 0 {
            // Keep inputs that reach as deep as their parent, in a bounded pool.
            if pool.len() < 512 {
                pool.push((data.clone(), d));
                material.push(data);
            } else {
                let i = r.below(pool.len());
                pool[i] = (data.clone(), d);
                material[i] = data;
            }
        }
    }
    // SAFETY: ends the forked child at once, without running the parent's exit handlers.
    unsafe { libc::_exit(0) }
}

fn rss_bytes(pid: i32) -> u64 {
    let statm = std::fs::read_to_string(format!("/proc/{pid}/statm")).unwrap_or_default();
    let pages: u64 = statm
        .split_whitespace()
        .nth(1)
        .and_then(|p| p.parse().ok())
        .unwrap_or(0);
    pages * 4096
}

/// Fuzz `t` from the seeds in `corpus` for `limits.duration`.
pub fn fuzz(t: &Target, corpus: &Path, limits: &Limits, seed: u64) -> std::io::Result<Outcome> {
    let shared = Shared::new()?;
    // The supervisor owns the scratch directory, so it is removed however the worker ends.
    let scratch = tempfile::Builder::new().prefix("lxnest-fuzz-").tempdir()?;
    // SAFETY: the supervisor is single-threaded here; the child only runs the worker and exits.
    let pid = unsafe { libc::fork() };
    if pid < 0 {
        return Err(std::io::Error::last_os_error());
    }
    if pid == 0 {
        // A panic must end the worker here, never unwind into the caller's copy of the stack.
        let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            worker(t, corpus, scratch.path(), limits, seed, &shared)
        }));
        let code = if r.is_err() { 101 } else { 0 };
        // SAFETY: ends the forked child at once, without running the parent's exit handlers.
        unsafe { libc::_exit(code) };
    }
    let kill = || {
        // SAFETY: `pid` is our own child, not yet reaped.
        unsafe { libc::kill(pid, libc::SIGKILL) };
    };
    loop {
        let mut status = 0;
        // SAFETY: waiting for our own child with a valid status pointer.
        let r = unsafe { libc::waitpid(pid, &mut status, libc::WNOHANG) };
        if r == pid {
            let execs = shared.get(2);
            if libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0 {
                return Ok(Outcome::Clean { execs });
            }
            let detail = if libc::WIFSIGNALED(status) {
                format!("worker killed by signal {}", libc::WTERMSIG(status))
            } else {
                format!("worker exited with status {}", libc::WEXITSTATUS(status))
            };
            let kind = if execs == 0 && shared.get(1) == 0 {
                "setup"
            } else {
                "crash"
            };
            return Ok(Outcome::Failed {
                kind,
                detail,
                input: shared.load(),
            });
        }
        let rss = rss_bytes(pid);
        if rss > limits.rss {
            let input = shared.load();
            kill();
            // SAFETY: reaping our own killed child.
            unsafe { libc::waitpid(pid, &mut status, 0) };
            return Ok(Outcome::Failed {
                kind: "oom",
                detail: format!("resident set {} MiB over the limit", rss >> 20),
                input,
            });
        }
        let started = shared.get(1);
        if started != 0 && now_ms().saturating_sub(started) > limits.per_input.as_millis() as u64 {
            let input = shared.load();
            kill();
            // SAFETY: reaping our own killed child.
            unsafe { libc::waitpid(pid, &mut status, 0) };
            return Ok(Outcome::Failed {
                kind: "hang",
                detail: format!("one input ran longer than {:?}", limits.per_input),
                input,
            });
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Run one input in this process (to reproduce a failure), confined like a worker.
pub fn replay(t: &Target, input: &[u8]) -> usize {
    let scratch = tempfile::Builder::new()
        .prefix("lxnest-fuzz-")
        .tempdir()
        .expect("scratch dir");
    (t.run)(input, scratch.path())
}

#[cfg(test)]
#[path = "driver_tests.rs"]
mod tests;
