//! Containers as Python objects. A `Container` caches what the last listing said and refreshes
//! itself after each operation; every operation releases the GIL while the launcher works.

use crate::errors::to_py;
use crate::json;
use lxnest::api::{self, ContainerInfo, ErrorKind};
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
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
        Container { info, state_dir, gone: false }
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
    Duration::try_from_secs_f64(seconds).map_err(|e| PyValueError::new_err(format!("timeout {seconds}: {e}")))
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
        let opts = api::StartOpts { state_dir: self.state_dir.clone(), require_apparmor, ..Default::default() };
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
        py.detach(move || api::stop(&dir, &name, grace)).map_err(to_py)?;
        self.refresh_after(py)
    }

    /// Stops it if it runs, removes everything left of it, and forgets its definition.
    #[pyo3(signature = (timeout = 10.0))]
    fn destroy(&mut self, py: Python<'_>, timeout: f64) -> PyResult<()> {
        let grace = duration(timeout)?;
        let (dir, name) = (self.state_dir.clone(), self.info.name.clone());
        py.detach(move || api::destroy(&dir, &name, grace)).map_err(to_py)?;
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

    fn __repr__(&self) -> String {
        format!("Container(name={:?}, state={:?}, level={}, pid={:?})", self.info.name, self.state(), self.info.level, self.info.pid)
    }
}
