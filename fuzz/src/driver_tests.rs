//! Tests of the driver: each way a worker fails is caught with its input.
use super::*;

fn boom(data: &[u8], _: &Path) -> usize {
    if data.windows(4).any(|w| w == b"boom") {
        panic!("boom");
    }
    1
}

fn spin(data: &[u8], _: &Path) -> usize {
    if data.windows(4).any(|w| w == b"spin") {
        loop {
            std::hint::spin_loop();
        }
    }
    1
}

fn hog(data: &[u8], _: &Path) -> usize {
    if data.windows(3).any(|w| w == b"hog") {
        let mut v: Vec<Vec<u8>> = Vec::new();
        loop {
            v.push(vec![1u8; 64 << 20]);
        }
    }
    1
}

fn run(f: fn(&[u8], &Path) -> usize, seed: &[u8], per_input: Duration) -> Outcome {
    let corpus = tempfile::tempdir().unwrap();
    std::fs::write(corpus.path().join("seed"), seed).unwrap();
    let t = Target {
        name: "test",
        run: f,
        dict: &[],
        system_seeds: &[],
    };
    let limits = Limits {
        duration: Duration::from_secs(2),
        per_input,
        rss: 256 << 20,
    };
    fuzz(&t, corpus.path(), &limits, 1).unwrap()
}

/// Each way a worker can fail is caught, with the input that did it.
#[test]
fn crashes_hangs_and_memory_hogs_are_caught_with_their_input() {
    let short = Duration::from_millis(500);
    // The hog gets time enough that only its memory can stop it, also on a loaded machine.
    let long = Duration::from_secs(30);
    for (f, seed, want, per_input) in [
        (
            boom as fn(&[u8], &Path) -> usize,
            &b"a boom b"[..],
            "crash",
            short,
        ),
        (spin, b"spin", "hang", short),
        (hog, b"hog!", "oom", long),
    ] {
        match run(f, seed, per_input) {
            Outcome::Failed { kind, input, .. } => {
                // An address-space limit can turn the hog into an allocation abort.
                assert!(
                    kind == want || want == "oom" && kind == "crash",
                    "{want}: got {kind}"
                );
                assert_eq!(input, seed, "{want}");
            }
            Outcome::Clean { .. } => panic!("{want} not caught"),
        }
    }
    match run(boom, b"quiet", short) {
        Outcome::Clean { execs } => assert!(execs > 100, "{execs} inputs"),
        Outcome::Failed { kind, input, .. } => {
            // A mutant may spell "boom" by chance; then it must be the input saved.
            assert!(kind == "crash" && input.windows(4).any(|w| w == b"boom"));
        }
    }
}
