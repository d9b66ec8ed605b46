//! Issue 17, point 10: the library is called from several threads at once (as the Python
//! binding's callers do): detached starts and foreground runs from four threads each, while the
//! other threads allocate, print and read the environment. Every start must succeed, and
//! nothing may hang (a forked child that inherits a lock held by another thread would). Needs
//! root.

mod support;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use support::*;

#[test]
fn root_containers_start_from_several_threads_at_once() {
    if !root() {
        return;
    }
    // The library execs lxnest for a start from a multi-threaded process (launch::helper): the
    // one under test.
    std::env::set_var("LXNEST_BINARY", env!("CARGO_BIN_EXE_lxnest"));
    let d = traversable_tempdir();
    let state = d.path().join("state");
    let id = std::process::id();
    // Threads that keep the allocator, stdout's lock and the environment lock busy meanwhile.
    let stop = Arc::new(AtomicBool::new(false));
    let noise: Vec<_> = (0..2)
        .map(|_| {
            let stop = stop.clone();
            std::thread::spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    let v: Vec<String> = (0..100).map(|i| format!("{i}")).collect();
                    let _ = std::env::var_os("PATH");
                    std::hint::black_box(v);
                }
            })
        })
        .collect();
    let started = Instant::now();
    let workers: Vec<_> = (0..4)
        .map(|i| {
            let state = state.clone();
            let dir = d.path().to_path_buf();
            std::thread::spawn(move || -> Result<(), String> {
                let name = format!("thr{i}-{id}");
                let spec = dir.join(format!("{name}.yaml"));
                std::fs::write(
                    &spec,
                    format!("containers:\n  - name: {name}\n    network: {{mode: loopback}}\n    command: [\"/bin/sleep\", \"300\"]\n"),
                )
                .map_err(|e| e.to_string())?;
                let opts = lxnest::api::StartOpts {
                    state_dir: state.clone(),
                    ..Default::default()
                };
                let s = spec.to_string_lossy().into_owned();
                lxnest::api::start(&s, &opts).map_err(|e| format!("{name}: {e}"))?;
                lxnest::api::destroy(&state, &name, Duration::from_secs(5))
                    .map_err(|e| format!("{name}: {e}"))?;
                // And a foreground run from the same thread.
                let fg = lxnest::api::StartOpts {
                    state_dir: state.clone(),
                    foreground: true,
                    ..Default::default()
                };
                std::fs::write(
                    &spec,
                    format!("containers:\n  - name: {name}\n    network: {{mode: loopback}}\n    command: [\"/bin/true\"]\n"),
                )
                .map_err(|e| e.to_string())?;
                let r = lxnest::api::start(&s, &fg).map_err(|e| format!("{name} -F: {e}"))?;
                match r.first().and_then(|c| c.exit_code) {
                    Some(0) => Ok(()),
                    other => Err(format!("{name} -F: exit {other:?}")),
                }
            })
        })
        .collect();
    let results: Vec<_> = workers.into_iter().map(|w| w.join()).collect();
    stop.store(true, Ordering::Relaxed);
    for n in noise {
        let _ = n.join();
    }
    let errors: Vec<String> = results
        .into_iter()
        .filter_map(|r| match r {
            Ok(Ok(())) => None,
            Ok(Err(e)) => Some(e),
            Err(_) => Some("a thread panicked".into()),
        })
        .collect();
    assert!(errors.is_empty(), "{errors:?}");
    assert!(
        started.elapsed() < Duration::from_secs(240),
        "too slow: a hang?"
    );
    assert_no_state_left(&state);
}
