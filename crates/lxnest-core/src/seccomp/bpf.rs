//! Classic BPF as seccomp uses it: opcodes, `seccomp_data` offsets, return values, and a builder
//! that emits a program back to front so every forward jump knows its distance.

use super::model::Action;
use std::collections::HashMap;

/// One classic BPF instruction, laid out as the kernel's `struct sock_filter` (linux/filter.h),
/// which `seccomp(2)` reads: our own type rather than seccompiler's or libc's, so that the
/// compiler's crate needs neither (a unit test holds the layout against libc's).
#[allow(non_camel_case_types)]
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct sock_filter {
    /// Opcode.
    pub code: u16,
    /// Jump offset when the condition holds.
    pub jt: u8,
    /// Jump offset when it does not.
    pub jf: u8,
    /// Operand.
    pub k: u32,
}

/// `BPF_LD | BPF_W | BPF_ABS`: load a 32-bit word of `seccomp_data`.
pub const LD_ABS: u16 = 0x20;
/// `BPF_ALU | BPF_AND | BPF_K`.
pub const AND_K: u16 = 0x54;
/// `BPF_JMP | BPF_JA`: unconditional jump by `k`.
pub const JA: u16 = 0x05;
/// `BPF_JMP | BPF_JEQ | BPF_K`.
pub const JEQ: u16 = 0x15;
/// `BPF_JMP | BPF_JGT | BPF_K` (unsigned).
pub const JGT: u16 = 0x25;
/// `BPF_JMP | BPF_JGE | BPF_K` (unsigned).
pub const JGE: u16 = 0x35;
/// `BPF_JMP | BPF_JSET | BPF_K`: jump if `A & k != 0`.
pub const JSET: u16 = 0x45;
/// `BPF_RET | BPF_K`.
pub const RET_K: u16 = 0x06;

/// Offset of `seccomp_data.nr`.
pub const OFF_NR: u32 = 0;
/// Offset of `seccomp_data.arch`.
pub const OFF_ARCH: u32 = 4;
/// Offset of the low word of argument `i` (x86 is little-endian); the high word is 4 bytes on.
pub fn off_arg_lo(i: u8) -> u32 {
    16 + 8 * u32::from(i)
}

/// `AUDIT_ARCH_X86_64`.
pub const AUDIT_ARCH_X86_64: u32 = 0xc000_003e;
/// `AUDIT_ARCH_I386`.
pub const AUDIT_ARCH_I386: u32 = 0x4000_0003;

/// The kernel's longest accepted program (`BPF_MAXINSNS`).
pub const MAX_INSNS: usize = 4096;

/// The `SECCOMP_RET_*` value for an action.
pub fn ret_value(a: Action) -> u32 {
    match a {
        Action::KillProcess => 0x8000_0000,
        Action::KillThread => 0,
        Action::Trap => 0x0003_0000,
        // The kernel clamps errno data above MAX_ERRNO (4095) itself.
        Action::Errno(e) => 0x0005_0000 | u32::from(e),
        Action::Notify => 0x7fc0_0000,
        Action::Trace(d) => 0x7ff0_0000 | u32::from(d),
        Action::Log => 0x7ffc_0000,
        Action::Allow => 0x7fff_0000,
    }
}

/// The action a `SECCOMP_RET_*` value stands for, as the kernel reads it (unknown -> kill process).
pub fn action_of(ret: u32) -> Action {
    let data = (ret & 0xffff) as u16;
    match ret & 0xffff_0000 {
        0x8000_0000 => Action::KillProcess,
        0 => Action::KillThread,
        0x0003_0000 => Action::Trap,
        0x0005_0000 => Action::Errno(data.min(4095)),
        0x7fc0_0000 => Action::Notify,
        0x7ff0_0000 => Action::Trace(data),
        0x7ffc_0000 => Action::Log,
        0x7fff_0000 => Action::Allow,
        _ => Action::KillProcess,
    }
}

/// An instruction.
pub fn insn(code: u16, jt: u8, jf: u8, k: u32) -> sock_filter {
    sock_filter { code, jt, jf, k }
}

/// Where a jump goes: a return of this value (any copy will do), or a position in the builder.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Target {
    /// `ret k`.
    Ret(u32),
    /// An instruction already emitted, by its builder position.
    At(usize),
}

/// Emits instructions last-first. Position `p` counts from the program's end, so the distance
/// from a new instruction to any emitted one is known at once. Jumps farther than the 8-bit
/// `jt`/`jf` reach go through a nearby copy of the return, or a `ja` hop, placed right after
/// the jump, where nothing falls into them.
#[derive(Default)]
pub struct Builder {
    code: Vec<sock_filter>,
    rets: HashMap<u32, usize>,
    hops: HashMap<usize, usize>,
}

impl Builder {
    /// Emit `ret k` for each value (the program's tail).
    pub fn rets(&mut self, values: impl IntoIterator<Item = u32>) {
        for v in values {
            if !self.rets.contains_key(&v) {
                self.rets.insert(v, self.code.len());
                self.code.push(insn(RET_K, 0, 0, v));
            }
        }
    }

    /// Emit a non-jump instruction that falls through to the previously emitted one.
    pub fn op(&mut self, code: u16, k: u32) -> Target {
        self.code.push(insn(code, 0, 0, k));
        Target::At(self.code.len() - 1)
    }

    /// Emit a non-jump instruction that continues at `next`.
    pub fn op_then(&mut self, code: u16, k: u32, next: Target) -> Target {
        self.goto(next);
        self.op(code, k)
    }

    /// Make the next emitted instruction fall through to `t` (nothing to do when `t` was the
    /// last one emitted; otherwise a return copy or a `ja`).
    fn goto(&mut self, t: Target) {
        match t {
            Target::At(p) if p + 1 == self.code.len() => {}
            Target::Ret(v) => {
                self.rets.insert(v, self.code.len());
                self.code.push(insn(RET_K, 0, 0, v));
            }
            Target::At(p) => {
                let at = self.code.len();
                self.code.push(insn(JA, 0, 0, (at - p - 1) as u32));
            }
        }
    }

    /// Emit `code k` jumping to `t` when true and `f` when false.
    pub fn jump(&mut self, code: u16, k: u32, t: Target, f: Target) -> Target {
        let pt = self.reach(t);
        let pf = self.reach(f);
        let at = self.code.len();
        // reach() guarantees both distances fit in 8 bits.
        let jt = (at - pt - 1) as u8;
        let jf = (at - pf - 1) as u8;
        self.code.push(insn(code, jt, jf, k));
        Target::At(at)
    }

    /// A position for `t` that a jump emitted soon can reach (two slots of slack for hops).
    fn reach(&mut self, t: Target) -> usize {
        let far = |len: usize, p: usize| len + 2 - p - 1 > 255;
        match t {
            Target::Ret(v) => match self.rets.get(&v) {
                Some(&p) if !far(self.code.len(), p) => p,
                _ => {
                    let p = self.code.len();
                    self.code.push(insn(RET_K, 0, 0, v));
                    self.rets.insert(v, p);
                    p
                }
            },
            Target::At(orig) => {
                let p = self.hops.get(&orig).copied().unwrap_or(orig);
                if !far(self.code.len(), p) {
                    return p;
                }
                let at = self.code.len();
                self.code.push(insn(JA, 0, 0, (at - p - 1) as u32));
                self.hops.insert(orig, at);
                at
            }
        }
    }

    /// Make `entry` the program's first instruction and finish.
    pub fn finish(mut self, entry: Target) -> Vec<sock_filter> {
        self.goto(entry);
        self.code.reverse();
        self.code
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sock_filter_has_the_kernels_layout() {
        use std::mem::{align_of, offset_of, size_of};
        assert_eq!(size_of::<sock_filter>(), size_of::<libc::sock_filter>());
        assert_eq!(align_of::<sock_filter>(), align_of::<libc::sock_filter>());
        assert_eq!(
            offset_of!(sock_filter, code),
            offset_of!(libc::sock_filter, code)
        );
        assert_eq!(
            offset_of!(sock_filter, jt),
            offset_of!(libc::sock_filter, jt)
        );
        assert_eq!(
            offset_of!(sock_filter, jf),
            offset_of!(libc::sock_filter, jf)
        );
        assert_eq!(offset_of!(sock_filter, k), offset_of!(libc::sock_filter, k));
    }

    #[test]
    fn ret_values_round_trip() {
        for a in [
            Action::Allow,
            Action::Log,
            Action::Trace(7),
            Action::Notify,
            Action::Errno(38),
            Action::Trap,
            Action::KillThread,
            Action::KillProcess,
        ] {
            assert_eq!(action_of(ret_value(a)), a);
        }
    }

    /// An instruction that continues at an earlier-emitted one which is not its neighbour gets
    /// a `ja` over what lies between (the mutation run found that offset changeable unnoticed:
    /// the code generator rarely needs it).
    #[test]
    fn op_then_jumps_over_what_lies_between() {
        let allow = ret_value(Action::Allow);
        let errno = ret_value(Action::Errno(1));
        let mut b = Builder::default();
        b.rets([allow, errno]);
        let cmp = b.jump(JEQ, 1, Target::Ret(errno), Target::Ret(allow));
        // Between the load and the compare: an instruction that must be skipped (it would
        // replace the syscall number with the architecture).
        b.op_then(LD_ABS, OFF_ARCH, cmp);
        let entry = b.op_then(LD_ABS, OFF_NR, cmp);
        let prog = b.finish(entry);
        assert!(prog.iter().any(|i| i.code == JA), "a ja was needed");
        let run =
            |nr| crate::seccomp::interp::evaluate(&prog, crate::seccomp::Arch::X86_64, nr, [0; 6]);
        assert_eq!(run(1), Ok(Action::Errno(1)));
        assert_eq!(run(2), Ok(Action::Allow));
    }

    #[test]
    fn far_jumps_go_through_hops() {
        let allow = ret_value(Action::Allow);
        let kill = ret_value(Action::KillProcess);
        let mut b = Builder::default();
        b.rets([allow, kill]);
        let mut next = Target::Ret(allow);
        for k in (0..600).rev() {
            next = b.jump(JEQ, k, Target::Ret(kill), next);
        }
        let entry = b.op_then(LD_ABS, OFF_NR, next);
        let prog = b.finish(entry);
        assert!(prog.len() > 602, "hops were needed: {}", prog.len());
        for nr in [0, 1, 254, 255, 256, 300, 599] {
            let got =
                crate::seccomp::interp::evaluate(&prog, crate::seccomp::Arch::X86_64, nr, [0; 6]);
            assert_eq!(got, Ok(Action::KillProcess), "nr {nr}");
        }
        let got =
            crate::seccomp::interp::evaluate(&prog, crate::seccomp::Arch::X86_64, 600, [0; 6]);
        assert_eq!(got, Ok(Action::Allow));
    }
}
