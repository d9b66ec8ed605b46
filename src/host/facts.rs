//! Everything `lxnest check` reports: the planner's snapshot plus probes and details, read in
//! one pass so that plan and check can never disagree.

use super::caps::cap_names;
use super::delegation::{self, Delegation};
use super::fsread::optional;
use super::kernel::{self, AppArmorFacts, KernelExtras};
use super::level::NestingFacts;
use super::mountinfo::{pseudo_mounts, PseudoMount};
use super::probe::{self, ProbeResult};
use super::snapshot::collect;
use super::tools::{self, ToolFacts};
use super::HostError;
use crate::plan::host::HostSnapshot;
use serde::Serialize;

/// seccomp as it applies to this process.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SeccompFacts {
    /// `Seccomp:` 0 none, 1 strict, 2 filter.
    pub mode: Option<u32>,
    /// Filters stacked over this process (`Seccomp_filters:`, Linux >= 5.9).
    pub filters: Option<u32>,
    /// `NoNewPrivs:`.
    pub no_new_privs: Option<bool>,
    /// Actions the kernel implements.
    pub actions: Vec<String>,
    /// The per-syscall ALLOW cache exists (Linux >= 5.11).
    pub allow_cache: bool,
}

/// Capabilities of this process, by name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CapFacts {
    /// Effective now.
    pub effective: Vec<String>,
    /// Bounding set: what any program run from here can ever have.
    pub bounding: Vec<String>,
}

/// cgroup details beyond the planner's layout.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CgroupFacts {
    /// Lines of /proc/self/cgroup.
    pub membership: Vec<String>,
    /// Files a delegatee may write (/sys/kernel/cgroup/delegate).
    pub delegate_files: Vec<String>,
    /// cgroup2 features (/sys/kernel/cgroup/features).
    pub features: Vec<String>,
    /// The write/delegation probe.
    pub delegation: Delegation,
}

/// proc and sysfs mounts and whether a clean copy exists for an inner runtime.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ProcSysfsFacts {
    /// Whole proc mounts with what covers them.
    pub proc: Vec<PseudoMount>,
    /// Whole sysfs mounts with what covers them.
    pub sysfs: Vec<PseudoMount>,
}

impl ProcSysfsFacts {
    /// A proc mount with nothing on top, if any.
    pub fn clean_proc(&self) -> Option<&str> {
        self.proc
            .iter()
            .find(|m| m.is_clean())
            .map(|m| m.mount_point.as_str())
    }

    /// A sysfs mount with nothing on top, if any.
    pub fn clean_sysfs(&self) -> Option<&str> {
        self.sysfs
            .iter()
            .find(|m| m.is_clean())
            .map(|m| m.mount_point.as_str())
    }
}

/// A device node nested runtimes ask for, and whether this process can open it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DeviceFact {
    /// Path (`/dev/fuse`).
    pub path: String,
    /// It exists and is a character device.
    pub present: bool,
    /// Opening it read-write failed with this errno (the device cgroup or an LSM refused it).
    pub open_error: Option<String>,
}

/// Devices the runtime presets may name; opening them creates nothing (no ioctl is issued).
pub const DEVICES: &[&str] = &[
    "/dev/fuse",
    "/dev/net/tun",
    "/dev/kvm",
    "/dev/loop-control",
    "/dev/mapper/control",
];

fn device(path: &str) -> DeviceFact {
    use std::os::unix::fs::FileTypeExt;
    let present = std::fs::metadata(path).is_ok_and(|m| m.file_type().is_char_device());
    let open_error = if present {
        std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .open(path)
            .err()
            .map(|e| {
                e.raw_os_error()
                    .map(|n| format!("{:?}", nix::errno::Errno::from_raw(n)))
                    .unwrap_or_else(|| e.to_string())
            })
    } else {
        None
    };
    DeviceFact {
        path: path.into(),
        present,
        open_error,
    }
}

/// All facts `check` reports.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Facts {
    /// What the planner sees.
    pub snapshot: HostSnapshot,
    /// Interface of the default route.
    pub uplink: Option<String>,
    /// Nesting level and evidence.
    pub nesting: NestingFacts,
    /// Kernel release, seccomp actions, filesystems, modules.
    pub kernel: KernelExtras,
    /// AppArmor details.
    pub apparmor: AppArmorFacts,
    /// seccomp state of this process.
    pub seccomp: SeccompFacts,
    /// Capabilities.
    pub caps: CapFacts,
    /// cgroup details.
    pub cgroup: CgroupFacts,
    /// proc/sysfs copies.
    pub proc_sysfs: ProcSysfsFacts,
    /// Helper programs.
    pub tools: ToolFacts,
    /// Syscall probes.
    pub probes: Vec<ProbeResult>,
    /// Device nodes.
    pub devices: Vec<DeviceFact>,
    /// Facts that could not be read here (a blocked netlink socket), with why.
    pub notes: Vec<String>,
}

fn lines(text: Option<String>) -> Vec<String> {
    text.map(|t| {
        t.lines()
            .map(|l| l.trim().to_string())
            .filter(|l| !l.is_empty())
            .collect()
    })
    .unwrap_or_default()
}

/// Reads the snapshot and everything check adds: forks probe children, and creates and removes
/// a probe cgroup below this process's own.
pub fn facts() -> Result<Facts, HostError> {
    let c = collect(true)?;
    let caps = CapFacts {
        effective: cap_names(c.status.cap_eff.unwrap_or(0)),
        bounding: cap_names(c.status.cap_bnd.unwrap_or(0)),
    };
    let probes = probe::run_all(&caps.effective)?;
    let mut extras = kernel::read_extras();
    extras.max_user_namespaces = extras.max_user_namespaces.or(c.max_user_namespaces);
    Ok(Facts {
        seccomp: SeccompFacts {
            mode: c.status.seccomp_mode,
            filters: c.status.seccomp_filters,
            no_new_privs: c.status.no_new_privs,
            actions: c.seccomp_actions.clone(),
            allow_cache: extras.seccomp_allow_cache,
        },
        cgroup: CgroupFacts {
            membership: lines(Some(c.self_cgroup.clone())),
            delegate_files: lines(optional("/sys/kernel/cgroup/delegate")),
            features: lines(optional("/sys/kernel/cgroup/features")),
            delegation: delegation::probe(&c.mounts, &c.self_cgroup),
        },
        proc_sysfs: ProcSysfsFacts {
            proc: pseudo_mounts(&c.mounts, "proc"),
            sysfs: pseudo_mounts(&c.mounts, "sysfs"),
        },
        tools: tools::read(),
        probes,
        devices: DEVICES.iter().map(|d| device(d)).collect(),
        caps,
        kernel: extras,
        apparmor: c.apparmor,
        nesting: c.nesting,
        uplink: c.uplink,
        notes: c.notes,
        snapshot: c.snapshot,
    })
}
