//! Creating a container's cgroup in every hierarchy, limiting it, moving tasks into it, and
//! removing it again. v1 hierarchies go through `cgroups_rs::fs`; the cgroup2 side is [`super::v2`].

/// Kills and removes one cgroup directory tree (used by the launcher's `stop`).
pub(crate) use super::cleanup::kill_and_remove;
use super::cleanup::teardown;
use super::layout::{own_paths, Hierarchy, HierarchyKind, OwnCgroups};
pub(crate) use super::place::Place;
use super::{io_err, v2, CgroupError, Result};
use crate::plan::host::CgroupLayout;
use crate::plan::model::CgroupPlan;
use cgroups_rs::fs::hierarchies::V1;
use cgroups_rs::fs::{Cgroup, MaxValue, Resources};
use cgroups_rs::CgroupPid;
use std::collections::HashMap;
use std::path::{Component, Path, PathBuf};

/// Where, in each hierarchy, a plan's relative cgroup path is rooted.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Base {
    /// Under this process's own cgroup (lxnest on a host, or in a container without delegation).
    #[default]
    Own,
    /// Under the parent of this process's own cgroup: a nested lxnest that sits in its
    /// container's init leaf creates its children as siblings of that leaf, inside the
    /// delegated root.
    OwnParent,
    /// Under the root of the mounted hierarchy, which is the cgroup namespace root when the
    /// cgroupfs was mounted inside a cgroup namespace (the premounted view of a container).
    MountRoot,
}

/// Options of [`create_with`] and [`remove_with`].
#[derive(Debug, Clone, Default)]
pub struct CreateOptions {
    /// Where the plan's path is rooted.
    pub base: Base,
}

/// A container's cgroup in every hierarchy. Dropping it kills what runs inside and removes the
/// directories, unless [`CgroupGuard::persist`] was called.
#[derive(Debug)]
pub struct CgroupGuard {
    path: String,
    pub(crate) places: Vec<Place>,
    v1: Option<Cgroup>,
    v1_leaf: Option<Cgroup>,
    persist: bool,
}

/// v1 controllers cgroups-rs 0.5 knows; a hierarchy with none of them (`misc`, `debug`) is
/// handled with plain cgroupfs writes like the cgroup2 side.
const CGROUPS_RS_KNOWN: &[&str] = &[
    "blkio",
    "cpu",
    "cpuacct",
    "cpuset",
    "devices",
    "freezer",
    "hugetlb",
    "memory",
    "net_cls",
    "net_prio",
    "perf_event",
    "pids",
    "rdma",
    "name=systemd",
];

fn managed_by_cgroups_rs(p: &Place) -> bool {
    match &p.hierarchy.kind {
        HierarchyKind::V1(cs) => cs.iter().any(|c| CGROUPS_RS_KNOWN.contains(&c.as_str())),
        HierarchyKind::Unified => false,
    }
}

/// Checks that a plan path is relative and plain, and returns it as a path.
fn plain_relative(p: &str) -> Result<PathBuf> {
    let path = Path::new(p);
    let ok = !p.is_empty() && path.components().all(|c| matches!(c, Component::Normal(_)));
    if ok {
        Ok(path.to_path_buf())
    } else {
        Err(CgroupError::BadPath(p.to_string()))
    }
}

fn base_dir(h: &Hierarchy, base: Base) -> Result<PathBuf> {
    Ok(match base {
        Base::Own => h.own_dir()?,
        Base::OwnParent => {
            let own = h.own_dir()?;
            if own == h.mount_point {
                own
            } else {
                own.parent().map(Path::to_path_buf).unwrap_or(own)
            }
        }
        Base::MountRoot => h.mount_point.clone(),
    })
}

/// Which side holds a limit's controller: `Some(true)` for cgroup2, `Some(false)` for v1.
fn side_of(layout: &CgroupLayout, controller: &str) -> Option<bool> {
    if layout.v1_controllers.iter().any(|c| c == controller) {
        Some(false)
    } else if layout.unified_controllers.iter().any(|c| c == controller) {
        Some(true)
    } else {
        None
    }
}

fn v1_err(path: &str) -> impl FnOnce(cgroups_rs::fs::error::Error) -> CgroupError + '_ {
    move |e| CgroupError::V1 {
        path: path.to_string(),
        message: e.to_string(),
    }
}

/// Creates the container's cgroup at `plan.path` under this process's own cgroup in every
/// mounted hierarchy, applies the limits and, when delegating on a host with cgroup2, the init leaf.
pub fn create(layout: &CgroupLayout, plan: &CgroupPlan) -> Result<CgroupGuard> {
    create_with(layout, plan, &CreateOptions::default())
}

/// [`create`] with an explicit base (for nested use).
pub fn create_with(
    layout: &CgroupLayout,
    plan: &CgroupPlan,
    opts: &CreateOptions,
) -> Result<CgroupGuard> {
    let own = own_paths()?;
    create_in(layout, &own, plan, opts)
}

/// [`create_with`] on an already read [`OwnCgroups`].
pub fn create_in(
    layout: &CgroupLayout,
    own: &OwnCgroups,
    plan: &CgroupPlan,
    opts: &CreateOptions,
) -> Result<CgroupGuard> {
    let rel = plain_relative(&plan.path)?;
    let leaf_rel = match (&plan.init_leaf, plan.delegate && own.unified().is_some()) {
        (Some(l), true) => Some(plain_relative(l)?),
        _ => None,
    };
    // Decide where each limit goes before touching anything.
    let mut on_v2: Vec<String> = Vec::new();
    for c in v2::controllers_for(&plan.limits) {
        match side_of(layout, c) {
            Some(true) => on_v2.push(c.to_string()),
            Some(false) => {}
            None => {
                return Err(CgroupError::ControllerUnavailable {
                    controller: c.into(),
                    what: "a limit",
                })
            }
        }
    }
    for c in &plan.controllers {
        if side_of(layout, c) == Some(true) && !on_v2.contains(c) {
            on_v2.push(c.clone());
        }
    }

    // Never adopt a cgroup another container owns: two containers with one name (from two state
    // directories) would otherwise share limits and kill each other's processes on stop.
    for h in own.v1().chain(own.unified()) {
        let dir = base_dir(h, opts.base)?.join(&rel);
        if dir.exists() {
            return Err(CgroupError::Exists {
                path: dir.display().to_string(),
            });
        }
    }

    let mut guard = CgroupGuard {
        path: plan.path.clone(),
        places: Vec::new(),
        v1: None,
        v1_leaf: None,
        persist: false,
    };

    // v1: cgroups-rs creates the directory in each hierarchy it knows, relative to our base
    // there (its own default would be the hierarchy root).
    let mut relative_paths = HashMap::new();
    for h in own.v1() {
        let base = base_dir(h, opts.base)?;
        let base_rel = base
            .strip_prefix(&h.mount_point)
            .unwrap_or(Path::new(""))
            .to_string_lossy()
            .into_owned();
        if let HierarchyKind::V1(cs) = &h.kind {
            for c in cs {
                relative_paths.insert(c.clone(), base_rel.clone());
            }
        }
        let dir = base.join(&rel);
        guard.places.push(Place {
            hierarchy: h.clone(),
            leaf: leaf_rel.as_ref().map(|l| dir.join(l)),
            base,
            dir,
        });
    }
    if own.v1().next().is_some() {
        let cg = Cgroup::new_with_relative_paths(Box::new(V1::new()), &rel, relative_paths.clone())
            .map_err(v1_err(&plan.path))?;
        guard.v1 = Some(cg);
        let mut res = Resources::default();
        if !on_v2.iter().any(|c| c == "memory") {
            res.memory.memory_hard_limit = plan.limits.memory.map(|m| m as i64);
            // memory+swap = memory: no swapping past the limit, like memory.swap.max = 0 on
            // cgroup2. Only where swap accounting exists (the file is absent otherwise).
            let memsw = guard
                .places
                .iter()
                .find(|p| p.hierarchy.has("memory"))
                .map(|p| p.dir.join("memory.memsw.limit_in_bytes"));
            if memsw.is_some_and(|f| f.exists()) {
                res.memory.memory_swap_limit = res.memory.memory_hard_limit;
            }
        }
        if !on_v2.iter().any(|c| c == "pids") {
            res.pid.maximum_number_of_processes =
                plan.limits.pids.map(|n| MaxValue::Value(n as i64));
        }
        if let (Some((quota, period)), false) = (plan.limits.cpu, on_v2.iter().any(|c| c == "cpu"))
        {
            res.cpu.period = Some(period);
            res.cpu.quota = Some(quota as i64);
        }
        if let Some(cg) = &guard.v1 {
            cg.apply(&res).map_err(v1_err(&plan.path))?;
        }
        if let Some(l) = &leaf_rel {
            let cg =
                Cgroup::new_with_relative_paths(Box::new(V1::new()), rel.join(l), relative_paths)
                    .map_err(v1_err(&plan.path))?;
            guard.v1_leaf = Some(cg);
        }
        // cgroups-rs silently skips hierarchies it does not know; make sure each exists.
        for p in &guard.places {
            for d in std::iter::once(&p.dir).chain(p.leaf.as_ref()) {
                if !d.is_dir() {
                    std::fs::create_dir_all(d).map_err(io_err("mkdir", d))?;
                }
            }
        }
    }

    // cgroup2: lxnest's own code.
    if let Some(h) = own.unified() {
        let base = base_dir(h, opts.base)?;
        let dir = base.join(&rel);
        guard.places.push(Place {
            hierarchy: h.clone(),
            base: base.clone(),
            dir: dir.clone(),
            leaf: None,
        });
        v2::create_enabled(&base, &rel, &on_v2)?;
        v2::write_limits(&dir, &plan.limits, &on_v2)?;
        if let Some(l) = &leaf_rel {
            let leaf = dir.join(l);
            v2::mkdir(&leaf)?;
            if let Some(p) = guard.places.last_mut() {
                p.leaf = Some(leaf);
            }
        }
    }
    Ok(guard)
}

impl CgroupGuard {
    /// A guard that owns no directory: a container started without cgroups (an unprivileged
    /// user without a delegated subtree). Every operation on it does nothing.
    pub fn empty(plan_path: &str) -> CgroupGuard {
        CgroupGuard {
            path: plan_path.into(),
            places: Vec::new(),
            v1: None,
            v1_leaf: None,
            persist: false,
        }
    }

    /// The plan path this guard owns.
    pub fn path(&self) -> &str {
        &self.path
    }

    /// `(hierarchy label, container directory)` for every hierarchy.
    pub fn dirs(&self) -> Vec<(String, PathBuf)> {
        self.places
            .iter()
            .map(|p| (p.hierarchy.label(), p.dir.clone()))
            .collect()
    }

    /// The container's directory in the hierarchy holding `controller` (`unified` for cgroup2).
    pub fn dir_of(&self, controller: &str) -> Option<&Path> {
        self.places
            .iter()
            .find(|p| {
                if controller == "unified" {
                    p.is_v2()
                } else {
                    p.hierarchy.has(controller)
                }
            })
            .map(|p| p.dir.as_path())
    }

    /// The init leaf directories, when the plan asked for one on a host with cgroup2.
    pub fn leaf_dirs(&self) -> Vec<PathBuf> {
        self.places.iter().filter_map(|p| p.leaf.clone()).collect()
    }

    /// Moves a process (all its threads) into the container's cgroup in every hierarchy. Call it
    /// before the process unshares its cgroup namespace, so that this cgroup becomes its root.
    pub fn add_task(&self, pid: i32) -> Result<()> {
        if let Some(cg) = &self.v1 {
            cg.add_task_by_tgid(CgroupPid::from(pid as u64))
                .map_err(v1_err(&self.path))?;
        }
        for p in self.places.iter().filter(|p| !managed_by_cgroups_rs(p)) {
            v2::write(&p.dir, "cgroup.procs", &pid.to_string())?;
        }
        Ok(())
    }

    /// Moves a process into the init leaf (where there is one), after it unshared its cgroup
    /// namespace: cgroup v2 forbids processes in a node whose `cgroup.subtree_control` the
    /// delegatee will fill. Without a leaf this is [`CgroupGuard::add_task`].
    pub fn move_to_leaf(&self, pid: i32) -> Result<()> {
        if self.v1_leaf.is_none() && !self.places.iter().any(|p| p.leaf.is_some()) {
            return self.add_task(pid);
        }
        if let Some(cg) = &self.v1_leaf {
            cg.add_task_by_tgid(CgroupPid::from(pid as u64))
                .map_err(v1_err(&self.path))?;
        }
        for p in self.places.iter().filter(|p| !managed_by_cgroups_rs(p)) {
            let dir = p.leaf.as_ref().unwrap_or(&p.dir);
            v2::write(dir, "cgroup.procs", &pid.to_string())?;
        }
        Ok(())
    }

    /// Gives the subtree to `uid`/`gid` (see [`super::delegate`]).
    pub fn delegate(&self, uid: u32, gid: u32) -> Result<()> {
        super::delegate::delegate(&self.places, uid, gid)
    }

    /// Keeps the cgroups after the guard is gone (the container outlives this lxnest process;
    /// `stop` removes them with [`remove`]).
    pub fn persist(mut self) {
        self.persist = true;
    }

    /// Kills what runs inside and removes the directories now, reporting errors (Drop ignores them).
    pub fn remove(mut self) -> Result<()> {
        self.persist = true;
        teardown(&self.places, &self.path)
    }
}

impl Drop for CgroupGuard {
    fn drop(&mut self) {
        if !self.persist {
            if let Err(e) = teardown(&self.places, &self.path) {
                tracing::warn!("cgroup cleanup of {}: {e}", self.path);
            }
        }
    }
}

/// Removes a container's cgroups without a guard (`stop` after lxnest restarted): kills what
/// runs there and removes the directories in every hierarchy, under this process's own cgroup.
pub fn remove(_layout: &CgroupLayout, plan_path: &str) -> Result<()> {
    remove_with(plan_path, &CreateOptions::default())
}

/// [`remove`] with an explicit base.
pub fn remove_with(plan_path: &str, opts: &CreateOptions) -> Result<()> {
    let rel = plain_relative(plan_path)?;
    let own = own_paths()?;
    let mut places = Vec::new();
    for h in &own.hierarchies {
        let base = base_dir(h, opts.base)?;
        places.push(Place {
            hierarchy: h.clone(),
            dir: base.join(&rel),
            base,
            leaf: None,
        });
    }
    teardown(&places, plan_path)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::host::CgroupMode;

    fn hier(mount: &str, root: &str, path: &str) -> Hierarchy {
        Hierarchy {
            kind: HierarchyKind::V1(vec!["memory".into()]),
            mount_point: mount.into(),
            mount_root: root.into(),
            path: path.into(),
        }
    }

    #[test]
    fn guard_can_move_between_threads() {
        fn is_send<T: Send>() {}
        is_send::<CgroupGuard>();
    }

    #[test]
    fn plan_paths_must_be_plain_and_relative() {
        assert!(plain_relative("lxnest/a").is_ok());
        for bad in ["", "/abs", "a/../b", "./a", ".."] {
            assert!(
                matches!(plain_relative(bad), Err(CgroupError::BadPath(_))),
                "{bad}"
            );
        }
    }

    #[test]
    fn bases() {
        let h = hier("/sys/fs/cgroup/memory", "/", "/c1/init");
        assert_eq!(
            base_dir(&h, Base::Own).expect("own"),
            PathBuf::from("/sys/fs/cgroup/memory/c1/init")
        );
        assert_eq!(
            base_dir(&h, Base::OwnParent).expect("parent"),
            PathBuf::from("/sys/fs/cgroup/memory/c1")
        );
        assert_eq!(
            base_dir(&h, Base::MountRoot).expect("root"),
            PathBuf::from("/sys/fs/cgroup/memory")
        );
        // At the mount root, the parent is the root itself, never above the mount.
        let top = hier("/sys/fs/cgroup/memory", "/", "/");
        assert_eq!(
            base_dir(&top, Base::OwnParent).expect("parent"),
            PathBuf::from("/sys/fs/cgroup/memory")
        );
    }

    #[test]
    fn limits_go_where_the_controller_is() {
        let layout = CgroupLayout {
            mode: CgroupMode::Hybrid,
            v1_controllers: vec!["memory".into(), "pids".into()],
            unified_controllers: vec!["cpu".into(), "memory".into()],
            unified_mount: Some("/sys/fs/cgroup/unified".into()),
            nsdelegate: false,
        };
        assert_eq!(
            side_of(&layout, "memory"),
            Some(false),
            "v1 wins when both have it"
        );
        assert_eq!(side_of(&layout, "cpu"), Some(true));
        assert_eq!(side_of(&layout, "io"), None);
    }
}
