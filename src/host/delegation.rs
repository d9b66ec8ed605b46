//! Whether this process's cgroups are writable and delegated: it creates a child cgroup (and a
//! grandchild) below its own, enables controllers in the child, and removes everything it made.

use super::cgroup::{memberships, v1_controllers_of};
use super::fsread::optional;
use super::mountinfo::Mount;
use serde::Serialize;
use std::path::{Path, PathBuf};

/// What the cgroup probe found.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Delegation {
    /// This process's cgroup2 directory, when cgroup2 is mounted and covers it.
    pub unified_dir: Option<String>,
    /// A child cgroup could be created (and removed) below it.
    pub unified_writable: bool,
    /// Controllers available to this cgroup (its `cgroup.controllers`).
    pub unified_available: Vec<String>,
    /// Controllers it passes to its children now (its `cgroup.subtree_control`).
    pub unified_subtree_control: Vec<String>,
    /// Controllers that could be enabled for a grandchild in the created child: what a nested
    /// runtime can delegate further.
    pub unified_delegable: Vec<String>,
    /// Processes in this process's own cgroup2 node.
    pub own_processes: usize,
    /// Whether the own node already has child cgroups.
    pub has_children: bool,
    /// Per v1 controller hierarchy: (controllers, a child cgroup could be created).
    pub v1_writable: Vec<(String, bool)>,
    /// What went wrong along the way.
    pub notes: Vec<String>,
}

impl Delegation {
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

/// Probes the cgroup2 side into `d`.
fn probe_unified(dir: &Path, d: &mut Delegation) {
    d.unified_dir = Some(dir.display().to_string());
    d.unified_available = words(optional(dir.join("cgroup.controllers")));
    d.unified_subtree_control = words(optional(dir.join("cgroup.subtree_control")));
    d.own_processes = optional(dir.join("cgroup.procs"))
        .map(|t| t.lines().count())
        .unwrap_or(0);
    d.has_children = std::fs::read_dir(dir)
        .map(|it| {
            it.flatten()
                .any(|e| e.file_type().is_ok_and(|t| t.is_dir()))
        })
        .unwrap_or(false);
    let name = format!("lxnest-check.{}", std::process::id());
    let child = match CgroupGuard::create(dir.join(&name)) {
        Ok(g) => g,
        Err(e) => {
            d.notes.push(format!(
                "cannot create a child cgroup in {}: {e}",
                dir.display()
            ));
            return;
        }
    };
    d.unified_writable = true;
    // The grandchild makes the child an inner node, like a nested runtime's tree; enabling
    // controllers in the (process-free) child is what delegation means.
    let grandchild = match CgroupGuard::create(child.0.join("probe")) {
        Ok(g) => g,
        Err(e) => {
            d.notes
                .push(format!("cannot create a grandchild cgroup: {e}"));
            return;
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
}

/// Probes every cgroup hierarchy this process is in.
pub(crate) fn probe(mounts: &[Mount], self_cgroup: &str) -> Delegation {
    let mut d = Delegation::default();
    let ms = memberships(self_cgroup);
    if let (Some(m), Some(v2)) = (
        mounts
            .iter()
            .filter(|m| m.fstype == "cgroup2")
            .min_by_key(|m| m.mount_point.len()),
        ms.iter().find(|m| m.hierarchy == 0),
    ) {
        match own_dir(&m.mount_point, &m.root, &v2.path) {
            Some(dir) => probe_unified(&dir, &mut d),
            None => d.notes.push(format!(
                "the cgroup2 mount at {} does not cover {}",
                m.mount_point, v2.path
            )),
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
        let member = ms.iter().find(|x| {
            x.hierarchy != 0
                && ctrls.iter().all(|c| x.controllers.contains(c))
                && (!ctrls.is_empty() || x.controllers.contains(&label))
        });
        let Some(dir) = member.and_then(|x| own_dir(&m.mount_point, &m.root, &x.path)) else {
            continue;
        };
        let ok =
            CgroupGuard::create(dir.join(format!("lxnest-check.{}", std::process::id()))).is_ok();
        if d.v1_writable.iter().all(|(l, _)| *l != label) {
            d.v1_writable.push((label, ok));
        }
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
