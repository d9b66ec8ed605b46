//! LXC's seccomp policy text, version 2, to and from [`Policy`].
//!
//! ```text
//! 2
//! denylist [default action]
//! reject_force_umount        # umount2(.., MNT_FORCE) -> EACCES
//! [all]
//! kexec_load errno 1
//! clone errno 1 [0,0x10000000,SCMP_CMP_MASKED_EQ,0x10000000]
//! ```
//!
//! Differences from LXC, on purpose: an unknown syscall name is an error (LXC warns and skips it),
//! and `kill` means `SECCOMP_RET_KILL_PROCESS` (LXC's libseccomp `SCMP_ACT_KILL` kills the thread;
//! for a single-threaded caller there is no difference, for a threaded one ours is stricter).
//! lxnest also reads `log`, `trace N`, `kill_thread` and `kill_process`, which LXC does not.

use super::error::SeccompError;
use super::model::{Action, Arch, ArgCmp, CmpOp, Mode, Policy, Rule};
use super::syscalls;
use crate::origin::Origin;
use std::fmt::Write as _;

pub use super::lxc_compat::lxc_incompatibilities;

/// Every arch an x86_64 kernel runs, in [`Arch`] order: what `[all]` means.
pub const ALL_ARCHES: [Arch; 3] = [Arch::X86_64, Arch::X32, Arch::I386];

/// Sections for other hardware; their rules are skipped, as LXC does on x86_64.
const FOREIGN_SECTIONS: &[&str] = &[
    "arm",
    "armel",
    "armhf",
    "arm64",
    "aarch64",
    "ppc",
    "ppc64",
    "ppc64le",
    "mips",
    "mips64",
    "mips64n32",
    "mipsel",
    "mipsel64",
    "mipsel64n32",
    "s390",
    "s390x",
    "riscv64",
    "loongarch64",
];

/// What [`parse_with_report`] learned besides the policy.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ParseReport {
    /// Lines inside sections for other hardware (`[arm64]`), with their text.
    pub skipped: Vec<(Origin, String)>,
    /// Rules with a comment after an argument check: lxnest reads them, LXC refuses the file
    /// ("Failed to interpret args"). Put the comment on its own line.
    pub lxc_unreadable: Vec<Origin>,
}

/// Parse a whole policy file. `file` is used in origins and errors.
pub fn parse(text: &str, file: &str) -> Result<Policy, SeccompError> {
    let (policy, report) = parse_with_report(text, file)?;
    for (origin, line) in &report.skipped {
        tracing::debug!("{origin}: skipped `{line}` (section for another architecture)");
    }
    for origin in &report.lxc_unreadable {
        tracing::warn!(
            "{origin}: LXC cannot read a comment after an argument check; move it to its own line"
        );
    }
    Ok(policy)
}

/// Parse a whole policy file and also say which lines were skipped.
pub fn parse_with_report(text: &str, file: &str) -> Result<(Policy, ParseReport), SeccompError> {
    let mut lines = text
        .lines()
        .enumerate()
        .map(|(i, l)| (i as u32 + 1, l.trim_end_matches('\r')));
    let syntax = |line: u32, what: &str, fix: &str| SeccompError::Syntax {
        origin: Origin::new(file, line),
        what: what.to_string(),
        fix: fix.to_string(),
    };

    let (_, version) = lines
        .next()
        .ok_or_else(|| syntax(1, "empty policy", "start the file with a line `2`"))?;
    match strip_comment(version) {
        "2" => {}
        "1" => return Err(syntax(
            1,
            "version 1 policies (bare syscall numbers) are not supported",
            "convert to version 2: line 1 `2`, line 2 `allowlist`, then one syscall name per line",
        )),
        other => {
            return Err(syntax(
                1,
                &format!("expected the version `2`, found `{other}`"),
                "make line 1 exactly `2`",
            ))
        }
    }

    let (_, header) = lines.next().ok_or_else(|| {
        syntax(
            2,
            "missing the policy type line",
            "add line 2: `denylist` or `allowlist`",
        )
    })?;
    let header = strip_comment(header);
    let (kind, default_text) = header
        .split_once(char::is_whitespace)
        .unwrap_or((header, ""));
    let mode = match kind {
        "denylist" | "blacklist" => Mode::Denylist,
        "allowlist" | "whitelist" => Mode::Allowlist,
        other => {
            return Err(syntax(
                2,
                &format!("unknown policy type `{other}`"),
                "write `denylist` or `allowlist` (optionally followed by a default action)",
            ))
        }
    };
    let default_origin = Origin::new(file, 2);
    let default_action = match default_text.trim() {
        "" => default_policy_action(mode),
        text => parse_action(text, &default_origin)?,
    };

    let mut policy = Policy {
        mode,
        default_action,
        default_origin,
        rules: Vec::new(),
        reject_force_umount: false,
    };
    let mut report = ParseReport::default();
    // Rules before any section apply to every arch, as LXC does on x86_64 hosts.
    let mut section: Option<Vec<Arch>> = Some(ALL_ARCHES.to_vec());
    for (no, raw) in lines {
        let line = strip_comment(raw);
        if line.is_empty() {
            continue;
        }
        let origin = Origin::new(file, no);
        if let Some(name) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            section = parse_section(name.trim(), &origin)?;
            continue;
        }
        let Some(arches) = &section else {
            report.skipped.push((origin, line.to_string()));
            continue;
        };
        if line.split_whitespace().next() == Some("reject_force_umount") {
            policy.reject_force_umount = true;
            continue;
        }
        if raw.rfind('#').is_some_and(|hash| raw[..hash].contains(']')) {
            report.lxc_unreadable.push(origin.clone());
        }
        let mut rule = parse_rule_in(line, origin, mode)?;
        rule.arches = arches.clone();
        policy.rules.push(rule);
    }
    Ok((policy, report))
}

/// Parse one rule line as written in a spec (`keyctl errno 38`). Without an action the rule gets
/// LXC's denylist rule default, `kill`, because every lxnest container's base policy is a denylist.
pub fn parse_rule(line: &str, origin: Origin) -> Result<Rule, SeccompError> {
    parse_rule_in(strip_comment(line), origin, Mode::Denylist)
}

/// LXC's default for unlisted syscalls: allow in a denylist, kill in an allowlist.
fn default_policy_action(mode: Mode) -> Action {
    match mode {
        Mode::Denylist => Action::Allow,
        Mode::Allowlist => Action::KillProcess,
    }
}

/// LXC's default for a rule without an action: the opposite of the policy default.
fn default_rule_action(mode: Mode) -> Action {
    match mode {
        Mode::Denylist => Action::KillProcess,
        Mode::Allowlist => Action::Allow,
    }
}

fn strip_comment(line: &str) -> &str {
    line.split('#').next().unwrap_or("").trim()
}

fn parse_section(name: &str, origin: &Origin) -> Result<Option<Vec<Arch>>, SeccompError> {
    let lower = name.to_ascii_lowercase();
    Ok(Some(match lower.as_str() {
        "all" => ALL_ARCHES.to_vec(),
        "x86_64" | "amd64" => vec![Arch::X86_64],
        "i386" | "x86" => vec![Arch::I386],
        "x32" => vec![Arch::X32],
        other if FOREIGN_SECTIONS.contains(&other) => return Ok(None),
        _ => {
            return Err(SeccompError::Syntax {
                origin: origin.clone(),
                what: format!("unknown section `[{name}]`"),
                fix:
                    "use [all], [x86_64], [x86] (lxnest also reads [i386]), [x32], or another arch name LXC knows"
                        .into(),
            })
        }
    }))
}

/// Parse `name [action] [idx,value,op(,mask)]...` with `mode`'s default rule action.
fn parse_rule_in(line: &str, origin: Origin, mode: Mode) -> Result<Rule, SeccompError> {
    let line = line.trim();
    let (head, args_text) = match line.find('[') {
        Some(i) => (&line[..i], &line[i..]),
        None => (line, ""),
    };
    let (name, action_text) = head
        .trim()
        .split_once(char::is_whitespace)
        .unwrap_or((head.trim(), ""));
    if name.is_empty() {
        return Err(SeccompError::Syntax {
            origin,
            what: "rule without a syscall name".into(),
            fix: "write `name [action] [idx,value,op]`, e.g. `keyctl errno 38`".into(),
        });
    }
    syscalls::check(name, &origin)?;
    let action = match action_text.trim() {
        "" => default_rule_action(mode),
        text => parse_action(text, &origin)?,
    };
    let args = parse_args(args_text, &origin)?;
    Ok(Rule {
        syscall: name.to_string(),
        args,
        action,
        arches: ALL_ARCHES.to_vec(),
        origin,
    })
}

/// Parse an action: `kill`, `errno N`, `allow`, `trap`, `notify`, `log`, `trace N`.
pub fn parse_action(text: &str, origin: &Origin) -> Result<Action, SeccompError> {
    let bad = |what: String, fix: &str| SeccompError::Syntax {
        origin: origin.clone(),
        what,
        fix: fix.to_string(),
    };
    let mut words = text.split_whitespace();
    let word = words.next().unwrap_or("");
    let number = |words: &mut std::str::SplitWhitespace<'_>, max: u16, fix: &str| {
        let Some(n) = words.next() else {
            return Err(bad(format!("`{word}` needs a number"), fix));
        };
        match parse_u64(n) {
            Some(v) if v <= u64::from(max) => Ok(v as u16),
            _ => Err(bad(
                format!("`{word} {n}`: the number must be 0..={max}"),
                fix,
            )),
        }
    };
    let action = match word {
        "kill" | "kill_process" => Action::KillProcess,
        "kill_thread" => Action::KillThread,
        "allow" => Action::Allow,
        "trap" => Action::Trap,
        "notify" => Action::Notify,
        "log" => Action::Log,
        "errno" => Action::Errno(number(&mut words, 4095, "write e.g. `errno 1` (EPERM) or `errno 38` (ENOSYS)")?),
        "trace" => Action::Trace(number(&mut words, u16::MAX, "write e.g. `trace 1`")?),
        other => {
            return Err(bad(
                format!("unknown action `{other}`"),
                "use kill, errno N, allow, trap, notify, log or trace N (arguments go in [idx,value,op])",
            ))
        }
    };
    if let Some(extra) = words.next() {
        return Err(bad(
            format!("unexpected `{extra}` after the action"),
            "put argument checks in brackets: [idx,value,op]",
        ));
    }
    Ok(action)
}

fn parse_args(text: &str, origin: &Origin) -> Result<Vec<ArgCmp>, SeccompError> {
    let bad = |what: String| SeccompError::Syntax {
        origin: origin.clone(),
        what,
        fix:
            "write each check as [idx,value,op] or [idx,value,SCMP_CMP_MASKED_EQ,mask], idx 0..=5, \
              op SCMP_CMP_EQ/NE/LT/LE/GT/GE/MASKED_EQ or ==, !=, <, <=, >, >=, &="
                .to_string(),
    };
    let mut out = Vec::new();
    let mut rest = text.trim();
    while !rest.is_empty() {
        let Some(inner_end) = rest.strip_prefix('[').and_then(|r| r.find(']')) else {
            return Err(bad(format!("cannot read argument check `{rest}`")));
        };
        let inner = &rest[1..=inner_end];
        rest = rest[inner_end + 2..].trim_start();
        let fields: Vec<&str> = inner.split(',').map(str::trim).collect();
        if !(3..=4).contains(&fields.len()) {
            return Err(bad(format!(
                "`[{inner}]` has {} fields, expected 3 or 4",
                fields.len()
            )));
        }
        let index = match fields[0].parse::<u8>() {
            Ok(i) if i <= 5 => i,
            _ => return Err(bad(format!("argument index `{}` is not 0..=5", fields[0]))),
        };
        let value = parse_u64(fields[1]).ok_or_else(|| {
            bad(format!(
                "value `{}` is not a 64-bit unsigned number",
                fields[1]
            ))
        })?;
        let op =
            match fields[2] {
                "SCMP_CMP_EQ" | "==" => CmpOp::Eq,
                "SCMP_CMP_NE" | "!=" => CmpOp::Ne,
                "SCMP_CMP_LT" | "<" => CmpOp::Lt,
                "SCMP_CMP_LE" | "<=" => CmpOp::Le,
                "SCMP_CMP_GT" | ">" => CmpOp::Gt,
                "SCMP_CMP_GE" | ">=" => CmpOp::Ge,
                "SCMP_CMP_MASKED_EQ" | "&=" => {
                    let Some(mask) = fields.get(3) else {
                        return Err(bad(format!(
                            "`[{inner}]`: SCMP_CMP_MASKED_EQ needs a mask as the 4th field"
                        )));
                    };
                    CmpOp::MaskedEq(parse_u64(mask).ok_or_else(|| {
                        bad(format!("mask `{mask}` is not a 64-bit unsigned number"))
                    })?)
                }
                other => return Err(bad(format!("unknown comparison `{other}`"))),
            };
        if out.iter().any(|a: &ArgCmp| a.index == index) {
            // libseccomp refuses a rule with two checks of one argument (EINVAL), so LXC
            // would fail to load the whole policy.
            return Err(SeccompError::Syntax {
                origin: origin.clone(),
                what: format!(
                    "argument {index} is checked twice in one rule; libseccomp (and so LXC) refuses such a rule"
                ),
                fix: format!(
                    "keep one check of argument {index} per rule: write a second rule with the same action for the other check, or merge both into one [{index},value,SCMP_CMP_MASKED_EQ,mask]"
                ),
            });
        }
        out.push(ArgCmp { index, value, op });
    }
    Ok(out)
}

/// A number as C's `strtoull(.., 0)` reads it: `0x` hex, leading `0` octal, else decimal.
fn parse_u64(text: &str) -> Option<u64> {
    if let Some(hex) = text.strip_prefix("0x").or_else(|| text.strip_prefix("0X")) {
        u64::from_str_radix(hex, 16).ok()
    } else if text.len() > 1 && text.starts_with('0') {
        u64::from_str_radix(&text[1..], 8).ok()
    } else {
        text.parse().ok()
    }
}

/// Render a policy as LXC v2 text. Rules keep their order (the first match decides); a section
/// header is written whenever the arch set changes. A rule whose arch set is not one LXC can
/// name (`[all]` or a single arch) is written once per arch.
pub fn render(p: &Policy) -> String {
    let mut out = String::from("2\n");
    let kind = match p.mode {
        Mode::Denylist => "denylist",
        Mode::Allowlist => "allowlist",
    };
    let _ = writeln!(out, "{kind} {}", p.default_action);
    if p.reject_force_umount {
        out.push_str("reject_force_umount\n");
    }
    let mut current: Option<&str> = None;
    for rule in &p.rules {
        let mut arches = rule.arches.clone();
        arches.sort();
        arches.dedup();
        let sections: Vec<&str> = if arches == ALL_ARCHES {
            vec!["all"]
        } else {
            arches.iter().map(|a| section_name(*a)).collect()
        };
        for section in sections {
            if current != Some(section) {
                let _ = writeln!(out, "[{section}]");
                current = Some(section);
            }
            let _ = writeln!(out, "{}", render_rule(rule));
        }
    }
    out
}

/// The section header LXC reads for `arch` (its parser knows `[x86]`, not `[i386]`).
fn section_name(arch: Arch) -> &'static str {
    match arch {
        Arch::X86_64 => "x86_64",
        Arch::X32 => "x32",
        Arch::I386 => "x86",
    }
}

/// One rule as a line: `name action [idx,value,op(,mask)]...`.
pub fn render_rule(rule: &Rule) -> String {
    let mut line = format!("{} {}", rule.syscall, rule.action);
    for arg in &rule.args {
        let (op, mask) = match arg.op {
            CmpOp::Eq => ("SCMP_CMP_EQ", None),
            CmpOp::Ne => ("SCMP_CMP_NE", None),
            CmpOp::Lt => ("SCMP_CMP_LT", None),
            CmpOp::Le => ("SCMP_CMP_LE", None),
            CmpOp::Gt => ("SCMP_CMP_GT", None),
            CmpOp::Ge => ("SCMP_CMP_GE", None),
            CmpOp::MaskedEq(m) => ("SCMP_CMP_MASKED_EQ", Some(m)),
        };
        let _ = write!(line, " [{},{},{op}", arg.index, number_text(arg.value));
        if let Some(m) = mask {
            let _ = write!(line, ",{}", number_text(m));
        }
        line.push(']');
    }
    line
}

/// Flags read better in hex, small numbers in decimal.
fn number_text(v: u64) -> String {
    if v < 4096 {
        v.to_string()
    } else {
        format!("{v:#x}")
    }
}

#[cfg(test)]
#[path = "lxc_text_tests.rs"]
pub(crate) mod tests;
