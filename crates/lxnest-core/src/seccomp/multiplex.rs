//! i386's `socketcall` and `ipc` multiplexers: a rule on `socket` or `shmget` must also decide
//! `socketcall(SYS_SOCKET, ..)` and `ipc(SHMGET, ..)`, or a 32-bit program walks around it.
//!
//! lxnest does what libseccomp 2.5.4 does on x86 (checked by tests/seccomp_libseccomp_diff.rs):
//! the rule is added to the multiplexer with `arg0 == call number` in place of any check of
//! argument 0 and its other checks kept at the same index. Those other checks then compare the
//! multiplexer's own arguments (the pointer to the real ones), which is libseccomp's choice too.

use super::model::{ArgCmp, CmpOp};

/// i386 `socketcall` number.
pub const SOCKETCALL: u32 = 102;
/// i386 `ipc` number.
pub const IPC: u32 = 117;

/// `SYS_*` call numbers of `socketcall` (linux/net.h).
const SOCKET_CALLS: [(&str, u64); 20] = [
    ("socket", 1),
    ("bind", 2),
    ("connect", 3),
    ("listen", 4),
    ("accept", 5),
    ("getsockname", 6),
    ("getpeername", 7),
    ("socketpair", 8),
    ("send", 9),
    ("recv", 10),
    ("sendto", 11),
    ("recvfrom", 12),
    ("shutdown", 13),
    ("setsockopt", 14),
    ("getsockopt", 15),
    ("sendmsg", 16),
    ("recvmsg", 17),
    ("accept4", 18),
    ("recvmmsg", 19),
    ("sendmmsg", 20),
];

/// `ipc` call numbers (linux/ipc.h).
const IPC_CALLS: [(&str, u64); 12] = [
    ("semop", 1),
    ("semget", 2),
    ("semctl", 3),
    ("semtimedop", 4),
    ("msgsnd", 11),
    ("msgrcv", 12),
    ("msgget", 13),
    ("msgctl", 14),
    ("shmat", 21),
    ("shmdt", 22),
    ("shmget", 23),
    ("shmctl", 24),
];

/// The multiplexer (`socketcall` or `ipc`) and the checks a rule on `syscall` with `args` gets
/// there on i386, `None` for calls that are not multiplexed.
pub fn demux(syscall: &str, args: &[ArgCmp]) -> Option<(&'static str, u32, Vec<ArgCmp>)> {
    let find = |table: &[(&str, u64)]| table.iter().find(|(n, _)| *n == syscall).map(|e| e.1);
    let (name, nr, call) = match (find(&SOCKET_CALLS), find(&IPC_CALLS)) {
        (Some(call), _) => ("socketcall", SOCKETCALL, call),
        (None, Some(call)) => ("ipc", IPC, call),
        (None, None) => return None,
    };
    let mut out = vec![ArgCmp {
        index: 0,
        value: call,
        op: CmpOp::Eq,
    }];
    out.extend(args.iter().filter(|a| a.index != 0).copied());
    Some((name, nr, out))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn socket_and_ipc_calls_map_to_their_multiplexer() {
        let (name, nr, args) = demux("socket", &[]).expect("multiplexed");
        assert_eq!((name, nr), ("socketcall", 102));
        assert_eq!(
            args,
            vec![ArgCmp {
                index: 0,
                value: 1,
                op: CmpOp::Eq
            }]
        );
        let (name, _, args) = demux("shmget", &[]).expect("multiplexed");
        assert_eq!((name, args[0].value), ("ipc", 23));
        assert!(demux("read", &[]).is_none());
        // A check of argument 0 gives way to the call number; the others stay.
        let checks = [
            ArgCmp {
                index: 0,
                value: 2,
                op: CmpOp::Eq,
            },
            ArgCmp {
                index: 2,
                value: 7,
                op: CmpOp::Gt,
            },
        ];
        let (_, _, args) = demux("connect", &checks).expect("multiplexed");
        assert_eq!(
            args,
            vec![
                ArgCmp {
                    index: 0,
                    value: 3,
                    op: CmpOp::Eq
                },
                checks[1]
            ]
        );
    }
}
