//! Defined containers: what [`super::start`] started, remembered after it stops. The launcher's
//! state directory `<statedir>/<name>/` exists only while a container runs; a definition in
//! `<statedir>/.defined/<name>.json` keeps the plan it was started from, so a stopped container
//! can be listed, started again by name, or have a command executed in it. [`super::destroy`]
//! removes it. The leading dot keeps it out of the launcher's listing (it has no `state.json`)
//! and away from container names, which start with a letter or digit.

use super::error::{ApiError, Result};
use crate::plan::model::{LevelPlan, Plan};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// Directory of the definitions below a state directory.
pub const DIR: &str = ".defined";

/// How a container was started, enough to start it again the same way.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Defined {
    /// The whole plan it came from (execute and nested starts need more than the one level).
    pub plan: Plan,
    /// Its path in `plan`.
    pub path: String,
    /// Started as a nesting host (`lxnest init-nested` as its init).
    pub nested: bool,
    /// Refuse to start without AppArmor.
    pub require_apparmor: bool,
    /// Seconds between SIGTERM and SIGKILL at stop.
    pub grace_secs: u64,
}

impl Defined {
    /// The container's own plan.
    pub fn level(&self) -> Option<&LevelPlan> {
        self.plan.get(&self.path)
    }
}

fn file(state_dir: &Path, name: &str) -> Result<PathBuf> {
    crate::names::check(name).map_err(crate::launch::LaunchError::from)?;
    Ok(state_dir.join(DIR).join(format!("{name}.json")))
}

fn err(name: &str, path: &Path) -> impl FnOnce(String) -> ApiError {
    let (name, path) = (name.to_string(), path.display().to_string());
    move |message| ApiError::Registry {
        name,
        path,
        message,
    }
}

/// Records `d` under the container's name (atomically: a reader never sees half a file).
pub fn save(state_dir: &Path, name: &str, d: &Defined) -> Result<()> {
    let f = file(state_dir, name)?;
    let tmp = f.with_extension("json.tmp");
    let text = serde_json::to_string(d).map_err(|e| err(name, &f)(e.to_string()))?;
    crate::launch::private::private_dir(&state_dir.join(DIR))
        .map_err(|e| err(name, &f)(e.to_string()))?;
    crate::launch::private::write_file(&tmp, &text).map_err(|e| err(name, &tmp)(e.to_string()))?;
    std::fs::rename(&tmp, &f).map_err(|e| err(name, &f)(e.to_string()))
}

/// The definition of `name`, `None` when there is none.
pub fn load(state_dir: &Path, name: &str) -> Result<Option<Defined>> {
    let f = file(state_dir, name)?;
    match std::fs::read_to_string(&f) {
        Ok(text) => serde_json::from_str(&text)
            .map(Some)
            .map_err(|e| err(name, &f)(e.to_string())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(err(name, &f)(e.to_string())),
    }
}

/// Every readable definition, by name, sorted.
pub fn list(state_dir: &Path) -> Vec<(String, Defined)> {
    let mut out: Vec<(String, Defined)> = std::fs::read_dir(state_dir.join(DIR))
        .map(|rd| {
            rd.flatten()
                .filter_map(|e| {
                    let n = e
                        .file_name()
                        .to_string_lossy()
                        .strip_suffix(".json")?
                        .to_string();
                    load(state_dir, &n).ok().flatten().map(|d| (n, d))
                })
                .collect()
        })
        .unwrap_or_default();
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out
}

/// Forgets `name`; true when there was a definition.
pub fn remove(state_dir: &Path, name: &str) -> Result<bool> {
    let f = file(state_dir, name)?;
    match std::fs::remove_file(&f) {
        Ok(()) => Ok(true),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
        Err(e) => Err(err(name, &f)(e.to_string())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn save_load_list_remove() {
        let dir = tempfile::tempdir().expect("tempdir");
        let plan = crate::api::plan_with(Path::new("builtin:juju-laptop"), Some("laptop"))
            .expect("plan")
            .plan;
        let path = plan.containers[0].path.clone();
        let d = Defined {
            plan,
            path,
            nested: false,
            require_apparmor: false,
            grace_secs: 3,
        };
        assert_eq!(load(dir.path(), "c1").expect("load"), None);
        save(dir.path(), "c1", &d).expect("save");
        assert_eq!(load(dir.path(), "c1").expect("load").as_ref(), Some(&d));
        assert_eq!(list(dir.path()).len(), 1);
        // The launcher's listing does not mistake the definitions directory for a container.
        assert!(crate::launch::state::list(dir.path()).is_empty());
        assert!(remove(dir.path(), "c1").expect("remove"));
        assert!(!remove(dir.path(), "c1").expect("remove again"));
        assert!(list(dir.path()).is_empty());
    }
}
