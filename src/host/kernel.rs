//! Kernel features: LSMs (AppArmor, Landlock), seccomp actions, namespaces, filesystems and the
//! modules nesting uses. Parsers are pure; `read_*` functions only look at files.

use super::fsread::{exists, optional, optional_line};
use super::kconfig::{builtin_lists, dep_lists, from_config, Availability, Source};
use crate::plan::host::KernelFeatures;
use serde::Serialize;
use std::path::Path;

/// AppArmor as seen from here.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct AppArmorFacts {
    /// The module is loaded and enabled (`/sys/module/apparmor/parameters/enabled` is `Y`).
    pub enabled: bool,
    /// Profile stacking (`features/domain/stack`).
    pub stacking: bool,
    /// Policy namespaces (`features/namespaces/profile`).
    pub policy_namespaces: bool,
    /// `apparmor_parser --version`, when the parser is installed.
    pub parser_version: Option<String>,
    /// Feature ABIs the installed policy can pin (`/etc/apparmor.d/abi/*`).
    pub parser_abis: Vec<String>,
    /// `kernel.apparmor_restrict_unprivileged_userns` (Ubuntu 23.10+), when the sysctl exists.
    pub restrict_unprivileged_userns: Option<bool>,
    /// This process's label (`unconfined`, `lxc-container-default (enforce)`), when an LSM
    /// answers the attr file.
    pub label: Option<String>,
}

/// Kernel facts beyond the planner's [`KernelFeatures`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct KernelExtras {
    /// `uname -r`.
    pub release: String,
    /// seccomp actions this kernel implements (/proc/sys/kernel/seccomp/actions_avail).
    pub seccomp_actions: Vec<String>,
    /// Linux >= 5.11 caches ALLOW decisions per syscall for filters that allow without looking
    /// at arguments.
    pub seccomp_allow_cache: bool,
    /// Filesystem types the kernel knows now (/proc/filesystems).
    pub filesystems: Vec<String>,
    /// `user.max_user_namespaces`.
    pub max_user_namespaces: Option<u64>,
    /// fscrypt (filesystem-level encryption).
    pub fscrypt: Availability,
    /// dm-crypt (block-level encryption).
    pub dm_crypt: Availability,
    /// /proc/misc lists device-mapper.
    pub device_mapper: bool,
    /// overlayfs.
    pub overlay: Availability,
    /// veth pairs.
    pub veth: Availability,
    /// Linux bridges.
    pub bridge: Availability,
    /// nftables.
    pub nftables: Availability,
}

/// `Y`/`yes`/`1` style booleans of sysfs and securityfs.
pub(crate) fn truthy(text: &str) -> bool {
    matches!(text.trim(), "Y" | "y" | "yes" | "1")
}

/// The names of a /proc/filesystems text (`nodev\tproc`, `\text4`).
pub(crate) fn filesystems(text: &str) -> Vec<String> {
    text.lines()
        .filter_map(|l| l.split_whitespace().last())
        .map(String::from)
        .collect()
}

/// `(major, minor)` of a kernel release string (`6.18.44-fc-v669`).
pub(crate) fn release_version(release: &str) -> Option<(u32, u32)> {
    let mut it = release.split(|c: char| !c.is_ascii_digit());
    Some((it.next()?.parse().ok()?, it.next()?.parse().ok()?))
}

/// The version out of `apparmor_parser --version` (`AppArmor parser version 3.0.8`).
pub(crate) fn parser_version(output: &str) -> Option<String> {
    let first = output.lines().next()?;
    first
        .trim()
        .strip_prefix("AppArmor parser version ")
        .map(|v| v.trim().to_string())
}

/// Availability of a feature that is a kernel option and a module: a loaded module answers
/// first, then the kernel config, then modules.builtin and modules.dep.
pub(crate) fn module_feature(
    config: Option<&str>,
    option: &str,
    module: &str,
    loaded: bool,
    builtin: Option<&str>,
    dep: Option<&str>,
) -> Availability {
    if loaded {
        return Availability::Yes(Source::LoadedModule(module.into()));
    }
    if let Some(cfg) = config {
        return from_config(cfg, option);
    }
    if builtin.is_some_and(|b| builtin_lists(b, module)) {
        return Availability::Yes(Source::Builtin(module.into()));
    }
    if dep.is_some_and(|d| dep_lists(d, module)) {
        return Availability::Yes(Source::ModuleFile(module.into()));
    }
    if builtin.is_some() && dep.is_some() {
        return Availability::No(Source::ModuleFile(module.into()));
    }
    Availability::Unknown
}

/// The running kernel's config text, from /proc/config.gz or /boot/config-<release>.
fn kernel_config(release: &str) -> Option<String> {
    use std::io::Read;
    if let Ok(f) = std::fs::File::open("/proc/config.gz") {
        let mut text = String::new();
        if flate2::read::GzDecoder::new(f)
            .read_to_string(&mut text)
            .is_ok()
        {
            return Some(text);
        }
    }
    optional(format!("/boot/config-{release}"))
}

/// The Landlock ABI version, asking the kernel with `LANDLOCK_CREATE_RULESET_VERSION`.
pub(crate) fn landlock_abi() -> Option<u32> {
    const LANDLOCK_CREATE_RULESET_VERSION: libc::c_uint = 1;
    // SAFETY: with a null attribute pointer, size 0 and the VERSION flag the kernel only returns
    // the ABI number (or an error); nothing is created and no memory is read or written.
    let ret = unsafe {
        libc::syscall(
            libc::SYS_landlock_create_ruleset,
            std::ptr::null::<libc::c_void>(),
            0usize,
            LANDLOCK_CREATE_RULESET_VERSION,
        )
    };
    u32::try_from(ret).ok().filter(|v| *v > 0)
}

/// Reads AppArmor's state. `run_parser` runs `apparmor_parser --version` (check does; the
/// planner's snapshot does not need it).
pub(crate) fn read_apparmor(run_parser: bool) -> AppArmorFacts {
    let mut facts = read_apparmor_at(Path::new("/"));
    if run_parser {
        facts.parser_version = std::process::Command::new("apparmor_parser")
            .arg("--version")
            .output()
            .ok()
            .and_then(|o| parser_version(&String::from_utf8_lossy(&o.stdout)));
    }
    facts
}

/// Reads AppArmor's files below `root` (`/` on a real system; a fake tree in tests).
pub(crate) fn read_apparmor_at(root: &Path) -> AppArmorFacts {
    let at = |p: &str| root.join(p);
    let sec = "sys/kernel/security/apparmor";
    let enabled =
        optional(at("sys/module/apparmor/parameters/enabled")).is_some_and(|t| truthy(&t));
    let label = optional_line(at("proc/self/attr/apparmor/current"))
        .or_else(|| optional_line(at("proc/self/attr/current")))
        .filter(|l| !l.is_empty());
    let mut parser_abis: Vec<String> = std::fs::read_dir(at("etc/apparmor.d/abi"))
        .map(|d| {
            d.flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    parser_abis.sort();
    AppArmorFacts {
        enabled,
        stacking: enabled
            && optional(at(&format!("{sec}/features/domain/stack"))).is_some_and(|t| truthy(&t)),
        policy_namespaces: enabled
            && (optional(at(&format!("{sec}/features/namespaces/profile")))
                .is_some_and(|t| truthy(&t))
                || exists(at(&format!("{sec}/policy/namespaces")))),
        parser_version: None,
        parser_abis,
        restrict_unprivileged_userns: optional(at(
            "proc/sys/kernel/apparmor_restrict_unprivileged_userns",
        ))
        .map(|t| truthy(&t)),
        label,
    }
}

/// Reads the kernel facts that check reports beyond the snapshot.
pub(crate) fn read_extras() -> KernelExtras {
    let release = nix::sys::utsname::uname()
        .map(|u| u.release().to_string_lossy().into_owned())
        .unwrap_or_default();
    let config = kernel_config(&release);
    let cfg = config.as_deref();
    let builtin = optional(format!("/lib/modules/{release}/modules.builtin"));
    let dep = optional(format!("/lib/modules/{release}/modules.dep"));
    let feature = |option: &str, module: &str| {
        module_feature(
            cfg,
            option,
            module,
            exists(format!("/sys/module/{module}")),
            builtin.as_deref(),
            dep.as_deref(),
        )
    };
    let fs = filesystems(&optional("/proc/filesystems").unwrap_or_default());
    let overlay = if fs.iter().any(|f| f == "overlay") {
        Availability::Yes(Source::File("/proc/filesystems".into()))
    } else {
        feature("OVERLAY_FS", "overlay")
    };
    let fscrypt = if exists("/sys/fs/ext4/features/encryption") {
        Availability::Yes(Source::File("/sys/fs/ext4/features/encryption".into()))
    } else {
        cfg.map(|c| from_config(c, "FS_ENCRYPTION"))
            .unwrap_or(Availability::Unknown)
    };
    KernelExtras {
        seccomp_actions: optional("/proc/sys/kernel/seccomp/actions_avail")
            .map(|t| t.split_whitespace().map(String::from).collect())
            .unwrap_or_default(),
        seccomp_allow_cache: release_version(&release).is_some_and(|v| v >= (5, 11)),
        release,
        filesystems: fs,
        max_user_namespaces: optional_line("/proc/sys/user/max_user_namespaces")
            .and_then(|t| t.parse().ok()),
        fscrypt,
        dm_crypt: feature("DM_CRYPT", "dm_crypt"),
        device_mapper: optional("/proc/misc")
            .is_some_and(|t| t.lines().any(|l| l.trim().ends_with("device-mapper"))),
        overlay,
        veth: feature("VETH", "veth"),
        bridge: feature("BRIDGE", "bridge"),
        nftables: feature("NF_TABLES", "nf_tables"),
    }
}

/// The planner's kernel features. `privileged` is whether we are real root, which lifts the
/// unprivileged user namespace restrictions.
pub(crate) fn features(
    apparmor: &AppArmorFacts,
    seccomp_actions: &[String],
    max_userns: Option<u64>,
    privileged: bool,
) -> KernelFeatures {
    let unpriv_clone =
        optional_line("/proc/sys/kernel/unprivileged_userns_clone").map(|t| t != "0");
    KernelFeatures {
        apparmor: apparmor.enabled,
        apparmor_stacking: apparmor.stacking && apparmor.policy_namespaces,
        landlock_abi: landlock_abi(),
        seccomp_notify: seccomp_actions.iter().any(|a| a == "user_notif"),
        userns: userns_allowed(
            exists("/proc/self/ns/user"),
            max_userns,
            unpriv_clone,
            apparmor.restrict_unprivileged_userns,
            privileged,
        ),
        cgroupns: exists("/proc/self/ns/cgroup"),
        timens: exists("/proc/self/ns/time"),
    }
}

/// Whether user namespaces can be created, from the sysctls that restrict them.
pub(crate) fn userns_allowed(
    present: bool,
    max: Option<u64>,
    unprivileged_clone: Option<bool>,
    apparmor_restrict: Option<bool>,
    privileged: bool,
) -> bool {
    present
        && max != Some(0)
        && (privileged || (unprivileged_clone != Some(false) && apparmor_restrict != Some(true)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn small_parsers() {
        assert!(truthy("Y\n") && truthy("yes") && !truthy("N") && !truthy(""));
        assert_eq!(
            filesystems("nodev\tsysfs\nnodev\tcgroup2\n\text4\n"),
            vec!["sysfs", "cgroup2", "ext4"]
        );
        assert_eq!(release_version("6.18.44-fc-v669"), Some((6, 18)));
        assert_eq!(release_version("5.4.0-150-generic"), Some((5, 4)));
        assert_eq!(release_version("weird"), None);
        assert_eq!(
            parser_version("AppArmor parser version 3.0.8\nCopyright (C) 1999-2008 Novell Inc.\n")
                .as_deref(),
            Some("3.0.8")
        );
        assert_eq!(parser_version("nope"), None);
    }

    #[test]
    fn module_feature_order() {
        let cfg = "CONFIG_VETH=y\n";
        assert!(matches!(
            module_feature(Some(cfg), "VETH", "veth", false, None, None),
            Availability::Yes(Source::Config(_))
        ));
        assert!(matches!(
            module_feature(Some(cfg), "BRIDGE", "bridge", true, None, None),
            Availability::Yes(Source::LoadedModule(_))
        ));
        assert!(matches!(
            module_feature(Some(cfg), "BRIDGE", "bridge", false, None, None),
            Availability::No(_)
        ));
        let dep = "kernel/net/bridge/bridge.ko: \n";
        assert!(matches!(
            module_feature(None, "BRIDGE", "bridge", false, Some(""), Some(dep)),
            Availability::Yes(Source::ModuleFile(_))
        ));
        assert!(matches!(
            module_feature(None, "BRIDGE", "bridge", false, Some(""), Some("")),
            Availability::No(_)
        ));
        assert_eq!(
            module_feature(None, "BRIDGE", "bridge", false, None, None),
            Availability::Unknown
        );
    }

    #[test]
    fn apparmor_from_a_fake_tree() {
        let dir = tempfile::tempdir().expect("tempdir");
        let put = |p: &str, text: &str| {
            let path = dir.path().join(p);
            std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
            std::fs::write(path, text).expect("write");
        };
        // Absent module: nothing is enabled even if stray files exist.
        put(
            "sys/kernel/security/apparmor/features/domain/stack",
            "yes\n",
        );
        assert!(!read_apparmor_at(dir.path()).stacking);
        // An Ubuntu 24.04 kernel inside an LXD container.
        put("sys/module/apparmor/parameters/enabled", "Y\n");
        put(
            "sys/kernel/security/apparmor/features/namespaces/profile",
            "yes\n",
        );
        put(
            "proc/self/attr/apparmor/current",
            "lxd-c1_</var/snap/lxd/common/lxd> (enforce)\n",
        );
        put(
            "proc/sys/kernel/apparmor_restrict_unprivileged_userns",
            "1\n",
        );
        put("etc/apparmor.d/abi/4.0", "");
        put("etc/apparmor.d/abi/3.0", "");
        let f = read_apparmor_at(dir.path());
        assert!(f.enabled && f.stacking && f.policy_namespaces);
        assert_eq!(
            f.label.as_deref(),
            Some("lxd-c1_</var/snap/lxd/common/lxd> (enforce)")
        );
        assert_eq!(f.restrict_unprivileged_userns, Some(true));
        assert_eq!(f.parser_abis, vec!["3.0".to_string(), "4.0".to_string()]);
    }

    #[test]
    fn userns_restrictions() {
        assert!(userns_allowed(true, Some(1000), None, None, false));
        assert!(!userns_allowed(true, Some(0), None, None, true));
        assert!(!userns_allowed(true, Some(1000), Some(false), None, false));
        assert!(userns_allowed(
            true,
            Some(1000),
            Some(false),
            Some(true),
            true
        ));
        assert!(!userns_allowed(true, Some(1000), None, Some(true), false));
        assert!(!userns_allowed(false, None, None, None, true));
    }
}
