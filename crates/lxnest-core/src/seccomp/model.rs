//! The seccomp policy model: what a filter decides, independent of its text or BPF form.
//!
//! A [`Policy`] is one level's filter. Rules keep their [`Origin`] so that `explain` and the checks
//! can name the file and line that decided.

use crate::origin::Origin;
use serde::{Deserialize, Serialize};
use std::fmt;

/// What the kernel does when a rule matches. Ordered from least to most strict, which is the order
/// the kernel uses to pick the winner among stacked filters (`SECCOMP_RET_*` precedence).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "action", content = "value")]
pub enum Action {
    /// Let the syscall run.
    Allow,
    /// Let it run and log it.
    Log,
    /// Hand it to a ptrace tracer (ENOSYS without one).
    Trace(u16),
    /// Ask a user-space supervisor (`SECCOMP_RET_USER_NOTIF`).
    Notify,
    /// Fail it with this errno.
    Errno(u16),
    /// Send SIGSYS to the thread.
    Trap,
    /// Kill the thread.
    KillThread,
    /// Kill the whole process.
    KillProcess,
}

impl Action {
    /// The kernel's precedence rank: higher wins when filters are stacked.
    pub fn strictness(self) -> u8 {
        match self {
            Action::Allow => 0,
            Action::Log => 1,
            Action::Trace(_) => 2,
            Action::Notify => 3,
            Action::Errno(_) => 4,
            Action::Trap => 5,
            Action::KillThread => 6,
            Action::KillProcess => 7,
        }
    }

    /// The stricter of two actions, as the kernel resolves stacked filters.
    pub fn stricter(self, other: Action) -> Action {
        if other.strictness() > self.strictness() {
            other
        } else {
            self
        }
    }
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Action::Allow => write!(f, "allow"),
            Action::Log => write!(f, "log"),
            Action::Trace(v) => write!(f, "trace {v}"),
            Action::Notify => write!(f, "notify"),
            Action::Errno(n) => write!(f, "errno {n}"),
            Action::Trap => write!(f, "trap"),
            Action::KillThread => write!(f, "kill_thread"),
            Action::KillProcess => write!(f, "kill"),
        }
    }
}

/// Comparison of one syscall argument, as in LXC's `[idx,value,op,mask]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CmpOp {
    /// `SCMP_CMP_EQ`
    Eq,
    /// `SCMP_CMP_NE`
    Ne,
    /// `SCMP_CMP_LT`
    Lt,
    /// `SCMP_CMP_LE`
    Le,
    /// `SCMP_CMP_GT`
    Gt,
    /// `SCMP_CMP_GE`
    Ge,
    /// `SCMP_CMP_MASKED_EQ`: `(arg & mask) == value`
    MaskedEq(u64),
}

/// One argument condition; all conditions of a rule must hold for it to match.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ArgCmp {
    /// Argument index, 0..=5.
    pub index: u8,
    /// The value compared against.
    pub value: u64,
    /// The comparison.
    pub op: CmpOp,
}

/// Architectures a filter covers. lxnest targets x86_64 hosts, whose kernels also run i386 and
/// (when built with it) x32 binaries: a filter that ignored them could be bypassed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Arch {
    /// `AUDIT_ARCH_X86_64`, syscall numbers below `0x4000_0000`.
    X86_64,
    /// `AUDIT_ARCH_X86_64` with the x32 bit (`0x4000_0000`) set.
    X32,
    /// `AUDIT_ARCH_I386`.
    I386,
}

/// One rule: a syscall, optional argument conditions, an action, and where it was written.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Rule {
    /// Syscall name as in the x86_64 table (`mount`, `keyctl`).
    pub syscall: String,
    /// Conditions that must all hold; empty means the rule matches every call.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub args: Vec<ArgCmp>,
    /// What happens on a match.
    pub action: Action,
    /// Arches the rule applies to (`[all]` in LXC text means every arch).
    pub arches: Vec<Arch>,
    /// File and line the rule was written at.
    pub origin: Origin,
}

/// Whether unlisted syscalls are allowed (denylist) or denied (allowlist).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Mode {
    /// Unlisted syscalls get `default_action`, which is restrictive.
    Allowlist,
    /// Unlisted syscalls get `default_action`, which is usually `allow`.
    Denylist,
}

/// One level's filter. `Hash`, so that the planner and the artifact renderer can do the work of
/// identical filters once (a fleet's containers mostly share one).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Policy {
    /// Allowlist or denylist.
    pub mode: Mode,
    /// Action for syscalls no rule matches.
    pub default_action: Action,
    /// Where the default was set (the policy header line).
    pub default_origin: Origin,
    /// Rules in source order. For the same syscall, the first matching rule decides.
    pub rules: Vec<Rule>,
    /// LXC's `reject_force_umount`: `umount2(.., MNT_FORCE)` fails with EACCES.
    pub reject_force_umount: bool,
}
