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

/// Sets `flag` when dropped, also while a failed assertion unwinds: the thread holding stdout's
/// lock lets go before the test harness wants to print.
struct SetOnDrop(Arc<AtomicBool>);

impl Drop for SetOnDrop {
    fn drop(&mut self) {
        self.0.store(true, Ordering::Relaxed);
    }
}

/// One worker's rounds: start (detached), attach, stop, execute, destroy. Every spec has a
/// `pre-start` hook, whose output lxnest copies to stdout through Rust's stdout lock.
fn rounds(dir: &std::path::Path, state: &std::path::Path, name: &str) -> Result<(), String> {
    let spec = dir.join(format!("{name}.yaml"));
    std::fs::write(
        &spec,
        format!("containers:\n  - name: {name}\n    network: {{mode: loopback}}\n    command: [\"/bin/sleep\", \"300\"]\n    hooks:\n      pre-start: [\"echo hook-of-{name}\"]\n"),
    )
    .map_err(|e| e.to_string())?;
    let s = spec.to_string_lossy().into_owned();
    let opts = lxnest::api::StartOpts {
        state_dir: state.into(),
        ..Default::default()
    };
    let cmd = |a: &[&str]| a.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    let grace = Duration::from_secs(2);
    for round in 0..3 {
        let at =
            |what: &str, e: &dyn std::fmt::Display| format!("{name} round {round} {what}: {e}");
        lxnest::api::start(&s, &opts).map_err(|e| at("start", &e))?;
        let out = lxnest::api::attach(
            state,
            name,
            &cmd(&["cat", "/etc/hostname"]),
            &Default::default(),
        )
        .map_err(|e| at("attach", &e))?;
        if String::from_utf8_lossy(&out.stdout).trim() != name || out.code != 0 {
            return Err(at("attach", &format!("{out:?}")));
        }
        // A command that leaves a child holding its stdout: the call returns when the command
        // ends, not when the pipe closes.
        let t0 = Instant::now();
        let out = lxnest::api::attach(
            state,
            name,
            &cmd(&["/bin/sh", "-c", "sleep 60 & echo bg"]),
            &Default::default(),
        )
        .map_err(|e| at("attach (background)", &e))?;
        if String::from_utf8_lossy(&out.stdout).trim() != "bg"
            || t0.elapsed() > Duration::from_secs(20)
        {
            return Err(at(
                "attach (background)",
                &format!("{out:?} after {:?}", t0.elapsed()),
            ));
        }
        lxnest::api::stop(state, name, grace).map_err(|e| at("stop", &e))?;
        let out = lxnest::api::execute(
            state,
            name,
            &cmd(&["/bin/sh", "-c", "echo in-$(cat /etc/hostname); exit 3"]),
            &[],
            grace,
        )
        .map_err(|e| at("execute", &e))?;
        let text = String::from_utf8_lossy(&out.stdout);
        if out.code != 3 || !text.contains(&format!("in-{name}")) {
            return Err(at("execute", &format!("{out:?}")));
        }
        lxnest::api::destroy(state, name, grace).map_err(|e| at("destroy", &e))?;
    }
    Ok(())
}

/// Issue 17, point 10, every call of the API that forks or clones: start, attach, stop,
/// execute and destroy from three threads at once, three rounds each, while one more thread
/// holds Rust's stdout lock the whole time (as any thread of a caller may at a fork) and others
/// allocate. A child forked in this process that printed (a hook's output) would wait for that
/// lock forever; the watchdog turns such a hang into a failure.
#[test]
fn root_start_attach_stop_execute_destroy_from_threads_while_stdout_is_locked() {
    if !root() {
        return;
    }
    // The binary under test, unless LXNEST_BINARY names another (a build of older code).
    if std::env::var_os("LXNEST_BINARY").is_none() {
        std::env::set_var("LXNEST_BINARY", env!("CARGO_BIN_EXE_lxnest"));
    }
    let d = traversable_tempdir();
    let state = d.path().join("state");
    let id = std::process::id();
    let stop = Arc::new(AtomicBool::new(false));
    let _release = SetOnDrop(stop.clone());
    let holder = {
        let stop = stop.clone();
        std::thread::spawn(move || {
            let _locked = std::io::stdout().lock();
            while !stop.load(Ordering::Relaxed) {
                std::thread::sleep(Duration::from_millis(5));
            }
        })
    };
    // More threads than glibc has arenas on a small machine, so that arenas are shared.
    let noise: Vec<_> = (0..20)
        .map(|_| {
            let stop = stop.clone();
            std::thread::spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    let v: Vec<String> = (0..64).map(|i| format!("{i}")).collect();
                    std::hint::black_box(v);
                }
            })
        })
        .collect();
    let (tx, rx) = std::sync::mpsc::channel();
    let names: Vec<String> = (0..3).map(|i| format!("thx{i}-{id}")).collect();
    for name in &names {
        let (tx, dir, state, name) = (
            tx.clone(),
            d.path().to_path_buf(),
            state.clone(),
            name.clone(),
        );
        std::thread::spawn(move || {
            let _ = tx.send(rounds(&dir, &state, &name));
        });
    }
    let deadline = Instant::now() + Duration::from_secs(300);
    let mut errors = Vec::new();
    for _ in &names {
        match rx.recv_timeout(deadline.saturating_duration_since(Instant::now())) {
            Ok(Ok(())) => {}
            Ok(Err(e)) => errors.push(e),
            Err(_) => {
                // Whatever hangs keeps its container: try to remove them, for a while (the
                // removal may hang on the same process).
                let (names, state) = (names.clone(), state.clone());
                let (done_tx, done_rx) = std::sync::mpsc::channel();
                std::thread::spawn(move || {
                    for n in &names {
                        let _ = lxnest::api::destroy(&state, n, Duration::from_secs(1));
                    }
                    let _ = done_tx.send(());
                });
                let _ = done_rx.recv_timeout(Duration::from_secs(30));
                panic!("a call hung (no answer within 300 s); errors so far: {errors:?}");
            }
        }
    }
    stop.store(true, Ordering::Relaxed);
    let _ = holder.join();
    for n in noise {
        let _ = n.join();
    }
    assert!(errors.is_empty(), "{errors:?}");
    assert_no_state_left(&state);
}
