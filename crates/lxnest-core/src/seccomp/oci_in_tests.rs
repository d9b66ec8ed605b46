//! OCI profile input: shape, includes/excludes, errors with file, line and JSON path.

use super::*;

const PROFILE: &str = r#"{
  "defaultAction": "SCMP_ACT_ERRNO",
  "defaultErrnoRet": 38,
  "archMap": [{"architecture": "SCMP_ARCH_X86_64", "subArchitectures": ["SCMP_ARCH_X86", "SCMP_ARCH_X32"]}],
  "syscalls": [
    {"names": ["read", "write", "arm_fadvise64_64"], "action": "SCMP_ACT_ALLOW"},
    {"names": ["personality"], "action": "SCMP_ACT_ALLOW",
     "args": [{"index": 0, "value": 8, "op": "SCMP_CMP_EQ"}]},
    {"names": ["clone"], "action": "SCMP_ACT_ALLOW",
     "args": [{"index": 0, "value": 2114060288, "valueTwo": 0, "op": "SCMP_CMP_MASKED_EQ"}],
     "excludes": {"caps": ["CAP_SYS_ADMIN"]}},
    {"names": ["clone", "mount"], "action": "SCMP_ACT_ALLOW", "includes": {"caps": ["CAP_SYS_ADMIN"]}},
    {"names": ["arch_prctl"], "action": "SCMP_ACT_ALLOW", "includes": {"arches": ["amd64", "x32"]}},
    {"names": ["s390_pci_mmio_read"], "action": "SCMP_ACT_ALLOW", "includes": {"arches": ["s390x"]}},
    {"names": ["clone3"], "action": "SCMP_ACT_ERRNO", "errnoRet": 1, "includes": {"minKernel": "5.3"}},
    {"names": ["ptrace"], "action": "SCMP_ACT_KILL"}
  ]
}"#;

fn names(p: &Policy) -> Vec<(String, Action, usize)> {
    p.rules
        .iter()
        .map(|r| (r.syscall.clone(), r.action, r.args.len()))
        .collect()
}

#[test]
fn reads_a_docker_style_profile_for_the_containers_capabilities() {
    let (p, report) = parse(PROFILE, "p.json", &OciContext::default()).expect("parses");
    assert_eq!(
        (p.mode, p.default_action),
        (Mode::Allowlist, Action::Errno(38))
    );
    assert_eq!(
        names(&p),
        vec![
            ("read".into(), Action::Allow, 0),
            ("write".into(), Action::Allow, 0),
            ("personality".into(), Action::Allow, 1),
            ("clone".into(), Action::Allow, 1),
            ("arch_prctl".into(), Action::Allow, 0),
            ("clone3".into(), Action::Errno(1), 0),
            ("ptrace".into(), Action::KillThread, 0),
        ]
    );
    // MASKED_EQ: value is the mask, valueTwo the datum.
    assert_eq!(p.rules[3].args[0].op, CmpOp::MaskedEq(2_114_060_288));
    assert_eq!(p.rules[3].args[0].value, 0);
    assert_eq!(p.rules[3].origin.to_string(), "p.json:9");
    assert_eq!(report.unknown_names.len(), 1, "{report:?}"); // arm_fadvise64_64 is ARM's
    assert_eq!(report.left_out, vec!["syscalls[3]", "syscalls[5]"]);
    let admin = OciContext {
        capabilities: vec!["sys_admin".into()],
        kernel: Some((5, 2)),
    };
    let (p, _) = parse(PROFILE, "p.json", &admin).expect("parses");
    let n = names(&p);
    assert!(n.contains(&("mount".into(), Action::Allow, 0)), "{n:?}");
    assert!(
        !n.iter().any(|r| r.0 == "clone" && r.2 == 1),
        "excluded with sys_admin: {n:?}"
    );
    assert!(
        !n.iter().any(|r| r.0 == "clone3"),
        "minKernel 5.3 above 5.2: {n:?}"
    );
}

#[test]
fn errors_name_file_line_and_json_path() {
    let bad = PROFILE.replace("\"SCMP_ACT_KILL\"", "\"SCMP_ACT_KIL\"");
    let e = parse_profile(&bad, "p.json").unwrap_err().to_string();
    assert!(
        e.starts_with("p.json:16: syscalls[7].action: unknown action `SCMP_ACT_KIL`"),
        "{e}"
    );
    let bad = PROFILE.replace("\"SCMP_CMP_EQ\"", "\"EQ\"");
    let e = parse_profile(&bad, "p.json").unwrap_err().to_string();
    assert!(
        e.starts_with("p.json:7: syscalls[1].args[0]: unknown op `EQ`"),
        "{e}"
    );
    let e = parse_profile(
        "{\"defaultAction\": \"SCMP_ACT_ALLOW\",\n \"syscalls\": [}",
        "q.json",
    )
    .unwrap_err()
    .to_string();
    assert!(e.starts_with("q.json:2: not a JSON seccomp profile"), "{e}");
    assert!(!e.contains("expected the version"), "{e}");
    assert!(is_json(" \n{") && !is_json("2\ndenylist\n"));
}

/// Every action libseccomp profiles name is read, trace with its message number; and a string
/// holding an escaped quote (a comment in a name, say) does not shift the lines errors name
/// (the mutation run found both the trace arm and the escape handling of the line finder
/// deletable unnoticed).
#[test]
fn trace_is_read_and_escaped_quotes_keep_error_lines_right() {
    let p = parse_profile(
        r#"{"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [
  {"names": ["ptrace"], "action": "SCMP_ACT_TRACE", "errnoRet": 7},
  {"names": ["acct"], "action": "SCMP_ACT_LOG"}
]}"#,
        "t.json",
    )
    .unwrap();
    assert_eq!(
        names(&p),
        vec![
            ("ptrace".to_string(), Action::Trace(7), 0),
            ("acct".to_string(), Action::Log, 0)
        ]
    );
    let e = parse_profile(
        r#"{"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [
  {"names": ["read"], "action": "SCMP_ACT_ALLOW", "comment": "a \"quoted\" word"},
  {"names": ["write"], "action": "SCMP_ACT_NOPE"}
]}"#,
        "e.json",
    )
    .unwrap_err()
    .to_string();
    assert!(e.starts_with("e.json:3: syscalls[1].action"), "{e}");
}

/// Two different arguments in one entry are fine; the same one twice is refused, as libseccomp
/// does (the mutation run found the comparison invertible unnoticed).
#[test]
fn an_argument_checked_twice_is_refused_two_different_are_not() {
    let entry = |a: u32, b: u32| {
        format!(
            r#"{{"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [
  {{"names": ["clone"], "action": "SCMP_ACT_ERRNO", "args": [{{"index": {a}, "value": 1, "op": "SCMP_CMP_EQ"}}, {{"index": {b}, "value": 2, "op": "SCMP_CMP_EQ"}}]}}
]}}"#
        )
    };
    let p = parse_profile(&entry(0, 1), "two.json").unwrap();
    assert_eq!(names(&p), vec![("clone".to_string(), Action::Errno(1), 2)]);
    let e = parse_profile(&entry(0, 0), "twice.json")
        .unwrap_err()
        .to_string();
    assert!(e.contains("checked twice"), "{e}");
}
