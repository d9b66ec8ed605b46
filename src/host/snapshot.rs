//! Reads the [`HostSnapshot`]: the facts both the planner and `check` start from.

use super::fsread::{optional, optional_line, required};
use super::kernel::{self, AppArmorFacts};
use super::level::{self, NestingFacts};
use super::mountinfo::{self, Mount};
use super::status::{self, Status};
use super::{cgroup, ids, netdump, resolv, HostError};
use crate::plan::host::HostSnapshot;
use ipnet::Ipv4Net;

/// MTU assumed when the uplink cannot be found (no default route, sysfs not mounted).
const DEFAULT_MTU: u32 = 1500;

/// What the snapshot was built from, kept for `facts` so nothing is read twice.
pub(crate) struct Collected {
    pub snapshot: HostSnapshot,
    pub mounts: Vec<Mount>,
    pub self_cgroup: String,
    pub status: Status,
    pub apparmor: AppArmorFacts,
    pub nesting: NestingFacts,
    pub seccomp_actions: Vec<String>,
    pub max_user_namespaces: Option<u64>,
    pub uplink: Option<String>,
    /// What could not be read (check only; the snapshot reader fails instead).
    pub notes: Vec<String>,
}

/// Reads this machine (the current network, mount, cgroup and user namespace) into a snapshot
/// for the planner.
pub fn read() -> Result<HostSnapshot, HostError> {
    Ok(collect(false)?.snapshot)
}

/// Destinations to keep out of bridge subnets: every route except the default route.
pub(crate) fn route_destinations(routes: &[netdump::Route]) -> Vec<Ipv4Net> {
    let mut out: Vec<Ipv4Net> = routes
        .iter()
        .map(|r| r.destination)
        .filter(|d| d.prefix_len() > 0)
        .collect();
    out.sort();
    out.dedup();
    out
}

/// The interface index of the default route (the lowest-metric one comes first in the dump).
pub(crate) fn default_oif(routes: &[netdump::Route]) -> Option<u32> {
    routes
        .iter()
        .find(|r| r.destination.prefix_len() == 0)
        .and_then(|r| r.oif)
}

/// For check, a failed netlink dump becomes a note and an empty list; for the planner it stays
/// an error, because a plan must not guess which subnets are in use.
fn tolerate<T>(
    r: Result<Vec<T>, HostError>,
    for_check: bool,
    notes: &mut Vec<String>,
) -> Result<Vec<T>, HostError> {
    match r {
        Err(e) if for_check => {
            notes.push(format!("{e}; subnets in use are unknown"));
            Ok(Vec::new())
        }
        other => other,
    }
}

/// Whose ids the containers may map: the subordinate ranges of the user running lxnest and, for a
/// user who is not root, who that is and whether the map helpers work.
pub struct UserIds {
    /// Subordinate uids of this user (/etc/subuid, by name or uid).
    pub subuids: Vec<crate::plan::host::IdRange>,
    /// Subordinate gids (/etc/subgid is keyed by user too, not by group).
    pub subgids: Vec<crate::plan::host::IdRange>,
    /// The unprivileged user, `None` for root.
    pub user: Option<crate::plan::host::HostUser>,
}

/// Reads [`UserIds`] alone: cheaper than [`read`] for a start that needs only the id map.
pub fn ids_of_this_user() -> UserIds {
    let uid = nix::unistd::getuid();
    let name = nix::unistd::User::from_uid(uid)
        .ok()
        .flatten()
        .map(|u| u.name);
    let ranges = |file: &str| {
        ids::subordinate_ranges(
            &optional(file).unwrap_or_default(),
            name.as_deref(),
            uid.as_raw(),
        )
    };
    let user = (!uid.is_root()).then(|| {
        let tools = super::tools::read();
        crate::plan::host::HostUser {
            name: name.clone(),
            uid: uid.as_raw(),
            gid: nix::unistd::getgid().as_raw(),
            map_helpers_problem: super::tools::map_helpers_problem(
                &tools.newuidmap,
                &tools.newgidmap,
            ),
        }
    });
    UserIds {
        subuids: ranges("/etc/subuid"),
        subgids: ranges("/etc/subgid"),
        user,
    }
}

/// Reads everything the snapshot needs. `for_check` also runs `apparmor_parser --version`.
pub(crate) fn collect(for_check: bool) -> Result<Collected, HostError> {
    let mountinfo_path = "/proc/self/mountinfo";
    let (mounts, bad) = mountinfo::parse(&required(mountinfo_path)?);
    if let Some(line) = bad.first() {
        return Err(HostError::Parse {
            path: mountinfo_path.into(),
            line: *line,
            message: "not a mountinfo line".into(),
        });
    }
    let self_cgroup = required("/proc/self/cgroup")?;
    let unified_root = mounts
        .iter()
        .filter(|m| m.fstype == "cgroup2")
        .min_by_key(|m| m.mount_point.len())
        .and_then(|m| optional(format!("{}/cgroup.controllers", m.mount_point)));
    let layout = cgroup::layout(&mounts, &self_cgroup, unified_root.as_deref());

    let status = status::parse(&required("/proc/self/status")?);
    let nesting = level::read(
        status.seccomp_filters,
        level::cgroup_hint(&mounts, &self_cgroup),
    );
    let uid_map = optional("/proc/self/uid_map").unwrap_or_default();
    let privileged = nix::unistd::geteuid().is_root() && ids::is_identity_map(&uid_map);

    let apparmor = kernel::read_apparmor(for_check);
    let seccomp_actions: Vec<String> = optional("/proc/sys/kernel/seccomp/actions_avail")
        .map(|t| t.split_whitespace().map(String::from).collect())
        .unwrap_or_default();
    let max_user_namespaces =
        optional_line("/proc/sys/user/max_user_namespaces").and_then(|t| t.parse().ok());
    let kernel = kernel::features(&apparmor, &seccomp_actions, max_user_namespaces, privileged);

    // The planner must not guess routes; check reports what it can and says what it could not.
    let mut notes = Vec::new();
    let routes = tolerate(netdump::routes(), for_check, &mut notes)?;
    let addresses = tolerate(netdump::addresses(), for_check, &mut notes)?;
    let uplink = default_oif(&routes).and_then(netdump::interface_name);
    let uplink_mtu = uplink
        .as_ref()
        .and_then(|i| optional_line(format!("/sys/class/net/{i}/mtu")))
        .and_then(|t| t.parse().ok())
        .unwrap_or(DEFAULT_MTU);

    let main = optional("/etc/resolv.conf").unwrap_or_default();
    let upstream = optional(resolv::RESOLVED_UPSTREAM);
    let dns = resolv::servers(&main, upstream.as_deref());

    let ids = ids_of_this_user();
    let me = nix::unistd::getuid();
    let my_name = ids.user.as_ref().and_then(|u| u.name.clone()).or_else(|| {
        nix::unistd::User::from_uid(me)
            .ok()
            .flatten()
            .map(|u| u.name)
    });
    let reserved = ids::others_reservations(
        &optional("/etc/subuid").unwrap_or_default(),
        &optional("/etc/subgid").unwrap_or_default(),
        my_name.as_deref(),
        me.as_raw(),
    );

    let snapshot = HostSnapshot {
        routes: route_destinations(&routes),
        addresses,
        dns,
        uplink_mtu,
        cgroup: layout,
        kernel,
        subuids: ids.subuids,
        subgids: ids.subgids,
        privileged,
        level: nesting.level,
        user: ids.user,
        reserved,
    };
    Ok(Collected {
        snapshot,
        mounts,
        self_cgroup,
        status,
        apparmor,
        nesting,
        seccomp_actions,
        max_user_namespaces,
        uplink,
        notes,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn r(dst: &str, oif: u32) -> netdump::Route {
        netdump::Route {
            destination: dst.parse().expect("literal"),
            oif: Some(oif),
        }
    }

    #[test]
    fn default_route_is_not_a_destination_but_names_the_uplink() {
        let routes = vec![
            r("0.0.0.0/0", 4),
            r("192.0.2.0/24", 4),
            r("10.0.3.0/24", 7),
            r("192.0.2.0/24", 4),
        ];
        assert_eq!(
            route_destinations(&routes),
            vec![
                "10.0.3.0/24".parse::<Ipv4Net>().expect("literal"),
                "192.0.2.0/24".parse().expect("literal")
            ]
        );
        assert_eq!(default_oif(&routes), Some(4));
        assert_eq!(default_oif(&routes[1..]), None);
    }
}
