//! Which cgroup hierarchies are mounted where, and where this process sits in each.
//!
//! Pure parsers ([`parse_mountinfo`], [`parse_proc_cgroup`], [`layout_of`], [`own_from`]) work
//! on text and are unit-tested on v1, hybrid and unified samples; [`detect`] and [`own_paths`]
//! only read the two proc files and call them.

use super::{io_err, CgroupError, Result};
use crate::plan::host::CgroupLayout;
use std::path::{Path, PathBuf};

/// Controllers a v1 hierarchy can carry; other super options (`rw`, `clone_children`,
/// `release_agent=...`) are mount flags, not controllers.
const V1_CONTROLLERS: &[&str] = &[
    "blkio",
    "cpu",
    "cpuacct",
    "cpuset",
    "debug",
    "devices",
    "freezer",
    "hugetlb",
    "memory",
    "misc",
    "net_cls",
    "net_prio",
    "perf_event",
    "pids",
    "rdma",
];

/// Whether a hierarchy is a v1 controller hierarchy or cgroup2.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HierarchyKind {
    /// A v1 hierarchy with these controllers (`name=systemd` for a named one).
    V1(Vec<String>),
    /// The cgroup2 hierarchy.
    Unified,
}

/// A cgroup filesystem mount from mountinfo.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CgroupMount {
    /// v1 controllers or cgroup2.
    pub kind: HierarchyKind,
    /// Where it is mounted.
    pub mount_point: PathBuf,
    /// Which cgroup of the hierarchy is the mount's root (`/` unless bind-mounted from inside,
    /// or seen from a cgroup namespace whose root differs).
    pub root: String,
    /// cgroup2 mounted with `nsdelegate`.
    pub nsdelegate: bool,
}

/// One line of /proc/PID/cgroup.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProcCgroupLine {
    /// Hierarchy id (0 for cgroup2).
    pub id: u32,
    /// Controllers of the hierarchy (empty for cgroup2).
    pub controllers: Vec<String>,
    /// Path of the process's cgroup, relative to the reader's cgroup namespace root.
    pub path: String,
}

/// This process's place in one mounted hierarchy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hierarchy {
    /// v1 controllers or cgroup2.
    pub kind: HierarchyKind,
    /// Mount point.
    pub mount_point: PathBuf,
    /// Root of the mount inside the hierarchy.
    pub mount_root: String,
    /// Own cgroup path as in /proc/self/cgroup.
    pub path: String,
}

impl Hierarchy {
    /// A short label for messages and file names: `memory`, `cpu,cpuacct`, `name=systemd`, `unified`.
    pub fn label(&self) -> String {
        match &self.kind {
            HierarchyKind::V1(c) => c.join(","),
            HierarchyKind::Unified => "unified".into(),
        }
    }

    /// The directory of this process's own cgroup.
    pub fn own_dir(&self) -> Result<PathBuf> {
        let rel = relative_to_root(&self.path, &self.mount_root).ok_or_else(|| {
            CgroupError::NotVisible {
                hierarchy: self.label(),
                path: self.path.clone(),
                mount: self.mount_point.clone(),
                root: self.mount_root.clone(),
            }
        })?;
        Ok(if rel.is_empty() {
            self.mount_point.clone()
        } else {
            self.mount_point.join(rel)
        })
    }

    /// Whether this hierarchy carries the named controller.
    pub fn has(&self, controller: &str) -> bool {
        matches!(&self.kind, HierarchyKind::V1(c) if c.iter().any(|x| x == controller))
    }
}

/// This process's cgroups, one entry per mounted hierarchy.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct OwnCgroups {
    /// v1 hierarchies first (in /proc/self/cgroup order), then cgroup2 if mounted.
    pub hierarchies: Vec<Hierarchy>,
}

impl OwnCgroups {
    /// The cgroup2 entry, if cgroup2 is mounted.
    pub fn unified(&self) -> Option<&Hierarchy> {
        self.hierarchies
            .iter()
            .find(|h| h.kind == HierarchyKind::Unified)
    }

    /// The v1 hierarchies.
    pub fn v1(&self) -> impl Iterator<Item = &Hierarchy> {
        self.hierarchies
            .iter()
            .filter(|h| h.kind != HierarchyKind::Unified)
    }
}

/// `path` relative to `root` (without leading `/`), `None` when it lies outside.
fn relative_to_root<'a>(path: &'a str, root: &str) -> Option<&'a str> {
    let root = root.trim_end_matches('/');
    let rest = path.strip_prefix(root)?;
    if !rest.is_empty() && !rest.starts_with('/') {
        return None;
    }
    let rest = rest.trim_start_matches('/');
    if rest.split('/').any(|c| c == "..") {
        return None;
    }
    Some(rest)
}

/// The cgroup and cgroup2 mounts of a mountinfo text, in order.
pub fn parse_mountinfo(text: &str) -> Result<Vec<CgroupMount>> {
    let mut out = Vec::new();
    for (n, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let bad = || CgroupError::Parse {
            file: "/proc/self/mountinfo",
            line: n + 1,
            text: line.to_string(),
        };
        // One mountinfo reader for lxnest: the host's.
        let m = crate::host::mountinfo::parse_line(line).ok_or_else(bad)?;
        let opts: Vec<&str> = m.super_options.iter().map(String::as_str).collect();
        let kind = match m.fstype.as_str() {
            "cgroup2" => HierarchyKind::Unified,
            "cgroup" => {
                let controllers: Vec<String> = opts
                    .iter()
                    .filter(|o| V1_CONTROLLERS.contains(o) || o.starts_with("name="))
                    .map(|o| o.to_string())
                    .collect();
                HierarchyKind::V1(controllers)
            }
            _ => continue,
        };
        out.push(CgroupMount {
            nsdelegate: kind == HierarchyKind::Unified && opts.contains(&"nsdelegate"),
            kind,
            mount_point: PathBuf::from(&m.mount_point),
            root: m.root.clone(),
        });
    }
    Ok(out)
}

/// The lines of a /proc/PID/cgroup text.
pub fn parse_proc_cgroup(text: &str) -> Result<Vec<ProcCgroupLine>> {
    let mut out = Vec::new();
    for (n, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let bad = || CgroupError::Parse {
            file: "/proc/self/cgroup",
            line: n + 1,
            text: line.to_string(),
        };
        let mut parts = line.splitn(3, ':');
        let id = parts
            .next()
            .and_then(|s| s.parse::<u32>().ok())
            .ok_or_else(bad)?;
        let controllers = parts.next().ok_or_else(bad)?;
        let path = parts.next().ok_or_else(bad)?;
        let controllers = controllers
            .split(',')
            .filter(|s| !s.is_empty())
            .map(String::from)
            .collect();
        out.push(ProcCgroupLine {
            id,
            controllers,
            path: path.to_string(),
        });
    }
    Ok(out)
}

/// Picks, among the mounts of one hierarchy, one that shows `path` (the first such mount).
fn pick_mount<'a>(mounts: &[&'a CgroupMount], path: &str) -> Option<&'a CgroupMount> {
    mounts
        .iter()
        .copied()
        .find(|m| relative_to_root(path, &m.root).is_some())
        .or(mounts.first().copied())
}

/// This process's hierarchies from mountinfo and /proc/self/cgroup. Hierarchies that are not
/// mounted are skipped: lxnest can only act where it sees a mount.
pub fn own_from(mounts: &[CgroupMount], lines: &[ProcCgroupLine]) -> OwnCgroups {
    let mut hierarchies = Vec::new();
    for line in lines {
        let kind = if line.id == 0 && line.controllers.is_empty() {
            HierarchyKind::Unified
        } else {
            HierarchyKind::V1(line.controllers.clone())
        };
        let candidates: Vec<&CgroupMount> = mounts
            .iter()
            .filter(|m| match (&m.kind, &kind) {
                (HierarchyKind::Unified, HierarchyKind::Unified) => true,
                (HierarchyKind::V1(a), HierarchyKind::V1(b)) => {
                    let mut a = a.clone();
                    let mut b = b.clone();
                    a.sort();
                    b.sort();
                    a == b
                }
                _ => false,
            })
            .collect();
        if let Some(m) = pick_mount(&candidates, &line.path) {
            hierarchies.push(Hierarchy {
                kind,
                mount_point: m.mount_point.clone(),
                mount_root: m.root.clone(),
                path: line.path.clone(),
            });
        }
    }
    // v1 first, cgroup2 last, so that callers acting "everywhere" meet the same order always.
    hierarchies.sort_by_key(|h| h.kind == HierarchyKind::Unified);
    OwnCgroups { hierarchies }
}

/// The layout from the texts of mountinfo, /proc/self/cgroup and the cgroup2 mount's
/// `cgroup.controllers` (empty when there is no cgroup2 mount), computed by lxnest's one reader of
/// the layout, the host's (so `plan`, `check` and the launcher agree); an error when no cgroup
/// filesystem is mounted (lxnest can only act where it sees a mount).
pub fn layout_of(
    mountinfo: &str,
    self_cgroup: &str,
    unified_controllers: &str,
) -> Result<CgroupLayout> {
    if parse_mountinfo(mountinfo)?.is_empty() {
        return Err(CgroupError::NoCgroupMounts);
    }
    let (mounts, _) = crate::host::mountinfo::parse(mountinfo);
    Ok(crate::host::cgroup::layout(
        &mounts,
        self_cgroup,
        Some(unified_controllers),
    ))
}

fn read(path: &str) -> Result<String> {
    std::fs::read_to_string(path).map_err(io_err("read", path))
}

/// This process's cgroups in every mounted hierarchy, from /proc/self.
pub fn own_paths() -> Result<OwnCgroups> {
    let mounts = parse_mountinfo(&read("/proc/self/mountinfo")?)?;
    let lines = parse_proc_cgroup(&read("/proc/self/cgroup")?)?;
    Ok(own_from(&mounts, &lines))
}

/// Detects the cgroup layout of the running system as this process sees it.
pub fn detect() -> Result<CgroupLayout> {
    let mountinfo = read("/proc/self/mountinfo")?;
    let self_cgroup = read("/proc/self/cgroup")?;
    let own = own_from(
        &parse_mountinfo(&mountinfo)?,
        &parse_proc_cgroup(&self_cgroup)?,
    );
    // The controllers available to lxnest's cgroups are those of the cgroup2 mount's root (the
    // cgroup namespace root when nested), as the brief for CgroupLayout defines.
    let controllers = match own.unified() {
        Some(h) => {
            let p = h.mount_point.join("cgroup.controllers");
            std::fs::read_to_string(&p).map_err(io_err("read", p))?
        }
        None => String::new(),
    };
    layout_of(&mountinfo, &self_cgroup, &controllers)
}

/// Whether `dir` is a cgroup2 directory (it has `cgroup.controllers`).
pub fn is_v2_dir(dir: &Path) -> bool {
    dir.join("cgroup.controllers").exists()
}

#[cfg(test)]
#[path = "layout_tests.rs"]
mod tests;
