//! tmp
pub mod error;
pub mod naming;
pub mod render;
pub use error::AppArmorError;
pub use naming::{names, Names};
pub use render::{default_rootfs_dirs, known_flags, render, runtime_rootfs_dirs, ProfileParams};
