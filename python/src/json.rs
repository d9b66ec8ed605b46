//! Rust values to Python dicts and lists, through JSON (the shapes `--output json` prints).

use pyo3::prelude::*;

/// `json.loads(serde_json::to_string(value))`.
pub fn to_py<'py, T: serde::Serialize + ?Sized>(
    py: Python<'py>,
    value: &T,
) -> PyResult<Bound<'py, PyAny>> {
    let text = serde_json::to_string(value)
        .map_err(|e| crate::errors::LxnestError::new_err(e.to_string()))?;
    py.import("json")?.call_method1("loads", (text,))
}
