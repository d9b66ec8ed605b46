//! LXC seccomp v2 text to libseccomp rules, read the way LXC reads it (the test's own reader:
//! nothing of lxnest's parser or tables).

use super::ffi::{self, ArgCmp, ScmpRule, ARCH_X32, ARCH_X86, ARCH_X86_64};

/// A policy as LXC would hand it to libseccomp.
#[derive(Debug, Clone)]
pub struct LxcPolicy {
    pub allowlist: bool,
    pub default: u32,
    pub rules: Vec<ScmpRule>,
}

const ALL: [u32; 3] = [ARCH_X86_64, ARCH_X86, ARCH_X32];

fn number(s: &str) -> Option<u64> {
    if let Some(h) = s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
        u64::from_str_radix(h, 16).ok()
    } else if s.len() > 1 && s.starts_with('0') {
        u64::from_str_radix(&s[1..], 8).ok()
    } else {
        s.parse().ok()
    }
}

/// LXC's action words; `kill` is libseccomp's SCMP_ACT_KILL (the thread), as in LXC.
fn action(words: &[&str]) -> Result<u32, String> {
    Ok(match words {
        ["kill"] => ffi::ACT_KILL_THREAD,
        ["allow"] => ffi::ACT_ALLOW,
        ["trap"] => ffi::ACT_TRAP,
        ["notify"] => ffi::ACT_NOTIFY,
        ["log"] => ffi::ACT_LOG,
        ["errno", n] => ffi::act_errno(number(n).ok_or("errno number")? as u32),
        ["trace", n] => ffi::act_trace(number(n).ok_or("trace number")? as u32),
        other => return Err(format!("unknown action {other:?}")),
    })
}

fn op(s: &str) -> Result<i32, String> {
    Ok(match s {
        "SCMP_CMP_EQ" | "==" => ffi::CMP_EQ,
        "SCMP_CMP_NE" | "!=" => ffi::CMP_NE,
        "SCMP_CMP_LT" | "<" => ffi::CMP_LT,
        "SCMP_CMP_LE" | "<=" => ffi::CMP_LE,
        "SCMP_CMP_GT" | ">" => ffi::CMP_GT,
        "SCMP_CMP_GE" | ">=" => ffi::CMP_GE,
        "SCMP_CMP_MASKED_EQ" | "&=" => ffi::CMP_MASKED_EQ,
        other => return Err(format!("unknown op {other}")),
    })
}

/// Read LXC v2 text. `[idx,value,MASKED_EQ,mask]` becomes LXC's
/// `SCMP_CMP(idx, op, mask, value)`: libseccomp takes the mask first.
pub fn read(text: &str, file: &str) -> Result<LxcPolicy, String> {
    let mut lines = text.lines().enumerate();
    let (_, v) = lines.next().ok_or("empty")?;
    if v.trim() != "2" {
        return Err(format!("{file}: not version 2"));
    }
    let (_, header) = lines.next().ok_or("no header")?;
    let words: Vec<&str> = header
        .split('#')
        .next()
        .unwrap_or("")
        .split_whitespace()
        .collect();
    let allowlist = matches!(words.first(), Some(&"allowlist") | Some(&"whitelist"));
    let default = if words.len() > 1 {
        action(&words[1..])?
    } else if allowlist {
        ffi::ACT_KILL_THREAD
    } else {
        ffi::ACT_ALLOW
    };
    let rule_default = if allowlist {
        ffi::ACT_ALLOW
    } else {
        ffi::ACT_KILL_THREAD
    };
    let mut arches: Option<Vec<u32>> = Some(ALL.to_vec());
    let mut rules = Vec::new();
    for (i, raw) in lines {
        let line = raw.split('#').next().unwrap_or("").trim();
        let at = format!("{file}:{}", i + 1);
        if line.is_empty() {
            continue;
        }
        if let Some(s) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            arches = match s.trim().to_ascii_lowercase().as_str() {
                "all" => Some(ALL.to_vec()),
                "x86_64" | "amd64" => Some(vec![ARCH_X86_64]),
                "x86" | "i386" => Some(vec![ARCH_X86]),
                "x32" => Some(vec![ARCH_X32]),
                _ => None,
            };
            continue;
        }
        let Some(arches) = &arches else { continue };
        if line == "reject_force_umount" {
            let force = ArgCmp {
                arg: 1,
                op: ffi::CMP_MASKED_EQ,
                datum_a: 1,
                datum_b: 1,
            };
            rules.push(ScmpRule {
                name: "umount2".into(),
                action: ffi::act_errno(13),
                args: vec![force],
                arches: ALL.to_vec(),
                at,
            });
            continue;
        }
        let (head, rest) = line.split_once('[').map_or((line, ""), |(h, r)| (h, r));
        let words: Vec<&str> = head.split_whitespace().collect();
        let name = words.first().ok_or(format!("{at}: no name"))?.to_string();
        let act = if words.len() > 1 {
            action(&words[1..])?
        } else {
            rule_default
        };
        let mut args = Vec::new();
        for part in rest.split('[') {
            let inner = part.trim().trim_end_matches(']');
            if inner.is_empty() {
                continue;
            }
            let f: Vec<&str> = inner.split(',').map(str::trim).collect();
            let idx: u32 = f[0].parse().map_err(|_| format!("{at}: index"))?;
            let value = number(f[1]).ok_or(format!("{at}: value"))?;
            let o = op(f[2])?;
            let mask = f.get(3).and_then(|m| number(m)).unwrap_or(0);
            args.push(if o == ffi::CMP_MASKED_EQ {
                ArgCmp {
                    arg: idx,
                    op: o,
                    datum_a: mask,
                    datum_b: value,
                }
            } else {
                ArgCmp {
                    arg: idx,
                    op: o,
                    datum_a: value,
                    datum_b: 0,
                }
            });
        }
        rules.push(ScmpRule {
            name,
            action: act,
            args,
            arches: arches.clone(),
            at,
        });
    }
    Ok(LxcPolicy {
        allowlist,
        default,
        rules,
    })
}
