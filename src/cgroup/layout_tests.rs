use super::*;
use crate::plan::host::CgroupMode;

const HYBRID_MOUNTINFO: &str = "\
22 1 8:1 / / rw,relatime - ext4 /dev/vda rw
31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu
33 31 0:30 / /sys/fs/cgroup/cpuacct rw,relatime - cgroup cgroup rw,cpuacct
35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory
39 31 0:36 / /sys/fs/cgroup/pids rw,relatime - cgroup cgroup rw,pids
40 31 0:37 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,xattr,name=systemd
41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw
";
const HYBRID_CGROUP: &str = "\
9:name=systemd:/
8:pids:/
4:memory:/process_api/41d4
2:cpuacct:/
1:cpu:/
0::/
";

const UNIFIED_MOUNTINFO: &str = "\
24 1 8:1 / / rw - ext4 /dev/sda rw
30 24 0:26 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime shared:4 - cgroup2 cgroup2 rw,nsdelegate,memory_recursiveprot
";
const UNIFIED_CGROUP: &str = "0::/user.slice/user-1000.slice/session-2.scope\n";

const V1_MOUNTINFO: &str = "\
29 26 0:26 / /sys/fs/cgroup/cpu,cpuacct rw,nosuid shared:10 - cgroup cgroup rw,cpu,cpuacct
30 26 0:27 /lxc/c1 /sys/fs/cgroup/memory rw,nosuid shared:11 - cgroup cgroup rw,memory,clone_children
31 26 0:28 / /sys/fs/cgroup/with\\040space rw - cgroup cgroup rw,pids
";
const V1_CGROUP: &str = "\
3:pids:/a
2:memory:/lxc/c1/init
1:cpu,cpuacct:/
";

fn own_of(mi: &str, cg: &str) -> (Vec<CgroupMount>, OwnCgroups) {
    let mounts = parse_mountinfo(mi).expect("mountinfo");
    let own = own_from(&mounts, &parse_proc_cgroup(cg).expect("cgroup"));
    (mounts, own)
}

#[test]
fn hybrid_layout() {
    let (_, own) = own_of(HYBRID_MOUNTINFO, HYBRID_CGROUP);
    let layout = layout_of(HYBRID_MOUNTINFO, HYBRID_CGROUP, "hugetlb\n").expect("layout");
    assert_eq!(layout.mode, CgroupMode::Hybrid);
    assert_eq!(layout.v1_controllers, ["cpu", "cpuacct", "memory", "pids"]);
    assert_eq!(layout.unified_controllers, ["hugetlb"]);
    assert_eq!(
        layout.unified_mount.as_deref(),
        Some("/sys/fs/cgroup/unified")
    );
    assert!(!layout.nsdelegate);
    let mem = own.v1().find(|h| h.has("memory")).expect("memory");
    assert_eq!(
        mem.own_dir().expect("dir"),
        PathBuf::from("/sys/fs/cgroup/memory/process_api/41d4")
    );
    let sd = own
        .v1()
        .find(|h| h.label() == "name=systemd")
        .expect("systemd");
    assert_eq!(
        sd.own_dir().expect("dir"),
        PathBuf::from("/sys/fs/cgroup/systemd")
    );
    assert_eq!(
        own.hierarchies.last().map(|h| h.kind.clone()),
        Some(HierarchyKind::Unified)
    );
}

#[test]
fn unified_layout() {
    let (_, own) = own_of(UNIFIED_MOUNTINFO, UNIFIED_CGROUP);
    let layout = layout_of(
        UNIFIED_MOUNTINFO,
        UNIFIED_CGROUP,
        "cpuset cpu io memory pids",
    )
    .expect("layout");
    assert_eq!(layout.mode, CgroupMode::Unified);
    assert!(layout.v1_controllers.is_empty());
    assert_eq!(layout.unified_controllers.len(), 5);
    assert!(layout.nsdelegate);
    let u = own.unified().expect("unified");
    assert_eq!(
        u.own_dir().expect("dir"),
        PathBuf::from("/sys/fs/cgroup/user.slice/user-1000.slice/session-2.scope")
    );
}

#[test]
fn v1_layout_with_bind_root_and_escapes() {
    let (_, own) = own_of(V1_MOUNTINFO, V1_CGROUP);
    let layout = layout_of(V1_MOUNTINFO, V1_CGROUP, "").expect("layout");
    assert_eq!(layout.mode, CgroupMode::V1);
    assert_eq!(layout.v1_controllers, ["cpu", "cpuacct", "memory", "pids"]);
    assert_eq!(layout.unified_mount, None);
    let mem = own.v1().find(|h| h.has("memory")).expect("memory");
    // The memory mount shows /lxc/c1 of the hierarchy at its mount point.
    assert_eq!(
        mem.own_dir().expect("dir"),
        PathBuf::from("/sys/fs/cgroup/memory/init")
    );
    let pids = own.v1().find(|h| h.has("pids")).expect("pids");
    assert_eq!(
        pids.own_dir().expect("dir"),
        PathBuf::from("/sys/fs/cgroup/with space/a")
    );
    let cpu = own.v1().find(|h| h.has("cpuacct")).expect("cpu,cpuacct");
    assert_eq!(cpu.label(), "cpu,cpuacct");
}

#[test]
fn own_cgroup_outside_the_mount_is_an_error() {
    let mi = "30 26 0:27 /lxc/c1 /sys/fs/cgroup/memory rw - cgroup cgroup rw,memory\n";
    let (_, own) = own_of(mi, "2:memory:/lxc/c10\n");
    assert!(matches!(
        own.hierarchies[0].own_dir(),
        Err(CgroupError::NotVisible { .. })
    ));
    // Seen from a cgroup namespace, an outside path shows as `/..`.
    let (_, own) = own_of(
        "30 26 0:27 / /sys/fs/cgroup/memory rw - cgroup cgroup rw,memory\n",
        "2:memory:/../x\n",
    );
    assert!(own.hierarchies[0].own_dir().is_err());
}

#[test]
fn garbage_is_a_parse_error_with_line() {
    let err = parse_mountinfo("31 23 0:28 / /sys rw\n").expect_err("no separator");
    assert!(matches!(err, CgroupError::Parse { line: 1, .. }));
    let err = parse_proc_cgroup("0::/\nx:memory\n").expect_err("bad id");
    assert!(matches!(err, CgroupError::Parse { line: 2, .. }));
}

#[test]
fn no_mounts_is_an_error() {
    let mi = "22 1 8:1 / / rw - ext4 /dev/vda rw\n";
    let (_, own) = own_of(mi, "0::/\n");
    assert!(own.hierarchies.is_empty());
    assert!(matches!(
        layout_of(mi, "0::/\n", ""),
        Err(CgroupError::NoCgroupMounts)
    ));
}

#[test]
fn unmounted_hierarchies_are_skipped() {
    let (_, own) = own_of(HYBRID_MOUNTINFO, "7:blkio:/\n8:pids:/\n");
    assert_eq!(own.hierarchies.len(), 1);
    assert!(own.hierarchies[0].has("pids"));
}
