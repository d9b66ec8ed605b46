//! The escape battery: inside a plain level-1 container, a plain level-2 container (started by
//! a nesting level-1 host), and the nesting host itself, try what a container must never do to
//! its parent or the host. Every attempt must fail with the errno pinned here; the test prints
//! a probe x level table. Probes run as `lxnest __probe all HOST_PID` (lxnest is on PATH in the
//! built-in rootfs).

use lxnest::launch::probe::{needs_file, PROBES};
use std::collections::BTreeMap;
use std::process::Command;

mod support;
use support::TestNetns;

fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_lxnest")
}

/// Expected result in a plain container (no runtime inside).
fn expected_plain(probe: &str) -> &'static [&'static str] {
    match probe {
        // Read-only bind of the proc file (absent when the host kernel has no sysrq).
        "write_sysrq" => &["EROFS", "absent"],
        // Owned by the initial user namespace's root: permission fails before the ro mount.
        "write_proc_sys_kernel" => &["EACCES"],
        // The knob belongs to the initial user namespace's root, so the permission check refuses
        // (EACCES) before the read-only mount is consulted (EROFS); either way no write.
        "write_sys_kernel" => &["EACCES", "EROFS"],
        // Only nesting hosts have the clean proc copy.
        "write_clean_proc_sys_kernel" => &["absent"],
        // seccomp (errno 1) and missing capabilities in the initial user namespace.
        "kexec_load" | "init_module" | "finit_module" | "delete_module" | "open_by_handle_at"
        | "reboot" | "swapon" | "clock_settime" | "syslog" | "mknod_block" => &["EPERM"],
        // Processes of the parent's pid namespace do not exist in the container's.
        "kill_outside" | "ptrace_outside" => &["ESRCH"],
        // Limits are files owned by the host's root; the premounted cgroupfs is read-only.
        "cgroup_raise_limit" => &["EACCES"],
        "cgroup_mkdir" => &["EROFS"],
        // No CAP_NET_ADMIN (and the namespace is the container's own anyway).
        "net_route_add" | "net_addr_set" => &["EPERM"],
        // seccomp denies mount(2) to containers that host nothing.
        "mount_bind_root" | "mount_over_proc" => &["EPERM"],
        // umount2 and mount(2) are denied outright to containers that host nothing.
        "umount_masks" | "remount_proc_sys_rw" => &["EPERM"],
        _ => &[],
    }
}

/// Expected result in a nesting host; `None` where the probe acts on the host's own namespaces
/// (its mount, cgroup or network namespace), which a nesting host legitimately manages.
fn expected_nesting_host(probe: &str) -> Option<&'static [&'static str]> {
    match probe {
        "cgroup_mkdir" | "net_route_add" | "net_addr_set" | "mount_bind_root"
        | "mount_over_proc" => None,
        // Unmasked, but owned by the initial user namespace: the kernel refuses.
        "write_clean_proc_sys_kernel" => Some(&["EACCES"]),
        // A nesting host may unmount and remount, but its masks are locked mounts (made before
        // its user namespace): the kernel refuses to take them off or make them writable.
        "umount_masks" => Some(&["EINVAL"]),
        "remount_proc_sys_rw" => Some(&["EPERM"]),
        p => Some(expected_plain(p)),
    }
}

fn probe_table(args: &[&str]) -> BTreeMap<String, String> {
    let o = Command::new(bin())
        .args(args)
        .output()
        .expect("spawn lxnest");
    let out = String::from_utf8_lossy(&o.stdout).to_string();
    assert!(
        o.status.success(),
        "{args:?}: {out}{}",
        String::from_utf8_lossy(&o.stderr)
    );
    out.lines()
        .filter_map(|l| l.split_once('\t'))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

#[test]
fn escape_root_battery_fails_at_every_level() {
    let dir = tempfile::tempdir().expect("tempdir");
    let p = dir.path().to_str().expect("utf-8");
    let me = std::process::id().to_string();
    let l1 = probe_table(&[
        "run", "-P", p, "-n", "esc-l1", "--", "lxnest", "__probe", "all", &me,
    ]);
    let l2 = probe_table(&[
        "run", "-P", p, "-n", "esc-host", "--nested", "--", "lxnest", "run", "-n", "esc-l2", "--",
        "lxnest", "__probe", "all", &me,
    ]);
    let host = probe_table(&[
        "run", "-P", p, "-n", "esc-host", "--nested", "--", "lxnest", "__probe", "all", &me,
    ]);

    let mut table = format!(
        "{:<24} {:<10} {:<10} {:<14}\n",
        "probe", "level 1", "level 2", "nesting host"
    );
    let mut failures = Vec::new();
    for probe in PROBES {
        let get = |t: &BTreeMap<String, String>| {
            t.get(*probe).cloned().unwrap_or_else(|| "missing".into())
        };
        let (a, b, h) = (get(&l1), get(&l2), get(&host));
        table.push_str(&format!("{probe:<24} {a:<10} {b:<10} {h:<14}\n"));
        let want = expected_plain(probe);
        for (level, got) in [("level 1", &a), ("level 2", &b)] {
            if !want.contains(&got.as_str()) {
                failures.push(format!(
                    "{probe} at {level}: got {got}, want one of {want:?}"
                ));
            }
            if got == "absent"
                && needs_file(probe).is_some_and(|f| std::path::Path::new(f).exists())
            {
                failures.push(format!(
                    "{probe} at {level}: the host has the file but the container does not"
                ));
            }
        }
        if let Some(want) = expected_nesting_host(probe) {
            if !want.contains(&h.as_str()) {
                failures.push(format!(
                    "{probe} in the nesting host: got {h}, want one of {want:?}"
                ));
            }
        }
    }
    println!("{table}");
    assert!(failures.is_empty(), "{}\n{table}", failures.join("\n"));
    support::assert_no_state_left(dir.path());
}

#[test]
fn escape_root_battery_in_a_planned_three_level_stack() {
    let ns = TestNetns::new(&format!("lxnest-e{}", std::process::id()));
    let dir = tempfile::tempdir().expect("tempdir");
    let me = std::process::id();
    // A plain container at level 2 (under a nesting host) and at level 3 (under two), as the
    // planner makes them: the probes print their table on the shared stdout.
    let spec = format!(
        r#"name: esc
containers:
  - name: n1
    runtime: lxnest
    children:
      - name: p2
        command: ["lxnest", "__probe", "all", "{me}"]
      - name: n2
        runtime: lxnest
        children:
          - name: p3
            command: ["/bin/sh", "-c", "lxnest __probe all {me} | sed 's/^/L3 /'"]
"#
    );
    let sp = dir.path().join("esc.yaml");
    std::fs::write(&sp, spec).expect("write");
    let state = dir.path().join("state");
    let o = ns.start_nested(&state, &sp);
    let out = String::from_utf8_lossy(&o.stdout).to_string();
    assert!(
        o.status.success(),
        "{out}{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let mut l2 = BTreeMap::new();
    let mut l3 = BTreeMap::new();
    for line in out.lines() {
        let (t, line) = match line.strip_prefix("L3 ") {
            Some(rest) => (&mut l3, rest),
            None => (&mut l2, line),
        };
        if let Some((k, v)) = line.split_once('\t') {
            t.insert(k.to_string(), v.to_string());
        }
    }
    let mut table = format!("{:<24} {:<10} {:<10}\n", "probe", "level 2", "level 3");
    let mut failures = Vec::new();
    for probe in PROBES {
        let a = l2.get(*probe).cloned().unwrap_or_else(|| "missing".into());
        let b = l3.get(*probe).cloned().unwrap_or_else(|| "missing".into());
        table.push_str(&format!("{probe:<24} {a:<10} {b:<10}\n"));
        for (level, got) in [("level 2", &a), ("level 3", &b)] {
            if !expected_plain(probe).contains(&got.as_str()) {
                failures.push(format!(
                    "{probe} at {level}: got {got}, want one of {:?}",
                    expected_plain(probe)
                ));
            }
        }
    }
    println!("{table}");
    assert!(failures.is_empty(), "{}\n{table}", failures.join("\n"));
}
