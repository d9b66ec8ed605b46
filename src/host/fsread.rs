//! Small file readers shared by the host readers: required files fail with context, optional
//! ones (absent on some kernels, unreadable in some containers) become `None`.

use super::HostError;
use std::path::Path;

/// Reads a file every Linux system has; failing is an error with the path in it.
pub(crate) fn required(path: impl AsRef<Path>) -> Result<String, HostError> {
    let path = path.as_ref();
    std::fs::read_to_string(path).map_err(|source| HostError::Read {
        path: path.into(),
        source,
    })
}

/// Reads a file that may be missing or unreadable here; `None` then.
pub(crate) fn optional(path: impl AsRef<Path>) -> Option<String> {
    std::fs::read_to_string(path).ok()
}

/// The first line of an optional file, trimmed.
pub(crate) fn optional_line(path: impl AsRef<Path>) -> Option<String> {
    optional(path).map(|t| t.lines().next().unwrap_or("").trim().to_string())
}

/// Whether a path exists (without following a final symlink's target being present).
pub(crate) fn exists(path: impl AsRef<Path>) -> bool {
    std::fs::symlink_metadata(path).is_ok()
}
