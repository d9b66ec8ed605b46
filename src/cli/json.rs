//! The one place `--output json` documents are printed: every document is a JSON object whose
//! first key is `"schema": "lxnest/v1"` (docs/json.md lists each command's fields). Commands
//! whose answer is a list put it under a named key. Plans read back (`start plan.json`,
//! `attach`, `explain-audit`) are checked against the same version.

use anyhow::Context;
use serde::ser::{Serialize, SerializeMap, Serializer};
use std::path::Path;

/// The version of every JSON document lxnest prints. A change that removes or retypes a field
/// makes it `lxnest/v2`; added fields keep v1 (readers ignore keys they do not know).
pub const SCHEMA: &str = "lxnest/v1";

/// `{"schema": ..., <the fields of body>}`: `body` must serialize as a JSON object.
#[derive(serde::Serialize)]
struct Versioned<'a, T: Serialize> {
    schema: &'static str,
    #[serde(flatten)]
    body: &'a T,
}

/// `{"schema": ..., "<key>": [items]}`.
struct Listed<'a, T: Serialize> {
    key: &'a str,
    items: &'a [T],
}

impl<T: Serialize> Serialize for Listed<'_, T> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(Some(2))?;
        map.serialize_entry("schema", SCHEMA)?;
        map.serialize_entry(self.key, self.items)?;
        map.end()
    }
}

/// The document for an object answer (a plan, a container's state, an explanation).
pub fn object<T: Serialize>(body: &T) -> anyhow::Result<String> {
    let doc = Versioned {
        schema: SCHEMA,
        body,
    };
    Ok(serde_json::to_string_pretty(&doc)?)
}

/// The document for a list answer (`ls`, `diff`, `config show`), the list under `key`.
pub fn list<T: Serialize>(key: &str, items: &[T]) -> anyhow::Result<String> {
    Ok(serde_json::to_string_pretty(&Listed { key, items })?)
}

/// Prints [`object`].
pub fn print_object<T: Serialize>(body: &T) -> anyhow::Result<()> {
    println!("{}", object(body)?);
    Ok(())
}

/// Prints [`list`].
pub fn print_list<T: Serialize>(key: &str, items: &[T]) -> anyhow::Result<()> {
    println!("{}", list(key, items)?);
    Ok(())
}

/// Only the version key of a document.
#[derive(serde::Deserialize)]
struct SchemaOnly {
    schema: Option<String>,
}

/// A plan written by `lxnest plan --output json` (or `generate`'s plan.json, which carries no
/// version): refused with the file's name when it says another schema version.
pub fn read_plan(text: &str, path: &Path) -> anyhow::Result<lxnest::plan::model::Plan> {
    let head: SchemaOnly =
        serde_json::from_str(text).with_context(|| format!("parse plan {}", path.display()))?;
    if let Some(v) = head.schema.filter(|v| v != SCHEMA) {
        anyhow::bail!(
            "{}: a plan of schema `{v}`, but this lxnest reads `{SCHEMA}`: write it again with this \
             lxnest's `lxnest plan --output json`",
            path.display()
        );
    }
    serde_json::from_str(text).with_context(|| format!("parse plan {}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(serde::Serialize)]
    struct Body {
        name: &'static str,
        pid: u32,
    }

    #[test]
    fn object_has_schema_first_and_keeps_field_order() {
        let text = object(&Body { name: "a", pid: 7 }).unwrap();
        let keys: Vec<&str> = text
            .lines()
            .filter_map(|l| l.trim().strip_prefix('"')?.split('"').next())
            .collect();
        assert_eq!(keys, ["schema", "name", "pid"], "{text}");
        let v: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(v["schema"], SCHEMA);
        assert_eq!(v["pid"], 7);
    }

    #[test]
    fn list_puts_items_under_their_key() {
        let v: serde_json::Value =
            serde_json::from_str(&list("containers", &[1, 2]).unwrap()).unwrap();
        assert_eq!(
            v,
            serde_json::json!({"schema": SCHEMA, "containers": [1, 2]})
        );
    }

    #[test]
    fn plan_of_another_schema_is_refused_with_the_file() {
        let err = read_plan(
            r#"{"schema": "lxnest/v9", "containers": []}"#,
            Path::new("p.json"),
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("p.json") && err.contains("lxnest/v9"), "{err}");
    }
}
