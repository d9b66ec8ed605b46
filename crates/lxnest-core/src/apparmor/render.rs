//! Rendering a container profile from `policy/apparmor/container.aa.hbs`.
//!
//! One readable template driven by named flags (`policy/apparmor/flags.txt`): the planner decides
//! which flags a container gets, this module only checks the inputs and fills the template. Pure:
//! the template is embedded, nothing is read from disk.

use super::error::AppArmorError;
use handlebars::Handlebars;
use serde_json::json;
use std::sync::LazyLock;

const TEMPLATE_NAME: &str = "container.aa";
const TEMPLATE: &str = include_str!("../../../../policy/apparmor/container.aa.hbs");
const FLAGS: &str = include_str!("../../../../policy/apparmor/flags.txt");
const NESTED_ROOTFS: &str = include_str!("../../../../policy/apparmor/nested-rootfs.txt");

pub use super::params::ProfileParams;

static KNOWN_FLAGS: LazyLock<Vec<(&'static str, &'static str)>> = LazyLock::new(|| {
    FLAGS
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .filter_map(|l| l.split_once(':'))
        .map(|(name, why)| (name.trim(), why.trim()))
        .collect()
});

/// `(runtime, glob)` pairs of `policy/apparmor/nested-rootfs.txt`.
static RUNTIME_ROOTFS: LazyLock<Vec<(&'static str, &'static str)>> = LazyLock::new(|| {
    NESTED_ROOTFS
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .filter_map(|l| l.split_once(':'))
        .map(|(rt, glob)| (rt.trim(), glob.trim()))
        .collect()
});

static DEFAULT_ROOTFS: LazyLock<Vec<&'static str>> = LazyLock::new(|| {
    let mut all: Vec<&'static str> = Vec::new();
    for (_, glob) in RUNTIME_ROOTFS.iter() {
        if !all.contains(glob) {
            all.push(glob);
        }
    }
    all
});

static REGISTRY: LazyLock<Result<Handlebars<'static>, String>> = LazyLock::new(|| {
    let mut hb = Handlebars::new();
    // Strict: a flag the template names but the context lacks is an error, not an empty string.
    hb.set_strict_mode(true);
    // Profiles are not HTML; inputs are validated instead of escaped.
    hb.register_escape_fn(handlebars::no_escape);
    hb.register_template_string(TEMPLATE_NAME, TEMPLATE)
        .map_err(|e| e.to_string())?;
    Ok(hb)
});

/// Every template flag with a one-line reason, in the order of `policy/apparmor/flags.txt`.
pub fn known_flags() -> &'static [(&'static str, &'static str)] {
    KNOWN_FLAGS.as_slice()
}

/// Every nested root filesystem directory of `policy/apparmor/nested-rootfs.txt`, for a
/// container whose runtime is not known in advance.
pub fn default_rootfs_dirs() -> &'static [&'static str] {
    DEFAULT_ROOTFS.as_slice()
}

/// The nested root filesystem directories of one runtime kind (`lxc`, `lxd`, `docker`,
/// `lxnest`); empty for a kind the file does not know.
pub fn runtime_rootfs_dirs(runtime: &str) -> Vec<String> {
    RUNTIME_ROOTFS
        .iter()
        .filter(|(rt, _)| *rt == runtime)
        .map(|(_, g)| (*g).to_string())
        .collect()
}

/// Renders the profile text for `p`.
pub fn render(p: &ProfileParams) -> Result<String, AppArmorError> {
    check_name("profile name", &p.name)?;
    if let Some(ns) = &p.namespace {
        check_name("namespace", ns)?;
    }
    if let Some(ns) = &p.child_namespace {
        check_name("child namespace", ns)?;
    }
    let known = known_flags();
    for flag in &p.flags {
        if !known.iter().any(|(k, _)| k == flag) {
            return Err(AppArmorError::UnknownFlag {
                profile: p.name.clone(),
                flag: flag.clone(),
                known: known.iter().map(|(k, _)| *k).collect::<Vec<_>>().join(", "),
            });
        }
    }
    let mut rootfs: Vec<&str> = Vec::new();
    for dir in &p.rootfs_dirs {
        if !rootfs.contains(&dir.as_str()) {
            rootfs.push(dir);
        }
    }
    for dir in &rootfs {
        check_dir(dir)?;
    }
    for rule in &p.extra_rules {
        check_rule(&p.name, rule)?;
    }
    super::shape::cached(p, |q| fill(q, &rootfs))
}

/// Fills the template for `p` (checked by [`render`]; `rootfs` is its deduplicated dirs).
pub(super) fn fill(p: &ProfileParams, rootfs: &[&str]) -> Result<String, AppArmorError> {
    let flags: serde_json::Map<String, serde_json::Value> = known_flags()
        .iter()
        .map(|(k, _)| ((*k).to_string(), json!(p.flags.contains(*k))))
        .collect();
    let ctx = json!({
        "name": p.name,
        "namespace": p.namespace,
        "child_namespace": p.child_namespace,
        "flags": flags,
        "children": !rootfs.is_empty(),
        "rootfs_dirs": rootfs,
        "extra_rules": p.extra_rules.iter().map(|r| r.trim()).collect::<Vec<_>>(),
    });
    let hb = REGISTRY.as_ref().map_err(|m| AppArmorError::Template {
        template: TEMPLATE_NAME,
        message: m.clone(),
    })?;
    hb.render(TEMPLATE_NAME, &ctx)
        .map_err(|e| AppArmorError::Template {
            template: TEMPLATE_NAME,
            message: e.to_string(),
        })
}

/// Profile and namespace names: `[A-Za-z0-9]` first, then `[A-Za-z0-9._-]`, at most 255 bytes.
fn check_name(what: &'static str, value: &str) -> Result<(), AppArmorError> {
    let bad = |reason| {
        Err(AppArmorError::InvalidName {
            what,
            value: value.to_string(),
            reason,
        })
    };
    if value.is_empty() || value.len() > 255 {
        return bad("must be 1 to 255 bytes");
    }
    if !value.starts_with(|c: char| c.is_ascii_alphanumeric()) {
        return bad("must start with a letter or digit");
    }
    if !value
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
    {
        return bad("only letters, digits, '.', '_' and '-' are allowed");
    }
    Ok(())
}

/// Nested rootfs directories: absolute AppArmor globs without syntax that could end the variable.
fn check_dir(dir: &str) -> Result<(), AppArmorError> {
    let bad = |reason| {
        Err(AppArmorError::InvalidName {
            what: "rootfs directory",
            value: dir.to_string(),
            reason,
        })
    };
    if !dir.starts_with('/') || dir.ends_with('/') || dir.contains("//") {
        return bad("must be absolute, without a trailing or doubled '/'");
    }
    if !dir.chars().all(|c| {
        c.is_ascii_alphanumeric()
            || matches!(c, '/' | '.' | '_' | '-' | '*' | '?' | '{' | '}' | ',')
    }) {
        return bad(
            "only letters, digits, '/', '.', '_', '-' and the globs '*', '?', '{a,b}' are allowed",
        );
    }
    let depth = dir.chars().try_fold(0i32, |d, c| {
        let d = d + i32::from(c == '{') - i32::from(c == '}');
        (d >= 0).then_some(d)
    });
    if depth != Some(0) {
        return bad("unbalanced braces");
    }
    Ok(())
}

/// Extra rules are pasted inside the profile block: one rule, one line, that cannot close the
/// block, open another one, or comment out what follows.
fn check_rule(profile: &str, rule: &str) -> Result<(), AppArmorError> {
    rule_problem(rule).map_or(Ok(()), |reason| {
        Err(AppArmorError::InvalidRule {
            profile: profile.to_string(),
            rule: rule.to_string(),
            reason,
        })
    })
}

/// Why an extra rule cannot be pasted into a profile, if it cannot (the spec loader asks too, so
/// the refusal names the spec's line).
pub fn rule_problem(rule: &str) -> Option<&'static str> {
    let bad = Some;
    let r = rule.trim();
    if r.contains(['\n', '\r', '\0', '#']) {
        return bad("must be a single line without '#'");
    }
    // An unpaired quote would run on past the end of the line and swallow what follows.
    if !r.matches('"').count().is_multiple_of(2) {
        return bad("has an unpaired '\"'");
    }
    if !r.ends_with(',') {
        return bad("must end with ','");
    }
    let mut depth = 0i32;
    for c in r.chars() {
        match c {
            '{' | '(' => depth += 1,
            '}' | ')' => depth -= 1,
            _ => {}
        }
        if depth < 0 {
            return bad("unbalanced braces");
        }
    }
    if depth != 0 {
        return bad("unbalanced braces");
    }
    let first = r.split_whitespace().next().unwrap_or_default();
    if matches!(first, "profile" | "hat" | "include" | "abi")
        || first.starts_with('^')
        || first.starts_with('@')
    {
        return bad("profiles, hats, includes and variables cannot be added as rules");
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all_flags() -> Vec<&'static str> {
        known_flags().iter().map(|(k, _)| *k).collect()
    }

    #[test]
    fn flag_list_and_template_agree() {
        let flags = all_flags();
        for must in [
            "mount_proc",
            "mount_sysfs",
            "mount_cgroup",
            "mount_tmpfs",
            "mount_devpts",
            "mount_mqueue",
            "mount_overlay",
            "mount_fuse",
            "mount_bind",
            "pivot_root",
            "change_profile",
            "ptrace_children",
            "signal_children",
            "load_policy",
            "systemd",
        ] {
            assert!(flags.contains(&must), "flags.txt lacks {must}");
        }
        let used: Vec<String> = TEMPLATE
            .split("flags.")
            .skip(1)
            .map(|part| {
                part.chars()
                    .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                    .collect()
            })
            .collect();
        for f in &flags {
            assert!(used.iter().any(|u| u == f), "template never uses flag {f}");
        }
        // And every `flags.X` in the template is a known flag (strict mode would fail otherwise).
        for part in TEMPLATE.split("flags.").skip(1) {
            let name: String = part
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect();
            assert!(
                flags.contains(&name.as_str()),
                "template uses unknown flag {name}"
            );
        }
        assert!(known_flags().iter().all(|(_, why)| !why.is_empty()));
    }

    #[test]
    fn base_profile_has_the_base_denials_and_no_mount_allowance() {
        let text = render(&ProfileParams::new("lxnest-a")).unwrap();
        assert!(text.contains("profile lxnest-a flags=(attach_disconnected,mediate_deleted) {"));
        for rule in [
            "deny /proc/sys/** wklx,",
            "deny /proc/{sysrq-trigger,kcore,kmem,mem} rwklx,",
            "deny /sys/kernel/** wklx,",
            "deny capability mac_admin,",
            "deny capability sys_module,",
            "deny umount /proc/{,**},",
        ] {
            assert!(text.contains(rule), "missing {rule}\n{text}");
        }
        let allows_mount = text.lines().any(|l| {
            let l = l.trim();
            (l.starts_with("mount")
                || l.starts_with("pivot_root")
                || l.starts_with("change_profile"))
                && !l.starts_with("mount_")
        });
        assert!(!allows_mount, "base profile must not allow mounts:\n{text}");
        assert!(!text.contains("\n  mount,"), "never a blanket mount rule");
    }

    #[test]
    fn no_flag_combination_yields_a_blanket_mount() {
        let text = render(&ProfileParams::new("x").with_flags(all_flags())).unwrap();
        for l in text.lines().map(str::trim) {
            assert_ne!(l, "mount,");
            assert_ne!(l, "pivot_root,");
            assert_ne!(l, "change_profile,");
        }
    }

    #[test]
    fn every_mount_rule_has_one_option_set() {
        // apparmor_parser 3.0 merges several `options=` sets of one mount rule into one exact
        // set, their union, and grants only that (found by the guest stage).
        let mut p = ProfileParams::new("x").with_flags(all_flags());
        p.rootfs_dirs = default_rootfs_dirs()
            .iter()
            .map(|d| d.to_string())
            .collect();
        let text = render(&p).unwrap();
        for line in text
            .lines()
            .filter(|l| l.trim_start().starts_with("mount "))
        {
            assert!(line.trim_end().ends_with(','), "one line per rule: {line}");
            assert!(line.matches("options=").count() <= 1, "{line}");
        }
    }

    #[test]
    fn unknown_flag_is_an_error_naming_it() {
        let err = render(&ProfileParams::new("x").with_flags(["mount_everything"])).unwrap_err();
        let msg = err.to_string();
        assert!(
            msg.contains("mount_everything") && msg.contains("mount_proc"),
            "{msg}"
        );
    }

    #[test]
    fn load_policy_lifts_mac_admin_and_opens_only_the_apparmor_fs() {
        let text = render(&ProfileParams::new("x").with_flags(["load_policy"])).unwrap();
        assert!(!text.contains("deny capability mac_admin,"));
        assert!(!text.contains("deny /sys/kernel/** wklx,"));
        assert!(text.contains("deny /sys/kernel/security/apparmor?** wklx,"));
    }

    #[test]
    fn change_profile_targets_only_the_child_namespace() {
        let mut p = ProfileParams::new("lxnest-a").with_flags(["change_profile"]);
        p.child_namespace = Some("lxnest-a".into());
        let text = render(&p).unwrap();
        assert!(text.contains("change_profile -> \":lxnest-a:*\","));
        let cps: Vec<_> = text
            .lines()
            .filter(|l| l.trim().starts_with("change_profile"))
            .collect();
        assert!(cps.iter().all(|l| l.contains(":lxnest-a:")), "{cps:?}");
        p.child_namespace = None;
        let text = render(&p).unwrap();
        assert!(text.contains("change_profile -> @{profile_name},"));
    }

    #[test]
    fn rootfs_dirs_per_runtime_and_none_without_children() {
        assert_eq!(runtime_rootfs_dirs("docker").len(), 2);
        assert!(runtime_rootfs_dirs("lxc").iter().all(|d| d.contains("lxc")));
        assert!(runtime_rootfs_dirs("nope").is_empty());
        assert!(default_rootfs_dirs().contains(&"/var/lib/docker/overlay2/*/merged"));
        let mut p =
            ProfileParams::new("x").with_flags(["mount_proc", "mount_cgroup", "pivot_root"]);
        p.rootfs_dirs = vec!["/srv/c/*/root".into(), "/srv/c/*/root".into()];
        let text = render(&p).unwrap();
        assert!(
            text.contains("@{nested_rootfs}= /srv/c/*/root\n"),
            "deduplicated"
        );
        assert!(text.contains("pivot_root @{nested_rootfs}/,"));
        // No children: no nested rootfs at all, the children-only rules are gone, and the
        // cgroup flag keeps only the container's own /sys/fs/cgroup.
        p.rootfs_dirs.clear();
        let text = render(&p).unwrap();
        assert!(!text.contains("nested_rootfs"), "{text}");
        assert!(
            !text.contains("  pivot_root ") && !text.contains("fstype=proc"),
            "{text}"
        );
        assert!(text.contains("@{cgroupfs}=/sys/fs/cgroup\n"));
        p.rootfs_dirs = vec!["/srv/x y".into()];
        assert!(matches!(render(&p), Err(AppArmorError::InvalidName { .. })));
    }

    #[test]
    fn extra_rules_are_checked_and_appended() {
        let mut p = ProfileParams::new("x");
        p.extra_rules = vec!["deny /srv/secret/** rw,".into()];
        let text = render(&p).unwrap();
        assert!(text.contains("  deny /srv/secret/** rw,\n}"));
        for bad in [
            "/a r",
            "} profile evil { /** rw,",
            "/a r, # x,",
            "profile y {},",
            "/a r,\n/b w,",
        ] {
            p.extra_rules = vec![bad.into()];
            assert!(
                matches!(render(&p), Err(AppArmorError::InvalidRule { .. })),
                "accepted {bad:?}"
            );
        }
    }

    #[test]
    fn names_are_validated() {
        for bad in ["", "a b", "a:b", "-a", "a//&b", "a\nb"] {
            assert!(
                render(&ProfileParams::new(bad)).is_err(),
                "accepted {bad:?}"
            );
        }
        let mut p = ProfileParams::new("ok");
        p.child_namespace = Some("bad:ns".into());
        assert!(render(&p).is_err());
    }

    #[test]
    fn rendering_is_deterministic() {
        let p = ProfileParams::new("x").with_flags(["mount_proc", "systemd"]);
        assert_eq!(render(&p).unwrap(), render(&p).unwrap());
    }
}
