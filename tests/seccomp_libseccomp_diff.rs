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
                // libseccomp refuses errno 4095 (lxc_incompatibilities says so; pinned below).
                1 => format!("errno {}", rng.below(4095)),
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

/// The kernel's pick among stacked answers (outermost first): lowest action as a signed int,
/// the innermost among equals.
fn kernel_pick(answers: &[u32]) -> u32 {
    let action = |r: u32| (r & 0xffff_0000) as i32;
    answers
        .iter()
        .rev()
        .fold(None, |best: Option<u32>, &r| match best {
            Some(b) if action(r) >= action(b) => Some(b),
            _ => Some(r),
        })
        .unwrap_or(ffi::ACT_ALLOW)
}

#[test]
fn example_containers_stacked_filters_decide_like_libseccomp() {
    let mut rng = Rng(scmp::seed());
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/nesting/examples");
    let mut containers = 0;
    for entry in std::fs::read_dir(dir).expect("examples").flatten() {
        let path = entry.path();
        let Ok(stack) = lxnest::spec::load(&path) else {
            continue; // a shared include (common.yaml), not a stack
        };
        let host = lxnest::plan::host::HostSnapshot::laptop();
        let plan =
            lxnest::plan::plan(&stack, &host).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let levels: Vec<(String, Both)> = plan
            .containers
            .iter()
            .map(|c| {
                let text = lxc_text::render(&c.seccomp.own);
                (
                    c.path.clone(),
                    both(&text, &format!("{}:{}", path.display(), c.path)),
                )
            })
            .collect();
        for c in &plan.containers {
            // The container's own filter and every ancestor's, outermost first.
            let chain: Vec<&Both> = levels
                .iter()
                .filter(|(p, _)| c.path == *p || c.path.starts_with(&format!("{p}/")))
                .map(|(_, b)| b)
                .collect();
            let ours: Vec<&[Insn]> = chain.iter().map(|b| b.ours.as_slice()).collect();
            let lib: Vec<&[Insn]> = chain.iter().map(|b| b.lib.as_slice()).collect();
            let x32 = kernel_pick(&chain.iter().map(|b| b.x32).collect::<Vec<_>>());
            let reference = |d: &scmp::cbpf::Data| {
                let answers: Option<Vec<u32>> = chain
                    .iter()
                    .map(|b| scmp::reference::decide(b.lxc.default, &b.lxc.rules, d))
                    .collect();
                answers.map(|a| kernel_pick(&a))
            };
            let mut all = chain.last().map(|b| b.values.clone()).unwrap_or_default();
            let mut unknown = Vec::new();
            for b in &chain {
                all.extend(&b.values);
                unknown.extend(b.unknown.iter().cloned());
            }
            let merged = Both {
                ours: Vec::new(),
                lib: Vec::new(),
                lxc: chain[0].lxc.clone(),
                x32,
                values: all,
                unknown,
            };
            let what = format!("{}: {}", path.display(), c.path);
            let calls = check_stacks(&ours, &lib, &reference, &merged, "", &what, &mut rng, 32);
            eprintln!(
                "{what}: {} filters stacked, {calls} calls agree",
                chain.len()
            );
            containers += 1;
        }
    }
    assert!(containers >= 6, "{containers} example containers");
}

/// One call through both programs.
fn answer(b: &Both, arch: u32, nr: u32, args: [u64; 6]) -> (u32, u32) {
    let d = scmp::cbpf::Data {
        nr,
        arch,
        ip: 0,
        args,
    };
    let run = |p: &[Insn]| scmp::cbpf::run(p, &d).expect("runs").ret;
    (run(&b.ours), run(&b.lib))
}

#[test]
fn issue_16_findings_decide_as_libseccomp_does() {
    // 1. socket/shmget rules reach i386 socketcall(SYS_SOCKET)/ipc(SHMGET).
    let b = both("2\ndenylist\nsocket errno 97\nshmget errno 1\n", "f1");
    assert_eq!(
        answer(&b, ffi::ARCH_X86, 102, [1, 0, 0, 0, 0, 0]),
        (0x50061, 0x50061)
    );
    assert_eq!(
        answer(&b, ffi::ARCH_X86, 102, [3, 0, 0, 0, 0, 0]),
        (ffi::ACT_ALLOW, ffi::ACT_ALLOW)
    );
    assert_eq!(
        answer(&b, ffi::ARCH_X86, 117, [23, 0, 0, 0, 0, 0]),
        (0x50001, 0x50001)
    );
    // 2. A MASKED_EQ datum with bits outside its mask: the datum is masked.
    let b = both(
        "2\ndenylist\npersonality errno 1 [0,0x7E020000,SCMP_CMP_MASKED_EQ,0x7E000000]\n",
        "f2",
    );
    assert_eq!(
        answer(&b, ffi::ARCH_X86_64, 135, [0x7e00_0000, 0, 0, 0, 0, 0]),
        (0x50001, 0x50001)
    );
    assert_eq!(
        answer(&b, ffi::ARCH_X86, 136, [0x7e00_0000, 0, 0, 0, 0, 0]),
        (0x50001, 0x50001)
    );
    // 3. i386 values above 32 bits are truncated: kill(-1) is denied on i386.
    let b = both(
        "2\ndenylist\nkill errno 3 [0,0xffffffffffffffff,SCMP_CMP_EQ]\n",
        "f3",
    );
    assert_eq!(
        answer(&b, ffi::ARCH_X86, 37, [0xffff_ffff, 0, 0, 0, 0, 0]),
        (0x50003, 0x50003)
    );
    assert_eq!(
        answer(&b, ffi::ARCH_X86_64, 62, [0xffff_ffff, 0, 0, 0, 0, 0]),
        (ffi::ACT_ALLOW, ffi::ACT_ALLOW)
    );
    // 4. Two checks of one argument: both refuse.
    let text = "2\ndenylist\nread errno 1 [0,1,>] [0,5,<]\n";
    assert!(lxc_text::parse(text, "f4").is_err());
    let lxc = lxc::read(text, "f4").expect("reads");
    assert!(
        ffi::compile(lxc.default, &lxc.rules).is_err(),
        "libseccomp refuses it too"
    );
    // 5. uretprobe (x86_64 335) is known and denied.
    let b = both("2\ndenylist\nuretprobe errno 1\n", "f5");
    assert_eq!(answer(&b, ffi::ARCH_X86_64, 335, [0; 6]).0, 0x50001);
}

#[test]
fn deliberate_differences_are_pinned() {
    // lxnest's kill is KILL_PROCESS, LXC's (libseccomp's SCMP_ACT_KILL) kills the thread.
    let b = both("2\ndenylist\nptrace kill\n", "kill");
    assert_eq!(answer(&b, ffi::ARCH_X86_64, 101, [0; 6]), (0x8000_0000, 0));
    // Unknown arches: lxnest kills the process, libseccomp's default kills the thread.
    assert_eq!(answer(&b, 0xc000_00b7, 101, [0; 6]), (0x8000_0000, 0));
    // x32 under a denylist: every call ENOSYS in lxnest; libseccomp allows unlisted ones.
    assert_eq!(
        answer(&b, ffi::ARCH_X86_64, 0x4000_0000, [0; 6]),
        (0x5_0026, ffi::ACT_ALLOW)
    );
    // errno 4095: the kernel takes it, libseccomp refuses it, lxnest warns for LXC.
    let text = "2\ndenylist\nread errno 4095\n";
    let p = lxc_text::parse(text, "e").expect("parses");
    assert_eq!(lxc_text::lxc_incompatibilities(&p).len(), 1);
    let lxc = lxc::read(text, "e").expect("reads");
    assert!(ffi::compile(lxc.default, &lxc.rules).is_err());
    // i386 truncation of a single high bit: `[3,0x100000000,&=,0x100000000]` always holds.
    let b = both(
        "2\ndenylist\nsetresuid kill [3,0x100000000,SCMP_CMP_MASKED_EQ,0x100000000]\n",
        "hi-bit",
    );
    assert_eq!(answer(&b, ffi::ARCH_X86, 164, [0; 6]), (0x8000_0000, 0));
    assert_eq!(
        answer(&b, ffi::ARCH_X86_64, 117, [0; 6]),
        (ffi::ACT_ALLOW, ffi::ACT_ALLOW)
    );
    // A name libseccomp 2.5.4 cannot name: lxnest denies it, LXC skips the rule.
    let b = both("2\ndenylist\nopen_tree_attr errno 1\n", "newer");
    assert_eq!(
        answer(&b, ffi::ARCH_X86_64, 467, [0; 6]),
        (0x50001, ffi::ACT_ALLOW)
    );
    // Rules of different actions on one syscall: lxnest takes the first match, libseccomp lets
    // the unconditional rule decide everything; lxc_incompatibilities() warns about it.
    let text = "2\ndenylist\nmount errno 1 [0,1,==]\nmount errno 38\n";
    let b = both(text, "order");
    assert_eq!(
        answer(&b, ffi::ARCH_X86_64, 165, [1, 0, 0, 0, 0, 0]),
        (0x50001, 0x50026)
    );
    let p = lxc_text::parse(text, "order").expect("parses");
    assert_eq!(lxc_text::lxc_incompatibilities(&p).len(), 1);
    // libseccomp 2.5.4 bug: with an x32 rule beside an x86_64 one it can skip `ld nr` after the
    // arch check and compare the arch word as the number; lxnest follows the policy.
    let text = "2\ndenylist\n[x86_64]\ngetresgid errno 7 [1,2222718916,SCMP_CMP_GE] [0,0x80000000,>] [2,0x100000000,SCMP_CMP_LT]\n[all]\noldfstat errno 6 [5,5349338624221511680,SCMP_CMP_GE] [1,18446744073709551614,>] [3,18446744073709551614,!=]\n";
    let b = both(text, "x32-merge");
    let args = [0x1_8000_0000, 0xb5c3_54dc_ffff_ffff, 0x8000_0001, 0, 0, 0];
    assert_eq!(
        answer(&b, ffi::ARCH_X86_64, 120, args),
        (0x50007, ffi::ACT_ALLOW)
    );
    // libseccomp 2.5.4 bug: two rules comparing one argument with LT; the second is never
    // reached when the first one's high-word test fails. lxnest follows the policy.
    let text = "2\ndenylist\nmemfd_secret errno 7 [4,3006583574527519795,<] [0,12,<] [3,6,&=,2]\nmemfd_secret errno 7 [0,0xb77e670d4d5b0361,<]\n";
    let b = both(text, "lt-merge");
    let args = [0xf9c7_8c3b, 0, 0, 0x1_0000_000c, 0xffff_ffff_ffbf_ffff, 0];
    assert_eq!(
        answer(&b, ffi::ARCH_X86_64, 447, args),
        (0x50007, ffi::ACT_ALLOW)
    );
}
