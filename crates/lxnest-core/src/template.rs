//! The renderer of lxnest's policy templates (`policy/apparmor/*.hbs`, `policy/lxc/*.hbs`): the
//! part of Handlebars they use, written here so that the core crate needs no template engine that
//! pulls libc (handlebars' parser guards its stack through `stacker`, which does).
//!
//! What a template may say: `{{path}}` (`name`, `net.link`, `this`, `this.x`), `{{#if EXPR}}`,
//! `{{#unless EXPR}}` (each with an optional `{{else}}`), `{{#each path}}` over a list (its body
//! reads the item as `this`), and as EXPR a path or `(and E E ...)`, `(or E E ...)`, `(not E)`.
//! As in Handlebars: nothing is escaped; false, null, 0, "", [] and {} are false; a block tag
//! alone on its line (a standalone tag) takes its whole line with it. Unlike Handlebars' default,
//! and like its strict mode, a path the context lacks is an error, not an empty string. A test
//! holds the output against handlebars itself for every template and flag combination.

use serde_json::Value;
use thiserror::Error;

/// A template that cannot be parsed, or a context that does not fit it.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum TemplateError {
    /// The template text is malformed (a programming error in `policy/`).
    #[error("template line {line}: {message}")]
    Parse {
        /// 1-based line of the tag.
        line: usize,
        /// What is wrong.
        message: String,
    },
    /// The context has no value at a path the template names, or one of the wrong kind.
    #[error("`{path}`: {message}")]
    Render {
        /// The path as the template spells it.
        path: String,
        /// What is wrong.
        message: String,
    },
}

#[derive(Debug, Clone, PartialEq)]
enum Expr {
    Path(String),
    And(Vec<Expr>),
    Or(Vec<Expr>),
    Not(Box<Expr>),
}

#[derive(Debug, Clone, PartialEq)]
enum Node {
    Text(String),
    Var(String),
    If {
        cond: Expr,
        negate: bool,
        then: Vec<Node>,
        other: Vec<Node>,
    },
    Each {
        path: String,
        body: Vec<Node>,
    },
}

/// A parsed template.
#[derive(Debug, Clone, PartialEq)]
pub struct Template {
    nodes: Vec<Node>,
}

/// One piece of the source: text, or a tag with its 1-based line.
#[derive(Debug)]
enum Token {
    Text(String),
    Tag(String, usize),
}

fn is_block(tag: &str) -> bool {
    tag.starts_with('#') || tag.starts_with('/') || tag == "else"
}

fn tokenize(src: &str) -> Result<Vec<Token>, TemplateError> {
    let mut raw: Vec<Token> = Vec::new();
    let mut rest = src;
    let mut line = 1;
    while let Some(open) = rest.find("{{") {
        raw.push(Token::Text(rest[..open].to_string()));
        line += rest[..open].matches('\n').count();
        let after = &rest[open + 2..];
        let close = after.find("}}").ok_or_else(|| TemplateError::Parse {
            line,
            message: "`{{` without `}}`".into(),
        })?;
        raw.push(Token::Tag(after[..close].trim().to_string(), line));
        line += after[..close].matches('\n').count();
        rest = &after[close + 2..];
    }
    raw.push(Token::Text(rest.to_string()));
    // Standalone block tags: decided on the source as written, then the line is taken out.
    let n = raw.len();
    let text = |i: usize| match raw.get(i) {
        Some(Token::Text(t)) => Some(t.as_str()),
        _ => None,
    };
    let mut trim_end = vec![false; n];
    let mut trim_start = vec![false; n];
    for i in 0..n {
        let Token::Tag(tag, _) = &raw[i] else {
            continue;
        };
        if !is_block(tag) {
            continue;
        }
        // raw alternates Text, Tag, Text ...: a tag always has text on both sides.
        let (Some(before), Some(after)) = (text(i - 1), text(i + 1)) else {
            continue;
        };
        let line_before = before.rsplit('\n').next().unwrap_or("");
        let line_after = after.split('\n').next().unwrap_or("");
        let starts_line = before.contains('\n') || i == 1;
        let ends_line = after.contains('\n') || i + 2 == n;
        if starts_line && ends_line && line_before.trim().is_empty() && line_after.trim().is_empty()
        {
            trim_end[i - 1] = true;
            trim_start[i + 1] = true;
        }
    }
    let mut out = Vec::with_capacity(n);
    for (i, t) in raw.into_iter().enumerate() {
        match t {
            Token::Text(s) => {
                let start = if trim_start[i] {
                    s.find('\n').map_or(s.len(), |k| k + 1)
                } else {
                    0
                };
                let end = if trim_end[i] {
                    s.rfind('\n').map_or(0, |k| k + 1)
                } else {
                    s.len()
                };
                if start < end {
                    out.push(Token::Text(s[start..end].to_string()));
                }
            }
            tag => out.push(tag),
        }
    }
    Ok(out)
}

fn parse_expr(src: &str, line: usize) -> Result<Expr, TemplateError> {
    let err = |message: String| TemplateError::Parse { line, message };
    let spaced = src.replace('(', " ( ").replace(')', " ) ");
    let words: Vec<&str> = spaced.split_whitespace().collect();
    fn one(
        w: &[&str],
        at: &mut usize,
        err: &dyn Fn(String) -> TemplateError,
    ) -> Result<Expr, TemplateError> {
        let word = *w
            .get(*at)
            .ok_or_else(|| err("expression ends early".into()))?;
        *at += 1;
        if word == ")" {
            return Err(err("unexpected `)`".into()));
        }
        if word != "(" {
            return Ok(Expr::Path(word.to_string()));
        }
        let op = *w
            .get(*at)
            .ok_or_else(|| err("`(` without a helper".into()))?;
        *at += 1;
        let mut args = Vec::new();
        while w.get(*at) != Some(&")") {
            if *at >= w.len() {
                return Err(err("`(` without `)`".into()));
            }
            args.push(one(w, at, err)?);
        }
        *at += 1;
        match (op, args.len()) {
            ("and", 1..) => Ok(Expr::And(args)),
            ("or", 1..) => Ok(Expr::Or(args)),
            ("not", 1) => Ok(Expr::Not(Box::new(args.remove(0)))),
            _ => Err(err(format!(
                "unknown helper `{op}` or wrong argument count"
            ))),
        }
    }
    let mut at = 0;
    let e = one(&words, &mut at, &err)?;
    if at != words.len() {
        return Err(err(format!("`{src}`: more than one expression")));
    }
    Ok(e)
}

/// Parses tokens up to a closing tag; returns the nodes and, when stopped by `{{else}}` or a
/// close tag, which.
fn parse_nodes(
    tokens: &mut std::iter::Peekable<std::vec::IntoIter<Token>>,
    open: Option<(&str, usize)>,
) -> Result<(Vec<Node>, Option<String>), TemplateError> {
    let mut nodes = Vec::new();
    while let Some(t) = tokens.next() {
        let (tag, line) = match t {
            Token::Text(s) => {
                nodes.push(Node::Text(s));
                continue;
            }
            Token::Tag(tag, line) => (tag, line),
        };
        let err = |message: String| TemplateError::Parse { line, message };
        if tag == "else" || tag.starts_with('/') {
            return match open {
                Some(_) => Ok((nodes, Some(tag))),
                None => Err(err(format!("`{{{{{tag}}}}}` outside a block"))),
            };
        }
        let Some(block) = tag.strip_prefix('#') else {
            if tag.is_empty() || tag.contains(char::is_whitespace) {
                return Err(err(format!("`{{{{{tag}}}}}` is not a path")));
            }
            nodes.push(Node::Var(tag));
            continue;
        };
        let (helper, arg) = block.split_once(char::is_whitespace).unwrap_or((block, ""));
        let arg = arg.trim();
        let (body, end) = parse_nodes(tokens, Some((helper, line)))?;
        let (other, end) = if end.as_deref() == Some("else") {
            if helper == "each" {
                return Err(err("`{{else}}` in `{{#each}}` is not supported".into()));
            }
            parse_nodes(tokens, Some((helper, line)))?
        } else {
            (Vec::new(), end)
        };
        if end.as_deref() != Some(&format!("/{helper}")) {
            return Err(err(format!(
                "`{{{{#{helper}}}}}` is not closed by `{{{{/{helper}}}}}`"
            )));
        }
        nodes.push(match helper {
            "if" | "unless" => Node::If {
                cond: parse_expr(arg, line)?,
                negate: helper == "unless",
                then: body,
                other,
            },
            "each" if !arg.is_empty() && !arg.contains(char::is_whitespace) => Node::Each {
                path: arg.to_string(),
                body,
            },
            _ => return Err(err(format!("unknown block `#{helper} {arg}`"))),
        });
    }
    match open {
        Some((helper, line)) => Err(TemplateError::Parse {
            line,
            message: format!("`{{{{#{helper}}}}}` is never closed"),
        }),
        None => Ok((nodes, None)),
    }
}

impl Template {
    /// Parses `src`.
    pub fn parse(src: &str) -> Result<Template, TemplateError> {
        let mut tokens = tokenize(src)?.into_iter().peekable();
        let (nodes, _) = parse_nodes(&mut tokens, None)?;
        Ok(Template { nodes })
    }

    /// Renders the template with `ctx`.
    pub fn render(&self, ctx: &Value) -> Result<String, TemplateError> {
        let mut out = String::new();
        render_nodes(&self.nodes, ctx, ctx, &mut out)?;
        Ok(out)
    }
}

fn lookup<'a>(root: &'a Value, this: &'a Value, path: &str) -> Result<&'a Value, TemplateError> {
    let missing = |message: &str| TemplateError::Render {
        path: path.to_string(),
        message: message.to_string(),
    };
    let (mut v, rest) = match path.strip_prefix("this") {
        Some("") => return Ok(this),
        Some(r) if r.starts_with('.') => (this, &r[1..]),
        _ if std::ptr::eq(root, this) => (root, path),
        // Inside `#each`, a bare path reads the item, as in Handlebars.
        _ => (this, path),
    };
    for part in rest.split('.') {
        v = v
            .as_object()
            .and_then(|o| o.get(part))
            .ok_or_else(|| missing("the context has no such value"))?;
    }
    Ok(v)
}

fn truthy(v: &Value) -> bool {
    match v {
        Value::Null => false,
        Value::Bool(b) => *b,
        Value::Number(n) => n.as_f64().is_some_and(|f| f != 0.0),
        Value::String(s) => !s.is_empty(),
        Value::Array(a) => !a.is_empty(),
        Value::Object(o) => !o.is_empty(),
    }
}

fn eval(e: &Expr, root: &Value, this: &Value) -> Result<bool, TemplateError> {
    Ok(match e {
        Expr::Path(p) => truthy(lookup(root, this, p)?),
        Expr::And(v) => {
            for x in v {
                if !eval(x, root, this)? {
                    return Ok(false);
                }
            }
            true
        }
        Expr::Or(v) => {
            for x in v {
                if eval(x, root, this)? {
                    return Ok(true);
                }
            }
            false
        }
        Expr::Not(x) => !eval(x, root, this)?,
    })
}

fn render_nodes(
    nodes: &[Node],
    root: &Value,
    this: &Value,
    out: &mut String,
) -> Result<(), TemplateError> {
    for n in nodes {
        match n {
            Node::Text(s) => out.push_str(s),
            Node::Var(p) => match lookup(root, this, p)? {
                Value::String(s) => out.push_str(s),
                Value::Null => {}
                Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
                Value::Number(x) => out.push_str(&x.to_string()),
                _ => {
                    return Err(TemplateError::Render {
                        path: p.clone(),
                        message: "a list or a map cannot be written as text".into(),
                    })
                }
            },
            Node::If {
                cond,
                negate,
                then,
                other,
            } => {
                let branch = if eval(cond, root, this)? != *negate {
                    then
                } else {
                    other
                };
                render_nodes(branch, root, this, out)?;
            }
            Node::Each { path, body } => match lookup(root, this, path)? {
                Value::Array(items) => {
                    for item in items {
                        render_nodes(body, root, item, out)?;
                    }
                }
                Value::Null => {}
                _ => {
                    return Err(TemplateError::Render {
                        path: path.clone(),
                        message: "`#each` needs a list".into(),
                    })
                }
            },
        }
    }
    Ok(())
}

#[cfg(test)]
#[path = "template_tests.rs"]
mod tests;
