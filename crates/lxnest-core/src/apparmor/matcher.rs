//! `explain` for AppArmor: given a rendered profile, a path and an access, which rule decides.
//!
//! AppArmor semantics: an access is allowed when some allow rule grants every requested
//! permission and no deny rule matches any of them; a deny rule wins whatever the order. A
//! request no rule grants is refused implicitly. Globs follow [`super::glob`]; `@{VAR}` variables
//! defined before the profile are expanded.

use super::glob::Glob;
use std::collections::BTreeMap;

/// What is being done to a path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Access {
    /// File permissions, AppArmor letters: `r`, `w`, `a` (append), `x`, `m` (mmap exec),
    /// `l` (link), `k` (lock). Directories are written with a trailing `/`.
    File(String),
    /// A mount onto the path.
    Mount {
        /// Filesystem type (`proc`), `None` for bind, remount and propagation changes.
        fstype: Option<String>,
        /// Mount flags as AppArmor names them (`rw`, `nosuid`, `bind`, `remount`, `make-rslave`).
        options: Vec<String>,
        /// Source path (bind, move) or device name.
        source: Option<String>,
    },
    /// Unmounting the path.
    Umount,
    /// pivot_root with the path as the new root.
    PivotRoot,
    /// Using a capability (`sys_admin`); the path is ignored.
    Capability(String),
}

impl Access {
    /// Parses the command-line form: `r`, `rw`, `x` ..., `umount`, `pivot_root`,
    /// `capability:sys_admin`, or
    /// `mount[:FSTYPE[:OPT,OPT...[:SOURCE]]]` (empty FSTYPE for binds: `mount::rw,bind:/src`).
    pub fn parse(s: &str) -> Option<Access> {
        match s {
            "umount" => return Some(Access::Umount),
            "pivot_root" => return Some(Access::PivotRoot),
            _ => {}
        }
        if let Some(cap) = s.strip_prefix("capability:") {
            let cap = cap.to_ascii_lowercase();
            let cap = cap.trim_start_matches("cap_").to_string();
            return (!cap.is_empty()).then_some(Access::Capability(cap));
        }
        if let Some(rest) = s.strip_prefix("mount") {
            let mut parts = rest.strip_prefix(':').unwrap_or(rest).splitn(3, ':');
            let fstype = parts.next().filter(|t| !t.is_empty()).map(String::from);
            let options = parts
                .next()
                .map(|o| {
                    o.split(',')
                        .filter(|x| !x.is_empty())
                        .map(String::from)
                        .collect()
                })
                .unwrap_or_default();
            let source = parts.next().filter(|t| !t.is_empty()).map(String::from);
            return Some(Access::Mount {
                fstype,
                options,
                source,
            });
        }
        (!s.is_empty() && s.chars().all(|c| "rwaxmlk".contains(c)))
            .then(|| Access::File(s.to_string()))
    }
}

/// A rule of the profile, by line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleRef {
    /// 1-based line in the rendered profile.
    pub line: usize,
    /// The rule as written.
    pub text: String,
}

/// The outcome.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// An allow rule grants it and no deny rule matches.
    Allowed,
    /// A deny rule matches.
    Denied,
    /// No rule grants it.
    NotAllowed,
}

/// Which rule decides, and the other rules that match.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Explanation {
    /// The outcome.
    pub decision: Decision,
    /// The deciding rule: the first matching deny rule, or the first allow rule (for files, the
    /// first one granting the first requested permission); `None` when nothing allows it.
    pub rule: Option<RuleRef>,
    /// Every matching rule, allow and deny, in profile order.
    pub matching: Vec<RuleRef>,
    /// Requested file permissions no allow rule grants.
    pub missing: String,
}

/// Explains `access` to `path` under the profile `profile_text`.
pub fn explain(profile_text: &str, path: &str, access: &Access) -> Explanation {
    let vars = variables(profile_text);
    let mut denies: Vec<(RuleRef, String)> = Vec::new();
    let mut allows: Vec<(RuleRef, String)> = Vec::new();
    for (line, rule) in rules(profile_text) {
        let (deny, body) = qualifiers(&rule);
        let granted = match access {
            Access::File(_) => file_perms(&body, path, &vars),
            Access::Mount {
                fstype,
                options,
                source,
            } => mount_matches(
                &body,
                path,
                fstype.as_deref(),
                options,
                source.as_deref(),
                &vars,
            )
            .then(|| "*".to_string()),
            Access::Umount => keyword_target(&body, "umount", path, &vars).then(|| "*".to_string()),
            Access::PivotRoot => {
                keyword_target(&body, "pivot_root", path, &vars).then(|| "*".to_string())
            }
            Access::Capability(cap) => capability_matches(&body, cap).then(|| "*".to_string()),
        };
        if let Some(perms) = granted {
            let r = RuleRef {
                line,
                text: rule.clone(),
            };
            if deny {
                denies.push((r, perms))
            } else {
                allows.push((r, perms))
            }
        }
    }
    let requested: Vec<char> = match access {
        Access::File(p) => p.chars().collect(),
        _ => vec!['*'],
    };
    let covers = |perms: &str, c: char| {
        perms == "*" || perms.contains(c) || (c == 'a' && perms.contains('w'))
    };
    let mut all: Vec<RuleRef> = denies
        .iter()
        .chain(allows.iter())
        .map(|(r, _)| r.clone())
        .collect();
    all.sort_by_key(|r| r.line);
    if let Some((r, _)) = denies
        .iter()
        .find(|(_, p)| requested.iter().any(|&c| covers(p, c)))
    {
        return Explanation {
            decision: Decision::Denied,
            rule: Some(r.clone()),
            matching: all,
            missing: String::new(),
        };
    }
    let missing: String = requested
        .iter()
        .filter(|&&c| !allows.iter().any(|(_, p)| covers(p, c)))
        .collect();
    if !missing.is_empty() {
        return Explanation {
            decision: Decision::NotAllowed,
            rule: None,
            matching: all,
            missing,
        };
    }
    let first = requested.first().copied().unwrap_or('*');
    let rule = allows
        .iter()
        .find(|(_, p)| covers(p, first))
        .map(|(r, _)| r.clone());
    Explanation {
        decision: Decision::Allowed,
        rule,
        matching: all,
        missing,
    }
}

/// `@{NAME}=a b` and `@{NAME}+=c` definitions, values fully expanded.
fn variables(text: &str) -> BTreeMap<String, Vec<String>> {
    let mut raw: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for line in text.lines().map(strip_comment) {
        let line = line.trim();
        let Some(rest) = line.strip_prefix("@{") else {
            continue;
        };
        let Some(close) = rest.find('}') else {
            continue;
        };
        let name = rest[..close].to_string();
        let after = rest[close + 1..].trim_start();
        let (append, values) = match after.strip_prefix("+=") {
            Some(v) => (true, v),
            None => match after.strip_prefix('=') {
                Some(v) => (false, v),
                None => continue,
            },
        };
        let entry = raw.entry(name).or_default();
        if !append {
            entry.clear();
        }
        entry.extend(
            values
                .split_whitespace()
                .map(|v| v.trim_matches('"').to_string()),
        );
    }
    let mut out = BTreeMap::new();
    for name in raw.keys() {
        out.insert(name.clone(), resolve(name, &raw, 0));
    }
    out
}

fn resolve(name: &str, raw: &BTreeMap<String, Vec<String>>, depth: usize) -> Vec<String> {
    let Some(values) = raw.get(name) else {
        return Vec::new();
    };
    if depth > 8 {
        return values.clone();
    }
    values
        .iter()
        .map(|v| substitute(v, &|n| resolve(n, raw, depth + 1)))
        .collect()
}

/// Replaces each `@{NAME}` by `{v1,v2}` (or the single value).
fn substitute(s: &str, lookup: &dyn Fn(&str) -> Vec<String>) -> String {
    let mut out = String::new();
    let mut rest = s;
    while let Some(at) = rest.find("@{") {
        out.push_str(&rest[..at]);
        let Some(close) = rest[at..].find('}') else {
            break;
        };
        let name = &rest[at + 2..at + close];
        let values = lookup(name);
        match values.len() {
            0 => out.push_str(&rest[at..at + close + 1]),
            1 => out.push_str(&values[0]),
            _ => out.push_str(&format!("{{{}}}", values.join(","))),
        }
        rest = &rest[at + close + 1..];
    }
    out.push_str(rest);
    out
}

fn strip_comment(line: &str) -> &str {
    let mut in_quote = false;
    for (i, c) in line.char_indices() {
        match c {
            '"' => in_quote = !in_quote,
            '#' if !in_quote => return &line[..i],
            _ => {}
        }
    }
    line
}

/// The comma-terminated rules inside the profile block, each with the line it starts on. A rule
/// may span lines (a long mount rule may put each condition on a line of its own); it ends at a
/// line ending with `,` outside parentheses.
fn rules(text: &str) -> Vec<(usize, String)> {
    let mut out = Vec::new();
    let mut inside = false;
    let mut pending: Option<(usize, String)> = None;
    for (i, raw) in text.lines().enumerate() {
        let line = strip_comment(raw).trim();
        if !inside {
            inside = line.starts_with("profile ") && line.ends_with('{');
            continue;
        }
        if line.is_empty() {
            continue;
        }
        if line == "}" && pending.is_none() {
            break;
        }
        let (start, mut rule) = pending.take().unwrap_or((i + 1, String::new()));
        if !rule.is_empty() {
            rule.push(' ');
        }
        rule.push_str(line);
        let depth: i32 = rule
            .chars()
            .map(|c| i32::from(c == '(') - i32::from(c == ')'))
            .sum();
        match rule.strip_suffix(',') {
            Some(done) if depth == 0 => out.push((start, done.trim().to_string())),
            _ => pending = Some((start, rule)),
        }
    }
    out
}

/// Strips `audit`, `allow`, `deny` and `owner`; returns whether it is a deny rule and the body.
fn qualifiers(rule: &str) -> (bool, String) {
    let mut deny = false;
    let mut words = rule.split_whitespace().peekable();
    while let Some(&w) = words.peek() {
        match w {
            "audit" | "allow" | "owner" => {}
            "deny" => deny = true,
            _ => break,
        }
        words.next();
    }
    (deny, words.collect::<Vec<_>>().join(" "))
}

fn glob_matches(pattern: &str, text: &str, vars: &BTreeMap<String, Vec<String>>) -> bool {
    let expanded = substitute(pattern.trim_matches('"'), &|n| {
        vars.get(n).cloned().unwrap_or_default()
    });
    Glob::new(&expanded).is_some_and(|g| g.matches(text))
}

/// Permissions a file rule grants `path`, if it is a file rule matching it.
fn file_perms(body: &str, path: &str, vars: &BTreeMap<String, Vec<String>>) -> Option<String> {
    if body == "file" {
        return Some("rwaxmlk".into());
    }
    let mut words = body.split_whitespace();
    let (pattern, perms) = match (words.next(), words.next(), words.next()) {
        (Some("file"), Some(p), Some(m)) | (Some(p), Some(m), None) => (p, m),
        _ => return None,
    };
    if !(pattern.starts_with('/') || pattern.starts_with("@{") || pattern.starts_with("\"/")) {
        return None;
    }
    glob_matches(pattern, path, vars)
        .then(|| perms.chars().filter(|c| "rwaxmlk".contains(*c)).collect())
}

/// `capability,` (all) or `capability a b,`.
fn capability_matches(body: &str, cap: &str) -> bool {
    let mut words = body.split_whitespace();
    if words.next() != Some("capability") {
        return false;
    }
    let mut named = words.peekable();
    named.peek().is_none() || named.any(|w| w == cap)
}

/// `umount [TARGET]` and `pivot_root [oldroot=X] [NEWROOT]`.
fn keyword_target(
    body: &str,
    keyword: &str,
    path: &str,
    vars: &BTreeMap<String, Vec<String>>,
) -> bool {
    let mut words = body.split_whitespace();
    if words.next() != Some(keyword) {
        return false;
    }
    match words.find(|w| !w.starts_with("oldroot=")) {
        None => true,
        Some(target) => glob_matches(target, path, vars),
    }
}

/// `mount [fstype=X|fstype=(a,b)] [options=(..)|options in (..)]... [SOURCE] [-> TARGET]`.
fn mount_matches(
    body: &str,
    target: &str,
    fstype: Option<&str>,
    options: &[String],
    source: Option<&str>,
    vars: &BTreeMap<String, Vec<String>>,
) -> bool {
    let Some(rest) = body.strip_prefix("mount") else {
        return false;
    };
    if !(rest.is_empty() || rest.starts_with(' ')) {
        return false;
    }
    let (conds, rule_target) = match rest.split_once("->") {
        Some((c, t)) => (c, Some(t.trim())),
        None => (rest, None),
    };
    // Tokenise conditions, keeping parenthesised lists together.
    let mut tokens: Vec<String> = Vec::new();
    let mut depth = 0;
    for c in conds.chars() {
        match c {
            '(' => depth += 1,
            ')' => depth -= 1,
            _ => {}
        }
        if c.is_whitespace() && depth == 0 {
            tokens.push(String::new());
        } else {
            match tokens.last_mut() {
                Some(t) => t.push(c),
                None => tokens.push(c.to_string()),
            }
        }
    }
    tokens.retain(|t| !t.is_empty());
    let list = |v: &str| -> Vec<String> {
        v.trim_matches(|c| c == '(' || c == ')')
            .split(',')
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty())
            .collect()
    };
    let flagset = |v: &[String]| -> Vec<String> {
        let mut s: Vec<String> = v.iter().filter(|o| o.as_str() != "rw").cloned().collect();
        s.sort();
        s.dedup();
        s
    };
    let want = flagset(options);
    let (mut fs_ok, mut opt_conds, mut opt_ok, mut rule_source) = (true, 0, false, None);
    // Several `options=` sets in one rule are compiled (apparmor_parser 3.0, seen in the guest
    // stage) as one exact set, their union: the rule grants that set alone, none of its parts.
    let mut exact: Option<Vec<String>> = None;
    let mut i = 0;
    while i < tokens.len() {
        let t = &tokens[i];
        if let Some(v) = t
            .strip_prefix("fstype=")
            .or_else(|| t.strip_prefix("vfstype="))
        {
            fs_ok = fstype.is_some_and(|f| list(v).iter().any(|p| glob_matches(p, f, vars)));
        } else if t == "fstype" || t == "vfstype" {
            // `fstype in (a,b)`
            let v = tokens.get(i + 2).cloned().unwrap_or_default();
            fs_ok = fstype.is_some_and(|f| list(&v).iter().any(|p| glob_matches(p, f, vars)));
            i += 2;
        } else if let Some(v) = t.strip_prefix("options=") {
            opt_conds += 1;
            exact.get_or_insert_with(Vec::new).extend(list(v));
        } else if t == "options" {
            opt_conds += 1;
            let v = tokens.get(i + 2).cloned().unwrap_or_default();
            let allowed = flagset(&list(&v));
            opt_ok |= want.iter().all(|o| allowed.contains(o));
            i += 2;
        } else {
            rule_source = Some(t.clone());
        }
        i += 1;
    }
    opt_ok |= exact.is_some_and(|e| flagset(&e) == want);
    if !fs_ok || (opt_conds > 0 && !opt_ok) {
        return false;
    }
    if let Some(pattern) = rule_source {
        if !source.is_some_and(|s| glob_matches(&pattern, s, vars)) {
            return false;
        }
    }
    rule_target.is_none_or(|p| glob_matches(p, target, vars))
}

#[cfg(test)]
mod tests;
