//! OCI/Docker JSON profiles to libseccomp rules, read the way runc and moby read them on an
//! amd64 host (the test's own reader: nothing of lxnest's parser or tables).

use super::ffi::{self, ArgCmp, ScmpRule, ARCH_X32, ARCH_X86, ARCH_X86_64};
use super::lxc::LxcPolicy;
use serde_json::Value;

fn act(name: &str, ret: Option<u64>) -> u32 {
    let ret = ret.unwrap_or(1) as u32; // runc: EPERM when errnoRet is absent
    match name {
        "SCMP_ACT_ALLOW" => ffi::ACT_ALLOW,
        "SCMP_ACT_ERRNO" => ffi::act_errno(ret),
        "SCMP_ACT_KILL" | "SCMP_ACT_KILL_THREAD" => ffi::ACT_KILL_THREAD,
        "SCMP_ACT_KILL_PROCESS" => ffi::ACT_KILL_PROCESS,
        "SCMP_ACT_TRAP" => ffi::ACT_TRAP,
        "SCMP_ACT_TRACE" => ffi::act_trace(ret),
        "SCMP_ACT_LOG" => ffi::ACT_LOG,
        "SCMP_ACT_NOTIFY" => ffi::ACT_NOTIFY,
        other => panic!("unknown action {other}"),
    }
}

fn list(v: &Value, key: &str) -> Vec<String> {
    v.get(key)
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|s| s.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

/// moby's includes/excludes on amd64 with `caps` (`CAP_*` names) in the bounding set.
fn wanted(e: &Value, caps: &[&str]) -> bool {
    let none = Value::Null;
    let (inc, exc) = (
        e.get("includes").unwrap_or(&none),
        e.get("excludes").unwrap_or(&none),
    );
    let has = |c: &String| caps.iter().any(|k| k == c);
    if list(exc, "arches").iter().any(|a| a == "amd64") || list(exc, "caps").iter().any(has) {
        return false;
    }
    let arches = list(inc, "arches");
    (arches.is_empty() || arches.iter().any(|a| a == "amd64")) && list(inc, "caps").iter().all(has)
}

/// The profile as runc hands it to libseccomp (rules with the default action are left out, as
/// runc does; names libseccomp does not know are skipped by `ffi::compile`).
pub fn read(text: &str, caps: &[&str]) -> LxcPolicy {
    let v: Value = serde_json::from_str(text).expect("JSON");
    let default = act(
        v["defaultAction"].as_str().expect("defaultAction"),
        v.get("defaultErrnoRet").and_then(Value::as_u64),
    );
    let mut rules = Vec::new();
    for (i, e) in v["syscalls"]
        .as_array()
        .expect("syscalls")
        .iter()
        .enumerate()
    {
        if !wanted(e, caps) {
            continue;
        }
        let action = act(
            e["action"].as_str().expect("action"),
            e.get("errnoRet").and_then(Value::as_u64),
        );
        if action == default {
            continue;
        }
        let args: Vec<ArgCmp> = e
            .get("args")
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .map(|c| {
                        let op = match c["op"].as_str().expect("op") {
                            "SCMP_CMP_NE" => ffi::CMP_NE,
                            "SCMP_CMP_LT" => ffi::CMP_LT,
                            "SCMP_CMP_LE" => ffi::CMP_LE,
                            "SCMP_CMP_EQ" => ffi::CMP_EQ,
                            "SCMP_CMP_GE" => ffi::CMP_GE,
                            "SCMP_CMP_GT" => ffi::CMP_GT,
                            _ => ffi::CMP_MASKED_EQ,
                        };
                        ArgCmp {
                            arg: c["index"].as_u64().expect("index") as u32,
                            op,
                            datum_a: c["value"].as_u64().unwrap_or(0),
                            datum_b: c.get("valueTwo").and_then(Value::as_u64).unwrap_or(0),
                        }
                    })
                    .collect()
            })
            .unwrap_or_default();
        for name in list(e, "names") {
            rules.push(ScmpRule {
                name,
                action,
                args: args.clone(),
                arches: vec![ARCH_X86_64, ARCH_X86, ARCH_X32],
                at: format!("syscalls[{i}]"),
            });
        }
    }
    LxcPolicy {
        allowlist: default != ffi::ACT_ALLOW && default != ffi::ACT_LOG,
        default,
        rules,
    }
}
