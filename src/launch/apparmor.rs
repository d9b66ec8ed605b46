//! AppArmor at launch, through [`crate::apparmor`]: where the kernel has AppArmor, load the
//! planned profile (and create the policy namespace the container's own children will use)
//! before clone, and have the child ask for its label on exec; where it has not, say so once
//! and go on, or refuse when the user required AppArmor.

use super::error::StepFailure;
use super::mounts;
use crate::apparmor::{self, kernel, Installed};
use crate::plan::model::LevelPlan;
use nix::mount::MsFlags;
use std::path::Path;

/// What the AppArmor step did.
#[derive(Debug)]
pub enum Outcome {
    /// The profile is loaded (removed when the guard drops); the label to set on exec, if any.
    Loaded(Installed),
    /// The kernel has no usable AppArmor; why.
    Unavailable(String),
}

/// Loads the container's profile (parent side, before clone). `require` refuses without AppArmor.
pub fn prepare(plan: &LevelPlan, require: bool) -> Result<Outcome, StepFailure> {
    let st = kernel::status();
    if !st.enabled || st.securityfs.is_none() {
        let why = st
            .reason
            .unwrap_or_else(|| "AppArmor is not enabled in this kernel".into());
        if require {
            return Err(StepFailure::refused(format!(
                "AppArmor is required (--require-apparmor): {why}"
            )));
        }
        return Ok(Outcome::Unavailable(why));
    }
    // Plan paths start at level 1 of the real host, which is what the naming expects.
    let parts: Vec<&str> = plan.path.split('/').collect();
    let names = apparmor::names(&parts);
    apparmor::install(&names, &plan.apparmor.text)
        .map(Outcome::Loaded)
        .map_err(|e| {
            StepFailure::doing(format!("load AppArmor profile {}", names.profile))(
                std::io::Error::other(e),
            )
        })
}

/// Child side: asks for `label` on the next exec.
pub fn change_onexec(label: &str) -> Result<(), StepFailure> {
    kernel::change_onexec(label).map_err(Into::into)
}

/// Where the launcher's own AppArmor filesystem is.
const APPARMOR_FS: &str = "/sys/kernel/security/apparmor";

/// Child side, before pivot_root, for a nesting host that loads its children's profiles
/// (`load_policy`): shows it the AppArmor filesystem at `<root>/sys/kernel/security/apparmor`
/// and the parser's configuration when its root has none.
///
/// securityfs cannot be mounted in a user namespace, so the launcher's AppArmor directory is
/// bound there, alone on an otherwise empty read-only tmpfs (no other LSM's files). That is
/// enough: the kernel scopes the policy view and every load to the policy namespace of the
/// reading task's label, and allows loads only with mac_admin in a user namespace at that
/// namespace's depth. The parser needs the `abi/` its input names, from /etc/apparmor.d.
pub fn expose_policy_fs(root: &Path) -> Result<(), StepFailure> {
    let src = Path::new(APPARMOR_FS);
    if !src.join("features").is_dir() {
        return Err(StepFailure::refused(format!(
            "{APPARMOR_FS} is not mounted in the launcher"
        )));
    }
    let sec = root.join("sys/kernel/security");
    let flags = MsFlags::MS_NOSUID | MsFlags::MS_NODEV | MsFlags::MS_NOEXEC;
    mounts::mount_fs("tmpfs", &sec, flags, Some("mode=755,size=16k"))?;
    mounts::bind(src, &sec.join("apparmor"), false)?;
    nix::mount::mount(
        None::<&str>,
        &sec,
        None::<&str>,
        flags | MsFlags::MS_REMOUNT | MsFlags::MS_RDONLY,
        Some("mode=755,size=16k"),
    )
    .map_err(|e| StepFailure::doing("remount ro")(e.into()).with_path(&sec))?;
    let rootfd = mounts::root_fd(root)?;
    for dir in ["etc/apparmor.d", "etc/apparmor"] {
        let host = Path::new("/").join(dir);
        let has_etc = mounts::reopen(&rootfd, "/etc").is_ok();
        let has_dir = mounts::reopen(&rootfd, dir).is_ok();
        if host.is_dir() && has_etc && !has_dir {
            let at = mounts::bind_in(&rootfd, &host, dir, true)?;
            mounts::remount_ro(&at.path(), MsFlags::empty())?;
        }
    }
    Ok(())
}
