//! Containers as Python objects. A `Container` caches what the last listing said and refreshes
//! itself after each operation; every operation releases the GIL while the launcher works.

use crate::errors::to_py;
use crate::json;
use lxnest::api::{self, ContainerInfo, ErrorKind};
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::PyBytes;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

/// A container under a state directory.
#[pyclass(module = "lxnest")]
pub struct Container {
    info: ContainerInfo,
    state_dir: PathBuf,
    /// Set when the container no longer exists at all (stopped without a definition, destroyed).
    gone: bool,
}

impl Container {
    /// Wraps a listing line.
    pub fn new(info: ContainerInfo, state_dir: PathBuf) -> Container {
        Container {
            info,
            state_dir,
            gone: false,
        }
    }

    fn refresh_after(&mut self, py: Python<'_>) -> PyResult<()> {
        let (dir, name) = (self.state_dir.clone(), self.info.name.clone());
        match py.detach(move || api::info(&dir, &name)) {
            Ok(d) => {
                self.info = d.info;
                self.gone = false;
                Ok(())
            }
            Err(e) if e.kind() == ErrorKind::ContainerNotFound => {
                self.gone = true;
                self.info.pid = None;
                Ok(())
            }
            Err(e) => Err(to_py(e)),
        }
    }
}

/// Seconds (float) to a duration; negative or NaN values are refused.
pub fn duration(seconds: f64) -> PyResult<Duration> {
    Duration::try_from_secs_f64(seconds)
        .map_err(|e| PyValueError::new_err(format!("timeout {seconds}: {e}")))
}

#[pymethods]
impl Container {
    /// Container name.
    #[getter]
    fn name(&self) -> &str {
        &self.info.name
    }

    /// Its path in the plan it was started from.
    #[getter]
    fn path(&self) -> &str {
        &self.info.path
    }

    /// `running`, `stopping`, `stale`, `stopped`, or `gone` once it no longer exists.
    #[getter]
    fn state(&self) -> &str {
        if self.gone {
            "gone"
        } else {
            self.info.state.as_str()
        }
    }

    /// Nesting level.
    #[getter]
    fn level(&self) -> u32 {
        self.info.level
    }

    /// The init's pid while it runs.
    #[getter]
    fn pid(&self) -> Option<i32> {
        self.info.pid
    }

    /// IPv4 addresses (its interface's, and its own bridge's for a nesting host).
    #[getter]
    fn addresses(&self) -> Vec<String> {
        self.info.addresses.clone()
    }

    /// cgroup path relative to the launcher's cgroup.
    #[getter]
    fn cgroup(&self) -> &str {
        &self.info.cgroup
    }

    /// The state directory (`-P`) it lives under.
    #[getter]
    fn state_dir(&self) -> PathBuf {
        self.state_dir.clone()
    }

    /// Re-reads the container's state.
    fn refresh(&mut self, py: Python<'_>) -> PyResult<()> {
        self.refresh_after(py)
    }

    /// Starts the (defined, stopped) container again, detached.
    #[pyo3(signature = (*, require_apparmor = false))]
    fn start(&mut self, py: Python<'_>, require_apparmor: bool) -> PyResult<()> {
        let opts = api::StartOpts {
            state_dir: self.state_dir.clone(),
            require_apparmor,
            ..Default::default()
        };
        let name = self.info.name.clone();
        py.detach(move || api::start(&name, &opts)).map_err(to_py)?;
        self.refresh_after(py)
    }

    /// Stops it: SIGTERM to its init, SIGKILL of its cgroup after the monitor's grace time;
    /// returns once everything it had is removed (waiting at most `timeout` + 20 seconds).
    #[pyo3(signature = (timeout = 10.0))]
    fn stop(&mut self, py: Python<'_>, timeout: f64) -> PyResult<()> {
        let grace = duration(timeout)?;
        let (dir, name) = (self.state_dir.clone(), self.info.name.clone());
        py.detach(move || api::stop(&dir, &name, grace))
            .map_err(to_py)?;
        self.refresh_after(py)
    }

    /// Stops it if it runs, removes everything left of it, and forgets its definition.
    #[pyo3(signature = (timeout = 10.0))]
    fn destroy(&mut self, py: Python<'_>, timeout: f64) -> PyResult<()> {
        let grace = duration(timeout)?;
        let (dir, name) = (self.state_dir.clone(), self.info.name.clone());
        py.detach(move || api::destroy(&dir, &name, grace))
            .map_err(to_py)?;
        self.gone = true;
        self.info.pid = None;
        Ok(())
    }

    /// What `lxnest info --output json` shows: the listing fields, `runtime` (the launcher's
    /// state while it runs), `defined`, and `plan`.
    fn info<'py>(&mut self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let (dir, name) = (self.state_dir.clone(), self.info.name.clone());
        let d = py.detach(move || api::info(&dir, &name)).map_err(to_py)?;
        self.info = d.info.clone();
        json::to_py(py, &d)
    }

    /// Runs `cmd` in the running container, as confined as its init, and captures its output.
    /// `env` is set last; `clear_env` starts from the init's environment only.
    #[pyo3(signature = (cmd, env = None, uid = None, cwd = None, *, gid = None, clear_env = false))]
    #[allow(clippy::too_many_arguments)]
    fn attach(
        &self,
        py: Python<'_>,
        cmd: Vec<String>,
        env: Option<BTreeMap<String, String>>,
        uid: Option<u32>,
        cwd: Option<String>,
        gid: Option<u32>,
        clear_env: bool,
    ) -> PyResult<RunResult> {
        let opts = api::AttachOpts {
            env: env.unwrap_or_default().into_iter().collect(),
            clear_env,
            uid,
            gid,
            cwd,
        };
        let (dir, name) = (self.state_dir.clone(), self.info.name.clone());
        py.detach(move || api::attach(&dir, &name, &cmd, &opts))
            .map(RunResult::from)
            .map_err(to_py)
    }

    /// Runs `cmd` as the init of the stopped container (its whole configuration and policies),
    /// captures its output, and removes everything again when it ends.
    #[pyo3(signature = (cmd, env = None, *, timeout = 10.0))]
    fn execute(
        &self,
        py: Python<'_>,
        cmd: Vec<String>,
        env: Option<BTreeMap<String, String>>,
        timeout: f64,
    ) -> PyResult<RunResult> {
        let grace = duration(timeout)?;
        let env: Vec<(String, String)> = env.unwrap_or_default().into_iter().collect();
        let (dir, name) = (self.state_dir.clone(), self.info.name.clone());
        py.detach(move || api::execute(&dir, &name, &cmd, &env, grace))
            .map(RunResult::from)
            .map_err(to_py)
    }

    fn __repr__(&self) -> String {
        let pid = self
            .info
            .pid
            .map(|p| p.to_string())
            .unwrap_or_else(|| "None".into());
        format!(
            "Container(name={:?}, state={:?}, level={}, pid={pid})",
            self.info.name,
            self.state(),
            self.info.level
        )
    }
}

/// What a command run in a container returned.
#[pyclass(module = "lxnest", name = "Result", frozen)]
pub struct RunResult {
    code: i32,
    stdout: Vec<u8>,
    stderr: Vec<u8>,
}

impl From<api::Output> for RunResult {
    fn from(o: api::Output) -> Self {
        RunResult {
            code: o.code,
            stdout: o.stdout,
            stderr: o.stderr,
        }
    }
}

#[pymethods]
impl RunResult {
    /// Exit code; 128 + signal number when a signal ended the command.
    #[getter]
    fn exit_code(&self) -> i32 {
        self.code
    }

    /// Standard output, decoded as UTF-8 (invalid bytes replaced).
    #[getter]
    fn stdout(&self) -> String {
        String::from_utf8_lossy(&self.stdout).into_owned()
    }

    /// Standard error, decoded as UTF-8 (invalid bytes replaced).
    #[getter]
    fn stderr(&self) -> String {
        String::from_utf8_lossy(&self.stderr).into_owned()
    }

    /// Standard output as bytes.
    #[getter]
    fn stdout_bytes<'py>(&self, py: Python<'py>) -> Bound<'py, PyBytes> {
        PyBytes::new(py, &self.stdout)
    }

    /// Standard error as bytes.
    #[getter]
    fn stderr_bytes<'py>(&self, py: Python<'py>) -> Bound<'py, PyBytes> {
        PyBytes::new(py, &self.stderr)
    }

    /// Whether the exit code is 0.
    #[getter]
    fn ok(&self) -> bool {
        self.code == 0
    }

    fn __repr__(&self) -> String {
        format!(
            "Result(exit_code={}, stdout={:?}, stderr={:?})",
            self.code,
            self.stdout(),
            self.stderr()
        )
    }
}
