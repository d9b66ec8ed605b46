//! `diff`: what differs between two plans (matched by container path) or two containers of one
//! plan. Fields are compared as flattened JSON paths; seccomp rules and profile lines as sets, so a
//! reordering is not reported as a change.

use crate::explain::rule_text;
use crate::plan::model::{LevelPlan, Plan};
use serde::Serialize;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};

/// One difference.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Change {
    /// Container path (`a -> b` when comparing two containers).
    pub container: String,
    /// Field path (`cgroup.limits.memory`, `seccomp rule`, `apparmor line`).
    pub field: String,
    /// Value before, `None` when added.
    pub before: Option<String>,
    /// Value after, `None` when removed.
    pub after: Option<String>,
}

/// Differences between two plans; containers only in one of them are reported whole.
pub fn plans(a: &Plan, b: &Plan) -> Vec<Change> {
    let paths: BTreeSet<&str> = a
        .containers
        .iter()
        .chain(&b.containers)
        .map(|c| c.path.as_str())
        .collect();
    let mut out = Vec::new();
    for p in paths {
        match (a.get(p), b.get(p)) {
            (Some(x), Some(y)) => out.extend(levels(p.to_string(), x, y)),
            (Some(_), None) => out.push(whole(p, true)),
            (None, Some(_)) => out.push(whole(p, false)),
            (None, None) => {}
        }
    }
    out
}

fn whole(p: &str, removed: bool) -> Change {
    let v = Some("container".to_string());
    Change {
        container: p.into(),
        field: "(container)".into(),
        before: if removed { v.clone() } else { None },
        after: if removed { None } else { v },
    }
}

/// Differences between two containers (of the same plan or of two plans).
pub fn levels(label: String, x: &LevelPlan, y: &LevelPlan) -> Vec<Change> {
    let (fx, fy) = (flatten_level(x), flatten_level(y));
    let keys: BTreeSet<&String> = fx.keys().chain(fy.keys()).collect();
    let mut out = Vec::new();
    for k in keys {
        let (before, after) = (fx.get(k), fy.get(k));
        if before != after {
            out.push(Change {
                container: label.clone(),
                field: k.clone(),
                before: before.cloned(),
                after: after.cloned(),
            });
        }
    }
    sets(&label, "seccomp rule", rules(x), rules(y), &mut out);
    sets(
        &label,
        "apparmor line",
        lines(&x.apparmor.text),
        lines(&y.apparmor.text),
        &mut out,
    );
    out
}

fn rules(l: &LevelPlan) -> BTreeSet<String> {
    l.seccomp.own.rules.iter().map(rule_text).collect()
}

fn lines(text: &str) -> BTreeSet<String> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(String::from)
        .collect()
}

fn sets(label: &str, field: &str, a: BTreeSet<String>, b: BTreeSet<String>, out: &mut Vec<Change>) {
    for gone in a.difference(&b) {
        out.push(Change {
            container: label.into(),
            field: field.into(),
            before: Some(gone.clone()),
            after: None,
        });
    }
    for new in b.difference(&a) {
        out.push(Change {
            container: label.into(),
            field: field.into(),
            before: None,
            after: Some(new.clone()),
        });
    }
}

/// Every scalar of a level as `dotted.path -> value`, without the parts compared as sets and
/// without names that always differ between two containers.
fn flatten_level(l: &LevelPlan) -> BTreeMap<String, String> {
    let mut v = serde_json::to_value(l).unwrap_or(Value::Null);
    if let Some(obj) = v.as_object_mut() {
        for k in ["name", "path", "origin"] {
            obj.remove(k);
        }
        if let Some(s) = obj.get_mut("seccomp").and_then(Value::as_object_mut) {
            if let Some(own) = s.get_mut("own").and_then(Value::as_object_mut) {
                own.remove("rules");
            }
        }
        if let Some(a) = obj.get_mut("apparmor").and_then(Value::as_object_mut) {
            a.remove("text");
        }
    }
    let mut out = BTreeMap::new();
    flatten("", &v, &mut out);
    out
}

fn flatten(prefix: &str, v: &Value, out: &mut BTreeMap<String, String>) {
    let key = |k: &str| {
        if prefix.is_empty() {
            k.to_string()
        } else {
            format!("{prefix}.{k}")
        }
    };
    match v {
        Value::Object(m) => m.iter().for_each(|(k, v)| flatten(&key(k), v, out)),
        Value::Array(a) if a.iter().all(|x| !x.is_object() && !x.is_array()) => {
            out.insert(
                prefix.into(),
                a.iter().map(scalar).collect::<Vec<_>>().join(", "),
            );
        }
        Value::Array(a) => a
            .iter()
            .enumerate()
            .for_each(|(i, v)| flatten(&key(&i.to_string()), v, out)),
        other => {
            out.insert(prefix.into(), scalar(other));
        }
    }
}

fn scalar(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}
