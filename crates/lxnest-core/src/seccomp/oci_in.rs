//! OCI runtime-spec / Docker seccomp profiles (JSON) as input: moby's `default.json`,
//! containers-common's `seccomp.json`, or any `linux.seccomp` object.
//!
//! Read like runc and moby read them on an x86_64 host: `defaultAction` (+ `defaultErrnoRet`),
//! `syscalls[]` with `names`, `action`, `errnoRet` (EPERM when absent), `args` (`index`, `value`,
//! `valueTwo`, `op`; for `SCMP_CMP_MASKED_EQ` `value` is the mask and `valueTwo` the datum), and
//! `includes`/`excludes` by `arches` (the host's, `amd64`), `caps` (every included capability
//! must be in the container's set; any excluded one present drops the entry) and `minKernel`.
//! Names this host's tables do not know (other hardware's calls) are skipped, as libseccomp-based
//! runtimes do, and reported. Errors name the file, the line of the entry and its JSON path.

use super::error::SeccompError;
use super::lxc_text::ALL_ARCHES;
use super::model::{Action, ArgCmp, CmpOp, Mode, Policy, Rule};
use super::syscalls;
use crate::origin::Origin;
use serde_json::Value;

/// What decides an entry's `includes`/`excludes`.
#[derive(Debug, Clone, Default)]
pub struct OciContext {
    /// The container's capabilities, lowercase without `cap_` (`sys_admin`), as the planner has them.
    pub capabilities: Vec<String>,
    /// The running kernel (major, minor); `None` takes every `minKernel` entry as met.
    pub kernel: Option<(u32, u32)>,
}

/// What [`parse`] learned besides the policy.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OciReport {
    /// Names no table of this host knows, with the entry that listed them.
    pub unknown_names: Vec<(Origin, String)>,
    /// Entries left out by `includes`/`excludes`, by JSON path.
    pub left_out: Vec<String>,
}

/// Whether `text` is a JSON profile rather than LXC text.
pub fn is_json(text: &str) -> bool {
    text.trim_start().starts_with('{')
}

/// Read a profile with no capabilities and any kernel: the pure `&str -> Result` entry point
/// (used by the fuzz target).
pub fn parse_profile(text: &str, file: &str) -> Result<Policy, SeccompError> {
    parse(text, file, &OciContext::default()).map(|(p, _)| p)
}

/// Read a profile for a container with `ctx`'s capabilities and kernel.
pub fn parse(
    text: &str,
    file: &str,
    ctx: &OciContext,
) -> Result<(Policy, OciReport), SeccompError> {
    let root: Value = serde_json::from_str(text).map_err(|e| SeccompError::Syntax {
        origin: Origin::new(file, e.line() as u32),
        what: format!("not a JSON seccomp profile: {e}"),
        fix: "write an OCI/Docker profile object ({\"defaultAction\": ..., \"syscalls\": [...]}) or LXC text starting with `2`".into(),
    })?;
    let entries = entry_lines(text);
    let at = |path: &str, line: u32, what: String, fix: &str| SeccompError::Syntax {
        origin: Origin::new(file, line),
        what: format!("{path}: {what}"),
        fix: fix.to_string(),
    };
    let obj = root.as_object().ok_or_else(|| {
        at(
            "$",
            1,
            "the profile is not an object".into(),
            "wrap it in { }",
        )
    })?;
    let default_errno = errno_of(obj.get("defaultErrnoRet"), "defaultErrnoRet", 1, &at)?;
    let default_text = obj
        .get("defaultAction")
        .and_then(Value::as_str)
        .ok_or_else(|| {
            at(
                "defaultAction",
                1,
                "missing or not a string".into(),
                "add \"defaultAction\": \"SCMP_ACT_ERRNO\" (or another SCMP_ACT_*)",
            )
        })?;
    let default_action = action(default_text, default_errno).ok_or_else(|| {
        at(
            "defaultAction",
            1,
            format!("unknown action `{default_text}`"),
            ACTIONS,
        )
    })?;
    let mode = match default_action {
        Action::Allow | Action::Log => Mode::Denylist,
        _ => Mode::Allowlist,
    };
    let mut policy = Policy {
        mode,
        default_action,
        default_origin: Origin::new(file, 1),
        rules: Vec::new(),
        reject_force_umount: false,
    };
    let mut report = OciReport::default();
    let list = match obj.get("syscalls") {
        None | Some(Value::Null) => &Vec::new(),
        Some(Value::Array(a)) => a,
        Some(_) => {
            return Err(at(
                "syscalls",
                1,
                "not an array".into(),
                "make it a list of entries",
            ))
        }
    };
    for (i, entry) in list.iter().enumerate() {
        let path = format!("syscalls[{i}]");
        let line = entries.get(i).copied().unwrap_or(1);
        let origin = Origin::new(file, line);
        let e = entry.as_object().ok_or_else(|| {
            at(
                &path,
                line,
                "not an object".into(),
                "write {\"names\": [...], \"action\": ...}",
            )
        })?;
        if !applies(e, ctx) {
            report.left_out.push(path);
            continue;
        }
        let errno = errno_of(e.get("errnoRet"), &format!("{path}.errnoRet"), 1, &at)?;
        let act_text = e.get("action").and_then(Value::as_str).unwrap_or("");
        let act = action(act_text, errno).ok_or_else(|| {
            at(
                &format!("{path}.action"),
                line,
                format!("unknown action `{act_text}`"),
                ACTIONS,
            )
        })?;
        let args = args(e.get("args"), &path, line, &at)?;
        let mut names: Vec<&str> = Vec::new();
        if let Some(n) = e.get("name").and_then(Value::as_str) {
            names.push(n); // the runtime-spec's old single-name form
        }
        match e.get("names") {
            None | Some(Value::Null) => {}
            Some(Value::Array(a)) => {
                for (j, n) in a.iter().enumerate() {
                    names.push(n.as_str().ok_or_else(|| {
                        at(
                            &format!("{path}.names[{j}]"),
                            line,
                            "not a string".into(),
                            "list syscall names as strings",
                        )
                    })?);
                }
            }
            Some(_) => {
                return Err(at(
                    &format!("{path}.names"),
                    line,
                    "not a list".into(),
                    "write \"names\": [\"read\", ...]",
                ))
            }
        }
        for name in names {
            if !syscalls::is_known(name) {
                report
                    .unknown_names
                    .push((origin.clone(), name.to_string()));
                continue;
            }
            policy.rules.push(Rule {
                syscall: name.to_string(),
                args: args.clone(),
                action: act,
                arches: ALL_ARCHES.to_vec(),
                origin: origin.clone(),
            });
        }
    }
    Ok((policy, report))
}

const ACTIONS: &str = "use SCMP_ACT_ALLOW, SCMP_ACT_ERRNO, SCMP_ACT_KILL, SCMP_ACT_KILL_PROCESS, SCMP_ACT_KILL_THREAD, SCMP_ACT_TRAP, SCMP_ACT_TRACE, SCMP_ACT_LOG or SCMP_ACT_NOTIFY";

/// `SCMP_ACT_*`; `ret` is the errno (or trace message) the entry carries.
fn action(text: &str, ret: u16) -> Option<Action> {
    Some(match text {
        "SCMP_ACT_ALLOW" => Action::Allow,
        "SCMP_ACT_ERRNO" => Action::Errno(ret),
        // libseccomp's SCMP_ACT_KILL kills the thread.
        "SCMP_ACT_KILL" | "SCMP_ACT_KILL_THREAD" => Action::KillThread,
        "SCMP_ACT_KILL_PROCESS" => Action::KillProcess,
        "SCMP_ACT_TRAP" => Action::Trap,
        "SCMP_ACT_TRACE" => Action::Trace(ret),
        "SCMP_ACT_LOG" => Action::Log,
        "SCMP_ACT_NOTIFY" => Action::Notify,
        _ => return None,
    })
}

type At<'a> = dyn Fn(&str, u32, String, &str) -> SeccompError + 'a;

fn errno_of(v: Option<&Value>, path: &str, default: u16, at: &At<'_>) -> Result<u16, SeccompError> {
    match v {
        None | Some(Value::Null) => Ok(default),
        Some(v) => v
            .as_u64()
            .filter(|n| *n <= 4095)
            .map(|n| n as u16)
            .ok_or_else(|| {
                at(
                    path,
                    1,
                    format!("`{v}` is not an errno 0..=4095"),
                    "write e.g. 1 (EPERM) or 38 (ENOSYS)",
                )
            }),
    }
}

fn args(
    v: Option<&Value>,
    path: &str,
    line: u32,
    at: &At<'_>,
) -> Result<Vec<ArgCmp>, SeccompError> {
    let list = match v {
        None | Some(Value::Null) => return Ok(Vec::new()),
        Some(Value::Array(a)) => a,
        Some(_) => {
            return Err(at(
                &format!("{path}.args"),
                line,
                "not a list".into(),
                "write \"args\": [{\"index\": 0, \"value\": 1, \"op\": \"SCMP_CMP_EQ\"}]",
            ))
        }
    };
    let mut out: Vec<ArgCmp> = Vec::new();
    for (k, a) in list.iter().enumerate() {
        let p = format!("{path}.args[{k}]");
        let fix = "each check is {\"index\": 0..5, \"value\": N, \"valueTwo\": N, \"op\": \"SCMP_CMP_EQ|NE|LT|LE|GT|GE|MASKED_EQ\"}";
        let num = |key: &str| a.get(key).map_or(Some(0), Value::as_u64);
        let index = a.get("index").and_then(Value::as_u64).filter(|i| *i <= 5);
        let (Some(index), Some(value), Some(two)) = (index, num("value"), num("valueTwo")) else {
            return Err(at(
                &p,
                line,
                "index must be 0..=5 and value/valueTwo unsigned 64-bit numbers".into(),
                fix,
            ));
        };
        let op = match a.get("op").and_then(Value::as_str).unwrap_or("") {
            "SCMP_CMP_EQ" => CmpOp::Eq,
            "SCMP_CMP_NE" => CmpOp::Ne,
            "SCMP_CMP_LT" => CmpOp::Lt,
            "SCMP_CMP_LE" => CmpOp::Le,
            "SCMP_CMP_GT" => CmpOp::Gt,
            "SCMP_CMP_GE" => CmpOp::Ge,
            "SCMP_CMP_MASKED_EQ" => CmpOp::MaskedEq(value),
            other => return Err(at(&p, line, format!("unknown op `{other}`"), fix)),
        };
        let value = if matches!(op, CmpOp::MaskedEq(_)) {
            two
        } else {
            value
        };
        if out.iter().any(|c| u64::from(c.index) == index) {
            return Err(at(
                &p,
                line,
                format!("argument {index} is checked twice in one entry; libseccomp refuses that"),
                "split the entry in two with the same action",
            ));
        }
        out.push(ArgCmp {
            index: index as u8,
            value,
            op,
        });
    }
    Ok(out)
}

/// moby's rules for `includes`/`excludes` on an amd64 host.
fn applies(e: &serde_json::Map<String, Value>, ctx: &OciContext) -> bool {
    let strings = |v: Option<&Value>, key: &str| -> Vec<String> {
        v.and_then(|o| o.get(key))
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(Value::as_str)
                    .map(str::to_string)
                    .collect()
            })
            .unwrap_or_default()
    };
    let cap = |c: &str| {
        let c = c.to_ascii_lowercase();
        let c = c.strip_prefix("cap_").unwrap_or(&c).to_string();
        ctx.capabilities.contains(&c)
    };
    let host_arch = |a: &String| a == "amd64" || a == "x86_64";
    let (inc, exc) = (e.get("includes"), e.get("excludes"));
    if strings(exc, "arches").iter().any(host_arch) || strings(exc, "caps").iter().any(|c| cap(c)) {
        return false;
    }
    let arches = strings(inc, "arches");
    if !arches.is_empty() && !arches.iter().any(host_arch) {
        return false;
    }
    if !strings(inc, "caps").iter().all(|c| cap(c)) {
        return false;
    }
    let min = inc.and_then(|o| o.get("minKernel")).and_then(Value::as_str);
    match (min.and_then(kernel_version), ctx.kernel) {
        (Some(min), Some(have)) => have >= min,
        _ => true,
    }
}

fn kernel_version(s: &str) -> Option<(u32, u32)> {
    let mut it = s.split('.');
    Some((
        it.next()?.parse().ok()?,
        it.next().unwrap_or("0").parse().ok()?,
    ))
}

/// The line each element of the top-level `syscalls` array starts on (a small scanner that
/// knows JSON strings and nesting), so errors can name a line.
fn entry_lines(text: &str) -> Vec<u32> {
    let Some(key) = text.find("\"syscalls\"") else {
        return Vec::new();
    };
    let bytes = text.as_bytes();
    let mut line = 1 + text[..key].matches('\n').count() as u32;
    let mut out = Vec::new();
    let (mut depth, mut in_str, mut esc, mut started) = (0i32, false, false, false);
    for &b in &bytes[key + "\"syscalls\"".len()..] {
        if b == b'\n' {
            line += 1;
        }
        if in_str {
            match (esc, b) {
                (true, _) => esc = false,
                (false, b'\\') => esc = true,
                (false, b'"') => in_str = false,
                _ => {}
            }
            continue;
        }
        match b {
            b'"' => in_str = true,
            b'[' if !started => {
                started = true;
                depth = 1;
            }
            b'{' | b'[' if started => {
                if depth == 1 && b == b'{' {
                    out.push(line);
                }
                depth += 1;
            }
            b'}' | b']' if started => {
                depth -= 1;
                if depth == 0 {
                    break;
                }
            }
            _ => {}
        }
    }
    out
}

#[cfg(test)]
#[path = "oci_in_tests.rs"]
mod tests;
