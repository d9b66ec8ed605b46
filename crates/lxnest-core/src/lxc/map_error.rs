//! The error of mapping an LXC config onto a spec, one value at a time (below the mapping of the
//! whole config and of its cgroup limits, which both raise it).

use crate::origin::Origin;
use thiserror::Error;

/// A value could not be mapped.
#[derive(Debug, Error)]
#[error("{origin}: {key} = {value}: {message}\n  fix: {fix}")]
pub struct MapError {
    /// Where the value was set.
    pub origin: Origin,
    /// Key.
    pub key: String,
    /// Value.
    pub value: String,
    /// What is wrong.
    pub message: String,
    /// What to write instead.
    pub fix: String,
}

/// A [`MapError`] for value `value` of `key`, set at `o`.
pub(super) fn err(o: &Origin, key: &str, value: &str, message: &str, fix: &str) -> Box<MapError> {
    Box::new(MapError {
        origin: o.clone(),
        key: key.into(),
        value: value.into(),
        message: message.into(),
        fix: fix.into(),
    })
}
