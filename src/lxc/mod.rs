//! LXC config: rendering fragments for lxc-start, and reading LXC configuration files.
