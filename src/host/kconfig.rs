//! Kernel build options (/proc/config.gz, /boot/config-*) and module lists, for features that
//! can be detected without trying them.

use serde::Serialize;

/// Where an availability answer came from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Source {
    /// A `CONFIG_*` line of the running kernel's configuration.
    Config(String),
    /// A loaded module under /sys/module.
    LoadedModule(String),
    /// modules.builtin of the running kernel.
    Builtin(String),
    /// A module file under /lib/modules that would load on demand.
    ModuleFile(String),
    /// Some other file or directory that exists only with the feature.
    File(String),
    /// Nothing could be looked at.
    None,
}

impl Source {
    /// Short text for reports: `CONFIG_VETH`, `module bridge loaded`, `/proc/filesystems`.
    pub fn describe(&self) -> String {
        match self {
            Source::Config(c) => c.clone(),
            Source::LoadedModule(m) => format!("module {m} loaded"),
            Source::Builtin(m) => format!("{m} built in"),
            Source::ModuleFile(m) => format!("module {m} on disk"),
            Source::File(f) => f.clone(),
            Source::None => "nothing to look at".into(),
        }
    }
}

/// Whether a kernel feature is there, and how that is known.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "state", content = "source")]
pub enum Availability {
    /// Present (built in, loaded, or loadable).
    Yes(Source),
    /// Known absent.
    No(Source),
    /// Could not tell from here.
    Unknown,
}

impl Availability {
    /// Present for sure.
    pub fn is_yes(&self) -> bool {
        matches!(self, Availability::Yes(_))
    }
}

/// The value of `CONFIG_<name>` in a kernel config text: `Some("y")`, `Some("m")`, `Some("n")` for
/// `# CONFIG_X is not set`, `None` when the option is not mentioned.
pub(crate) fn config_value<'a>(text: &'a str, name: &str) -> Option<&'a str> {
    let key = format!("CONFIG_{name}");
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix(&key) {
            if let Some(v) = rest.strip_prefix('=') {
                return Some(v.trim().trim_matches('"'));
            }
        }
        if line.starts_with('#') && line.contains(&format!("{key} is not set")) {
            return Some("n");
        }
    }
    None
}

/// Availability from a kernel config, if it mentions the option (a config that does not mention
/// it means the option does not exist in that kernel, which is "no").
pub(crate) fn from_config(text: &str, name: &str) -> Availability {
    let src = Source::Config(format!("CONFIG_{name}"));
    match config_value(text, name) {
        Some("y") | Some("m") => Availability::Yes(src),
        _ => Availability::No(src),
    }
}

/// Whether modules.builtin (one `kernel/.../name.ko` a line) lists module `name` (`dm_crypt` and
/// `dm-crypt` are the same module).
pub(crate) fn builtin_lists(text: &str, name: &str) -> bool {
    let want = name.replace('-', "_");
    text.lines().any(|l| {
        let file = l.rsplit('/').next().unwrap_or(l);
        file.strip_suffix(".ko")
            .is_some_and(|stem| stem.replace('-', "_") == want)
    })
}

/// Whether modules.dep lists a loadable module file for `name`.
pub(crate) fn dep_lists(text: &str, name: &str) -> bool {
    let want = name.replace('-', "_");
    text.lines().any(|l| {
        let file = l.split(':').next().unwrap_or("");
        let file = file.rsplit('/').next().unwrap_or(file);
        let stem = file.split(".ko").next().unwrap_or("");
        file.contains(".ko") && stem.replace('-', "_") == want
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const CONFIG: &str =
        "# comment\nCONFIG_VETH=y\nCONFIG_DM_CRYPT=m\n# CONFIG_SECURITY_APPARMOR is not set\n\
                          CONFIG_LSM=\"landlock,lockdown,yama\"\nCONFIG_VETHX=n\n";

    #[test]
    fn config_values() {
        assert_eq!(config_value(CONFIG, "VETH"), Some("y"));
        assert_eq!(config_value(CONFIG, "DM_CRYPT"), Some("m"));
        assert_eq!(config_value(CONFIG, "SECURITY_APPARMOR"), Some("n"));
        assert_eq!(config_value(CONFIG, "LSM"), Some("landlock,lockdown,yama"));
        assert_eq!(config_value(CONFIG, "FS_ENCRYPTION"), None);
        assert!(from_config(CONFIG, "DM_CRYPT").is_yes());
        assert!(!from_config(CONFIG, "FS_ENCRYPTION").is_yes());
    }

    #[test]
    fn module_lists() {
        let builtin = "kernel/drivers/net/veth.ko\nkernel/drivers/md/dm-crypt.ko\n";
        assert!(builtin_lists(builtin, "veth"));
        assert!(builtin_lists(builtin, "dm_crypt"));
        assert!(!builtin_lists(builtin, "bridge"));
        let dep =
            "kernel/net/bridge/bridge.ko.xz: kernel/net/802/stp.ko.xz kernel/net/llc/llc.ko.xz\n\
                   kernel/net/802/stp.ko.xz: kernel/net/llc/llc.ko.xz\n";
        assert!(dep_lists(dep, "bridge"));
        assert!(
            !dep_lists(dep, "llc"),
            "llc only appears as a dependency here"
        );
    }
}
