//! OpenVZ import on sample configs in the shapes OpenVZ itself ships (vswap samples with units,
//! UBC barrier:limit page counts, a vz.conf with $VEID defaults): what maps, and that the results
//! are accepted by lxnest's planner and by LXC's own config parser.

use lxnest::openvz::{import, Outcome};
use std::path::Path;
use std::process::Command;

fn sample(name: &str) -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/openvz")
        .join(name)
}

fn outcome<'a>(imp: &'a lxnest::openvz::Import, key: &str) -> &'a Outcome {
    &imp.report
        .iter()
        .find(|l| l.key == key)
        .unwrap_or_else(|| panic!("{key} reported"))
        .outcome
}

#[test]
fn vswap_style_container_maps_limits_devices_mounts_dns_and_reports_the_rest() {
    let imp = import(&sample("101.conf"), Some(&sample("vz.conf"))).unwrap();
    let c = &imp.container;
    assert_eq!(c.name, "web1");
    assert_eq!(
        c.rootfs().map(|r| r.to_string()).as_deref(),
        Some("dir:/vz/private/101"),
        "$VEID substituted"
    );
    assert_eq!(c.limits.memory.as_deref(), Some("512M"));
    assert_eq!(c.limits.cpu, Some(1.5), "min of CPUS=2 and CPULIMIT=150%");
    assert_eq!(c.limits.pids, None, "unlimited");
    assert_eq!(c.devices, ["/dev/net/tun", "/dev/fuse"]);
    assert_eq!(c.mounts.len(), 2);
    assert!(c.mounts[0].options.contains(&"ro".to_string()));
    assert_eq!(c.capabilities.drop, ["net_raw"]);
    assert!(c.hooks.get(lxnest::hooks::HookKind::Start)[0].contains("nameserver 192.0.2.53"));
    assert!(matches!(outcome(&imp, "IP_ADDRESS"), Outcome::Adapted(_)));
    assert!(matches!(outcome(&imp, "DISKSPACE"), Outcome::NotMapped(w) if w.contains("quota")));
    assert!(matches!(outcome(&imp, "SWAPPAGES"), Outcome::NotMapped(_)));
    assert!(matches!(outcome(&imp, "DEVICES"), Outcome::Adapted(w) if w.contains("b:7:0")));
    assert!(matches!(outcome(&imp, "CAPABILITY"), Outcome::Adapted(w) if w.contains("sys_time")));
    assert!(matches!(outcome(&imp, "ONBOOT"), Outcome::NotMapped(_)));
    assert!(
        !imp.report.iter().any(|l| l.key == "LOCKDIR"),
        "unused vz.conf settings are not reported"
    );
}

#[test]
fn ubc_style_container_converts_pages_and_refuses_beancounters() {
    let imp = import(&sample("202.conf"), Some(&sample("vz.conf"))).unwrap();
    let c = &imp.container;
    assert_eq!(c.name, "legacy-db", "sanitised hostname");
    assert_eq!(
        c.limits.memory.as_deref(),
        Some("1024M"),
        "262144 pages of 4 KiB"
    );
    assert_eq!(c.limits.pids, Some(240));
    assert_eq!(
        c.rootfs().map(|r| r.to_string()).as_deref(),
        Some("dir:/vz/root/202"),
        "ploop: the mounted image"
    );
    assert!(matches!(outcome(&imp, "VE_PRIVATE"), Outcome::Adapted(w) if w.contains("ploop")));
    for ubc in ["KMEMSIZE", "PRIVVMPAGES", "NUMTCPSOCK"] {
        assert!(
            matches!(outcome(&imp, ubc), Outcome::NotMapped(w) if w.contains("beancounter")),
            "{ubc}"
        );
    }
    assert!(matches!(outcome(&imp, "IOPRIO"), Outcome::NotMapped(_)));
}

#[test]
fn the_written_spec_plans_and_the_lxc_config_parses() {
    let dir = tempfile::tempdir().unwrap();
    for ct in ["101.conf", "202.conf"] {
        let imp = import(&sample(ct), Some(&sample("vz.conf"))).unwrap();
        let spec = dir.path().join(format!("{}.yaml", imp.container.name));
        std::fs::write(&spec, &imp.spec_yaml).unwrap();
        let stack =
            lxnest::spec::load(&spec).unwrap_or_else(|e| panic!("{ct}: {e}\n{}", imp.spec_yaml));
        lxnest::plan::plan(&stack, &lxnest::plan::host::HostSnapshot::laptop())
            .unwrap_or_else(|e| panic!("{ct}: {e}"));
        let cfg_dir = dir.path().join(&imp.container.name);
        std::fs::create_dir_all(&cfg_dir).unwrap();
        std::fs::write(cfg_dir.join("config"), &imp.lxc_config).unwrap();
        lxnest::lxc::config::read(&cfg_dir.join("config")).unwrap_or_else(|e| panic!("{ct}: {e}"));
        let lxc_info = Command::new("lxc-info")
            .arg("-P")
            .arg(dir.path())
            .args(["-n", &imp.container.name, "-c", "lxc.uts.name"])
            .output();
        match lxc_info {
            Ok(out) => assert!(
                out.status.success(),
                "{ct}: LXC refuses the config: {}\n{}",
                String::from_utf8_lossy(&out.stderr),
                imp.lxc_config
            ),
            Err(_) => assert!(std::env::var_os("CI").is_none(), "lxc-info missing in CI"),
        }
    }
}

#[test]
fn a_broken_line_names_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("303.conf");
    std::fs::write(&f, "HOSTNAME=\"a\"\nthis is not a setting\n").unwrap();
    let msg = import(&f, None).err().unwrap().to_string();
    assert!(msg.contains("303.conf:2") && msg.contains("fix"), "{msg}");
}
