//! `lxnest-fuzz`: fuzz lxnest's parsers on stable Rust (see docs/fuzzing.md).
//!
//! ```text
//! lxnest-fuzz list
//! lxnest-fuzz run TARGET [SECONDS] [--seed N]     fuzz from fuzz/corpus/TARGET for SECONDS (20)
//! lxnest-fuzz replay TARGET FILE                  run one input, e.g. a saved failure
//! ```
//! A failing input is saved as fuzz/artifacts/TARGET/KIND-HASH and the exit status is 1.

mod driver;
// The odd-string alphabet of tests/injection_props.rs, one list for both.
#[path = "../../tests/support/odd.rs"]
mod odd;
mod targets;
mod values;

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).to_path_buf()
}

fn target(name: &str) -> Option<&'static targets::Target> {
    targets::TARGETS.iter().find(|t| t.name == name)
}

fn usage() -> ExitCode {
    eprintln!("usage: lxnest-fuzz list | run TARGET [SECONDS] [--seed N] | replay TARGET FILE");
    ExitCode::from(2)
}

fn fnv(data: &[u8]) -> u64 {
    data.iter().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(0x100_0000_01b3)
    })
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    match args.as_slice() {
        ["list"] => {
            for t in targets::TARGETS {
                println!("{}", t.name);
            }
            ExitCode::SUCCESS
        }
        ["replay", name, file] => {
            let Some(t) = target(name) else {
                return usage();
            };
            let input = match std::fs::read(file) {
                Ok(i) => i,
                Err(e) => {
                    eprintln!("{file}: {e}");
                    return ExitCode::from(2);
                }
            };
            println!("depth {}", driver::replay(t, &input));
            ExitCode::SUCCESS
        }
        ["run", name, rest @ ..] => {
            let Some(t) = target(name) else {
                return usage();
            };
            let mut seconds = 20u64;
            let mut seed = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(1, |d| d.as_nanos() as u64);
            let mut it = rest.iter();
            while let Some(a) = it.next() {
                match (*a, it.clone().next()) {
                    ("--seed", Some(v)) => {
                        seed = v.parse().unwrap_or(seed);
                        it.next();
                    }
                    (v, _) => match v.parse() {
                        Ok(s) => seconds = s,
                        Err(_) => return usage(),
                    },
                }
            }
            let limits = driver::Limits {
                duration: Duration::from_secs(seconds),
                per_input: Duration::from_secs(5),
                rss: 1 << 30,
            };
            let corpus = root().join("corpus").join(t.name);
            match driver::fuzz(t, &corpus, &limits, seed) {
                Ok(driver::Outcome::Clean { execs }) => {
                    println!(
                        "{}: {execs} inputs in {seconds} s, seed {seed}: no failure",
                        t.name
                    );
                    ExitCode::SUCCESS
                }
                Ok(driver::Outcome::Failed {
                    kind,
                    detail,
                    input,
                }) => {
                    let dir = root().join("artifacts").join(t.name);
                    let file = dir.join(format!("{kind}-{:016x}", fnv(&input)));
                    let saved =
                        std::fs::create_dir_all(&dir).and_then(|_| std::fs::write(&file, &input));
                    eprintln!("{}: {kind}: {detail} (seed {seed})", t.name);
                    match saved {
                        Ok(()) => eprintln!(
                            "  input saved as {}\n  reproduce: cargo run -p lxnest-fuzz -- replay {} {}",
                            file.display(),
                            t.name,
                            file.display()
                        ),
                        Err(e) => eprintln!("  could not save the input: {e}"),
                    }
                    ExitCode::from(1)
                }
                Err(e) => {
                    eprintln!("{}: cannot fuzz: {e}", t.name);
                    ExitCode::from(2)
                }
            }
        }
        _ => usage(),
    }
}
