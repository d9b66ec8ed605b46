//! Reading a spec file and its includes into a [`Stack`]: includes first (in order), then the file
//! itself; defaults apply to every container that leaves a field unset.

use crate::origin::Origin;
use crate::spec::defaults::ContainerDefaults;
use crate::spec::error::SpecError;
use crate::spec::merge::Merge;
use crate::spec::model::{ContainerSpec, RootfsSpec, Stack};
use crate::spec::positions::{field, item, Positions};
use serde::Deserialize;
use std::path::{Path, PathBuf};

/// One YAML file as parsed, before includes are resolved.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SpecFile {
    /// Name of the stack (the including file's name wins).
    pub name: Option<String>,
    /// Other spec files to merge in first, relative to this file.
    #[serde(default)]
    pub include: Vec<String>,
    /// Settings every container starts from.
    #[serde(default)]
    pub defaults: Option<ContainerDefaults>,
    /// Level-1 containers.
    #[serde(default)]
    pub containers: Vec<ContainerSpec>,
}

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
    let (mut parsed, positions) = parse_file(text, file)?;
    if !parsed.include.is_empty() {
        return Err(SpecError::Invalid {
            origin: positions.origin(file, &item("include", 0)),
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
            defaults.apply_to(c);
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
        let (mut file, positions) = parse_file(&text, &display)?;
        let dir = path.parent().unwrap_or(Path::new("."));
        file.containers
            .iter_mut()
            .for_each(|c| resolve_paths(c, dir));
        if let Some(d) = &mut file.defaults {
            for f in &mut d.seccomp.files {
                *f = display_path(&dir.join(&*f));
            }
            if let Some(r) = &mut d.rootfs {
                r.resolve(dir, display_path);
            }
        }
        self.chain.push(canonical);
        let merged = self.merge_includes(path, &display, &positions, &mut file);
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
        positions: &Positions,
        file: &mut SpecFile,
    ) -> Result<SpecFile, SpecError> {
        let dir = path.parent().unwrap_or(Path::new("."));
        let mut base = SpecFile::default();
        for (i, inc) in std::mem::take(&mut file.include).into_iter().enumerate() {
            let origin = positions.origin(display, &item("include", i));
            let mut sub = self.read(&dir.join(&inc), Some(origin))?;
            base.containers.append(&mut sub.containers);
            base.defaults = merge_defaults(base.defaults.take(), sub.defaults.take());
            base.name = base.name.or(sub.name);
        }
        Ok(base)
    }
}

/// Parse one file's YAML, then walk it again for the positions of its values (see
/// [`crate::spec::positions`]) and fill every origin from them.
fn parse_file(text: &str, display: &str) -> Result<(SpecFile, Positions), SpecError> {
    let mut file: SpecFile = serde_yaml_ng::from_str(text).map_err(|e| SpecError::Syntax {
        origin: Origin::new(display, e.location().map_or(0, |l| l.line() as u32)),
        message: e.to_string(),
    })?;
    let positions = Positions::read(text);
    if let Some(name) = &file.name {
        let line = positions.origin(display, "name").line;
        crate::spec::validate_values::stack_name_at(name, display, line)?;
    }
    for (i, c) in file.containers.iter_mut().enumerate() {
        c.normalize_rootfs();
        fill_origins(c, &positions, display, &item("containers", i));
    }
    if let Some(d) = &mut file.defaults {
        let at = |path: &str| positions.origin(display, path);
        d.seccomp.rule_origins = (0..d.seccomp.rules.len())
            .map(|i| at(&item("defaults.seccomp.rules", i)))
            .collect();
        d.apparmor.rule_origins = (0..d.apparmor.rules.len())
            .map(|i| at(&item("defaults.apparmor.rules", i)))
            .collect();
        d.origins = origins_under(&positions, display, "defaults");
    }
    Ok((file, positions))
}

/// The origins of a container at `path` (`containers[0].children[1]`): its `name:` value, each
/// of its other values, each rule; then its children's.
fn fill_origins(c: &mut ContainerSpec, positions: &Positions, display: &str, path: &str) {
    let at = |p: &str| positions.origin(display, &field(path, p));
    c.origin = at("name");
    c.origins = origins_under(positions, display, path);
    c.origins.retain(|p, _| !p.starts_with("children"));
    c.seccomp.rule_origins = (0..c.seccomp.rules.len())
        .map(|i| at(&item("seccomp.rules", i)))
        .collect();
    c.apparmor.rule_origins = (0..c.apparmor.rules.len())
        .map(|i| at(&item("apparmor.rules", i)))
        .collect();
    for (i, child) in c.children.iter_mut().enumerate() {
        fill_origins(
            child,
            positions,
            display,
            &item(&field(path, "children"), i),
        );
    }
}

fn origins_under(
    positions: &Positions,
    display: &str,
    path: &str,
) -> std::collections::BTreeMap<String, Origin> {
    positions
        .under(path)
        .map(|(p, pos)| (p.to_string(), Origin::new(display, pos.line)))
        .collect()
}

/// Paths in a spec are relative to the file that names them.
fn resolve_paths(c: &mut ContainerSpec, dir: &Path) {
    for f in &mut c.seccomp.files {
        *f = display_path(&dir.join(&*f));
    }
    if let Some(RootfsSpec::Source(rootfs)) = &mut c.rootfs {
        rootfs.resolve(dir, display_path);
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

/// A later file's defaults over an earlier one's.
fn merge_defaults(
    base: Option<ContainerDefaults>,
    over: Option<ContainerDefaults>,
) -> Option<ContainerDefaults> {
    match (base, over) {
        (None, o) => o,
        (b, None) => b,
        (Some(mut b), Some(o)) => {
            b.merge(o);
            Some(b)
        }
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

/// A path as the user should see it: relative to the working directory when below it.
pub fn display_path(path: &Path) -> String {
    let cwd = crate::source::current_dir();
    let shown = cwd
        .as_deref()
        .and_then(|cwd| path.strip_prefix(cwd).ok())
        .unwrap_or(path);
    shown.display().to_string()
}
