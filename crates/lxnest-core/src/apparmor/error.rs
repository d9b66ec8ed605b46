//! Errors of the AppArmor module: rendering (bad flags, names, rules) and the kernel side.

use std::io;
use std::path::PathBuf;

/// Everything that can go wrong while naming, rendering, loading or applying AppArmor policy.
#[derive(Debug, thiserror::Error)]
pub enum AppArmorError {
    /// The planner asked for a template flag that `policy/apparmor/flags.txt` does not list.
    #[error("profile {profile}: unknown AppArmor flag `{flag}` (known flags: {known})")]
    UnknownFlag {
        /// Profile being rendered.
        profile: String,
        /// The flag as given.
        flag: String,
        /// Comma-separated list of valid flags.
        known: String,
    },
    /// A profile, namespace or path does not fit AppArmor's syntax (or lxnest's stricter rules).
    #[error("invalid AppArmor {what} {value:?}: {reason}")]
    InvalidName {
        /// What the value is (`profile name`, `namespace`, `rootfs directory`).
        what: &'static str,
        /// The offending value.
        value: String,
        /// Why it is refused.
        reason: &'static str,
    },
    /// An extra rule from the spec cannot be pasted into a profile safely.
    #[error("profile {profile}: extra AppArmor rule {rule:?} refused: {reason}")]
    InvalidRule {
        /// Profile being rendered.
        profile: String,
        /// The rule as given.
        rule: String,
        /// Why it is refused.
        reason: &'static str,
    },
    /// The embedded template failed to compile or render (a bug in policy/apparmor/).
    #[error("AppArmor template {template}: {message}")]
    Template {
        /// Template name.
        template: &'static str,
        /// Handlebars' message.
        message: String,
    },
    /// AppArmor is not the enabled LSM on this kernel, or the operation needs a feature it lacks.
    #[error("AppArmor is not enabled on this kernel: {reason}")]
    NotEnabled {
        /// What was found missing.
        reason: String,
    },
    /// libapparmor.so.1 could not be loaded.
    #[error("libapparmor is not available: {0}")]
    Library(String),
    /// A libapparmor call failed.
    #[error("{call}({arg:?}) failed: {source}")]
    Call {
        /// Function name.
        call: &'static str,
        /// Its argument (a label or profile name).
        arg: String,
        /// errno as reported.
        #[source]
        source: io::Error,
    },
    /// `apparmor_parser` is not installed.
    #[error("apparmor_parser not found (install the `apparmor` package): {0}")]
    ParserMissing(io::Error),
    /// `apparmor_parser` refused or failed.
    #[error("apparmor_parser {args} for profile {profile} failed ({status}): {stderr}")]
    Parser {
        /// Profile name.
        profile: String,
        /// Arguments passed.
        args: String,
        /// Exit status.
        status: String,
        /// What it printed.
        stderr: String,
    },
    /// Filesystem access under securityfs or procfs failed.
    #[error("{op} {path}: {source}")]
    Io {
        /// What was attempted (`create namespace`, `read`).
        op: &'static str,
        /// The path.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: io::Error,
    },
}
