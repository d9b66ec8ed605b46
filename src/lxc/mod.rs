//! LXC config: rendering fragments for lxc-start, and reading LXC configuration files.

pub mod config;
pub mod encode;
pub mod encrypt;
pub mod fragment;
pub mod keys;
pub mod limits;
pub mod to_spec;

pub use config::{read as read_config, LxcConfig, LxcConfigError};
pub use fragment::{render as render_fragment, FragmentError};
