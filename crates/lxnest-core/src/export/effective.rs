//! A container's effective seccomp policy as ONE flat filter: every ancestor's filter AND its
//! own, as the kernel stacks them (the strictest action wins, ties go to the inner filter), in
//! the shape libseccomp-based formats can say (OCI JSON, LXC v2 text).
//!
//! Those formats have no rule order and no "else" for a syscall: rules with arguments that do
//! not match fall through to the default action, and an argument-free rule decides every call
//! of its syscall. Where the stacked filters cannot be said that way, the syscall gets the
//! strictest action any of the filters could give it, and a [`Note`] says so: an export is
//! never looser than lxnest.

use crate::seccomp::decide::rejects_force_umount;
use crate::seccomp::model::{Action, Arch, ArgCmp, CmpOp, Mode, Policy, Rule};
use std::collections::BTreeSet;

/// The arches the flat filter is read at (x32: [`super::spo::seccomp_spec`],
/// [`super::incus::raw_seccomp`]).
const ARCHES: [Arch; 2] = [Arch::X86_64, Arch::I386];

/// Masked compares with more mask bits than this are not complemented bit by bit.
const MAX_COMPLEMENT_BITS: u32 = 16;

/// Where the flat filter differs from what lxnest enforces, and how (always stricter).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Note {
    /// The syscall (or `*` for the default action).
    pub syscall: String,
    /// What was done instead, in a sentence.
    pub what: String,
}

/// The flat filter and its notes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Flat {
    /// One policy: its rules apply to x86_64 and i386.
    pub policy: Policy,
    /// Where it is stricter than lxnest's stack.
    pub notes: Vec<Note>,
}

/// One filter's behaviour for one syscall on one arch: its argument rules in order (the first
/// that matches decides), then what every other call gets.
#[derive(Debug, Clone, PartialEq, Eq)]
struct View {
    conds: Vec<(Vec<ArgCmp>, Action)>,
    fallback: Action,
}

fn view(p: &Policy, arch: Arch, syscall: &str) -> View {
    let mut conds = Vec::new();
    // lxnest's codegen checks a forced unmount before any rule.
    if syscall == "umount2" && rejects_force_umount(p, arch) {
        let force = ArgCmp {
            index: 1,
            value: 1,
            op: CmpOp::MaskedEq(1),
        };
        conds.push((vec![force], Action::Errno(13)));
    }
    for r in p
        .rules
        .iter()
        .filter(|r| r.syscall == syscall && r.arches.contains(&arch))
    {
        if r.args.is_empty() {
            return View {
                conds,
                fallback: r.action,
            };
        }
        conds.push((r.args.clone(), r.action));
    }
    View {
        conds,
        fallback: p.default_action,
    }
}

/// The kernel's answer for one action per filter (outermost first): the strictest, and among
/// equally strict ones the innermost's.
fn combine(actions: impl DoubleEndedIterator<Item = Action>) -> Action {
    actions
        .rev()
        .reduce(|inner, outer| inner.stricter(outer))
        .unwrap_or(Action::Allow)
}

/// What one syscall becomes in the flat filter: rules (empty args = unconditional) or a note.
type Translation = (Vec<(Vec<ArgCmp>, Action)>, Option<String>);

/// Flatten a chain of filters (outermost first; the container's own last).
pub fn flatten(chain: &[&Policy]) -> Flat {
    let default = combine(chain.iter().map(|p| p.default_action));
    let mut names: BTreeSet<&str> = chain
        .iter()
        .flat_map(|p| p.rules.iter().map(|r| r.syscall.as_str()))
        .collect();
    if chain.iter().any(|p| p.reject_force_umount) {
        names.insert("umount2");
    }
    let mut rules = Vec::new();
    let mut notes = Vec::new();
    for name in names {
        let (out, note) = per_arch(chain, name, default);
        if let Some(what) = note {
            notes.push(Note {
                syscall: name.to_string(),
                what,
            });
        }
        rules.extend(out.into_iter().map(|(args, action)| Rule {
            syscall: name.to_string(),
            args,
            action,
            arches: ARCHES.to_vec(),
            origin: crate::origin::Origin::builtin("lxnest export (effective policy)"),
        }));
    }
    let origin = chain
        .last()
        .map(|p| p.default_origin.clone())
        .unwrap_or_else(|| crate::origin::Origin::builtin("lxnest export"));
    let policy = Policy {
        mode: if default == Action::Allow {
            Mode::Denylist
        } else {
            Mode::Allowlist
        },
        default_action: default,
        default_origin: origin,
        rules,
        reject_force_umount: false,
    };
    let mut flat = Flat { policy, notes };
    without_notify(&mut flat);
    flat
}

/// Nobody answers a notification in an exported filter (lxnest's monitor is not there): the
/// kernel would fail the call with ENOSYS, so the export says `errno 38`, which is stricter.
fn without_notify(flat: &mut Flat) {
    let enosys = Action::Errno(38);
    let p = &mut flat.policy;
    if p.default_action == Action::Notify {
        p.default_action = enosys;
        flat.notes.push(Note {
            syscall: "*".into(),
            what: "the default action `notify` has no supervisor here: `errno 38`".into(),
        });
    }
    let default = p.default_action;
    let mut noted = BTreeSet::new();
    for r in p.rules.iter_mut().filter(|r| r.action == Action::Notify) {
        r.action = enosys;
        if noted.insert(r.syscall.clone()) {
            flat.notes.push(Note {
                syscall: r.syscall.clone(),
                what: "`notify` has no supervisor here: `errno 38` (stricter)".into(),
            });
        }
    }
    p.rules.retain(|r| r.action != default);
}

/// The translation at x86_64 and i386; where they differ (arch sections), the stricter one.
fn per_arch(chain: &[&Policy], name: &str, default: Action) -> Translation {
    let views: Vec<Vec<View>> = ARCHES
        .iter()
        .map(|a| chain.iter().map(|p| view(p, *a, name)).collect())
        .collect();
    let first = translate(&views[0], default);
    if views.iter().all(|v| *v == views[0]) {
        return first;
    }
    let worst = views
        .iter()
        .map(|v| strictest(v))
        .reduce(|a, b| a.stricter(b))
        .unwrap_or(default);
    let note = format!(
        "the filters decide it differently on x86_64 and i386 and an OCI rule covers every arch: \
         `{}` on both",
        worst
    );
    (unconditional(worst, default), Some(note))
}

fn unconditional(action: Action, default: Action) -> Vec<(Vec<ArgCmp>, Action)> {
    if action == default {
        Vec::new()
    } else {
        vec![(Vec::new(), action)]
    }
}

/// The strictest answer any call of the syscall could get from the stack.
fn strictest(views: &[View]) -> Action {
    combine(views.iter().map(|v| {
        v.conds
            .iter()
            .map(|c| c.1)
            .fold(v.fallback, |a, b| a.stricter(b))
    }))
}

/// Every answer the stack can give, when that set is small (each filter's possible actions,
/// crossed).
fn outcomes(views: &[View]) -> Option<BTreeSet<Action>> {
    let mut sets: Vec<Vec<Action>> = Vec::new();
    let mut product = 1usize;
    for v in views {
        let mut s: Vec<Action> = v.conds.iter().map(|c| c.1).collect();
        s.push(v.fallback);
        s.sort();
        s.dedup();
        product = product.saturating_mul(s.len());
        sets.push(s);
    }
    if product > 256 {
        return None;
    }
    let mut combos: Vec<Vec<Action>> = vec![Vec::new()];
    for s in &sets {
        combos = combos
            .into_iter()
            .flat_map(|c| {
                s.iter().map(move |a| {
                    let mut c = c.clone();
                    c.push(*a);
                    c
                })
            })
            .collect();
    }
    Some(combos.into_iter().map(|c| combine(c.into_iter())).collect())
}

fn translate(views: &[View], default: Action) -> Translation {
    let conditional: Vec<usize> = (0..views.len())
        .filter(|i| !views[*i].conds.is_empty())
        .collect();
    if let Some(set) = outcomes(views) {
        if set.len() == 1 {
            let only = set.into_iter().next().unwrap_or(default);
            return (unconditional(only, default), None);
        }
    }
    if let Some(merged) = merge(views, &conditional) {
        if let Some(rules) = one_conditional(&merged, default) {
            return (rules, None);
        }
    }
    let worst = strictest(views);
    let why = if conditional.len() > 1 {
        "more than one filter of the stack checks its arguments, differently"
    } else {
        "its argument rules cannot be said without rule order in this format"
    };
    (
        unconditional(worst, default),
        Some(format!("{why}: `{worst}` for every call (stricter)")),
    )
}

/// The stack as one filter, when the filters that check arguments check the same ones in the
/// same order (every level's `reject_force_umount`, a rule inherited by each level): per rule
/// the stacked answer, then the stacked fallback.
fn merge(views: &[View], conditional: &[usize]) -> Option<View> {
    let first = &views[*conditional.first()?];
    let same = conditional.iter().all(|i| {
        let c = &views[*i].conds;
        c.len() == first.conds.len() && c.iter().zip(&first.conds).all(|(a, b)| a.0 == b.0)
    });
    if !same {
        return None;
    }
    let answer = |j: Option<usize>| {
        combine(views.iter().map(|v| match j {
            Some(j) if !v.conds.is_empty() => v.conds[j].1,
            _ => v.fallback,
        }))
    };
    Some(View {
        conds: (0..first.conds.len())
            .map(|j| (first.conds[j].0.clone(), answer(Some(j))))
            .collect(),
        fallback: answer(None),
    })
}

/// One filter's argument rules, when the format can say them exactly.
fn one_conditional(view: &View, default: Action) -> Option<Vec<(Vec<ArgCmp>, Action)>> {
    let on_fallback = view.fallback;
    let conds = &view.conds;
    // Rules giving the fallback's answer after the last other rule change nothing.
    let Some(last) = conds.iter().rposition(|c| c.1 != on_fallback) else {
        return Some(unconditional(on_fallback, default));
    };
    let conds = &conds[..=last];
    let on_match = conds[last].1;
    // Two different answers, or a fallback-answer rule shadowing a later one, need rule order.
    if conds.iter().any(|c| c.1 != on_match) {
        return None;
    }
    if on_fallback == default {
        return Some(conds.iter().map(|c| (c.0.clone(), on_match)).collect());
    }
    // The match gives the default: say the fallback on the complement (one rule only).
    match conds {
        [(args, _)] if on_match == default => {
            complement(args).map(|alts| alts.into_iter().map(|c| (vec![c], on_fallback)).collect())
        }
        _ => None,
    }
}

/// The calls that fail a conjunction, as alternatives of one comparison each.
fn complement(args: &[ArgCmp]) -> Option<Vec<ArgCmp>> {
    let mut out = Vec::new();
    for c in args {
        let flip = |op| ArgCmp {
            index: c.index,
            value: c.value,
            op,
        };
        match c.op {
            CmpOp::Eq => out.push(flip(CmpOp::Ne)),
            CmpOp::Ne => out.push(flip(CmpOp::Eq)),
            CmpOp::Lt => out.push(flip(CmpOp::Ge)),
            CmpOp::Le => out.push(flip(CmpOp::Gt)),
            CmpOp::Gt => out.push(flip(CmpOp::Le)),
            CmpOp::Ge => out.push(flip(CmpOp::Lt)),
            // (a & m) != (v & m): some bit of the mask differs from the value's.
            CmpOp::MaskedEq(m) => {
                if m.count_ones() > MAX_COMPLEMENT_BITS {
                    return None;
                }
                out.extend(
                    (0..64)
                        .map(|b| 1u64 << b)
                        .filter(|b| m & b != 0)
                        .map(|b| ArgCmp {
                            index: c.index,
                            value: (c.value & b) ^ b,
                            op: CmpOp::MaskedEq(b),
                        }),
                );
            }
        }
    }
    Some(out)
}

#[cfg(test)]
#[path = "effective_tests.rs"]
mod tests;
