//! `lxnest check` on this machine as root: the report agrees with `host::read`, probes see
//! seccomp filters and dropped capabilities that the test installs over the check process, and
//! the cgroup probe leaves nothing behind. Needs root.

mod check_support;
mod support;

use check_support::{blockers, frozen_binary, probe, run_json};
use seccompiler::{BpfProgram, SeccompAction, SeccompFilter, TargetArch};
use std::collections::BTreeMap;
use std::path::Path;

fn filter(syscalls: &[i64], action: SeccompAction) -> BpfProgram {
    let rules: BTreeMap<i64, Vec<seccompiler::SeccompRule>> =
        syscalls.iter().map(|s| (*s, vec![])).collect();
    let f = SeccompFilter::new(rules, SeccompAction::Allow, action, TargetArch::x86_64)
        .expect("filter");
    BpfProgram::try_from(f).expect("compile")
}

/// A pre_exec hook installing the given filters (no_new_privs first, as seccompiler does). It
/// runs in the forked copy of the threaded test harness, so it must not allocate or lock:
/// `apply_filter` is two syscalls on the prepared programs, and its error is mapped to an errno
/// (no formatting).
fn install(progs: Vec<BpfProgram>) -> Box<dyn FnMut() -> std::io::Result<()> + Send + Sync> {
    Box::new(move || {
        for p in &progs {
            seccompiler::apply_filter(p)
                .map_err(|_| std::io::Error::from_raw_os_error(libc::EPERM))?;
        }
        Ok(())
    })
}

#[test]
fn root_check_json_agrees_with_host_read() {
    let dir = tempfile::tempdir().expect("tempdir");
    let bin = frozen_binary(dir.path());
    let (code, doc, _) = run_json(&bin, &[], &[], None);
    assert_eq!(code, 0, "no --for: exit 0");
    let snap = serde_json::to_value(lxnest::host::read().expect("host::read")).expect("json");
    assert_eq!(
        doc["facts"]["snapshot"], snap,
        "plan and check must see the same machine"
    );
    // Both sides above are host::read: what it says is checked against the machine itself,
    // read another way, so that a wrong reader fails here.
    let s = &doc["facts"]["snapshot"];
    assert_eq!(s["privileged"], nix::unistd::geteuid().is_root());
    let aa = std::fs::read_to_string("/sys/module/apparmor/parameters/enabled")
        .is_ok_and(|t| t.trim() == "Y");
    assert_eq!(
        s["kernel"]["apparmor"], aa,
        "AppArmor per /sys/module/apparmor"
    );
    let fs = nix::sys::statfs::statfs("/sys/fs/cgroup").expect("statfs /sys/fs/cgroup");
    let unified = Path::new("/sys/fs/cgroup/unified/cgroup.controllers").exists();
    let mode = if fs.filesystem_type() == nix::sys::statfs::CGROUP2_SUPER_MAGIC {
        "unified"
    } else if unified {
        "hybrid"
    } else {
        "v1"
    };
    assert_eq!(s["cgroup"]["mode"], mode, "cgroup mode per statfs");
    // Every v1 controller the kernel has mounted (/proc/cgroups: a hierarchy id, enabled).
    let proc_cgroups = std::fs::read_to_string("/proc/cgroups").expect("/proc/cgroups");
    if mode != "unified" {
        for l in proc_cgroups.lines().filter(|l| !l.starts_with('#')) {
            let f: Vec<&str> = l.split_whitespace().collect();
            if f.len() == 4 && f[1] != "0" && f[3] == "1" {
                assert!(
                    s["cgroup"]["v1_controllers"]
                        .as_array()
                        .is_some_and(|a| a.iter().any(|c| c == f[0])),
                    "v1 controller {} mounted but not reported: {}",
                    f[0],
                    s["cgroup"]
                );
            }
        }
    }
    // The IPv4 addresses as iproute2 lists them (used to verify, never to configure).
    let ip = std::process::Command::new("ip")
        .args(["-o", "-4", "addr", "show"])
        .output()
        .expect("ip (iproute2)");
    let mut listed: Vec<String> = String::from_utf8_lossy(&ip.stdout)
        .lines()
        .filter_map(|l| l.split_whitespace().nth(3).map(str::to_string))
        .collect();
    let mut reported: Vec<String> = s["addresses"]
        .as_array()
        .expect("addresses")
        .iter()
        .filter_map(|a| a.as_str().map(str::to_string))
        .collect();
    listed.sort();
    reported.sort();
    assert_eq!(reported, listed, "addresses per `ip -o -4 addr`");
    assert_eq!(
        doc["verdicts"].as_array().map(|v| v.len()),
        Some(lxnest::spec::runtime::builtin_all().len())
    );
}

#[test]
fn root_probes_are_allowed_without_filters_and_full_caps() {
    let status = std::fs::read_to_string("/proc/self/status").expect("status");
    let unfiltered = status
        .lines()
        .any(|l| l.starts_with("Seccomp:") && l.trim_end().ends_with('0'));
    let dir = tempfile::tempdir().expect("tempdir");
    let bin = frozen_binary(dir.path());
    let (_, doc, _) = run_json(&bin, &[], &[], None);
    let eff = doc["facts"]["caps"]["effective"].as_array().expect("caps");
    if !support::require(
        unfiltered && eff.iter().any(|c| c == "sys_admin"),
        "a test process without a seccomp filter and with CAP_SYS_ADMIN",
    ) {
        return;
    }
    for p in doc["facts"]["probes"].as_array().expect("probes") {
        assert_eq!(p["class"], "allowed", "{p}");
    }
}

#[test]
fn root_keyctl_enosys_filter_blocks_docker_only() {
    let dir = tempfile::tempdir().expect("tempdir");
    let bin = frozen_binary(dir.path());
    let prog = filter(
        &[libc::SYS_keyctl],
        SeccompAction::Errno(libc::ENOSYS as u32),
    );
    let (code, doc, _) = run_json(
        &bin,
        &["--for", "docker"],
        &[],
        Some(install(vec![prog.clone()])),
    );
    assert_eq!(code, 1, "docker is blocked");
    let k = probe(&doc, "keyctl");
    assert_eq!(k["class"], "denied_by_seccomp");
    assert_eq!(k["outcome"]["value"], libc::ENOSYS);
    let b = blockers(&doc, "docker");
    assert!(
        b.contains(&"keyctl returns ENOSYS from an outer seccomp filter".to_string()),
        "{b:?}"
    );
    assert!(doc["facts"]["seccomp"]["filters"].as_u64() >= Some(1));

    let (_, doc, _) = run_json(&bin, &["--for", "lxc"], &[], Some(install(vec![prog])));
    assert!(
        blockers(&doc, "lxc").iter().all(|m| !m.contains("keyctl")),
        "lxc does not need keyctl"
    );
}

#[test]
fn root_eperm_with_caps_and_sigsys_are_read_as_seccomp() {
    let dir = tempfile::tempdir().expect("tempdir");
    let bin = frozen_binary(dir.path());
    let progs = vec![
        filter(
            &[libc::SYS_unshare],
            SeccompAction::Errno(libc::EPERM as u32),
        ),
        filter(&[libc::SYS_pivot_root], SeccompAction::KillProcess),
    ];
    let (code, doc, _) = run_json(&bin, &["--for", "lxc"], &[], Some(install(progs)));
    assert_eq!(code, 1);
    for name in ["unshare", "unshare(mnt)", "unshare(user)"] {
        assert_eq!(probe(&doc, name)["class"], "denied_by_seccomp", "{name}");
    }
    let pr = probe(&doc, "pivot_root");
    assert_eq!(pr["class"], "denied_by_seccomp");
    assert_eq!(
        pr["outcome"],
        serde_json::json!({"kind": "signal", "value": libc::SIGSYS})
    );
    // Untouched syscalls still reach the kernel.
    assert_eq!(probe(&doc, "setns")["class"], "allowed");
    assert_eq!(probe(&doc, "mount")["class"], "allowed");
    // Without unshare there is no private mount namespace to try a real mount in.
    assert_eq!(probe(&doc, "mount(tmpfs)")["class"], "unknown");
    let b = blockers(&doc, "lxc");
    assert!(
        b.iter()
            .any(|m| m == "pivot_root returns SIGSYS from an outer seccomp filter"),
        "{b:?}"
    );
}

#[test]
fn root_dropped_sys_admin_is_read_as_capabilities() {
    let dir = tempfile::tempdir().expect("tempdir");
    let bin = frozen_binary(dir.path());
    let hook: Box<dyn FnMut() -> std::io::Result<()> + Send + Sync> = Box::new(|| {
        // SAFETY: drops one capability from this (pre-exec child's) bounding set; root's exec
        // then starts without it.
        if unsafe { libc::prctl(libc::PR_CAPBSET_DROP, 21, 0, 0, 0) } != 0 {
            return Err(std::io::Error::last_os_error());
        }
        Ok(())
    });
    let (code, doc, _) = run_json(&bin, &["--for", "lxc"], &[], Some(hook));
    assert_eq!(code, 1);
    assert!(!doc["facts"]["caps"]["effective"]
        .as_array()
        .expect("caps")
        .iter()
        .any(|c| c == "sys_admin"));
    assert_eq!(probe(&doc, "unshare(mnt)")["class"], "denied_by_caps");
    assert_eq!(probe(&doc, "fsopen")["class"], "denied_by_caps");
    // Path lookups fail before the capability check: these still prove seccomp lets them by.
    assert_eq!(probe(&doc, "mount")["class"], "allowed");
    assert_eq!(probe(&doc, "unshare(user)")["class"], "allowed");
    assert!(blockers(&doc, "lxc").contains(&"cap_sys_admin is not in the bounding set".to_string()));
}

#[test]
fn root_level_marker_is_exact() {
    let dir = tempfile::tempdir().expect("tempdir");
    let bin = frozen_binary(dir.path());
    let (_, doc, _) = run_json(&bin, &[], &[(lxnest::host::LEVEL_ENV, "2")], None);
    let n = &doc["facts"]["nesting"];
    assert_eq!(
        (n["level"].as_u64(), n["exact"].as_bool()),
        (Some(2), Some(true))
    );
    assert_eq!(n["runtime"], "lxnest");
    assert_eq!(doc["facts"]["snapshot"]["level"], 2);
}

#[test]
fn root_cgroup_probe_removes_what_it_creates() {
    let dir = tempfile::tempdir().expect("tempdir");
    let bin = frozen_binary(dir.path());
    let child = std::process::Command::new(&bin)
        .args(["check", "--output", "json"])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("spawn");
    let pid = child.id();
    let out = child.wait_with_output().expect("wait");
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    let d = &doc["facts"]["cgroup"]["delegation"];
    assert!(
        d["unified_writable"].as_bool() == Some(true)
            || d["v1"].as_array().is_some_and(|v| !v.is_empty())
    );
    // Every cgroup directory this process sees: none may still hold the probe's cgroup.
    let name = format!("lxnest-check.{pid}");
    let mounts = std::fs::read_to_string("/proc/self/mountinfo").expect("mountinfo");
    for line in mounts.lines().filter(|l| l.contains(" - cgroup")) {
        let mp = line.split(' ').nth(4).expect("mount point");
        for entry in walk(std::path::Path::new(mp), 3) {
            assert!(!entry.ends_with(&name), "left behind: {}", entry.display());
        }
    }
}

fn walk(dir: &std::path::Path, depth: u32) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    if depth == 0 {
        return out;
    }
    for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        if e.file_type().is_ok_and(|t| t.is_dir()) {
            out.push(e.path());
            out.extend(walk(&e.path(), depth - 1));
        }
    }
    out
}

#[test]
fn unknown_kind_exits_2() {
    let dir = tempfile::tempdir().expect("tempdir");
    let bin = frozen_binary(dir.path());
    let out = std::process::Command::new(&bin)
        .args(["check", "--for", "rkt"])
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("unknown runtime kind"));
}

#[test]
fn root_host_and_cgroup_modules_agree_on_the_layout() {
    // The host snapshot (planning, check) and the launcher's detect (applying) compute the
    // layout with one reader, host::cgroup; on the machine the tests run on they must agree.
    let host = lxnest::host::read().expect("host::read").cgroup;
    let cgroup = lxnest::cgroup::layout::detect().expect("cgroup::layout::detect");
    assert_eq!(host, cgroup);
}

#[test]
fn root_text_report_has_every_section_and_a_line_per_runtime() {
    let dir = tempfile::tempdir().expect("tempdir");
    let bin = frozen_binary(dir.path());
    let out = std::process::Command::new(&bin)
        .arg("check")
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(0));
    let text = String::from_utf8_lossy(&out.stdout);
    for section in [
        "Namespaces",
        "seccomp",
        "cgroups",
        "LSMs",
        "Storage and network",
        "Ids and privileges",
        "Container view",
        "Syscall probes (forked children, harmless arguments)",
        "Verdicts",
    ] {
        assert!(
            text.lines().any(|l| l == section),
            "missing section {section}:\n{text}"
        );
    }
    for kind in lxnest::spec::runtime::builtin_names() {
        let line = text
            .lines()
            .find(|l| l.starts_with(&format!("  {kind}: ")))
            .unwrap_or_else(|| panic!("no verdict line for {kind}"));
        assert!(
            line.contains(": ready") || line.contains(": blocked: "),
            "{line}"
        );
    }
}

#[test]
fn root_check_as_an_unprivileged_user_reads_capability_denials() {
    let dir = tempfile::tempdir().expect("tempdir");
    // nobody must reach the binary.
    std::fs::set_permissions(
        dir.path(),
        std::os::unix::fs::PermissionsExt::from_mode(0o755),
    )
    .expect("chmod");
    let bin = frozen_binary(dir.path());
    let hook: Box<dyn FnMut() -> std::io::Result<()> + Send + Sync> = Box::new(|| {
        // SAFETY: drops this pre-exec child's groups and ids to nobody (65534); raw syscalls only.
        unsafe {
            if libc::setgroups(0, std::ptr::null()) != 0
                || libc::setgid(65534) != 0
                || libc::setuid(65534) != 0
            {
                return Err(std::io::Error::last_os_error());
            }
        }
        Ok(())
    });
    let (code, doc, _) = run_json(&bin, &["--for", "lxc"], &[], Some(hook));
    assert_eq!(code, 1, "lxc cannot run as nobody");
    assert_eq!(doc["facts"]["snapshot"]["privileged"], false);
    assert!(doc["facts"]["caps"]["effective"]
        .as_array()
        .is_some_and(|c| c.is_empty()));
    assert_eq!(probe(&doc, "unshare(mnt)")["class"], "denied_by_caps");
    assert_eq!(probe(&doc, "sethostname")["class"], "denied_by_caps");
    // No capability is needed for these: they still reach the kernel.
    assert_eq!(probe(&doc, "setns")["class"], "allowed");
    assert_eq!(probe(&doc, "unshare(user)")["class"], "allowed");
    assert_eq!(probe(&doc, "mount(tmpfs)")["class"], "unknown");
    let d = &doc["facts"]["cgroup"]["delegation"];
    assert_eq!(d["unified_writable"], false);
}
