//! Compare two sets of stacked programs by their decisions: for every syscall number 0..1023 on
//! x86_64, i386 and x32 and on foreign arches, with edge and random arguments wherever either
//! program reads them. Decisions are the kernel's: action and data.

use super::cbpf::{run, Data, Insn};
use super::ffi::{ARCH_X86, ARCH_X86_64};

/// A small xorshift generator.
pub struct Rng(pub u64);

impl Rng {
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// The kernel's result for stacked filters (outermost first): the lowest `ACTION_ONLY` value as
/// a signed int wins, and among equal actions the most recently installed (kernel/seccomp.c).
pub fn stacked(progs: &[&[Insn]], d: &Data) -> Result<(u32, bool, bool), String> {
    let mut ret: Option<u32> = None;
    let mut read_args = false;
    let mut arch_as_nr = false;
    for p in progs.iter().rev() {
        let o = run(p, d)?;
        read_args |= o.read_args;
        arch_as_nr |= o.arch_as_nr;
        let action_only = |r: u32| (r & 0xffff_0000) as i32;
        ret = Some(match ret {
            Some(r) if action_only(o.ret) >= action_only(r) => r,
            _ => o.ret,
        });
    }
    Ok((ret.unwrap_or(0x7fff_0000), read_args, arch_as_nr))
}

/// LXC's `kill` is libseccomp's SCMP_ACT_KILL (the thread); lxnest's is KILL_PROCESS
/// (documented in docs/seccomp.md). Both read as "kill" here.
fn norm(ret: u32) -> u32 {
    match ret & 0xffff_0000 {
        0 | 0x8000_0000 => 0x8000_0000,
        _ => ret,
    }
}

/// Where and how the two sides differ.
#[derive(Debug, Clone)]
pub struct Diff {
    pub arch: &'static str,
    pub nr: u32,
    pub args: [u64; 6],
    pub lxnest: u32,
    pub libseccomp: u32,
}

/// Counters of one comparison.
#[derive(Debug, Default, Clone, Copy)]
pub struct Stats {
    pub calls: u64,
    /// x32 calls where the two differ as documented ("The x32 choice").
    pub x32_deliberate: u64,
    /// Calls where libseccomp's program contradicts the policy's meaning (the test's reference
    /// reading) and lxnest's does not: libseccomp 2.5.4 bugs, see docs/seccomp.md.
    pub libseccomp_wrong: u64,
    /// Of those, calls where libseccomp compared the arch word as the syscall number.
    pub libseccomp_arch_as_nr: u64,
}

/// Argument values worth trying: edges plus the policy's own values and their neighbours.
pub fn pool(values: &[u64]) -> Vec<u64> {
    let mut p = vec![
        0,
        1,
        2,
        0x7fff_ffff,
        0x8000_0000,
        0xffff_ffff,
        1 << 32,
        0x1_0000_0001,
        0x7fff_ffff_ffff_ffff,
        0x8000_0000_0000_0000,
        u64::MAX,
        u64::MAX - 1,
    ];
    for &v in values {
        p.extend([
            v,
            v.wrapping_add(1),
            v.wrapping_sub(1),
            v & 0xffff_ffff,
            v >> 32,
            v ^ (1 << 32),
            v | 0xffff_ffff_0000_0000,
            !v,
        ]);
    }
    p.sort_unstable();
    p.dedup();
    p
}

/// Compare `lxnest` with libseccomp's programs for x86_64 + x86 + x32 (as LXC loads them), each
/// a stack, outermost first. Where they differ, `reference` (the policy's meaning, `None` when
/// it cannot tell) must side with lxnest. `x32` is the answer lxnest documents for every x32
/// call; `values` feed the argument pool.
#[allow(clippy::too_many_arguments)]
pub fn compare(
    lxnest: &[&[Insn]],
    lib: &[&[Insn]],
    reference: &dyn Fn(&Data) -> Option<u32>,
    x32: u32,
    values: &[u64],
    rng: &mut Rng,
    sweeps: usize,
) -> (Stats, Vec<Diff>) {
    let pool = pool(values);
    let mut stats = Stats::default();
    let mut diffs = Vec::new();
    // Foreign arches: ARM, AArch64, a made-up one.
    let arches: [(&'static str, u32, u32); 6] = [
        ("x86_64", ARCH_X86_64, 0),
        ("i386", ARCH_X86, 0),
        ("x32", ARCH_X86_64, 0x4000_0000),
        ("arm", 0x4000_0028, 0),
        ("aarch64", 0xc000_00b7, 0),
        ("unknown", 0x1234_5678, 0),
    ];
    for (arch_name, arch, bit) in arches {
        let numbers: Vec<u32> = if arch_name == "x86_64" || arch_name == "i386" || bit != 0 {
            (0..1024)
                .chain([0x3fff_ffff, 0x7fff_ffff, 0xffff_ffff])
                .collect()
        } else {
            (0..1024).step_by(37).collect()
        };
        for nr in numbers {
            let nr = if bit != 0 { nr | bit } else { nr };
            let mut args = [0u64; 6];
            for round in 0..=sweeps {
                if round > 0 {
                    for a in &mut args {
                        *a = if rng.below(4) == 0 {
                            rng.next()
                        } else {
                            pool[rng.below(pool.len() as u64) as usize]
                        };
                        if arch == ARCH_X86 {
                            *a &= 0xffff_ffff; // compat arguments arrive zero-extended
                        }
                    }
                }
                let d = Data {
                    nr,
                    arch,
                    ip: 0x7f00_0000_1000,
                    args,
                };
                let refused =
                    |e: String| panic!("{arch_name} nr {nr}: the kernel would refuse: {e}");
                let (a, ra, _) = stacked(lxnest, &d).unwrap_or_else(refused);
                let (b, rb, bug) = stacked(lib, &d).unwrap_or_else(refused);
                stats.calls += 1;
                let x32_call = arch == ARCH_X86_64 && nr & 0x4000_0000 != 0;
                let mut differ = |want: u32| {
                    diffs.push(Diff {
                        arch: arch_name,
                        nr,
                        args,
                        lxnest: a,
                        libseccomp: want,
                    })
                };
                if x32_call {
                    // Documented: lxnest answers every x32 call alike.
                    if a != x32 {
                        differ(x32);
                    } else if norm(a) != norm(b) {
                        stats.x32_deliberate += 1;
                    }
                } else if norm(a) != norm(b) {
                    if reference(&d).map(norm) == Some(norm(a)) {
                        stats.libseccomp_wrong += 1;
                        stats.libseccomp_arch_as_nr += u64::from(bug);
                    } else {
                        differ(b);
                    }
                }
                if round == 0 && !ra && !rb {
                    break; // neither program looks at the arguments of this number
                }
            }
        }
    }
    (stats, diffs)
}
