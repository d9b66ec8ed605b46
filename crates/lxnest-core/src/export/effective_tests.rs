use super::*;
use crate::seccomp::decide::decide_call;
use crate::seccomp::lxc_text::parse;

fn policy(text: &str, file: &str) -> Policy {
    parse(text, file).expect("test policy parses")
}

/// What a libseccomp filter (OCI, LXC) answers: an argument-free rule decides every call of its
/// syscall; otherwise a matching argument rule (the flat filter gives all of them one action);
/// otherwise the default.
fn flat_answer(p: &Policy, syscall: &str, args: &[u64; 6]) -> Action {
    let rules: Vec<&Rule> = p.rules.iter().filter(|r| r.syscall == syscall).collect();
    if let Some(r) = rules.iter().find(|r| r.args.is_empty()) {
        return r.action;
    }
    let holds = |c: &ArgCmp| {
        let a = args[usize::from(c.index)];
        match c.op {
            CmpOp::Eq => a == c.value,
            CmpOp::Ne => a != c.value,
            CmpOp::Lt => a < c.value,
            CmpOp::Le => a <= c.value,
            CmpOp::Gt => a > c.value,
            CmpOp::Ge => a >= c.value,
            CmpOp::MaskedEq(m) => a & m == c.value & m,
        }
    };
    let matching: BTreeSet<Action> = rules
        .iter()
        .filter(|r| r.args.iter().all(holds))
        .map(|r| r.action)
        .collect();
    assert!(matching.len() <= 1, "{syscall}: {matching:?} overlap");
    matching.into_iter().next().unwrap_or(p.default_action)
}

/// The kernel's answer for the stack, as lxnest's own interpreter gives it.
fn stacked_answer(chain: &[&Policy], syscall: &str, args: &[u64; 6]) -> Action {
    combine(
        chain
            .iter()
            .map(|p| decide_call(p, Arch::X86_64, syscall, args).0),
    )
}

const SAMPLE_ARGS: [u64; 7] = [0, 1, 2, 5, 0x1000_0000, 0x1000_0011, u64::MAX];

/// Every sampled call gets an answer at least as strict from the flat filter, and the same
/// answer for every syscall without a note.
fn assert_never_looser(chain: &[&Policy], flat: &Flat) {
    let names: BTreeSet<&str> = chain
        .iter()
        .flat_map(|p| p.rules.iter().map(|r| r.syscall.as_str()))
        .chain(["read", "umount2"])
        .collect();
    for name in names {
        let noted = flat.notes.iter().any(|n| n.syscall == name);
        for a0 in SAMPLE_ARGS {
            for a1 in SAMPLE_ARGS {
                let args = [a0, a1, 0, 0, 0, 0];
                let want = stacked_answer(chain, name, &args);
                let got = flat_answer(&flat.policy, name, &args);
                assert!(
                    got.strictness() >= want.strictness(),
                    "{name} {args:?}: export {got} looser than lxnest {want}"
                );
                if !noted && want != Action::Notify {
                    assert_eq!(got, want, "{name} {args:?} without a note");
                }
            }
        }
    }
}

#[test]
fn a_syscall_an_ancestor_denies_stays_denied_though_the_child_allows_it() {
    let parent = policy("2\ndenylist\nkeyctl errno 38\nmount kill\n", "parent");
    let child = policy("2\nallowlist errno 1\nkeyctl\nread\nmount\n", "child");
    let chain = [&parent, &child];
    let flat = flatten(&chain);
    let p = &flat.policy;
    assert_eq!(p.default_action, Action::Errno(1));
    let keyctl: Vec<_> = p.rules.iter().filter(|r| r.syscall == "keyctl").collect();
    assert_eq!(keyctl.len(), 1);
    assert_eq!(keyctl[0].action, Action::Errno(38));
    let mount = p
        .rules
        .iter()
        .find(|r| r.syscall == "mount")
        .expect("mount");
    assert_eq!(mount.action, Action::KillProcess);
    let read = p.rules.iter().find(|r| r.syscall == "read").expect("read");
    assert_eq!(read.action, Action::Allow);
    assert!(flat.notes.is_empty(), "{:?}", flat.notes);
    assert_never_looser(&chain, &flat);
}

#[test]
fn one_filters_argument_rule_is_kept_exactly() {
    let parent = policy(
        "2\ndenylist\nclone errno 1 [0,0x10000000,&=,0x10000000]\n",
        "parent",
    );
    let child = policy("2\ndenylist\nkeyctl errno 38\n", "child");
    let chain = [&parent, &child];
    let flat = flatten(&chain);
    let clone: Vec<_> = flat
        .policy
        .rules
        .iter()
        .filter(|r| r.syscall == "clone")
        .collect();
    assert_eq!(clone.len(), 1);
    assert_eq!(clone[0].action, Action::Errno(1));
    assert_eq!(clone[0].args, parent.rules[0].args);
    assert!(flat.notes.is_empty());
    assert_never_looser(&chain, &flat);
}

#[test]
fn an_outright_stricter_ancestor_makes_argument_rules_moot() {
    let parent = policy("2\ndenylist\nmount kill\n", "parent");
    let child = policy("2\ndenylist\nmount errno 1 [2,5,==]\n", "child");
    let chain = [&parent, &child];
    let flat = flatten(&chain);
    let mount: Vec<_> = flat
        .policy
        .rules
        .iter()
        .filter(|r| r.syscall == "mount")
        .collect();
    assert_eq!(mount.len(), 1);
    assert!(mount[0].args.is_empty());
    assert_eq!(mount[0].action, Action::KillProcess);
    assert!(flat.notes.is_empty());
    assert_never_looser(&chain, &flat);
}

#[test]
fn an_allowlist_under_an_argument_rule_is_said_by_the_complement() {
    let parent = policy(
        "2\ndenylist\nclone errno 1 [0,0x10000000,&=,0x10000000]\n",
        "parent",
    );
    let child = policy("2\nallowlist errno 1\nclone\nread\n", "child");
    let chain = [&parent, &child];
    let flat = flatten(&chain);
    let clone: Vec<_> = flat
        .policy
        .rules
        .iter()
        .filter(|r| r.syscall == "clone")
        .collect();
    assert_eq!(clone.len(), 1, "{clone:?}");
    assert_eq!(clone[0].action, Action::Allow);
    assert_eq!(
        clone[0].args,
        vec![ArgCmp {
            index: 0,
            value: 0,
            op: CmpOp::MaskedEq(0x1000_0000)
        }]
    );
    assert!(flat.notes.is_empty());
    assert_never_looser(&chain, &flat);
}

#[test]
fn two_filters_checking_arguments_give_the_strictest_with_a_note() {
    let parent = policy("2\ndenylist\nioctl errno 1 [1,5,==]\n", "parent");
    let child = policy("2\ndenylist\nioctl trap [1,2,==]\n", "child");
    let chain = [&parent, &child];
    let flat = flatten(&chain);
    let ioctl: Vec<_> = flat
        .policy
        .rules
        .iter()
        .filter(|r| r.syscall == "ioctl")
        .collect();
    assert_eq!(ioctl.len(), 1);
    assert_eq!(ioctl[0].action, Action::Trap);
    assert!(ioctl[0].args.is_empty());
    assert_eq!(flat.notes.len(), 1);
    assert_eq!(flat.notes[0].syscall, "ioctl");
    assert_never_looser(&chain, &flat);
}

#[test]
fn rules_in_order_with_different_answers_are_noted() {
    let own = policy(
        "2\ndenylist\nclone errno 1 [0,1,==]\nclone trap [1,5,>]\n",
        "own",
    );
    let chain = [&own];
    let flat = flatten(&chain);
    assert_eq!(flat.notes.len(), 1);
    assert_never_looser(&chain, &flat);
}

#[test]
fn forced_unmounts_stay_refused() {
    let own = policy("2\ndenylist\nreject_force_umount\nkeyctl errno 38\n", "own");
    let chain = [&own];
    let flat = flatten(&chain);
    let umount: Vec<_> = flat
        .policy
        .rules
        .iter()
        .filter(|r| r.syscall == "umount2")
        .collect();
    assert_eq!(umount.len(), 1);
    assert_eq!(umount[0].action, Action::Errno(13));
    assert!(!flat.policy.reject_force_umount);
    assert_never_looser(&chain, &flat);
}

#[test]
fn notify_becomes_enosys_with_a_note() {
    let own = policy("2\ndenylist\nmknod notify\n", "own");
    let flat = flatten(&[&own]);
    assert_eq!(flat.policy.rules[0].action, Action::Errno(38));
    assert_eq!(flat.notes[0].syscall, "mknod");
}

#[test]
fn rules_for_one_arch_apply_to_both_with_a_note() {
    let own = policy("2\ndenylist\n[i386]\nmount errno 1\n", "own");
    let chain = [&own];
    let flat = flatten(&chain);
    assert_eq!(flat.policy.rules[0].action, Action::Errno(1));
    assert_eq!(flat.notes[0].syscall, "mount");
    assert_never_looser(&chain, &flat);
}

#[test]
fn equal_strictness_keeps_the_inner_errno() {
    let parent = policy("2\ndenylist\nkeyctl errno 1\n", "parent");
    let child = policy("2\ndenylist\nkeyctl errno 38\n", "child");
    let flat = flatten(&[&parent, &child]);
    assert_eq!(flat.policy.rules[0].action, Action::Errno(38));
}

#[test]
fn the_base_policy_under_itself_is_exact() {
    let base = crate::seccomp::builtin::default_policy().expect("built-in policy parses");
    let chain = [&base, &base];
    let flat = flatten(&chain);
    assert!(flat.notes.is_empty(), "{:?}", flat.notes);
    assert_never_looser(&chain, &flat);
}
