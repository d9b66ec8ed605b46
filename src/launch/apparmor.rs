//! AppArmor at launch, through [`crate::apparmor`]: where the kernel has AppArmor, load the
//! planned profile (and create the policy namespace the container's own children will use)
//! before clone, and have the child ask for its label on exec; where it has not, say so once
//! and go on, or refuse when the user required AppArmor.

use crate::apparmor::{self, kernel, Installed};
use crate::plan::model::LevelPlan;

/// What the AppArmor step did.
#[derive(Debug)]
pub enum Outcome {
    /// The profile is loaded (removed when the guard drops); the label to set on exec, if any.
    Loaded(Installed),
    /// The kernel has no usable AppArmor; why.
    Unavailable(String),
}

/// Loads the container's profile (parent side, before clone). `require` refuses without AppArmor.
pub fn prepare(plan: &LevelPlan, require: bool) -> Result<Outcome, String> {
    let st = kernel::status();
    if !st.enabled || st.securityfs.is_none() {
        let why = st
            .reason
            .unwrap_or_else(|| "AppArmor is not enabled in this kernel".into());
        if require {
            return Err(format!("AppArmor is required (--require-apparmor): {why}"));
        }
        return Ok(Outcome::Unavailable(why));
    }
    // Plan paths start at level 1 of the real host, which is what the naming expects.
    let parts: Vec<&str> = plan.path.split('/').collect();
    let names = apparmor::names(&parts);
    apparmor::install(&names, &plan.apparmor.text)
        .map(Outcome::Loaded)
        .map_err(|e| format!("load AppArmor profile {}: {e}", names.profile))
}

/// Child side: asks for `label` on the next exec.
pub fn change_onexec(label: &str) -> Result<(), String> {
    kernel::change_onexec(label).map_err(|e| e.to_string())
}
