//! A cgroup2 hierarchy the test makes itself: a private mount namespace where cgroup2 is
//! mounted, so the tests that need one run on a hybrid host, a v1-only host and a pure cgroup2
//! host alike instead of skipping. The cgroup2 hierarchy always exists in the kernel; only its
//! mount may be missing. Call these in a single-threaded process (a test child, see
//! [`super::child`], or a `pre_exec` hook): `unshare(CLONE_NEWNS)` in a threaded process moves
//! only the calling thread, while lxnest reads `/proc/self/mountinfo`, the main thread's.
#![allow(dead_code)]

use nix::mount::{mount, umount2, MntFlags, MsFlags};
use std::path::Path;

/// Where the host's cgroups are mounted.
const CGROUP_ROOT: &str = "/sys/fs/cgroup";

/// This process gets a mount namespace of its own, with nothing propagating back to the host.
pub fn private_mount_ns() {
    nix::sched::unshare(nix::sched::CloneFlags::CLONE_NEWNS).expect("unshare(CLONE_NEWNS)");
    mount(
        None::<&str>,
        "/",
        None::<&str>,
        MsFlags::MS_REC | MsFlags::MS_PRIVATE,
        None::<&str>,
    )
    .expect("make / rprivate");
}

/// The super options of a cgroup2 mount in this namespace (`nsdelegate,memory_recursiveprot`),
/// if there is one.
fn cgroup2_options() -> Option<String> {
    let info = std::fs::read_to_string("/proc/self/mountinfo").expect("mountinfo");
    info.lines().find_map(|l| {
        let (_, tail) = l.split_once(" - ")?;
        let mut f = tail.split_whitespace();
        if f.next()? != "cgroup2" {
            return None;
        }
        let opts = f.nth(1)?;
        Some(
            opts.split(',')
                .filter(|o| *o != "rw" && *o != "ro")
                .collect::<Vec<_>>()
                .join(","),
        )
    })
}

/// Whether a cgroup2 hierarchy is mounted in this namespace.
pub fn has_cgroup2() -> bool {
    cgroup2_options().is_some()
}

/// Makes this process's view a pure cgroup2 host, whatever the machine has: a private mount
/// namespace where whatever is at /sys/fs/cgroup (a tmpfs of v1 hierarchies, a hybrid layout,
/// cgroup2 itself) is detached and cgroup2 alone is mounted there.
pub fn pure_cgroup2_view() {
    private_mount_ns();
    replace_with_cgroup2();
    let layout = lxnest::cgroup::detect().expect("detect the pure cgroup2 view");
    assert_eq!(
        layout.mode,
        lxnest::plan::host::CgroupMode::Unified,
        "{layout:?}"
    );
}

/// In a mount namespace already private: detaches what is at /sys/fs/cgroup and mounts cgroup2
/// alone there, with the options the hierarchy already has. A cgroup2 mount made from the
/// initial cgroup namespace applies its options to the one hierarchy for everyone, so a bare
/// `mount -t cgroup2` would switch off the host's `nsdelegate` or `memory_recursiveprot`;
/// repeating them leaves the host as it was.
pub fn replace_with_cgroup2() {
    // Read before the unmount: a host without any cgroup2 mount has no options to repeat.
    let opts = cgroup2_options().filter(|o| !o.is_empty());
    let root = Path::new(CGROUP_ROOT);
    match umount2(root, MntFlags::MNT_DETACH) {
        // EINVAL: nothing mounted there (a host without cgroups mounted); mount over the dir.
        Ok(()) | Err(nix::errno::Errno::EINVAL) => {}
        Err(e) => panic!("detach {CGROUP_ROOT}: {e}"),
    }
    mount(
        Some("cgroup2"),
        root,
        Some("cgroup2"),
        MsFlags::MS_NOSUID | MsFlags::MS_NODEV | MsFlags::MS_NOEXEC,
        opts.as_deref(),
    )
    .unwrap_or_else(|e| panic!("mount cgroup2 at {CGROUP_ROOT}: {e}"));
}

/// A private mount namespace where a cgroup2 hierarchy is mounted: the host's layout as it is
/// when it has one (hybrid or pure), else [`pure_cgroup2_view`].
pub fn ensure_cgroup2() {
    if has_cgroup2() {
        private_mount_ns();
    } else {
        pure_cgroup2_view();
    }
}
