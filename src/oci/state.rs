//! The OCI runtime's own records under `--root` (default /run/lxnest-oci): one directory per
//! container id, mode 0700, with `record.json` and, until `start`, the exec gate `exec.fifo`.
//! `--root` itself is 0711: a container in a user namespace reaches its state directory below
//! `<root>/lxnest` as its mapped root after its identity change (launch::private), so it must
//! traverse, but no one but root may list the ids.
//! lxnest's launcher keeps its usual state for the same container under `<root>/lxnest`, so
//! `lxnest -P <root>/lxnest ls|info|attach` see OCI containers too.

use super::error::{OciRunError, Result};
use lxnest_core::oci::config::Hook;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
use std::path::{Path, PathBuf};

/// The default `--root`.
pub const DEFAULT_ROOT: &str = "/run/lxnest-oci";

/// What `create` records for the later commands.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Record {
    /// The OCI container id.
    pub id: String,
    /// lxnest's name for it.
    pub name: String,
    /// The bundle directory.
    pub bundle: String,
    /// The root filesystem.
    pub rootfs: String,
    /// Creation time, RFC 3339.
    pub created: String,
    /// The config's annotations.
    pub annotations: BTreeMap<String, String>,
    /// The container's init (in our pid namespace).
    pub pid: i32,
    /// The init's start time, so a reused pid is not taken for it.
    pub pid_start: u64,
    /// lxnest's monitor, the process an engine waits for (the pid file names it).
    pub monitor_pid: i32,
    /// Hooks run by `start` (poststart) and `delete` (poststop).
    pub poststart: Vec<Hook>,
    /// Run at delete.
    pub poststop: Vec<Hook>,
}

/// Checks an OCI id as runc does (its characters) and as a path component.
pub fn check_id(id: &str) -> Result<()> {
    let ok = !id.is_empty()
        && id.len() <= 1024
        && id != "."
        && id != ".."
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"_+-.".contains(&b));
    if ok {
        Ok(())
    } else {
        Err(OciRunError::BadId(id.into()))
    }
}

/// lxnest's container name for an OCI id: the id itself when it is a valid name, else its
/// first [`crate::names::NAME_MAX`] characters when those are (Podman's and CRI's 64-hex ids).
pub fn name_for(id: &str) -> Result<String> {
    if crate::names::is_valid(id) {
        return Ok(id.into());
    }
    let short: String = id.chars().take(crate::names::NAME_MAX).collect();
    if crate::names::is_valid(&short) {
        return Ok(short);
    }
    Err(OciRunError::Other(format!(
        "container id `{id}` has no lxnest name: lxnest names are {} (use such an id)",
        crate::names::RULE
    )))
}

/// `<root>`, created when missing, and made 0711 (see the module documentation).
pub fn ensure_root(root: &Path) -> Result<()> {
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o711)
        .create(root)
        .map_err(OciRunError::io(root))?;
    std::fs::set_permissions(root, std::fs::Permissions::from_mode(0o711))
        .map_err(OciRunError::io(root))
}

/// The directory of container `id`.
pub fn dir(root: &Path, id: &str) -> Result<PathBuf> {
    check_id(id)?;
    Ok(root.join(id))
}

/// lxnest's state directory for OCI containers.
pub fn lxnest_dir(root: &Path) -> PathBuf {
    root.join("lxnest")
}

/// The exec gate of `id`.
pub fn gate(root: &Path, id: &str) -> Result<PathBuf> {
    Ok(dir(root, id)?.join("exec.fifo"))
}

/// Writes the record atomically.
pub fn write(root: &Path, r: &Record) -> Result<()> {
    let d = dir(root, &r.id)?;
    let tmp = d.join("record.json.tmp");
    let text = serde_json::to_string_pretty(r).map_err(|e| OciRunError::Other(e.to_string()))?;
    std::fs::write(&tmp, text).map_err(OciRunError::io(&tmp))?;
    std::fs::rename(&tmp, d.join("record.json")).map_err(OciRunError::io(&d))
}

/// Reads the record of `id`.
pub fn read(root: &Path, id: &str) -> Result<Record> {
    let p = dir(root, id)?.join("record.json");
    let text = match std::fs::read_to_string(&p) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(OciRunError::NotFound(id.into()))
        }
        Err(e) => return Err(OciRunError::io(&p)(e)),
    };
    serde_json::from_str(&text).map_err(|e| OciRunError::Other(format!("{}: {e}", p.display())))
}

/// The OCI status: `created` (waiting at the gate), `running`, or `stopped`.
pub fn status(root: &Path, r: &Record) -> Result<&'static str> {
    let alive = r.pid > 0 && crate::launch::state::start_time(r.pid) == Some(r.pid_start);
    if !alive {
        return Ok("stopped");
    }
    Ok(if gate(root, &r.id)?.exists() {
        "created"
    } else {
        "running"
    })
}

/// The state JSON of the runtime spec.
pub fn state_json(root: &Path, r: &Record) -> Result<serde_json::Value> {
    let status = status(root, r)?;
    Ok(serde_json::json!({
        "ociVersion": super::OCI_VERSION,
        "id": r.id,
        "status": status,
        "pid": if status == "stopped" { 0 } else { r.pid },
        "bundle": r.bundle,
        "rootfs": r.rootfs,
        "created": r.created,
        "annotations": r.annotations,
        "owner": "",
    }))
}

/// Now, as RFC 3339 in UTC (no calendar crate: days to a civil date by Howard Hinnant's
/// published algorithm).
pub fn now_rfc3339() -> String {
    let d = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    let secs = d.as_secs() as i64;
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{:09}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60,
        d.subsec_nanos()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_and_names() {
        assert!(check_id("abc-1.2_x+y").is_ok());
        for bad in ["", ".", "..", "a/b", "a b"] {
            assert!(check_id(bad).is_err(), "{bad}");
        }
        let hex = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
        assert_eq!(name_for(hex).unwrap(), &hex[..32]);
        assert_eq!(name_for("test1").unwrap(), "test1");
        assert!(name_for("Upper_Case").is_err());
        let t = now_rfc3339();
        assert!(
            t.len() > 20 && t.ends_with('Z') && t.starts_with("20"),
            "{t}"
        );
    }
}
