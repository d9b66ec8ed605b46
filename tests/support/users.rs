//! Host users for the unprivileged root tests: a system user with (or without) subordinate ids
//! and a 0700 home, removed with everything it runs and owns; the lxnest binary and a busybox
//! tarball they can read.

use super::{busybox_tarball, root, traversable_tempdir};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// Subordinate ids of the test user: past every range /etc/subuid already hands out.
pub fn free_range() -> u32 {
    let text = std::fs::read_to_string("/etc/subuid").unwrap_or_default();
    let end = text
        .lines()
        .filter_map(|l| {
            let mut f = l.split(':').skip(1).map(|x| x.trim().parse::<u64>().ok());
            Some(f.next()?? + f.next()??)
        })
        .max()
        .unwrap_or(0);
    u32::try_from(end.max(1_000_000).next_multiple_of(65_536)).expect("ids fit")
}

pub fn must(cmd: &mut Command) {
    let o = cmd.output().expect("runs");
    assert!(o.status.success(), "{cmd:?}: {o:?}");
}

/// A system user (no automatic subordinate ids) with a 0700 home, removed on drop with
/// everything it runs and owns.
pub struct User {
    pub name: &'static str,
    pub home: PathBuf,
    pub uid: u32,
    pub gid: u32,
    pub sub: Option<u32>,
    pub bin: PathBuf,
}

impl User {
    pub fn create(name: &'static str, base: &Path, subids: u32, bin: &Path) -> User {
        remove_user(name);
        let home = base.join(name);
        must(
            Command::new("useradd")
                .args(["--system", "--user-group", "--shell", "/bin/sh"])
                .arg("--home-dir")
                .arg(&home)
                .arg(name),
        );
        let sub = (subids > 0).then(free_range);
        if let Some(first) = sub {
            let range = format!("{first}-{}", first + subids - 1);
            must(Command::new("usermod").args([
                "--add-subuids",
                &range,
                "--add-subgids",
                &range,
                name,
            ]));
        }
        let pw = nix::unistd::User::from_name(name)
            .unwrap()
            .expect("user exists");
        std::fs::create_dir(&home).unwrap();
        std::os::unix::fs::chown(&home, Some(pw.uid.as_raw()), Some(pw.gid.as_raw())).unwrap();
        std::fs::set_permissions(&home, std::os::unix::fs::PermissionsExt::from_mode(0o700))
            .unwrap();
        User {
            name,
            home,
            uid: pw.uid.as_raw(),
            gid: pw.gid.as_raw(),
            sub,
            bin: bin.into(),
        }
    }

    /// `lxnest ARGS` as this user, in a clean environment (no XDG variables of root's).
    pub fn lxnest(&self, args: &[&str], path: &str) -> Output {
        Command::new("runuser")
            .args(["-u", self.name, "--", "env", "-i"])
            .arg(format!("HOME={}", self.home.display()))
            .arg(format!("PATH={path}"))
            .arg(&self.bin)
            .args(args)
            .current_dir("/")
            .output()
            .expect("runuser runs")
    }

    pub fn tree(&self, name: &str) -> PathBuf {
        self.home.join(".local/share/lxnest/rootfs").join(name)
    }
}

pub fn remove_user(name: &str) {
    let _ = Command::new("pkill").args(["-KILL", "-u", name]).output();
    std::thread::sleep(std::time::Duration::from_millis(100));
    if let Ok(Some(pw)) = nix::unistd::User::from_name(name) {
        let _ = Command::new("userdel").arg(name).output();
        let _ = std::fs::remove_dir_all(pw.dir);
    }
}

impl Drop for User {
    fn drop(&mut self) {
        remove_user(self.name);
    }
}

pub const PATH: &str = "/usr/local/bin:/usr/bin:/bin";

pub fn text(o: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

pub fn spec(dir: &Path, name: &str, tarball: &Path) -> PathBuf {
    let p = dir.join(format!("{name}.yaml"));
    let body = format!(
        "containers:\n  - name: {name}\n    rootfs: tar:{}\n    command: [/bin/sleep, \"600\"]\n",
        tarball.display()
    );
    std::fs::write(&p, body).unwrap();
    p
}

/// Every owner in `tree` (not following links).
pub fn owners(tree: &Path, out: &mut Vec<(PathBuf, u32, u32)>) {
    for e in std::fs::read_dir(tree).unwrap().flatten() {
        let m = std::fs::symlink_metadata(e.path()).unwrap();
        out.push((e.path(), m.uid(), m.gid()));
        if m.is_dir() {
            owners(&e.path(), out);
        }
    }
}

/// useradd and usermod lock /etc/passwd and /etc/subuid: the tests take turns.
pub static SERIAL: std::sync::Mutex<()> = std::sync::Mutex::new(());

pub type Setup = (
    std::sync::MutexGuard<'static, ()>,
    tempfile::TempDir,
    PathBuf,
    PathBuf,
);

pub fn setup() -> Option<Setup> {
    if !root() {
        return None;
    }
    let turn = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let d = traversable_tempdir();
    let bin = d.path().join("lxnest");
    // The binary under test, unless LXNEST_BINARY names another (a build of older code).
    let under_test = std::env::var_os("LXNEST_BINARY").map_or_else(
        || PathBuf::from(env!("CARGO_BIN_EXE_lxnest")),
        PathBuf::from,
    );
    std::fs::copy(under_test, &bin).unwrap();
    let tarball = d.path().join("rootfs.tar.gz");
    busybox_tarball(&tarball, &[("home/u/", 1000, 1000)]);
    std::fs::set_permissions(
        &tarball,
        std::os::unix::fs::PermissionsExt::from_mode(0o644),
    )
    .unwrap();
    Some((turn, d, bin, tarball))
}
