//! Helpers shared by the integration tests that drive the `lxnest` binary.
#![allow(dead_code)]

pub mod cgroup2;
pub mod child;
pub mod stack;

use std::process::{Command, Output};

pub mod users;

/// Run the lxnest binary under test.
pub fn lxnest(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_lxnest"))
        .args(args)
        .output()
        .expect("lxnest runs")
}

/// Its stdout, after asserting it succeeded (the failure shows both streams).
pub fn ok(o: Output) -> String {
    assert!(
        o.status.success(),
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// Whether the test can run as root; in CI not being root is a failure, not a skip.
pub fn root() -> bool {
    let r = nix::unistd::geteuid().is_root();
    if !r {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI runs root tests as root"
        );
        eprintln!("SKIPPED: needs root");
    }
    r
}

/// Whether a prerequisite the test cannot make itself is there (a tool, a kernel feature): in CI
/// a missing one is a failure naming `what`, elsewhere a skip that says so. Every prerequisite
/// check of the root tests goes through here or [`root`], so that CI never passes a test that
/// did not run.
pub fn require(present: bool, what: &str) -> bool {
    if !present {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI provides {what}; the test cannot run without it"
        );
        eprintln!("SKIPPED: needs {what}");
    }
    present
}

/// Whether `program` runs (`program ARG` starts at all; its exit status does not matter).
pub fn has_program(program: &str, arg: &str) -> bool {
    Command::new(program).arg(arg).output().is_ok()
}

/// [`root`], and `needed` exists (a device, a tool, a cgroup hierarchy); in CI a missing one is a
/// failure, named by `what`.
pub fn root_with(needed: &str, what: &str) -> bool {
    if !root() {
        return false;
    }
    require(
        std::path::Path::new(needed).exists(),
        &format!("{what} ({needed})"),
    )
}

/// A temporary directory the containers' mapped root (an unprivileged host uid) can traverse.
pub fn traversable_tempdir() -> tempfile::TempDir {
    let d = tempfile::tempdir().expect("tempdir");
    std::fs::set_permissions(
        d.path(),
        std::os::unix::fs::PermissionsExt::from_mode(0o755),
    )
    .expect("chmod");
    d
}

/// Appends directory `path` (ending in `/`) with `mode`, owned by `uid`:`gid`.
pub fn tar_dir<W: std::io::Write>(
    b: &mut tar::Builder<W>,
    path: &str,
    mode: u32,
    uid: u64,
    gid: u64,
) {
    let mut h = tar::Header::new_gnu();
    h.set_entry_type(tar::EntryType::Directory);
    h.set_mode(mode);
    h.set_uid(uid);
    h.set_gid(gid);
    h.set_size(0);
    h.set_cksum();
    b.append_data(&mut h, path, std::io::empty())
        .expect("dir entry");
}

/// Appends this machine's static busybox as `bin/busybox` (busybox-static).
pub fn tar_busybox<W: std::io::Write>(b: &mut tar::Builder<W>) {
    let bb = std::fs::read("/bin/busybox").expect("busybox-static installed");
    let mut h = tar::Header::new_gnu();
    h.set_mode(0o755);
    h.set_size(bb.len() as u64);
    h.set_cksum();
    b.append_data(&mut h, "bin/busybox", bb.as_slice())
        .expect("busybox entry");
}

/// Appends symbolic link `link` -> `target`.
pub fn tar_symlink<W: std::io::Write>(
    b: &mut tar::Builder<W>,
    link: &str,
    target: &std::path::Path,
) {
    let mut h = tar::Header::new_gnu();
    h.set_entry_type(tar::EntryType::Symlink);
    h.set_size(0);
    h.set_mode(0o777);
    b.append_link(&mut h, link, target).expect("link entry");
}

/// Writes a gzip'd busybox root (busybox-static) with `sh id touch ls cat true sleep chown mkdir
/// stat` and `/etc/passwd`, plus `extra` directories `(path, uid, gid)` owned by other users.
pub fn busybox_tarball(path: &std::path::Path, extra: &[(&str, u64, u64)]) {
    let mut b = tar::Builder::new(flate2::write::GzEncoder::new(
        std::fs::File::create(path).expect("create tarball"),
        flate2::Compression::fast(),
    ));
    let dirs = ["bin/", "etc/", "tmp/", "proc/", "sys/", "dev/", "root/"];
    let extra_dirs = extra.iter().map(|(p, u, g)| (*p, *u, *g));
    for (d, uid, gid) in dirs.iter().map(|d| (*d, 0, 0)).chain(extra_dirs) {
        tar_dir(
            &mut b,
            d,
            if d == "tmp/" { 0o1777 } else { 0o755 },
            uid,
            gid,
        );
    }
    tar_busybox(&mut b);
    let applets = [
        "sh", "id", "touch", "ls", "cat", "true", "sleep", "chown", "mkdir", "stat",
    ];
    for applet in applets {
        tar_symlink(
            &mut b,
            &format!("bin/{applet}"),
            std::path::Path::new("busybox"),
        );
    }
    let passwd = b"root:x:0:0::/root:/bin/sh\n";
    let mut h = tar::Header::new_gnu();
    h.set_mode(0o644);
    h.set_size(passwd.len() as u64);
    h.set_cksum();
    b.append_data(&mut h, "etc/passwd", passwd.as_slice())
        .expect("passwd entry");
    b.into_inner().expect("tar").finish().expect("gzip");
}

/// A network namespace the test owns (`ip netns add`), deleted on drop: planned host bridges and
/// veths live there, and no traffic leaves it.
pub struct TestNetns(pub String);

impl TestNetns {
    /// Creates `ip netns` NAME.
    pub fn new(name: &str) -> TestNetns {
        let o = Command::new("ip")
            .args(["netns", "add", name])
            .output()
            .expect("ip netns add");
        assert!(o.status.success(), "ip netns add {name}: {o:?}");
        TestNetns(name.to_string())
    }
}

impl TestNetns {
    /// [`TestNetns::new`] with loopback up and a bridge `lxcbr0` on 10.0.3.1/24, as a laptop
    /// with LXC has: a plan must steer every bridge of a stack away from LXC's default subnet.
    pub fn with_lxc_bridge(name: &str) -> TestNetns {
        let ns = TestNetns::new(name);
        for args in [
            &["link", "set", "lo", "up"][..],
            &["link", "add", "lxcbr0", "type", "bridge"],
            &["addr", "add", "10.0.3.1/24", "dev", "lxcbr0"],
            &["link", "set", "lxcbr0", "up"],
        ] {
            let o = Command::new("ip")
                .args(["-n", &ns.0])
                .args(args)
                .output()
                .expect("ip");
            assert!(o.status.success(), "ip {args:?}: {o:?}");
        }
        ns
    }
}

impl Drop for TestNetns {
    fn drop(&mut self) {
        let _ = Command::new("ip").args(["netns", "del", &self.0]).output();
    }
}

impl TestNetns {
    /// `lxnest start --nested -F -P STATE SPEC` with the network namespace of this test: the
    /// planned host bridge and every veth are made in it.
    pub fn start_nested(&self, state: &std::path::Path, spec: &std::path::Path) -> Output {
        Command::new("nsenter")
            .arg(format!("--net=/run/netns/{}", self.0))
            .arg(env!("CARGO_BIN_EXE_lxnest"))
            .args(["start", "--nested", "-F", "-P"])
            .args([state, spec])
            .output()
            .expect("nsenter")
    }
}

/// Asserts that a state directory holds nothing but dot entries: definitions (`.defined/`)
/// outlive a stopped container by design, everything else must be gone. A missing or unreadable
/// directory fails too: it would prove nothing (a wrong path, a test that never made it).
pub fn assert_no_state_left(dir: &std::path::Path) {
    let rd = std::fs::read_dir(dir).unwrap_or_else(|e| {
        panic!(
            "state directory {}: {e} (cannot check that nothing is left)",
            dir.display()
        )
    });
    let left: Vec<String> = rd
        .map(|e| {
            e.unwrap_or_else(|e| panic!("reading {}: {e}", dir.display()))
                .file_name()
                .to_string_lossy()
                .into_owned()
        })
        .filter(|n| !n.starts_with('.'))
        .collect();
    assert!(left.is_empty(), "state left behind: {left:?}");
}

/// The directories `lxnest/NAME` below this process's own cgroup that exist, in every mounted
/// hierarchy as lxnest's layout reader sees them (v1, hybrid or pure cgroup2): where a container
/// started by this test has its cgroups. Fails when no hierarchy is found, since an empty answer
/// would then prove nothing.
pub fn lxnest_cgroup_dirs(name: &str) -> Vec<std::path::PathBuf> {
    let own = lxnest::cgroup::layout::own_paths().expect("this process's cgroups");
    assert!(
        !own.hierarchies.is_empty(),
        "no cgroup hierarchy mounted: a cleanup check would find nothing whatever was left"
    );
    own.hierarchies
        .iter()
        .map(|h| h.own_dir().expect("own cgroup visible").join("lxnest"))
        .map(|d| d.join(name))
        .filter(|d| d.exists())
        .collect()
}

/// Every directory below `root` whose path ends with `suffix` (a cgroup path such as
/// `lxnest/juju-host`). `root` itself must be readable; a subdirectory that vanishes while the
/// walk runs (another test's cgroup removed) is skipped, any other error fails: an unreadable
/// tree must not pass for "removed".
pub fn dirs_ending_with(root: &std::path::Path, suffix: &str) -> Vec<std::path::PathBuf> {
    let mut found = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(d) = stack.pop() {
        let rd = match std::fs::read_dir(&d) {
            Ok(rd) => rd,
            Err(e) if d != root && e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => panic!("reading {}: {e}", d.display()),
        };
        for e in rd {
            let e = match e {
                Ok(e) => e,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
                Err(e) => panic!("reading {}: {e}", d.display()),
            };
            if !e.file_type().is_ok_and(|t| t.is_dir()) {
                continue;
            }
            let p = e.path();
            if p.to_string_lossy().ends_with(suffix) {
                found.push(p.clone());
            }
            stack.push(p);
        }
    }
    found
}

/// The AppArmor features file `apparmor_parser -M` needs on this AppArmor-less kernel: without it
/// the parser drops mount rules unchecked (Debian's apparmor package ships one).
pub fn apparmor_features() -> std::path::PathBuf {
    [
        "/usr/share/apparmor-features/features",
        "/etc/apparmor.d/abi/3.0",
    ]
    .iter()
    .map(std::path::PathBuf::from)
    .find(|f| f.exists())
    .expect("an AppArmor features file (Debian package apparmor)")
}

/// How long [`wait_until`] waits for something that happens within a second on an idle machine:
/// generous, since the CI machine has two cores shared with other builds.
pub const PATIENCE: std::time::Duration = std::time::Duration::from_secs(120);

/// Polls `cond` every 50 ms until it holds (true) or [`PATIENCE`] runs out (false). The last
/// resort where no event (a pidfd, inotify, a pipe) marks the moment: a process appearing in a
/// cgroup, say. The deadline only bounds a hung test; it is no assumption on speed.
pub fn wait_until(mut cond: impl FnMut() -> bool) -> bool {
    let end = std::time::Instant::now() + PATIENCE;
    loop {
        if cond() {
            return true;
        }
        if std::time::Instant::now() >= end {
            return false;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
}

/// Pids of the processes whose cgroup line in /proc/PID/cgroup satisfies `pred`, with their
/// `comm`.
pub fn procs_in_cgroup(pred: impl Fn(&str) -> bool) -> Vec<(i32, String)> {
    std::fs::read_dir("/proc")
        .expect("/proc")
        .flatten()
        .filter_map(|e| {
            let pid = e.file_name().to_str()?.parse::<i32>().ok()?;
            let cg = std::fs::read_to_string(e.path().join("cgroup")).ok()?;
            if !cg.lines().any(&pred) {
                return None;
            }
            let comm = std::fs::read_to_string(e.path().join("comm")).unwrap_or_default();
            Some((pid, comm.trim().to_string()))
        })
        .collect()
}

/// Stops and destroys container `name` of state directory `state` when dropped: a root test
/// holds one from before its start until the end, so that a failed assertion in between still
/// leaves nothing running (`lxnest stop` of a container that is not there just fails).
pub struct StopOnDrop {
    pub state: std::path::PathBuf,
    pub name: String,
}

impl Drop for StopOnDrop {
    fn drop(&mut self) {
        for cmd in ["stop", "destroy"] {
            let mut c = Command::new(env!("CARGO_BIN_EXE_lxnest"));
            c.arg(cmd);
            if cmd == "stop" {
                c.args(["-t", "1"]);
            }
            let _ = c.args(["-n", &self.name, "-P"]).arg(&self.state).output();
        }
    }
}

/// `dir` and every directory below it (parents before children); nothing if `dir` does not exist. For
/// cleanup guards, which must not fail themselves.
pub fn dir_tree(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    if !dir.is_dir() {
        return Vec::new();
    }
    let mut all = vec![dir.to_path_buf()];
    let mut i = 0;
    while i < all.len() {
        if let Ok(rd) = std::fs::read_dir(&all[i]) {
            for e in rd.flatten() {
                if e.file_type().is_ok_and(|t| t.is_dir()) {
                    all.push(e.path());
                }
            }
        }
        i += 1;
    }
    all
}

/// Points the library at the lxnest binary under test (unless LXNEST_BINARY names one): a test
/// process has threads, so the library runs what forks in an exec'd `lxnest __monitor`
/// (docs/launch.md, "Processes lxnest forks, and threads").
pub fn use_built_binary() {
    if std::env::var_os("LXNEST_BINARY").is_none() {
        std::env::set_var("LXNEST_BINARY", env!("CARGO_BIN_EXE_lxnest"));
    }
}
