//! Reads the running machine: the one reader of host facts used by `plan`, `start` and `check`.
//!
//! [`read`] fills a [`HostSnapshot`] for the pure planner; [`facts`] returns that same snapshot
//! plus the details `lxnest check` reports (probes, capabilities, cgroup delegation, tools), so
//! that plan and check can never disagree. Every parser here is a pure function over text with
//! unit tests beside it; the readers are thin and only open files, sockets and child processes.

mod caps;
pub(crate) mod cgroup;
mod delegation;
mod facts;
mod fsread;
pub(crate) mod ids;
mod kconfig;
mod kernel;
mod level;
pub(crate) mod mountinfo;
mod netdump;
mod probe;
mod resolv;
mod snapshot;
mod status;
mod tools;
pub mod verdict;

pub use crate::plan::host::HostSnapshot;
pub use caps::{cap_names, CAP_NAMES};
pub use delegation::{Delegation, V1Hierarchy};
pub use facts::{
    facts, CapFacts, CgroupFacts, DeviceFact, Facts, ProcSysfsFacts, SeccompFacts, DEVICES,
};
pub use kconfig::{Availability, Source};
pub use kernel::{AppArmorFacts, KernelExtras};
pub use level::{NestingFacts, Signal, LEVEL_ENV, LEVEL_FILE};
pub use mountinfo::PseudoMount;
pub use probe::{Outcome, ProbeClass, ProbeResult};
pub use snapshot::{ids_of_this_user, read, UserIds};
pub use tools::{Tool, ToolFacts};

use std::path::PathBuf;

/// Errors while reading the machine.
#[derive(Debug, thiserror::Error)]
pub enum HostError {
    /// A file every Linux system has could not be read.
    #[error("reading {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// A kernel file did not have the expected shape.
    #[error("{path}: line {line}: {message}")]
    Parse {
        /// The file.
        path: PathBuf,
        /// 1-based line number.
        line: usize,
        /// What was wrong.
        message: String,
    },
    /// A netlink dump of routes or addresses failed.
    #[error("netlink {what} dump: {source}")]
    Netlink {
        /// `routes` or `addresses`.
        what: &'static str,
        /// Why.
        source: std::io::Error,
    },
    /// A netlink reply could not be decoded.
    #[error("netlink {what} dump: {message}")]
    NetlinkDecode {
        /// `routes` or `addresses`.
        what: &'static str,
        /// Decoder message.
        message: String,
    },
    /// Forking a probe child failed.
    #[error("probe {probe}: {source}")]
    Probe {
        /// The probe's name.
        probe: String,
        /// Why.
        source: nix::Error,
    },
}
