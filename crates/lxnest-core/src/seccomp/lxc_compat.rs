//! Where LXC (through libseccomp) would refuse or misread the LXC text lxnest writes for a
//! policy: the planner shows these as warnings for every level.

use super::model::{Action, Arch, Policy, Rule};
use crate::origin::Origin;

/// Where LXC (through libseccomp) would read `p` differently from lxnest or refuse it, with
/// origins: actions LXC does not know, rules whose action is the policy default (libseccomp
/// refuses them and LXC then fails to start the container), syscalls with rules of different
/// actions that are not after an unconditional rule (libseccomp does not apply rules in order,
/// lxnest takes the first match), and argument checks on socket/SysV IPC calls on i386 (LXC's
/// exact rule add refuses them). The planner shows these as warnings for every level.
pub fn lxc_incompatibilities(p: &Policy) -> Vec<(Origin, String)> {
    let lxc_knows = |a: Action| {
        matches!(
            a,
            Action::KillProcess | Action::Errno(_) | Action::Allow | Action::Trap | Action::Notify
        )
    };
    let mut out = Vec::new();
    if !lxc_knows(p.default_action) {
        out.push((
            p.default_origin.clone(),
            format!(
                "LXC does not know the default action `{}`",
                p.default_action
            ),
        ));
    }
    // libseccomp 2.5.4 refuses SCMP_ACT_ERRNO(4095) (EINVAL), though the kernel takes it.
    let errno_4095 = |a: Action| a == Action::Errno(4095);
    if errno_4095(p.default_action) {
        out.push((
            p.default_origin.clone(),
            "libseccomp refuses `errno 4095` (it takes 0..=4094) and LXC fails to start".into(),
        ));
    }
    for (i, rule) in p.rules.iter().enumerate() {
        if errno_4095(rule.action) {
            out.push((
                rule.origin.clone(),
                "libseccomp refuses `errno 4095` (it takes 0..=4094) and LXC fails to start".into(),
            ));
        }
        if !lxc_knows(rule.action) {
            out.push((
                rule.origin.clone(),
                format!("LXC does not know the action `{}`", rule.action),
            ));
        }
        if rule.action == p.default_action {
            out.push((
                rule.origin.clone(),
                format!("`{}` has the policy's default action `{}`: libseccomp refuses the rule and LXC fails to start", rule.syscall, rule.action),
            ));
        }
        let overlapping = |r: &&Rule| {
            r.syscall == rule.syscall && r.arches.iter().any(|a| rule.arches.contains(a))
        };
        // After an unconditional rule a later one is unreachable, and libseccomp also keeps
        // the earlier unconditional rule: both read the file alike.
        let shadowed = p.rules[..i]
            .iter()
            .filter(overlapping)
            .any(|r| r.args.is_empty());
        let earlier = p.rules[..i]
            .iter()
            .filter(overlapping)
            .find(|r| r.action != rule.action);
        if rule.arches.contains(&Arch::I386)
            && !rule.args.is_empty()
            && super::multiplex::demux(&rule.syscall, &rule.args).is_some()
        {
            out.push((
                rule.origin.clone(),
                format!(
                    "`{}` with argument checks on i386: LXC adds rules with seccomp_rule_add_exact, which refuses them for calls i386 also reaches through socketcall/ipc (EINVAL); put the rule under [x86_64] or drop its checks",
                    rule.syscall
                ),
            ));
        }
        if let Some(first) = earlier.filter(|_| !shadowed) {
            out.push((
                rule.origin.clone(),
                format!(
                    "`{}` also has a rule with action `{}` at {}: libseccomp does not apply rules in order, lxnest uses the first match",
                    rule.syscall, first.action, first.origin
                ),
            ));
        }
    }
    out
}
