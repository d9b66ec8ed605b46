//! Installing one container's confinement from the launching lxnest's point of view: load its
//! profile, create the policy namespace its children will use, and undo both on drop.
//!
//! Every path is relative to the caller's own view: on the host (level 0) the profile of a
//! level-1 container goes into the root namespace; inside a level-1 container, lxnest sees its
//! namespace as the root and loads its level-2 children's profiles there.

use super::error::AppArmorError;
use super::kernel;
use super::naming::Names;

/// A loaded profile (and child namespace) that is removed again when dropped, unless
/// [`Installed::keep`] is called. Removal is best effort: a failure on drop is logged.
#[derive(Debug)]
#[must_use = "dropping it unloads the profile"]
pub struct Installed {
    profile: Option<String>,
    child_namespace: Option<String>,
    onexec: Option<String>,
}

impl Installed {
    /// The label to pass to [`kernel::change_onexec`] in the container's first process, if the
    /// container changes label at all (level 3 and deeper keep their parent's).
    pub fn onexec(&self) -> Option<&str> {
        self.onexec.as_deref()
    }

    /// Leaves the profile and namespace loaded (for containers that outlive this process).
    pub fn keep(mut self) {
        self.profile = None;
        self.child_namespace = None;
    }

    fn remove(&mut self) -> Result<(), AppArmorError> {
        // The namespace first: removing it drops every profile the container loaded into it.
        if let Some(ns) = self.child_namespace.take() {
            kernel::remove_namespace(&ns)?;
        }
        if let Some(profile) = self.profile.take() {
            kernel::unload(None, &profile)?;
        }
        Ok(())
    }

    /// Removes the profile and namespace now, reporting failures.
    pub fn uninstall(mut self) -> Result<(), AppArmorError> {
        self.remove()
    }
}

impl Drop for Installed {
    fn drop(&mut self) {
        if let Err(e) = self.remove() {
            tracing::warn!("AppArmor cleanup failed: {e}");
        }
    }
}

/// Loads `profile_text` (the rendered profile of the container named by `names`) into the
/// caller's namespace and creates the container's child namespace when it gets one. A level-3+
/// container has no profile of its own: nothing is loaded and [`Installed::onexec`] is `None`.
pub fn install(names: &Names, profile_text: &str) -> Result<Installed, AppArmorError> {
    let mut installed = Installed {
        profile: None,
        child_namespace: None,
        onexec: names.onexec.clone(),
    };
    if !names.own_profile {
        return Ok(installed);
    }
    kernel::load(None, profile_text)?;
    installed.profile = Some(names.profile.clone());
    if let Some(ns) = &names.child_namespace {
        // On error `installed` drops here and unloads the profile just loaded.
        kernel::create_namespace(ns)?;
        installed.child_namespace = Some(ns.clone());
    }
    Ok(installed)
}
