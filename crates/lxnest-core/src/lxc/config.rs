//! Reading LXC configuration files: `key = value` lines, `#` comments, CRLF tolerated, and
//! `lxc.include` of a file or of a directory (its `*.conf` files in byte order of their names, as
//! LXC does). Relative include paths are resolved against the including file's directory. Every
//! entry keeps the file and line it came from.

use crate::lxc::keys::{self, Support};
use crate::origin::Origin;
use serde::Serialize;
use std::path::{Path, PathBuf};
use thiserror::Error;

/// Includes may nest this deep.
pub const INCLUDE_DEPTH_LIMIT: usize = 16;

/// Reading an LXC config failed.
#[derive(Debug, Error)]
pub enum LxcConfigError {
    /// A file or directory could not be read.
    #[error("{origin}: cannot read {path}: {source}")]
    Read {
        /// Where it was named.
        origin: Origin,
        /// The path.
        path: String,
        /// I/O error.
        source: std::io::Error,
    },
    /// A line is not `key = value`.
    #[error("{origin}: expected `lxc.key = value`, found `{line}`\n  fix: write the line as `key = value`, or comment it out with `#`")]
    Syntax {
        /// File and line.
        origin: Origin,
        /// The line.
        line: String,
    },
    /// LXC does not know the key either.
    #[error("{origin}: unknown key `{key}`\n  fix: {fix}")]
    UnknownKey {
        /// File and line.
        origin: Origin,
        /// The key.
        key: String,
        /// A suggestion.
        fix: String,
    },
    /// An include comes back to a file being read.
    #[error("{origin}: include cycle: {chain}\n  fix: remove one of these lxc.include lines")]
    Cycle {
        /// Where.
        origin: Origin,
        /// The chain.
        chain: String,
    },
    /// Includes nest too deep.
    #[error("{origin}: lxc.include nests deeper than {limit}\n  fix: flatten the include chain")]
    Depth {
        /// Where.
        origin: Origin,
        /// The limit.
        limit: usize,
    },
}

/// One `key = value` line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Entry {
    /// Key as written.
    pub key: String,
    /// Value, trimmed.
    pub value: String,
    /// File and line.
    pub origin: Origin,
}

/// A config with includes expanded, in reading order (include lines themselves are kept too).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct LxcConfig {
    /// The file named by the user.
    pub file: String,
    /// Every entry, includes expanded in place.
    pub entries: Vec<Entry>,
}

/// Read a config file and everything it includes.
pub fn read(path: &Path) -> Result<LxcConfig, LxcConfigError> {
    let mut r = Reader {
        chain: Vec::new(),
        entries: Vec::new(),
    };
    let file = crate::spec::load::display_path(path);
    r.file(path, &Origin::new(file.clone(), 0))?;
    Ok(LxcConfig {
        file,
        entries: r.entries,
    })
}

/// Parse config text (no includes are followed): for tests and for text from other sources.
pub fn parse_text(text: &str, file: &str) -> Result<Vec<Entry>, LxcConfigError> {
    let mut out = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        if let Some(e) = line(raw, Origin::new(file, i as u32 + 1))? {
            out.push(e);
        }
    }
    Ok(out)
}

fn line(raw: &str, origin: Origin) -> Result<Option<Entry>, LxcConfigError> {
    // As LXC reads it: blanks around key and value, one pair of quotes around the value.
    let l = raw
        .trim_end_matches('\r')
        .trim_matches(crate::lxc::encode::is_blank);
    if l.is_empty() || l.starts_with('#') {
        return Ok(None);
    }
    let Some((k, v)) = l.split_once('=') else {
        return Err(LxcConfigError::Syntax {
            origin,
            line: l.into(),
        });
    };
    let key = k.trim_matches(crate::lxc::encode::is_blank).to_string();
    if keys::support(&key).is_none() {
        let fix = match keys::closest(&key) {
            Some(c) => format!("did you mean `{c}`?"),
            None => "see lxc.container.conf(5) for the keys of LXC 5".into(),
        };
        return Err(LxcConfigError::UnknownKey { origin, key, fix });
    }
    Ok(Some(Entry {
        key,
        value: crate::lxc::encode::decode(v),
        origin,
    }))
}

struct Reader {
    chain: Vec<PathBuf>,
    entries: Vec<Entry>,
}

impl Reader {
    fn file(&mut self, path: &Path, at: &Origin) -> Result<(), LxcConfigError> {
        let rerr = |source| LxcConfigError::Read {
            origin: at.clone(),
            path: path.display().to_string(),
            source,
        };
        let canonical = crate::source::canonical(path).map_err(rerr)?;
        let display = crate::spec::load::display_path(path);
        if self.chain.contains(&canonical) {
            let mut names: Vec<String> = self
                .chain
                .iter()
                .map(|p| crate::spec::load::display_path(p))
                .collect();
            names.push(display);
            return Err(LxcConfigError::Cycle {
                origin: at.clone(),
                chain: names.join(" -> "),
            });
        }
        if self.chain.len() >= INCLUDE_DEPTH_LIMIT {
            return Err(LxcConfigError::Depth {
                origin: at.clone(),
                limit: INCLUDE_DEPTH_LIMIT,
            });
        }
        let text = crate::source::read_input(path).map_err(rerr)?;
        self.chain.push(canonical);
        let dir = path.parent().unwrap_or(Path::new("."));
        let result = self.lines(&text, &display, dir);
        self.chain.pop();
        result
    }

    fn lines(&mut self, text: &str, display: &str, dir: &Path) -> Result<(), LxcConfigError> {
        for (i, raw) in text.lines().enumerate() {
            let Some(e) = line(raw, Origin::new(display, i as u32 + 1))? else {
                continue;
            };
            let include = (e.key == "lxc.include").then(|| dir.join(&e.value));
            // Like LXC, an include naming a directory (trailing `/`) that does not exist is an
            // empty drop-in directory; a missing file is an error.
            let optional = e.value.ends_with('/');
            let origin = e.origin.clone();
            self.entries.push(e);
            match include {
                Some(target) if optional && !crate::source::exists(&target) => {}
                Some(target) => self.include(&target, &origin)?,
                None => {}
            }
        }
        Ok(())
    }

    fn include(&mut self, target: &Path, at: &Origin) -> Result<(), LxcConfigError> {
        if !crate::source::is_dir(target) {
            return self.file(target, at);
        }
        let rerr = |source| LxcConfigError::Read {
            origin: at.clone(),
            path: target.display().to_string(),
            source,
        };
        let files = crate::source::files_in(target, "conf").map_err(rerr)?;
        files.iter().try_for_each(|f| self.file(f, at))
    }
}

/// The value(s) in force for each key, with the origin of each, in first-seen key order.
/// Single-valued keys keep their last value; list keys accumulate, and an empty value clears them.
pub fn effective(cfg: &LxcConfig) -> Vec<(String, Vec<(String, Origin)>)> {
    let mut out: Vec<(String, Vec<(String, Origin)>)> = Vec::new();
    for e in cfg.entries.iter().filter(|e| e.key != "lxc.include") {
        let slot = match out.iter().position(|(k, _)| *k == e.key) {
            Some(i) => i,
            None => {
                out.push((e.key.clone(), Vec::new()));
                out.len() - 1
            }
        };
        let values = &mut out[slot].1;
        if e.value.is_empty() || !keys::is_list(&e.key) {
            values.clear();
        }
        if !e.value.is_empty() {
            values.push((e.value.clone(), e.origin.clone()));
        }
    }
    out.retain(|(_, v)| !v.is_empty());
    out
}

/// Keys present that lxnest does not enforce, each with where it was set.
pub fn not_enforced(cfg: &LxcConfig) -> Vec<(String, Origin)> {
    effective(cfg)
        .into_iter()
        .filter(|(k, _)| keys::support(k) == Some(Support::NotEnforced))
        .map(|(k, v)| (k, v.last().map(|(_, o)| o.clone()).unwrap_or_default()))
        .collect()
}
