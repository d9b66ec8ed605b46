//! OCI hooks: executables on the host that get the container's state JSON on stdin. lxnest-oci
//! runs `prestart` and `createRuntime` at the end of `create` (the container exists and waits
//! at its gate), `poststart` in `start`, `poststop` in `delete`.

use super::error::{OciRunError, Result};
use lxnest_core::oci::config::Hook;
use std::io::Write;
use std::os::unix::process::CommandExt;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Runs `hooks` of kind `kind` in order with `state` on stdin; the first failure stops them.
pub fn run(kind: &str, hooks: &[Hook], state: &serde_json::Value) -> Result<()> {
    for h in hooks {
        run_one(kind, h, state)?;
    }
    Ok(())
}

fn run_one(kind: &str, h: &Hook, state: &serde_json::Value) -> Result<()> {
    let fail = |why: String| OciRunError::Hook {
        hook: kind.into(),
        path: h.path.clone(),
        why,
    };
    let mut cmd = Command::new(&h.path);
    if let Some((argv0, rest)) = h.args.split_first() {
        cmd.arg0(argv0).args(rest);
    }
    cmd.env_clear();
    for kv in &h.env {
        if let Some((k, v)) = kv.split_once('=') {
            cmd.env(k, v);
        }
    }
    cmd.stdin(Stdio::piped());
    let mut child = cmd.spawn().map_err(|e| fail(e.to_string()))?;
    if let Some(mut stdin) = child.stdin.take() {
        // A hook that does not read its stdin is no failure.
        let _ = stdin.write_all(state.to_string().as_bytes());
    }
    let deadline = h.timeout.map(|t| Instant::now() + Duration::from_secs(t));
    loop {
        match child.try_wait().map_err(|e| fail(e.to_string()))? {
            Some(s) if s.success() => return Ok(()),
            Some(s) => return Err(fail(format!("exited with {s}"))),
            None if deadline.is_some_and(|d| Instant::now() >= d) => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(fail(format!("timed out after {}s", h.timeout.unwrap_or(0))));
            }
            None => std::thread::sleep(Duration::from_millis(10)),
        }
    }
}
