//! A readable listing of a seccomp BPF program, for `lxnest generate` and snapshot tests.
//! Comparisons of the syscall number are annotated with the syscall's name on the arch the
//! branch is known to run for.

use super::bpf;
use super::bpf::sock_filter;
use super::model::Arch;
use super::syscalls::{self, X32_SYSCALL_BIT};
use std::fmt::Write as _;

const ARCH_X86_64: u8 = 1;
const ARCH_I386: u8 = 2;
const ARCH_OTHER: u8 = 4;

/// What is known at an instruction, joined over every path that reaches it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Known {
    /// Arches (bits above) the paths may be running for.
    arches: u8,
    /// The `seccomp_data` offset the accumulator holds, when every path agrees.
    acc: Option<u32>,
}

/// For each instruction, what holds there (`None` when unreachable). Jumps only go forward, so
/// one pass in order sees every predecessor first.
fn known(prog: &[sock_filter]) -> Vec<Option<Known>> {
    let mut at: Vec<Option<Known>> = vec![None; prog.len()];
    if let Some(first) = at.first_mut() {
        *first = Some(Known {
            arches: ARCH_X86_64 | ARCH_I386 | ARCH_OTHER,
            acc: None,
        });
    }
    let flow = |at: &mut Vec<Option<Known>>, to: usize, k: Known| {
        if let Some(slot) = at.get_mut(to) {
            *slot = Some(match *slot {
                None => k,
                Some(old) => Known {
                    arches: old.arches | k.arches,
                    acc: if old.acc == k.acc { k.acc } else { None },
                },
            });
        }
    };
    for pc in 0..prog.len() {
        let (Some(k), i) = (at[pc], &prog[pc]) else {
            continue;
        };
        let (t, f) = (pc + 1 + i.jt as usize, pc + 1 + i.jf as usize);
        match i.code {
            bpf::LD_ABS => flow(
                &mut at,
                pc + 1,
                Known {
                    acc: Some(i.k),
                    ..k
                },
            ),
            bpf::AND_K => flow(&mut at, pc + 1, Known { acc: None, ..k }),
            bpf::JA => flow(&mut at, pc + 1 + i.k as usize, k),
            bpf::JEQ if k.acc == Some(bpf::OFF_ARCH) => {
                let bit = match i.k {
                    bpf::AUDIT_ARCH_X86_64 => ARCH_X86_64,
                    bpf::AUDIT_ARCH_I386 => ARCH_I386,
                    _ => ARCH_OTHER,
                };
                flow(
                    &mut at,
                    t,
                    Known {
                        arches: k.arches & bit,
                        ..k
                    },
                );
                flow(
                    &mut at,
                    f,
                    Known {
                        arches: k.arches & !bit | (bit & ARCH_OTHER),
                        ..k
                    },
                );
            }
            bpf::JEQ | bpf::JGT | bpf::JGE | bpf::JSET => {
                flow(&mut at, t, k);
                flow(&mut at, f, k);
            }
            _ => {}
        }
    }
    at
}

/// The syscall a number comparison names, when the branch's arch is known.
fn syscall_note(k: Option<Known>, code: u16, value: u32) -> String {
    let Some(Known {
        arches,
        acc: Some(bpf::OFF_NR),
    }) = k
    else {
        return String::new();
    };
    if code == bpf::JGE && value == X32_SYSCALL_BIT {
        return "  ; x32 numbers".into();
    }
    let arch = match arches {
        ARCH_X86_64 => Arch::X86_64,
        ARCH_I386 => Arch::I386,
        _ => return String::new(),
    };
    match syscalls::name(arch, value) {
        Some(name) => format!("  ; {name}"),
        None => String::new(),
    }
}

/// One line per instruction: index, mnemonic, operands, and what the operand means.
pub fn disasm(prog: &[sock_filter]) -> String {
    let known = known(prog);
    let mut out = String::new();
    let width = prog.len().saturating_sub(1).to_string().len().max(2);
    for (pc, i) in prog.iter().enumerate() {
        let to = |off: u8| pc + 1 + off as usize;
        let text = match i.code {
            bpf::LD_ABS => format!("ld   [{}]{}", i.k, field(i.k)),
            bpf::AND_K => format!("and  #{:#x}", i.k),
            bpf::JA => format!("ja   {:0width$}", pc + 1 + i.k as usize),
            bpf::JEQ | bpf::JGT | bpf::JGE | bpf::JSET => {
                let op = match i.code {
                    bpf::JEQ => "jeq ",
                    bpf::JGT => "jgt ",
                    bpf::JGE => "jge ",
                    _ => "jset",
                };
                let note = match i.k {
                    bpf::AUDIT_ARCH_X86_64 if i.code == bpf::JEQ => "  ; x86_64".to_string(),
                    bpf::AUDIT_ARCH_I386 if i.code == bpf::JEQ => "  ; i386".to_string(),
                    _ if i.code == bpf::JSET => String::new(),
                    _ => syscall_note(known[pc], i.code, i.k),
                };
                let k = if i.k < 4096 {
                    i.k.to_string()
                } else {
                    format!("{:#x}", i.k)
                };
                format!(
                    "{op} #{k:<12} jt {:0width$} jf {:0width$}{note}",
                    to(i.jt),
                    to(i.jf)
                )
            }
            bpf::RET_K => format!("ret  {}", ret_text(i.k)),
            code => format!("?    code={code:#06x} jt={} jf={} k={:#x}", i.jt, i.jf, i.k),
        };
        let _ = writeln!(out, "{pc:0width$}: {text}");
    }
    out
}

fn field(off: u32) -> String {
    match off {
        bpf::OFF_NR => "  ; nr".into(),
        bpf::OFF_ARCH => "  ; arch".into(),
        16..=63 => format!(
            "  ; arg{} {}",
            (off - 16) / 8,
            if off.is_multiple_of(8) { "lo" } else { "hi" }
        ),
        _ => String::new(),
    }
}

fn ret_text(k: u32) -> String {
    use super::model::Action;
    match bpf::action_of(k) {
        Action::Allow => "ALLOW".into(),
        Action::Log => "LOG".into(),
        Action::Trace(d) => format!("TRACE({d})"),
        Action::Notify => "USER_NOTIF".into(),
        Action::Errno(e) => format!("ERRNO({e})"),
        Action::Trap => "TRAP".into(),
        Action::KillThread => "KILL_THREAD".into(),
        Action::KillProcess => "KILL_PROCESS".into(),
    }
}
