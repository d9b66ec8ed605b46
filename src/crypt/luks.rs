//! dm-crypt / LUKS2: detection only. lxnest encrypts roots with fscrypt; a block-level LUKS2
//! volume needs the device mapper, the dm_crypt target and `cryptsetup`, and this module says
//! which of them a machine lacks.

use std::fmt;
use std::path::{Path, PathBuf};

/// Why LUKS2 cannot be used here (one reason per missing piece).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct Unavailable {
    /// The reasons, each with what would fix it.
    pub why: Vec<String>,
}

impl fmt::Display for Unavailable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "dm-crypt/LUKS2 unavailable: {}", self.why.join("; "))
    }
}

/// What the machine offers, as read from /sys, /proc, /dev and PATH.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LuksFacts {
    /// /sys/module/dm_crypt exists (loaded or built in).
    pub dm_crypt_loaded: bool,
    /// modules.dep of the running kernel lists dm-crypt (it could be loaded).
    pub dm_crypt_loadable: bool,
    /// The kernel has the device mapper (/proc/misc lists `device-mapper`).
    pub device_mapper: bool,
    /// /dev/mapper/control exists.
    pub mapper_control: bool,
    /// Where `cryptsetup` is, if on PATH.
    pub cryptsetup: Option<PathBuf>,
}

/// Reads the facts of this machine.
pub fn gather() -> LuksFacts {
    let release = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default();
    let dep = Path::new("/lib/modules")
        .join(release.trim())
        .join("modules.dep");
    let listed = |text: String| {
        text.lines().any(|l| {
            l.split(':')
                .next()
                .is_some_and(|m| m.contains("/dm-crypt.ko"))
        })
    };
    LuksFacts {
        dm_crypt_loaded: Path::new("/sys/module/dm_crypt").exists(),
        dm_crypt_loadable: std::fs::read_to_string(dep).map(listed).unwrap_or(false),
        device_mapper: std::fs::read_to_string("/proc/misc").is_ok_and(|t| {
            t.lines()
                .any(|l| l.split_whitespace().nth(1) == Some("device-mapper"))
        }),
        mapper_control: Path::new("/dev/mapper/control").exists(),
        cryptsetup: find_on_path("cryptsetup"),
    }
}

/// The decision from the facts: `Ok` when LUKS2 volumes could be opened here.
pub fn decide(f: &LuksFacts) -> Result<(), Unavailable> {
    let mut why = Vec::new();
    if !f.device_mapper && !f.mapper_control {
        why.push("the kernel has no device mapper (CONFIG_BLK_DEV_DM)".to_string());
    } else if !f.mapper_control {
        why.push("/dev/mapper/control is missing (create it with `dmsetup mknodes`)".to_string());
    }
    if !f.dm_crypt_loaded {
        why.push(if f.dm_crypt_loadable {
            "the dm_crypt module is not loaded (`modprobe dm_crypt`)".to_string()
        } else {
            "the kernel has no dm_crypt target (not loaded, no module to load: CONFIG_DM_CRYPT)"
                .to_string()
        });
    }
    if f.cryptsetup.is_none() {
        why.push("`cryptsetup` is not on PATH (Debian package cryptsetup-bin)".to_string());
    }
    if why.is_empty() {
        Ok(())
    } else {
        Err(Unavailable { why })
    }
}

/// Whether dm-crypt/LUKS2 is usable on this machine, and if not, why.
pub fn luks_available() -> Result<(), Unavailable> {
    decide(&gather())
}

fn find_on_path(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_else(|| "/usr/sbin:/usr/bin:/sbin:/bin".into());
    std::env::split_paths(&path)
        .map(|d| d.join(name))
        .find(|p| {
            use std::os::unix::fs::PermissionsExt;
            std::fs::metadata(p).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn full() -> LuksFacts {
        LuksFacts {
            dm_crypt_loaded: true,
            dm_crypt_loadable: true,
            device_mapper: true,
            mapper_control: true,
            cryptsetup: Some("/usr/sbin/cryptsetup".into()),
        }
    }

    #[test]
    fn everything_present_is_available() {
        assert_eq!(decide(&full()), Ok(()));
    }

    #[test]
    fn each_missing_piece_is_named_with_its_fix() {
        let why = |f: LuksFacts| decide(&f).unwrap_err().why.join("\n");
        assert!(why(LuksFacts {
            cryptsetup: None,
            ..full()
        })
        .contains("cryptsetup-bin"));
        assert!(why(LuksFacts {
            dm_crypt_loaded: false,
            ..full()
        })
        .contains("modprobe dm_crypt"));
        let w = why(LuksFacts {
            dm_crypt_loaded: false,
            dm_crypt_loadable: false,
            ..full()
        });
        assert!(w.contains("CONFIG_DM_CRYPT"), "{w}");
        assert!(why(LuksFacts {
            mapper_control: false,
            ..full()
        })
        .contains("dmsetup mknodes"));
        let none = decide(&LuksFacts::default()).unwrap_err();
        assert_eq!(none.why.len(), 3, "{none}");
        assert!(none.to_string().contains("CONFIG_BLK_DEV_DM"));
    }

    /// The real machine: each fact gather() reports is checked against the machine read another
    /// way (/proc/devices for the device mapper, `command -v` for cryptsetup, stat for the
    /// rest), and the answer is "available" exactly when all of them are there (on the CI
    /// machines, no /dev/mapper/control, so unavailable with that reason).
    #[test]
    fn real_machine_answer_matches_its_facts() {
        let facts = gather();
        let control = std::fs::metadata("/dev/mapper/control");
        assert_eq!(facts.mapper_control, control.is_ok(), "/dev/mapper/control");
        assert_eq!(
            facts.dm_crypt_loaded,
            std::fs::metadata("/sys/module/dm_crypt").is_ok_and(|m| m.is_dir()),
            "/sys/module/dm_crypt"
        );
        // The device mapper registers a block major in /proc/devices once it is in the kernel.
        let devices = std::fs::read_to_string("/proc/devices").unwrap_or_default();
        let dm_major = devices.lines().any(|l| l.ends_with(" device-mapper"));
        assert_eq!(
            facts.device_mapper, dm_major,
            "device-mapper in /proc/devices"
        );
        let which = std::process::Command::new("sh")
            .args(["-c", "command -v cryptsetup"])
            .output()
            .expect("sh");
        let found = String::from_utf8_lossy(&which.stdout).trim().to_string();
        assert_eq!(
            facts.cryptsetup.as_ref().map(|p| p.display().to_string()),
            (!found.is_empty()).then_some(found),
            "cryptsetup on PATH"
        );
        // /dev/mapper/control stands for the device mapper here (decide() asks for it either way).
        let all = facts.mapper_control && facts.dm_crypt_loaded && facts.cryptsetup.is_some();
        let answer = luks_available();
        assert_eq!(answer.is_ok(), all, "{answer:?} for {facts:?}");
        if control.is_err() {
            let e = answer.unwrap_err();
            assert!(
                e.why
                    .iter()
                    .any(|w| w.contains("device mapper") || w.contains("/dev/mapper/control")),
                "{e}"
            );
        }
    }
}
