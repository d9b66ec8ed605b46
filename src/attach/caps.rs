//! Capabilities of the attached process: the init's bounding and inheritable sets, no ambient
//! capabilities. The effective set keeps what the confinement steps need (CAP_SYS_ADMIN for
//! Landlock and seccomp without NO_NEW_PRIVS) until exec, where the kernel gives a root program
//! exactly the bounding set, as it gave the init (see docs/attach.md).

use super::error::StepFailure;
use caps::{CapSet, Capability, CapsHashSet};

/// The capabilities whose bits are set in `mask`.
pub fn set_of(mask: u64) -> CapsHashSet {
    caps::all()
        .into_iter()
        .filter(|c| c.index() < 64 && mask & (1u64 << c.index()) != 0)
        .collect()
}

/// The highest capability number this kernel knows.
pub fn last_cap() -> u8 {
    std::fs::read_to_string("/proc/sys/kernel/cap_last_cap")
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(40)
}

/// Shrinks the bounding set to `bounding`, sets the inheritable set, clears ambient, and raises
/// the effective set to the permitted one (a uid change cleared it).
pub fn restrict(bounding: u64, inheritable: u64, last_cap: u8) -> Result<(), StepFailure> {
    for cap in 0..=u32::from(last_cap).min(63) {
        if bounding & (1u64 << cap) == 0 {
            // SAFETY: prctl with integer arguments only.
            let rc = unsafe { libc::prctl(libc::PR_CAPBSET_DROP, cap as libc::c_ulong, 0, 0, 0) };
            // EINVAL: a capability this kernel does not have.
            if rc != 0 && std::io::Error::last_os_error().raw_os_error() != Some(libc::EINVAL) {
                return Err(StepFailure::doing(format!(
                    "drop capability {cap} from the bounding set"
                ))(std::io::Error::last_os_error()));
            }
        }
    }
    let fail = |doing: &'static str| move |e| StepFailure::doing(doing)(std::io::Error::other(e));
    caps::clear(None, CapSet::Ambient).map_err(fail("clear ambient"))?;
    let permitted = caps::read(None, CapSet::Permitted).map_err(fail("read permitted"))?;
    caps::set(None, CapSet::Effective, &permitted).map_err(fail("raise effective"))?;
    let inh: CapsHashSet = set_of(inheritable & bounding);
    caps::set(None, CapSet::Inheritable, &inh).map_err(fail("set inheritable"))?;
    Ok(())
}

/// Lower-case names of a mask, for messages.
pub fn names(mask: u64) -> Vec<String> {
    let mut v: Vec<String> = set_of(mask)
        .into_iter()
        .map(|c: Capability| crate::launch::caps::name(c))
        .collect();
    v.sort();
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks_to_sets() {
        let s = set_of((1 << 21) | 1);
        assert!(s.contains(&Capability::CAP_SYS_ADMIN) && s.contains(&Capability::CAP_CHOWN));
        assert_eq!(s.len(), 2);
        assert_eq!(names(1 << 21), ["sys_admin"]);
        assert!(last_cap() >= 36);
    }
}
