//! A [`Policy`] in the OCI runtime-spec `linux.seccomp` form (for crun, runc and `lxnest generate`).
//!
//! OCI rules cannot be limited to one arch: every rule is listed for all three arches, and the
//! runtime's libseccomp resolves each name where it exists. `reject_force_umount` becomes the
//! first `umount2` entry.

use super::model::{Action, ArgCmp, CmpOp, Policy};
use serde_json::{json, Map, Value};

/// The `linux.seccomp` object.
pub fn render(p: &Policy) -> Value {
    let mut obj = Map::new();
    obj.insert("defaultAction".into(), json!(action_name(p.default_action)));
    if let Some(ret) = action_ret(p.default_action) {
        obj.insert("defaultErrnoRet".into(), json!(ret));
    }
    obj.insert(
        "architectures".into(),
        json!(["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"]),
    );

    let mut syscalls: Vec<Value> = Vec::new();
    if p.reject_force_umount {
        let force = ArgCmp {
            index: 1,
            value: 1,
            op: CmpOp::MaskedEq(1),
        };
        syscalls.push(entry(vec!["umount2".into()], Action::Errno(13), &[force]));
    }
    // Neighbouring rules with the same action and no arguments share one entry.
    let mut pending: Option<(Vec<String>, Action)> = None;
    for rule in &p.rules {
        if rule.args.is_empty() {
            match &mut pending {
                Some((names, action)) if *action == rule.action => names.push(rule.syscall.clone()),
                _ => {
                    if let Some((names, action)) = pending.take() {
                        syscalls.push(entry(names, action, &[]));
                    }
                    pending = Some((vec![rule.syscall.clone()], rule.action));
                }
            }
        } else {
            if let Some((names, action)) = pending.take() {
                syscalls.push(entry(names, action, &[]));
            }
            syscalls.push(entry(vec![rule.syscall.clone()], rule.action, &rule.args));
        }
    }
    if let Some((names, action)) = pending {
        syscalls.push(entry(names, action, &[]));
    }
    obj.insert("syscalls".into(), Value::Array(syscalls));
    Value::Object(obj)
}

fn entry(names: Vec<String>, action: Action, args: &[ArgCmp]) -> Value {
    let mut e = Map::new();
    e.insert("names".into(), json!(names));
    e.insert("action".into(), json!(action_name(action)));
    if let Some(ret) = action_ret(action) {
        e.insert("errnoRet".into(), json!(ret));
    }
    if !args.is_empty() {
        let args: Vec<Value> = args
            .iter()
            .map(|a| match a.op {
                // libseccomp's masked compare takes the mask first: value = mask, valueTwo = datum.
                CmpOp::MaskedEq(mask) => {
                    json!({"index": a.index, "value": mask, "valueTwo": a.value, "op": "SCMP_CMP_MASKED_EQ"})
                }
                op => json!({"index": a.index, "value": a.value, "op": op_name(op)}),
            })
            .collect();
        e.insert("args".into(), Value::Array(args));
    }
    Value::Object(e)
}

/// The `SCMP_ACT_*` name.
pub fn action_name(a: Action) -> &'static str {
    match a {
        Action::Allow => "SCMP_ACT_ALLOW",
        Action::Log => "SCMP_ACT_LOG",
        Action::Trace(_) => "SCMP_ACT_TRACE",
        Action::Notify => "SCMP_ACT_NOTIFY",
        Action::Errno(_) => "SCMP_ACT_ERRNO",
        Action::Trap => "SCMP_ACT_TRAP",
        Action::KillThread => "SCMP_ACT_KILL_THREAD",
        Action::KillProcess => "SCMP_ACT_KILL_PROCESS",
    }
}

/// The number OCI carries in `errnoRet` (runc and crun use it for trace too).
fn action_ret(a: Action) -> Option<u16> {
    match a {
        Action::Errno(e) | Action::Trace(e) => Some(e),
        _ => None,
    }
}

fn op_name(op: CmpOp) -> &'static str {
    match op {
        CmpOp::Eq => "SCMP_CMP_EQ",
        CmpOp::Ne => "SCMP_CMP_NE",
        CmpOp::Lt => "SCMP_CMP_LT",
        CmpOp::Le => "SCMP_CMP_LE",
        CmpOp::Gt => "SCMP_CMP_GT",
        CmpOp::Ge => "SCMP_CMP_GE",
        CmpOp::MaskedEq(_) => "SCMP_CMP_MASKED_EQ",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::seccomp::lxc_text::parse;

    #[test]
    fn renders_runtime_spec_shape() {
        let p = parse(
            "2\ndenylist\nreject_force_umount\nkexec_load errno 1\ninit_module errno 1\nclone errno 1 [0,0x10000000,&=,0x10000000]\nkeyctl errno 38\nptrace kill\n",
            "t",
        )
        .expect("parses");
        let v = render(&p);
        assert_eq!(v["defaultAction"], "SCMP_ACT_ALLOW");
        assert!(v.get("defaultErrnoRet").is_none());
        assert_eq!(v["architectures"][2], "SCMP_ARCH_X32");
        let s = v["syscalls"].as_array().expect("array");
        assert_eq!(s.len(), 5);
        assert_eq!(s[0]["names"], json!(["umount2"]));
        assert_eq!(s[0]["errnoRet"], 13);
        assert_eq!(s[1]["names"], json!(["kexec_load", "init_module"]));
        assert_eq!(
            s[2]["args"][0],
            json!({"index": 0, "value": 0x10000000u64, "valueTwo": 0x10000000u64, "op": "SCMP_CMP_MASKED_EQ"})
        );
        assert_eq!(s[3]["errnoRet"], 38);
        assert_eq!(s[4]["action"], "SCMP_ACT_KILL_PROCESS");
    }

    #[test]
    fn allowlist_default_errno() {
        let p = parse("2\nallowlist errno 1\nread\nwrite\n", "t").expect("parses");
        let v = render(&p);
        assert_eq!(v["defaultAction"], "SCMP_ACT_ERRNO");
        assert_eq!(v["defaultErrnoRet"], 1);
        assert_eq!(v["syscalls"][0]["names"], json!(["read", "write"]));
        assert_eq!(v["syscalls"][0]["action"], "SCMP_ACT_ALLOW");
    }
}
