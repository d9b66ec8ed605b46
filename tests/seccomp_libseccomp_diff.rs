//! Differential test: lxnest's seccomp BPF against libseccomp 2.5.4's for the same policy, by
//! decision (action and data) over every syscall number 0..1023 on x86_64, i386, x32 and foreign
//! arches, with edge and random arguments. Policies: the shipped ones, LXC's, every example
//! container's stacked filters, and seeded random ones (LXNEST_DIFF_POLICIES raises the count,
//! LXNEST_DIFF_SEED replays). The differences lxnest keeps on purpose are pinned here and listed
//! in docs/seccomp.md.

mod scmp;

use lxnest::seccomp::{compile, lxc_text, syscalls, Arch};
use scmp::cbpf::Insn;
use scmp::compare::{compare, Diff, Rng};
use scmp::{ffi, insns, lxc};

/// What lxnest answers for x32 calls under a policy (docs/seccomp.md, "The x32 choice").
fn x32_answer(allowlist: bool, default: u32) -> u32 {
    if allowlist {
        if default == ffi::ACT_KILL_THREAD {
            0x8000_0000 // lxnest's kill is KILL_PROCESS
        } else {
            default
        }
    } else {
        ffi::act_errno(38)
    }
}

/// Both compilers' programs for LXC text.
struct Both {
    ours: Vec<Insn>,
    lib: Vec<Insn>,
    /// The rules as libseccomp got them, for the reference reading.
    lxc: lxc::LxcPolicy,
    /// What lxnest answers for every x32 call.
    x32: u32,
    /// Values the policy compares against.
    values: Vec<u64>,
    /// Names libseccomp 2.5.4 does not know (LXC skips those rules, lxnest keeps them).
    unknown: Vec<String>,
}

fn both(text: &str, file: &str) -> Both {
    let p = lxc_text::parse(text, file).unwrap_or_else(|e| panic!("lxnest: {e}\n{text}"));
    let ours = insns(&compile(&p).unwrap_or_else(|e| panic!("{file}: {e}")));
    let theirs = lxc::read(text, file).unwrap_or_else(|e| panic!("test reader: {e}"));
    let values: Vec<u64> = theirs
        .rules
        .iter()
        .flat_map(|r| r.args.iter().flat_map(|a| [a.datum_a, a.datum_b]))
        .collect();
    let lib = ffi::compile(theirs.default, &theirs.rules)
        .unwrap_or_else(|e| panic!("libseccomp refused {file}:\n{}\n{text}", e.join("\n")));
    Both {
        ours,
        lib: lib.prog,
        lxc: theirs.clone(),
        x32: x32_answer(theirs.allowlist, theirs.default),
        values,
        unknown: lib.unknown,
    }
}

/// Differences that are not at a syscall libseccomp cannot name (deliberate: lxnest decides
/// calls newer than libseccomp 2.5.4, LXC skips their rules). The name comes from lxnest's
/// table only to classify a difference, never to decide one.
fn unexplained(diffs: Vec<Diff>, unknown: &[String]) -> (Vec<Diff>, usize) {
    let arch = |d: &Diff| match d.arch {
        "i386" => Some(Arch::I386),
        "x86_64" => Some(Arch::X86_64),
        _ => None,
    };
    let (newer, rest): (Vec<Diff>, Vec<Diff>) = diffs.into_iter().partition(|d| {
        arch(d)
            .and_then(|a| syscalls::name(a, d.nr))
            .is_some_and(|n| unknown.iter().any(|u| u == n))
    });
    (rest, newer.len())
}

fn report(what: &str, text: &str, diffs: &[Diff]) -> String {
    let mut out = format!("{what}: {} differences, first ones:\n", diffs.len());
    for d in diffs.iter().take(8) {
        out.push_str(&format!(
            "  {} nr {} args {:x?}: lxnest {:#x}, libseccomp {:#x}\n",
            d.arch, d.nr, d.args, d.lxnest, d.libseccomp
        ));
    }
    out + text
}

/// Compare lxnest and libseccomp on `text`; panics on an unexplained difference. Returns the
/// calls compared.
fn check_text(text: &str, file: &str, rng: &mut Rng, sweeps: usize) -> u64 {
    let b = both(text, file);
    let reference = |d: &scmp::cbpf::Data| scmp::reference::decide(b.lxc.default, &b.lxc.rules, d);
    check_stacks(
        &[&b.ours],
        &[&b.lib],
        &reference,
        &b,
        text,
        file,
        rng,
        sweeps,
    )
}

#[allow(clippy::too_many_arguments)]
fn check_stacks(
    ours: &[&[Insn]],
    lib: &[&[Insn]],
    reference: &dyn Fn(&scmp::cbpf::Data) -> Option<u32>,
    b: &Both,
    text: &str,
    file: &str,
    rng: &mut Rng,
    sweeps: usize,
) -> u64 {
    let (stats, diffs) = compare(ours, lib, reference, b.x32, &b.values, rng, sweeps);
    if stats.libseccomp_wrong > 0 {
        eprintln!(
            "{file}: libseccomp 2.5.4 decides {} calls against the policy ({} of them comparing the arch word as the number); lxnest follows the policy",
            stats.libseccomp_wrong, stats.libseccomp_arch_as_nr
        );
    }
    let (rest, newer) = unexplained(diffs, &b.unknown);
    assert!(rest.is_empty(), "{}", report(file, text, &rest));
    if newer > 0 {
        eprintln!(
            "{file}: {newer} calls differ only at {:?}, which libseccomp 2.5.4 cannot name",
            b.unknown
        );
    }
    stats.calls
}

#[test]
fn shipped_and_lxc_policies_decide_like_libseccomp() {
    let mut rng = Rng(scmp::seed());
    let mut files: Vec<std::path::PathBuf> = Vec::new();
    for dir in [
        concat!(env!("CARGO_MANIFEST_DIR"), "/policy/seccomp"),
        "/usr/share/lxc/config",
    ] {
        let entries = std::fs::read_dir(dir).unwrap_or_else(|e| panic!("{dir}: {e}"));
        files.extend(
            entries
                .flatten()
                .map(|e| e.path())
                .filter(|p| p.extension().is_some_and(|x| x == "seccomp")),
        );
    }
    assert!(files.len() >= 3, "{files:?}");
    for f in files {
        let text = std::fs::read_to_string(&f).unwrap_or_else(|e| panic!("{}: {e}", f.display()));
        let calls = check_text(&text, &f.to_string_lossy(), &mut rng, 64);
        eprintln!("{}: {calls} calls agree", f.display());
    }
}

/// Syscall names for random policies, from libseccomp's own tables (x86_64 and x86), without
/// the multiplexers themselves (rules on `socketcall`/`ipc` next to rules on `socket`/`shmget`
/// make libseccomp refuse the second with EEXIST).
fn libseccomp_names() -> Vec<String> {
    let mut names: Vec<String> = Vec::new();
    for arch in [ffi::ARCH_X86_64, ffi::ARCH_X86] {
        for nr in 0..480 {
            if let Some(n) = ffi::name_of(arch, nr) {
                if !names.contains(&n) && n != "socketcall" && n != "ipc" {
                    names.push(n);
                }
            }
        }
    }
    names
}

#[test]
fn lxnest_knows_every_name_libseccomp_knows() {
    let unknown: Vec<String> = libseccomp_names()
        .into_iter()
        .filter(|n| !syscalls::is_known(n))
        .collect();
    assert_eq!(unknown, Vec::<String>::new());
}

fn value(rng: &mut Rng) -> u64 {
    match rng.below(7) {
        0 => rng.below(16),
        1 => rng.next(),
        2 => 1 << rng.below(64),
        3 => rng.next() & 0xffff_ffff,
        4 => rng.next() << 32,
        5 => u64::MAX - rng.below(2),
        _ => 0xffff_ffff + rng.below(3),
    }
}

fn number_text(rng: &mut Rng, v: u64) -> String {
    match rng.below(3) {
        0 => format!("{v}"),
        1 => format!("{v:#x}"),
        _ if v != 0 => format!("0{v:o}"),
        _ => "0".into(),
    }
}

/// A random LXC v2 policy: mixed actions (one per syscall, none equal to the default, since
/// libseccomp refuses those), every operator, 64-bit values, all four kinds of section.
fn random_text(rng: &mut Rng, names: &[String]) -> String {
    let allowlist = rng.below(2) == 0;
    let default = if allowlist {
        ["kill", "errno 1", "trap", "errno 38"][rng.below(4) as usize].to_string()
    } else {
        ["allow", "allow", "allow", "log", "errno 95"][rng.below(5) as usize].to_string()
    };
    let kind = if allowlist { "allowlist" } else { "denylist" };
    let mut text = format!("2\n{kind} {default}\n");
    // reject_force_umount is a conditional umount2 rule with its own action: like any two
    // actions on one syscall, it is kept apart from umount2 rules (pinned separately below).
    let reject_force_umount = rng.below(4) == 0;
    if reject_force_umount {
        text.push_str("reject_force_umount\n");
    }
    let mut chosen: std::collections::HashMap<String, String> = Default::default();
    let mut section = "";
    for _ in 0..1 + rng.below(40) {
        let name = &names[rng.below(names.len() as u64) as usize];
        if reject_force_umount && name == "umount2" {
            continue;
        }
        let action = chosen.entry(name.clone()).or_insert_with(|| loop {
            let a = match rng.below(7) {
                0 => "kill".to_string(),
                1 => format!("errno {}", rng.below(4096)),
                2 => "allow".into(),
                3 => "trap".into(),
                4 => "notify".into(),
                5 => "log".into(),
                _ => format!("errno {}", 1 + rng.below(40)),
            };
            if a != default {
                break a;
            }
        });
        let s = ["all", "x86_64", "x86", "x32", "all"][rng.below(5) as usize];
        if s != section {
            text.push_str(&format!("[{s}]\n"));
            section = s;
        }
        let mut line = format!("{name} {action}");
        let mut indices = vec![0u64, 1, 2, 3, 4, 5];
        for _ in 0..rng.below(4) {
            let idx = indices.remove(rng.below(indices.len() as u64) as usize);
            let v = value(rng);
            let op = [
                "SCMP_CMP_EQ",
                "!=",
                "SCMP_CMP_LT",
                "<=",
                ">",
                "SCMP_CMP_GE",
                "&=",
            ][rng.below(7) as usize];
            let vt = number_text(rng, v);
            if op == "&=" {
                let m = match rng.below(4) {
                    0 => 1 << rng.below(64),
                    1 => value(rng),
                    2 => v | (1 << rng.below(64)),
                    _ => rng.next() & 0xffff_ffff,
                };
                let mt = number_text(rng, m);
                line.push_str(&format!(" [{idx},{vt},SCMP_CMP_MASKED_EQ,{mt}]"));
            } else {
                line.push_str(&format!(" [{idx},{vt},{op}]"));
            }
        }
        text.push_str(&line);
        text.push('\n');
    }
    text
}

#[test]
fn random_policies_decide_like_libseccomp() {
    let mut rng = Rng(scmp::seed());
    let names = libseccomp_names();
    let count = scmp::count(300);
    let mut calls = 0;
    for i in 0..count {
        let text = random_text(&mut rng, &names);
        calls += check_text(&text, &format!("random-{i}.seccomp"), &mut rng, 24);
    }
    eprintln!("{count} random policies, {calls} calls agree");
}
