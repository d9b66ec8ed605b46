//! `explain` names the level and rule that decide; `diff` reports what changes between plans and
//! between levels. Pure: planned against the built-in laptop host.

use lxnest::plan::host::HostSnapshot;
use lxnest::plan::Plan;
use lxnest::seccomp::Action;

fn plan_of(text: &str) -> Plan {
    let stack = lxnest::spec::parse_str(text, "s.yaml").unwrap();
    lxnest::plan::plan(&stack, &HostSnapshot::laptop()).unwrap()
}

fn juju() -> Plan {
    let stack = lxnest::spec::load(std::path::Path::new("builtin:juju-laptop")).unwrap();
    lxnest::plan::plan(&stack, &HostSnapshot::laptop()).unwrap()
}

#[test]
fn explain_names_the_deciding_level_and_rule_for_a_denied_syscall() {
    let spec = "containers:\n  - name: h\n    runtime: lxnest\n    seccomp:\n      rules: [\"sync errno 13\"]\n    children:\n      - name: c\n        seccomp:\n          rules: [\"ptrace errno 1\"]\n";
    let p = plan_of(spec);
    let a = lxnest::explain::syscall(&p, "h/c", "sync").unwrap();
    assert_eq!(
        a.effective,
        Action::Errno(13),
        "the parent's rule comes first in its filter"
    );
    assert_eq!(a.decided_by.as_deref(), Some("h"));
    assert_eq!(a.levels[0].origin.to_string(), "s.yaml:5");
    let b = lxnest::explain::syscall(&p, "h/c", "ptrace").unwrap();
    assert_eq!(b.effective, Action::Errno(1));
    assert_eq!(b.decided_by.as_deref(), Some("h/c"));
    assert_eq!(
        b.levels[0].action,
        Action::Allow,
        "the parent allows ptrace"
    );
    let ok = lxnest::explain::syscall(&p, "h/c", "read").unwrap();
    assert_eq!((ok.effective, ok.decided_by), (Action::Allow, None));
}

#[test]
fn explain_on_a_tie_credits_the_innermost_level_as_the_kernel_does() {
    let p = juju();
    let a = lxnest::explain::syscall(&p, "juju-host/unit-1", "kexec_load").unwrap();
    assert_eq!(a.decided_by.as_deref(), Some("juju-host/unit-1"));
    assert!(a
        .levels
        .iter()
        .all(|l| l.origin.file == "policy/seccomp/default.seccomp"));
}

#[test]
fn explain_rejects_unknown_names_and_containers() {
    let p = juju();
    assert!(lxnest::explain::syscall(&p, "juju-host/unit-1", "not_a_syscall").is_err());
    let msg = lxnest::explain::syscall(&p, "nope", "read")
        .unwrap_err()
        .to_string();
    assert!(
        msg.contains("juju-host/unit-1"),
        "lists the containers: {msg}"
    );
}

#[test]
fn explain_path_shows_every_stacked_profile_and_landlock() {
    let p = juju();
    let a = lxnest::explain::path(&p, "juju-host/unit-1", "/proc/sysrq-trigger", "w").unwrap();
    assert_eq!(a.levels.len(), 2, "level-1 and level-2 profiles stack");
    assert!(!a.allowed && a.levels.iter().all(|l| !l.allowed));
    assert!(a
        .levels
        .iter()
        .all(|l| l.rule.as_ref().is_some_and(|(_, r)| r.contains("sysrq"))));
    assert!(matches!(a.landlock, Some((false, _))));
    let tmp = lxnest::explain::path(&p, "juju-host/unit-1", "/tmp/x", "w").unwrap();
    assert!(tmp.allowed, "{tmp:?}");
}

#[test]
fn diff_of_two_levels_and_of_two_plans() {
    let p = juju();
    let changes = lxnest::diff::levels(
        "a -> b".into(),
        p.get("juju-host").unwrap(),
        p.get("juju-host/unit-1").unwrap(),
    );
    let field = |f: &str| changes.iter().find(|c| c.field == f).cloned();
    assert_eq!(
        field("cgroup.delegate").map(|c| (c.before, c.after)),
        Some((Some("true".into()), Some("false".into())))
    );
    assert!(
        changes
            .iter()
            .any(|c| c.field == "seccomp rule" && c.after.as_deref() == Some("mount errno 1")),
        "leaf denies mount"
    );
    let base = "containers:\n  - name: a\n    limits: {memory: 1G}\n";
    let more = "containers:\n  - name: a\n    limits: {memory: 2G}\n  - name: b\n";
    let d = lxnest::diff::plans(&plan_of(base), &plan_of(more));
    assert!(
        d.iter().any(|c| c.container == "a"
            && c.field == "cgroup.limits.memory"
            && c.after.as_deref() == Some("2147483648")),
        "{d:?}"
    );
    assert!(d
        .iter()
        .any(|c| c.container == "b" && c.field == "(container)" && c.before.is_none()));
    assert!(lxnest::diff::plans(&plan_of(base), &plan_of(base)).is_empty());
}

#[test]
fn explain_takes_an_audit_record_from_the_guest_kernel() {
    // Recorded by the AppArmor guest stage (tests/guest) from Debian 12's kernel.
    let record = r#"audit: type=1400 audit(1795935225.316:16): apparmor="DENIED" operation="umount" profile="lxnest-juju-host" name="/proc/sys/" pid=3605 comm="lxnest""#;
    let o = std::process::Command::new(env!("CARGO_BIN_EXE_lxnest"))
        .args([
            "explain",
            "builtin:juju-laptop",
            "--host-fixture",
            "laptop",
            "--audit",
            record,
        ])
        .output()
        .expect("lxnest runs");
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(
        o.status.success(),
        "{text}{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(
        text.contains("container: juju-host") && text.contains("level:     1"),
        "{text}"
    );
    assert!(
        text.contains("audit deny umount /proc/{,**}"),
        "the deciding rule: {text}"
    );
}
