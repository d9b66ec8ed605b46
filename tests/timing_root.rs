//! Root test of the start-step timestamps (`LXNEST_TIMING`, docs/performance.md): one line per
//! step from the launcher and from the container child, on one clock, in start order; nothing
//! without the variable.

use std::process::Command;

mod support;

fn run(name: &str, dir: &std::path::Path, timing: bool) -> std::process::Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_lxnest"));
    cmd.args(["run", "-n", name, "-P"])
        .arg(dir)
        .args(["--", "/bin/true"])
        .env_remove("LXNEST_TIMING");
    if timing {
        cmd.env("LXNEST_TIMING", "1");
    }
    cmd.output().expect("spawn lxnest")
}

#[test]
fn run_root_timing_marks_every_step_in_order_on_one_clock() {
    if !support::root() {
        return;
    }
    let dir = support::traversable_tempdir();
    let o = run("timing1", dir.path(), true);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "{err}");
    let marks: Vec<(f64, u32, String, String)> = err
        .lines()
        .filter_map(|l| {
            let mut f = l.strip_prefix("lxnest-timing ")?.split(' ');
            Some((
                f.next()?.parse().ok()?,
                f.next()?.parse().ok()?,
                f.next()?.to_string(),
                f.next()?.to_string(),
            ))
        })
        .collect();
    let steps: Vec<&str> = marks.iter().map(|m| m.3.as_str()).collect();
    // The launcher's steps and the child's (pid 1 of the container's pid namespace), in the
    // order of docs/launch.md, and the foreground run's own.
    let want = [
        "main", "planned", "state", "cgroup", "spawn", "idmap", "identity", "rootfs", "lock",
        "cgroupns", "network", "pivot", "seccomp", "exec", "running", "exited", "removed",
    ];
    let mut at = 0;
    for w in want {
        let Some(i) = steps[at..].iter().position(|s| *s == w) else {
            panic!(
                "no `{w}` after `{}` in {steps:?}",
                steps[at.saturating_sub(1)]
            );
        };
        at += i + 1;
    }
    // One clock for parent and child: the lines, in the order written, never go back in time.
    for pair in marks.windows(2) {
        assert!(pair[1].0 >= pair[0].0, "{:?} before {:?}", pair[1], pair[0]);
    }
    let child: Vec<&str> = marks
        .iter()
        .filter(|m| m.1 == 1)
        .map(|m| m.3.as_str())
        .collect();
    assert!(
        child.contains(&"identity") && child.contains(&"exec"),
        "the container child marks its own steps: {child:?}"
    );
    assert!(marks.iter().skip(1).all(|m| m.2 == "timing1"));

    // Off: not a line.
    let o = run("timing2", dir.path(), false);
    assert!(o.status.success());
    assert!(!String::from_utf8_lossy(&o.stderr).contains("lxnest-timing"));
}
