//! Fleet export (`lxnest generate --format spo|incus`): one lxnest spec's policies in the forms
//! other managers distribute. Pure: a plan in, files (as [`Artifact`]s) out.
//!
//! - [`spo`]: per container a Kubernetes Security Profiles Operator `SeccompProfile` (the
//!   container's EFFECTIVE seccomp policy, every ancestor's filter AND its own) and, for level-1
//!   containers, an `AppArmorProfile` with lxnest's profile text.
//! - [`incus`]: per container an Incus/LXD profile (`raw.seccomp`, `raw.apparmor`, `raw.lxc`,
//!   `security.*`, `limits.*`, devices), for `incus profile create NAME < FILE`.
//!
//! What cannot be said exactly in a target format is said stricter, and the file says where
//! ([`effective::Note`]). docs/export.md is the user's side of this.

pub mod effective;
pub mod incus;
pub mod spo;

use crate::artifacts::Artifact;
use crate::plan::model::{LevelPlan, Plan, PlanIndex};
use handlebars::Handlebars;
use std::sync::OnceLock;
use thiserror::Error;

/// Which files `lxnest generate` writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// lxnest's own artifacts (profiles, filters, LXC fragments, plan.json).
    Lxnest,
    /// Security Profiles Operator objects, `CONTAINER/spo.yaml`.
    Spo,
    /// Incus/LXD profiles, `CONTAINER/incus-profile.yaml`.
    Incus,
}

/// Exporting a plan failed.
#[derive(Debug, Error)]
pub enum ExportError {
    /// A generated object name is longer than Kubernetes or Incus accept.
    #[error(
        "container {container}: the exported name `{name}` is longer than {max} characters; \
         give the stack or the container a shorter name in the spec"
    )]
    NameTooLong {
        /// Container path.
        container: String,
        /// The name.
        name: String,
        /// The limit.
        max: usize,
    },
    /// A header template did not render (a bug in policy/export/).
    #[error("container {container}: policy/export/{template}.yaml.hbs: {why}")]
    Template {
        /// Container path.
        container: String,
        /// Template name.
        template: &'static str,
        /// Renderer error.
        why: String,
    },
    /// Serialising a document failed.
    #[error("container {container}: writing its {what}: {source}")]
    Yaml {
        /// Container path.
        container: String,
        /// Which document.
        what: &'static str,
        /// Serialiser error.
        source: serde_yaml_ng::Error,
    },
}

/// Kubernetes object names (DNS subdomains) are at most this long.
pub const NAME_MAX: usize = 253;

/// The files of `format` for every container of `plan` (`Format::Lxnest` gives none: those are
/// [`crate::artifacts::render_all`]'s).
pub fn render(plan: &Plan, format: Format) -> Result<Vec<Artifact>, ExportError> {
    let index = PlanIndex::new(plan);
    let mut out = Vec::new();
    for c in &plan.containers {
        let chain = chain(&index, c);
        let (file, bytes) = match format {
            Format::Lxnest => return Ok(Vec::new()),
            Format::Spo => ("spo.yaml", spo::render(plan, c, &chain)?),
            Format::Incus => ("incus-profile.yaml", incus::render(plan, c, &chain)?),
        };
        out.push(Artifact {
            file: format!("{}/{file}", c.path),
            bytes: bytes.into_bytes(),
        });
    }
    Ok(out)
}

/// The container and its ancestors, outermost first (the container last).
fn chain<'a>(index: &PlanIndex<'a>, c: &'a LevelPlan) -> Vec<&'a LevelPlan> {
    let mut chain = index.ancestors(&c.path);
    chain.push(c);
    chain
}

/// The name a container's exported objects carry: `lxnest-STACK-PATH` with `/` as `.`
/// (container names hold no `.`, so distinct paths stay distinct), lower-cased, anything
/// Kubernetes refuses as `-`.
pub fn object_name(plan: &Plan, c: &LevelPlan) -> Result<String, ExportError> {
    let stack: String = plan
        .stack
        .chars()
        .map(|ch| match ch.to_ascii_lowercase() {
            l @ ('a'..='z' | '0'..='9' | '-') => l,
            _ => '-',
        })
        .collect();
    let name = format!(
        "lxnest-{}-{}",
        stack.trim_matches('-'),
        c.path.replace('/', ".")
    );
    if name.len() > NAME_MAX {
        return Err(ExportError::NameTooLong {
            container: c.path.clone(),
            name,
            max: NAME_MAX,
        });
    }
    Ok(name)
}

const SPO_HEADER: &str = include_str!("../../../../policy/export/spo.yaml.hbs");
const INCUS_HEADER: &str = include_str!("../../../../policy/export/incus.yaml.hbs");

fn registry() -> &'static Result<Handlebars<'static>, String> {
    static REG: OnceLock<Result<Handlebars<'static>, String>> = OnceLock::new();
    REG.get_or_init(|| {
        let mut h = Handlebars::new();
        // Strict: a value the template names but the context lacks is an error.
        h.set_strict_mode(true);
        // YAML comments, not HTML; the values are lxnest's own names and sentences.
        h.register_escape_fn(handlebars::no_escape);
        h.register_template_string("spo", SPO_HEADER)
            .map_err(|e| e.to_string())?;
        h.register_template_string("incus", INCUS_HEADER)
            .map_err(|e| e.to_string())?;
        Ok(h)
    })
}

/// The comment block that opens a file (`template`: `spo` or `incus`).
fn header(
    template: &'static str,
    ctx: &serde_json::Value,
    container: &str,
) -> Result<String, ExportError> {
    let err = |why: String| ExportError::Template {
        container: container.to_string(),
        template,
        why,
    };
    let reg = registry().as_ref().map_err(|e| err(e.clone()))?;
    reg.render(template, ctx).map_err(|e| err(e.to_string()))
}

/// The notes of a flattened filter as comment lines (`#   ...`), without a final newline.
fn note_lines(notes: &[effective::Note]) -> String {
    notes
        .iter()
        .map(|n| format!("#   {}: {}", n.syscall, n.what))
        .collect::<Vec<_>>()
        .join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::host::HostSnapshot;

    pub(crate) fn example_plan(name: &str) -> Plan {
        let path = format!("{}{name}", crate::spec::load::BUILTIN_PREFIX);
        let stack = crate::spec::load::load(std::path::Path::new(&path)).expect("example parses");
        crate::plan::plan(&stack, &HostSnapshot::laptop()).expect("example plans")
    }

    #[test]
    fn names_are_distinct_and_kubernetes_shaped() {
        let plan = example_plan("juju-laptop");
        let names: Vec<String> = plan
            .containers
            .iter()
            .map(|c| object_name(&plan, c).expect("short enough"))
            .collect();
        let mut unique = names.clone();
        unique.sort();
        unique.dedup();
        assert_eq!(unique.len(), names.len());
        for n in &names {
            assert!(n
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'.'));
        }
    }

    #[test]
    fn a_long_name_is_refused_with_the_fix() {
        let mut plan = example_plan("juju-laptop");
        plan.stack = "s".repeat(300);
        let err = object_name(&plan, &plan.containers[0]).expect_err("too long");
        assert!(err.to_string().contains("shorter name"), "{err}");
    }

    #[test]
    fn every_container_gets_one_file() {
        let plan = example_plan("juju-laptop");
        for f in [Format::Spo, Format::Incus] {
            let files = render(&plan, f).expect("renders");
            assert_eq!(files.len(), plan.containers.len());
        }
        assert!(render(&plan, Format::Lxnest).expect("renders").is_empty());
    }
}
