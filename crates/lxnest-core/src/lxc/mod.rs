//! LXC config: rendering fragments for lxc-start, and reading LXC configuration files.

pub mod config;
/// How values are written into LXC config text: below the spec, which checks that its values fit.
pub use crate::lxc_encode as encode;
pub mod encrypt;
pub mod fragment;
pub mod keys;
pub mod limits;
pub mod map_error;
pub mod to_spec;

pub use config::{read as read_config, LxcConfig, LxcConfigError};
pub use fragment::{render as render_fragment, FragmentError};
