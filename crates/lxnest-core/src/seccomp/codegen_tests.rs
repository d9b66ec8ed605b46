//! Codegen tests: the program must decide what the policy model says, for every arch, number
//! and argument pattern; seccompiler agrees where it applies; sizes stay under libseccomp's.

use super::*;
use crate::seccomp::interp::{evaluate, SeccompData};
use crate::seccomp::lxc_text::parse;
use crate::seccomp::lxc_text::tests::{random_policy, Rng};
use crate::seccomp::{builtin, interp};

/// What the policy model says for a call: the reference the BPF must match.
fn reference(p: &Policy, arch: Arch, nr: u32, args: [u64; 6]) -> Action {
    if arch == Arch::X32 || (arch == Arch::X86_64 && nr >= X32_SYSCALL_BIT) {
        return match p.mode {
            Mode::Allowlist => p.default_action,
            Mode::Denylist => Action::Errno(38),
        };
    }
    let Some(name) = syscalls::name(arch, nr) else {
        return p.default_action;
    };
    let unconditional_umount2 = p
        .rules
        .iter()
        .any(|r| r.syscall == "umount2" && r.args.is_empty() && r.arches.contains(&arch));
    if p.reject_force_umount
        && !unconditional_umount2
        && name == "umount2"
        && args[1] & MNT_FORCE != 0
    {
        return Action::Errno(EACCES);
    }
    // i386: 32-bit arguments, values truncated to 32 bits (as libseccomp).
    let w = |v: u64| {
        if arch == Arch::I386 {
            v as u32 as u64
        } else {
            v
        }
    };
    let holds = |c: &ArgCmp| {
        let (a, v) = (w(args[c.index as usize]), w(c.value));
        match c.op {
            CmpOp::Eq => a == v,
            CmpOp::Ne => a != v,
            CmpOp::Lt => a < v,
            CmpOp::Le => a <= v,
            CmpOp::Gt => a > v,
            CmpOp::Ge => a >= v,
            CmpOp::MaskedEq(m) => a & w(m) == v & w(m),
        }
    };
    p.rules
        .iter()
        .filter(|r| r.arches.contains(&arch))
        .find(|r| {
            let direct = r.syscall == name && r.args.iter().all(holds);
            let muxed = arch == Arch::I386
                && crate::seccomp::multiplex::demux(&r.syscall, &r.args)
                    .is_some_and(|(mux, _, checks)| mux == name && checks.iter().all(holds));
            direct || muxed
        })
        .map_or(p.default_action, |r| r.action)
}

/// Argument values near the ones the policy compares against.
fn interesting_args(p: &Policy, rng: &mut Rng, low_only: bool) -> [u64; 6] {
    let mut pool: Vec<u64> = vec![0, 1, u64::MAX, 1 << 32, 0xffff_ffff];
    for r in &p.rules {
        for a in &r.args {
            pool.extend([
                a.value,
                a.value.wrapping_add(1),
                a.value.wrapping_sub(1),
                a.value ^ (1 << 32),
            ]);
            if let CmpOp::MaskedEq(m) = a.op {
                pool.extend([m, a.value | !m, a.value & m]);
            }
        }
    }
    let mut args = [0u64; 6];
    for arg in &mut args {
        let v = if rng.below(4) == 0 {
            rng.next()
        } else {
            pool[rng.below(pool.len() as u64) as usize]
        };
        *arg = if low_only { v & 0xffff_ffff } else { v };
    }
    args
}

fn check_against_reference(p: &Policy, rng: &mut Rng, calls_per_nr: usize) {
    let prog = compile(p).unwrap_or_else(|e| panic!("{e}"));
    for arch in [Arch::X86_64, Arch::I386, Arch::X32] {
        for nr in (0..480).chain([0x3fff_ffff, 0xffff_ffff]) {
            for _ in 0..calls_per_nr {
                let args = interesting_args(p, rng, arch == Arch::I386);
                let nr = if arch == Arch::X32 {
                    nr & 0x3fff_ffff
                } else {
                    nr
                };
                let got = evaluate(&prog, arch, nr, args)
                    .unwrap_or_else(|e| panic!("{e}\n{}", disasm(&prog)));
                let want = reference(p, arch, nr, args);
                if let Some(name) =
                    syscalls::name(arch, nr).filter(|_| nr < X32_SYSCALL_BIT || arch == Arch::X32)
                {
                    let model = crate::seccomp::decide_call(p, arch, name, &args).0;
                    assert_eq!(model, want, "decide_call {arch:?} {name} {args:x?}");
                }
                assert_eq!(
                    got,
                    want,
                    "{arch:?} nr {nr} args {args:x?}\n{}\n{}",
                    crate::seccomp::lxc_text::render(p),
                    disasm(&prog)
                );
            }
        }
    }
    let foreign = SeccompData {
        arch: 0xc000_00b7,
        ..SeccompData::default()
    };
    assert_eq!(
        interp::run(&prog, &foreign).map(bpf::action_of),
        Ok(Action::KillProcess),
        "unknown arch"
    );
}

#[test]
fn generated_policies_compile_to_what_they_say() {
    let names: Vec<&str> = syscalls::all_names().collect();
    let mut rng = Rng(0x00c0_ffee_d00d_0042);
    for _ in 0..150 {
        let p = random_policy(&mut rng, &names);
        check_against_reference(&p, &mut rng, 2);
    }
}

#[test]
fn shipped_and_lxc_policies_compile_to_what_they_say() {
    let mut rng = Rng(7);
    for p in [builtin::default_policy(), builtin::no_nesting_policy()] {
        check_against_reference(&p.expect("parses"), &mut rng, 4);
    }
    let text =
        std::fs::read_to_string("/usr/share/lxc/config/common.seccomp").expect("lxc installed");
    check_against_reference(
        &parse(&text, "common.seccomp").expect("parses"),
        &mut rng,
        4,
    );
}

/// A Docker-sized allowlist: every x86_64 syscall but a spread-out ~90.
fn big_allowlist() -> Policy {
    let mut text = String::from("2\nallowlist errno 1\n");
    for (i, name) in syscalls::all_names().enumerate() {
        if syscalls::number(Arch::X86_64, name).is_some() && i % 5 != 3 {
            text.push_str(name);
            text.push('\n');
        }
    }
    text.push_str(
        "personality allow [0,0,==]\npersonality allow [0,8,==]\nclone allow [0,0,&=,0x7e020000]\n",
    );
    parse(&text, "big").expect("parses")
}

#[test]
fn long_programs_jump_far_and_stay_correct() {
    // Syscalls with their own argument blocks: the program runs past the 255-instruction reach
    // of conditional jumps many times over.
    let text_for = |count: usize| {
        let mut text = String::from("2\ndenylist\n");
        for (i, name) in syscalls::all_names().enumerate().take(count) {
            let (errno, index, hi) = (i % 50 + 1, i % 6, (i as u64) << 33);
            let other = (index + 1) % 6;
            text.push_str(&format!(
                "{name} errno {errno} [{index},{i},!=] [{other},{hi:#x},<]\n"
            ));
        }
        text
    };
    let p = parse(&text_for(150), "long").expect("parses");
    let prog = compile(&p).expect("compiles");
    assert!(prog.len() > 1500, "{}", prog.len());
    check_against_reference(&p, &mut Rng(5), 2);
    // Past the kernel's limit the compiler says so instead of emitting a program it would refuse.
    let too_long = compile(&parse(&text_for(400), "long").expect("parses"));
    assert!(
        matches!(too_long, Err(SeccompError::TooLong { max: 4096, .. })),
        "{too_long:?}"
    );
}

#[test]
fn big_allowlist_stays_small_and_correct() {
    let p = big_allowlist();
    assert!(p.rules.len() > 300, "{}", p.rules.len());
    check_against_reference(&p, &mut Rng(99), 1);
    let len = compile(&p).expect("compiles").len();
    // libseccomp 2.5.4 needs about 2.6 instructions per allowed syscall for three arches (see
    // docs/seccomp.md). Even with a gap every fifth number, ranges keep this under 1.5.
    assert!(
        len * 2 < p.rules.len() * 3,
        "{len} instructions for {} rules",
        p.rules.len()
    );
}

/// seccompiler as an oracle: for single-action x86_64 policies both programs must agree on
/// every syscall (x32 aside: seccompiler has no x32 guard).
#[test]
fn agrees_with_seccompiler_on_single_action_policies() {
    use seccompiler::{
        SeccompAction, SeccompCmpArgLen, SeccompCmpOp, SeccompCondition, SeccompFilter,
        SeccompRule, TargetArch,
    };
    let mut rng = Rng(0xabcdef);
    for round in 0..60 {
        // Odd rounds: an allowlist (mismatch errno 1, match allow); even: a denylist.
        let allowlist = round % 2 == 1;
        let (header, hit, miss, matched) = if allowlist {
            (
                "2\nallowlist errno 1\n[x86_64]\n",
                "allow",
                SeccompAction::Errno(1),
                SeccompAction::Allow,
            )
        } else {
            (
                "2\ndenylist allow\n[x86_64]\n",
                "errno 1",
                SeccompAction::Allow,
                SeccompAction::Errno(1),
            )
        };
        let mut text = String::from(header);
        let mut rules: BTreeMap<i64, Vec<SeccompRule>> = BTreeMap::new();
        let mut unconditional = std::collections::BTreeSet::new();
        for _ in 0..(1 + rng.below(30)) {
            let nr = rng.below(460) as u32;
            let Some(name) = syscalls::name(Arch::X86_64, nr) else {
                continue;
            };
            if rng.below(2) == 0 || round % 4 == 0 {
                text.push_str(&format!("{name} {hit}\n"));
                unconditional.insert(nr as i64);
            } else {
                let index = rng.below(6) as u8;
                let value = if rng.below(2) == 0 {
                    rng.below(10)
                } else {
                    rng.next()
                };
                let (op, sop, text_op) = match rng.below(7) {
                    0 => (CmpOp::Eq, SeccompCmpOp::Eq, "=="),
                    1 => (CmpOp::Ne, SeccompCmpOp::Ne, "!="),
                    2 => (CmpOp::Lt, SeccompCmpOp::Lt, "<"),
                    3 => (CmpOp::Le, SeccompCmpOp::Le, "<="),
                    4 => (CmpOp::Gt, SeccompCmpOp::Gt, ">"),
                    5 => (CmpOp::Ge, SeccompCmpOp::Ge, ">="),
                    _ => (
                        CmpOp::MaskedEq(0xff00ff),
                        SeccompCmpOp::MaskedEq(0xff00ff),
                        "&=",
                    ),
                };
                let value = if let CmpOp::MaskedEq(m) = op {
                    value & m
                } else {
                    value
                };
                let mask = if let CmpOp::MaskedEq(m) = op {
                    format!(",{m}")
                } else {
                    String::new()
                };
                text.push_str(&format!("{name} {hit} [{index},{value},{text_op}{mask}]\n"));
                let cond = SeccompCondition::new(index, SeccompCmpArgLen::Qword, sop, value)
                    .expect("valid condition");
                rules
                    .entry(nr as i64)
                    .or_default()
                    .push(SeccompRule::new(vec![cond]).expect("valid rule"));
            }
        }
        for nr in &unconditional {
            rules.insert(*nr, vec![]);
        }
        let p = parse(&text, "oracle").expect("parses");
        let ours = compile(&p).expect("compiles");
        let filter =
            SeccompFilter::new(rules, miss, matched, TargetArch::x86_64).expect("valid filter");
        let theirs: seccompiler::BpfProgram = filter.try_into().expect("seccompiler compiles");
        let theirs: Vec<crate::seccomp::bpf::sock_filter> = theirs
            .iter()
            .map(|i| crate::seccomp::bpf::insn(i.code, i.jt, i.jf, i.k))
            .collect();
        for nr in 0..470 {
            for _ in 0..4 {
                let args = interesting_args(&p, &mut rng, false);
                let a = evaluate(&ours, Arch::X86_64, nr, args).expect("ours runs");
                let b = evaluate(&theirs, Arch::X86_64, nr, args).expect("seccompiler's runs");
                assert_eq!(a, b, "nr {nr} args {args:x?}\n{text}");
            }
        }
    }
}

#[test]
fn sizes_stay_under_libseccomp() {
    // libseccomp 2.5.4, x86_64 + x86 + x32, measured with scripts/bench-filter-size.sh.
    let common = "2\ndenylist\nreject_force_umount\n[all]\nkexec_load errno 1\nopen_by_handle_at errno 1\ninit_module errno 1\nfinit_module errno 1\ndelete_module errno 1\n";
    let with_umount = compile(&parse(common, "c").expect("parses"))
        .expect("compiles")
        .len();
    assert!(
        with_umount <= 33,
        "common.seccomp: {with_umount} > libseccomp's 33"
    );
    let without = common.replace("reject_force_umount\n", "");
    let len = compile(&parse(&without, "c").expect("parses"))
        .expect("compiles")
        .len();
    assert!(
        len <= 23,
        "common.seccomp without reject_force_umount: {len} > libseccomp's 23"
    );
}

#[test]
fn x32_and_foreign_arches_are_closed() {
    let deny = parse("2\ndenylist\nkexec_load errno 1\n", "d").expect("parses");
    let prog = compile(&deny).expect("compiles");
    // kexec_load through the x32 entry, and a plain x32 read: both refused with ENOSYS.
    assert_eq!(
        evaluate(&prog, Arch::X32, 528, [0; 6]),
        Ok(Action::Errno(38))
    );
    assert_eq!(evaluate(&prog, Arch::X32, 0, [0; 6]), Ok(Action::Errno(38)));
    assert_eq!(evaluate(&prog, Arch::X86_64, 0, [0; 6]), Ok(Action::Allow));
    let allow = parse("2\nallowlist errno 1\nread\n", "a").expect("parses");
    let prog = compile(&allow).expect("compiles");
    assert_eq!(evaluate(&prog, Arch::X32, 0, [0; 6]), Ok(Action::Errno(1)));
    assert_eq!(
        evaluate(&prog, Arch::I386, 3, [0; 6]),
        Ok(Action::Allow),
        "i386 read is 3"
    );
}

/// Single-bit rules above bit 31 merge into one any-bits test on the high word: it must still
/// match (a mutation that skipped the high-word `jset` went unnoticed, docs/testing.md).
#[test]
fn any_bits_in_the_high_word_match() {
    let text = "2\ndenylist\n[x86_64]\nclone errno 7 [0,0x100000000,&=,0x100000000]\nclone errno 7 [0,0x400000000,&=,0x400000000]\n";
    let prog = compile(&parse(text, "high").expect("parses")).expect("compiles");
    let clone = 56;
    let call = |arg0: u64| evaluate(&prog, Arch::X86_64, clone, [arg0, 0, 0, 0, 0, 0]);
    assert_eq!(call(1 << 32), Ok(Action::Errno(7)));
    assert_eq!(call(1 << 34), Ok(Action::Errno(7)));
    assert_eq!(call((1 << 34) | 5), Ok(Action::Errno(7)));
    assert_eq!(call(1 << 33), Ok(Action::Allow), "a bit not in the mask");
    assert_eq!(call(0xffff_ffff), Ok(Action::Allow), "low word only");
}

/// Neighbouring one-bit rules merge into one `jset` only when they test the same argument with
/// the same action; a bit with another action, or of another argument, keeps its own test.
#[test]
fn one_bit_rules_merge_only_with_the_same_argument_and_action() {
    let text = "2\ndenylist\n[x86_64]\nclone errno 7 [0,0x10000000,&=,0x10000000]\nclone errno 8 [0,0x20000,&=,0x20000]\nclone errno 8 [1,0x40,&=,0x40]\n";
    let prog = compile(&parse(text, "bits").expect("parses")).expect("compiles");
    let clone = 56;
    let call = |a0: u64, a1: u64| evaluate(&prog, Arch::X86_64, clone, [a0, a1, 0, 0, 0, 0]);
    assert_eq!(call(0x1000_0000, 0), Ok(Action::Errno(7)));
    assert_eq!(call(0x2_0000, 0), Ok(Action::Errno(8)), "its own action");
    assert_eq!(call(0, 0x40), Ok(Action::Errno(8)), "argument 1's bit");
    assert_eq!(call(0x40, 0), Ok(Action::Allow), "that bit of argument 0");
    assert_eq!(
        call(0, 0x2_0000),
        Ok(Action::Allow),
        "argument 0's bit in argument 1"
    );
}

/// Only a masked test of exactly one bit that must be set becomes an any-bits test: "bit clear"
/// (`value` 0) and "all of two bits set" keep their meaning (the mutation run found `&&` -> `||`
/// in that guard missed, which turned both into "any of these bits set").
#[test]
fn only_one_set_bit_becomes_an_any_bits_test() {
    let text =
        "2\ndenylist\n[x86_64]\nclone errno 9 [0,0x0,&=,0x10]\nunshare errno 9 [0,0x30,&=,0x30]\n";
    let prog = compile(&parse(text, "bits").expect("parses")).expect("compiles");
    let (clone, unshare) = (56, 272);
    let call = |nr: u32, a0: u64| evaluate(&prog, Arch::X86_64, nr, [a0, 0, 0, 0, 0, 0]);
    assert_eq!(call(clone, 0), Ok(Action::Errno(9)), "bit 4 clear matches");
    assert_eq!(call(clone, 0x10), Ok(Action::Allow), "bit 4 set does not");
    assert_eq!(call(unshare, 0x30), Ok(Action::Errno(9)), "both bits set");
    assert_eq!(
        call(unshare, 0x10),
        Ok(Action::Allow),
        "one of the two is not enough"
    );
}

/// The disassembly keeps naming syscalls where only a long jump (`ja`) leads: the i386 section
/// of a long program, entered from the architecture checks by a `ja`. What the listing knows
/// (the accumulator holds the number, the architecture is i386) must flow along the jump (the
/// mutation run found the `ja` arm of that flow deletable unnoticed).
#[test]
fn disasm_names_syscalls_past_long_jumps() {
    let mut text = String::from("2\ndenylist\n");
    for (i, name) in syscalls::all_names().enumerate().take(150) {
        text.push_str(&format!("{name} errno {} [0,{i},!=] [1,5,<]\n", i % 50 + 1));
    }
    let prog = compile(&parse(&text, "long").expect("parses")).expect("compiles");
    let listing = disasm(&prog);
    let lines: Vec<&str> = listing.lines().collect();
    let target: usize = lines
        .iter()
        .find_map(|l| l.split_once(": ja ").map(|(_, t)| t.trim()))
        .and_then(|t| t.parse().ok())
        .unwrap_or_else(|| panic!("no long jump in:\n{listing}"));
    let compare = lines[target..]
        .iter()
        .find(|l| l.contains(": jge  #") || l.contains(": jeq  #"))
        .unwrap_or_else(|| panic!("no compare after {target}:\n{listing}"));
    assert!(compare.contains("  ; "), "not named: {compare}");
}

#[test]
fn small_policy_bpf_is_pinned() {
    let text = "2\ndenylist\nreject_force_umount\n[all]\nkexec_load errno 1\nkeyctl errno 38\nclone errno 1 [0,0x10000000,&=,0x10000000]\nclone errno 1 [0,0x20000,&=,0x20000]\n[x86_64]\nioperm kill [2,0x100000000,>=]\n";
    let prog = compile(&parse(text, "pinned").expect("parses")).expect("compiles");
    insta::assert_snapshot!(disasm(&prog));
}
