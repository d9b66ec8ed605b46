//! Tests of the spec loader against files written to a temporary directory.

use crate::spec::{load, parse_str, SpecError};
use std::fs;
use std::path::Path;

fn write(dir: &Path, name: &str, text: &str) {
    fs::write(dir.join(name), text).unwrap();
}

#[test]
fn unknown_key_names_file_line_and_expected_keys() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "s.yaml",
        "containers:\n  - name: a\n    runtim: lxc\n",
    );
    let err = load(&dir.path().join("s.yaml")).unwrap_err();
    let msg = err.to_string();
    assert!(matches!(err, SpecError::Syntax { .. }), "{msg}");
    assert!(msg.contains("s.yaml:3"), "{msg}");
    assert!(
        msg.contains("runtim") && msg.contains("runtime"),
        "lists the expected keys: {msg}"
    );
}

#[test]
fn includes_merge_in_order_and_origins_point_at_each_file() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "common.yaml", "defaults:\n  rootfs: builtin\n  seccomp:\n    rules: [\"acct errno 1\"]\ncontainers:\n  - name: shared\n");
    write(dir.path(), "top.yaml", "name: t\ninclude: [common.yaml]\ncontainers:\n  - name: a\n    seccomp:\n      rules: [\"ptrace errno 1\"]\n");
    let stack = load(&dir.path().join("top.yaml")).unwrap();
    assert_eq!(stack.name, "t");
    let names: Vec<_> = stack.containers.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(names, ["shared", "a"]);
    let a = &stack.containers[1];
    assert_eq!(
        a.rootfs().map(|r| r.to_string()).as_deref(),
        Some("builtin"),
        "defaults from the include"
    );
    assert_eq!(a.seccomp.rules, ["acct errno 1", "ptrace errno 1"]);
    assert!(
        a.seccomp.rule_origins[0]
            .to_string()
            .ends_with("common.yaml:4"),
        "{:?}",
        a.seccomp.rule_origins
    );
    assert!(
        a.seccomp.rule_origins[1]
            .to_string()
            .ends_with("top.yaml:6"),
        "{:?}",
        a.seccomp.rule_origins
    );
    assert!(a.origin.to_string().ends_with("top.yaml:4"));
}

#[test]
fn include_cycle_is_refused_with_the_chain() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "a.yaml", "include: [b.yaml]\n");
    write(dir.path(), "b.yaml", "include: [a.yaml]\n");
    let err = load(&dir.path().join("a.yaml")).unwrap_err();
    assert!(matches!(err, SpecError::IncludeCycle { .. }), "{err}");
    let msg = err.to_string();
    assert!(
        msg.contains("a.yaml -> ") && msg.contains("b.yaml:1"),
        "{msg}"
    );
}

#[test]
fn include_depth_is_limited() {
    let dir = tempfile::tempdir().unwrap();
    for i in 0..12 {
        write(
            dir.path(),
            &format!("f{i}.yaml"),
            &format!("include: [f{}.yaml]\n", i + 1),
        );
    }
    write(dir.path(), "f12.yaml", "containers: []\n");
    let err = load(&dir.path().join("f0.yaml")).unwrap_err();
    assert!(
        matches!(err, SpecError::IncludeDepth { limit: 8, .. }),
        "{err}"
    );
}

#[test]
fn missing_include_names_the_including_line() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "a.yaml",
        "name: x\ninclude:\n  - nothere.yaml\n",
    );
    let msg = load(&dir.path().join("a.yaml")).unwrap_err().to_string();
    assert!(
        msg.contains("a.yaml:3") && msg.contains("cannot read"),
        "{msg}"
    );
}

#[test]
fn relative_paths_resolve_against_the_defining_file() {
    let dir = tempfile::tempdir().unwrap();
    fs::create_dir(dir.path().join("sub")).unwrap();
    write(
        dir.path(),
        "sub/extra.seccomp",
        "2\ndenylist\nacct errno 1\n",
    );
    write(dir.path(), "sub/inc.yaml", "containers:\n  - name: a\n    rootfs: dir:root\n    seccomp:\n      files: [extra.seccomp]\n");
    write(dir.path(), "top.yaml", "include: [sub/inc.yaml]\n");
    let stack = load(&dir.path().join("top.yaml")).unwrap();
    let a = &stack.containers[0];
    assert!(
        a.rootfs().unwrap().to_string().ends_with("sub/root"),
        "{:?}",
        a.rootfs
    );
    assert_eq!(a.seccomp.file_texts.len(), 1);
    assert!(a.seccomp.file_texts[0].1.contains("acct"));
}

#[test]
fn value_errors_name_the_container_line_and_fix() {
    let cases = [
        (
            "containers:\n  - name: Bad_Name\n",
            "not valid",
            "lower-case",
        ),
        (
            "containers:\n  - name: a\n    runtime: rkt\n",
            "unknown runtime `rkt`",
            "lxc",
        ),
        (
            "containers:\n  - name: a\n    limits: {memory: 12Q}\n",
            "memory `12Q`",
            "512M",
        ),
        (
            "containers:\n  - name: a\n    limits: {cpu: 1e-9}\n",
            "below the kernel's minimum of 1000 µs",
            "at least 0.01 cores",
        ),
        (
            "containers:\n  - name: a\n    limits: {cpu: 0.009}\n",
            "quota of 900 µs",
            "at least 0.01 cores",
        ),
        (
            "containers:\n  - name: a\n  - name: a\n",
            "used twice",
            "own name",
        ),
        (
            "containers:\n  - name: a\n    children: [{name: b}]\n",
            "no `runtime`",
            "runtime: lxnest",
        ),
        (
            "containers:\n  - name: a\n    rootfs: http://x\n",
            "not understood",
            "dir:PATH",
        ),
    ];
    for (text, what, fix) in cases {
        let msg = parse_str(text, "t.yaml").unwrap_err().to_string();
        assert!(msg.contains("t.yaml:"), "{msg}");
        assert!(msg.contains(what) && msg.contains(fix), "{text}: {msg}");
    }
}

#[test]
fn every_example_loads() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../nesting/examples");
    for name in [
        "juju-laptop.yaml",
        "docker-in-lxc.yaml",
        "three-levels.yaml",
    ] {
        let stack = load(&root.join(name)).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert!(!stack.containers.is_empty());
        assert!(
            stack
                .containers
                .iter()
                .all(|c| c.rootfs().map(|r| r.to_string()).as_deref() == Some("builtin")),
            "common.yaml defaults"
        );
    }
}

#[test]
fn builtin_examples_load_without_files() {
    let stack = load(Path::new("builtin:juju-laptop")).unwrap();
    assert_eq!(stack.name, "juju-laptop");
    assert_eq!(stack.containers[0].children.len(), 3);
    assert_eq!(
        stack.containers[0]
            .rootfs()
            .map(|r| r.to_string())
            .as_deref(),
        Some("builtin"),
        "include of common.yaml resolved"
    );
    let msg = load(Path::new("builtin:nope")).unwrap_err().to_string();
    assert!(
        msg.contains("no built-in stack") && msg.contains("juju-laptop"),
        "{msg}"
    );
}

#[test]
fn rootfs_map_form_asks_for_an_encrypted_root() {
    let text = "containers:\n  - name: vault\n    rootfs: { path: /srv/vault, encrypt: fscrypt, key: stdin }\n";
    let stack = parse_str(text, "t.yaml").unwrap();
    let c = &stack.containers[0];
    assert_eq!(
        c.rootfs().map(|r| r.to_string()).as_deref(),
        Some("dir:/srv/vault")
    );
    let e = c
        .encrypt
        .as_ref()
        .expect("encrypt wish from the rootfs map");
    assert_eq!(e.key, crate::spec::model::KeySource::Stdin);
    let bad = parse_str(
        "containers:\n  - name: v\n    rootfs: { path: /x, encrypt: rot13 }\n",
        "t.yaml",
    )
    .unwrap_err();
    let msg = bad.to_string();
    assert!(
        msg.starts_with("t.yaml:3:") && msg.contains("rot13") && msg.contains("encrypt: fscrypt"),
        "{msg}"
    );
}

#[test]
fn a_stack_name_with_a_newline_is_refused_with_its_line() {
    let text = "# a comment\nname: \"bad\\nname\"\ncontainers:\n  - name: c1\n";
    let err = super::parse_str(text, "bad.yaml").expect_err("refused");
    let shown = err.to_string();
    assert!(shown.contains("bad.yaml:2"), "{shown}");
}

/// `defaults.network.link` used to be dropped when defaults were applied, so a `user-nic`
/// default was refused as having no link; every field now goes through one merge.
#[test]
fn defaults_network_link_reaches_every_container_and_survives_includes() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "net.yaml",
        "defaults:\n  network: {mode: user-nic, link: lxcbr0}\n",
    );
    write(
        dir.path(),
        "top.yaml",
        "include: [net.yaml]\ndefaults:\n  network: {mtu: 1400}\ncontainers:\n  - name: a\n  - name: b\n    network: {link: br1}\n",
    );
    let stack = load(&dir.path().join("top.yaml")).unwrap();
    let [a, b] = &stack.containers[..] else {
        panic!("two containers")
    };
    assert_eq!(a.network.link.as_deref(), Some("lxcbr0"));
    assert_eq!(
        a.network.mode,
        Some(crate::spec::model::NetworkMode::UserNic)
    );
    assert_eq!(
        a.network.mtu,
        Some(1400),
        "the including file's defaults add to the include's"
    );
    assert_eq!(
        b.network.link.as_deref(),
        Some("br1"),
        "a container's own value wins"
    );
}

/// Errors point at the line of the value at fault, which the YAML parser reported, not at the
/// container's `name:` line; a value from the defaults points at the defaults.
#[test]
fn value_errors_point_at_the_value_s_own_line() {
    let cases = [
        (
            "containers:\n  - name: a\n    init: systemd\n    runtime: rkt\n",
            "t.yaml:4",
            "unknown runtime `rkt`",
        ),
        (
            "containers:\n  - name: a\n\n    limits:\n      cpu: 1\n      memory: 12Q\n",
            "t.yaml:6",
            "memory `12Q`",
        ),
        (
            "defaults:\n  limits: {pids: 0}\ncontainers:\n  - name: a\n",
            "t.yaml:2",
            "pids 0",
        ),
        (
            "containers:\n  - name: a\n    network:\n      mode: user-nic\n",
            "t.yaml:4",
            "without `link`",
        ),
        (
            "containers:\n  - name: a\n    network: {mode: wifi}\n",
            "t.yaml:3",
            "wifi",
        ),
        (
            "containers:\n  - name: a\n    hooks:\n      pre-strat: [x]\n",
            "t.yaml:4",
            "pre-strat",
        ),
        (
            "containers:\n  - name: a\n    devices:\n      - /dev/fuse\n      - \"/dev/a b\"\n",
            "t.yaml:5",
            "device",
        ),
        (
            "containers:\n  - name: a\n    rootfs: \"tar:\"\n",
            "t.yaml:3",
            "not understood",
        ),
    ];
    for (text, at, what) in cases {
        let msg = parse_str(text, "t.yaml").unwrap_err().to_string();
        assert!(msg.starts_with(&format!("{at}:")), "{text}: {msg}");
        assert!(msg.contains(what), "{text}: {msg}");
    }
}

#[test]
fn origins_of_containers_and_rules_come_from_the_parser() {
    // The same rule text twice and a name that also appears in a comment: searching the text
    // found the first of each.
    let text = "# a: the first container\ncontainers:\n  - name: a\n    seccomp:\n      rules:\n        - acct errno 1\n        - acct errno 1\n    runtime: lxnest\n    children:\n      - name: a\n";
    let stack = parse_str(text, "t.yaml").unwrap();
    let a = &stack.containers[0];
    assert_eq!(a.origin.line, 3);
    let lines: Vec<u32> = a.seccomp.rule_origins.iter().map(|o| o.line).collect();
    assert_eq!(lines, [6, 7]);
    assert_eq!(a.children[0].origin.line, 10);
    assert_eq!(a.origin_of("runtime").line, 8);
}
