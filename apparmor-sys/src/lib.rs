//! placeholder, replaced by the apparmor-sys work
