//! The verdict for lxnest started by a user without privileges: it needs unprivileged user
//! namespaces, and everything else only changes what the container gets (a single-id map, no
//! cgroups, no AppArmor profile), which the verdict lists as warnings with their fixes.

use super::{Collector, Verdict};
use crate::host::facts::Facts;
use crate::host::probe::ProbeClass;

/// `Some` when the facts were read by an unprivileged user: what lxnest can do for that user.
pub fn unprivileged(facts: &Facts) -> Option<Verdict> {
    let user = facts.snapshot.user.as_ref()?;
    let who = user.name.clone().unwrap_or_else(|| user.uid.to_string());
    let mut c = Collector {
        blockers: Vec::new(),
        warnings: Vec::new(),
    };
    let userns_probe = facts.probes.iter().find(|p| p.name == "unshare(user)");
    if !facts.snapshot.kernel.userns || userns_probe.is_some_and(|p| p.class != ProbeClass::Allowed)
    {
        c.block(
            "userns",
            format!("{who} cannot create a user namespace"),
            "allow unprivileged user namespaces on this host (sysctl user.max_user_namespaces > 0, kernel.unprivileged_userns_clone = 1; on Ubuntu kernel.apparmor_restrict_unprivileged_userns = 0)".into(),
        );
    }
    if let Some(why) = crate::plan::idmap::single_reason(&facts.snapshot) {
        c.warn(
            "idmap",
            format!("containers get a single-id map ({who} alone is root inside): {why}"),
            "give the user subordinate ids and install the setuid newuidmap/newgidmap (Debian: uidmap)".into(),
        );
    }
    let d = &facts.cgroup.delegation;
    if !(d.unified_writable && d.own_dir.is_some()) {
        c.warn(
            "cgroup",
            format!("{who}'s cgroup is not delegated: containers start without cgroups or limits"),
            "start lxnest in a delegated cgroup (systemd-run --user --scope -p Delegate=yes)"
                .into(),
        );
    }
    if facts.snapshot.kernel.apparmor {
        c.warn(
            "apparmor",
            "loading AppArmor profiles needs root: containers keep the user's own label".into(),
            "start them as root for per-container profiles".into(),
        );
    }
    Some(Verdict {
        runtime: "lxnest".into(),
        ready: c.blockers.is_empty(),
        blockers: c.blockers,
        warnings: c.warnings,
    })
}
