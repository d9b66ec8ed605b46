//! Landlock for the first process, best effort: whatever the running kernel's ABI can enforce of
//! the plan is enforced, and the outcome is recorded for `lxnest info`. Applied after every mount
//! (a Landlock-restricted process may not mount or pivot_root) and after pivot_root, so the plan's
//! paths are the container's.

use crate::plan::model::LandlockPlan;
use landlock::{
    Access, AccessFs, PathBeneath, PathFd, Ruleset, RulesetAttr, RulesetCreatedAttr, RulesetStatus,
    ABI,
};

/// The newest ABI this lxnest knows; the crate downgrades to what the kernel has.
const ABI_WANTED: ABI = ABI::V5;

/// Applies `plan` to the calling process. `no_new_privs` says whether Landlock may set
/// NO_NEW_PRIVS (not needed when the caller has CAP_SYS_ADMIN in its user namespace).
pub fn apply(plan: &LandlockPlan, no_new_privs: bool) -> Result<String, landlock::RulesetError> {
    if !plan.enabled {
        return Ok(format!(
            "disabled: {}",
            plan.reason.as_deref().unwrap_or("not planned")
        ));
    }
    let all = AccessFs::from_all(ABI_WANTED);
    let read = AccessFs::from_read(ABI_WANTED);
    let mut created = Ruleset::default().handle_access(all)?.create()?;
    let mut skipped = Vec::new();
    for (paths, access) in [(&plan.read_only, read), (&plan.read_write, all)] {
        for p in paths {
            // Directory-only rights on a file would make the crate report a downgrade.
            let access = if std::path::Path::new(p).is_dir() {
                access
            } else {
                access & AccessFs::from_file(ABI_WANTED)
            };
            match PathFd::new(p) {
                Ok(fd) => created = created.add_rule(PathBeneath::new(fd, access))?,
                // A path the rootfs lacks cannot be granted; denying it is the safe outcome.
                Err(_) => skipped.push(p.clone()),
            }
        }
    }
    let status = created.no_new_privs(no_new_privs).restrict_self()?;
    let what = match status.ruleset {
        RulesetStatus::FullyEnforced => "fully enforced".to_string(),
        RulesetStatus::PartiallyEnforced => "partially enforced (older kernel ABI)".to_string(),
        RulesetStatus::NotEnforced => "not enforced (kernel without Landlock)".to_string(),
    };
    Ok(if skipped.is_empty() {
        what
    } else {
        format!("{what}; missing paths denied: {}", skipped.join(" "))
    })
}
