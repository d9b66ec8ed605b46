//! Whether this process's cgroups are writable and delegated: it creates a child cgroup (and a
//! grandchild), enables controllers in the child, and removes everything it made.
//!
//! The probe tries the top of each hierarchy this process can see first (the cgroup namespace
//! root in a container; where a runtime run by root puts its containers), then the process's own
//! cgroup (a delegated subtree of an unprivileged user).

use super::cgroup::{memberships, v1_controllers_of};
use super::fsread::optional;
use super::mountinfo::Mount;
use serde::Serialize;
use std::path::{Path, PathBuf};

/// What the cgroup probe found.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Delegation {
    /// The cgroup2 directory probed (the first writable of: the mount's top, the own cgroup),
    /// when cgroup2 is mounted.
    pub unified_dir: Option<String>,
    /// A child cgroup could be created (and removed) below it.
    pub unified_writable: bool,
    /// Controllers available there (its `cgroup.controllers`).
    pub unified_available: Vec<String>,
    /// Controllers it passes to its children now (its `cgroup.subtree_control`).
    pub unified_subtree_control: Vec<String>,
    /// Controllers that could be enabled for a grandchild in the created child: what a nested
    /// runtime can delegate further without changing anything above.
    pub unified_delegable: Vec<String>,
    /// This process's own cgroup2 directory.
    pub own_dir: Option<String>,
    /// Processes in this process's own cgroup2 node.
    pub own_processes: usize,
    /// Whether the own node already has child cgroups.
    pub has_children: bool,
    /// Per v1 hierarchy: whether a child cgroup could be created.
    pub v1: Vec<V1Hierarchy>,
    /// What went wrong along the way.
    pub notes: Vec<String>,
}

/// One v1 hierarchy and the write test's result.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct V1Hierarchy {
    /// Its controllers, comma-separated (`cpu,cpuacct`), or `name=systemd`.
    pub controllers: String,
    /// A child cgroup could be created (and removed) in it.
    pub writable: bool,
}

impl V1Hierarchy {
    /// Whether this hierarchy carries `controller`.
    pub fn carries(&self, controller: &str) -> bool {
        self.controllers.split(',').any(|c| c == controller)
    }
}

impl Delegation {
    /// Some hierarchy accepts new cgroups.
    pub fn writable(&self) -> bool {
        self.unified_writable || self.v1.iter().any(|h| h.writable)
    }

    /// The own processes sit in a leaf (no child cgroups), so controllers can only be enabled
    /// for children after moving them into one.
    pub fn in_leaf(&self) -> bool {
        !self.has_children
    }
}

/// The directory of `cgroup_path` under a mount whose root is `mount_root`, if the mount covers
/// it (inside a cgroup namespace both are relative to the namespace root).
pub(crate) fn own_dir(mount_point: &str, mount_root: &str, cgroup_path: &str) -> Option<PathBuf> {
    let rel = if mount_root == "/" {
        cgroup_path
    } else {
        let rest = cgroup_path.strip_prefix(mount_root)?;
        if !rest.is_empty() && !rest.starts_with('/') {
            return None;
        }
        rest
    };
    Some(Path::new(mount_point).join(rel.trim_start_matches('/')))
}

/// Removes a directory cgroup it created, on every path out.
struct CgroupGuard(PathBuf);

impl CgroupGuard {
    fn create(path: PathBuf) -> std::io::Result<Self> {
        std::fs::create_dir(&path)?;
        Ok(CgroupGuard(path))
    }
}

impl Drop for CgroupGuard {
    fn drop(&mut self) {
        if let Err(e) = std::fs::remove_dir(&self.0) {
            tracing::warn!("removing probe cgroup {}: {e}", self.0.display());
        }
    }
}

fn words(text: Option<String>) -> Vec<String> {
    text.map(|t| t.split_whitespace().map(String::from).collect())
        .unwrap_or_default()
}

/// Records the own cgroup2 node: its processes and whether it has children.
fn own_node(dir: &Path, d: &mut Delegation) {
    d.own_dir = Some(dir.display().to_string());
    d.own_processes = optional(dir.join("cgroup.procs"))
        .map(|t| t.lines().count())
        .unwrap_or(0);
    d.has_children = std::fs::read_dir(dir)
        .map(|it| {
            it.flatten()
                .any(|e| e.file_type().is_ok_and(|t| t.is_dir()))
        })
        .unwrap_or(false);
}

fn probe_name() -> String {
    format!("lxnest-check.{}", std::process::id())
}

/// Probes one cgroup2 directory into `d`; false when no child cgroup can be made there.
fn probe_unified(dir: &Path, d: &mut Delegation) -> bool {
    let child = match CgroupGuard::create(dir.join(probe_name())) {
        Ok(g) => g,
        Err(e) => {
            d.notes.push(format!(
                "cannot create a child cgroup in {}: {e}",
                dir.display()
            ));
            return false;
        }
    };
    d.unified_dir = Some(dir.display().to_string());
    d.unified_writable = true;
    d.unified_available = words(optional(dir.join("cgroup.controllers")));
    d.unified_subtree_control = words(optional(dir.join("cgroup.subtree_control")));
    // The grandchild makes the child an inner node, like a nested runtime's tree; enabling
    // controllers in the (process-free) child is what delegation means.
    let grandchild = match CgroupGuard::create(child.0.join("probe")) {
        Ok(g) => g,
        Err(e) => {
            d.notes
                .push(format!("cannot create a grandchild cgroup: {e}"));
            return true;
        }
    };
    for c in words(optional(child.0.join("cgroup.controllers"))) {
        match std::fs::write(child.0.join("cgroup.subtree_control"), format!("+{c}")) {
            Ok(()) => d.unified_delegable.push(c),
            Err(e) => d.notes.push(format!(
                "cannot enable {c} below {}: {e}",
                child.0.display()
            )),
        }
    }
    // Drop order: grandchild first, then child (controllers are disabled with them).
    drop(grandchild);
    drop(child);
    true
}

/// The top of a mount and the own directory in it, without repeats.
fn candidates(m: &Mount, own: Option<PathBuf>) -> Vec<PathBuf> {
    let mut out = vec![PathBuf::from(&m.mount_point)];
    if let Some(o) = own {
        if !out.contains(&o) {
            out.push(o);
        }
    }
    out
}

/// Probes every cgroup hierarchy this process is in.
pub(crate) fn probe(mounts: &[Mount], self_cgroup: &str) -> Delegation {
    let mut d = Delegation::default();
    let ms = memberships(self_cgroup);
    let unified = mounts
        .iter()
        .filter(|m| m.fstype == "cgroup2")
        .min_by_key(|m| m.mount_point.len());
    if let Some(m) = unified {
        let own = ms
            .iter()
            .find(|x| x.hierarchy == 0)
            .and_then(|x| own_dir(&m.mount_point, &m.root, &x.path));
        match &own {
            Some(dir) => own_node(dir, &mut d),
            None => d.notes.push(format!(
                "the cgroup2 mount at {} does not cover this process",
                m.mount_point
            )),
        }
        for dir in candidates(m, own) {
            if probe_unified(&dir, &mut d) {
                break;
            }
        }
    }
    for m in mounts.iter().filter(|m| m.fstype == "cgroup") {
        let ctrls = v1_controllers_of(m);
        let label = if ctrls.is_empty() {
            m.super_options
                .iter()
                .find(|o| o.starts_with("name="))
                .cloned()
                .unwrap_or_default()
        } else {
            ctrls.join(",")
        };
        if d.v1.iter().any(|h| h.controllers == label) {
            continue;
        }
        let own = ms
            .iter()
            .find(|x| {
                x.hierarchy != 0
                    && ctrls.iter().all(|c| x.controllers.contains(c))
                    && (!ctrls.is_empty() || x.controllers.contains(&label))
            })
            .and_then(|x| own_dir(&m.mount_point, &m.root, &x.path));
        // The guard removes the probe cgroup at the end of the statement.
        let ok = candidates(m, own)
            .iter()
            .any(|dir| CgroupGuard::create(dir.join(probe_name())).is_ok());
        d.v1.push(V1Hierarchy {
            controllers: label,
            writable: ok,
        });
    }
    d
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn own_dir_with_and_without_namespace_roots() {
        assert_eq!(
            own_dir("/sys/fs/cgroup", "/", "/user.slice/a"),
            Some(PathBuf::from("/sys/fs/cgroup/user.slice/a"))
        );
        assert_eq!(
            own_dir("/sys/fs/cgroup/unified", "/", "/"),
            Some(PathBuf::from("/sys/fs/cgroup/unified"))
        );
        // A bind of /lxc/c1 seen by a process in /lxc/c1/init.
        assert_eq!(
            own_dir("/sys/fs/cgroup", "/lxc/c1", "/lxc/c1/init"),
            Some(PathBuf::from("/sys/fs/cgroup/init"))
        );
        assert_eq!(own_dir("/sys/fs/cgroup", "/lxc/c1", "/lxc/c10"), None);
        assert_eq!(own_dir("/sys/fs/cgroup", "/lxc/c1", "/other"), None);
    }

    #[test]
    fn leaf_means_no_children() {
        let d = Delegation {
            has_children: true,
            ..Delegation::default()
        };
        assert!(!d.in_leaf());
        assert!(Delegation::default().in_leaf());
    }
}
