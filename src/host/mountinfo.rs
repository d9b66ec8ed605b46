//! /proc/self/mountinfo: lxnest's one parser of it (the cgroup layout and the encryption checks
//! read it through here too): the mounts this process sees, and which proc/sysfs mounts are clean
//! (not overmounted) so that an inner runtime may mount fresh copies.

/// One mountinfo line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Mount {
    pub id: u32,
    pub parent: u32,
    /// Path inside the filesystem that is the root of this mount.
    pub root: String,
    /// Where it is mounted.
    pub mount_point: String,
    /// Per-mount options (`rw,nosuid,...`).
    pub mount_options: Vec<String>,
    pub fstype: String,
    pub source: String,
    /// Superblock options (`rw,nsdelegate`, `rw,memory`).
    pub super_options: Vec<String>,
}

/// Undoes the kernel's octal escapes (`\040` for a space) in mountinfo paths.
pub(crate) fn unescape(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'\\'
            && i + 3 < b.len()
            && b[i + 1..i + 4].iter().all(|c| (b'0'..=b'7').contains(c))
        {
            let v = (b[i + 1] - b'0') * 64 + (b[i + 2] - b'0') * 8 + (b[i + 3] - b'0');
            out.push(v);
            i += 4;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Parses one line; `None` when it does not have mountinfo's shape.
pub(crate) fn parse_line(line: &str) -> Option<Mount> {
    let (left, right) = line.split_once(" - ")?;
    let l: Vec<&str> = left.split(' ').collect();
    let r: Vec<&str> = right.split(' ').collect();
    if l.len() < 6 || r.len() < 3 {
        return None;
    }
    let list = |s: &str| {
        s.split(',')
            .filter(|o| !o.is_empty())
            .map(String::from)
            .collect()
    };
    Some(Mount {
        id: l[0].parse().ok()?,
        parent: l[1].parse().ok()?,
        root: unescape(l[3]),
        mount_point: unescape(l[4]),
        mount_options: list(l[5]),
        fstype: r[0].to_string(),
        source: unescape(r[1]),
        super_options: list(r[2]),
    })
}

/// Parses a mountinfo text; returns the mounts and the 1-based numbers of malformed lines.
pub(crate) fn parse(text: &str) -> (Vec<Mount>, Vec<usize>) {
    let mut mounts = Vec::new();
    let mut bad = Vec::new();
    for (n, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        match parse_line(line) {
            Some(m) => mounts.push(m),
            None => bad.push(n + 1),
        }
    }
    (mounts, bad)
}

/// Directories that are empty in proc/sysfs and exist to be mount points: the kernel ignores
/// mounts on them when it decides whether a proc/sysfs mount is fully visible, relative to the
/// proc or sysfs mount point.
const EMPTY_MOUNT_POINTS: &[&str] = &[
    "sys/fs/binfmt_misc",
    "fs/cgroup",
    "kernel/security",
    "kernel/debug",
    "kernel/tracing",
    "kernel/config",
    "fs/fuse/connections",
    "fs/bpf",
    "fs/pstore",
    "firmware/efi/efivars",
    "fs/selinux",
    "fs/smackfs",
];

/// A proc or sysfs mount and what covers parts of it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct PseudoMount {
    /// Where it is mounted.
    pub mount_point: String,
    /// Mount points directly on it that hide part of its content (`/proc/sys`, `/proc/kcore`).
    pub covered: Vec<String>,
}

impl PseudoMount {
    /// A copy with nothing covered is what the kernel accepts as "already visible" when a
    /// user namespace mounts a fresh proc or sysfs.
    pub fn is_clean(&self) -> bool {
        self.covered.is_empty()
    }
}

/// Every reachable whole mount (root `/`) of `fstype` (`proc`, `sysfs`) with the mounts that
/// cover parts of it. Like the kernel's visibility test, only mounts directly on it count, and
/// mounts on the empty mount-point directories do not.
pub(crate) fn pseudo_mounts(mounts: &[Mount], fstype: &str) -> Vec<PseudoMount> {
    mounts
        .iter()
        .filter(|m| m.fstype == fstype && m.root == "/")
        // A later mount on exactly the same point hides this one; it is then not reachable.
        .filter(|m| {
            !mounts
                .iter()
                .any(|o| o.parent == m.id && o.mount_point == m.mount_point)
        })
        .map(|m| {
            let base = m.mount_point.trim_end_matches('/');
            let covered = mounts
                .iter()
                .filter(|c| c.parent == m.id && c.id != m.id)
                .filter_map(|c| {
                    let rel = c.mount_point.strip_prefix(base)?.strip_prefix('/')?;
                    (!EMPTY_MOUNT_POINTS.contains(&rel)).then(|| c.mount_point.clone())
                })
                .collect();
            PseudoMount {
                mount_point: m.mount_point.clone(),
                covered,
            }
        })
        .collect()
}

#[cfg(test)]
pub(crate) mod samples {
    /// This build machine: hybrid cgroups, no container.
    pub const HYBRID_HOST: &str = "\
22 27 0:21 / /proc rw,relatime - proc proc rw
23 27 0:22 / /sys rw,relatime - sysfs sysfs rw
27 1 254:0 / / rw,relatime - ext4 /dev/vda rw
31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu
33 31 0:30 / /sys/fs/cgroup/cpuacct rw,relatime - cgroup cgroup rw,cpuacct
34 31 0:31 / /sys/fs/cgroup/cpuset rw,relatime - cgroup cgroup rw,cpuset
35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory
36 31 0:33 / /sys/fs/cgroup/devices rw,relatime - cgroup cgroup rw,devices
37 31 0:34 / /sys/fs/cgroup/freezer rw,relatime - cgroup cgroup rw,freezer
38 31 0:35 / /sys/fs/cgroup/blkio rw,relatime - cgroup cgroup rw,blkio
39 31 0:36 / /sys/fs/cgroup/pids rw,relatime - cgroup cgroup rw,pids
40 31 0:37 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,name=systemd
41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw
";

    /// A current systemd distribution: one cgroup2 tree with nsdelegate.
    pub const UNIFIED: &str = "\
21 26 0:20 / /proc rw,nosuid,nodev,noexec,relatime shared:12 - proc proc rw
22 26 0:21 / /sys rw,nosuid,nodev,noexec,relatime shared:2 - sysfs sysfs rw
26 1 259:2 / / rw,relatime shared:1 - ext4 /dev/nvme0n1p2 rw
30 22 0:26 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime shared:4 - cgroup2 cgroup2 rw,nsdelegate,memory_recursiveprot
31 22 0:6 / /sys/kernel/security rw,nosuid,nodev,noexec,relatime shared:3 - securityfs securityfs rw
45 21 0:39 / /proc/sys/fs/binfmt_misc rw,relatime shared:25 - autofs systemd-1 rw,fd=30
";

    /// An old v1-only system with co-mounted controllers.
    pub const V1: &str = "\
18 23 0:17 / /sys rw,nosuid,nodev,noexec,relatime shared:6 - sysfs sysfs rw
19 23 0:3 / /proc rw,nosuid,nodev,noexec,relatime shared:5 - proc proc rw
23 0 253:0 / / rw,relatime shared:1 - xfs /dev/mapper/root rw
24 18 0:20 / /sys/fs/cgroup ro,nosuid,nodev,noexec shared:8 - tmpfs tmpfs ro,mode=755
25 24 0:21 / /sys/fs/cgroup/systemd rw,nosuid,nodev,noexec,relatime shared:9 - cgroup cgroup rw,xattr,release_agent=/usr/lib/systemd/systemd-cgroups-agent,name=systemd
28 24 0:24 / /sys/fs/cgroup/cpu,cpuacct rw,nosuid,nodev,noexec,relatime shared:12 - cgroup cgroup rw,cpu,cpuacct
29 24 0:25 / /sys/fs/cgroup/memory rw,nosuid,nodev,noexec,relatime shared:13 - cgroup cgroup rw,memory
30 24 0:26 / /sys/fs/cgroup/net_cls,net_prio rw,nosuid,nodev,noexec,relatime shared:14 - cgroup cgroup rw,net_cls,net_prio
";

    /// Inside an LXC container (LXC 5 with lxcfs-free defaults): proc and sysfs partly covered.
    pub const LXC_CONTAINER: &str = "\
64 50 0:40 / / rw,relatime - tmpfs none rw
66 64 0:41 / /proc rw,nosuid,nodev,noexec,relatime shared:11 - proc proc rw
68 66 0:41 /sys /proc/sys ro,relatime shared:12 - proc proc rw
67 68 0:41 /sys/net /proc/sys/net rw,nosuid,nodev,noexec,relatime shared:13 - proc proc rw
70 64 0:42 / /sys ro,nosuid,nodev,noexec,relatime shared:14 - sysfs sysfs rw
71 70 0:42 /devices/virtual/net /sys/devices/virtual/net rw,nosuid,nodev,noexec,relatime shared:15 - sysfs sysfs rw
69 70 0:22 /fs/fuse/connections /sys/fs/fuse/connections rw,relatime shared:16 - sysfs sysfs rw
44 68 0:40 /.lxc-boot-id /proc/sys/kernel/random/boot_id ro,nosuid,nodev,noexec,relatime shared:2 - tmpfs none rw,size=492k,mode=755
80 64 0:41 / /dev/.lxc/proc rw,relatime - proc proc rw
81 64 0:42 / /dev/.lxc/sys rw,relatime - sysfs sysfs rw
82 64 0:43 / /sys/fs/cgroup\\040x rw,relatime - cgroup2 cgroup2 rw
";
}

#[cfg(test)]
mod tests {
    use super::samples::*;
    use super::*;

    #[test]
    fn parses_fields_and_escapes() {
        let (m, bad) = parse(LXC_CONTAINER);
        assert!(bad.is_empty());
        assert_eq!(m.len(), 11);
        assert_eq!(m[3].root, "/sys/net");
        assert_eq!(m[3].mount_point, "/proc/sys/net");
        assert_eq!(m[10].mount_point, "/sys/fs/cgroup x");
        assert_eq!(m[0].super_options, vec!["rw".to_string()]);
    }

    #[test]
    fn malformed_lines_are_reported() {
        let (m, bad) = parse("garbage\n22 27 0:21 / /proc rw - proc proc rw\n1 2 3\n");
        assert_eq!(m.len(), 1);
        assert_eq!(bad, vec![1, 3]);
    }

    #[test]
    fn host_proc_and_sys_are_clean() {
        let (m, _) = parse(HYBRID_HOST);
        let proc = pseudo_mounts(&m, "proc");
        assert_eq!(proc.len(), 1);
        assert!(proc[0].is_clean());
        let sys = pseudo_mounts(&m, "sysfs");
        assert!(sys[0].is_clean(), "{sys:?}");
        let (u, _) = parse(UNIFIED);
        assert!(
            pseudo_mounts(&u, "proc")[0].is_clean(),
            "binfmt_misc is an empty mount point"
        );
        assert!(pseudo_mounts(&u, "sysfs")[0].is_clean());
    }

    #[test]
    fn lxc_container_has_covered_proc_and_clean_nesting_copies() {
        let (m, _) = parse(LXC_CONTAINER);
        let proc = pseudo_mounts(&m, "proc");
        assert_eq!(proc.len(), 2);
        assert_eq!(proc[0].mount_point, "/proc");
        // Only direct children count: /proc/sys/net and boot_id sit on /proc/sys.
        assert_eq!(proc[0].covered, vec!["/proc/sys".to_string()]);
        assert!(proc[1].is_clean());
        let sys = pseudo_mounts(&m, "sysfs");
        assert_eq!(sys[0].covered, vec!["/sys/devices/virtual/net".to_string()]);
        assert!(sys[1].is_clean());
    }

    #[test]
    fn overmounted_proc_is_not_reachable() {
        let text = "1 0 0:1 / / rw - ext4 /dev/a rw\n2 1 0:2 / /proc rw - proc proc rw\n3 2 0:3 / /proc rw - tmpfs t rw\n";
        let (m, _) = parse(text);
        assert!(pseudo_mounts(&m, "proc").is_empty());
    }
}
