//! Kernel AppArmor audit records (`apparmor="DENIED" operation="mount" ...`), parsed so that
//! `lxnest explain` can say which rule of which profile a real denial came from.

use super::matcher::Access;
use std::collections::BTreeMap;

/// One AppArmor audit record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditEvent {
    /// `DENIED`, `ALLOWED` (complain mode), `AUDIT`, `STATUS` ...
    pub verdict: String,
    /// `open`, `mkdir`, `exec`, `mount`, `umount`, `pivotroot`, `signal`, `ptrace`, `capable` ...
    pub operation: String,
    /// The profile (or stacked component) that decided.
    pub profile: Option<String>,
    /// Policy namespace of that profile (`root//lxnest-a`), when the kernel reports it.
    pub namespace: Option<String>,
    /// The object: a path, a mount point, or a label for change_profile.
    pub name: Option<String>,
    /// Requested permissions (`w`, `r`, `rw`, `send` ...).
    pub requested_mask: Option<String>,
    /// Denied permissions.
    pub denied_mask: Option<String>,
    /// Every field as reported, hex-encoded strings decoded.
    pub fields: BTreeMap<String, String>,
}

/// Fields that hold strings the kernel hex-encodes when they contain spaces, quotes or
/// non-printable bytes (it then writes them without quotes).
const STRING_FIELDS: &[&str] = &[
    "name",
    "comm",
    "profile",
    "srcname",
    "namespace",
    "peer",
    "target",
    "fstype",
    "label",
];

/// Parses one line of `dmesg`, `journalctl -k` or `/var/log/audit/audit.log`. Returns `None`
/// when the line is not an AppArmor record.
pub fn parse_audit_line(line: &str) -> Option<AuditEvent> {
    let start = line.find("apparmor=")?;
    let fields = fields(&line[start..]);
    let get = |k: &str| fields.get(k).cloned();
    Some(AuditEvent {
        verdict: get("apparmor")?,
        operation: get("operation").unwrap_or_default(),
        profile: get("profile"),
        namespace: get("namespace"),
        name: get("name"),
        requested_mask: get("requested_mask"),
        denied_mask: get("denied_mask"),
        fields,
    })
}

/// `key=value` pairs; values are `"quoted"` (may hold spaces and commas) or bare words.
fn fields(s: &str) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    let mut rest = s.trim_start();
    while !rest.is_empty() {
        let Some(eq) = rest.find('=') else { break };
        let key = rest[..eq].trim().to_string();
        let after = &rest[eq + 1..];
        let (value, quoted, next) = if let Some(q) = after.strip_prefix('"') {
            match q.find('"') {
                Some(end) => (&q[..end], true, &q[end + 1..]),
                None => (q, true, ""),
            }
        } else {
            let end = after.find(char::is_whitespace).unwrap_or(after.len());
            (&after[..end], false, &after[end..])
        };
        let value = if !quoted && STRING_FIELDS.contains(&key.as_str()) {
            unhex(value).unwrap_or_else(|| value.to_string())
        } else {
            value.to_string()
        };
        if !key.is_empty() && !key.contains(char::is_whitespace) {
            out.insert(key, value);
        }
        rest = next.trim_start();
    }
    out
}

/// Decodes the kernel's hex encoding of an untrusted string (`2F746D70` is `/tmp`).
fn unhex(s: &str) -> Option<String> {
    if s.is_empty() || !s.len().is_multiple_of(2) || !s.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    let bytes = (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).ok())
        .collect::<Option<Vec<u8>>>()?;
    Some(String::from_utf8_lossy(&bytes).into_owned())
}

impl AuditEvent {
    /// The access to replay with [`super::explain`], for file, mount, umount and pivot_root
    /// records; `None` for the others.
    pub fn access(&self) -> Option<(String, Access)> {
        let f = |k: &str| self.fields.get(k).cloned();
        let name = self.name.clone()?;
        let access = match self.operation.as_str() {
            "mount" => Access::Mount {
                fstype: f("fstype").filter(|t| !t.is_empty()),
                options: f("flags")
                    .map(|fl| {
                        fl.split(',')
                            .map(|o| o.trim().to_string())
                            .filter(|o| !o.is_empty())
                            .collect()
                    })
                    .unwrap_or_default(),
                source: f("srcname"),
            },
            "umount" => Access::Umount,
            "pivotroot" => Access::PivotRoot,
            _ => Access::File(
                self.denied_mask
                    .clone()
                    .or_else(|| self.requested_mask.clone())?,
            ),
        };
        Some((name, access))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mount_denial_from_the_journal() {
        let line = r#"Mar 20 17:07:45 host kernel: [43286694.926594] audit: type=1400 audit(1584720465.171:19664): apparmor="DENIED" operation="mount" info="failed flags match" error=-13 profile="lxnest-a" name="/run/systemd/unit-root/bin/" pid=92914 comm="(mysqld)" flags="ro, remount, noatime, bind""#;
        let e = parse_audit_line(line).unwrap();
        assert_eq!(e.verdict, "DENIED");
        assert_eq!(e.operation, "mount");
        assert_eq!(e.profile.as_deref(), Some("lxnest-a"));
        assert_eq!(e.fields["info"], "failed flags match");
        assert_eq!(e.fields["pid"], "92914");
        let (path, access) = e.access().unwrap();
        assert_eq!(path, "/run/systemd/unit-root/bin/");
        assert_eq!(
            access,
            Access::Mount {
                fstype: None,
                options: vec![
                    "ro".into(),
                    "remount".into(),
                    "noatime".into(),
                    "bind".into()
                ],
                source: None
            }
        );
    }

    #[test]
    fn file_denial_with_namespace_and_hex_name() {
        let line = r#"audit: type=1400 audit(1.2:3): apparmor="DENIED" operation="open" namespace="root//lxnest-a" profile="lxnest-a.b" name=2F746D702F6120622F73797372712D74726967676572 pid=7 comm="sh" requested_mask="w" denied_mask="w" fsuid=0 ouid=0"#;
        let e = parse_audit_line(line).unwrap();
        assert_eq!(e.namespace.as_deref(), Some("root//lxnest-a"));
        assert_eq!(e.name.as_deref(), Some("/tmp/a b/sysrq-trigger"));
        assert_eq!(e.fields["fsuid"], "0", "numbers are not hex-decoded");
        assert_eq!(e.access().unwrap().1, Access::File("w".into()));
    }

    #[test]
    fn change_profile_label_is_kept_verbatim() {
        let line = r#"apparmor="DENIED" operation="change_profile" info="label not found" error=-2 namespace="root//lxd-web_<var-lib-lxd>" profile="unconfined" name="lxd-t_</var/lib/lxd>//&:lxd-t_<var-lib-lxd>:" pid=19324 comm="lxd""#;
        let e = parse_audit_line(line).unwrap();
        assert_eq!(
            e.name.as_deref(),
            Some("lxd-t_</var/lib/lxd>//&:lxd-t_<var-lib-lxd>:")
        );
        assert_eq!(e.access(), None, "change_profile is not a path access");
    }

    #[test]
    fn other_lines_are_not_events() {
        assert!(parse_audit_line("kernel: eth0: link up").is_none());
        assert!(parse_audit_line("audit: type=1300 syscall=2 success=no").is_none());
    }
}
