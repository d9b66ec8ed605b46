//! Reading a spec file and its includes into a [`Stack`]: includes first (in order), then the file
//! itself; defaults apply to every container that leaves a field unset.

use crate::origin::Origin;
use crate::spec::error::SpecError;
use crate::spec::model::{ContainerDefaults, ContainerSpec, RootfsSpec, SpecFile, Stack};
use std::path::{Path, PathBuf};

/// Includes may nest this deep (the top file counts as 1).
pub const INCLUDE_DEPTH_LIMIT: usize = 8;

/// The example stacks of `nesting/examples/`, compiled in so `builtin:NAME` works anywhere.
const BUILTIN: &[(&str, &str)] = &[
    (
        "common.yaml",
        include_str!("../../../../nesting/examples/common.yaml"),
    ),
    (
        "juju-laptop.yaml",
        include_str!("../../../../nesting/examples/juju-laptop.yaml"),
    ),
    (
        "docker-in-lxc.yaml",
        include_str!("../../../../nesting/examples/docker-in-lxc.yaml"),
    ),
    (
        "three-levels.yaml",
        include_str!("../../../../nesting/examples/three-levels.yaml"),
    ),
];

/// Prefix that names a built-in example instead of a file (`builtin:juju-laptop`).
pub const BUILTIN_PREFIX: &str = "builtin:";

/// Names of the built-in example stacks.
pub fn builtin_names() -> Vec<&'static str> {
    BUILTIN
        .iter()
        .map(|(n, _)| n.trim_end_matches(".yaml"))
        .filter(|n| *n != "common")
        .collect()
}

/// Where spec text comes from: the filesystem, or the compiled-in examples.
trait Source {
    /// A key that is equal for the same file however it is named (for cycle detection), and
    /// the file's text.
    fn read(&self, path: &Path) -> std::io::Result<(PathBuf, String)>;
}

struct Files;

impl Source for Files {
    fn read(&self, path: &Path) -> std::io::Result<(PathBuf, String)> {
        Ok((
            crate::source::canonical(path)?,
            crate::source::read_input(path)?,
        ))
    }
}

struct Builtin;

impl Source for Builtin {
    fn read(&self, path: &Path) -> std::io::Result<(PathBuf, String)> {
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        BUILTIN
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(n, t)| (PathBuf::from(n), t.to_string()))
            .ok_or_else(|| {
                std::io::Error::new(std::io::ErrorKind::NotFound, "no such built-in example")
            })
    }
}

/// Read a spec file from disk (or `builtin:NAME`), resolving includes.
pub fn load(path: &Path) -> Result<Stack, SpecError> {
    let text = path.to_string_lossy();
    if let Some(name) = text.strip_prefix(BUILTIN_PREFIX) {
        let file = PathBuf::from(format!("{name}.yaml"));
        let mut loader = Loader {
            chain: Vec::new(),
            source: &Builtin,
        };
        let merged = loader.read(&file, None).map_err(|e| match e {
            SpecError::Read { .. } => SpecError::Invalid {
                origin: Origin::new(text.to_string(), 0),
                message: format!("no built-in stack `{name}`"),
                fix: format!("use one of: {}", builtin_names().join(", ")),
            },
            other => other,
        })?;
        let stack_name = merged.name.clone().unwrap_or_else(|| name.to_string());
        return finish(stack_name, text.to_string(), merged);
    }
    let mut loader = Loader {
        chain: Vec::new(),
        source: &Files,
    };
    let merged = loader.read(path, None)?;
    let display = display_path(path);
    let name = merged
        .name
        .clone()
        .or_else(|| path.file_stem().map(|s| s.to_string_lossy().into_owned()))
        .unwrap_or_else(|| "stack".into());
    finish(name, display, merged)
}

/// Parse a spec from text (no includes allowed), e.g. a built-in default.
pub fn parse_str(text: &str, file: &str) -> Result<Stack, SpecError> {
    let mut parsed = parse_file(text, file)?;
    if let Some(inc) = parsed.include.first() {
        return Err(SpecError::Invalid {
            origin: Origin::new(file, line_of(&text.lines().collect::<Vec<_>>(), inc, 1)),
            message: "includes need a spec read from a file".into(),
            fix: "save the spec to a file and pass its path".into(),
        });
    }
    let name = parsed.name.take().unwrap_or_else(|| "stack".into());
    finish(name, file.into(), parsed)
}

fn finish(name: String, source: String, file: SpecFile) -> Result<Stack, SpecError> {
    let mut containers = file.containers;
    if let Some(defaults) = &file.defaults {
        for c in &mut containers {
            apply_defaults(c, defaults);
        }
    }
    crate::spec::validate_values::stack_name(&name, &source)?;
    crate::spec::validate::containers(&containers, &source)?;
    for c in &mut containers {
        read_seccomp_files(c)?;
    }
    Ok(Stack {
        name,
        source,
        containers,
    })
}

struct Loader<'s> {
    /// Canonical paths of the files being read, outermost first (for cycle detection).
    chain: Vec<PathBuf>,
    source: &'s dyn Source,
}

impl Loader<'_> {
    fn read(&mut self, path: &Path, from: Option<Origin>) -> Result<SpecFile, SpecError> {
        let display = display_path(path);
        let at = from
            .clone()
            .unwrap_or_else(|| Origin::new(display.clone(), 0));
        let (canonical, text) = self.source.read(path).map_err(|source| SpecError::Read {
            file: match &from {
                Some(o) => format!("{o}: include {display}"),
                None => display.clone(),
            },
            source,
        })?;
        if self.chain.contains(&canonical) {
            let mut names: Vec<String> = self.chain.iter().map(|p| display_path(p)).collect();
            names.push(display);
            return Err(SpecError::IncludeCycle {
                origin: at,
                chain: names.join(" -> "),
            });
        }
        if self.chain.len() >= INCLUDE_DEPTH_LIMIT {
            return Err(SpecError::IncludeDepth {
                origin: at,
                limit: INCLUDE_DEPTH_LIMIT,
            });
        }
        let mut file = parse_file(&text, &display)?;
        let dir = path.parent().unwrap_or(Path::new("."));
        file.containers
            .iter_mut()
            .for_each(|c| resolve_paths(c, dir));
        if let Some(d) = &mut file.defaults {
            for f in &mut d.seccomp.files {
                *f = display_path(&dir.join(&*f));
            }
        }
        self.chain.push(canonical);
        let merged = self.merge_includes(path, &display, &text, &mut file);
        self.chain.pop();
        let mut base = merged?;
        base.containers.append(&mut file.containers);
        base.defaults = merge_defaults(base.defaults.take(), file.defaults.take());
        base.name = file.name.or(base.name);
        Ok(base)
    }

    fn merge_includes(
        &mut self,
        path: &Path,
        display: &str,
        text: &str,
        file: &mut SpecFile,
    ) -> Result<SpecFile, SpecError> {
        let dir = path.parent().unwrap_or(Path::new("."));
        let lines: Vec<&str> = text.lines().collect();
        let mut base = SpecFile::default();
        for inc in std::mem::take(&mut file.include) {
            let origin = Origin::new(display, line_of(&lines, &inc, 1));
            let mut sub = self.read(&dir.join(&inc), Some(origin))?;
            base.containers.append(&mut sub.containers);
            base.defaults = merge_defaults(base.defaults.take(), sub.defaults.take());
            base.name = base.name.or(sub.name);
        }
        Ok(base)
    }
}

/// Parse one file's YAML and fill container origins.
fn parse_file(text: &str, display: &str) -> Result<SpecFile, SpecError> {
    let mut file: SpecFile = serde_yaml_ng::from_str(text).map_err(|e| {
        let line = e.location().map(|l| l.line() as u32).unwrap_or(0);
        let mut message = e.to_string();
        if message.contains("RootfsSpec") {
            // serde's untagged-enum message names no alternative; say what `rootfs:` takes.
            message.push_str("\n  fix: rootfs takes `builtin`, `dir:PATH`, `tar:PATH`, or `{ path: PATH, encrypt: fscrypt, key: passphrase|stdin|file:/PATH }`");
        }
        SpecError::Syntax { origin: Origin::new(display, line), message }
    })?;
    let lines: Vec<&str> = text.lines().collect();
    if let Some(name) = &file.name {
        // Checked here, where the line is known (the top-level `name:` key).
        let line = lines
            .iter()
            .position(|l| l.starts_with("name:"))
            .map_or(0, |i| i as u32 + 1);
        crate::spec::validate_values::stack_name_at(name, display, line)?;
    }
    let mut cursor = 1;
    for c in &mut file.containers {
        c.normalize_rootfs();
        fill_origins(c, &lines, display, &mut cursor);
    }
    if let Some(d) = &mut file.defaults {
        d.seccomp.rule_origins = rule_origins(&d.seccomp.rules, &lines, display, 1);
        d.apparmor.rule_origins = rule_origins(&d.apparmor.rules, &lines, display, 1);
    }
    Ok(file)
}

/// Containers appear in the text in depth-first order, so each name is searched for after the
/// previous one; that tells apart two `unit-1` under different parents.
fn fill_origins(c: &mut ContainerSpec, lines: &[&str], display: &str, cursor: &mut u32) {
    let line =
        find_name_line(lines, &c.name, *cursor).or_else(|| find_name_line(lines, &c.name, 1));
    let line = line.unwrap_or(0);
    if line > 0 {
        *cursor = line + 1;
    }
    c.origin = Origin::new(display, line);
    c.seccomp.rule_origins = rule_origins(&c.seccomp.rules, lines, display, line);
    c.apparmor.rule_origins = rule_origins(&c.apparmor.rules, lines, display, line);
    for child in &mut c.children {
        fill_origins(child, lines, display, cursor);
    }
}

fn rule_origins(rules: &[String], lines: &[&str], display: &str, from: u32) -> Vec<Origin> {
    rules
        .iter()
        .map(|r| Origin::new(display, line_of(lines, r, from)))
        .collect()
}

/// Paths in a spec are relative to the file that names them.
fn resolve_paths(c: &mut ContainerSpec, dir: &Path) {
    for f in &mut c.seccomp.files {
        *f = display_path(&dir.join(&*f));
    }
    if let Some(RootfsSpec::Source(rootfs)) = &mut c.rootfs {
        for prefix in ["dir:", "tar:"] {
            if let Some(p) = rootfs.strip_prefix(prefix) {
                *rootfs = format!("{prefix}{}", display_path(&dir.join(p)));
                break;
            }
        }
    }
    for m in &mut c.mounts {
        if m.source.starts_with('.') {
            m.source = display_path(&dir.join(&m.source));
        }
    }
    for child in &mut c.children {
        resolve_paths(child, dir);
    }
}

fn find_name_line(lines: &[&str], name: &str, from: u32) -> Option<u32> {
    let start = from.saturating_sub(1) as usize;
    lines.iter().enumerate().skip(start).find_map(|(i, l)| {
        let l = l.trim_start().trim_start_matches("- ").trim();
        let value = l
            .strip_prefix("name:")?
            .trim()
            .trim_matches(|c| c == '"' || c == '\'');
        (value == name).then_some(i as u32 + 1)
    })
}

/// First line at or after `from` that contains `needle` (for origins of list items).
pub(crate) fn line_of(lines: &[&str], needle: &str, from: u32) -> u32 {
    lines
        .iter()
        .enumerate()
        .skip(from.saturating_sub(1) as usize)
        .find(|(_, l)| l.contains(needle))
        .map(|(i, _)| i as u32 + 1)
        .unwrap_or(0)
}

fn merge_defaults(
    base: Option<ContainerDefaults>,
    over: Option<ContainerDefaults>,
) -> Option<ContainerDefaults> {
    match (base, over) {
        (None, o) => o,
        (b, None) => b,
        (Some(mut b), Some(o)) => {
            b.rootfs = o.rootfs.or(b.rootfs);
            b.limits.memory = o.limits.memory.or(b.limits.memory);
            b.limits.pids = o.limits.pids.or(b.limits.pids);
            b.limits.cpu = o.limits.cpu.or(b.limits.cpu);
            b.network.mode = o.network.mode.or(b.network.mode);
            b.network.mtu = o.network.mtu.or(b.network.mtu);
            b.network.nat = o.network.nat.or(b.network.nat);
            b.seccomp.rules.extend(o.seccomp.rules);
            b.seccomp.rule_origins.extend(o.seccomp.rule_origins);
            b.apparmor.rule_origins.extend(o.apparmor.rule_origins);
            b.seccomp.files.extend(o.seccomp.files);
            b.apparmor.rules.extend(o.apparmor.rules);
            b.environment.extend(o.environment);
            extend_hooks(&mut b.hooks, o.hooks);
            Some(b)
        }
    }
}

fn extend_hooks(into: &mut crate::spec::model::Hooks, from: crate::spec::model::Hooks) {
    into.pre_start.extend(from.pre_start);
    into.pre_mount.extend(from.pre_mount);
    into.mount.extend(from.mount);
    into.autodev.extend(from.autodev);
    into.start.extend(from.start);
    into.stop.extend(from.stop);
    into.post_stop.extend(from.post_stop);
}

/// Defaults fill what a container leaves unset; list-valued defaults (rules, hooks) come first so
/// a container's own rules are read after them. Children inherit the same defaults.
fn apply_defaults(c: &mut ContainerSpec, d: &ContainerDefaults) {
    c.rootfs = c
        .rootfs
        .take()
        .or_else(|| d.rootfs.clone().map(RootfsSpec::Source));
    c.limits.memory = c.limits.memory.take().or_else(|| d.limits.memory.clone());
    c.limits.pids = c.limits.pids.or(d.limits.pids);
    c.limits.cpu = c.limits.cpu.or(d.limits.cpu);
    c.network.mode = c.network.mode.take().or_else(|| d.network.mode.clone());
    c.network.mtu = c.network.mtu.or(d.network.mtu);
    c.network.nat = c.network.nat.or(d.network.nat);
    prepend(&mut c.seccomp.rules, &d.seccomp.rules);
    prepend(&mut c.seccomp.rule_origins, &d.seccomp.rule_origins);
    prepend(&mut c.apparmor.rules, &d.apparmor.rules);
    prepend(&mut c.apparmor.rule_origins, &d.apparmor.rule_origins);
    let own_files = std::mem::take(&mut c.seccomp.files);
    c.seccomp.files = d.seccomp.files.iter().cloned().chain(own_files).collect();
    for (k, v) in &d.environment {
        c.environment.entry(k.clone()).or_insert_with(|| v.clone());
    }
    let own_hooks = std::mem::take(&mut c.hooks);
    let mut hooks = d.hooks.clone();
    extend_hooks(&mut hooks, own_hooks);
    c.hooks = hooks;
    for child in &mut c.children {
        apply_defaults(child, d);
    }
}

/// The planner does no I/O, so policy files named in the spec are read here.
pub(crate) fn read_seccomp_files(c: &mut ContainerSpec) -> Result<(), SpecError> {
    c.seccomp.file_texts.clear();
    for f in &c.seccomp.files {
        let text = crate::source::read_input(Path::new(f)).map_err(|source| SpecError::Read {
            file: format!("{}: container `{}`: seccomp file {f}", c.origin, c.name),
            source,
        })?;
        c.seccomp.file_texts.push((f.clone(), text));
    }
    c.children.iter_mut().try_for_each(read_seccomp_files)
}

fn prepend<T: Clone>(own: &mut Vec<T>, first: &[T]) {
    let mine = std::mem::take(own);
    *own = first.iter().cloned().chain(mine).collect();
}

/// A path as the user should see it: relative to the working directory when below it.
pub fn display_path(path: &Path) -> String {
    let cwd = crate::source::current_dir();
    let shown = cwd
        .as_deref()
        .and_then(|cwd| path.strip_prefix(cwd).ok())
        .unwrap_or(path);
    shown.display().to_string()
}
