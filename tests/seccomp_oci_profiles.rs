//! OCI/Docker seccomp profiles as `seccomp.files`: moby's default.json (Debian's
//! golang-github-docker-docker-dev) and containers-common's seccomp.json (Debian's
//! golang-github-containers-common) must plan, and lxnest's program must decide as libseccomp's
//! does for the same profile, translated to libseccomp calls by the test itself
//! (tests/scmp/oci.rs), for a container with Docker's default capabilities and with
//! CAP_SYS_ADMIN added.

mod scmp;

use lxnest::seccomp::oci_in::{self, OciContext};
use lxnest::seccomp::{compile, syscalls, Arch};
use scmp::compare::{compare, Rng};
use scmp::{ffi, insns, oci};

const MOBY: &str = "/usr/share/gocode/src/github.com/docker/docker/profiles/seccomp/default.json";
const CONTAINERS_COMMON: &str = "/usr/share/containers/seccomp.json";

/// Docker's default capability set.
const DOCKER_CAPS: [&str; 14] = [
    "CAP_CHOWN",
    "CAP_DAC_OVERRIDE",
    "CAP_FSETID",
    "CAP_FOWNER",
    "CAP_MKNOD",
    "CAP_NET_RAW",
    "CAP_SETGID",
    "CAP_SETUID",
    "CAP_SETFCAP",
    "CAP_SETPCAP",
    "CAP_NET_BIND_SERVICE",
    "CAP_SYS_CHROOT",
    "CAP_KILL",
    "CAP_AUDIT_WRITE",
];

fn profile(path: &str) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| {
        panic!("{path}: {e} (scripts/test-all.sh installs the Debian package that ships it)")
    })
}

fn check(path: &str, caps: &[&str]) {
    let text = profile(path);
    let ctx = OciContext {
        capabilities: caps
            .iter()
            .map(|c| c.trim_start_matches("CAP_").to_ascii_lowercase())
            .collect(),
        kernel: None,
    };
    let (policy, _) = oci_in::parse(&text, path, &ctx).unwrap_or_else(|e| panic!("{e}"));
    let ours = insns(&compile(&policy).unwrap_or_else(|e| panic!("{path}: {e}")));
    let theirs = oci::read(&text, caps);
    let lib = ffi::compile(theirs.default, &theirs.rules)
        .unwrap_or_else(|e| panic!("libseccomp refused {path}: {}", e.join("\n")));
    let values: Vec<u64> = theirs
        .rules
        .iter()
        .flat_map(|r| r.args.iter().flat_map(|a| [a.datum_a, a.datum_b]))
        .collect();
    let x32 = if theirs.allowlist {
        if theirs.default == ffi::ACT_KILL_THREAD {
            0
        } else {
            theirs.default
        }
    } else {
        ffi::act_errno(38)
    };
    let reference =
        |d: &scmp::cbpf::Data| scmp::reference::decide(theirs.default, &theirs.rules, d);
    let mut rng = Rng(scmp::seed());
    let (stats, diffs) = compare(
        &[&ours],
        &[&lib.prog],
        &reference,
        x32,
        &values,
        &mut rng,
        48,
    );
    // Calls libseccomp 2.5.4 cannot name are decided by lxnest only (docs/seccomp.md).
    let rest: Vec<_> = diffs
        .into_iter()
        .filter(|d| {
            let arch = if d.arch == "i386" {
                Arch::I386
            } else {
                Arch::X86_64
            };
            !syscalls::name(arch, d.nr).is_some_and(|n| lib.unknown.iter().any(|u| u == n))
        })
        .collect();
    assert!(
        rest.is_empty(),
        "{path} with {caps:?}: {} differences, first: {:x?}",
        rest.len(),
        &rest[..rest.len().min(5)]
    );
    eprintln!(
        "{path}: {} rules, {} calls agree; libseccomp wrong on {}; x32 deliberate {}",
        policy.rules.len(),
        stats.calls,
        stats.libseccomp_wrong,
        stats.x32_deliberate
    );
}

#[test]
fn moby_default_profile_decides_like_libseccomp() {
    check(MOBY, &DOCKER_CAPS);
    let mut admin = DOCKER_CAPS.to_vec();
    admin.push("CAP_SYS_ADMIN");
    check(MOBY, &admin);
}

#[test]
fn containers_common_profile_decides_like_libseccomp() {
    check(CONTAINERS_COMMON, &DOCKER_CAPS);
    let mut admin = DOCKER_CAPS.to_vec();
    admin.push("CAP_SYS_ADMIN");
    check(CONTAINERS_COMMON, &admin);
}

#[test]
fn moby_default_profile_plans_as_seccomp_file() {
    let dir = tempfile::tempdir().expect("tempdir");
    let spec = dir.path().join("stack.yaml");
    std::fs::write(
        &spec,
        format!("name: oci\ncontainers:\n  - name: a\n    seccomp:\n      files: [{MOBY}]\n"),
    )
    .expect("write");
    let stack = lxnest::spec::load(&spec).unwrap_or_else(|e| panic!("{e}"));
    let plan = lxnest::plan::plan(&stack, &lxnest::plan::host::HostSnapshot::laptop())
        .unwrap_or_else(|e| panic!("{e:#}"));
    let own = &plan.containers[0].seccomp.own;
    assert_eq!(own.default_action, lxnest::seccomp::Action::Errno(1));
    assert!(own
        .rules
        .iter()
        .any(|r| r.syscall == "read" && r.action == lxnest::seccomp::Action::Allow));
    // A JSON error names the file, line and JSON path once; the LXC text error is gone.
    let bad = dir.path().join("bad.json");
    std::fs::write(&bad, "{\n \"defaultAction\": \"SCMP_ACT_ERRNO\",\n \"syscalls\": [\n  {\"names\": [\"read\"], \"action\": \"SCMP_ACT_NOPE\"}\n ]\n}\n").expect("write");
    std::fs::write(
        &spec,
        format!(
            "name: oci\ncontainers:\n  - name: a\n    seccomp:\n      files: [{}]\n",
            bad.display()
        ),
    )
    .expect("write");
    let stack = lxnest::spec::load(&spec).unwrap_or_else(|e| panic!("{e}"));
    let err = lxnest::plan::plan(&stack, &lxnest::plan::host::HostSnapshot::laptop()).unwrap_err();
    let msg = format!("{:#}", anyhow::Error::from(err));
    assert!(
        msg.starts_with(&format!(
            "{}:4: syscalls[0].action: unknown action `SCMP_ACT_NOPE`",
            bad.display()
        )),
        "{msg}"
    );
    assert_eq!(
        msg.matches("SCMP_ACT_NOPE").count(),
        1,
        "printed once: {msg}"
    );
    assert!(!msg.contains("expected the version"), "{msg}");
}
