//! Differential testing of lxnest's seccomp compiler against libseccomp 2.5.4: libseccomp through
//! its C API, a classic-BPF interpreter of the test's own, and readers of LXC text and OCI JSON
//! that do not use lxnest's parsers or syscall tables.
#![allow(dead_code)]

pub mod cbpf;
pub mod compare;
pub mod ffi;
pub mod lxc;
pub mod oci;
pub mod reference;

use cbpf::Insn;

/// lxnest's program in the test interpreter's form.
pub fn insns(prog: &[lxnest::seccomp::bpf::sock_filter]) -> Vec<Insn> {
    prog.iter()
        .map(|i| Insn {
            code: i.code,
            jt: i.jt,
            jf: i.jf,
            k: i.k,
        })
        .collect()
}

/// The seed: LXNEST_DIFF_SEED, else a fixed one; printed so a failure can be replayed.
pub fn seed() -> u64 {
    let seed = std::env::var("LXNEST_DIFF_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0x5ecc_0d1f_2026_1204);
    eprintln!("differential seed {seed} (replay with LXNEST_DIFF_SEED={seed})");
    seed
}

/// How many random policies: LXNEST_DIFF_POLICIES, else `default`.
pub fn count(default: usize) -> usize {
    std::env::var("LXNEST_DIFF_POLICIES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(default)
}
