//! Verdicts: can a nested runtime of a given kind run here? A pure function of the [`Facts`]
//! and the runtime's [`RuntimeNeeds`]; every blocker says what to change and at which level.

use super::caps::normalize;
use super::facts::Facts;
use super::probe::{ProbeClass, ProbeResult};
use crate::plan::host::CgroupMode;
use crate::spec::runtime::RuntimeNeeds;
use serde::Serialize;

/// One reason a runtime cannot run, or one thing to watch.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    /// Area: `syscall`, `capability`, `device`, `filesystem`, `cgroup`, `proc/sysfs`, `apparmor`.
    pub area: String,
    /// What is wrong.
    pub message: String,
    /// What the user changes, and where.
    pub fix: String,
}

/// The verdict for one runtime kind.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Verdict {
    /// Runtime kind (`lxc`, `docker`).
    pub runtime: String,
    /// No blockers.
    pub ready: bool,
    /// Reasons it cannot run.
    pub blockers: Vec<Finding>,
    /// Things that may bite, or could not be verified from here.
    pub warnings: Vec<Finding>,
}

impl Verdict {
    /// `lxc: ready` or `docker: blocked: <first blocker>; <its fix>` (with a count of the rest).
    pub fn line(&self) -> String {
        match self.blockers.first() {
            None => format!("{}: ready", self.runtime),
            Some(b) => {
                let more = match self.blockers.len() - 1 {
                    0 => String::new(),
                    n => format!(" (+{n} more)"),
                };
                format!("{}: blocked: {}; {}{more}", self.runtime, b.message, b.fix)
            }
        }
    }
}

/// Probes that only some runtimes use: their failure is a warning.
const OPTIONAL_PROBES: &[&str] = &["seccomp(user_notif)", "unshare(time)"];

/// Where a fix goes: the container this process is in, or the host.
fn at_level(facts: &Facts) -> String {
    match facts.nesting.level {
        0 => "on this host".into(),
        n => format!("at level {n}"),
    }
}

struct Collector {
    blockers: Vec<Finding>,
    warnings: Vec<Finding>,
}

impl Collector {
    fn block(&mut self, area: &str, message: String, fix: String) {
        self.blockers.push(Finding {
            area: area.into(),
            message,
            fix,
        });
    }
    fn warn(&mut self, area: &str, message: String, fix: String) {
        self.warnings.push(Finding {
            area: area.into(),
            message,
            fix,
        });
    }
}

fn probe_finding(p: &ProbeResult, facts: &Facts, c: &mut Collector) {
    let lvl = at_level(facts);
    let what = p.outcome.describe();
    let (message, fix) = match p.class {
        ProbeClass::Allowed => return,
        ProbeClass::DeniedBySeccomp => (
            format!("{} returns {what} from an outer seccomp filter", p.name),
            format!("allow {} {lvl}", p.syscall),
        ),
        ProbeClass::DeniedByCaps => (p.detail.clone(), format!("keep the capability {lvl}")),
        ProbeClass::DeniedByLsm => (
            format!("{} is refused by an LSM ({what})", p.name),
            format!("allow it in the AppArmor/Landlock policy {lvl}"),
        ),
        ProbeClass::Limited => (
            format!("{} fails: {}", p.name, p.detail),
            "raise user.max_*_namespaces on the host".into(),
        ),
        ProbeClass::Unknown => {
            c.warn(
                "syscall",
                format!("{}: {}", p.name, p.detail),
                "run check as root to probe it".into(),
            );
            return;
        }
    };
    if OPTIONAL_PROBES.contains(&p.name.as_str()) {
        c.warn("syscall", message, fix);
    } else {
        c.block("syscall", message, fix);
    }
}

fn syscalls(facts: &Facts, needs: &RuntimeNeeds, c: &mut Collector) {
    for s in &needs.syscalls {
        let probes: Vec<&ProbeResult> = facts.probes.iter().filter(|p| &p.syscall == s).collect();
        if probes.is_empty() {
            c.warn(
                "syscall",
                format!("{s} is not probed"),
                "nothing to do; check cannot test it safely".into(),
            );
        }
        for p in probes {
            probe_finding(p, facts, c);
        }
    }
}

fn capabilities(facts: &Facts, needs: &RuntimeNeeds, c: &mut Collector) {
    let lvl = at_level(facts);
    for cap in needs.capabilities.iter().map(|x| normalize(x)) {
        if !facts.caps.bounding.contains(&cap) {
            let fix = match facts.nesting.level {
                0 => format!("run lxnest from a context whose bounding set keeps {cap}"),
                _ => format!("keep {cap} {lvl}"),
            };
            c.block(
                "capability",
                format!("cap_{cap} is not in the bounding set"),
                fix,
            );
        } else if !facts.caps.effective.contains(&cap) {
            c.warn(
                "capability",
                format!("cap_{cap} is bounded but not effective now"),
                "run the runtime as root".into(),
            );
        }
    }
}

fn devices(facts: &Facts, needs: &RuntimeNeeds, c: &mut Collector) {
    let lvl = at_level(facts);
    for d in &needs.devices {
        match facts.devices.iter().find(|f| &f.path == d) {
            None => c.warn(
                "device",
                format!("{d} is not checked"),
                "make sure it is passed in".into(),
            ),
            Some(f) if !f.present => c.block(
                "device",
                format!("{d} is missing"),
                format!("pass {d} in {lvl}"),
            ),
            Some(f) => {
                if let Some(e) = &f.open_error {
                    c.block(
                        "device",
                        format!("{d} cannot be opened ({e})"),
                        format!("allow {d} in the device policy {lvl}"),
                    );
                }
            }
        }
    }
}

fn filesystems(facts: &Facts, needs: &RuntimeNeeds, c: &mut Collector) {
    let mode = facts.snapshot.cgroup.mode;
    for fs in &needs.mounts {
        let skip = fs == "bind"
            || (fs == "cgroup" && mode == CgroupMode::Unified)
            || (fs == "cgroup2" && mode == CgroupMode::V1);
        if skip || facts.kernel.filesystems.iter().any(|k| k == fs) {
            continue;
        }
        let loadable = (fs == "overlay" && facts.kernel.overlay.is_yes()) || fs == "fuse";
        if loadable {
            c.warn(
                "filesystem",
                format!("{fs} is not registered yet"),
                "it loads as a module on first mount (modprobe on the host)".into(),
            );
        } else {
            c.block(
                "filesystem",
                format!("the kernel has no {fs} filesystem"),
                "use a kernel with it".into(),
            );
        }
    }
}

fn proc_sysfs(facts: &Facts, needs: &RuntimeNeeds, c: &mut Collector) {
    if !needs.proc_sysfs_copies {
        return;
    }
    let lvl = at_level(facts);
    let ps = &facts.proc_sysfs;
    if ps.clean_proc().is_none() {
        let covered = ps
            .proc
            .first()
            .map(|m| m.covered.join(", "))
            .unwrap_or_else(|| "no proc mount".into());
        c.block(
            "proc/sysfs",
            format!("no unmasked proc mount for inner containers (covered: {covered})"),
            format!("mount a clean proc copy {lvl} (LXC: lxc.include nesting.conf)"),
        );
    }
    if ps.clean_sysfs().is_none() {
        let covered = ps
            .sysfs
            .first()
            .map(|m| m.covered.join(", "))
            .unwrap_or_else(|| "no sysfs mount".into());
        c.block(
            "proc/sysfs",
            format!("no unmasked sysfs mount for inner containers (covered: {covered})"),
            format!("mount a clean sysfs copy {lvl} (LXC: lxc.include nesting.conf)"),
        );
    }
}

fn cgroups(facts: &Facts, needs: &RuntimeNeeds, c: &mut Collector) {
    if !needs.cgroup.delegate {
        return;
    }
    let lvl = at_level(facts);
    let d = &facts.cgroup.delegation;
    let layout = &facts.snapshot.cgroup;
    if d.unified_dir.is_none() && d.v1.is_empty() {
        c.block(
            "cgroup",
            "no cgroup filesystem is mounted here".into(),
            format!("mount cgroups read-write {lvl} (LXC: lxc.mount.auto = cgroup:rw)"),
        );
        return;
    }
    let v1_ok = |ctrl: &str| d.v1.iter().any(|h| h.writable && h.carries(ctrl));
    if !d.writable() {
        c.block(
            "cgroup",
            "this cgroup is not writable: no child cgroup can be created".into(),
            format!("delegate the container's cgroup {lvl}"),
        );
        return;
    }
    let mut pending = Vec::new();
    for ctrl in &needs.cgroup.controllers {
        if d.unified_delegable.contains(ctrl) || v1_ok(ctrl) {
            continue;
        }
        if d.unified_writable && d.unified_available.contains(ctrl) {
            // Available here but not passed on yet: the runtime can enable it itself once no
            // process sits in the node that passes it on.
            pending.push(ctrl.clone());
            continue;
        }
        let where_ = if layout.v1_controllers.contains(ctrl) {
            "its v1 hierarchy is not writable here"
        } else {
            "it is not available to this cgroup"
        };
        c.block(
            "cgroup",
            format!("controller {ctrl} cannot be delegated: {where_}"),
            format!("delegate {ctrl} {lvl}"),
        );
    }
    if !pending.is_empty() {
        let procs = match d.own_processes {
            0 => String::new(),
            n => format!(
                "; {n} process(es) sit in {}",
                d.own_dir.as_deref().unwrap_or("this cgroup")
            ),
        };
        c.warn(
            "cgroup",
            format!("{} available but not enabled for children{procs}", pending.join(", ")),
            "the nested runtime must move processes into a leaf and enable them in cgroup.subtree_control (lxnest does)".into(),
        );
    }
}

fn apparmor(facts: &Facts, needs: &RuntimeNeeds, c: &mut Collector) {
    let aa = &facts.apparmor;
    // Ubuntu's restriction lets the unshare succeed but strips capabilities inside the new user
    // namespace, so the probes cannot see it.
    if aa.restrict_unprivileged_userns == Some(true) && !facts.snapshot.privileged {
        c.warn(
            "apparmor",
            "kernel.apparmor_restrict_unprivileged_userns is on: user namespaces made here get no capabilities".into(),
            "set it to 0 on the host, or allow `userns,` in this level's profile".into(),
        );
    }
    if !aa.enabled || needs.apparmor.is_empty() {
        return;
    }
    let lvl = at_level(facts);
    let label = aa.label.as_deref().unwrap_or("unconfined");
    if needs.apparmor.iter().any(|f| f == "load_policy") {
        if !aa.policy_namespaces {
            c.block(
                "apparmor",
                "AppArmor has no policy namespaces".into(),
                "use a kernel with AppArmor policy namespaces".into(),
            );
        } else if facts.nesting.level >= 2 {
            c.block(
                "apparmor",
                format!(
                    "AppArmor policy namespaces nest one level only; level {} cannot load profiles",
                    facts.nesting.level
                ),
                "run this runtime at level 1, or without its own profiles".into(),
            );
        }
    }
    if !label.starts_with("unconfined") {
        c.warn(
            "apparmor",
            format!("confined by {label}; its rules cannot be read from inside"),
            format!("give {lvl} a profile with: {}", needs.apparmor.join(", ")),
        );
    }
}

/// The verdict for one runtime.
pub fn verdict(facts: &Facts, needs: &RuntimeNeeds) -> Verdict {
    let mut c = Collector {
        blockers: Vec::new(),
        warnings: Vec::new(),
    };
    syscalls(facts, needs, &mut c);
    capabilities(facts, needs, &mut c);
    devices(facts, needs, &mut c);
    filesystems(facts, needs, &mut c);
    proc_sysfs(facts, needs, &mut c);
    cgroups(facts, needs, &mut c);
    apparmor(facts, needs, &mut c);
    Verdict {
        runtime: needs.name.clone(),
        ready: c.blockers.is_empty(),
        blockers: c.blockers,
        warnings: c.warnings,
    }
}

/// Verdicts for several runtimes, in the given order. For an unprivileged user, lxnest's own
/// verdict is what lxnest can do for that user ([`unprivileged::unprivileged`]): the other runtimes
/// are judged as they would run in this process, which is without privileges.
pub fn verdicts(facts: &Facts, all: &[RuntimeNeeds]) -> Vec<Verdict> {
    all.iter()
        .map(|n| match unprivileged::unprivileged(facts) {
            Some(v) if n.name == "lxnest" => v,
            _ => verdict(facts, n),
        })
        .collect()
}

mod unprivileged;

#[cfg(test)]
mod tests;
