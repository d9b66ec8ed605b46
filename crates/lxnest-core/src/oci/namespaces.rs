//! `linux.namespaces` and the id maps. lxnest makes every container its own mount, pid,
//! network, IPC, UTS and cgroup namespace, and a user namespace when the config maps ids: a
//! config that asks to share one with the host, or to join an existing one, is refused by name.

use super::config::{IdMapping, Linux};
use super::context::Context;
use super::error::OciError;
use crate::plan::host::IdRange;
use crate::plan::model::{IdMapLine, IdMapPlan};

/// Which optional namespaces the config asks for.
#[derive(Debug, Clone, Copy, Default)]
pub struct Asked {
    /// A user namespace.
    pub user: bool,
}

/// The namespaces lxnest always creates.
const ALWAYS: &[&str] = &["pid", "network", "mount", "ipc", "uts"];

/// Checks `linux.namespaces` against what lxnest makes.
pub fn check(linux: &Linux, c: &Context) -> Result<Asked, OciError> {
    let mut asked = Asked::default();
    for (i, ns) in linux.namespaces.iter().enumerate() {
        if ns.path.as_deref().is_some_and(|p| !p.is_empty()) {
            return Err(OciError::Unsupported {
                file: c.file.clone(),
                field: format!("linux.namespaces[{i}].path"),
                why: format!("joining an existing {} namespace is not offered: lxnest makes the container's own (podman: --network none, no --pod; ctr: no --with-ns)", ns.kind),
            });
        }
        match ns.kind.as_str() {
            "user" => asked.user = true,
            k if ALWAYS.contains(&k) || k == "cgroup" => {}
            other => {
                return Err(OciError::Unsupported {
                    file: c.file.clone(),
                    field: format!("linux.namespaces[{i}].type"),
                    why: format!("`{other}` namespaces are not offered"),
                })
            }
        }
    }
    if let Some(missing) = ALWAYS
        .iter()
        .find(|k| !linux.namespaces.iter().any(|n| n.kind == **k))
    {
        return Err(OciError::Unsupported {
            file: c.file.clone(),
            field: "linux.namespaces".into(),
            why: format!("no `{missing}` namespace means sharing the host's; lxnest always gives a container its own (podman: --network none rather than host; ctr: without --net-host)"),
        });
    }
    Ok(asked)
}

fn lines(maps: &[IdMapping]) -> Vec<IdMapLine> {
    maps.iter()
        .map(|m| IdMapLine {
            inside: m.container_id,
            outside: m.host_id,
            count: m.size,
        })
        .collect()
}

fn host_range(maps: &[IdMapping]) -> IdRange {
    let first = maps.iter().map(|m| m.host_id).min().unwrap_or(0);
    let count = maps.iter().map(|m| m.size).fold(0u32, u32::saturating_add);
    IdRange { first, count }
}

/// The id maps, when the config has a user namespace.
pub fn idmap(linux: &Linux, user: bool, c: &Context) -> Result<Option<IdMapPlan>, OciError> {
    let has_maps = !linux.uid_mappings.is_empty() || !linux.gid_mappings.is_empty();
    if !user {
        if has_maps {
            return Err(OciError::Invalid {
                file: c.file.clone(),
                field: "linux.uidMappings".into(),
                why: "id mappings need a `user` entry in linux.namespaces".into(),
            });
        }
        return Ok(None);
    }
    if linux.uid_mappings.is_empty() || linux.gid_mappings.is_empty() {
        return Err(OciError::Invalid {
            file: c.file.clone(),
            field: "linux.uidMappings".into(),
            why: "a user namespace needs both uidMappings and gidMappings".into(),
        });
    }
    for (field, maps) in [
        ("linux.uidMappings", &linux.uid_mappings),
        ("linux.gidMappings", &linux.gid_mappings),
    ] {
        if maps
            .iter()
            .any(|m| m.size == 0 || m.host_id.checked_add(m.size).is_none())
        {
            return Err(OciError::Invalid {
                file: c.file.clone(),
                field: field.into(),
                why: "every line needs a size above 0 that stays inside 32 bits".into(),
            });
        }
    }
    Ok(Some(IdMapPlan {
        uid: lines(&linux.uid_mappings),
        gid: lines(&linux.gid_mappings),
        host_uid: host_range(&linux.uid_mappings),
        host_gid: host_range(&linux.gid_mappings),
        runtime: None,
    }))
}
