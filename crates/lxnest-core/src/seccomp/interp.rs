//! A classic-BPF interpreter for seccomp programs: what the kernel would answer for a call,
//! without installing anything. Used by tests (against seccompiler and the kernel) and `explain`.

use super::bpf;
use super::bpf::sock_filter;
use super::model::{Action, Arch};
use super::syscalls::X32_SYSCALL_BIT;
use thiserror::Error;

/// The kernel's `struct seccomp_data`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SeccompData {
    /// Syscall number (with bit 30 for x32).
    pub nr: u32,
    /// `AUDIT_ARCH_*`.
    pub arch: u32,
    /// Instruction pointer.
    pub instruction_pointer: u64,
    /// Arguments.
    pub args: [u64; 6],
}

impl SeccompData {
    /// A call of `nr` on `arch` (x32: pass the number without bit 30, it is added here).
    pub fn call(arch: Arch, nr: u32, args: [u64; 6]) -> Self {
        let (audit, nr) = match arch {
            Arch::X86_64 => (bpf::AUDIT_ARCH_X86_64, nr),
            Arch::X32 => (bpf::AUDIT_ARCH_X86_64, nr | X32_SYSCALL_BIT),
            Arch::I386 => (bpf::AUDIT_ARCH_I386, nr),
        };
        SeccompData {
            nr,
            arch: audit,
            instruction_pointer: 0,
            args,
        }
    }

    fn word(&self, off: u32) -> Option<u32> {
        let arg = |i: usize| self.args[i];
        Some(match off {
            0 => self.nr,
            4 => self.arch,
            8 => self.instruction_pointer as u32,
            12 => (self.instruction_pointer >> 32) as u32,
            16..=63 if off.is_multiple_of(4) => {
                let v = arg(((off - 16) / 8) as usize);
                if off.is_multiple_of(8) {
                    v as u32
                } else {
                    (v >> 32) as u32
                }
            }
            _ => return None,
        })
    }
}

/// A program the interpreter (and the kernel's checker) would refuse.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum InterpError {
    /// An opcode seccomp programs do not use here.
    #[error("instruction {pc}: unsupported opcode {code:#06x}")]
    Opcode {
        /// Index.
        pc: usize,
        /// Opcode.
        code: u16,
    },
    /// A load outside `seccomp_data` or unaligned.
    #[error("instruction {pc}: bad load offset {off}")]
    Load {
        /// Index.
        pc: usize,
        /// Offset.
        off: u32,
    },
    /// A jump past the end, or the program ran off its end.
    #[error("instruction {pc}: control leaves the program")]
    OutOfRange {
        /// Index.
        pc: usize,
    },
}

/// Run `prog` on `data`; the `SECCOMP_RET_*` value it returns.
pub fn run(prog: &[sock_filter], data: &SeccompData) -> Result<u32, InterpError> {
    run_counted(prog, data).map(|(ret, _)| ret)
}

/// [`run`], also counting the instructions executed (what each call costs in the kernel).
pub fn run_counted(prog: &[sock_filter], data: &SeccompData) -> Result<(u32, usize), InterpError> {
    let mut steps = 0usize;
    let mut a: u32 = 0;
    let mut pc = 0usize;
    // Every jump goes forward, so the loop ends after at most prog.len() steps.
    while let Some(i) = prog.get(pc) {
        steps += 1;
        let cond = |taken: bool| if taken { i.jt as usize } else { i.jf as usize };
        let skip = match i.code {
            bpf::LD_ABS => {
                a = data.word(i.k).ok_or(InterpError::Load { pc, off: i.k })?;
                0
            }
            bpf::AND_K => {
                a &= i.k;
                0
            }
            bpf::JA => i.k as usize,
            bpf::JEQ => cond(a == i.k),
            bpf::JGT => cond(a > i.k),
            bpf::JGE => cond(a >= i.k),
            bpf::JSET => cond(a & i.k != 0),
            bpf::RET_K => return Ok((i.k, steps)),
            code => return Err(InterpError::Opcode { pc, code }),
        };
        pc = pc + 1 + skip;
    }
    Err(InterpError::OutOfRange { pc })
}

/// The action `prog` takes for a call of `nr` with `args` on `arch`.
pub fn evaluate(
    prog: &[sock_filter],
    arch: Arch,
    nr: u32,
    args: [u64; 6],
) -> Result<Action, InterpError> {
    run(prog, &SeccompData::call(arch, nr, args)).map(bpf::action_of)
}

/// The action of several stacked programs (outermost first), as the kernel resolves them: the
/// strictest wins, and among equals the most recently installed.
pub fn evaluate_stack(progs: &[&[sock_filter]], data: &SeccompData) -> Result<Action, InterpError> {
    let mut result: Option<Action> = None;
    for prog in progs.iter().rev() {
        let action = bpf::action_of(run(prog, data)?);
        result = Some(match result {
            Some(r) if action.strictness() <= r.strictness() => r,
            _ => action,
        });
    }
    Ok(result.unwrap_or(Action::Allow))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::seccomp::bpf::{insn, ret_value};
    use crate::seccomp::{compile, lxc_text::parse};

    fn prog(text: &str) -> Vec<sock_filter> {
        compile(&parse(text, "t").expect("parses")).expect("compiles")
    }

    #[test]
    fn stacked_programs_resolve_like_the_kernel() {
        let outer = prog("2\ndenylist\ngetppid errno 1\nmount kill\nbpf errno 5\n");
        let inner = prog("2\ndenylist\ngetppid errno 38\nmount errno 1\n");
        let stack = [outer.as_slice(), inner.as_slice()];
        let call = |name: &str| {
            let nr = crate::seccomp::syscalls::number(Arch::X86_64, name).expect("known");
            evaluate_stack(&stack, &SeccompData::call(Arch::X86_64, nr, [0; 6])).expect("runs")
        };
        assert_eq!(
            call("getppid"),
            Action::Errno(38),
            "equal strictness: the inner filter's data"
        );
        assert_eq!(call("mount"), Action::KillProcess, "the strictest wins");
        assert_eq!(call("bpf"), Action::Errno(5));
        assert_eq!(call("read"), Action::Allow);
        assert_eq!(
            evaluate_stack(&[], &SeccompData::default()),
            Ok(Action::Allow)
        );
    }

    #[test]
    fn bad_programs_are_reported() {
        let data = SeccompData::default();
        assert_eq!(
            run(&[insn(bpf::LD_ABS, 0, 0, 64)], &data),
            Err(InterpError::Load { pc: 0, off: 64 })
        );
        assert_eq!(
            run(&[insn(0x07, 0, 0, 0)], &data),
            Err(InterpError::Opcode { pc: 0, code: 0x07 })
        );
        assert_eq!(
            run(&[insn(bpf::JEQ, 3, 3, 0)], &data),
            Err(InterpError::OutOfRange { pc: 4 })
        );
        let counted = run_counted(
            &[
                insn(bpf::LD_ABS, 0, 0, 4),
                insn(bpf::RET_K, 0, 0, ret_value(Action::Allow)),
            ],
            &data,
        );
        assert_eq!(counted, Ok((ret_value(Action::Allow), 2)));
    }
}
