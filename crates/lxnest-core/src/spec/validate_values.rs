//! Checks on the values of a spec that reach generated files (LXC config, hook scripts, AppArmor
//! profile, YAML, JSON) or the kernel: what no artifact can carry is refused here, naming the
//! value's line and the fix; everything else is encoded by each renderer
//! ([`crate::lxc_encode`]). A NUL byte fits in no C string (execve, mount, LXC's parser); a
//! newline ends an LXC config line and would let a value add keys of its own.

use crate::origin::Origin;
use crate::spec::error::SpecError;
use crate::spec::model::ContainerSpec;

/// Check one container's values (not its children's).
pub fn container(c: &ContainerSpec) -> Result<(), SpecError> {
    let at = Check { c };
    for (k, v) in &c.environment {
        let path = format!("environment.{k}");
        crate::lxc_encode::env_name(k).map_err(|e| {
            at.bad(
                &path,
                e.why,
                "name environment variables with letters, digits and `_`, not starting with a digit",
            )
        })?;
        at.one_line(&path, &format!("environment {k}"), v)?;
    }
    for (i, a) in c.command.iter().flatten().enumerate() {
        at.no_nul(&format!("command[{i}]"), "command", a)?;
    }
    // Hooks and seccomp files may come from the defaults, listed before the container's own, so
    // their index is not the file's: the list's line is what is known.
    for (kind, list) in c.hooks.iter() {
        for h in list {
            at.no_nul(&format!("hooks.{kind}"), &format!("{kind} hook"), h)?;
        }
    }
    for (i, m) in c.mounts.iter().enumerate() {
        let p = format!("mounts[{i}]");
        for (key, what, v) in [
            ("source", "mount source", &m.source),
            ("target", "mount target", &m.target),
        ] {
            at.one_line(&format!("{p}.{key}"), what, v)?;
        }
        at.word(&format!("{p}.fstype"), "mount fstype", &m.fstype)?;
        for (j, o) in m.options.iter().enumerate() {
            at.word(&format!("{p}.options[{j}]"), "mount option", o)?;
        }
    }
    for (i, d) in c.devices.iter().enumerate() {
        at.word(&format!("devices[{i}]"), "device", d)?;
    }
    for (i, cap) in c.capabilities.drop.iter().enumerate() {
        at.word(&format!("capabilities.drop[{i}]"), "capability", cap)?;
    }
    if let Some(link) = &c.network.link {
        let ok = !link.is_empty()
            && link.len() <= 15
            && link
                .bytes()
                .all(|b| b.is_ascii_graphic() && !matches!(b, b'/' | b':'));
        if !ok {
            return Err(at.bad(
                "network.link",
                format!(
                    "network link `{}` is not an interface name",
                    link.escape_debug()
                ),
                "name the host bridge: at most 15 characters, no spaces, `/` or `:`",
            ));
        }
    }
    for f in &c.seccomp.files {
        at.one_line("seccomp.files", "seccomp file", f)?;
    }
    if let Some(r) = c.rootfs() {
        at.one_line("rootfs", "rootfs", &r.to_string())?;
    }
    for (i, r) in c.seccomp.rules.iter().enumerate() {
        let origin = c.seccomp.rule_origins.get(i);
        at.at(origin, "seccomp.rules").one_line("seccomp rule", r)?;
    }
    for (i, r) in c.apparmor.rules.iter().enumerate() {
        if let Some(why) = crate::apparmor::render::rule_problem(r) {
            return Err(SpecError::Invalid {
                origin: c
                    .apparmor
                    .rule_origins
                    .get(i)
                    .cloned()
                    .unwrap_or_else(|| c.origin.clone()),
                message: format!(
                    "container `{}`: AppArmor rule `{}` {why}",
                    c.name,
                    r.escape_debug()
                ),
                fix: "write one AppArmor rule ending in `,` on one line, e.g. `deny /srv/** w,`"
                    .into(),
            });
        }
    }
    Ok(())
}

/// The stack's name is written into generated files' headers: one line of printable text.
pub fn stack_name(name: &str, source: &str) -> Result<(), SpecError> {
    stack_name_at(name, source, 0)
}

/// [`stack_name`] with the line of the `name:` key, when the caller knows it.
pub fn stack_name_at(name: &str, source: &str, line: u32) -> Result<(), SpecError> {
    if name.is_empty() || name.chars().any(char::is_control) {
        return Err(SpecError::Invalid {
            origin: Origin::new(source, line),
            message: format!(
                "stack name `{}` is empty or holds control characters",
                name.escape_debug()
            ),
            fix: "write `name:` as one line of printable text, e.g. `name: juju-laptop`".into(),
        });
    }
    Ok(())
}

struct Check<'a> {
    c: &'a ContainerSpec,
}

/// A check of one value whose origin is known already (a rule, by its own index).
struct At<'a> {
    c: &'a ContainerSpec,
    origin: Origin,
}

impl<'a> Check<'a> {
    fn bad(&self, path: &str, message: String, fix: &str) -> SpecError {
        self.at(None, path).bad(message, fix)
    }

    /// `origin` when known, else the origin of the value at `path`.
    fn at(&self, origin: Option<&Origin>, path: &str) -> At<'a> {
        At {
            c: self.c,
            origin: origin.cloned().unwrap_or_else(|| self.c.origin_of(path)),
        }
    }

    fn no_nul(&self, path: &str, what: &str, v: &str) -> Result<(), SpecError> {
        self.at(None, path).no_nul(what, v)
    }

    fn one_line(&self, path: &str, what: &str, v: &str) -> Result<(), SpecError> {
        self.at(None, path).one_line(what, v)
    }

    fn word(&self, path: &str, what: &str, v: &str) -> Result<(), SpecError> {
        self.at(None, path).word(what, v)
    }
}

impl At<'_> {
    fn bad(&self, message: String, fix: &str) -> SpecError {
        SpecError::Invalid {
            origin: self.origin.clone(),
            message: format!("container `{}`: {message}", self.c.name),
            fix: fix.into(),
        }
    }

    fn no_nul(&self, what: &str, v: &str) -> Result<(), SpecError> {
        if v.contains('\0') {
            return Err(self.bad(
                format!("{what} `{}` contains a NUL byte", v.escape_debug()),
                "remove the NUL byte: no program argument, path or config line can hold one",
            ));
        }
        Ok(())
    }

    fn one_line(&self, what: &str, v: &str) -> Result<(), SpecError> {
        self.no_nul(what, v)?;
        if v.contains(['\n', '\r']) {
            return Err(self.bad(
                format!("{what} `{}` spans lines", v.escape_debug()),
                "write it on one line: a newline would end the line of the LXC config it is written to",
            ));
        }
        Ok(())
    }

    /// Names and options: printable, no blanks.
    fn word(&self, what: &str, v: &str) -> Result<(), SpecError> {
        if v.is_empty() || v.chars().any(|c| c.is_control() || c.is_whitespace()) {
            return Err(self.bad(
                format!(
                    "{what} `{}` is empty or holds blanks or control characters",
                    v.escape_debug()
                ),
                "write it as one word",
            ));
        }
        Ok(())
    }
}
