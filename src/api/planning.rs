//! Planning without root: read a spec, read the host (or a fixture), plan, render artifacts,
//! explain a syscall.

use super::error::{ApiError, Result};
use crate::plan::host::HostSnapshot;
use crate::plan::model::Plan;
use std::path::Path;

/// A plan and the notes the input loader had for the user (LXC keys read but not enforced ...).
#[derive(Debug, Clone)]
pub struct Planned {
    /// The plan.
    pub plan: Plan,
    /// Notes to show as warnings; the command line prints them as `lxnest: note: ...`.
    pub notes: Vec<String>,
}

/// What [`generate`] wrote.
#[derive(Debug, Clone)]
pub struct Generated {
    /// The plan the artifacts were rendered from, with the loader's notes.
    pub planned: Planned,
    /// Files written (relative to the output directory), in order.
    pub files: Vec<String>,
}

/// The host facts to plan against: this machine (with what lxnest's allocation registry holds
/// now, so the plan shows what a start would pick and what it keeps clear of), or a built-in
/// fixture (`laptop`) for reproducible plans.
pub fn host_snapshot(fixture: Option<&str>) -> Result<HostSnapshot> {
    match fixture {
        None => {
            let mut host = crate::host::read()?;
            host.reserved.extend(crate::registry::peek().reservations());
            Ok(host)
        }
        Some("laptop") => Ok(HostSnapshot::laptop()),
        Some(other) => Err(ApiError::HostFixture(other.into())),
    }
}

/// Plans `spec` (a YAML spec, `builtin:NAME`, or an LXC config) against this machine.
pub fn plan(spec: &Path) -> Result<Plan> {
    Ok(plan_with(spec, None)?.plan)
}

/// Plans `spec` against this machine or a fixture. A `.json` file is read as a finished plan
/// (as `lxnest plan --output json` writes it) instead of being planned again.
pub fn plan_with(spec: &Path, host_fixture: Option<&str>) -> Result<Planned> {
    if spec.extension().is_some_and(|e| e == "json") {
        let err = |message: String| ApiError::PlanFile {
            path: spec.display().to_string(),
            message,
        };
        let text = crate::source::read_input(spec).map_err(|e| err(e.to_string()))?;
        let plan = serde_json::from_str(&text).map_err(|e| err(e.to_string()))?;
        return Ok(Planned {
            plan,
            notes: Vec::new(),
        });
    }
    let loaded = crate::input::load(spec)?;
    let host = host_snapshot(host_fixture)?;
    let plan = crate::plan::plan(&loaded.stack, &host)?;
    Ok(Planned {
        plan,
        notes: loaded.notes,
    })
}

/// Plans `spec` against this machine and writes every artifact below `out_dir`.
pub fn generate(spec: &Path, out_dir: &Path) -> Result<Generated> {
    generate_with(spec, out_dir, None)
}

/// [`generate`] against this machine or a fixture. AppArmor lines go into the LXC fragments
/// only when that host has AppArmor.
pub fn generate_with(spec: &Path, out_dir: &Path, host_fixture: Option<&str>) -> Result<Generated> {
    let host = host_snapshot(host_fixture)?;
    let loaded = crate::input::load(spec)?;
    let plan = crate::plan::plan(&loaded.stack, &host)?;
    // The fragments name their seccomp file and rootfs by absolute path.
    let out_abs = std::path::absolute(out_dir).unwrap_or_else(|_| out_dir.to_path_buf());
    let artifacts = crate::artifacts::render_all(&plan, &out_abs, host.kernel.apparmor)?;
    crate::artifacts::write(out_dir, &artifacts)?;
    let files = artifacts.into_iter().map(|a| a.file).collect();
    Ok(Generated {
        planned: Planned {
            plan,
            notes: loaded.notes,
        },
        files,
    })
}

/// Which filter of which level decides `syscall` for the container at `path`, and the effective
/// action ([`crate::explain::SyscallAnswer::effective`]).
pub fn explain_syscall(
    plan: &Plan,
    path: &str,
    syscall: &str,
) -> Result<crate::explain::SyscallAnswer> {
    Ok(crate::explain::syscall(plan, path, syscall)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plans_a_builtin_example_on_the_laptop_fixture_and_explains() {
        let p = plan_with(Path::new("builtin:juju-laptop"), Some("laptop")).expect("plan");
        assert!(!p.plan.containers.is_empty());
        let first = &p.plan.containers[0].path;
        let a = explain_syscall(&p.plan, first, "mount").expect("explain");
        assert_eq!(a.syscall, "mount");
        assert!(matches!(
            plan_with(Path::new("builtin:juju-laptop"), Some("nope")),
            Err(ApiError::HostFixture(_))
        ));
        assert!(matches!(
            explain_syscall(&p.plan, "no/such", "mount").map_err(|e| e.kind()),
            Err(super::super::ErrorKind::ContainerNotFound)
        ));
    }

    #[test]
    fn spec_errors_carry_file_and_line() {
        let dir = tempfile::tempdir().expect("tempdir");
        let spec = dir.path().join("bad.yaml");
        std::fs::write(&spec, "name: x\ncontainers:\n  - name: a\n    bogus: 1\n").expect("write");
        let e = plan_with(&spec, Some("laptop")).expect_err("must fail");
        assert_eq!(e.kind(), super::super::ErrorKind::Spec);
        assert!(e.chain().contains("bad.yaml:"), "{}", e.chain());
    }

    #[test]
    fn generate_writes_plan_json() {
        let dir = tempfile::tempdir().expect("tempdir");
        let g = generate_with(Path::new("builtin:juju-laptop"), dir.path(), Some("laptop"))
            .expect("generate");
        assert!(g.files.iter().any(|f| f == "plan.json"));
        assert!(dir.path().join("plan.json").is_file());
    }
}
