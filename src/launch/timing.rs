//! Start-step timestamps (docs/performance.md): with `LXNEST_TIMING` set in its environment, every
//! lxnest process of a start (the launcher, the container child, a nested launcher) writes one line
//! per step to stderr:
//!
//! ```text
//! lxnest-timing 1234.567890 4711 c1 cgroup
//! ```
//!
//! CLOCK_MONOTONIC seconds (one clock for every process and namespace on the host, so the lines of
//! parent and child sort into one timeline), pid, container, step. Off by default; then a mark is
//! one load of a flag read once per process. Not tracing: the child runs between clone and exec,
//! where a write(2) of a preformatted line is the one output that takes no lock another thread of
//! the parent might have held at clone.

use std::sync::LazyLock;

/// The variable that switches the marks on (any value).
pub const ENV: &str = "LXNEST_TIMING";

static ENABLED: LazyLock<bool> = LazyLock::new(|| std::env::var_os(ENV).is_some());

/// Whether marks are written (read once per process).
pub fn enabled() -> bool {
    *ENABLED
}

/// Writes `lxnest-timing SECONDS PID CONTAINER STEP` to stderr when [`ENV`] is set.
pub fn mark(container: &str, step: &str) {
    if !enabled() {
        return;
    }
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: clock_gettime writes one timespec we own; CLOCK_MONOTONIC always exists.
    unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut ts) };
    let line = format!(
        "lxnest-timing {}.{:06} {} {} {}\n",
        ts.tv_sec,
        ts.tv_nsec / 1000,
        std::process::id(),
        if container.is_empty() { "-" } else { container },
        step
    );
    // SAFETY: writes our own buffer to descriptor 2; a short or failed write only loses a line.
    let _ = unsafe { libc::write(2, line.as_ptr().cast(), line.len()) };
}
