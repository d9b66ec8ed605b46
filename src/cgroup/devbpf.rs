//! The cgroup2 device policy: a small BPF_PROG_TYPE_CGROUP_DEVICE program generated from the
//! same allowlist lines as the v1 controller (`c 1:3 rwm`, `c 136:* rwm`), attached to the
//! container's cgroup2 directory with BPF_F_ALLOW_MULTI so that ancestors' programs still run.
//!
//! The program sees `struct bpf_cgroup_dev_ctx { u32 access_type; u32 major; u32 minor; }` with
//! `access_type = access << 16 | type` and returns 1 to allow, 0 to deny.

use super::{io_err, CgroupError, Result};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::path::Path;

const BPF_PROG_LOAD: libc::c_long = 5;
const BPF_PROG_ATTACH: libc::c_long = 8;
const BPF_PROG_TYPE_CGROUP_DEVICE: u32 = 15;
const BPF_CGROUP_DEVICE: u32 = 6;
const BPF_F_ALLOW_MULTI: u32 = 2;
/// Device types and access bits of bpf_cgroup_dev_ctx.
const DEV_BLOCK: i32 = 1;
const DEV_CHAR: i32 = 2;
const ACC_MKNOD: u8 = 1;
const ACC_READ: u8 = 2;
const ACC_WRITE: u8 = 4;
/// Opcodes used (eBPF encoding).
const LDX_MEM_W: u8 = 0x61;
const ALU32_AND_K: u8 = 0x54;
const ALU32_RSH_K: u8 = 0x74;
const ALU32_MOV_X: u8 = 0xbc;
const ALU64_MOV_K: u8 = 0xb7;
const JMP_JNE_K: u8 = 0x55;
const JMP_EXIT: u8 = 0x95;

/// One eBPF instruction.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Insn {
    code: u8,
    regs: u8,
    off: i16,
    imm: i32,
}

fn insn(code: u8, dst: u8, src: u8, off: i16, imm: i32) -> Insn {
    Insn {
        code,
        regs: (src << 4) | (dst & 0x0f),
        off,
        imm,
    }
}

/// One allowlist line, parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rule {
    /// `Some(DEV_CHAR | DEV_BLOCK)`, `None` for `a` (any type).
    kind: Option<i32>,
    major: Option<u32>,
    minor: Option<u32>,
    access: u8,
}

/// Parses `c 1:3 rwm` / `b *:* m` / `a`.
pub fn parse_rule(line: &str) -> Option<Rule> {
    let mut parts = line.split_whitespace();
    let kind = match parts.next()? {
        "c" => Some(DEV_CHAR),
        "b" => Some(DEV_BLOCK),
        "a" => {
            return Some(Rule {
                kind: None,
                major: None,
                minor: None,
                access: ACC_MKNOD | ACC_READ | ACC_WRITE,
            })
        }
        _ => return None,
    };
    let (maj, min) = parts.next()?.split_once(':')?;
    let num = |s: &str| {
        if s == "*" {
            Some(None)
        } else {
            s.parse::<u32>().ok().map(Some)
        }
    };
    let access = parts
        .next()
        .unwrap_or("rwm")
        .chars()
        .fold(0u8, |a, c| match c {
            'r' => a | ACC_READ,
            'w' => a | ACC_WRITE,
            'm' => a | ACC_MKNOD,
            _ => a,
        });
    Some(Rule {
        kind,
        major: num(maj)?,
        minor: num(min)?,
        access,
    })
}

/// The program: load type, access, major, minor; for each rule, jump to the next rule on any
/// mismatch or on an access bit the rule does not grant, else return 1; finally return 0.
pub fn program(rules: &[Rule]) -> Vec<Insn> {
    let mut p = vec![
        insn(LDX_MEM_W, 2, 1, 0, 0), // r2 = access_type
        insn(ALU32_MOV_X, 3, 2, 0, 0),
        insn(ALU32_AND_K, 3, 0, 0, 0xffff), // r3 = type
        insn(ALU32_RSH_K, 2, 0, 0, 16),     // r2 = access
        insn(LDX_MEM_W, 4, 1, 4, 0),        // r4 = major
        insn(LDX_MEM_W, 5, 1, 8, 0),        // r5 = minor
    ];
    for r in rules {
        let mut block = Vec::new();
        if let Some(k) = r.kind {
            block.push((3u8, k));
        }
        if let Some(m) = r.major {
            block.push((4u8, m as i32));
        }
        if let Some(m) = r.minor {
            block.push((5u8, m as i32));
        }
        // Checks, then: r6 = access & ~granted; if r6 != 0 next; r0 = 1; exit (5 instructions).
        // A failed check at block position i jumps to the next rule at position len(block) + 5.
        for (i, (reg, value)) in block.iter().enumerate() {
            p.push(insn(
                JMP_JNE_K,
                *reg,
                0,
                (block.len() + 4 - i) as i16,
                *value,
            ));
        }
        p.push(insn(ALU32_MOV_X, 6, 2, 0, 0));
        p.push(insn(ALU32_AND_K, 6, 0, 0, i32::from(!r.access & 0x7)));
        p.push(insn(JMP_JNE_K, 6, 0, 2, 0));
        p.push(insn(ALU64_MOV_K, 0, 0, 0, 1));
        p.push(insn(JMP_EXIT, 0, 0, 0, 0));
    }
    p.push(insn(ALU64_MOV_K, 0, 0, 0, 0));
    p.push(insn(JMP_EXIT, 0, 0, 0, 0));
    p
}

#[repr(C)]
#[derive(Default)]
struct ProgLoadAttr {
    prog_type: u32,
    insn_cnt: u32,
    insns: u64,
    license: u64,
    log_level: u32,
    log_size: u32,
    log_buf: u64,
    kern_version: u32,
    prog_flags: u32,
    prog_name: [u8; 16],
    prog_ifindex: u32,
    expected_attach_type: u32,
}

#[repr(C)]
#[derive(Default)]
struct ProgAttachAttr {
    target_fd: u32,
    attach_bpf_fd: u32,
    attach_type: u32,
    attach_flags: u32,
    replace_bpf_fd: u32,
}

fn bpf_err(what: &str, path: &Path, errno: nix::errno::Errno, log: &str) -> CgroupError {
    CgroupError::Bpf {
        what: what.to_string(),
        path: path.to_path_buf(),
        errno,
        log: log.to_string(),
    }
}

fn load(insns: &[Insn], path: &Path) -> Result<OwnedFd> {
    let license = c"GPL";
    let mut log = vec![0u8; 64 * 1024];
    for with_log in [false, true] {
        let mut attr = ProgLoadAttr {
            prog_type: BPF_PROG_TYPE_CGROUP_DEVICE,
            insn_cnt: insns.len() as u32,
            insns: insns.as_ptr() as u64,
            license: license.as_ptr() as u64,
            expected_attach_type: BPF_CGROUP_DEVICE,
            ..Default::default()
        };
        attr.prog_name[..10].copy_from_slice(b"lxnest_dev");
        if with_log {
            attr.log_level = 1;
            attr.log_size = log.len() as u32;
            attr.log_buf = log.as_mut_ptr() as u64;
        }
        // SAFETY: attr is a properly laid out bpf_attr prefix of the size passed; the pointers
        // in it (instructions, license, log buffer) outlive the call.
        let fd = unsafe {
            libc::syscall(
                libc::SYS_bpf,
                BPF_PROG_LOAD,
                &attr as *const ProgLoadAttr,
                std::mem::size_of::<ProgLoadAttr>(),
            )
        };
        if fd >= 0 {
            // SAFETY: the kernel returned a new file descriptor that nothing else owns.
            return Ok(unsafe { OwnedFd::from_raw_fd(fd as i32) });
        }
        let errno = nix::errno::Errno::last();
        if with_log || errno == nix::errno::Errno::EPERM {
            let text =
                String::from_utf8_lossy(log.split(|b| *b == 0).next().unwrap_or(&[])).into_owned();
            return Err(bpf_err("BPF_PROG_LOAD", path, errno, &text));
        }
    }
    Err(bpf_err(
        "BPF_PROG_LOAD",
        path,
        nix::errno::Errno::EINVAL,
        "",
    ))
}

/// Loads the program for `lines` and attaches it to the cgroup2 directory `dir`. The attachment
/// lives as long as the cgroup; the program fd is closed on return.
pub fn attach(dir: &Path, lines: &[String]) -> Result<()> {
    let rules: Vec<Rule> = lines.iter().filter_map(|l| parse_rule(l)).collect();
    let prog = load(&program(&rules), dir)?;
    let cg = std::fs::File::open(dir).map_err(io_err("open", dir))?;
    let attr = ProgAttachAttr {
        target_fd: cg.as_raw_fd() as u32,
        attach_bpf_fd: prog.as_raw_fd() as u32,
        attach_type: BPF_CGROUP_DEVICE,
        attach_flags: BPF_F_ALLOW_MULTI,
        replace_bpf_fd: 0,
    };
    // SAFETY: attr is a bpf_attr prefix of the size passed and both fds are open for the call.
    let r = unsafe {
        libc::syscall(
            libc::SYS_bpf,
            BPF_PROG_ATTACH,
            &attr as *const ProgAttachAttr,
            std::mem::size_of::<ProgAttachAttr>(),
        )
    };
    if r < 0 {
        return Err(bpf_err(
            "BPF_PROG_ATTACH",
            dir,
            nix::errno::Errno::last(),
            "",
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rules_parse() {
        assert_eq!(
            parse_rule("c 136:* rw"),
            Some(Rule {
                kind: Some(DEV_CHAR),
                major: Some(136),
                minor: None,
                access: ACC_READ | ACC_WRITE
            })
        );
        assert_eq!(parse_rule("b 7:0 m").map(|r| r.access), Some(ACC_MKNOD));
        assert_eq!(parse_rule("a").map(|r| r.kind), Some(None));
        assert_eq!(parse_rule("x 1:1 r"), None);
        assert_eq!(parse_rule("c 1 r"), None);
    }

    #[test]
    fn program_shape_and_jumps() {
        let rules = [
            parse_rule("c 1:3 rwm").expect("rule"),
            parse_rule("c 136:* rw").expect("rule"),
        ];
        let p = program(&rules);
        // 6 loads, rule 1: 3 checks + 5, rule 2: 2 checks + 5, final 2.
        assert_eq!(p.len(), 6 + 8 + 7 + 2);
        // Every jump of a rule lands on the first instruction after that rule's `exit`.
        let rule1_end = 6 + 8;
        for (i, ins) in p.iter().enumerate().take(rule1_end).skip(6) {
            if ins.code == JMP_JNE_K {
                assert_eq!(
                    i as i64 + 1 + i64::from(ins.off),
                    rule1_end as i64,
                    "insn {i}"
                );
            }
        }
        // The access check of rule 2 forbids mknod.
        assert_eq!(p[rule1_end + 3].imm, i32::from(ACC_MKNOD));
        assert_eq!(p.last().map(|i| i.code), Some(JMP_EXIT));
        assert_eq!(p[p.len() - 2].imm, 0, "default deny");
    }
}
