//! What an LXC policy means, evaluated straight from its rules (the test's own reading, with
//! libseccomp's documented transforms: 32-bit truncation on x86, masked datum, and i386's
//! socketcall/ipc multiplexers). It settles who is right when lxnest and libseccomp disagree.

use super::cbpf::Data;
use super::ffi::{self, ScmpRule, ARCH_X86, ARCH_X86_64};

/// `SYS_*` numbers of socketcall and ipc (linux/net.h, linux/ipc.h).
const MUX: [(&str, u32, u64); 30] = [
    ("socket", 102, 1),
    ("bind", 102, 2),
    ("connect", 102, 3),
    ("listen", 102, 4),
    ("accept", 102, 5),
    ("getsockname", 102, 6),
    ("getpeername", 102, 7),
    ("socketpair", 102, 8),
    ("sendto", 102, 11),
    ("recvfrom", 102, 12),
    ("shutdown", 102, 13),
    ("setsockopt", 102, 14),
    ("getsockopt", 102, 15),
    ("sendmsg", 102, 16),
    ("recvmsg", 102, 17),
    ("accept4", 102, 18),
    ("recvmmsg", 102, 19),
    ("sendmmsg", 102, 20),
    ("semop", 117, 1),
    ("semget", 117, 2),
    ("semctl", 117, 3),
    ("semtimedop", 117, 4),
    ("msgsnd", 117, 11),
    ("msgrcv", 117, 12),
    ("msgget", 117, 13),
    ("msgctl", 117, 14),
    ("shmat", 117, 21),
    ("shmdt", 117, 22),
    ("shmget", 117, 23),
    ("shmctl", 117, 24),
];

fn holds(c: &ffi::ArgCmp, args: &[u64; 6], w: impl Fn(u64) -> u64) -> bool {
    let a = w(args[c.arg as usize]);
    let v = w(c.datum_a);
    match c.op {
        ffi::CMP_EQ => a == v,
        ffi::CMP_NE => a != v,
        ffi::CMP_LT => a < v,
        ffi::CMP_LE => a <= v,
        ffi::CMP_GT => a > v,
        ffi::CMP_GE => a >= v,
        // datum_a is the mask, datum_b the datum; libseccomp masks the datum too.
        _ => a & v == w(c.datum_b) & v,
    }
}

/// The policy's answer for `d` on x86_64 or i386 (not x32), `None` when rules of different
/// actions match (their order decides, and libseccomp and lxnest order differently).
pub fn decide(default: u32, rules: &[ScmpRule], d: &Data) -> Option<u32> {
    let arch = match d.arch {
        0xc000_003e if d.nr & 0x4000_0000 == 0 => ARCH_X86_64,
        0x4000_0003 => ARCH_X86,
        _ => return None,
    };
    let w = |v: u64| if arch == ARCH_X86 { v & 0xffff_ffff } else { v };
    let mut uncond: Option<u32> = None;
    let mut matched: Vec<u32> = Vec::new();
    for r in rules.iter().filter(|r| r.arches.contains(&arch)) {
        // libseccomp resolves x86 socket calls to pseudo numbers and adds their direct numbers
        // when it builds the rule: ask its table both ways.
        let direct = ffi::resolve_on(arch, &r.name) == d.nr as i32
            || ffi::name_of(arch, d.nr as i32).is_some_and(|n| n == r.name);
        let mux = MUX
            .iter()
            .find(|m| m.0 == r.name && arch == ARCH_X86 && m.1 == d.nr)
            .map(|m| m.2);
        if direct {
            if r.args.is_empty() {
                uncond.get_or_insert(r.action);
            } else if r.args.iter().all(|c| holds(c, &d.args, w)) {
                matched.push(r.action);
            }
        }
        if let Some(call) = mux {
            let rest = r.args.iter().filter(|c| c.arg != 0);
            if w(d.args[0]) == call && rest.clone().all(|c| holds(c, &d.args, w)) {
                if r.args.iter().all(|c| c.arg == 0) {
                    uncond.get_or_insert(r.action);
                } else {
                    matched.push(r.action);
                }
            }
        }
    }
    if let Some(a) = uncond {
        return Some(a);
    }
    matched.sort_unstable();
    matched.dedup();
    match matched.as_slice() {
        [] => Some(default),
        [one] => Some(*one),
        _ => None,
    }
}
