//! LXC config: rendering fragments for lxc-start, and reading LXC configuration files.

pub mod fragment;

pub use fragment::{render as render_fragment, FragmentError};
