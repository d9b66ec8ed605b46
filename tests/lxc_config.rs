//! The LXC config reader against Debian's real configs and hand-made include chains.

use lxnest::lxc::config::{effective, not_enforced, read, LxcConfigError};
use std::fs;
use std::path::Path;

#[test]
fn every_config_in_debians_lxc_package_parses() {
    let dir = Path::new("/usr/share/lxc/config");
    if !dir.exists() {
        assert!(
            std::env::var_os("CI").is_none(),
            "the lxc package is missing in CI"
        );
        eprintln!("SKIPPED: Debian's lxc package is not installed");
        return;
    }
    let mut count = 0;
    for entry in fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|x| x == "conf") {
            let cfg = read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            assert!(
                !cfg.entries.is_empty()
                    || fs::read_to_string(&path)
                        .unwrap()
                        .lines()
                        .all(|l| l.trim().is_empty() || l.trim().starts_with('#'))
            );
            count += 1;
        }
    }
    assert!(count >= 40, "read {count} configs");
    // common.conf includes a directory; its seccomp profile key is read from common.conf itself.
    let common = read(&dir.join("common.conf")).unwrap();
    let eff = effective(&common);
    let seccomp = eff
        .iter()
        .find(|(k, _)| k == "lxc.seccomp.profile")
        .unwrap();
    assert!(seccomp.1[0].1.file.ends_with("common.conf") && seccomp.1[0].1.line > 0);
}

#[test]
fn three_deep_include_chain_keeps_origins_and_overrides() {
    let d = tempfile::tempdir().unwrap();
    let p = d.path();
    fs::create_dir(p.join("conf.d")).unwrap();
    fs::write(
        p.join("base.conf"),
        "lxc.uts.name = base\nlxc.cap.drop = sys_time\nlxc.cgroup.pids.max = 100\n",
    )
    .unwrap();
    fs::write(p.join("conf.d/20-b.conf"), "lxc.cgroup.pids.max = 300\n").unwrap();
    fs::write(
        p.join("conf.d/10-a.conf"),
        "lxc.cgroup.pids.max = 200\nlxc.cap.drop = sys_module\n",
    )
    .unwrap();
    fs::write(p.join("conf.d/ignored.txt"), "not = read\n").unwrap();
    fs::write(
        p.join("mid.conf"),
        "lxc.include = base.conf\r\nlxc.include = conf.d\r\n",
    )
    .unwrap();
    fs::write(
        p.join("top.conf"),
        "# top\nlxc.include = mid.conf\nlxc.uts.name = web1\n",
    )
    .unwrap();
    let cfg = read(&p.join("top.conf")).unwrap();
    let eff = effective(&cfg);
    let get = |k: &str| eff.iter().find(|(key, _)| key == k).unwrap().1.clone();
    let uts = get("lxc.uts.name");
    assert_eq!(uts.len(), 1);
    assert_eq!(uts[0].0, "web1");
    assert!(uts[0].1.to_string().ends_with("top.conf:3"), "{}", uts[0].1);
    let pids = get("lxc.cgroup.pids.max");
    assert_eq!(pids[0].0, "300", "directory files in name order, last wins");
    assert!(
        pids[0].1.to_string().ends_with("conf.d/20-b.conf:1"),
        "{}",
        pids[0].1
    );
    let drops = get("lxc.cap.drop");
    assert_eq!(
        drops.iter().map(|(v, _)| v.as_str()).collect::<Vec<_>>(),
        ["sys_time", "sys_module"]
    );
    assert!(drops[0].1.to_string().ends_with("base.conf:2"));
}

#[test]
fn missing_drop_in_directory_is_skipped_but_missing_file_is_an_error() {
    let d = tempfile::tempdir().unwrap();
    fs::write(
        d.path().join("c.conf"),
        "lxc.include = nothere.d/\nlxc.uts.name = a\n",
    )
    .unwrap();
    assert_eq!(effective(&read(&d.path().join("c.conf")).unwrap()).len(), 1);
    fs::write(d.path().join("c.conf"), "lxc.include = nothere.conf\n").unwrap();
    let msg = read(&d.path().join("c.conf")).unwrap_err().to_string();
    assert!(
        msg.contains("c.conf:1") && msg.contains("nothere.conf"),
        "{msg}"
    );
}

#[test]
fn empty_value_clears_a_list() {
    let d = tempfile::tempdir().unwrap();
    fs::write(
        d.path().join("c.conf"),
        "lxc.cap.drop = sys_time\nlxc.cap.drop =\nlxc.cap.drop = mknod\n",
    )
    .unwrap();
    let eff = effective(&read(&d.path().join("c.conf")).unwrap());
    assert_eq!(eff[0].1.len(), 1);
    assert_eq!(eff[0].1[0].0, "mknod");
}

#[test]
fn errors_name_file_line_and_fix() {
    let d = tempfile::tempdir().unwrap();
    fs::write(
        d.path().join("typo.conf"),
        "lxc.uts.name = a\nlxc.rootfs.pth = /x\n",
    )
    .unwrap();
    let msg = read(&d.path().join("typo.conf")).unwrap_err().to_string();
    assert!(
        msg.contains("typo.conf:2") && msg.contains("lxc.rootfs.path"),
        "{msg}"
    );
    fs::write(d.path().join("a.conf"), "lxc.include = b.conf\n").unwrap();
    fs::write(d.path().join("b.conf"), "lxc.include = a.conf\n").unwrap();
    let err = read(&d.path().join("a.conf")).unwrap_err();
    assert!(matches!(err, LxcConfigError::Cycle { .. }), "{err}");
    fs::write(d.path().join("junk.conf"), "hello\n").unwrap();
    assert!(matches!(
        read(&d.path().join("junk.conf")).unwrap_err(),
        LxcConfigError::Syntax { .. }
    ));
}

#[test]
fn keys_not_enforced_are_listed_not_dropped() {
    let d = tempfile::tempdir().unwrap();
    fs::write(
        d.path().join("c.conf"),
        "lxc.uts.name = a\nlxc.tty.max = 4\nlxc.start.auto = 1\n",
    )
    .unwrap();
    let ne = not_enforced(&read(&d.path().join("c.conf")).unwrap());
    let keys: Vec<_> = ne.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(keys, ["lxc.tty.max", "lxc.start.auto"]);
}
