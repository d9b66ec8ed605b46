//! The container's Landlock domain, re-created for the attached process: the same handled
//! accesses and rules as the launcher's (crate::launch::landlock), one ruleset per level that has
//! one, outermost first. The rules' paths are the container's: they are opened on the host side,
//! before any namespace is joined, below `/proc/<init>/root` with `RESOLVE_IN_ROOT`, so that
//! absolute symlinks inside the container resolve against its root, not ours. The attaching
//! process only calls `restrict_self`.

use super::error::StepFailure;
use super::inroot::{open_in_root, root_of};
use super::target::Level;
use landlock::{
    Access, AccessFs, PathBeneath, Ruleset, RulesetAttr, RulesetCreated, RulesetCreatedAttr, ABI,
};
use std::path::Path;

/// The ABI the launcher asks for (the crate downgrades to what the kernel has).
const ABI_WANTED: ABI = ABI::V5;

/// Builds the rulesets of every level with Landlock enabled, outermost first.
pub fn prepare(levels: &[Level]) -> Result<Vec<RulesetCreated>, StepFailure> {
    let mut out = Vec::new();
    for level in levels {
        let plan = &level.state.plan.landlock;
        if !plan.enabled {
            continue;
        }
        let root = root_of(level.host_pid)
            .map_err(StepFailure::at(format!("/proc/{}/root", level.host_pid)))?;
        let all = AccessFs::from_all(ABI_WANTED);
        let read = AccessFs::from_read(ABI_WANTED);
        let lerr = |e: landlock::RulesetError| {
            StepFailure::doing(format!("the ruleset of {}", level.state.name))(
                std::io::Error::other(e),
            )
        };
        let mut created = Ruleset::default()
            .handle_access(all)
            .map_err(lerr)?
            .create()
            .map_err(lerr)?;
        for (paths, access) in [(&plan.read_only, read), (&plan.read_write, all)] {
            for p in paths {
                // A path the container lacks was denied at start; it stays denied.
                if let Ok(fd) = open_in_root(&root, Path::new(p), libc::O_PATH) {
                    created = created
                        .add_rule(PathBeneath::new(fd, access))
                        .map_err(lerr)?;
                }
            }
        }
        out.push(created.no_new_privs(false));
    }
    Ok(out)
}

/// Enforces the rulesets on the calling process (needs CAP_SYS_ADMIN or NO_NEW_PRIVS).
pub fn restrict(rulesets: Vec<RulesetCreated>) -> Result<(), landlock::RulesetError> {
    for r in rulesets {
        r.restrict_self()?;
    }
    Ok(())
}
