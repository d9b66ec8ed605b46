//! The fuzz targets: one per parser of outside input. Each takes the raw bytes, runs the parser and
//! what consumes its result (planning, rendering), and returns how deep the input got (0: refused
//! by the first parser), which the driver uses to keep inputs that reach further. A panic is a
//! crash. Where an invariant holds for every accepted input (a generated LXC config parses back),
//! the target asserts it.

use lxnest::plan::host::HostSnapshot;
use std::path::Path;

/// A target: name, entry point, dictionary of tokens for the mutator.
pub struct Target {
    /// Name (also the corpus directory under fuzz/corpus/).
    pub name: &'static str,
    /// Entry point; `dir` is a scratch directory of the worker's own, empty before each call
    /// only for the targets that need it.
    pub run: fn(&[u8], &Path) -> usize,
    /// Tokens worth inserting.
    pub dict: &'static [&'static str],
    /// Files of this machine used as extra seeds when present (other projects' files are read
    /// where their packages put them, not copied into the corpus).
    pub system_seeds: &'static [&'static str],
}

/// Every target.
pub const TARGETS: &[Target] = &[
    Target {
        name: "spec_yaml",
        run: spec_yaml,
        dict: &[
            "include: [",
            "containers:\n",
            "- name: ",
            "children:\n",
            "runtime: lxc\n",
            "runtime: lxnest\n",
            "limits: {cpu: ",
            "memory: ",
            "pids: ",
            "seccomp: {rules: [",
            "apparmor: {rules: [",
            "environment: {",
            "command: [",
            "hooks: {start: [",
            "mounts: [{source: ",
            "network: {mode: ",
            "idmap: {",
            "rootfs: ",
            "defaults:\n",
            "#--file--\n",
            "inc1.yaml",
            "/dev/zero",
            "&a ",
            "*a",
            "!!binary ",
            "'",
            "\"",
            "\\n",
            "1e-9",
            "-1",
            "18446744073709551616",
            "~",
            "null",
            "{",
            "}",
            "[",
            "]",
            ": ",
        ],
        system_seeds: &[],
    },
    Target {
        name: "spec_values",
        run: crate::values::spec_values,
        dict: &[],
        system_seeds: &[],
    },
    Target {
        name: "lxc_config",
        run: lxc_config,
        dict: &[
            "lxc.uts.name = ",
            "lxc.include = ",
            "lxc.rootfs.path = dir:/",
            "lxc.idmap = u 0 100000 65536\n",
            "lxc.cgroup2.memory.max = ",
            "lxc.cgroup.memory.limit_in_bytes = -1",
            "max",
            "lxc.cgroup2.cpu.max = ",
            "lxc.cgroup.cpu.cfs_quota_us = ",
            "lxc.net.0.type = veth\n",
            "lxc.net.1.link = ",
            "lxc.mount.entry = ",
            "lxc.environment = ",
            "lxc.init.cmd = ",
            "lxc.execute.cmd = \"",
            "lxc.hook.start = ",
            "lxc.apparmor.profile = lxc-container-default-with-nesting\n",
            "lxc.seccomp.allow_nesting = 1\n",
            "lxc.cap.keep = ",
            "lxc.cap.drop = ",
            "lxc.cgroup2.devices.allow = c 10:229 rwm\n",
            "\\040",
            "\"",
            "'",
            "lxc.arch = ",
            "lxc.rootfs.options = encrypt=fscrypt",
            " = ",
            "\n",
        ],
        system_seeds: &[
            "/usr/share/lxc/config/nesting.conf",
            "/usr/share/lxc/config/userns.conf",
            "/usr/share/lxc/config/common.conf",
            "/usr/share/lxc/config/debian.common.conf",
            "/etc/lxc/default.conf",
        ],
    },
    Target {
        name: "seccomp_lxc",
        run: seccomp_lxc,
        dict: &[
            "2\n",
            "allowlist\n",
            "denylist\n",
            "blacklist\n",
            "whitelist\n",
            "[all]\n",
            "[x86_64]\n",
            "[i386]\n",
            "[x32]\n",
            "errno 1",
            "kill",
            "allow",
            "trap",
            "notify",
            "reject_force_umount",
            "[0,1,SCMP_CMP_EQ]",
            "[1,0x7E020000,SCMP_CMP_MASKED_EQ,0x7E000000]",
            "SCMP_CMP_NE",
            "SCMP_CMP_GT",
            "0xffffffffffffffff",
            "socket",
            "kill",
            "personality",
            "mount",
            "keyctl",
            "18446744073709551616",
        ],
        system_seeds: &["/usr/share/lxc/config/common.seccomp"],
    },
    Target {
        name: "seccomp_oci",
        run: seccomp_oci,
        dict: &[
            "\"defaultAction\": \"SCMP_ACT_ERRNO\"",
            "\"defaultErrnoRet\": 1",
            "\"syscalls\": [",
            "{\"names\": [\"",
            "\"action\": \"SCMP_ACT_ALLOW\"",
            "\"errnoRet\": ",
            "\"args\": [",
            "{\"index\": 0, \"value\": 1, \"valueTwo\": 0, \"op\": \"SCMP_CMP_MASKED_EQ\"}",
            "\"includes\": {",
            "\"excludes\": {",
            "\"caps\": [\"CAP_SYS_ADMIN\"]",
            "\"arches\": [\"x86\"]",
            "\"archMap\": [",
            "\"architecture\": \"SCMP_ARCH_X86_64\"",
            "\"subArchitectures\": [\"SCMP_ARCH_X86\"]",
            "\"minKernel\": \"4.8\"",
            "SCMP_ACT_KILL_PROCESS",
            "SCMP_ACT_TRACE",
            "SCMP_ACT_LOG",
            "SCMP_ACT_NOTIFY",
            "null",
            "[]",
            "{}",
            "-1",
        ],
        system_seeds: &["/usr/share/containers/seccomp.json"],
    },
    Target {
        name: "openvz",
        run: openvz,
        dict: &[
            "PHYSPAGES=\"",
            "SLMMEMORYLIMIT=\"",
            "NUMPROC=\"",
            "CPULIMIT=\"",
            "CPUS=\"",
            "NAMESERVER=\"",
            "SEARCHDOMAIN=\"",
            "HOSTNAME=\"",
            "VE_PRIVATE=\"",
            "VE_LAYOUT=\"ploop\"\n",
            "BINDMOUNT=\"",
            "DEVICES=\"c:10:200:rw",
            "DEVNODES=\"net/tun:rw",
            "CAPABILITY=\"",
            "unlimited",
            "2147483647",
            "9223372036854775807",
            "0:",
            "MB",
            "G",
            "1.5",
            "inherit",
            "$VEID",
            "${VEID}",
            "$(id)",
            "'",
            "\"\n",
        ],
        system_seeds: &[],
    },
    Target {
        name: "apparmor_audit",
        run: apparmor_audit,
        dict: &[
            "apparmor=\"DENIED\" ",
            "apparmor=\"ALLOWED\" ",
            "operation=\"open\" ",
            "operation=\"mount\" ",
            "profile=\"lxnest-juju-host\" ",
            "profile=\":lxnest-juju-host:lxnest-unit-1\" ",
            "name=\"/etc/shadow\" ",
            "requested_mask=\"r\" ",
            "denied_mask=\"w\" ",
            "fstype=\"proc\" ",
            "srcname=\"/proc\" ",
            "flags=\"rw\" ",
            "pid=1 ",
            "comm=\"x\" ",
            "name=2F746D70 ",
            "audit(1.2:3): ",
            "type=1400 ",
            "\n",
        ],
        system_seeds: &[],
    },
    Target {
        name: "tar",
        run: tar,
        dict: &[
            "ustar\0",
            "ustar  \0",
            "00000000000\0",
            "0000644\0",
            "0000000\0",
            "../",
            "/etc/",
            "./",
            "\0",
            "PaxHeader",
            "path=",
            "linkpath=",
            "SCHILY.xattr.security.capability=",
            "SCHILY.xattr.system.posix_acl_access=",
            "LIBARCHIVE.",
            "././@LongLink",
            "\x1f\u{8b}",
            "(\u{b5}/\u{fd}",
            "BZh9",
            "\u{fd}7zXZ",
        ],
        system_seeds: &[],
    },
];

fn text(data: &[u8]) -> std::borrow::Cow<'_, str> {
    String::from_utf8_lossy(data)
}

/// Every generated LXC config must parse back with lxnest's reader (which reads as LXC does).
fn check_artifacts(plan: &lxnest::plan::model::Plan, dir: &Path) -> usize {
    let Ok(artifacts) = lxnest::artifacts::render_all(plan, dir, true) else {
        return 3;
    };
    for a in artifacts.iter().filter(|a| a.file.ends_with(".conf")) {
        let t = String::from_utf8_lossy(&a.bytes);
        let entries = match lxnest::lxc::config::parse_text(&t, &a.file) {
            Ok(e) => e,
            Err(e) => panic!("generated {} does not parse back: {e}\n{t}", a.file),
        };
        // No value may add a key: single-valued keys appear once at most.
        for key in [
            "lxc.apparmor.profile",
            "lxc.uts.name",
            "lxc.init.cmd",
            "lxc.rootfs.path",
            "lxc.seccomp.profile",
            "lxc.seccomp.allow_nesting",
        ] {
            let n = entries.iter().filter(|e| e.key == key).count();
            assert!(n <= 1, "{key} written {n} times in {}:\n{t}", a.file);
        }
    }
    4
}

pub(crate) fn planned(stack: &lxnest::spec::Stack, dir: &Path) -> usize {
    match lxnest::plan::plan(stack, &HostSnapshot::laptop()) {
        Ok(plan) => check_artifacts(&plan, dir),
        Err(_) => 1,
    }
}

/// A spec and its includes: parts separated by `#--file--` lines are main.yaml, inc1.yaml, ...
fn spec_yaml(data: &[u8], dir: &Path) -> usize {
    let t = text(data);
    for i in 1..8 {
        let _ = std::fs::remove_file(dir.join(format!("inc{i}.yaml")));
    }
    let mut main = dir.join("main.yaml");
    for (i, part) in t.split("#--file--\n").enumerate().take(8) {
        let name = if i == 0 {
            "main.yaml".to_string()
        } else {
            format!("inc{i}.yaml")
        };
        let p = dir.join(name);
        if std::fs::write(&p, part).is_err() {
            return 0;
        }
        if i == 0 {
            main = p;
        }
    }
    match lxnest::spec::load(&main) {
        Ok(stack) => 1 + planned(&stack, dir),
        Err(e) => {
            let _ = e.to_string();
            0
        }
    }
}

fn lxc_config(data: &[u8], dir: &Path) -> usize {
    let t = text(data);
    let p = dir.join("config");
    if std::fs::write(&p, t.as_bytes()).is_err() {
        return 0;
    }
    // The whole way an LXC config takes: read with includes, map, validate, plan, render.
    match lxnest::lxc::to_spec::load(&p, None) {
        Ok(m) => 1 + planned(&m.stack, dir),
        Err(e) => {
            let _ = e.to_string();
            0
        }
    }
}

fn seccomp_lxc(data: &[u8], _dir: &Path) -> usize {
    let t = text(data);
    let Ok(policy) = lxnest::seccomp::lxc_text::parse(&t, "fuzz.seccomp") else {
        return 0;
    };
    let _ = lxnest::seccomp::lxc_text::render(&policy);
    let _ = lxnest::seccomp::lxc_text::lxc_incompatibilities(&policy);
    match lxnest::seccomp::codegen::compile(&policy) {
        Ok(_) => 2,
        Err(_) => 1,
    }
}

/// An OCI (Docker) profile named in `seccomp.files`, read and planned as a spec would have it.
fn seccomp_oci(data: &[u8], dir: &Path) -> usize {
    let profile = dir.join("profile.json");
    let spec = dir.join("spec.yaml");
    let ok = std::fs::write(&profile, data).is_ok()
        && std::fs::write(
            &spec,
            "containers:\n  - name: c\n    seccomp: {files: [profile.json]}\n",
        )
        .is_ok();
    if !ok {
        return 0;
    }
    match lxnest::spec::load(&spec) {
        Ok(stack) => planned(&stack, dir),
        Err(_) => 0,
    }
}

/// An OpenVZ container config (with `vz.conf`-style globals in the same text): parsed, mapped,
/// and written out; the written spec must parse as YAML and the LXC config as LXC's.
fn openvz(data: &[u8], _dir: &Path) -> usize {
    use lxnest::openvz::parse::{parse_into, Settings};
    let t = text(data);
    let mut s = Settings::new();
    if parse_into(&t, "101.conf", "101", &mut s).is_err() {
        return 0;
    }
    let (c, report) = lxnest::openvz::map::map("101", &s, "101.conf");
    let yaml = lxnest::openvz::render::spec_yaml("101", "101.conf", &c);
    if let Err(e) = serde_yaml_ng::from_str::<serde_yaml_ng::Value>(&yaml) {
        panic!("written spec is not YAML: {e}\n{yaml}");
    }
    let lxc = lxnest::openvz::render::lxc_config("101", "101.conf", &c);
    if let Err(e) = lxnest::lxc::config::parse_text(&lxc, "101.lxc") {
        panic!("written LXC config does not parse: {e}\n{lxc}");
    }
    1 + usize::from(!report.is_empty())
}

fn apparmor_audit(data: &[u8], _dir: &Path) -> usize {
    use std::sync::OnceLock;
    static PLAN: OnceLock<Option<lxnest::plan::model::Plan>> = OnceLock::new();
    let plan = PLAN.get_or_init(|| {
        let stack = lxnest::spec::load(Path::new("builtin:juju-laptop")).ok()?;
        lxnest::plan::plan(&stack, &HostSnapshot::laptop()).ok()
    });
    let mut depth = 0;
    for line in text(data).lines() {
        if lxnest::apparmor::parse_audit_line(line).is_some() {
            depth = depth.max(1);
            if let Some(plan) = plan {
                if lxnest::explain_audit::explain_line(plan, line).is_ok() {
                    depth = 2;
                }
            }
        }
    }
    depth
}

/// A root filesystem tarball (any compression), unpacked as `tar:` rootfs are; afterwards nothing
/// may exist in the scratch directory but the unpacked tree (the worker is also confined by
/// Landlock to that directory, so an escape fails instead of writing to the host).
fn tar(data: &[u8], dir: &Path) -> usize {
    let ball = dir.join("in.tar");
    let dest = dir.join("root");
    if std::fs::write(&ball, data).is_err() {
        return 0;
    }
    let depth = match lxnest::tarball::unpack_fresh(&ball, &dest, None) {
        Ok(_) => 1,
        Err(e) => {
            let _ = e.to_string();
            0
        }
    };
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .map(|rd| {
            rd.filter_map(|e| e.ok())
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names.retain(|n| n != "in.tar" && n != "root");
    assert!(
        names.is_empty(),
        "the unpacker wrote beside its root: {names:?}"
    );
    let _ = std::fs::remove_dir_all(&dest);
    depth
}
