//! Child processes for tests that would otherwise `fork()` the test harness. libtest runs tests
//! on threads; a forked copy of a threaded process may only call async-signal-safe functions, so
//! a child that allocates, prints, installs filters or joins namespaces could deadlock on a lock
//! another test thread held at fork time, and `unshare(CLONE_NEWUSER)`/`setns` of a user
//! namespace refuse a threaded caller anyway.
//!
//! Instead the test binary runs itself again with `LXNEST_TEST_CHILD=NAME` set. A constructor in
//! `.init_array` (registered by [`test_children!`](crate::test_children)) runs when the loader
//! starts that process, before `main` and so before libtest starts any thread: it runs the body
//! called NAME in a single-threaded process and exits with its code; the harness never starts.
//! Bodies get their parameters from the environment ([`param`]) or stdin, write results to
//! stdout ([`report`]) and may `fork` freely themselves (they are single-threaded).
#![allow(dead_code)]

use std::io::Write;
use std::process::{Command, Output};

/// The variable naming the body a re-executed test binary runs.
pub const CHILD_VAR: &str = "LXNEST_TEST_CHILD";

/// A child body: runs in the fresh single-threaded process, returns its exit code.
pub type Body = fn() -> i32;

/// Registers `body` functions (`fn() -> i32`, named by their identifiers) as this test binary's
/// children. Use once per test file, at its top level.
#[macro_export]
macro_rules! test_children {
    ($($body:ident),* $(,)?) => {
        // The loader calls every function in .init_array before main; only the re-executed
        // binary has LXNEST_TEST_CHILD set, a normal test run returns at once.
        #[used]
        #[link_section = ".init_array"]
        static TEST_CHILDREN: extern "C" fn() = {
            extern "C" fn serve_test_child() {
                $crate::support::child::serve(&[
                    $((stringify!($body), $body as $crate::support::child::Body)),*
                ]);
            }
            serve_test_child
        };
    };
}

/// The constructor's side: when this process is a re-executed child, runs its body and exits.
/// A panic in the body is a failed child (exit 101, the message on stderr), never an unwind out
/// of the constructor.
pub fn serve(bodies: &[(&str, Body)]) {
    let Some(name) = std::env::var_os(CHILD_VAR) else {
        return;
    };
    // What the body starts in turn (a shell, a setuid program) must not run a child body again.
    std::env::remove_var(CHILD_VAR);
    let code = match bodies.iter().find(|(n, _)| std::ffi::OsStr::new(n) == name) {
        Some((_, body)) => std::panic::catch_unwind(body).unwrap_or(101),
        None => {
            eprintln!("no test child called {name:?}");
            2
        }
    };
    let _ = std::io::stdout().flush();
    std::process::exit(code);
}

/// A command running child `name` of this test binary; the caller adds parameters
/// (`.env(..)`), stdin, and runs it.
pub fn command(name: &str) -> Command {
    let mut c = Command::new(std::env::current_exe().expect("the test binary's path"));
    c.env(CHILD_VAR, name);
    c
}

/// Runs child `name` with `params` in its environment, to its end.
pub fn run(name: &str, params: &[(&str, &str)]) -> Output {
    let mut c = command(name);
    for (k, v) in params {
        c.env(k, v);
    }
    c.output()
        .unwrap_or_else(|e| panic!("running test child {name}: {e}"))
}

/// A parameter the parent set with `.env(key, ..)` (the body's side); a missing one is a bug in
/// the test, so it panics (a failed child).
pub fn param(key: &str) -> String {
    std::env::var(key).unwrap_or_else(|_| panic!("test child parameter {key} not set"))
}

/// Writes `values` to stdout for [`values`] and returns exit code 0 (the body's side).
pub fn report(values: &[i64]) -> i32 {
    let text: Vec<String> = values.iter().map(i64::to_string).collect();
    println!("{}", text.join(" "));
    0
}

/// The numbers a child reported with [`report`] (the parent's side).
pub fn values(out: &Output) -> Vec<i64> {
    String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .map(|v| {
            v.parse()
                .unwrap_or_else(|_| panic!("test child wrote {v:?}: {}", describe(out)))
        })
        .collect()
}

/// How a child ended and what it wrote, for assertion messages.
pub fn describe(out: &Output) -> String {
    format!(
        "{:?}; stdout: {}; stderr: {}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// Asserts that the child exited 0 (a body that ran its own assertions to the end).
pub fn assert_ok(out: &Output) {
    assert!(out.status.success(), "test child failed: {}", describe(out));
}
