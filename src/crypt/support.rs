//! Why a filesystem cannot encrypt, and what to do about it: found from mountinfo (filesystem
//! type and device of the directory) and /sys/fs/ext4/features/encryption (kernel support).

use super::error::CryptError;
use std::path::Path;

/// A mountinfo line, parsed by the one mountinfo reader ([`crate::host::mountinfo`]).
use crate::host::mountinfo::Mount;

/// Present when the kernel's ext4 was built with encryption (CONFIG_FS_ENCRYPTION).
const EXT4_FEATURE: &str = "/sys/fs/ext4/features/encryption";

/// The [`CryptError::NotSupported`] for `dir`, after the kernel answered EOPNOTSUPP or ENOTTY.
pub fn not_supported(dir: &Path) -> CryptError {
    let (fstype, device) = std::fs::canonicalize(dir)
        .ok()
        .and_then(|canon| {
            let text = std::fs::read_to_string("/proc/self/mountinfo").ok()?;
            mount_of(&text, &canon.to_string_lossy())
        })
        .unwrap_or_else(|| ("unknown".into(), "unknown device".into()));
    let fix = fix(&fstype, &device, Path::new(EXT4_FEATURE).exists());
    CryptError::NotSupported {
        dir: dir.to_path_buf(),
        fstype,
        device,
        fix,
    }
}

/// The filesystem type and source of the mount that holds `path` (canonical).
pub(crate) fn mount_of(mountinfo_text: &str, path: &str) -> Option<(String, String)> {
    deepest(mountinfo_text, path).map(|m| (m.fstype, m.source))
}

/// The deepest mount point above `path`, the last one mounted when several stack on one point.
fn deepest(mountinfo_text: &str, path: &str) -> Option<Mount> {
    let (mounts, _) = crate::host::mountinfo::parse(mountinfo_text);
    let under = |mp: &str| {
        mp == "/" || path == mp || path.strip_prefix(mp).is_some_and(|r| r.starts_with('/'))
    };
    let mut best: Option<Mount> = None;
    for m in mounts.into_iter().filter(|m| under(&m.mount_point)) {
        if best
            .as_ref()
            .is_none_or(|b| m.mount_point.len() >= b.mount_point.len())
        {
            best = Some(m);
        }
    }
    best
}

/// What the user can do, by filesystem type.
pub(crate) fn fix(fstype: &str, device: &str, ext4_kernel_support: bool) -> String {
    match fstype {
        "ext4" if !ext4_kernel_support => format!(
            "this kernel's ext4 has no encryption ({EXT4_FEATURE} is missing): use a kernel built with CONFIG_FS_ENCRYPTION"
        ),
        "ext4" => format!(
            "enable the ext4 `encrypt` feature: unmount the filesystem and run `tune2fs -O encrypt {device}` (needs a 4 KiB block size), or create it with `mkfs.ext4 -O encrypt`"
        ),
        "f2fs" => format!("the f2fs `encrypt` feature is off: `fsck.f2fs -O encrypt {device}` or `mkfs.f2fs -O encrypt`"),
        "ubifs" | "ceph" => "this filesystem needs a kernel built with CONFIG_FS_ENCRYPTION".into(),
        other => format!(
            "{other} does not support fscrypt: put the container root on ext4 (with `-O encrypt`), f2fs, ubifs or ceph"
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MOUNTINFO: &str = "\
21 1 254:0 / / rw,relatime - ext4 /dev/vda rw
30 21 0:25 / /tmp rw - tmpfs tmpfs rw
40 30 7:3 / /tmp/img rw - ext4 /dev/loop3 rw
41 30 0:30 / /tmp/imgx rw - xfs /dev/loop4 rw
42 30 0:31 / /tmp/with\\040space rw - ext4 /dev/loop5 rw
";

    #[test]
    fn finds_the_deepest_mount_above_a_path() {
        let m = |p| mount_of(MOUNTINFO, p).unwrap();
        assert_eq!(m("/tmp/img/root"), ("ext4".into(), "/dev/loop3".into()));
        assert_eq!(m("/tmp/img"), ("ext4".into(), "/dev/loop3".into()));
        // `/tmp/imgx` is not under `/tmp/img`.
        assert_eq!(m("/tmp/imgx/a"), ("xfs".into(), "/dev/loop4".into()));
        assert_eq!(m("/tmp/other"), ("tmpfs".into(), "tmpfs".into()));
        assert_eq!(m("/var"), ("ext4".into(), "/dev/vda".into()));
        assert_eq!(m("/tmp/with space/x"), ("ext4".into(), "/dev/loop5".into()));
    }

    #[test]
    fn ext4_fix_names_tune2fs_and_the_device() {
        let f = fix("ext4", "/dev/loop3", true);
        assert!(f.contains("tune2fs -O encrypt /dev/loop3"), "{f}");
        assert!(fix("ext4", "/dev/loop3", false).contains("CONFIG_FS_ENCRYPTION"));
        assert!(fix("tmpfs", "tmpfs", true).contains("tmpfs does not support fscrypt"));
    }
}
