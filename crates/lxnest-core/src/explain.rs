//! `explain`: which rule of which level decides a syscall or a path for a container, and what the
//! effective result is. Answers come from the plan alone.

use crate::origin::Origin;
use crate::plan::model::{LevelPlan, Plan};
use crate::seccomp::{decide, Action, Rule};
use serde::Serialize;
use thiserror::Error;

/// explain could not answer.
#[derive(Debug, Error)]
pub enum ExplainError {
    /// No such container in the plan.
    #[error(
        "no container `{0}` in the plan; containers are named by path, e.g. juju-host/unit-1 ({1})"
    )]
    UnknownContainer(String, String),
    /// Not a syscall name lxnest knows.
    #[error("`{0}` is neither a syscall known on x86_64 nor an absolute path\n  fix: give a syscall name such as `mount`, or a path such as /proc/sysrq-trigger")]
    Unknown(String),
}

/// What one level's filter decides for a syscall.
#[derive(Debug, Clone, Serialize)]
pub struct LevelDecision {
    /// Container path.
    pub container: String,
    /// Its level.
    pub level: u32,
    /// The action for a call no argument rule matches.
    pub action: Action,
    /// The deciding rule, as LXC text, or `None` for the filter's default.
    pub rule: Option<String>,
    /// Where that rule (or the default) was written.
    pub origin: Origin,
    /// Whether some rule of this filter checks the arguments.
    pub conditional: bool,
}

/// The answer for a syscall.
#[derive(Debug, Clone, Serialize)]
pub struct SyscallAnswer {
    /// Container path.
    pub container: String,
    /// Syscall name.
    pub syscall: String,
    /// Every filter that runs on the container's calls, outermost first.
    pub levels: Vec<LevelDecision>,
    /// The strictest action: what the kernel does.
    pub effective: Action,
    /// Which level decided it, if not everyone allowed it.
    pub decided_by: Option<String>,
}

/// What one level's AppArmor profile and Landlock domain say about a path.
#[derive(Debug, Clone, Serialize)]
pub struct PathLevel {
    /// Container path.
    pub container: String,
    /// Its level.
    pub level: u32,
    /// The profile that applies.
    pub profile: String,
    /// Allowed by this level's profile.
    pub allowed: bool,
    /// The deciding rule and its line in the profile, if any.
    pub rule: Option<(u32, String)>,
}

/// The answer for a path.
#[derive(Debug, Clone, Serialize)]
pub struct PathAnswer {
    /// Container path.
    pub container: String,
    /// The path asked about.
    pub path: String,
    /// Access asked about (`w`, `r`, ...).
    pub access: String,
    /// Each stacked profile, outermost first.
    pub levels: Vec<PathLevel>,
    /// Landlock's answer for the container, when it has a domain: allowed or not, and why.
    pub landlock: Option<(bool, String)>,
    /// Allowed by every layer.
    pub allowed: bool,
}

/// Look a container up by path.
pub fn container<'a>(plan: &'a Plan, path: &str) -> Result<&'a LevelPlan, ExplainError> {
    plan.get(path).ok_or_else(|| {
        let all = plan
            .containers
            .iter()
            .map(|c| c.path.as_str())
            .collect::<Vec<_>>()
            .join(", ");
        ExplainError::UnknownContainer(path.into(), all)
    })
}

/// Which filters decide `syscall` for `path`, and the effective result.
pub fn syscall(plan: &Plan, path: &str, syscall: &str) -> Result<SyscallAnswer, ExplainError> {
    let c = container(plan, path)?;
    if crate::seccomp::syscalls::number(crate::seccomp::Arch::X86_64, syscall).is_none() {
        return Err(ExplainError::Unknown(syscall.into()));
    }
    let mut chain = plan.ancestors(path);
    chain.push(c);
    let mut levels = Vec::new();
    let mut effective = Action::Allow;
    let mut decided_by = None;
    for l in chain {
        let d = decide::decide(&l.seccomp.own, syscall);
        // The kernel runs the newest (innermost) filter first and keeps an earlier result unless
        // a later one is strictly stricter, so on a tie the innermost level decides.
        if d.action != Action::Allow && d.action.strictness() >= effective.strictness() {
            effective = d.action;
            decided_by = Some(l.path.clone());
        }
        levels.push(LevelDecision {
            container: l.path.clone(),
            level: l.depth,
            action: d.action,
            origin: d
                .rule
                .as_ref()
                .map(|r| r.origin.clone())
                .unwrap_or_else(|| l.seccomp.own.default_origin.clone()),
            rule: d.rule.as_ref().map(rule_text),
            conditional: d.conditional,
        });
    }
    Ok(SyscallAnswer {
        container: path.into(),
        syscall: syscall.into(),
        levels,
        effective,
        decided_by,
    })
}

/// A rule as one line of LXC seccomp text.
pub fn rule_text(r: &Rule) -> String {
    let mut s = format!("{} {}", r.syscall, r.action);
    for a in &r.args {
        let op = match a.op {
            crate::seccomp::CmpOp::Eq => "SCMP_CMP_EQ".to_string(),
            crate::seccomp::CmpOp::Ne => "SCMP_CMP_NE".to_string(),
            crate::seccomp::CmpOp::Lt => "SCMP_CMP_LT".to_string(),
            crate::seccomp::CmpOp::Le => "SCMP_CMP_LE".to_string(),
            crate::seccomp::CmpOp::Gt => "SCMP_CMP_GT".to_string(),
            crate::seccomp::CmpOp::Ge => "SCMP_CMP_GE".to_string(),
            crate::seccomp::CmpOp::MaskedEq(m) => format!("SCMP_CMP_MASKED_EQ,{m}"),
        };
        s.push_str(&format!(" [{},{},{op}]", a.index, a.value));
    }
    s
}

/// What the AppArmor profiles of every level and the container's Landlock domain say about
/// `access` (`w`, `r`, `mount:proc`, `umount`, `pivot_root`: see [`crate::apparmor::matcher::Access::parse`])
/// to `path`. Stacked profiles intersect, so every level must allow it.
pub fn path(
    plan: &Plan,
    container_path: &str,
    path: &str,
    access: &str,
) -> Result<PathAnswer, ExplainError> {
    use crate::apparmor::matcher::{self, Access, Decision};
    let c = container(plan, container_path)?;
    let parsed = Access::parse(access).ok_or_else(|| ExplainError::Unknown(access.into()))?;
    let mut chain = plan.ancestors(container_path);
    chain.push(c);
    let mut levels = Vec::new();
    for l in chain.into_iter().filter(|l| !l.apparmor.text.is_empty()) {
        let e = matcher::explain(&l.apparmor.text, path, &parsed);
        levels.push(PathLevel {
            container: l.path.clone(),
            level: l.depth,
            profile: l.apparmor.profile.clone(),
            allowed: e.decision == Decision::Allowed,
            rule: e.rule.map(|r| (r.line as u32, r.text)),
        });
    }
    let landlock = c
        .landlock
        .enabled
        .then(|| landlock_says(&c.landlock, path, &parsed));
    let allowed = levels.iter().all(|l| l.allowed) && landlock.as_ref().is_none_or(|(ok, _)| *ok);
    Ok(PathAnswer {
        container: container_path.into(),
        path: path.into(),
        access: access.into(),
        levels,
        landlock,
        allowed,
    })
}

fn landlock_says(
    l: &crate::plan::model::LandlockPlan,
    path: &str,
    access: &crate::apparmor::matcher::Access,
) -> (bool, String) {
    use crate::apparmor::matcher::Access;
    let under = |root: &String| {
        path == root || path.starts_with(&format!("{}/", root.trim_end_matches('/')))
    };
    match access {
        Access::File(perms) if perms.chars().any(|p| "wal".contains(p)) => {
            match l.read_write.iter().find(|r| under(r)) {
                Some(root) => (true, format!("below writable {root}")),
                None => (
                    false,
                    "not below any writable path of the Landlock domain".into(),
                ),
            }
        }
        Access::File(_) => (true, "readable everywhere".into()),
        _ => (
            false,
            "Landlock forbids mount, umount and pivot_root to restricted processes".into(),
        ),
    }
}
