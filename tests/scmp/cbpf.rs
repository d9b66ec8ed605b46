//! A classic-BPF interpreter written for the differential tests, independent of lxnest's own
//! (`lxnest::seccomp::interp`), with the kernel's seccomp semantics: registers A and X, scratch
//! memory M[16], every load, ALU, jump and return instruction `seccomp_check_filter()` accepts,
//! loads only from the 64-byte `struct seccomp_data`.

/// The kernel's `struct seccomp_data`.
#[derive(Debug, Clone, Copy)]
pub struct Data {
    pub nr: u32,
    pub arch: u32,
    pub ip: u64,
    pub args: [u64; 6],
}

impl Data {
    /// The 32-bit word at byte offset `off` (little-endian, as on x86).
    fn word(&self, off: u32) -> Option<u32> {
        if !off.is_multiple_of(4) || off >= 64 {
            return None;
        }
        let mut bytes = [0u8; 64];
        bytes[0..4].copy_from_slice(&self.nr.to_le_bytes());
        bytes[4..8].copy_from_slice(&self.arch.to_le_bytes());
        bytes[8..16].copy_from_slice(&self.ip.to_le_bytes());
        for (i, a) in self.args.iter().enumerate() {
            bytes[16 + 8 * i..24 + 8 * i].copy_from_slice(&a.to_le_bytes());
        }
        let o = off as usize;
        Some(u32::from_le_bytes([
            bytes[o],
            bytes[o + 1],
            bytes[o + 2],
            bytes[o + 3],
        ]))
    }
}

/// One instruction, as `struct sock_filter`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Insn {
    pub code: u16,
    pub jt: u8,
    pub jf: u8,
    pub k: u32,
}

/// What a run gave: the return value, and whether any argument word was read (a number whose
/// answer never reads arguments needs no argument sweep).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Outcome {
    pub ret: u32,
    pub read_args: bool,
    /// A jump compared the arch word with something that is no arch (libseccomp 2.5.4 does that
    /// when x86_64 and x32 share a filter: it skips the `ld nr` after the arch check).
    pub arch_as_nr: bool,
}

const AUDIT_ARCHES: [u32; 2] = [0xc000_003e, 0x4000_0003];

// Instruction classes and fields (linux/filter.h, linux/bpf_common.h).
const CLASS: u16 = 0x07;
const LD: u16 = 0x00;
const LDX: u16 = 0x01;
const ST: u16 = 0x02;
const STX: u16 = 0x03;
const ALU: u16 = 0x04;
const JMP: u16 = 0x05;
const RET: u16 = 0x06;
const MISC: u16 = 0x07;
const SIZE: u16 = 0x18;
const W: u16 = 0x00;
const MODE: u16 = 0xe0;
const IMM: u16 = 0x00;
const ABS: u16 = 0x20;
const MEM: u16 = 0x60;
const LEN: u16 = 0x80;
const OP: u16 = 0xf0;
const SRC_X: u16 = 0x08;
const RVAL: u16 = 0x18;

/// Run `prog` on `data` like the kernel; `Err` says why the kernel would have refused it.
pub fn run(prog: &[Insn], data: &Data) -> Result<Outcome, String> {
    let (mut a, mut x) = (0u32, 0u32);
    let mut mem = [0u32; 16];
    let mut read_args = false;
    let mut arch_as_nr = false;
    // The seccomp_data offset A was last loaded from, while A still holds it unchanged.
    let mut a_from: Option<u32> = None;
    let mut pc = 0usize;
    loop {
        let i = *prog.get(pc).ok_or(format!("pc {pc}: ran off the end"))?;
        pc += 1;
        let src = if i.code & SRC_X != 0 { x } else { i.k };
        match i.code & CLASS {
            LD | LDX => {
                if i.code & SIZE != W {
                    return Err(format!("pc {}: only word loads", pc - 1));
                }
                let v = match i.code & MODE {
                    IMM => i.k,
                    MEM => *mem.get(i.k as usize).ok_or("bad M[] index")?,
                    LEN => 64, // sizeof(struct seccomp_data)
                    ABS if i.code & CLASS == LD => {
                        read_args |= i.k >= 16;
                        data.word(i.k)
                            .ok_or(format!("pc {}: bad offset {}", pc - 1, i.k))?
                    }
                    m => return Err(format!("pc {}: load mode {m:#x}", pc - 1)),
                };
                if i.code & CLASS == LD {
                    a = v;
                    a_from = (i.code & MODE == ABS).then_some(i.k);
                } else {
                    x = v;
                }
            }
            ST => *mem.get_mut(i.k as usize).ok_or("bad M[] index")? = a,
            STX => *mem.get_mut(i.k as usize).ok_or("bad M[] index")? = x,
            ALU => {
                a_from = None;
                a = match i.code & OP {
                    0x00 => a.wrapping_add(src),
                    0x10 => a.wrapping_sub(src),
                    0x20 => a.wrapping_mul(src),
                    // Division by a zero X ends the program with 0, as the kernel does.
                    0x30 if src == 0 => {
                        return Ok(Outcome {
                            ret: 0,
                            read_args,
                            arch_as_nr,
                        })
                    }
                    0x30 => a / src,
                    0x40 => a | src,
                    0x50 => a & src,
                    0x60 => a.wrapping_shl(src & 31),
                    0x70 => a.wrapping_shr(src & 31),
                    0x80 => a.wrapping_neg(),
                    0xa0 => a ^ src,
                    op => return Err(format!("pc {}: ALU op {op:#x} not allowed", pc - 1)),
                }
            }
            JMP => {
                if a_from == Some(4) && i.code & OP != 0 && !AUDIT_ARCHES.contains(&src) {
                    arch_as_nr = true;
                }
                let taken = match i.code & OP {
                    0x00 => {
                        pc += i.k as usize;
                        continue;
                    }
                    0x10 => a == src,
                    0x20 => a > src,
                    0x30 => a >= src,
                    0x40 => a & src != 0,
                    op => return Err(format!("pc {}: jump op {op:#x}", pc - 1)),
                };
                pc += usize::from(if taken { i.jt } else { i.jf });
            }
            RET => {
                let ret = match i.code & RVAL {
                    0x00 => i.k, // BPF_K
                    0x10 => a,   // BPF_A
                    r => return Err(format!("pc {}: return source {r:#x}", pc - 1)),
                };
                return Ok(Outcome {
                    ret,
                    read_args,
                    arch_as_nr,
                });
            }
            MISC => match i.code & 0xf8 {
                0x00 => x = a, // TAX
                0x80 => {
                    a = x; // TXA
                    a_from = None;
                }
                m => return Err(format!("pc {}: misc {m:#x}", pc - 1)),
            },
            _ => unreachable!("the class is 3 bits"),
        }
    }
}

#[test]
fn interpreter_follows_cbpf_semantics() {
    let ins = |code, jt, jf, k| Insn { code, jt, jf, k };
    let data = Data {
        nr: 7,
        arch: 0xc000_003e,
        ip: 0,
        args: [0x1_0000_0002, 0, 0, 0, 0, u64::MAX],
    };
    // A = nr; X = A; A = arg0.lo; M[3] = A; A = A + X; A <<= 2; jeq 36 -> ret A.
    let prog = [
        ins(LD | W | ABS, 0, 0, 0),
        ins(MISC, 0, 0, 0),
        ins(LD | W | ABS, 0, 0, 16),
        ins(ST, 0, 0, 3),
        ins(ALU | SRC_X, 0, 0, 0),
        ins(ALU | 0x60, 0, 0, 2),
        ins(JMP | 0x10, 1, 0, 36),
        ins(RET, 0, 0, 0xdead),
        ins(LDX | MEM, 0, 0, 3),
        ins(MISC | 0x80, 0, 0, 0),
        ins(RET | 0x10, 0, 0, 0),
    ];
    let want = Outcome {
        ret: 2,
        read_args: true,
        arch_as_nr: false,
    };
    assert_eq!(run(&prog, &data), Ok(want));
    // Comparing the arch word with a syscall number is flagged.
    let prog = [
        ins(LD | W | ABS, 0, 0, 4),
        ins(JMP | 0x10, 0, 0, 0x78),
        ins(RET, 0, 0, 1),
    ];
    assert_eq!(run(&prog, &data).map(|o| o.arch_as_nr), Ok(true));
    // The high word of arg 5 and a division by a zero X.
    let prog = [ins(LD | W | ABS, 0, 0, 60), ins(RET | 0x10, 0, 0, 0)];
    assert_eq!(run(&prog, &data).map(|o| o.ret), Ok(u32::MAX));
    let prog = [
        ins(LDX | IMM, 0, 0, 0),
        ins(ALU | 0x30 | SRC_X, 0, 0, 0),
        ins(RET, 0, 0, 9),
    ];
    assert_eq!(run(&prog, &data).map(|o| o.ret), Ok(0));
    assert!(run(&[ins(LD | W | ABS, 0, 0, 64)], &data).is_err());
    assert!(run(&[ins(LD | W | ABS, 0, 0, 2)], &data).is_err());
}
