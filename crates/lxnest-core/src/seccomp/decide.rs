//! What a policy decides for a syscall, and which rule decided: the answers behind `explain`
//! and the planner's checks. Read at the native arch (x86_64) unless an arch is given.

use super::model::{Action, Arch, ArgCmp, CmpOp, Mode, Policy, Rule};
use super::multiplex;
use crate::origin::Origin;
use serde::{Deserialize, Serialize};

/// The result of one policy for one syscall.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision {
    /// The action for a call whose arguments match no argument-conditional rule.
    pub action: Action,
    /// The rule that gives `action`, `None` when it is the policy default.
    pub rule: Option<Rule>,
    /// Some rule (or `reject_force_umount`) checks this syscall's arguments, so the real answer
    /// can differ for some argument values.
    pub conditional: bool,
}

/// What `p` decides for `syscall` on x86_64.
pub fn decide(p: &Policy, syscall: &str) -> Decision {
    decide_on(p, Arch::X86_64, syscall)
}

/// What `p` decides for `syscall` on `arch`.
pub fn decide_on(p: &Policy, arch: Arch, syscall: &str) -> Decision {
    // reject_force_umount is checked before any rule (see codegen), so it always counts.
    let mut conditional = syscall == "umount2" && rejects_force_umount(p, arch);
    // On i386, socket and SysV IPC rules reach socketcall/ipc with a call-number check.
    conditional |= arch == Arch::I386
        && p.rules.iter().any(|r| {
            r.arches.contains(&arch)
                && multiplex::demux(&r.syscall, &r.args).is_some_and(|(mux, _, _)| mux == syscall)
        });
    for rule in p
        .rules
        .iter()
        .filter(|r| r.syscall == syscall && r.arches.contains(&arch))
    {
        if rule.args.is_empty() {
            return Decision {
                action: rule.action,
                rule: Some(rule.clone()),
                conditional,
            };
        }
        conditional = true;
    }
    Decision {
        action: p.default_action,
        rule: None,
        conditional,
    }
}

/// Whether `reject_force_umount` decides forced unmounts on `arch`: not when an unconditional
/// `umount2` rule exists there, because libseccomp (and so LXC) lets an unconditional rule
/// decide every call of its syscall, and lxnest reads its LXC text the same way.
pub fn rejects_force_umount(p: &Policy, arch: Arch) -> bool {
    p.reject_force_umount
        && !p
            .rules
            .iter()
            .any(|r| r.syscall == "umount2" && r.args.is_empty() && r.arches.contains(&arch))
}

/// What `p` decides for one exact call (`args` as the kernel passes them; i386 arguments are
/// 32 bits, pass them zero-extended). The rule that matched, or `None` for the default.
/// `reject_force_umount` reports as `errno 13` with no rule.
pub fn decide_call(
    p: &Policy,
    arch: Arch,
    syscall: &str,
    args: &[u64; 6],
) -> (Action, Option<Rule>) {
    if arch == Arch::X32 {
        // The compiled filter refuses every x32 call (docs/seccomp.md, "The x32 choice").
        return match p.mode {
            Mode::Allowlist => (p.default_action, None),
            Mode::Denylist => (Action::Errno(38), None),
        };
    }
    if syscall == "umount2" && rejects_force_umount(p, arch) && args[1] & 1 != 0 {
        return (Action::Errno(13), None);
    }
    // i386 arguments are 32 bits, and libseccomp truncates values and masks to 32 bits there.
    let width = |v: u64| {
        if arch == Arch::I386 {
            v & 0xffff_ffff
        } else {
            v
        }
    };
    let holds = |c: &ArgCmp| {
        let a = width(args[usize::from(c.index.min(5))]);
        let v = width(c.value);
        match c.op {
            CmpOp::Eq => a == v,
            CmpOp::Ne => a != v,
            CmpOp::Lt => a < v,
            CmpOp::Le => a <= v,
            CmpOp::Gt => a > v,
            CmpOp::Ge => a >= v,
            // libseccomp masks the datum too: bits outside the mask do not count.
            CmpOp::MaskedEq(m) => a & width(m) == v & m,
        }
    };
    let applies = |r: &&Rule| {
        if !r.arches.contains(&arch) {
            return false;
        }
        if r.syscall == syscall {
            return r.args.iter().all(holds);
        }
        // On i386 a socket or SysV IPC rule also decides socketcall/ipc (see `multiplex`).
        arch == Arch::I386
            && multiplex::demux(&r.syscall, &r.args)
                .is_some_and(|(mux, _, checks)| mux == syscall && checks.iter().all(holds))
    };
    match p.rules.iter().find(applies) {
        Some(r) => (r.action, Some(r.clone())),
        None => (p.default_action, None),
    }
}

/// The effective result of stacked filters for one syscall.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EffectiveDecision {
    /// The winning action for an unconditional call (no argument rule matched).
    pub action: Action,
    /// Whether some filter checks this syscall's arguments (the result then depends on them).
    pub conditional: bool,
    /// The container whose filter decided, and the rule's origin.
    pub decided_by: Option<(String, Origin)>,
}

/// The effective result of stacked policies (outermost first, each with its container path):
/// the strictest action wins, and among equally strict ones the innermost, as in the kernel
/// (the most recently installed filter's return data is kept).
pub fn effective(chain: &[(&str, &Policy)], syscall: &str) -> EffectiveDecision {
    let mut best: Option<EffectiveDecision> = None;
    let mut conditional = false;
    for (path, policy) in chain.iter().rev() {
        let d = decide(policy, syscall);
        conditional |= d.conditional;
        let origin = d
            .rule
            .map_or_else(|| policy.default_origin.clone(), |r| r.origin);
        let stricter = match &best {
            Some(b) => d.action.strictness() > b.action.strictness(),
            None => true,
        };
        if stricter {
            best = Some(EffectiveDecision {
                action: d.action,
                conditional: false,
                decided_by: Some((path.to_string(), origin)),
            });
        }
    }
    let mut out = best.unwrap_or(EffectiveDecision {
        action: Action::Allow,
        conditional: false,
        decided_by: None,
    });
    out.conditional = conditional;
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::seccomp::lxc_text::parse;

    fn policy(text: &str, file: &str) -> Policy {
        parse(text, file).expect("test policy parses")
    }

    #[test]
    fn first_unconditional_rule_decides() {
        let p = policy(
            "2\ndenylist\nreject_force_umount\nclone errno 1 [0,0x10000000,&=,0x10000000]\nclone errno 38\nclone kill\nkeyctl errno 38\n",
            "t.seccomp",
        );
        let d = decide(&p, "clone");
        assert_eq!(d.action, Action::Errno(38));
        assert_eq!(d.rule.map(|r| r.origin.line), Some(5));
        assert!(d.conditional);
        let d = decide(&p, "read");
        assert_eq!(
            (d.action, d.rule, d.conditional),
            (Action::Allow, None, false)
        );
        assert!(decide(&p, "umount2").conditional);
        assert!(!decide(&p, "keyctl").conditional);
    }

    /// Only on i386 does a socket rule make socketcall conditional; other calls stay plain (the
    /// mutation run found `&&` -> `||` there missed).
    #[test]
    fn socketcall_is_conditional_on_i386_only() {
        let p = policy("2\ndenylist\nsocket errno 97\n", "t");
        assert!(decide_on(&p, Arch::I386, "socketcall").conditional);
        assert!(!decide_on(&p, Arch::I386, "read").conditional);
        assert!(!decide_on(&p, Arch::X86_64, "socketcall").conditional);
    }

    #[test]
    fn exact_calls_follow_the_first_matching_rule() {
        let p = policy(
            "2\ndenylist\nreject_force_umount\nclone errno 1 [0,0x10000000,&=,0x10000000]\nclone trap [1,5,>]\n",
            "t",
        );
        let call = |name: &str, a0: u64, a1: u64| {
            decide_call(&p, Arch::X86_64, name, &[a0, a1, 0, 0, 0, 0])
        };
        assert_eq!(call("clone", 0x1000_0011, 9).0, Action::Errno(1));
        assert_eq!(call("clone", 0x11, 9).0, Action::Trap);
        assert_eq!(call("clone", 0x11, 5), (Action::Allow, None));
        assert_eq!(call("umount2", 0, 1), (Action::Errno(13), None));
        assert_eq!(call("umount2", 0, 2), (Action::Allow, None));
        assert_eq!(
            decide_call(&p, Arch::X32, "read", &[0; 6]).0,
            Action::Errno(38)
        );
    }

    #[test]
    fn arch_sections_are_respected() {
        let p = policy(
            "2\ndenylist\n[i386]\nstime errno 1\n[x86_64]\nmount errno 1\n",
            "t",
        );
        assert_eq!(decide(&p, "mount").action, Action::Errno(1));
        assert_eq!(decide_on(&p, Arch::I386, "mount").action, Action::Allow);
        assert_eq!(decide_on(&p, Arch::I386, "stime").action, Action::Errno(1));
    }

    /// A call is conditional when any filter of the chain checks its arguments (the mutation
    /// run found `|=` -> `&=` there missed).
    #[test]
    fn effective_is_conditional_when_any_filter_checks_arguments() {
        let outer = policy("2\ndenylist\nclone errno 1 [0,1,==]\n", "outer");
        let inner = policy("2\ndenylist\nkeyctl errno 38\n", "inner");
        let chain = [("a", &outer), ("a/b", &inner)];
        assert!(effective(&chain, "clone").conditional);
        assert!(!effective(&chain, "keyctl").conditional);
    }

    /// `Action::stricter` picks the stricter action either way round (no caller in lxnest yet;
    /// the mutation run found it invertible unnoticed).
    #[test]
    fn stricter_picks_the_stricter_either_way_round() {
        let order = [
            Action::Allow,
            Action::Log,
            Action::Errno(1),
            Action::Trap,
            Action::KillThread,
            Action::KillProcess,
        ];
        for (i, a) in order.iter().enumerate() {
            for b in &order[i + 1..] {
                assert_eq!(a.stricter(*b), *b, "{a:?} {b:?}");
                assert_eq!(b.stricter(*a), *b, "{b:?} {a:?}");
            }
        }
    }

    #[test]
    fn strictest_wins_and_ties_go_inward() {
        let outer = policy("2\ndenylist\nkeyctl errno 1\nmount kill\n", "outer");
        let inner = policy(
            "2\ndenylist\nkeyctl errno 38\nmount errno 1\nbpf trap\n",
            "inner",
        );
        let chain = [("a", &outer), ("a/b", &inner)];
        let e = effective(&chain, "keyctl");
        assert_eq!(e.action, Action::Errno(38));
        assert_eq!(
            e.decided_by.map(|d| (d.0, d.1.to_string())),
            Some(("a/b".into(), "inner:3".into()))
        );
        let e = effective(&chain, "mount");
        assert_eq!(
            (e.action, e.decided_by.map(|d| d.0)),
            (Action::KillProcess, Some("a".into()))
        );
        assert_eq!(effective(&chain, "bpf").action, Action::Trap);
        let e = effective(&chain, "read");
        assert_eq!(e.action, Action::Allow);
        assert_eq!(
            e.decided_by.map(|d| d.1.to_string()),
            Some("inner:2".into())
        );
        assert_eq!(effective(&[], "read").decided_by, None);
    }
}
