//! AppArmor at launch: where the kernel has AppArmor, load the planned profile into the planned
//! policy namespace and ask for the stacked label on exec; where it has not, say so once and go
//! on (or refuse, when the user required AppArmor).
//!
//! Loading goes through `apparmor_parser` and the label change through
//! `/proc/self/attr/apparmor/exec` (`stack LABEL`), which is what libapparmor's
//! `aa_stack_onexec` writes; both are small enough not to wait for a library binding.

use crate::plan::model::AppArmorPlan;
use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};

/// Whether the running kernel has AppArmor enabled.
pub fn kernel_has_apparmor() -> bool {
    std::fs::read_to_string("/sys/module/apparmor/parameters/enabled")
        .is_ok_and(|s| s.trim() == "Y")
        && Path::new("/sys/kernel/security/apparmor").is_dir()
}

/// What the AppArmor step did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// The profile is loaded; the label applies on exec.
    Loaded(String),
    /// The kernel has no AppArmor.
    Unavailable,
}

/// Loads the profile (parent side, before the child execs). `require` refuses without AppArmor.
pub fn load(plan: &AppArmorPlan, require: bool) -> Result<Outcome, String> {
    if !kernel_has_apparmor() {
        if require {
            return Err(
                "AppArmor is required (--require-apparmor) but the kernel does not have it enabled"
                    .into(),
            );
        }
        return Ok(Outcome::Unavailable);
    }
    if let Some(ns) = &plan.namespace {
        // A policy namespace exists once its directory exists in apparmorfs.
        let dir = Path::new("/sys/kernel/security/apparmor/policy/namespaces").join(ns);
        if !dir.is_dir() {
            std::fs::create_dir(&dir).map_err(|e| format!("create policy namespace {ns}: {e}"))?;
        }
    }
    let mut cmd = Command::new("apparmor_parser");
    cmd.arg("-r").arg("-W");
    if let Some(ns) = &plan.namespace {
        cmd.arg("--namespace").arg(ns);
    }
    let mut child = cmd
        .stdin(Stdio::piped())
        .spawn()
        .map_err(|e| format!("apparmor_parser: {e}"))?;
    if let Some(mut stdin) = child.stdin.take() {
        stdin
            .write_all(plan.text.as_bytes())
            .map_err(|e| format!("apparmor_parser stdin: {e}"))?;
    }
    let status = child.wait().map_err(|e| format!("apparmor_parser: {e}"))?;
    if !status.success() {
        return Err(format!(
            "apparmor_parser refused profile {}: {status}",
            plan.profile
        ));
    }
    Ok(Outcome::Loaded(plan.label.clone()))
}

/// Child side: asks for the stacked label on the next exec.
pub fn stack_onexec(label: &str) -> std::io::Result<()> {
    let new = Path::new("/proc/self/attr/apparmor/exec");
    let path = if new.exists() {
        new
    } else {
        Path::new("/proc/self/attr/exec")
    };
    std::fs::OpenOptions::new()
        .write(true)
        .open(path)?
        .write_all(format!("stack {label}").as_bytes())
}
