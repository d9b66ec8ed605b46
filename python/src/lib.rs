//! The `lxnest` Python package's native module (`lxnest._native`): thin bindings over
//! [`lxnest::api`], the same library API the command line uses. Long operations (planning,
//! start, stop, attach, execute) release the GIL.

mod errors;
mod json;
mod pycontainer;
mod pyplan;

use lxnest::api;
use pycontainer::{duration, Container, RunResult};
use pyo3::prelude::*;
use pyplan::{Level, Plan, Subnet};
use std::path::PathBuf;

fn state_dir(path: Option<PathBuf>) -> PathBuf {
    path.unwrap_or_else(api::default_dir)
}

/// Every container under the state directory `path` (default /run/lxnest): running ones and
/// defined ones that are stopped.
#[pyfunction]
#[pyo3(signature = (path = None))]
fn containers(py: Python<'_>, path: Option<PathBuf>) -> Vec<Container> {
    let dir = state_dir(path);
    let d = dir.clone();
    py.detach(move || api::containers(&d))
        .into_iter()
        .map(|i| Container::new(i, dir.clone()))
        .collect()
}

/// The container `name` under `path`; ContainerNotFound when there is none.
#[pyfunction]
#[pyo3(signature = (name, path = None))]
fn container(py: Python<'_>, name: &str, path: Option<PathBuf>) -> PyResult<Container> {
    let dir = state_dir(path);
    let (d, n) = (dir.clone(), name.to_string());
    let details = py
        .detach(move || api::info(&d, &n))
        .map_err(errors::to_py)?;
    Ok(Container::new(details.info, dir))
}

/// Starts the containers of `spec` (every level-1 container, or the one called `name`), detached;
/// returns them. `spec` may also name a defined container.
#[pyfunction]
#[pyo3(signature = (spec, name = None, path = None, *, nested = false, require_apparmor = false, timeout = 10.0))]
fn start(
    py: Python<'_>,
    spec: PathBuf,
    name: Option<String>,
    path: Option<PathBuf>,
    nested: bool,
    require_apparmor: bool,
    timeout: f64,
) -> PyResult<Vec<Container>> {
    let dir = state_dir(path);
    let opts = api::StartOpts {
        state_dir: dir.clone(),
        name,
        nested,
        require_apparmor,
        grace: duration(timeout)?,
        foreground: false,
    };
    let spec = spec.to_string_lossy().into_owned();
    let started = py
        .detach(move || api::start(&spec, &opts))
        .map_err(errors::to_py)?;
    started
        .iter()
        .map(|s| container(py, &s.name, Some(dir.clone())))
        .collect()
}

/// Plans `spec` (a YAML spec, `builtin:NAME`, an LXC config, or a plan JSON) against this
/// machine, or against a built-in host (`host="laptop"`).
#[pyfunction]
#[pyo3(signature = (spec, host = None))]
fn plan(py: Python<'_>, spec: PathBuf, host: Option<String>) -> PyResult<Plan> {
    py.detach(move || api::plan_with(&spec, host.as_deref()))
        .map(Plan::new)
        .map_err(errors::to_py)
}

/// Plans `spec` and writes every artifact (profiles, filters, LXC config, plan.json) below `out`.
#[pyfunction]
#[pyo3(signature = (spec, out, host = None))]
fn generate(py: Python<'_>, spec: PathBuf, out: PathBuf, host: Option<String>) -> PyResult<Plan> {
    py.detach(move || api::generate_with(&spec, &out, host.as_deref()))
        .map(|g| Plan::new(g.planned))
        .map_err(errors::to_py)
}

#[pymodule]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    errors::register(m)?;
    m.add_class::<Container>()?;
    m.add_class::<RunResult>()?;
    m.add_class::<Plan>()?;
    m.add_class::<Level>()?;
    m.add_class::<Subnet>()?;
    m.add_function(wrap_pyfunction!(containers, m)?)?;
    m.add_function(wrap_pyfunction!(container, m)?)?;
    m.add_function(wrap_pyfunction!(start, m)?)?;
    m.add_function(wrap_pyfunction!(plan, m)?)?;
    m.add_function(wrap_pyfunction!(generate, m)?)?;
    m.add("DEFAULT_PATH", api::default_dir().display().to_string())?;
    Ok(())
}
