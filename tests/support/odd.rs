//! The odd-string generator shared by tests/injection_props.rs and the fuzz crate's
//! `spec_values` target (fuzz/src/values.rs includes this file by path): pieces that break naive
//! formats, appended to plain values. The caller supplies the choices (a seeded generator in the
//! property tests, the input bytes in the fuzzer), so both explore the same alphabet.
#![allow(dead_code)]

/// Pieces that break naive formats: line and field separators, quotes, shell expansions,
/// escapes, comment and assignment characters, non-ASCII, brace and list syntax, path
/// components, globs, printf directives, and an LXC key smuggled after a newline.
pub const NASTY: &[&str] = &[
    "\n",
    "\0",
    "\r",
    "\"",
    "'",
    "$(id)",
    "`id`",
    "\\",
    "\\040",
    "#",
    "=",
    " ",
    "  ",
    "\t",
    "ü",
    "—",
    "{",
    "}",
    ",",
    ";",
    "\nlxc.apparmor.profile = unconfined\n",
    "a",
    "b",
    "/",
    "x",
    "-",
    "%s",
    "..",
    "*",
    "[",
    "]",
    ":",
];

/// `plain` followed by up to `most - 1` pieces of [`NASTY`]; `pick(n)` chooses a number below
/// `n` (the count first, then each piece).
pub fn odd(plain: &str, pick: &mut dyn FnMut(usize) -> usize, most: usize) -> String {
    let mut t = plain.to_string();
    for _ in 0..pick(most) {
        t.push_str(NASTY[pick(NASTY.len())]);
    }
    t
}
