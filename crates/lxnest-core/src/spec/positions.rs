//! Where each value of a spec file was written, from the YAML parser's own markers.
//!
//! serde_yaml_ng reports a position for its errors but none for the values it hands to serde, so
//! the loader walks the same text once more with an event parser (saphyr-parser) whose events
//! carry markers, and keeps a map from each value's path (`containers[0].seccomp.rules[2]`) to
//! its line and column. Every origin the loader fills and every error it raises takes its line
//! from this map; nothing searches the text.

use crate::origin::Origin;
use saphyr_parser::{Event, Parser};
use std::collections::BTreeMap;

/// A position in a file: 1-based line and column (column counted in characters).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Pos {
    /// 1-based line.
    pub line: u32,
    /// 1-based column.
    pub column: u32,
}

/// The positions of every key and value of one YAML document, by path.
#[derive(Debug, Clone, Default)]
pub struct Positions {
    // Sorted, so that the values below one path are one range (see `under`).
    values: BTreeMap<String, Pos>,
    keys: BTreeMap<String, Pos>,
}

/// The path of `key` in the mapping at `base` (`containers[0]` + `name`).
pub fn field(base: &str, key: &str) -> String {
    if base.is_empty() {
        key.to_string()
    } else {
        format!("{base}.{key}")
    }
}

/// The path of item `index` of the sequence at `base`.
pub fn item(base: &str, index: usize) -> String {
    format!("{base}[{index}]")
}

/// One open collection while the events are walked.
enum Frame {
    /// A mapping at `path`; `key` is the key whose value comes next, `None` when a key comes next.
    Map { path: String, key: Option<String> },
    /// A sequence at `path`; `next` is the index of its next item.
    Seq { path: String, next: usize },
    /// A collection used as a mapping key (valid YAML, never a spec key): its contents have no path.
    Skip,
}

impl Positions {
    /// Walk `text` and record where each key and value starts. The text has already been parsed
    /// by serde_yaml_ng; should this parser stop early on something libyaml accepted, the
    /// positions found so far are kept and the rest fall back to the enclosing value's.
    pub fn read(text: &str) -> Positions {
        let mut out = Positions::default();
        let mut stack: Vec<Frame> = Vec::new();
        let mut documents = 0;
        for event in Parser::new_from_str(text) {
            let Ok((event, span)) = event else {
                break;
            };
            let pos = Pos {
                line: span.start.line() as u32,
                column: span.start.col() as u32 + 1,
            };
            match event {
                Event::DocumentStart(_) => {
                    documents += 1;
                    // A spec is one document; serde_yaml_ng refuses more.
                    if documents > 1 {
                        break;
                    }
                }
                Event::Scalar(value, ..) => {
                    if let Some(path) = out.node(&mut stack, pos, Some(&value)) {
                        out.values.insert(path, pos);
                    }
                }
                Event::Alias(_) => {
                    if let Some(path) = out.node(&mut stack, pos, None) {
                        out.values.insert(path, pos);
                    }
                }
                Event::MappingStart(..) | Event::SequenceStart(..) => {
                    let is_map = matches!(event, Event::MappingStart(..));
                    let frame = match out.node(&mut stack, pos, None) {
                        Some(path) => {
                            out.values.insert(path.clone(), pos);
                            if is_map {
                                Frame::Map { path, key: None }
                            } else {
                                Frame::Seq { path, next: 0 }
                            }
                        }
                        None => Frame::Skip,
                    };
                    stack.push(frame);
                }
                Event::MappingEnd | Event::SequenceEnd => {
                    stack.pop();
                }
                _ => {}
            }
        }
        out
    }

    /// A node starts at `pos`: the path of the value it is, or `None` for a mapping key (recorded
    /// here, with its text `scalar`) or anything inside a skipped collection.
    fn node(&mut self, stack: &mut [Frame], pos: Pos, scalar: Option<&str>) -> Option<String> {
        match stack.last_mut() {
            None => Some(String::new()),
            Some(Frame::Skip) => None,
            Some(Frame::Seq { path, next }) => {
                *next += 1;
                Some(item(path, *next - 1))
            }
            Some(Frame::Map { path, key }) => match key.take() {
                Some(k) => Some(field(path, &k)),
                None => {
                    // A key. A collection as a key gets a placeholder so its value is skipped.
                    let k = scalar.unwrap_or("?").to_string();
                    self.keys.insert(field(path, &k), pos);
                    *key = Some(k);
                    None
                }
            },
        }
    }

    /// Where the value at `path` starts.
    pub fn value(&self, path: &str) -> Option<Pos> {
        self.values.get(path).copied()
    }

    /// Where the key of the value at `path` is written.
    pub fn key(&self, path: &str) -> Option<Pos> {
        self.keys.get(path).copied()
    }

    /// The origin of the value at `path` in `file`, or of the nearest enclosing value the parser
    /// placed (line 0, the whole file, when none).
    pub fn origin(&self, file: &str, path: &str) -> Origin {
        let mut p = path;
        loop {
            if let Some(pos) = self.value(p) {
                return Origin::new(file, pos.line);
            }
            match p.rfind(['.', '[']) {
                Some(i) => p = &p[..i],
                None => return Origin::new(file, 0),
            }
        }
    }

    /// Every recorded value path under the mapping at `base` (not `base` itself), relative to
    /// it, with its position.
    pub fn under<'a>(&'a self, base: &str) -> impl Iterator<Item = (&'a str, Pos)> + 'a {
        let prefix = format!("{base}.");
        let start = prefix.clone();
        self.values
            .range(start..)
            .map_while(move |(p, pos)| Some((p.strip_prefix(prefix.as_str())?, *pos)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_keys_and_items_have_their_line_and_column() {
        let text = "# comment\nname: demo\ncontainers:\n  - name: a\n    seccomp:\n      rules: [\"acct errno 1\", 'ptrace errno 1']\n    children:\n      - {name: b, runtime: lxc}\n";
        let p = Positions::read(text);
        assert_eq!(p.value("name"), Some(Pos { line: 2, column: 7 }));
        assert_eq!(p.key("name"), Some(Pos { line: 2, column: 1 }));
        assert_eq!(
            p.value("containers[0].name"),
            Some(Pos {
                line: 4,
                column: 11
            })
        );
        assert_eq!(
            p.value("containers[0].seccomp.rules[1]"),
            Some(Pos {
                line: 6,
                column: 31
            })
        );
        assert_eq!(
            p.value("containers[0].children[0].runtime"),
            Some(Pos {
                line: 8,
                column: 28
            })
        );
        assert_eq!(p.origin("f", "containers[0].children[0].hooks").line, 8);
        assert_eq!(p.origin("f", "nowhere").line, 0);
    }

    #[test]
    fn under_lists_one_mapping_s_values_only() {
        let text = "containers:\n  - name: a\n    limits: {cpu: 1}\n  - name: b\n";
        let p = Positions::read(text);
        let got: Vec<(&str, u32)> = p
            .under("containers[0]")
            .map(|(k, pos)| (k, pos.line))
            .collect();
        assert_eq!(got, [("limits", 3), ("limits.cpu", 3), ("name", 2)]);
        assert_eq!(p.under("containers[1]").count(), 1);
    }

    #[test]
    fn block_scalars_and_complex_keys_do_not_confuse_the_paths() {
        let text =
            "containers:\n  - name: a\n    command:\n      - |\n        two\n        lines\n      - x\n    ? [odd, key]\n    : ignored\n    runtime: lxc\n";
        let p = Positions::read(text);
        assert_eq!(p.value("containers[0].command[1]").map(|p| p.line), Some(7));
        assert_eq!(p.value("containers[0].runtime").map(|p| p.line), Some(10));
    }

    #[test]
    fn text_the_parser_refuses_keeps_what_came_before() {
        let p = Positions::read("name: a\nlist: [unclosed\n");
        assert_eq!(p.value("name").map(|p| p.line), Some(1));
    }
}
