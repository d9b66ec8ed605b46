//! AppArmor path globs (AARE), for explaining which rule matches a path.
//!
//! `*` matches within one path component, `**` across components, `?` one character other than
//! `/`, `[abc]`, `[^abc]` and `[a-z]` one character, `{a,b}` either alternative (nested, empty
//! alternatives allowed). As in apparmor_parser, a `*` or `**` right after a `/` must match at
//! least one character, so `/dir/*` and `/dir/**` do not match `/dir/` itself.

/// One element of an expanded (brace-free) pattern.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Tok {
    Lit(char),
    /// `*` (`cross = false`) or `**` (`cross = true`); `nonempty` after a `/`.
    Star {
        cross: bool,
        nonempty: bool,
    },
    /// `?`
    One,
    /// `[...]`: negated, ranges (single chars are ranges of one).
    Class(bool, Vec<(char, char)>),
}

/// A compiled glob: the brace alternatives expanded into plain token sequences.
#[derive(Debug, Clone)]
pub struct Glob {
    alternatives: Vec<Vec<Tok>>,
}

/// Expansion stops here: a pattern with more alternatives than this is not something lxnest renders.
const MAX_ALTERNATIVES: usize = 4096;

impl Glob {
    /// Compiles `pattern`; `None` if braces or brackets are unbalanced or it expands too far.
    pub fn new(pattern: &str) -> Option<Glob> {
        let chars: Vec<char> = pattern.chars().collect();
        let (alts, end) = expand(&chars, 0, false)?;
        if end != chars.len() {
            return None;
        }
        let alternatives = alts
            .iter()
            .map(|a| tokenize(a))
            .collect::<Option<Vec<_>>>()?;
        Some(Glob { alternatives })
    }

    /// Whether the whole of `text` matches.
    pub fn matches(&self, text: &str) -> bool {
        let t: Vec<char> = text.chars().collect();
        self.alternatives.iter().any(|a| match_at(a, &t))
    }
}

/// Expands braces from `i` until the end, or until the `,`/`}` closing the current group when
/// `in_group`; returns the alternatives and the index where it stopped.
fn expand(p: &[char], mut i: usize, in_group: bool) -> Option<(Vec<String>, usize)> {
    let mut done: Vec<String> = Vec::new(); // finished alternatives of this group
    let mut cur: Vec<String> = vec![String::new()]; // the alternative being built (a product)
    let mut in_class = false;
    while i < p.len() {
        let c = p[i];
        if in_class {
            cur.iter_mut().for_each(|s| s.push(c));
            in_class = c != ']';
            i += 1;
            continue;
        }
        match c {
            '\\' if i + 1 < p.len() => {
                cur.iter_mut().for_each(|s| {
                    s.push('\\');
                    s.push(p[i + 1]);
                });
                i += 2;
                continue;
            }
            '[' => in_class = true,
            '{' => {
                let mut options = Vec::new();
                let mut j = i + 1;
                loop {
                    let (alts, end) = expand(p, j, true)?;
                    options.extend(alts);
                    match p.get(end) {
                        Some(',') => j = end + 1,
                        Some('}') => {
                            i = end + 1;
                            break;
                        }
                        _ => return None,
                    }
                }
                cur = cur
                    .iter()
                    .flat_map(|pre| options.iter().map(move |o| format!("{pre}{o}")))
                    .collect();
                if cur.len() > MAX_ALTERNATIVES {
                    return None;
                }
                continue;
            }
            ',' | '}' if in_group => {
                done.extend(cur);
                return Some((done, i));
            }
            _ => {}
        }
        cur.iter_mut().for_each(|s| s.push(c));
        i += 1;
    }
    if in_group || in_class {
        return None;
    }
    done.extend(cur);
    Some((done, i))
}

fn tokenize(s: &str) -> Option<Vec<Tok>> {
    let c: Vec<char> = s.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < c.len() {
        match c[i] {
            '\\' if i + 1 < c.len() => {
                out.push(Tok::Lit(c[i + 1]));
                i += 2;
            }
            '*' => {
                let cross = c.get(i + 1) == Some(&'*');
                let nonempty = i > 0 && c[i - 1] == '/';
                out.push(Tok::Star { cross, nonempty });
                i += if cross { 2 } else { 1 };
                // Runs of stars collapse into the widest.
                while c.get(i) == Some(&'*') {
                    i += 1;
                }
            }
            '?' => {
                out.push(Tok::One);
                i += 1;
            }
            '[' => {
                let mut j = i + 1;
                let neg = c.get(j) == Some(&'^');
                if neg {
                    j += 1;
                }
                let mut ranges = Vec::new();
                while j < c.len() && c[j] != ']' {
                    let lo = c[j];
                    if c.get(j + 1) == Some(&'-') && c.get(j + 2).is_some_and(|&h| h != ']') {
                        ranges.push((lo, c[j + 2]));
                        j += 3;
                    } else {
                        ranges.push((lo, lo));
                        j += 1;
                    }
                }
                if j >= c.len() {
                    return None;
                }
                out.push(Tok::Class(neg, ranges));
                i = j + 1;
            }
            ch => {
                out.push(Tok::Lit(ch));
                i += 1;
            }
        }
    }
    Some(out)
}

/// Backtracking match of a brace-free token list against the whole text.
fn match_at(toks: &[Tok], t: &[char]) -> bool {
    let Some((first, rest)) = toks.split_first() else {
        return t.is_empty();
    };
    match first {
        Tok::Lit(ch) => t.first() == Some(ch) && match_at(rest, &t[1..]),
        Tok::One => t.first().is_some_and(|&c| c != '/') && match_at(rest, &t[1..]),
        Tok::Class(neg, ranges) => {
            t.first()
                .is_some_and(|&c| ranges.iter().any(|&(lo, hi)| lo <= c && c <= hi) != *neg)
                && match_at(rest, &t[1..])
        }
        Tok::Star { cross, nonempty } => {
            if *nonempty && t.first().is_none_or(|&c| c == '/') {
                return false;
            }
            let min = usize::from(*nonempty);
            for n in min..=t.len() {
                if n > 0 && !cross && t[n - 1] == '/' {
                    break;
                }
                if match_at(rest, &t[n..]) {
                    return true;
                }
            }
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(p: &str, t: &str) -> bool {
        Glob::new(p)
            .unwrap_or_else(|| panic!("bad glob {p}"))
            .matches(t)
    }

    #[test]
    fn stars() {
        assert!(m("/proc/sys/**", "/proc/sys/kernel/core_pattern"));
        assert!(!m("/proc/sys/**", "/proc/sys/"));
        assert!(m("/proc/*", "/proc/kcore"));
        assert!(!m("/proc/*", "/proc/sys/x"));
        assert!(!m("/proc/*", "/proc/"));
        assert!(m("/proc/{,**}", "/proc/"));
        assert!(m("/proc/{,**}", "/proc/a/b"));
        assert!(m(
            "/var/lib/lxc/*/rootfs/proc/",
            "/var/lib/lxc/c1/rootfs/proc/"
        ));
        assert!(!m(
            "/var/lib/lxc/*/rootfs/proc/",
            "/var/lib/lxc/a/b/rootfs/proc/"
        ));
        assert!(m("/a*b", "/ab"), "a star after a letter may be empty");
    }

    #[test]
    fn classes_and_question_mark() {
        assert!(m("/proc/sys/[^n]**", "/proc/sys/kernel/x"));
        assert!(!m("/proc/sys/[^n]**", "/proc/sys/net/ipv4/ip_forward"));
        assert!(m("/proc/sys/net?**", "/proc/sys/netfilter/x"));
        assert!(
            !m("/proc/sys/net?**", "/proc/sys/net/x"),
            "? never matches /"
        );
        assert!(m("/dev/tty[0-9]", "/dev/tty7"));
        assert!(!m("/dev/tty[0-9]", "/dev/ttyS"));
    }

    #[test]
    fn braces_nest_and_expand() {
        assert!(m("/{,**/}proc/kcore", "/proc/kcore"));
        assert!(m("/{,**/}proc/kcore", "/var/lib/lxc/c/rootfs/proc/kcore"));
        assert!(m("/{run,dev/{shm,mqueue}}/", "/dev/mqueue/"));
        assert!(!m("/{run,dev/{shm,mqueue}}/", "/dev/"));
        assert!(Glob::new("/{a,b").is_none());
        assert!(Glob::new("/[ab").is_none());
    }
}
