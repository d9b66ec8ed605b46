//! Benchmark (not a test): plan and render every artifact for a generated stack of N level-1
//! containers, each hosting 2 children (default N = 10,000, i.e. 30,000 containers), then write
//! them to a temporary directory.
//!
//! Run: `cargo bench --bench plan_generate` (or `-- 1000` for another N; `-- --no-write` to
//! skip the write, `-- --plan-only` to stop after planning). Prints the time of each phase (parse, plan, render, write), per container,
//! and the peak resident memory; compare runs by their ratio, not by one absolute figure.

use lxnest::plan::host::{HostSnapshot, IdRange};
use std::time::{Duration, Instant};

/// Each host runs LXC and hosts two plain containers: every host takes two bridge subnets (its
/// own for its children, and its LXC's lxcbr0) and 327,680 host ids. A nested runtime in every
/// child too (Docker: a bridge and a /22 address pool each; LXC: its own ids) would not fit this
/// many hosts into the private ranges the planner picks from or into 2^32 ids
/// (docs/performance.md).
fn spec(n: usize) -> String {
    let mut s = String::from("name: bench\ndefaults:\n  rootfs: builtin\ncontainers:\n");
    for i in 0..n {
        s.push_str(&format!(
            "  - name: host-{i}\n    runtime: lxc\n    limits: {{memory: 2G, pids: 1024}}\n    children:\n      - name: a\n        limits: {{memory: 512M}}\n      - name: b\n        limits: {{memory: 1G}}\n"
        ));
    }
    s
}

fn rusage() -> libc::rusage {
    // SAFETY: rusage is plain integers, for which all zeroes is a valid value.
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: getrusage fills the struct we pass, which outlives the call; RUSAGE_SELF is valid.
    unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut ru) };
    ru
}

/// Peak resident set size of this process so far, in MiB.
fn peak_rss_mib() -> f64 {
    rusage().ru_maxrss as f64 / 1024.0
}

/// CPU time (user + system) of this process so far: on a shared machine the wall time of a
/// phase grows with the load, its CPU time much less.
fn cpu() -> Duration {
    let ru = rusage();
    let t = |v: libc::timeval| Duration::new(v.tv_sec as u64, v.tv_usec as u32 * 1000);
    t(ru.ru_utime) + t(ru.ru_stime)
}

/// A phase's wall and CPU time.
struct Phase {
    wall: Duration,
    cpu: Duration,
}

/// Runs `f` and measures it.
fn timed<T>(f: impl FnOnce() -> T) -> (T, Phase) {
    let (w, c) = (Instant::now(), cpu());
    let v = f();
    let p = Phase {
        wall: w.elapsed(),
        cpu: cpu() - c,
    };
    (v, p)
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let n: usize = args.iter().find_map(|a| a.parse().ok()).unwrap_or(10_000);
    let write = !args.iter().any(|a| a == "--no-write");
    let plan_only = args.iter().any(|a| a == "--plan-only");
    let text = spec(n);
    let (stack, parse) =
        timed(|| lxnest::spec::parse_str(&text, "bench.yaml").expect("generated spec parses"));
    // 30,000 user-namespaced containers need about 2 billion subordinate ids (Incus gives root a
    // billion by default); the laptop fixture's million would run out.
    let mut host = HostSnapshot::laptop();
    let big = IdRange {
        first: 100_000,
        count: 4_000_000_000,
    };
    host.subuids = vec![big];
    host.subgids = vec![big];
    let (plan, planning) = timed(|| lxnest::plan::plan(&stack, &host).map_err(Box::new));
    let plan = match plan.map_err(|e| *e) {
        Ok(p) => p,
        Err(lxnest::plan::PlanError::Rejected(f)) => {
            eprintln!("{} findings, the first: {:#?}", f.len(), f.first());
            std::process::exit(1);
        }
        Err(e) => panic!("generated spec plans: {e}"),
    };
    let containers = plan.containers.len();
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    let row = |what: &str, p: &Phase, extra: String| {
        println!(
            "  {what:<8} {:>8.1} ms wall {:>8.1} ms CPU  ({:.1} us CPU per container{extra})",
            ms(p.wall),
            ms(p.cpu),
            p.cpu.as_secs_f64() * 1e6 / containers as f64
        )
    };
    println!("plan_generate: {n} level-1 containers x 2 children = {containers} containers");
    row("parse", &parse, String::new());
    row("plan", &planning, String::new());
    if plan_only {
        println!("  peak RSS {:>8.1} MiB", peak_rss_mib());
        return;
    }
    let out = tempfile::tempdir().expect("temporary directory");
    let (artifacts, render) =
        timed(|| lxnest::artifacts::render_all(&plan, out.path(), false).expect("renders"));
    let bytes: usize = artifacts.iter().map(|a| a.bytes.len()).sum();
    row(
        "render",
        &render,
        format!(", {} files, {} MiB", artifacts.len(), bytes >> 20),
    );
    let mut total = Phase {
        wall: planning.wall + render.wall,
        cpu: planning.cpu + render.cpu,
    };
    if write {
        let ((), w) = timed(|| lxnest::artifacts::write(out.path(), &artifacts).expect("writes"));
        row("write", &w, String::new());
        total.wall += w.wall;
        total.cpu += w.cpu;
    }
    row("plan+gen", &total, String::new());
    println!("  peak RSS {:>8.1} MiB", peak_rss_mib());
    let t = Instant::now();
    drop(out);
    println!(
        "  (removing the output took {:.1} ms, not counted)",
        ms(t.elapsed())
    );
}
