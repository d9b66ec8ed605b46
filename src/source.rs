//! One entry point for what users hand lxnest: a YAML nesting spec, a built-in example
//! (`builtin:NAME`), or an LXC configuration file (its first setting is an `lxc.` key).

use crate::spec::Stack;
use std::path::Path;
use thiserror::Error;

/// Reading the input failed.
#[derive(Debug, Error)]
pub enum SourceError {
    /// A YAML spec could not be read.
    #[error(transparent)]
    Spec(#[from] crate::spec::SpecError),
    /// An LXC config could not be read or mapped.
    #[error(transparent)]
    Lxc(#[from] crate::lxc::to_spec::LoadError),
}

/// A stack ready to plan, and notes for the user (LXC keys read but not enforced...).
pub struct Loaded {
    /// The stack.
    pub stack: Stack,
    /// Notes to print as warnings.
    pub notes: Vec<String>,
}

/// Read a spec, a built-in example, or an LXC config.
pub fn load(path: &Path) -> Result<Loaded, SourceError> {
    let is_lxc = !path
        .to_string_lossy()
        .starts_with(crate::spec::load::BUILTIN_PREFIX)
        && std::fs::read_to_string(path).is_ok_and(|t| crate::lxc::to_spec::looks_like_lxc(&t));
    if is_lxc {
        let m = crate::lxc::to_spec::load(path, None)?;
        return Ok(Loaded {
            stack: m.stack,
            notes: m.notes,
        });
    }
    Ok(Loaded {
        stack: crate::spec::load(path)?,
        notes: Vec::new(),
    })
}
