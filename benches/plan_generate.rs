//! Benchmark (not a test): plan and render every artifact for a generated stack of N level-1
//! containers, each hosting 2 children (default N = 10,000, i.e. 30,000 containers).
//!
//! Run: `cargo bench --bench plan_generate` (or `-- 1000` for another N). Prints the time per
//! phase and per container; compare runs by their ratio, not by one absolute figure.

use lxnest::plan::host::{HostSnapshot, IdRange};
use std::time::Instant;

fn spec(n: usize) -> String {
    let mut s = String::from("name: bench\ndefaults:\n  rootfs: builtin\ncontainers:\n");
    for i in 0..n {
        s.push_str(&format!(
            "  - name: host-{i}\n    runtime: lxc\n    limits: {{memory: 2G, pids: 1024}}\n    children:\n      - name: a\n        limits: {{memory: 512M}}\n      - name: b\n        runtime: docker\n        limits: {{memory: 1G}}\n"
        ));
    }
    s
}

fn main() {
    let n: usize = std::env::args()
        .skip(1)
        .find_map(|a| a.parse().ok())
        .unwrap_or(10_000);
    let text = spec(n);
    let t0 = Instant::now();
    let stack = lxnest::spec::parse_str(&text, "bench.yaml").expect("generated spec parses");
    let t1 = Instant::now();
    // 30,000 user-namespaced containers need about 2 billion subordinate ids (Incus gives root a
    // billion by default); the laptop fixture's million would run out.
    let mut host = HostSnapshot::laptop();
    let big = IdRange {
        first: 100_000,
        count: 4_000_000_000,
    };
    host.subuids = vec![big];
    host.subgids = vec![big];
    let plan = lxnest::plan::plan(&stack, &host).expect("generated spec plans");
    let t2 = Instant::now();
    let artifacts =
        lxnest::artifacts::render_all(&plan, std::path::Path::new("/out"), false).expect("renders");
    let t3 = Instant::now();
    let containers = plan.containers.len();
    let bytes: usize = artifacts.iter().map(|a| a.bytes.len()).sum();
    let per = |d: std::time::Duration| d.as_secs_f64() * 1e6 / containers as f64;
    println!("plan_generate: {n} level-1 containers x 2 children = {containers} containers");
    println!("  parse    {:>8.1} ms", (t1 - t0).as_secs_f64() * 1e3);
    println!(
        "  plan     {:>8.1} ms  ({:.1} us per container)",
        (t2 - t1).as_secs_f64() * 1e3,
        per(t2 - t1)
    );
    println!(
        "  generate {:>8.1} ms  ({:.1} us per container, {} files, {} MiB)",
        (t3 - t2).as_secs_f64() * 1e3,
        per(t3 - t2),
        artifacts.len(),
        bytes >> 20
    );
    println!("  total    {:>8.1} ms", (t3 - t0).as_secs_f64() * 1e3);
}
