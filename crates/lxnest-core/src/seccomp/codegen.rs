//! Compile a [`Policy`] to classic BPF with an action per rule.
//!
//! Layout (see docs/seccomp.md):
//! ```text
//! ld arch; jeq X86_64 -> x86_64 branch; jeq I386 -> i386 branch; else KILL_PROCESS
//! x86_64: ld nr; jge 0x40000000 -> x32 action; binary search over syscall numbers
//! i386:   ld nr; binary search over syscall numbers
//! argument checks, one block per syscall that has conditional rules
//! returns
//! ```
//! Syscall numbers that decide alike and are adjacent merge into ranges; the search splits the
//! ranges in halves with `jge` down to a few, which a short `jeq` chain finishes. Argument checks
//! compare both 32-bit words on x86_64 and the low word on i386 (its arguments are 32 bits).

use super::bpf::sock_filter;
use super::bpf::{self, Builder, Target};
use super::error::SeccompError;
use super::model::{Action, Arch, ArgCmp, CmpOp, Mode, Policy};
use super::multiplex;
use super::syscalls::{self, X32_SYSCALL_BIT};
use std::collections::{BTreeMap, HashMap};

pub use super::disasm::disasm;

/// Runs at most this long are checked one after another instead of split further: below it a
/// split costs more instructions than it saves comparisons.
const LINEAR_RUNS: usize = 3;

/// `MNT_FORCE`, the `umount2` flag `reject_force_umount` refuses.
const MNT_FORCE: u64 = 1;
/// `EACCES`, LXC's answer to a forced unmount.
const EACCES: u16 = 13;
/// `ENOSYS`, what x32 calls get under a denylist.
const ENOSYS: u16 = 38;

/// One argument test after lowering.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Test {
    /// A comparison as written.
    Cmp(ArgCmp),
    /// `arg & mask != 0`: several single-bit `MASKED_EQ` rules with the same action, merged.
    AnyBits { index: u8, mask: u64 },
}

/// The checks for one syscall: rules in order (all tests must hold), then the fallback.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct Block {
    rules: Vec<(Vec<Test>, Action)>,
    fallback: Action,
    /// Compare only the low words (i386, or tests whose high words cannot matter).
    low_only: bool,
}

/// What a syscall number leads to.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Decide {
    Ret(Action),
    Check(Block),
}

/// Compile `p` for x86_64 (with i386 and the x32 guard).
pub fn compile(p: &Policy) -> Result<Vec<sock_filter>, SeccompError> {
    let x86_64 = decisions(p, Arch::X86_64);
    let i386 = decisions(p, Arch::I386);
    let x32_action = match p.mode {
        Mode::Allowlist => p.default_action,
        // A denylist names x86_64 numbers; x32 numbers would walk past it, so refuse them all.
        Mode::Denylist => Action::Errno(ENOSYS),
    };

    let mut b = Builder::default();
    let mut actions = vec![p.default_action, Action::KillProcess, x32_action];
    for d in x86_64.values().chain(i386.values()) {
        match d {
            Decide::Ret(a) => actions.push(*a),
            Decide::Check(block) => {
                actions.extend(block.rules.iter().map(|r| r.1));
                actions.push(block.fallback);
            }
        }
    }
    // The default is the most used target: emit it last so it sits nearest the code.
    actions.sort_by_key(|a| (*a == p.default_action, a.strictness(), bpf::ret_value(*a)));
    actions.dedup();
    b.rets(actions.iter().map(|a| bpf::ret_value(*a)));

    let mut blocks: HashMap<Block, Target> = HashMap::new();
    let default = Target::Ret(bpf::ret_value(p.default_action));
    let i386_runs = runs(&i386, &mut b, &mut blocks);
    let i386_entry = search(&mut b, &i386_runs, 0, u32::MAX, default);
    let i386_entry = load_nr(&mut b, i386_entry);
    let x86_64_runs = runs(&x86_64, &mut b, &mut blocks);
    let tree = search(&mut b, &x86_64_runs, 0, X32_SYSCALL_BIT - 1, default);
    let x32 = Target::Ret(bpf::ret_value(x32_action));
    let x86_64_entry = if tree == x32 {
        tree
    } else {
        let guard = b.jump(bpf::JGE, X32_SYSCALL_BIT, x32, tree);
        load_nr(&mut b, guard)
    };

    let kill = Target::Ret(bpf::ret_value(Action::KillProcess));
    let not_x86_64 = b.jump(bpf::JEQ, bpf::AUDIT_ARCH_I386, i386_entry, kill);
    let arch = b.jump(bpf::JEQ, bpf::AUDIT_ARCH_X86_64, x86_64_entry, not_x86_64);
    let entry = b.op_then(bpf::LD_ABS, bpf::OFF_ARCH, arch);
    let prog = b.finish(entry);
    if prog.len() > bpf::MAX_INSNS {
        return Err(SeccompError::TooLong {
            len: prog.len(),
            max: bpf::MAX_INSNS,
        });
    }
    Ok(prog)
}

/// `ld nr` in front of `next`, unless `next` is a plain return.
fn load_nr(b: &mut Builder, next: Target) -> Target {
    match next {
        Target::Ret(_) => next,
        Target::At(_) => b.op_then(bpf::LD_ABS, bpf::OFF_NR, next),
    }
}

/// What each syscall number on `arch` leads to; numbers that get the default are left out.
fn decisions(p: &Policy, arch: Arch) -> BTreeMap<u32, Decide> {
    let mut chains: BTreeMap<u32, Vec<(Vec<ArgCmp>, Action)>> = BTreeMap::new();
    if super::decide::rejects_force_umount(p, arch) {
        if let Some(nr) = syscalls::number(arch, "umount2") {
            let force = ArgCmp {
                index: 1,
                value: MNT_FORCE,
                op: CmpOp::MaskedEq(MNT_FORCE),
            };
            chains
                .entry(nr)
                .or_default()
                .push((vec![force], Action::Errno(EACCES)));
        }
    }
    for rule in p.rules.iter().filter(|r| r.arches.contains(&arch)) {
        if let Some(nr) = syscalls::number(arch, &rule.syscall) {
            chains
                .entry(nr)
                .or_default()
                .push((rule.args.clone(), rule.action));
        }
        // i386 also reaches socket and SysV IPC calls through socketcall/ipc.
        if arch == Arch::I386 {
            if let Some((_, nr, args)) = multiplex::demux(&rule.syscall, &rule.args) {
                chains.entry(nr).or_default().push((args, rule.action));
            }
        }
    }
    let low_only_arch = arch == Arch::I386;
    chains
        .into_iter()
        .filter_map(|(nr, chain)| {
            // The first unconditional rule ends the chain: later rules can never match.
            let cut = chain.iter().position(|(args, _)| args.is_empty());
            let fallback = cut.map_or(p.default_action, |i| chain[i].1);
            let conditional = merge_bits(chain[..cut.unwrap_or(chain.len())].to_vec());
            let decide = if conditional.is_empty() {
                Decide::Ret(fallback)
            } else {
                let low_only =
                    low_only_arch || conditional.iter().flat_map(|r| &r.0).all(high_word_free);
                Decide::Check(Block {
                    rules: conditional,
                    fallback,
                    low_only,
                })
            };
            (decide != Decide::Ret(p.default_action)).then_some((nr, decide))
        })
        .collect()
}

/// Lower rules to tests, merging neighbours that each test one bit of the same argument with the
/// same action into one `AnyBits` test (`clone` with any `CLONE_NEW*` flag: one `jset`).
fn merge_bits(chain: Vec<(Vec<ArgCmp>, Action)>) -> Vec<(Vec<Test>, Action)> {
    let single_bit = |args: &[ArgCmp]| match args {
        [ArgCmp {
            index,
            value,
            op: CmpOp::MaskedEq(m),
        }] if value == m && m.count_ones() == 1 => Some((*index, *m)),
        _ => None,
    };
    let mut out: Vec<(Vec<Test>, Action)> = Vec::new();
    for (args, action) in chain {
        if let Some((index, bit)) = single_bit(&args) {
            if let Some((tests, prev_action)) = out.last_mut() {
                if let [Test::AnyBits { index: i, mask }] = tests.as_mut_slice() {
                    if *i == index && *prev_action == action {
                        *mask |= bit;
                        continue;
                    }
                }
            }
            out.push((vec![Test::AnyBits { index, mask: bit }], action));
        } else {
            out.push((args.into_iter().map(Test::Cmp).collect(), action));
        }
    }
    out
}

/// Whether a test gives the same answer whatever the argument's high word holds is irrelevant:
/// true when it only looks at the low word.
fn high_word_free(t: &Test) -> bool {
    match t {
        Test::AnyBits { mask, .. } => mask >> 32 == 0,
        // The datum is masked (as libseccomp does), so only the mask's high word matters.
        Test::Cmp(ArgCmp {
            op: CmpOp::MaskedEq(m),
            ..
        }) => m >> 32 == 0,
        Test::Cmp(_) => false,
    }
}

/// A run of adjacent syscall numbers with one target.
#[derive(Debug, Clone, Copy)]
struct Run {
    lo: u32,
    hi: u32,
    target: Target,
}

/// Emit the argument blocks for `decided` (sharing identical ones) and merge numbers into runs.
fn runs(
    decided: &BTreeMap<u32, Decide>,
    b: &mut Builder,
    blocks: &mut HashMap<Block, Target>,
) -> Vec<Run> {
    let mut out: Vec<Run> = Vec::new();
    for (&nr, d) in decided {
        let target = match d {
            Decide::Ret(a) => Target::Ret(bpf::ret_value(*a)),
            Decide::Check(block) => match blocks.get(block) {
                Some(t) => *t,
                None => {
                    let t = emit_block(b, block);
                    blocks.insert(block.clone(), t);
                    t
                }
            },
        };
        match out.last_mut() {
            Some(run) if run.hi + 1 == nr && run.target == target => run.hi = nr,
            _ => out.push(Run {
                lo: nr,
                hi: nr,
                target,
            }),
        }
    }
    out
}

/// Binary search over `runs`, all inside `[lo, hi]`; numbers in no run go to `default`.
fn search(b: &mut Builder, runs: &[Run], lo: u32, hi: u32, default: Target) -> Target {
    if runs.len() <= LINEAR_RUNS {
        return chain(b, runs, lo, hi, default);
    }
    let mid = runs.len() / 2;
    let pivot = runs[mid].lo;
    let right = search(b, &runs[mid..], pivot, hi, default);
    let left = search(b, &runs[..mid], lo, pivot - 1, default);
    b.jump(bpf::JGE, pivot, right, left)
}

/// Check a few runs one after another (ascending, so a number below a run is in no later one).
fn chain(b: &mut Builder, runs: &[Run], lo: u32, hi: u32, default: Target) -> Target {
    let mut next = default;
    for run in runs.iter().rev() {
        let (starts_at_bound, ends_at_bound) = (run.lo <= lo, run.hi >= hi);
        next = match (starts_at_bound, ends_at_bound) {
            (true, true) => run.target,
            _ if run.lo == run.hi => b.jump(bpf::JEQ, run.lo, run.target, next),
            (false, true) => b.jump(bpf::JGE, run.lo, run.target, default),
            (true, false) => b.jump(bpf::JGT, run.hi, next, run.target),
            (false, false) => {
                let upper = b.jump(bpf::JGT, run.hi, next, run.target);
                b.jump(bpf::JGE, run.lo, upper, default)
            }
        };
    }
    next
}

/// Emit one syscall's argument checks; returns the block's entry.
fn emit_block(b: &mut Builder, block: &Block) -> Target {
    let mut next = Target::Ret(bpf::ret_value(block.fallback));
    for (tests, action) in block.rules.iter().rev() {
        let mut pass = Target::Ret(bpf::ret_value(*action));
        for test in tests.iter().rev() {
            pass = emit_test(b, test, block.low_only, pass, next);
        }
        next = pass;
    }
    next
}

/// One argument test: continue at `pass` when it holds, at `fail` when not. With `low_only` only
/// the low words are compared: i386 arguments are 32 bits and libseccomp truncates a 64-bit
/// value to its low word there (`kill(-1)` matches `[0,0xffffffffffffffff,==]`); on x86_64
/// `low_only` is set only when no test depends on the high word.
fn emit_test(b: &mut Builder, test: &Test, low_only: bool, pass: Target, fail: Target) -> Target {
    let cmp = match test {
        Test::AnyBits { index, mask } => return any_bits(b, *index, *mask, low_only, pass, fail),
        Test::Cmp(c) => c,
    };
    let (lo_k, hi_k) = (cmp.value as u32, (cmp.value >> 32) as u32);
    let lo_off = bpf::off_arg_lo(cmp.index);
    let hi_off = lo_off + 4;
    match cmp.op {
        CmpOp::Eq | CmpOp::Ne => {
            let (t, f) = if cmp.op == CmpOp::Eq {
                (pass, fail)
            } else {
                (fail, pass)
            };
            let lo = b.jump(bpf::JEQ, lo_k, t, f);
            let lo = b.op_then(bpf::LD_ABS, lo_off, lo);
            if low_only {
                return lo;
            }
            let hi = b.jump(bpf::JEQ, hi_k, lo, f);
            b.op_then(bpf::LD_ABS, hi_off, hi)
        }
        CmpOp::MaskedEq(mask) => {
            let (lo_m, hi_m) = (mask as u32, (mask >> 32) as u32);
            if low_only {
                return masked_word(b, lo_off, lo_m, lo_k, pass, fail);
            }
            let lo = masked_word(b, lo_off, lo_m, lo_k, pass, fail);
            masked_word(b, hi_off, hi_m, hi_k, lo, fail)
        }
        CmpOp::Gt | CmpOp::Ge | CmpOp::Lt | CmpOp::Le => {
            // Lt is "not Ge" and Le is "not Gt": the same code with the exits swapped.
            let (code, t, f) = match cmp.op {
                CmpOp::Gt => (bpf::JGT, pass, fail),
                CmpOp::Ge => (bpf::JGE, pass, fail),
                CmpOp::Lt => (bpf::JGE, fail, pass),
                _ => (bpf::JGT, fail, pass),
            };
            let lo = match (code, lo_k) {
                (bpf::JGE, 0) => t,        // every low word is >= 0
                (bpf::JGT, u32::MAX) => f, // no low word is > 0xffffffff
                _ => {
                    let lo = b.jump(code, lo_k, t, f);
                    b.op_then(bpf::LD_ABS, lo_off, lo)
                }
            };
            if low_only {
                return lo;
            }
            // High word above: decided; equal: the low word decides; below: decided.
            let hi = if hi_k == 0 {
                b.jump(bpf::JGT, 0, t, lo)
            } else {
                let eq = b.jump(bpf::JEQ, hi_k, lo, f);
                b.jump(bpf::JGT, hi_k, t, eq)
            };
            b.op_then(bpf::LD_ABS, hi_off, hi)
        }
    }
}

/// `arg & mask != 0`, a `jset` per word that has mask bits.
fn any_bits(
    b: &mut Builder,
    index: u8,
    mask: u64,
    low_only: bool,
    pass: Target,
    fail: Target,
) -> Target {
    let (lo_m, hi_m) = (mask as u32, (mask >> 32) as u32);
    if low_only && hi_m != 0 {
        // i386: a merged bit of the high word truncates to `(arg & 0) == 0`, which always
        // holds (libseccomp truncates the same way), so the whole test does.
        return pass;
    }
    let mut entry = fail;
    if lo_m != 0 {
        entry = b.jump(bpf::JSET, lo_m, pass, entry);
        entry = b.op_then(bpf::LD_ABS, bpf::off_arg_lo(index), entry);
    }
    if hi_m != 0 && !low_only {
        entry = b.jump(bpf::JSET, hi_m, pass, entry);
        entry = b.op_then(bpf::LD_ABS, bpf::off_arg_lo(index) + 4, entry);
    }
    entry
}

/// `(word & mask) == value` for one 32-bit word.
fn masked_word(
    b: &mut Builder,
    off: u32,
    mask: u32,
    value: u32,
    pass: Target,
    fail: Target,
) -> Target {
    // libseccomp compares `arg & mask` with `datum & mask`: datum bits outside the mask are
    // ignored, not "never equal" (LXC's `[0,0x7E020000,&=,0x7E000000]` must still deny).
    let value = value & mask;
    if mask == 0 {
        return pass; // value is 0 too: always true
    }
    let test = if value == 0 {
        b.jump(bpf::JSET, mask, fail, pass)
    } else if value == mask && mask.count_ones() == 1 {
        b.jump(bpf::JSET, mask, pass, fail)
    } else {
        let eq = b.jump(bpf::JEQ, value, pass, fail);
        if mask == u32::MAX {
            eq
        } else {
            b.op_then(bpf::AND_K, mask, eq)
        }
    };
    b.op_then(bpf::LD_ABS, off, test)
}

#[cfg(test)]
#[path = "codegen_tests.rs"]
mod tests;
