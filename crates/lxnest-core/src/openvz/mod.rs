//! Migrating from OpenVZ: a container config (plus the global vz.conf) becomes an lxnest spec and
//! an LXC config, with a report of what mapped, how, and what could not and why.

pub mod map;
pub mod parse;
pub mod render;

pub use map::{Outcome, ReportLine};
pub use parse::OpenVzError;

/// The result of an import.
pub struct Import {
    /// The container id (file name without `.conf`).
    pub ctid: String,
    /// The container, as a spec.
    pub container: crate::spec::ContainerSpec,
    /// One line per setting.
    pub report: Vec<ReportLine>,
    /// The spec file's text.
    pub spec_yaml: String,
    /// The LXC config's text.
    pub lxc_config: String,
}

/// Import `ct_conf` (with `vz_conf`'s defaults when given).
pub fn import(
    ct_conf: &std::path::Path,
    vz_conf: Option<&std::path::Path>,
) -> Result<Import, OpenVzError> {
    let (ctid, settings) = parse::read(ct_conf, vz_conf)?;
    let ct_file = crate::spec::load::display_path(ct_conf);
    let (container, report) = map::map(&ctid, &settings, &ct_file);
    let spec_yaml = render::spec_yaml(&ctid, &ct_file, &container);
    let lxc_config = render::lxc_config(&ctid, &ct_file, &container);
    Ok(Import {
        ctid,
        container,
        report,
        spec_yaml,
        lxc_config,
    })
}
