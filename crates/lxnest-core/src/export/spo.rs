//! Security Profiles Operator objects for one container: a `SeccompProfile`
//! (`security-profiles-operator.x-k8s.io/v1beta1`) holding the container's effective filter in
//! the OCI `linux.seccomp` shape, and, at level 1, an `AppArmorProfile` (`v1alpha1`) holding
//! lxnest's profile text.

use super::{effective, header, object_name, ExportError};
use crate::plan::model::{LevelPlan, Plan};
use crate::seccomp::Policy;
use serde_json::{json, Value};

/// API version of the SeccompProfile documents.
pub const SECCOMP_API: &str = "security-profiles-operator.x-k8s.io/v1beta1";
/// API version of the AppArmorProfile documents.
pub const APPARMOR_API: &str = "security-profiles-operator.x-k8s.io/v1alpha1";

/// The YAML stream for container `c` (`chain`: its ancestors and itself, outermost first).
pub fn render(plan: &Plan, c: &LevelPlan, chain: &[&LevelPlan]) -> Result<String, ExportError> {
    let policies: Vec<&Policy> = chain.iter().map(|l| &*l.seccomp.own).collect();
    let flat = effective::flatten(&policies);
    let name = object_name(plan, c)?;
    let apparmor = apparmor_exported(c);
    let ctx = json!({
        "path": c.path,
        "depth": c.depth,
        "stack": plan.stack,
        "seccomp_name": name,
        "chain": chain.iter().map(|l| l.path.as_str()).collect::<Vec<_>>(),
        "notes": super::note_lines(&flat.notes),
        "apparmor": apparmor.then_some(c.apparmor.profile.as_str()),
        "apparmor_why": apparmor_why(c),
    });
    let mut out = header("spo", &ctx, &c.path)?;
    let seccomp = json!({
        "apiVersion": SECCOMP_API,
        "kind": "SeccompProfile",
        "metadata": {
            "name": name,
            "annotations": annotations(plan, c, chain, &flat.notes),
        },
        "spec": seccomp_spec(&flat.policy),
    });
    out.push_str("---\n");
    out.push_str(&yaml(&seccomp, &c.path, "SeccompProfile")?);
    if apparmor {
        let doc = json!({
            "apiVersion": APPARMOR_API,
            "kind": "AppArmorProfile",
            "metadata": {
                "name": c.apparmor.profile,
                "annotations": annotations(plan, c, chain, &[]),
            },
            "spec": { "policy": c.apparmor.text },
        });
        out.push_str("---\n");
        out.push_str(&yaml(&doc, &c.path, "AppArmorProfile")?);
    }
    Ok(out)
}

/// The OCI `linux.seccomp` object SPO takes as its spec: x86_64 and i386 only (an x32 call
/// then meets the runtime's bad-arch action, a kill), no `defaultErrnoRet` (SPO has none; the
/// runtimes then use EPERM).
pub fn seccomp_spec(p: &Policy) -> Value {
    let mut v = crate::seccomp::oci::render(p);
    if let Some(obj) = v.as_object_mut() {
        obj.insert(
            "architectures".into(),
            json!(["SCMP_ARCH_X86_64", "SCMP_ARCH_X86"]),
        );
        obj.remove("defaultErrnoRet");
    }
    v
}

/// Only level-1 profiles go to the nodes: a deeper container's profile is loaded by its
/// nesting host into that host's policy namespace, and stacks under its parent's by itself.
fn apparmor_exported(c: &LevelPlan) -> bool {
    c.depth == 1 && !c.apparmor.text.is_empty()
}

fn apparmor_why(c: &LevelPlan) -> String {
    if c.apparmor.text.is_empty() {
        "this container has no profile of its own; its ancestors' profiles confine it \
         (docs/apparmor.md)"
            .into()
    } else if c.depth > 1 {
        format!(
            "a level-{} profile is loaded by its nesting host into its own policy namespace \
             (docs/apparmor.md), not by the node",
            c.depth
        )
    } else {
        "this container has no AppArmor profile".into()
    }
}

fn annotations(
    plan: &Plan,
    c: &LevelPlan,
    chain: &[&LevelPlan],
    notes: &[effective::Note],
) -> Value {
    let mut a = serde_json::Map::new();
    a.insert("lxnest.io/stack".into(), json!(plan.stack));
    a.insert("lxnest.io/container".into(), json!(c.path));
    let paths: Vec<&str> = chain.iter().map(|l| l.path.as_str()).collect();
    a.insert("lxnest.io/stacked-filters".into(), json!(paths.join(" ")));
    if !notes.is_empty() {
        let text: Vec<String> = notes
            .iter()
            .map(|n| format!("{}: {}", n.syscall, n.what))
            .collect();
        a.insert(
            "lxnest.io/stricter-than-lxnest".into(),
            json!(text.join("; ")),
        );
    }
    Value::Object(a)
}

fn yaml(v: &Value, container: &str, what: &'static str) -> Result<String, ExportError> {
    serde_yaml_ng::to_string(v).map_err(|source| ExportError::Yaml {
        container: container.to_string(),
        what,
        source,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::export::tests::example_plan;

    #[test]
    fn documents_parse_back_with_the_effective_filter() {
        let plan = example_plan("juju-laptop");
        let c = plan
            .containers
            .iter()
            .find(|c| c.depth == 2)
            .expect("level 2");
        let chain = crate::export::chain(&crate::plan::model::PlanIndex::new(&plan), c);
        let text = render(&plan, c, &chain).expect("renders");
        let docs: Vec<Value> = serde_yaml_ng::Deserializer::from_str(&text)
            .map(|d| serde::Deserialize::deserialize(d).expect("yaml"))
            .collect();
        assert_eq!(docs.len(), 1, "no AppArmorProfile below level 1");
        assert_eq!(docs[0]["kind"], "SeccompProfile");
        assert_eq!(docs[0]["spec"]["architectures"][1], "SCMP_ARCH_X86");
        let parent = c.parent.as_deref().expect("parent");
        let paths = format!("{parent} {}", c.path);
        assert_eq!(
            docs[0]["metadata"]["annotations"]["lxnest.io/stacked-filters"],
            paths
        );
    }
}
