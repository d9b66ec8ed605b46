//! Syscall names and numbers on the arches an x86_64 kernel runs: x86_64, i386 (compat) and x32.
//!
//! Names are the x86_64 table's; a name the i386 table lacks (`newfstatat`) has no i386 number and
//! a rule naming it simply does not apply there, as in LXC. i386-only names (`socketcall`,
//! `mmap2`) are accepted too, they just have no x86_64 number.
//!
//! x32 numbers are the x86_64 number with bit 30 set, except for the calls whose x86_64 entry
//! takes 64-bit pointers or structures: those have their own x32 entries at 512..=547.

use super::error::SeccompError;
use super::model::Arch;
use crate::origin::Origin;
use syscalls::x86::Sysno as I386;
use syscalls::x86_64::Sysno as X64;

/// Bit 30 of the syscall number marks an x32 call under `AUDIT_ARCH_X86_64`.
pub const X32_SYSCALL_BIT: u32 = 0x4000_0000;

/// The x32-only entries (512..=547), in number order, named like their x86_64 counterparts.
const X32_SPECIAL: [&str; 36] = [
    "rt_sigaction",
    "rt_sigreturn",
    "ioctl",
    "readv",
    "writev",
    "recvfrom",
    "sendmsg",
    "recvmsg",
    "execve",
    "ptrace",
    "rt_sigpending",
    "rt_sigtimedwait",
    "rt_sigqueueinfo",
    "sigaltstack",
    "timer_create",
    "mq_notify",
    "kexec_load",
    "waitid",
    "set_robust_list",
    "get_robust_list",
    "vmsplice",
    "move_pages",
    "preadv",
    "pwritev",
    "rt_tgsigqueueinfo",
    "recvmmsg",
    "sendmmsg",
    "process_vm_readv",
    "process_vm_writev",
    "setsockopt",
    "getsockopt",
    "io_setup",
    "io_submit",
    "execveat",
    "preadv2",
    "pwritev2",
];
const X32_SPECIAL_BASE: u32 = 512;

/// Calls newer than the `syscalls` crate's tables (Linux 6.10 .. 6.18), from the kernel's
/// arch/x86/entry/syscalls/syscall_64.tbl and syscall_32.tbl: name, x86_64 number (x32 adds bit
/// 30), i386 number. `uretprobe` and `uprobe` are x86_64/x32 only; since 424 every other call has
/// the same number on x86_64 and i386.
const NEWER: [(&str, u32, Option<u32>); 11] = [
    ("uretprobe", 335, None),
    ("uprobe", 336, None),
    ("mseal", 462, Some(462)),
    ("setxattrat", 463, Some(463)),
    ("getxattrat", 464, Some(464)),
    ("listxattrat", 465, Some(465)),
    ("removexattrat", 466, Some(466)),
    ("open_tree_attr", 467, Some(467)),
    ("file_getattr", 468, Some(468)),
    ("file_setattr", 469, Some(469)),
    ("listns", 470, Some(470)),
];

fn newer_number(arch: Arch, name: &str) -> Option<u32> {
    let (_, x86_64, i386) = NEWER.iter().find(|(n, _, _)| *n == name)?;
    match arch {
        Arch::I386 => *i386,
        _ => Some(*x86_64),
    }
}

fn newer_name(arch: Arch, nr: u32) -> Option<&'static str> {
    NEWER
        .iter()
        .find(|(_, x86_64, i386)| match arch {
            Arch::I386 => *i386 == Some(nr),
            _ => *x86_64 == nr,
        })
        .map(|(name, _, _)| *name)
}

/// Every name of [`NEWER`] (for [`all_names`]).
fn newer_names() -> impl Iterator<Item = &'static str> {
    NEWER.iter().map(|(n, _, _)| *n)
}

/// The syscall's number on `arch`, `None` when that arch has no such call.
pub fn number(arch: Arch, name: &str) -> Option<u32> {
    match arch {
        Arch::X86_64 => lookup::<X64>(name)
            .map(|s| s.id() as u32)
            .or_else(|| newer_number(Arch::X86_64, name)),
        Arch::I386 => lookup::<I386>(name)
            .map(|s| s.id() as u32)
            .or_else(|| newer_number(Arch::I386, name)),
        Arch::X32 => {
            if let Some(i) = X32_SPECIAL.iter().position(|n| *n == name) {
                return Some(X32_SYSCALL_BIT | (X32_SPECIAL_BASE + i as u32));
            }
            number(Arch::X86_64, name).map(|n| X32_SYSCALL_BIT | n)
        }
    }
}

/// The name of syscall `nr` on `arch` (for x32, `nr` includes [`X32_SYSCALL_BIT`]).
pub fn name(arch: Arch, nr: u32) -> Option<&'static str> {
    match arch {
        Arch::X86_64 => X64::new(nr as usize)
            .map(|s| plain(s.name()))
            .or_else(|| newer_name(Arch::X86_64, nr)),
        Arch::I386 => I386::new(nr as usize)
            .map(|s| plain(s.name()))
            .or_else(|| newer_name(Arch::I386, nr)),
        Arch::X32 => {
            let bare = nr.checked_sub(X32_SYSCALL_BIT)?;
            if (X32_SPECIAL_BASE..X32_SPECIAL_BASE + X32_SPECIAL.len() as u32).contains(&bare) {
                return Some(X32_SPECIAL[(bare - X32_SPECIAL_BASE) as usize]);
            }
            // The x86_64 entries that x32 replaced are not x32 calls.
            name(Arch::X86_64, bare).filter(|n| !X32_SPECIAL.contains(n))
        }
    }
}

/// Whether any supported arch knows this name.
pub fn is_known(name: &str) -> bool {
    number(Arch::X86_64, name).is_some() || number(Arch::I386, name).is_some()
}

/// Every known name: the x86_64 table, then i386-only names, then calls newer than the tables.
pub fn all_names() -> impl Iterator<Item = &'static str> {
    X64::iter()
        .map(|s| plain(s.name()))
        .chain(
            I386::iter()
                .map(|s| plain(s.name()))
                .filter(|n| lookup::<X64>(n).is_none()),
        )
        .chain(newer_names())
}

/// The table's entry for `name`; Rust keywords (`break`) are stored as raw identifiers.
fn lookup<T: std::str::FromStr>(name: &str) -> Option<T> {
    name.parse()
        .ok()
        .or_else(|| format!("r#{name}").parse().ok())
}

/// A table name without the raw-identifier prefix.
fn plain(name: &'static str) -> &'static str {
    name.strip_prefix("r#").unwrap_or(name)
}

/// Check that `name` is a syscall; the error lists close names as the fix.
pub fn check(name: &str, origin: &Origin) -> Result<(), SeccompError> {
    if is_known(name) {
        return Ok(());
    }
    Err(SeccompError::UnknownSyscall {
        origin: origin.clone(),
        name: name.to_string(),
        close: close_names(name).into_iter().map(String::from).collect(),
    })
}

/// Up to three known names that look like `name` (edit distance, then shared prefix).
pub fn close_names(name: &str) -> Vec<&'static str> {
    let mut scored: Vec<(usize, &'static str)> = all_names()
        .filter_map(|known| {
            let d = edit_distance(name, known);
            let limit = (name.len() / 3).max(2);
            let contains = name.len() >= 4 && (known.contains(name) || name.contains(known));
            (d <= limit || contains).then_some((if contains { d.min(limit) } else { d }, known))
        })
        .collect();
    scored.sort();
    scored.dedup_by(|a, b| a.1 == b.1);
    scored.into_iter().take(3).map(|(_, n)| n).collect()
}

/// Levenshtein distance on bytes (names are ASCII).
fn edit_distance(a: &str, b: &str) -> usize {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    let mut cur = vec![0; b.len() + 1];
    for (i, ca) in a.iter().enumerate() {
        cur[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let subst = prev[j] + usize::from(ca != cb);
            cur[j + 1] = subst.min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        std::mem::swap(&mut prev, &mut cur);
    }
    prev[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_on_each_arch() {
        assert_eq!(number(Arch::X86_64, "read"), Some(0));
        assert_eq!(number(Arch::X86_64, "umount2"), Some(166));
        assert_eq!(number(Arch::I386, "umount2"), Some(52));
        assert_eq!(number(Arch::I386, "kexec_load"), Some(283));
        assert_eq!(number(Arch::X32, "read"), Some(0x4000_0000));
        assert_eq!(number(Arch::X32, "kexec_load"), Some(0x4000_0000 + 528));
        assert_eq!(number(Arch::X32, "pwritev2"), Some(0x4000_0000 + 547));
        // x86_64-only names are absent on i386, and the reverse.
        assert_eq!(number(Arch::I386, "newfstatat"), None);
        assert_eq!(number(Arch::X86_64, "socketcall"), None);
        assert!(is_known("socketcall"));
        // i386's `break` is a Rust keyword in the table; it reads as the plain name.
        assert_eq!(number(Arch::I386, "break"), Some(17));
        assert!(all_names().all(|n| !n.starts_with("r#")));
        // Calls newer than the crate's tables.
        assert_eq!(number(Arch::X86_64, "mseal"), Some(462));
        assert_eq!(number(Arch::I386, "file_setattr"), Some(469));
        assert_eq!(name(Arch::X86_64, 467), Some("open_tree_attr"));
        // uretprobe (Linux 6.11) and uprobe (6.18) exist on x86_64 and x32 only.
        assert_eq!(number(Arch::X86_64, "uretprobe"), Some(335));
        assert_eq!(number(Arch::X32, "uretprobe"), Some(0x4000_0000 + 335));
        assert_eq!(number(Arch::I386, "uretprobe"), None);
        assert_eq!(number(Arch::X86_64, "uprobe"), Some(336));
        assert_eq!(name(Arch::X86_64, 335), Some("uretprobe"));
        assert_ne!(name(Arch::I386, 335), Some("uretprobe"));
        assert!(all_names().any(|n| n == "listns"));
    }

    #[test]
    fn names_round_trip() {
        for arch in [Arch::X86_64, Arch::I386, Arch::X32] {
            for n in all_names() {
                if let Some(nr) = number(arch, n) {
                    assert_eq!(name(arch, nr), Some(n), "{arch:?} {n} {nr}");
                }
            }
        }
        assert_eq!(
            name(Arch::X32, 13),
            None,
            "an x32 number always carries bit 30"
        );
    }

    #[test]
    fn unknown_names_get_close_hints() {
        assert!(close_names("kexec_loda").contains(&"kexec_load"));
        assert!(close_names("umount").contains(&"umount2"));
        // x32 numbers past its special table are x86_64's, or nothing; never an index past it.
        assert_eq!(name(Arch::X32, X32_SYSCALL_BIT + 600), None);
        assert_eq!(name(Arch::X32, X32_SYSCALL_BIT + 1), Some("write"));
        // A long name may be further off (a third of its length): three edits here.
        assert!(close_names("shced_getafinity").contains(&"sched_getaffinity"));
        let err = check("opne_by_handle_at", &Origin::new("p.seccomp", 7))
            .unwrap_err()
            .to_string();
        assert!(
            err.starts_with("p.seccomp:7: unknown syscall `opne_by_handle_at`"),
            "{err}"
        );
        assert!(err.contains("`open_by_handle_at`"), "{err}");
    }
}
