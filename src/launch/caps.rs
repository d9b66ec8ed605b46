//! Capabilities of the first process. The launcher runs as root inside the container's user
//! namespace and execs the init as root, so the kernel gives the new program exactly the
//! bounding set as its permitted and effective sets: shrinking the bounding set to the plan's
//! list (and clearing inheritable and ambient) is what decides the init's capabilities, and it
//! lets the launcher keep CAP_SYS_ADMIN until exec for the seccomp and Landlock steps.

use caps::{CapSet, Capability, CapsHashSet};
use std::str::FromStr;

/// Errors of the capability step.
#[derive(Debug, thiserror::Error)]
pub enum CapsError {
    /// A name in the plan is not a capability.
    #[error("unknown capability {0:?}")]
    Unknown(String),
    /// The kernel refused.
    #[error("{op}: {message}")]
    Kernel {
        /// Operation.
        op: String,
        /// Error text.
        message: String,
    },
}

/// `sys_admin` -> `CAP_SYS_ADMIN`.
pub fn parse(name: &str) -> Result<Capability, CapsError> {
    Capability::from_str(&format!("CAP_{}", name.to_ascii_uppercase()))
        .map_err(|_| CapsError::Unknown(name.into()))
}

/// Lower-case name without `CAP_`.
pub fn name(c: Capability) -> String {
    c.to_string()
        .trim_start_matches("CAP_")
        .to_ascii_lowercase()
}

/// Parses the plan's list.
pub fn plan_set(names: &[String]) -> Result<CapsHashSet, CapsError> {
    names.iter().map(|n| parse(n)).collect()
}

/// Shrinks the bounding set to `keep`, clears ambient and inheritable. Returns the kept names.
pub fn restrict(keep: &CapsHashSet) -> Result<Vec<String>, CapsError> {
    let kernel = |op: String| {
        move |e: caps::errors::CapsError| CapsError::Kernel {
            op,
            message: e.to_string(),
        }
    };
    caps::clear(None, CapSet::Ambient).map_err(kernel("clear ambient".into()))?;
    caps::clear(None, CapSet::Inheritable).map_err(kernel("clear inheritable".into()))?;
    let bounding = caps::read(None, CapSet::Bounding).map_err(kernel("read bounding".into()))?;
    for c in bounding.difference(keep) {
        caps::drop(None, CapSet::Bounding, *c)
            .map_err(kernel(format!("drop {c} from bounding")))?;
    }
    let mut kept: Vec<String> = caps::read(None, CapSet::Bounding)
        .map_err(kernel("read bounding".into()))?
        .into_iter()
        .map(name)
        .collect();
    kept.sort();
    Ok(kept)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        assert_eq!(parse("sys_admin").ok(), Some(Capability::CAP_SYS_ADMIN));
        assert_eq!(name(Capability::CAP_NET_RAW), "net_raw");
        assert!(parse("bogus").is_err());
    }
}
