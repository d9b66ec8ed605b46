//! AppArmor: profile rendering from policy/apparmor/ templates, label naming, explaining which rule
//! decides an access, and loading profiles and changing labels where the kernel has AppArmor.
//!
//! Planning code uses [`names`], [`render`] and [`known_flags`] (pure); `lxnest explain` uses
//! [`explain`] and [`parse_audit_line`]; the launcher loads profiles with `lxnest::apparmor::{install, kernel}`.

pub mod audit;
pub mod error;
mod glob;
pub mod matcher;
pub mod naming;
pub mod params;
pub mod render;
mod shape;

pub use audit::{parse_audit_line, AuditEvent};
pub use error::AppArmorError;
pub use matcher::{explain, Access, Decision, Explanation, RuleRef};
pub use naming::{container_of, names, Names};
pub use render::{default_rootfs_dirs, known_flags, render, runtime_rootfs_dirs, ProfileParams};
