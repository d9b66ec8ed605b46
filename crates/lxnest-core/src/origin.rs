//! Where a value came from: a file and a line, so every error and every `explain` answer can point
//! at the source the user edits.

use serde::{Deserialize, Serialize};
use std::fmt;

/// A position in a source file (1-based line). `line == 0` means "the whole file".
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, Default)]
pub struct Origin {
    /// Path as the user would type it (relative to the working directory where possible).
    pub file: String,
    /// 1-based line number, 0 when unknown.
    pub line: u32,
}

impl Origin {
    /// An origin at `file:line`.
    pub fn new(file: impl Into<String>, line: u32) -> Self {
        Origin {
            file: file.into(),
            line,
        }
    }

    /// An origin for a value lxnest itself chose (no file to edit).
    pub fn builtin(what: &str) -> Self {
        Origin {
            file: format!("<builtin:{what}>"),
            line: 0,
        }
    }
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.line == 0 {
            write!(f, "{}", self.file)
        } else {
            write!(f, "{}:{}", self.file, self.line)
        }
    }
}
