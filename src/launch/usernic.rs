//! A veth on a host bridge for an unprivileged user's container, made by LXC's setuid
//! `lxc-user-nic` (Debian package lxc) within the quota of /etc/lxc/lxc-usernet. No netlink
//! interface lets an unprivileged user do this: the privileged helper is the point. The host end
//! dies with the container's network namespace, so a failed or stopped container leaves no veth.

use super::error::StepFailure;
use crate::plan::model::LevelPlan;
use nix::unistd::Pid;
use std::path::{Path, PathBuf};

/// Where distributions install the helper.
const PLACES: &[&str] = &[
    "/usr/libexec/lxc/lxc-user-nic",
    "/usr/lib/x86_64-linux-gnu/lxc/lxc-user-nic",
    "/usr/lib/lxc/lxc-user-nic",
];

/// The setuid helper, or why there is none.
pub fn helper() -> Result<PathBuf, StepFailure> {
    use std::os::unix::fs::{MetadataExt, PermissionsExt};
    let found = PLACES
        .iter()
        .map(Path::new)
        .find(|p| p.is_file())
        .ok_or_else(|| {
            StepFailure::refused("lxc-user-nic is not installed (Debian: apt install lxc)")
        })?;
    let m = std::fs::metadata(found).map_err(StepFailure::at(found))?;
    if m.uid() != 0 || m.permissions().mode() & 0o4000 == 0 {
        return Err(StepFailure::refused(format!(
            "{} is not setuid root",
            found.display()
        )));
    }
    Ok(found.to_path_buf())
}

/// Asks lxc-user-nic for a veth on the plan's `link` bridge, moved into `pid`'s network namespace
/// as the plan's interface; returns the host end's name.
pub fn create(plan: &LevelPlan, pid: Pid, state_dir: &Path) -> Result<String, StepFailure> {
    let bridge = plan
        .network
        .parent_bridge
        .as_deref()
        .ok_or_else(|| StepFailure::refused("network mode user-nic without `link`"))?;
    let program = helper()?;
    let out = std::process::Command::new(&program)
        .arg("create")
        .arg(state_dir)
        .arg(&plan.name)
        .arg(pid.to_string())
        .args(["veth", bridge, &plan.network.interface])
        .output()
        .map_err(StepFailure::at(&program))?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    if !out.status.success() {
        return Err(StepFailure::refused(format!(
            "lxc-user-nic could not attach a veth to {bridge}: {} (fix: as root, allow it in /etc/lxc/lxc-usernet with a line `USER veth {bridge} COUNT`)",
            String::from_utf8_lossy(&out.stderr).trim()
        )));
    }
    Ok(host_end(&stdout).unwrap_or_else(|| stdout.trim().to_string()))
}

/// The host end from lxc-user-nic's answer `NIC:INDEX:HOSTVETH:HOSTINDEX`.
fn host_end(answer: &str) -> Option<String> {
    answer.trim().split(':').nth(2).map(String::from)
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_host_end_is_the_third_field() {
        assert_eq!(
            super::host_end("eth0:2:veth1001_k1pb:102\n").as_deref(),
            Some("veth1001_k1pb")
        );
        assert_eq!(super::host_end(""), None);
    }
}
