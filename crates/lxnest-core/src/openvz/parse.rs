//! OpenVZ container configs (`/etc/vz/conf/CTID.conf`) and the global `vz.conf`: shell-style
//! `NAME="value"` lines with `#` comments and `$VEID`/`${VEID}` substitution.

use crate::origin::Origin;
use std::collections::BTreeMap;
use thiserror::Error;

/// A config could not be read.
#[derive(Debug, Error)]
pub enum OpenVzError {
    /// I/O.
    #[error("{file}: cannot read: {source}")]
    Read {
        /// The file.
        file: String,
        /// The error.
        source: std::io::Error,
    },
    /// A line is not `NAME="value"`.
    #[error("{origin}: expected NAME=\"value\", found `{line}`\n  fix: write the line as NAME=\"value\" or comment it out with #")]
    Syntax {
        /// Where.
        origin: Origin,
        /// The line.
        line: String,
    },
}

/// Settings by name, with where each was set; a later file (the container's) overrides vz.conf.
pub type Settings = BTreeMap<String, (String, Origin)>;

/// Parse one file's text into `into`, replacing `$VEID` with `ctid`.
pub fn parse_into(
    text: &str,
    file: &str,
    ctid: &str,
    into: &mut Settings,
) -> Result<(), OpenVzError> {
    for (i, raw) in text.lines().enumerate() {
        let origin = Origin::new(file, i as u32 + 1);
        let l = raw.trim_end_matches('\r').trim();
        if l.is_empty() || l.starts_with('#') {
            continue;
        }
        let Some((name, value)) = l.split_once('=') else {
            return Err(OpenVzError::Syntax {
                origin,
                line: l.into(),
            });
        };
        let name = name.trim();
        if name.is_empty()
            || !name
                .bytes()
                .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_')
        {
            return Err(OpenVzError::Syntax {
                origin,
                line: l.into(),
            });
        }
        let value = unquote(value.trim())
            .replace("${VEID}", ctid)
            .replace("$VEID", ctid);
        into.insert(name.to_string(), (value, origin));
    }
    Ok(())
}

/// `"a b"` or `'a b'` or `a` (a trailing `# comment` after a quoted value is dropped).
fn unquote(v: &str) -> String {
    for q in ['"', '\''] {
        if let Some(rest) = v.strip_prefix(q) {
            if let Some(end) = rest.find(q) {
                return rest[..end].to_string();
            }
        }
    }
    v.split('#').next().unwrap_or("").trim().to_string()
}

/// Read `vz.conf` (optional) and the container's config, the latter winning.
pub fn read(
    ct_conf: &std::path::Path,
    vz_conf: Option<&std::path::Path>,
) -> Result<(String, Settings), OpenVzError> {
    let ctid = ct_conf
        .file_name()
        .map(|n| n.to_string_lossy().trim_end_matches(".conf").to_string())
        .unwrap_or_default();
    let mut s = Settings::new();
    for path in vz_conf.into_iter().chain(std::iter::once(ct_conf)) {
        let file = crate::spec::load::display_path(path);
        let text = crate::source::read_input(path).map_err(|source| OpenVzError::Read {
            file: file.clone(),
            source,
        })?;
        parse_into(&text, &file, &ctid, &mut s)?;
    }
    Ok((ctid, s))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoting_comments_and_veid() {
        let mut s = Settings::new();
        parse_into(
            "# c\nVE_ROOT=\"/vz/root/$VEID\"\nHOSTNAME='web'\nONBOOT=yes # boot\n",
            "101.conf",
            "101",
            &mut s,
        )
        .unwrap();
        assert_eq!(s["VE_ROOT"].0, "/vz/root/101");
        assert_eq!(s["HOSTNAME"].0, "web");
        assert_eq!(s["ONBOOT"].0, "yes");
        assert_eq!(s["VE_ROOT"].1.line, 2);
        let err = parse_into("junk\n", "x.conf", "1", &mut s).unwrap_err();
        assert!(err.to_string().contains("x.conf:1"));
    }
}
