//! A readable listing of a seccomp BPF program, for `lxnest generate` and snapshot tests.

use super::bpf;
use seccompiler::sock_filter;
use std::fmt::Write as _;

/// One line per instruction: index, mnemonic, operands, and what the operand means.
pub fn disasm(prog: &[sock_filter]) -> String {
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
                    bpf::AUDIT_ARCH_X86_64 if i.code == bpf::JEQ => "  ; x86_64",
                    bpf::AUDIT_ARCH_I386 if i.code == bpf::JEQ => "  ; i386",
                    _ => "",
                };
                let k = if i.k < 4096 { i.k.to_string() } else { format!("{:#x}", i.k) };
                format!("{op} #{k:<12} jt {:0width$} jf {:0width$}{note}", to(i.jt), to(i.jf))
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
        16..=63 => format!("  ; arg{} {}", (off - 16) / 8, if off % 8 == 0 { "lo" } else { "hi" }),
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
