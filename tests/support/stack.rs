//! The scaffold of the runtime root tests (runtime_config_root.rs, runtime_init_root.rs): a spec
//! in a temporary directory the containers' mapped root can traverse, its own state directory,
//! containers stopped by a guard also when an assertion fails, and the end check that nothing is
//! left (state files, cgroups in every hierarchy lxnest uses).
#![allow(dead_code)]

use super::{assert_no_state_left, lxnest, lxnest_cgroup_dirs, ok, traversable_tempdir};
use std::path::{Path, PathBuf};
use std::process::Output;

/// A container name of this test process (cgroup paths are shared by every state directory).
pub fn unique(prefix: &str) -> String {
    format!("{prefix}{}", std::process::id())
}

/// The spec of a stack named `name` of one container `name` with `runtime`, on loopback.
pub fn one_container(name: &str, runtime: &str) -> String {
    format!(
        "name: {name}\ncontainers:\n  - name: {name}\n    runtime: {runtime}\n    network: {{ mode: loopback }}\n"
    )
}

/// Whether container `name` has no cgroup left in any hierarchy (v1, hybrid or pure cgroup2).
pub fn cgroup_gone(name: &str) -> bool {
    lxnest_cgroup_dirs(name).is_empty()
}

/// A spec, its state directory, and the containers to stop when dropped.
pub struct Stack {
    /// The temporary directory holding the spec and the state directory.
    pub dir: tempfile::TempDir,
    /// The state directory (`-P`).
    pub state: PathBuf,
    /// The spec file.
    pub spec: PathBuf,
    names: Vec<String>,
}

impl Stack {
    /// Writes `spec_text` to a fresh traversable temporary directory; nothing runs yet.
    pub fn new(spec_text: &str) -> Stack {
        let dir = traversable_tempdir();
        let spec = dir.path().join("spec.yaml");
        std::fs::write(&spec, spec_text).expect("spec");
        Stack {
            state: dir.path().join("state"),
            spec,
            dir,
            names: Vec::new(),
        }
    }

    /// The state directory as a string.
    pub fn st(&self) -> &str {
        self.state.to_str().expect("utf-8 tempdir")
    }

    /// The spec path as a string.
    pub fn spec_str(&self) -> &str {
        self.spec.to_str().expect("utf-8 tempdir")
    }

    /// Stops `names` when the stack is dropped (from before they start: a failed start or
    /// assertion must not leave them running).
    pub fn guard(&mut self, names: &[&str]) {
        self.names.extend(names.iter().map(|n| n.to_string()));
    }

    /// `lxnest start EXTRA -P STATE SPEC`, which must succeed; `names` are guarded. Returns
    /// its stdout.
    pub fn start(&mut self, extra: &[&str], names: &[&str]) -> String {
        self.guard(names);
        let mut args = vec!["start"];
        args.extend_from_slice(extra);
        args.extend(["-P", self.st(), self.spec_str()]);
        ok(lxnest(&args))
    }

    /// `lxnest attach -P STATE -n NAME -- CMD...`.
    pub fn attach(&self, name: &str, cmd: &[&str]) -> Output {
        let mut args = vec!["attach", "-P", self.st(), "-n", name, "--"];
        args.extend_from_slice(cmd);
        lxnest(&args)
    }

    /// [`Stack::attach`], which must succeed; its stdout.
    pub fn attach_ok(&self, name: &str, cmd: &[&str]) -> String {
        ok(self.attach(name, cmd))
    }

    /// `script` run by `/bin/sh -c` in container `name`, which must succeed; its stdout.
    pub fn sh(&self, name: &str, script: &str) -> String {
        self.attach_ok(name, &["/bin/sh", "-c", script])
    }

    /// [`Stack::attach`] repeated until it succeeds (a container that comes up after its
    /// parent's init started it), bounded by support::PATIENCE; its stdout.
    pub fn attach_when_up(&self, name: &str, cmd: &[&str]) -> String {
        let mut last = None;
        let up = super::wait_until(|| {
            let o = self.attach(name, cmd);
            let done = o.status.success();
            last = Some(o);
            done
        });
        let o = last.expect("attached at least once");
        assert!(up, "{name} did not come up: {o:?}");
        String::from_utf8_lossy(&o.stdout).into_owned()
    }

    /// The plan a running container was started with (`lxnest info --output json`): other
    /// sessions on this host add routes, so planning again later may pick other subnets.
    pub fn plan_of(&self, name: &str) -> serde_json::Value {
        let info = ok(lxnest(&[
            "info",
            "-P",
            self.st(),
            "-n",
            name,
            "--output",
            "json",
        ]));
        let info: serde_json::Value = serde_json::from_str(&info).expect("info JSON");
        info["plan"].clone()
    }

    /// `lxnest stop` of every guarded container, each of which must succeed, then the end
    /// check: no state file and no cgroup of them left. Each container's cgroups are seen before
    /// the stop, so the check after it looks where they are (it can fail).
    pub fn stop_and_check(&mut self) {
        for n in &self.names {
            assert!(!cgroup_gone(n), "no cgroup of the running {n} found");
        }
        for n in std::mem::take(&mut self.names) {
            ok(lxnest(&["stop", "-P", self.st(), "-n", &n]));
            self.names.push(n);
        }
        self.check_nothing_left();
    }

    /// No state file and no cgroup of the guarded containers left.
    pub fn check_nothing_left(&self) {
        assert_no_state_left(&self.state);
        for n in &self.names {
            assert!(
                cgroup_gone(n),
                "cgroups of {n} left: {:?}",
                lxnest_cgroup_dirs(n)
            );
        }
    }

    /// The temporary directory.
    pub fn path(&self) -> &Path {
        self.dir.path()
    }
}

impl Drop for Stack {
    fn drop(&mut self) {
        for n in &self.names {
            let _ = lxnest(&["stop", "-P", self.st(), "-n", n]);
        }
    }
}
