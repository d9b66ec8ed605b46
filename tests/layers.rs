//! The layers, checked from the source (docs/architecture.md): no cycle between the top-level
//! modules of a crate, no cycle between the modules inside one top-level module, and the core
//! crate (`crates/lxnest-core`) pure: no nix, no libc in its dependency tree, no filesystem or
//! process access outside its one loader (`source.rs`). The compiler already refuses a core module
//! that imports an apply module (the core crate cannot name the crate above it); these checks
//! hold the rest. The fixtures at the end prove each check can fail.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// A crate's sources: path relative to its `src/` -> text.
type Files = BTreeMap<String, String>;

const CORE: &str = "crates/lxnest-core";

/// Module cycles known today inside one top-level module, each to be broken by a later change.
/// The check fails on any other cycle, and on one of these that is gone (so the list shrinks).
const KNOWN_INNER: &[&str] = &[];

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn read_tree(src: &Path) -> Files {
    fn walk(dir: &Path, base: &Path, out: &mut Files) {
        for e in std::fs::read_dir(dir).expect("source dir").flatten() {
            let p = e.path();
            if p.is_dir() {
                walk(&p, base, out);
            } else if p.extension().is_some_and(|x| x == "rs") {
                let rel = p.strip_prefix(base).unwrap().to_string_lossy().into_owned();
                out.insert(rel, std::fs::read_to_string(&p).expect("source file"));
            }
        }
    }
    let mut out = Files::new();
    walk(src, src, &mut out);
    out
}

/// Whether a file is test code only (`tests.rs`, `*_tests.rs`, anything under a `tests/`).
fn is_test_file(rel: &str) -> bool {
    let name = rel.rsplit('/').next().unwrap_or(rel);
    name == "tests.rs" || name.ends_with("_tests.rs") || rel.split('/').any(|c| c == "tests")
}

/// The code of a file without comments and without its `#[cfg(test)] mod tests` (tests may use
/// what the layer below must not: an oracle, a fixture).
fn code(text: &str) -> String {
    let cut = text
        .find("#[cfg(test)]\nmod tests")
        .or_else(|| text.find("#[cfg(test)]\nmod "))
        .unwrap_or(text.len());
    text[..cut]
        .lines()
        .map(|l| match l.find("//") {
            // `//` inside a string ("http://") is rare in these sources; a dropped tail there can
            // only hide an edge, never invent one.
            Some(i) => &l[..i],
            None => l,
        })
        .collect::<Vec<_>>()
        .join("\n")
}

fn ident_at(s: &str) -> Option<&str> {
    let end = s
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .unwrap_or(s.len());
    (end > 0).then(|| &s[..end])
}

/// The first path segment after every `prefix` in `code`: `prefix::a` gives `a`,
/// `prefix::{a::x, b, c::{..}}` gives `a`, `b` and `c`.
fn heads(code: &str, prefix: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let pat = format!("{prefix}::");
    let mut rest = code;
    while let Some(i) = rest.find(&pat) {
        // `super::super::x` when looking for `super::`: only the full run counts.
        let before_ok = i < 2 || &rest[i - 2..i] != "::";
        rest = &rest[i + pat.len()..];
        if !before_ok {
            continue;
        }
        if let Some(group) = rest.strip_prefix('{') {
            let mut depth = 1;
            let mut item_start = true;
            for (k, c) in group.char_indices() {
                match c {
                    '{' => depth += 1,
                    '}' => {
                        depth -= 1;
                        if depth == 0 {
                            break;
                        }
                    }
                    ',' if depth == 1 => item_start = true,
                    c if c.is_whitespace() => {}
                    _ if item_start && depth == 1 => {
                        item_start = false;
                        if let Some(id) = ident_at(&group[k..]) {
                            out.insert(id.to_string());
                        }
                    }
                    _ => {}
                }
            }
        } else if let Some(id) = ident_at(rest) {
            out.insert(id.to_string());
        }
    }
    out
}

/// The module path of a file: `a.rs` -> [a], `a/mod.rs` -> [a], `a/b.rs` -> [a, b].
fn module_path(rel: &str) -> Vec<String> {
    let mut parts: Vec<String> = rel
        .trim_end_matches(".rs")
        .split('/')
        .map(String::from)
        .collect();
    if parts.last().is_some_and(|p| p == "mod") {
        parts.pop();
    }
    parts
}

/// Top-level module -> the top-level modules of the same crate its (non-test) code names.
fn top_edges(files: &Files) -> BTreeMap<String, BTreeSet<String>> {
    let tops: BTreeSet<String> = files
        .keys()
        .map(|r| module_path(r)[0].clone())
        .filter(|t| t != "lib" && t != "main")
        .collect();
    let mut edges: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (rel, text) in files.iter().filter(|(r, _)| !is_test_file(r)) {
        let me = module_path(rel)[0].clone();
        if !tops.contains(&me) {
            continue;
        }
        let to = heads(&code(text), "crate");
        let e = edges.entry(me.clone()).or_default();
        e.extend(to.into_iter().filter(|t| *t != me && tops.contains(t)));
    }
    edges
}

/// For each top-level module with submodules: submodule -> the sibling submodules it names.
fn inner_edges(files: &Files) -> BTreeMap<String, BTreeMap<String, BTreeSet<String>>> {
    let mut subs: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for rel in files.keys() {
        let m = module_path(rel);
        if m.len() >= 2 {
            subs.entry(m[0].clone()).or_default().insert(m[1].clone());
        }
    }
    let mut out: BTreeMap<String, BTreeMap<String, BTreeSet<String>>> = BTreeMap::new();
    for (rel, text) in files.iter().filter(|(r, _)| !is_test_file(r)) {
        let m = module_path(rel);
        if m.len() < 2 {
            continue;
        }
        let (top, me) = (&m[0], &m[1]);
        let code = code(text);
        let mut named = heads(&code, &format!("crate::{top}"));
        let up = vec!["super"; m.len() - 1].join("::");
        named.extend(heads(&code, &up));
        let siblings = &subs[top];
        let e = out
            .entry(top.clone())
            .or_default()
            .entry(me.clone())
            .or_default();
        e.extend(
            named
                .into_iter()
                .filter(|n| n != me && siblings.contains(n)),
        );
    }
    out
}

/// The strongly connected components with more than one member (Tarjan), each sorted.
fn cycles(edges: &BTreeMap<String, BTreeSet<String>>) -> Vec<Vec<String>> {
    struct T<'a> {
        edges: &'a BTreeMap<String, BTreeSet<String>>,
        index: BTreeMap<&'a str, usize>,
        low: BTreeMap<&'a str, usize>,
        stack: Vec<&'a str>,
        on: BTreeSet<&'a str>,
        out: Vec<Vec<String>>,
    }
    fn visit<'a>(t: &mut T<'a>, v: &'a str) {
        let i = t.index.len();
        t.index.insert(v, i);
        t.low.insert(v, i);
        t.stack.push(v);
        t.on.insert(v);
        if let Some(ws) = t.edges.get(v) {
            for w in ws {
                let w = w.as_str();
                if !t.index.contains_key(w) {
                    visit(t, w);
                    let l = t.low[w].min(t.low[v]);
                    t.low.insert(v, l);
                } else if t.on.contains(w) {
                    let l = t.index[w].min(t.low[v]);
                    t.low.insert(v, l);
                }
            }
        }
        if t.low[v] == t.index[v] {
            let mut comp = Vec::new();
            while let Some(w) = t.stack.pop() {
                t.on.remove(w);
                comp.push(w.to_string());
                if w == v {
                    break;
                }
            }
            if comp.len() > 1 {
                comp.sort();
                t.out.push(comp);
            }
        }
    }
    let mut t = T {
        edges,
        index: BTreeMap::new(),
        low: BTreeMap::new(),
        stack: Vec::new(),
        on: BTreeSet::new(),
        out: Vec::new(),
    };
    for v in edges.keys() {
        if !t.index.contains_key(v.as_str()) {
            visit(&mut t, v);
        }
    }
    t.out.sort();
    t.out
}

/// Every cycle of a crate, as `"top: a b"` for inner ones and `"crate: a b"` for top-level ones.
fn all_cycles(files: &Files) -> Vec<String> {
    let mut out: Vec<String> = cycles(&top_edges(files))
        .into_iter()
        .map(|c| format!("crate: {}", c.join(" ")))
        .collect();
    for (top, edges) in inner_edges(files) {
        out.extend(
            cycles(&edges)
                .into_iter()
                .map(|c| format!("{top}: {}", c.join(" "))),
        );
    }
    out
}

/// What the core crate's code does that only the apply layer may: `file: what`.
fn impurities(files: &Files) -> Vec<String> {
    const FORBIDDEN: &[&str] = &[
        "nix::",
        "libc::",
        "std::fs",
        "fs::read",
        "fs::write",
        "File::open",
        "OpenOptions",
        "std::process",
        "std::env::",
        "canonicalize(",
        ".exists()",
        ".is_file()",
        ".is_dir()",
        "read_dir(",
        ".metadata(",
    ];
    let mut out = Vec::new();
    for (rel, text) in files.iter().filter(|(r, _)| !is_test_file(r)) {
        if rel == "source.rs" {
            continue;
        }
        let code = code(text);
        out.extend(
            FORBIDDEN
                .iter()
                .filter(|f| code.contains(*f))
                .map(|f| format!("{rel}: {f}")),
        );
    }
    out
}

/// The packages `pkg` builds with on this machine (normal and build dependencies, for this
/// target and the features in use), as `cargo tree` resolves them. Cargo.lock alone is not
/// enough: it records the union over features and targets (pest's build-time `sha2` lists
/// `cpufeatures` -> `libc`, which only aarch64 builds).
fn dependency_tree(pkg: &str) -> BTreeSet<String> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let out = std::process::Command::new(cargo)
        .args([
            "tree",
            "--offline",
            "-e",
            "normal,build",
            "--prefix",
            "none",
            "-p",
            pkg,
        ])
        .current_dir(repo())
        .output()
        .expect("run cargo tree");
    assert!(
        out.status.success(),
        "cargo tree -p {pkg}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| l.split_whitespace().next())
        .map(str::to_string)
        .collect()
}

#[test]
fn no_cycle_between_modules() {
    let root = repo();
    let core = read_tree(&root.join(CORE).join("src"));
    let apply = read_tree(&root.join("src"));
    let core_cycles = all_cycles(&core);
    assert!(
        core_cycles.is_empty(),
        "module cycles in the core crate: {core_cycles:#?}"
    );
    let found = all_cycles(&apply);
    let new: Vec<&String> = found
        .iter()
        .filter(|c| !KNOWN_INNER.contains(&c.as_str()))
        .collect();
    assert!(new.is_empty(), "module cycles in src/: {new:#?}");
    let gone: Vec<&&str> = KNOWN_INNER
        .iter()
        .filter(|k| !found.iter().any(|f| f == *k))
        .collect();
    assert!(
        gone.is_empty(),
        "known cycles that are gone: take them out of KNOWN_INNER: {gone:#?}"
    );
}

#[test]
fn the_core_crate_is_pure() {
    let root = repo();
    let core = read_tree(&root.join(CORE).join("src"));
    assert!(
        core.contains_key("plan/mod.rs"),
        "the core crate holds the planner"
    );
    let bad = impurities(&core);
    assert!(
        bad.is_empty(),
        "kernel or filesystem access in the core crate (only source.rs reads files): {bad:#?}"
    );
    let tree = dependency_tree("lxnest-core");
    assert!(tree.contains("serde"), "the tree was read: {tree:?}");
    for banned in ["nix", "libc", "lxnest"] {
        assert!(
            !tree.contains(banned),
            "lxnest-core depends on {banned} (cargo tree -p lxnest-core -e normal -i {banned})"
        );
    }
}

#[test]
fn the_apply_crate_reexports_the_core_modules_at_their_paths() {
    let lib = std::fs::read_to_string(repo().join("src/lib.rs")).unwrap();
    let core = read_tree(&repo().join(CORE).join("src"));
    let tops: BTreeSet<String> = core
        .keys()
        .filter(|r| !is_test_file(r))
        .map(|r| module_path(r)[0].clone())
        .filter(|t| t != "lib")
        .collect();
    let mut exported = heads(&code(&lib), "pub use lxnest_core");
    for line in lib.lines() {
        if let Some(m) = line
            .strip_prefix("pub mod ")
            .and_then(|r| r.strip_suffix(" {"))
        {
            exported.insert(m.to_string());
        }
    }
    let missing: Vec<&String> = tops.iter().filter(|t| !exported.contains(*t)).collect();
    assert!(
        missing.is_empty(),
        "lxnest does not re-export these lxnest_core modules at their paths: {missing:?}"
    );
}

// Fixtures: each check fails where it must.

fn fixture(files: &[(&str, &str)]) -> Files {
    files
        .iter()
        .map(|(p, t)| (p.to_string(), t.to_string()))
        .collect()
}

#[test]
fn a_deliberate_top_level_cycle_is_found() {
    let f = fixture(&[
        ("lib.rs", "pub mod a;\npub mod b;\npub mod c;\n"),
        ("a.rs", "use crate::b::X;\n"),
        ("b/mod.rs", "pub mod inner;\n"),
        ("b/inner.rs", "pub fn f() { crate::c::g() }\n"),
        ("c.rs", "use crate::{a::Y, b};\n// crate::nothing\n"),
    ]);
    assert_eq!(all_cycles(&f), ["crate: a b c"]);
    // Test code does not count: the same edge from a test module or file is no cycle.
    let f = fixture(&[
        ("a.rs", "use crate::b::X;\n"),
        (
            "b.rs",
            "pub struct X;\n#[cfg(test)]\nmod tests { use crate::a; }\n",
        ),
        ("b_tests.rs", "use crate::a;\n"),
    ]);
    assert!(all_cycles(&f).is_empty());
}

#[test]
fn a_deliberate_inner_cycle_is_found() {
    let f = fixture(&[
        ("m/mod.rs", "mod x;\nmod y;\nmod z;\n"),
        ("m/x.rs", "use super::y::Y;\n"),
        ("m/y.rs", "use super::{z, w};\n"),
        ("m/z/mod.rs", "mod deep;\n"),
        (
            "m/z/deep.rs",
            "use super::super::x::X;\nuse super::sibling;\n",
        ),
        ("n.rs", "use crate::m::x;\n"),
    ]);
    assert_eq!(all_cycles(&f), ["m: x y z"]);
}

#[test]
fn impure_core_code_is_found() {
    let f = fixture(&[
        ("source.rs", "fn r() { std::fs::read(\"x\"); }\n"),
        ("plan/walk.rs", "fn r() { let _ = nix::unistd::getpid(); }\n"),
        ("spec/load.rs", "use std::fs::File;\n"),
        ("ok.rs", "// std::fs in a comment\n#[cfg(test)]\nmod tests { fn t() { std::fs::read(\"x\"); } }\n"),
    ]);
    assert_eq!(
        impurities(&f),
        ["plan/walk.rs: nix::", "spec/load.rs: std::fs"]
    );
}

/// The query that holds the core crate finds libc where it is: in the apply crate's tree, and deep
/// (through nix, caps, landlock ...), not only as a direct dependency.
#[test]
fn a_banned_dependency_deep_in_the_tree_is_found() {
    let tree = dependency_tree("lxnest");
    for deep in ["libc", "nix", "lxnest-core"] {
        assert!(tree.contains(deep), "{deep} not found: {tree:?}");
    }
}
