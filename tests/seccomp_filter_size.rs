//! Filter sizes: lxnest's BPF for its shipped policies, LXC's common.seccomp and a ~370-syscall
//! allowlist must stay no larger than libseccomp 2.5.4's for the same policy and arches
//! (x86_64 + x86 + x32). The libseccomp figures were measured with scripts/bench-filter-size.sh,
//! which also runs this test with LXNEST_FILTER_BENCH_DIR set to print the comparison table.

use lxnest::seccomp::bpf::sock_filter;
use lxnest::seccomp::builtin;
use lxnest::seccomp::interp::{run_counted, SeccompData};
use lxnest::seccomp::lxc_text::parse;
use lxnest::seccomp::{compile, decide, syscalls, Action, Arch, Policy};
use std::path::Path;

/// libseccomp 2.5.4 instruction counts (linear, the default) for the policies below.
const LIBSECCOMP_LINEAR: [(&str, usize); 4] = [
    ("common", 33),
    ("default", 94),
    ("no-nesting", 73),
    ("allowlist", 1037),
];

/// lxnest's own instruction counts, pinned so that any growth is a visible decision (the
/// allowlist's i386 socketcall/ipc checks took it from 192 to 255, see docs/seccomp.md).
const LXNEST: [(&str, usize); 4] = [
    ("common", 27),
    ("default", 75),
    ("no-nesting", 43),
    ("allowlist", 255),
];

/// Syscalls a Docker-like allowlist leaves out besides lxnest's denials: obsolete or unused.
const OBSOLETE: &[&str] = &[
    "create_module",
    "get_kernel_syms",
    "query_module",
    "getpmsg",
    "putpmsg",
    "afs_syscall",
    "tuxcall",
    "security",
    "vserver",
    "_sysctl",
    "sysfs",
    "ustat",
    "idle",
    "break",
    "ftime",
    "gtty",
    "stty",
    "lock",
    "mpx",
    "prof",
    "profil",
    "ulimit",
    "oldolduname",
    "oldstat",
    "oldfstat",
    "oldlstat",
    "olduname",
    "sgetmask",
    "ssetmask",
    "signal",
    "bdflush",
    "readdir",
    "ptrace",
    "personality",
    "clone",
];

/// The newest x86_64 numbers libseccomp 2.5.4 still knows; later calls are left out so both
/// compilers get the same policy.
const LIBSECCOMP_2_5_4_LAST: u32 = 456;

/// A Docker-style allowlist: every syscall name lxnest knows (x86_64 and i386) except its own
/// denials and obsolete calls, `personality` only for the usual personas, `clone` only without
/// namespace flags.
fn allowlist_text() -> String {
    let denied: Vec<Policy> = [builtin::default_policy(), builtin::no_nesting_policy()]
        .into_iter()
        .map(|p| p.unwrap_or_else(|e| panic!("{e}")))
        .collect();
    let mut text = String::from("2\nallowlist errno 1\n[all]\n");
    for name in syscalls::all_names() {
        let is_denied = denied
            .iter()
            .any(|p| decide(p, name).action != Action::Allow || decide(p, name).conditional);
        // uretprobe (335) and uprobe (336) came after libseccomp 2.5.4 in the old number range.
        let too_new = syscalls::number(Arch::X86_64, name)
            .is_some_and(|nr| nr > LIBSECCOMP_2_5_4_LAST)
            || ["uretprobe", "uprobe"].contains(&name);
        if !is_denied && !too_new && !OBSOLETE.contains(&name) {
            text.push_str(name);
            text.push('\n');
        }
    }
    for persona in ["0", "8", "0x20000", "0x20008", "0xffffffff"] {
        text.push_str(&format!("personality allow [0,{persona},SCMP_CMP_EQ]\n"));
    }
    text.push_str("clone allow [0,0,SCMP_CMP_MASKED_EQ,0x7e020000]\n");
    text
}

fn policies() -> Vec<(&'static str, String)> {
    let common = std::fs::read_to_string("/usr/share/lxc/config/common.seccomp")
        .unwrap_or_else(|e| panic!("common.seccomp: {e} (install Debian's lxc package)"));
    vec![
        ("common", common),
        ("default", builtin::DEFAULT_TEXT.to_string()),
        ("no-nesting", builtin::NO_NESTING_TEXT.to_string()),
        ("allowlist", allowlist_text()),
    ]
}

/// Mean and worst instructions run for every x86_64 syscall number (zero arguments).
fn path_cost(prog: &[sock_filter]) -> (f64, usize) {
    let mut total = 0;
    let mut worst = 0;
    let mut count = 0;
    for nr in 0..=461u32 {
        if syscalls::name(Arch::X86_64, nr).is_none() {
            continue;
        }
        let data = SeccompData::call(Arch::X86_64, nr, [0; 6]);
        let (_, steps) = run_counted(prog, &data).unwrap_or_else(|e| panic!("{e}"));
        total += steps;
        worst = worst.max(steps);
        count += 1;
    }
    (total as f64 / f64::from(count), worst)
}

fn read_bpf(path: &Path) -> Option<Vec<sock_filter>> {
    let bytes = std::fs::read(path).ok()?;
    Some(
        bytes
            .chunks_exact(8)
            .map(|c| sock_filter {
                code: u16::from_ne_bytes([c[0], c[1]]),
                jt: c[2],
                jf: c[3],
                k: u32::from_ne_bytes([c[4], c[5], c[6], c[7]]),
            })
            .collect(),
    )
}

#[test]
fn filters_are_no_larger_than_libseccomp() {
    let bench_dir = std::env::var_os("LXNEST_FILTER_BENCH_DIR");
    if bench_dir.is_some() {
        println!("| policy | rules | lxnest insns | libseccomp linear | libseccomp tree | size ratio (linear) | lxnest mean/worst per call | libseccomp linear mean/worst |");
        println!("|---|---|---|---|---|---|---|---|");
    }
    for (name, text) in policies() {
        let policy = parse(&text, name).unwrap_or_else(|e| panic!("{e}"));
        let prog = compile(&policy).unwrap_or_else(|e| panic!("{e}"));
        let (mean, worst) = path_cost(&prog);
        if let Some((_, pinned)) = LXNEST.iter().find(|(n, _)| *n == name) {
            assert_eq!(prog.len(), *pinned, "{name}: lxnest's program size changed");
        }
        if let Some((_, limit)) = LIBSECCOMP_LINEAR.iter().find(|(n, _)| *n == name) {
            assert!(
                prog.len() <= *limit,
                "{name}: {} instructions, libseccomp needs {limit}",
                prog.len()
            );
        }
        let Some(dir) = &bench_dir else { continue };
        let dir = Path::new(dir);
        std::fs::write(dir.join(format!("{name}.seccomp")), &text).expect("write policy");
        let raw: Vec<u8> = prog
            .iter()
            .flat_map(|i| {
                [
                    &i.code.to_ne_bytes()[..],
                    &[i.jt, i.jf],
                    &i.k.to_ne_bytes()[..],
                ]
                .concat()
            })
            .collect();
        std::fs::write(dir.join(format!("{name}.lxnest.bpf")), raw).expect("write program");
        let linear = read_bpf(&dir.join(format!("{name}.linear.bpf")));
        let tree = read_bpf(&dir.join(format!("{name}.tree.bpf")));
        if let (Some(linear), Some(tree)) = (linear, tree) {
            let (l_mean, l_worst) = path_cost(&linear);
            println!(
                "| {name} | {} | {} | {} | {} | {:.2} | {mean:.1} / {worst} | {l_mean:.1} / {l_worst} |",
                policy.rules.len(),
                prog.len(),
                linear.len(),
                tree.len(),
                prog.len() as f64 / linear.len() as f64,
            );
        }
    }
}
