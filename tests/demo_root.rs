//! `lxnest demo` end to end, as root, in a network namespace the test made (with a bridge on
//! 10.0.3.1/24, as a laptop with LXC has): the stack starts, a real LXC container runs at level 2
//! inside juju-host next to the lxnest units with an address off 10.0.3.0/24 and LXC's own seccomp
//! policy stacked, every escape probe fails, and nothing is left behind.

mod support;
use support::*;

use std::process::Command;

#[test]
fn root_demo_runs_lxc_at_level_two_next_to_the_units() {
    if !root_with("/usr/share/lxc/templates/lxc-busybox", "lxc-templates") {
        return;
    }
    let ns = TestNetns::with_lxc_bridge(&format!("lxnrt-demo-{}", std::process::id()));
    let dir = tempfile::tempdir().expect("tempdir");
    let state = dir.path().join("demo");
    let o = Command::new("nsenter")
        .arg(format!("--net=/run/netns/{}", ns.0))
        .arg(env!("CARGO_BIN_EXE_lxnest"))
        .args(["demo", "-P"])
        .arg(&state)
        .output()
        .expect("nsenter");
    let out = format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(o.status.success(), "demo: {out}");
    let row = out
        .lines()
        .find(|l| l.starts_with("juju-host/juju-lxc1"))
        .unwrap_or_else(|| panic!("the demo shows the LXC container: {out}"));
    assert!(!row.contains(" 10.0.3."), "off LXC's stock subnet: {row}");
    assert!(
        out.contains("every escape attempt failed at both levels"),
        "{out}"
    );
    assert!(
        out.contains("no bridge, veth, cgroup or state file of the demo is left"),
        "{out}"
    );
}
