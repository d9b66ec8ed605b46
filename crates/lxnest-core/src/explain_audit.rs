//! `lxnest explain-audit`: from one kernel AppArmor audit record (`apparmor="DENIED" ...`, as
//! `dmesg` or the audit log prints it) to the level, container and profile it came from, the
//! rule (or missing rule) of that profile that decided, and the smallest change to the spec that
//! would allow it: a template flag the planner can switch on, or a rule for the container's
//! `apparmor.rules`. Pure: it reads the plan, never the kernel.

use crate::apparmor::audit::{parse_audit_line, AuditEvent};
use crate::apparmor::matcher::{explain, Access, Decision, Explanation, RuleRef};
use crate::apparmor::{known_flags, names, render, ProfileParams};
use crate::plan::model::{LevelPlan, Plan};

/// Why a record cannot be explained.
#[derive(Debug, thiserror::Error)]
pub enum ExplainAuditError {
    /// The text holds no `apparmor=` record.
    #[error("not an AppArmor audit record: {0}")]
    NotAudit(String),
    /// The record names no profile (a STATUS record, for example).
    #[error("the audit record names no profile")]
    NoProfile,
    /// No container of the plan has the profile.
    #[error("profile {profile} (namespace {namespace}) belongs to no container of stack {stack}")]
    UnknownProfile {
        /// Profile named by the record.
        profile: String,
        /// Namespace named by the record, `root` when absent.
        namespace: String,
        /// The plan's stack name.
        stack: String,
    },
}

/// The smallest change that would allow what the record shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fix {
    /// The rendered profile already allows it (the record came from another profile version).
    AlreadyAllowed,
    /// A template flag whose rules allow it; the planner switches flags on from what the
    /// container hosts (its `runtime`), so this names the flag and why it exists.
    Flag {
        /// Flag name (`mount_proc`).
        name: String,
        /// What the flag is for (policy/apparmor/flags.txt).
        why: String,
    },
    /// A rule to add to the container's `apparmor.rules` in the spec.
    AddRule(String),
    /// A deny rule decides. Deny wins over every allow rule, so no spec rule can allow it.
    DeniedByRule(RuleRef),
    /// The operation is not one the rule matcher replays (signal, ptrace, change_profile ...).
    NotReplayed(String),
}

/// What one audit record means for a plan.
#[derive(Debug, Clone, PartialEq)]
pub struct AuditAnswer {
    /// The record as parsed.
    pub event: AuditEvent,
    /// Path of the container whose profile decided (`juju-host/unit-1`).
    pub container: String,
    /// Its depth (1 = a container of the host).
    pub level: u32,
    /// The deciding profile.
    pub profile: String,
    /// The process, as `comm (pid N)`, when the record says.
    pub process: Option<String>,
    /// The object (path, mount point, label) and access replayed, when replayable.
    pub access: Option<(String, Access)>,
    /// The rule match of that access in the container's rendered profile.
    pub explanation: Option<Explanation>,
    /// The smallest change that would allow it.
    pub fix: Fix,
}

/// Parses `line` and explains it against `plan`.
pub fn explain_line(plan: &Plan, line: &str) -> Result<AuditAnswer, ExplainAuditError> {
    let event = parse_audit_line(line)
        .ok_or_else(|| ExplainAuditError::NotAudit(line.trim().chars().take(120).collect()))?;
    explain_event(plan, event)
}

/// Explains a parsed record against `plan`.
pub fn explain_event(plan: &Plan, event: AuditEvent) -> Result<AuditAnswer, ExplainAuditError> {
    let profile = event.profile.clone().ok_or(ExplainAuditError::NoProfile)?;
    let c = owner(plan, &profile, event.namespace.as_deref()).ok_or_else(|| {
        ExplainAuditError::UnknownProfile {
            profile: profile.clone(),
            namespace: event.namespace.clone().unwrap_or_else(|| "root".into()),
            stack: plan.stack.clone(),
        }
    })?;
    let process = event
        .fields
        .get("pid")
        .map(|pid| match event.fields.get("comm") {
            Some(comm) => format!("{comm} (pid {pid})"),
            None => format!("pid {pid}"),
        });
    let access = replayed_access(&event);
    let explanation = access
        .as_ref()
        .map(|(path, a)| explain(&c.apparmor.text, path, a));
    let fix = match (&access, &explanation) {
        (Some((path, a)), Some(e)) => fix_for(c, path, a, e),
        _ => Fix::NotReplayed(event.operation.clone()),
    };
    Ok(AuditAnswer {
        event,
        container: c.path.clone(),
        level: c.depth,
        profile,
        process,
        access,
        explanation,
        fix,
    })
}

/// The container whose own profile is `profile`. The record's namespace is seen from the
/// reader: `root//NS` or absent from the host, absent from inside a level-1 container.
fn owner<'a>(plan: &'a Plan, profile: &str, namespace: Option<&str>) -> Option<&'a LevelPlan> {
    let ns = namespace
        .map(|n| n.trim_start_matches("root").trim_start_matches("//"))
        .filter(|n| !n.is_empty());
    let mut candidates = plan
        .containers
        .iter()
        .filter(|c| c.apparmor.profile == profile);
    let first = candidates.next()?;
    let mut all = std::iter::once(first).chain(candidates);
    // Plans list parents before children, so the first match owns a shared (level-3) profile.
    match ns {
        Some(ns) => all
            .find(|c| c.apparmor.namespace.as_deref() == Some(ns))
            .or(Some(first)),
        None => Some(first),
    }
}

/// The access to replay: files, mounts, umount and pivot_root through the record's own
/// mapping, capabilities from `capname`.
fn replayed_access(e: &AuditEvent) -> Option<(String, Access)> {
    if e.operation == "capable" {
        let cap = e.fields.get("capname")?;
        return Some((String::new(), Access::Capability(cap.clone())));
    }
    e.access()
}

fn fix_for(c: &LevelPlan, path: &str, access: &Access, e: &Explanation) -> Fix {
    match e.decision {
        Decision::Allowed => Fix::AlreadyAllowed,
        Decision::Denied => match &e.rule {
            Some(r) => Fix::DeniedByRule(r.clone()),
            None => Fix::AddRule(rule_for(path, access, &e.missing)),
        },
        Decision::NotAllowed => flag_that_allows(c, path, access)
            .unwrap_or_else(|| Fix::AddRule(rule_for(path, access, &e.missing))),
    }
}

/// The first template flag (in flags.txt order) that is off for the container and whose rules,
/// rendered with the container's other parameters, allow the access.
fn flag_that_allows(c: &LevelPlan, path: &str, access: &Access) -> Option<Fix> {
    let parts: Vec<&str> = c.path.split('/').collect();
    let n = names(&parts);
    let base = ProfileParams {
        name: c.apparmor.profile.clone(),
        namespace: c.apparmor.namespace.clone(),
        flags: c.apparmor.flags.iter().cloned().collect(),
        extra_rules: c
            .apparmor
            .extra_rules
            .iter()
            .map(|(r, _)| r.clone())
            .collect(),
        child_namespace: n.child_namespace,
        rootfs_dirs: nested_rootfs(&c.apparmor.text),
    };
    known_flags()
        .iter()
        .filter(|(f, _)| !base.flags.contains(*f))
        .find_map(|(flag, why)| {
            let mut p = base.clone();
            p.flags.insert((*flag).to_string());
            let text = render(&p).ok()?;
            (explain(&text, path, access).decision == Decision::Allowed).then(|| Fix::Flag {
                name: (*flag).into(),
                why: (*why).into(),
            })
        })
}

/// The `@{nested_rootfs}` directories of a rendered profile (empty when it has none).
fn nested_rootfs(text: &str) -> Vec<String> {
    text.lines()
        .find_map(|l| l.trim().strip_prefix("@{nested_rootfs}="))
        .map(|v| v.split_whitespace().map(String::from).collect())
        .unwrap_or_default()
}

/// A path as the policy language wants it: quoted when it holds spaces or quotes.
fn quoted(p: &str) -> String {
    if p.contains(|c: char| c.is_whitespace() || c == '"' || c == ',') {
        format!("\"{}\"", p.replace('"', "\\\""))
    } else {
        p.to_string()
    }
}

/// The narrowest AppArmor rule that allows `access` to `path`.
pub fn rule_for(path: &str, access: &Access, missing: &str) -> String {
    match access {
        Access::File(perms) => {
            let perms = if missing.is_empty() {
                perms.as_str()
            } else {
                missing
            };
            format!("{} {perms},", quoted(path))
        }
        Access::Mount {
            fstype,
            options,
            source,
        } => {
            let mut r = String::from("mount");
            if let Some(t) = fstype {
                r.push_str(&format!(" fstype={t}"));
            }
            if !options.is_empty() {
                r.push_str(&format!(" options=({})", options.join(",")));
            }
            if let Some(s) = source {
                r.push_str(&format!(" {}", quoted(s)));
            }
            format!("{r} -> {},", quoted(path))
        }
        Access::Umount => format!("umount {},", quoted(path)),
        Access::PivotRoot => format!("pivot_root {},", quoted(path)),
        Access::Capability(cap) => format!("capability {cap},"),
    }
}

impl AuditAnswer {
    /// The answer as text: one `key: value` line each, then the fix.
    pub fn to_text(&self) -> String {
        let e = &self.event;
        let mut out = format!(
            "record:    apparmor=\"{}\" operation=\"{}\"\n",
            e.verdict, e.operation
        );
        out.push_str(&format!("level:     {}\n", self.level));
        out.push_str(&format!("container: {}\n", self.container));
        let ns = e
            .namespace
            .as_deref()
            .map(|n| format!(" (namespace {n})"))
            .unwrap_or_default();
        out.push_str(&format!("profile:   {}{ns}\n", self.profile));
        if let Some(p) = &self.process {
            out.push_str(&format!("process:   {p}\n"));
        }
        if let Some((path, a)) = &self.access {
            let what = match a {
                Access::File(perms) => format!("file {perms} {path}"),
                Access::Mount { .. } => format!(
                    "mount {}",
                    rule_for(path, a, "")
                        .trim_start_matches("mount ")
                        .trim_end_matches(',')
                ),
                Access::Umount => format!("umount {path}"),
                Access::PivotRoot => format!("pivot_root {path}"),
                Access::Capability(c) => format!("capability {c}"),
            };
            out.push_str(&format!("access:    {what}\n"));
        }
        if let Some(x) = &self.explanation {
            let rule = match (&x.decision, &x.rule) {
                (Decision::Denied, Some(r)) => {
                    format!("denied by line {}: {}", r.line, r.text.trim())
                }
                (Decision::Allowed, Some(r)) => {
                    format!("allowed by line {}: {}", r.line, r.text.trim())
                }
                (_, _) if x.missing.is_empty() || x.missing == "*" => {
                    "no rule allows it (missing rule)".to_string()
                }
                (_, _) => format!("no rule allows `{}` (missing rule)", x.missing),
            };
            out.push_str(&format!("rule:      {rule}\n"));
        }
        let fix = match &self.fix {
            Fix::AlreadyAllowed => "none: the planned profile allows this; the record comes from another profile version (regenerate and reload)".into(),
            Fix::Flag { name, why } => format!("switch on flag `{name}` ({why}); the planner sets it when the container's runtime needs it"),
            Fix::AddRule(r) => format!("add to {}'s `apparmor.rules` in the spec: `{r}`", self.container),
            Fix::DeniedByRule(r) => format!("none from the spec: deny rule (line {}) `{}` wins over any allow rule; this is refused on purpose", r.line, r.text.trim()),
            Fix::NotReplayed(op) => match (e.fields.get("peer"), e.denied_mask.as_deref()) {
                (Some(peer), Some(mask)) if op == "signal" || op == "ptrace" => format!(
                    "operation `{op}` is not replayed against the profile; a rule of the form \
                     `{op} ({mask}) peer=\"{peer}\",` in {}'s `apparmor.rules` allows it (the peer \
                     as the kernel printed it; stacked peers may need a glob such as `NAME//&**`)",
                    self.container
                ),
                _ => format!("operation `{op}` is not replayed against the profile; see its signal, ptrace and change_profile rules"),
            },
        };
        out.push_str(&format!("fix:       {fix}\n"));
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::host::HostSnapshot;

    fn juju() -> Plan {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../nesting/examples/juju-laptop.yaml");
        let stack = crate::spec::load(&path).expect("example loads");
        crate::plan::plan(&stack, &HostSnapshot::laptop()).expect("example plans")
    }

    // Records in the kernel's own format (dmesg of the guest stage: 6.1, audit via printk).
    const SYSRQ: &str = r#"[   41.774049] audit: type=1400 audit(1764390000.123:42): apparmor="DENIED" operation="open" class="file" namespace="root//lxnest-juju-host" profile="lxnest-juju-host.unit-1" name="/proc/sysrq-trigger" pid=612 comm="lxnest" requested_mask="w" denied_mask="w" fsuid=100000 ouid=0"#;
    const MOUNT_PROC: &str = r#"[   38.101337] audit: type=1400 audit(1764390000.456:31): apparmor="DENIED" operation="mount" class="mount" info="failed mntpnt match" error=-13 profile="lxnest-juju-host" name="/tmp/p/" pid=401 comm="mount" fstype="proc" srcname="proc" flags="rw, nosuid, nodev, noexec""#;
    const PIVOT: &str = r#"[   52.000001] audit: type=1400 audit(1764390001.000:77): apparmor="DENIED" operation="pivotroot" class="mount" profile="lxnest-juju-host" name="/run/lxnest/unit-1/rootfs/" pid=530 comm="lxnest" srcname="/run/lxnest/unit-1/rootfs/.old/""#;
    const CAP: &str = r#"audit: type=1400 audit(1764390002.5:80): apparmor="DENIED" operation="capable" class="cap" namespace="root//lxnest-juju-host" profile="lxnest-juju-host.unit-2" pid=700 comm="sh" capability=33 capname="mac_admin""#;
    const SIGNAL: &str = r#"audit: type=1400 audit(1764390003.1:90): apparmor="DENIED" operation="signal" class="signal" profile="lxnest-juju-host" pid=321 comm="lxnest" requested_mask="send" denied_mask="send" signal=kill peer="unconfined""#;

    #[test]
    fn sysrq_write_at_level_2_is_a_deny_rule_of_the_unit() {
        let a = explain_line(&juju(), SYSRQ).unwrap();
        assert_eq!(
            (a.container.as_str(), a.level, a.profile.as_str()),
            ("juju-host/unit-1", 2, "lxnest-juju-host.unit-1")
        );
        assert_eq!(a.process.as_deref(), Some("lxnest (pid 612)"));
        match &a.fix {
            Fix::DeniedByRule(r) => assert!(r.text.contains("sysrq-trigger"), "{r:?}"),
            other => panic!("{other:?}"),
        }
        let text = a.to_text();
        assert!(text.contains("container: juju-host/unit-1"), "{text}");
        assert!(text.contains("namespace root//lxnest-juju-host"), "{text}");
    }

    #[test]
    fn mount_outside_the_children_rootfs_needs_a_spec_rule() {
        let a = explain_line(&juju(), MOUNT_PROC).unwrap();
        assert_eq!((a.container.as_str(), a.level), ("juju-host", 1));
        assert_eq!(
            a.explanation.as_ref().unwrap().decision,
            Decision::NotAllowed
        );
        assert_eq!(
            a.fix,
            Fix::AddRule(
                "mount fstype=proc options=(rw,nosuid,nodev,noexec) proc -> /tmp/p/,".into()
            )
        );
    }

    #[test]
    fn pivot_root_into_a_child_rootfs_is_allowed_by_the_plan() {
        // The guest stage's self-test removes this rule; the planned profile has it.
        let a = explain_line(&juju(), PIVOT).unwrap();
        assert_eq!(a.fix, Fix::AlreadyAllowed);
        assert!(a
            .explanation
            .unwrap()
            .rule
            .unwrap()
            .text
            .contains("pivot_root"));
    }

    #[test]
    fn a_level_2_mount_is_fixed_by_a_flag() {
        let line = r#"audit: type=1400 audit(1764390000.9:33): apparmor="DENIED" operation="mount" class="mount" info="failed type match" error=-13 namespace="root//lxnest-juju-host" profile="lxnest-juju-host.unit-3" name="/dev/mqueue/" pid=455 comm="mount" fstype="mqueue" srcname="mqueue" flags="rw, nosuid, nodev, noexec""#;
        let a = explain_line(&juju(), line).unwrap();
        assert_eq!((a.container.as_str(), a.level), ("juju-host/unit-3", 2));
        match a.fix {
            Fix::Flag { name, .. } => assert_eq!(name, "mount_mqueue"),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_leaf_gets_no_children_rootfs_from_a_flag() {
        // Flags add rules for children's root filesystems only where the container hosts a
        // runtime; a leaf needs an explicit rule.
        let line = MOUNT_PROC
            .replace(
                r#"profile="lxnest-juju-host""#,
                r#"namespace="root//lxnest-juju-host" profile="lxnest-juju-host.unit-3""#,
            )
            .replace("/tmp/p/", "/run/lxnest/x/rootfs/proc/");
        let a = explain_line(&juju(), &line).unwrap();
        assert_eq!(a.fix, Fix::AddRule("mount fstype=proc options=(rw,nosuid,nodev,noexec) proc -> /run/lxnest/x/rootfs/proc/,".into()));
    }

    #[test]
    fn denied_capability_names_the_deny_rule() {
        let a = explain_line(&juju(), CAP).unwrap();
        assert_eq!(a.container, "juju-host/unit-2");
        match a.fix {
            Fix::DeniedByRule(r) => assert_eq!(
                r.text.trim().trim_end_matches(','),
                "deny capability mac_admin"
            ),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn signals_are_named_but_not_replayed() {
        let a = explain_line(&juju(), SIGNAL).unwrap();
        assert_eq!(a.container, "juju-host");
        assert_eq!(a.fix, Fix::NotReplayed("signal".into()));
    }

    #[test]
    fn foreign_profiles_and_other_lines_are_errors() {
        let p = juju();
        let other = SYSRQ.replace("lxnest-juju-host.unit-1", "docker-default");
        assert!(matches!(
            explain_line(&p, &other),
            Err(ExplainAuditError::UnknownProfile { .. })
        ));
        assert!(matches!(
            explain_line(&p, "eth0: link up"),
            Err(ExplainAuditError::NotAudit(_))
        ));
    }

    #[test]
    fn rules_quote_paths_with_spaces() {
        assert_eq!(
            rule_for("/srv/a b", &Access::File("w".into()), ""),
            "\"/srv/a b\" w,"
        );
        assert_eq!(rule_for("/x", &Access::File("rw".into()), "w"), "/x w,");
    }
}
