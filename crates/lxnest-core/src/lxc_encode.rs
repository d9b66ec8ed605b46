//! Values written into LXC config files, encoded so that LXC reads back exactly them, or refused.
//!
//! How LXC 5 reads a line (`parse_line` in confile.c): the key is what precedes the first `=`;
//! the value is the rest with spaces and tabs trimmed at both ends, and then one pair of matching
//! quotes (`"..."` or `'...'`) around the whole value is removed. There are no escapes and no
//! comments after a value; a line ends at `\n`, and the file is read as a C string. So a value
//! can carry anything but NUL, `\n` and `\r` (which our reader, tolerant of CRLF files, would
//! trim), provided it is wrapped in quotes when its ends would otherwise be eaten.
//!
//! `lxc.init.cmd` is split by `split_init_cmd` (lxccontainer.c) at every space with `strtok`, with
//! no quoting: an argument that is empty or contains a space cannot be written there.
//! `lxc.mount.entry` is read like an fstab line (`getmntent`), which decodes `\040` (space), `\011`
//! (tab), `\012` (newline) and `\134` (backslash) in each field.

use thiserror::Error;

/// A value that an LXC config cannot carry.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("{why}")]
pub struct Unencodable {
    /// Why not.
    pub why: String,
}

fn refuse(why: impl Into<String>) -> Unencodable {
    Unencodable { why: why.into() }
}

/// Characters no LXC config value can hold.
fn check_line(v: &str) -> Result<(), Unencodable> {
    if let Some(c) = v.chars().find(|c| matches!(c, '\0' | '\n' | '\r')) {
        return Err(refuse(format!(
            "contains {}, which ends a line (or the file) of an LXC config",
            shown_char(c)
        )));
    }
    Ok(())
}

fn shown_char(c: char) -> &'static str {
    match c {
        '\0' => "a NUL byte",
        '\n' => "a newline",
        '\r' => "a carriage return",
        ' ' => "a space",
        _ => "a control character",
    }
}

/// LXC trims these around a value (and around a key).
pub fn is_blank(c: char) -> bool {
    c == ' ' || c == '\t'
}

/// Encode `v` as the right-hand side of `key = v`.
pub fn value(v: &str) -> Result<String, Unencodable> {
    check_line(v)?;
    let first = v.chars().next();
    let last = v.chars().next_back();
    let quoted = v.len() > 1 && matches!(first, Some('"' | '\'')) && first == last;
    let needs_wrap =
        v.is_empty() || first.is_some_and(is_blank) || last.is_some_and(is_blank) || quoted;
    Ok(if needs_wrap {
        format!("\"{v}\"")
    } else {
        v.to_string()
    })
}

/// Decode a value as LXC does (`v` is everything after the first `=`).
pub fn decode(v: &str) -> String {
    let v = v.trim_matches(is_blank);
    let mut chars = v.chars();
    let first = chars.next();
    let last = chars.next_back();
    match (first, last) {
        (Some(f @ ('"' | '\'')), Some(l)) if f == l => v[1..v.len() - 1].to_string(),
        _ => v.to_string(),
    }
}

/// Encode a command for `lxc.init.cmd`.
pub fn init_cmd(args: &[String]) -> Result<String, Unencodable> {
    if args.is_empty() {
        return Err(refuse("the command is empty"));
    }
    for a in args {
        check_line(a)?;
        if a.is_empty() {
            return Err(refuse(
                "an argument is empty, and LXC drops empty words of lxc.init.cmd",
            ));
        }
        if a.contains(' ') {
            return Err(refuse(format!(
                "argument `{a}` contains a space, and LXC splits lxc.init.cmd at every space with no quoting"
            )));
        }
    }
    value(&args.join(" "))
}

/// Split `lxc.init.cmd` as LXC does.
pub fn split_init_cmd(v: &str) -> Vec<String> {
    v.split(' ')
        .filter(|w| !w.is_empty())
        .map(String::from)
        .collect()
}

/// Encode one field of an `lxc.mount.entry` (fstab escapes).
pub fn mount_field(f: &str) -> Result<String, Unencodable> {
    if f.contains('\0') {
        return Err(refuse("contains a NUL byte"));
    }
    if f.is_empty() {
        return Err(refuse("is empty"));
    }
    let mut out = String::with_capacity(f.len());
    for c in f.chars() {
        match c {
            ' ' => out.push_str("\\040"),
            '\t' => out.push_str("\\011"),
            '\n' => out.push_str("\\012"),
            '\\' => out.push_str("\\134"),
            '\r' => return Err(refuse("contains a carriage return")),
            c => out.push(c),
        }
    }
    Ok(out)
}

/// Decode one fstab field (the escapes `getmntent` understands).
pub fn decode_mount_field(f: &str) -> String {
    let mut out = String::with_capacity(f.len());
    let mut rest = f;
    while let Some(i) = rest.find('\\') {
        out.push_str(&rest[..i]);
        let tail = &rest[i..];
        let (c, n) = match tail.get(..4) {
            Some("\\040") => (' ', 4),
            Some("\\011") => ('\t', 4),
            Some("\\012") => ('\n', 4),
            Some("\\134") => ('\\', 4),
            _ => ('\\', 1),
        };
        out.push(c);
        rest = &tail[n..];
    }
    out.push_str(rest);
    out
}

/// Environment names LXC and every shell can carry: `[A-Za-z_][A-Za-z0-9_]*`.
pub fn env_name(k: &str) -> Result<(), Unencodable> {
    let ok = k.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
        && k.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    if ok {
        Ok(())
    } else {
        Err(refuse(format!(
            "environment name `{}` is not letters, digits and `_` (not starting with a digit)",
            k.escape_debug()
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_round_trip_or_are_refused() {
        for v in [
            "plain",
            "",
            " lead",
            "trail\t",
            "\"q\"",
            "'q'",
            "\"",
            "a=b=c",
            "# not a comment",
            "$(id) `id` \\ ;",
            "ünï ©ode",
            "\"mixed'",
        ] {
            let e = value(v).unwrap();
            assert!(!e.contains('\n'));
            assert_eq!(decode(&format!(" {e} ")), v, "{v:?} encoded as {e:?}");
        }
        for v in ["a\nlxc.apparmor.profile = unconfined", "nul\0", "cr\r"] {
            assert!(value(v).is_err(), "{v:?}");
        }
    }

    #[test]
    fn init_cmd_refuses_what_lxc_would_split() {
        let args = |a: &[&str]| a.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let e = init_cmd(&args(&["/bin/sh", "-c", "echo hi; exit 3"])).unwrap_err();
        assert!(e.why.contains("space"), "{e}");
        assert!(init_cmd(&args(&["/bin/x", ""])).is_err());
        let ok = args(&["/bin/echo", "a\tb", "$(id)", "'q'"]);
        let e = init_cmd(&ok).unwrap();
        assert_eq!(split_init_cmd(&decode(&e)), ok);
    }

    #[test]
    fn mount_fields_use_fstab_escapes() {
        for f in ["/a b", "tab\there", "back\\slash", "new\nline", "\\040"] {
            let e = mount_field(f).unwrap();
            assert!(!e.contains([' ', '\t', '\n']), "{e:?}");
            assert_eq!(decode_mount_field(&e), f);
        }
        assert!(mount_field("").is_err() && mount_field("a\0").is_err());
    }
}
