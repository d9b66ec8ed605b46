//! The tree walk: visits containers parents-first and assembles one [`LevelPlan`] each from the
//! per-topic planners (cgroup, network, id maps, seccomp, AppArmor), then runs the checks.

use crate::origin::Origin;
use crate::plan::error::{Finding, PlanError};
use crate::plan::host::{bridge_key, ids_key, HostSnapshot, IdRange, HOST_BRIDGE};
use crate::plan::idmap::{self, IdAllocator};
use crate::plan::model::*;
use crate::plan::needs::{self, Needs};
use crate::plan::subnet::SubnetAllocator;
use crate::plan::{caps, cgroup, check, devices, network};
use crate::spec::model::{ContainerSpec, Init, NetworkMode, Stack};
use std::collections::{BTreeMap, BTreeSet};

/// PATH inside every container.
const PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// Plan a whole stack against a host snapshot. Pure: same inputs, same plan.
pub fn plan(stack: &Stack, host: &HostSnapshot) -> Result<Plan, PlanError> {
    let unprivileged;
    let stack = match &host.user {
        Some(_) => {
            unprivileged = network::unprivileged_top(stack);
            &unprivileged
        }
        None => stack,
    };
    let mut w = Walker::new(stack, host)?;
    // This stack's own earlier subnets (a sibling still runs on the host bridge): kept when
    // nothing else claims them now. Its own bridge's route and address equal the subnet exactly.
    let mine =
        |r: &&crate::plan::host::Reservation| r.stack.as_deref() == Some(stack.name.as_str());
    let others: Vec<ipnet::Ipv4Net> = host
        .reserved
        .iter()
        .filter(|r| !mine(r))
        .filter_map(|r| r.subnet)
        .collect();
    let mut fixed = Vec::new();
    network::fixed_subnets(&stack.containers, &mut fixed);
    let clear = |net: &ipnet::Ipv4Net| {
        !others
            .iter()
            .chain(&fixed)
            .any(|o| crate::plan::subnet::overlaps(o, net))
    };
    let own: Vec<(String, ipnet::Ipv4Net)> = host
        .reserved
        .iter()
        .filter(mine)
        .filter_map(|r| Some((r.what.clone(), r.subnet?)))
        .filter(|(_, net)| w.alloc.conflict(net).is_none_or(|t| t == *net) && clear(net))
        .collect();
    for net in &others {
        w.alloc.reserve(*net);
    }
    network::reserve_user_subnets(
        &stack.containers,
        "",
        host.level + 1,
        &mut w.alloc,
        &mut w.findings,
    );
    for (what, net) in own {
        w.alloc.reserve(net);
        w.pinned.insert(what, net);
    }
    let bridged = stack
        .containers
        .iter()
        .filter(|c| network::bridged(c))
        .count() as u32;
    let host_bridge = (bridged > 0)
        .then(|| {
            let name = network::host_bridge_name(&stack.name);
            network::bridge(
                name,
                w.pinned.get(HOST_BRIDGE).copied(),
                bridged,
                host.uplink_mtu,
                false,
                Origin::builtin("picked"),
                &mut w.alloc,
            )
        })
        .flatten();
    let (uids, gids) = idmap::available(host);
    let allocator = |range: Option<IdRange>, gids: bool| {
        range.map(|r| {
            let mut a = IdAllocator::new(r);
            a.avoid(&idmap::held_by_others(host, &stack.name, gids));
            a
        })
    };
    let mut ids = (allocator(uids, false), allocator(gids, true));
    let top = Parent {
        level: None,
        bridge: host_bridge.as_ref(),
        depth: host.level,
    };
    w.siblings(&stack.containers, &top, &mut ids)?;
    let mut containers: Vec<LevelPlan> = std::mem::take(&mut w.out).into_iter().flatten().collect();
    network::runtime_bridges(&mut containers, &mut w.alloc, &w.pinned, &mut w.findings);
    let mut plan = Plan {
        stack: stack.name.clone(),
        source: stack.source.clone(),
        base_level: host.level,
        host_bridge,
        containers,
        warnings: w.warnings,
        reserved: host.reserved.clone(),
    };
    crate::plan::seccomp::fill_effective(&mut plan);
    w.findings.extend(check::run(&plan, stack));
    if w.findings.is_empty() {
        Ok(plan)
    } else {
        Err(PlanError::Rejected(w.findings))
    }
}

struct Walker<'a> {
    stack: &'a Stack,
    host: &'a HostSnapshot,
    alloc: SubnetAllocator,
    /// This stack's own earlier subnets, by [`crate::plan::host::Reservation::what`], taken again.
    pinned: BTreeMap<String, ipnet::Ipv4Net>,
    /// Planned containers, parents first; a parent's slot is empty while its children are
    /// planned (they borrow it), so that no level is copied.
    out: Vec<Option<LevelPlan>>,
    findings: Vec<Finding>,
    warnings: Vec<String>,
    base: crate::plan::seccomp::Base,
}

/// What a container inherits from its parent while it is planned.
struct Parent<'p> {
    level: Option<&'p LevelPlan>,
    bridge: Option<&'p BridgePlan>,
    depth: u32,
}

type Ids = (Option<IdAllocator>, Option<IdAllocator>);

impl<'a> Walker<'a> {
    fn new(stack: &'a Stack, host: &'a HostSnapshot) -> Result<Self, PlanError> {
        Ok(Walker {
            stack,
            host,
            alloc: SubnetAllocator::new(&host.routes, &host.addresses, &host.dns),
            pinned: BTreeMap::new(),
            out: Vec::new(),
            findings: Vec::new(),
            warnings: Vec::new(),
            base: crate::plan::seccomp::Base::load()?,
        })
    }

    fn siblings(
        &mut self,
        list: &[ContainerSpec],
        parent: &Parent,
        ids: &mut Ids,
    ) -> Result<(), PlanError> {
        let mut on_bridge = 0;
        for c in list {
            let index = on_bridge;
            if network::bridged(c) {
                on_bridge += 1;
            }
            let Some(level) = self.container(c, parent, index, ids)? else {
                continue;
            };
            let mut kid_ids = match &level.idmap {
                Some(m) => (
                    Some(IdAllocator::for_children_of(m)),
                    Some(IdAllocator::for_children_of(m)),
                ),
                None => (ids.0.clone(), ids.1.clone()),
            };
            self.out.push(None);
            let me = self.out.len() - 1;
            let next = Parent {
                level: Some(&level),
                bridge: level.network.own_bridge.as_ref(),
                depth: level.depth,
            };
            self.siblings(&c.children, &next, &mut kid_ids)?;
            self.out[me] = Some(level);
        }
        Ok(())
    }

    /// One container; `None` when it could not be planned (its findings are recorded).
    fn container(
        &mut self,
        c: &ContainerSpec,
        parent: &Parent,
        index: u32,
        ids: &mut Ids,
    ) -> Result<Option<LevelPlan>, PlanError> {
        let depth = parent.depth + 1;
        let path = network::join(parent.level.map(|p| p.path.as_str()).unwrap_or(""), &c.name);
        let own = needs::own(c);
        let subtree = needs::subtree(c);
        let cg = cgroup::plan(
            c,
            &path,
            depth,
            &own,
            &self.host.cgroup,
            parent.level.map(|p| &p.cgroup),
        );
        let cg = match cg {
            Ok(cg) => cg,
            Err(mut f) => {
                self.findings.append(&mut f);
                return Ok(None);
            }
        };
        let net = network::container(
            c,
            &self.stack.name,
            &path,
            depth,
            parent.bridge,
            index,
            own.overhead,
            self.pinned.get(&bridge_key(&path)).copied(),
            &mut self.alloc,
        );
        let net = match net {
            Ok(n) => n,
            Err(f) => {
                self.findings.push(*f);
                return Ok(None);
            }
        };
        let top_user = self.host.user.is_some() && parent.level.is_none();
        if net.mode == NetworkMode::UserNic && !top_user {
            self.findings.push(Finding {
                container: path.clone(),
                level: depth,
                rule: "network.mode user-nic".into(),
                origin: c.origin_of("network.mode"),
                message: "user-nic is for a top-level container of an unprivileged user".into(),
                fix: "use `network: {mode: bridge}` (root and nesting hosts make their own veths)"
                    .into(),
            });
            return Ok(None);
        }
        if top_user && net.mode == NetworkMode::Bridge {
            self.findings.push(Finding {
                container: path.clone(),
                level: depth,
                rule: "network.mode bridge".into(),
                origin: c.origin_of("network.mode"),
                message: "an unprivileged user cannot create the host bridge and veth".into(),
                fix: "use `network: {mode: loopback}` (the default for unprivileged users), `{mode: user-nic, link: BRIDGE}` with lxc-user-nic, or start it as root".into(),
            });
            return Ok(None);
        }
        let Some(mut idmap) = self.idmap(c, &path, depth, parent, ids) else {
            return Ok(None);
        };
        if let Some(m) = idmap.as_mut() {
            m.runtime = crate::plan::idreserve::runtime_range(c, m.host_uid.count);
        }
        let apparmor = crate::plan::apparmor::plan(c, &path, &subtree)?;
        if let Some(note) = &apparmor.note {
            self.warnings.push(format!("{path}: {note}"));
        }
        let capabilities =
            caps::for_container(c, &subtree, parent.level, &apparmor, idmap.is_some());
        // After the capabilities: an OCI profile's includes/excludes depend on them.
        let (seccomp, lxc_issues) =
            crate::plan::seccomp::own_policy(&mut self.base, c, &own, &subtree, &capabilities)?;
        // seccomp.lxc is written for every level; say where LXC would refuse or misread it.
        for (origin, what) in lxc_issues {
            self.warnings
                .push(format!("{path}: seccomp.lxc: {origin}: {what}"));
        }
        let devices = self.devices(c, &path, depth, &subtree);
        let level = LevelPlan {
            name: c.name.clone(),
            path: path.clone(),
            depth,
            parent: parent.level.map(|p| p.path.clone()),
            runtime: c.runtime,
            origin: c.origin.clone(),
            rootfs: c.rootfs().cloned().unwrap_or(RootfsPlan::Builtin),
            encrypt: self.encrypt(c, &path, depth),
            init: init(c, &path, depth, &own),
            apparmor,
            seccomp,
            cgroup: cg,
            network: net,
            capabilities,
            landlock: super::landlock::plan(
                (!own.is_empty()).then(|| join_names(&own)).as_deref(),
                self.host.kernel.landlock_abi.is_some(),
                &devices,
            ),
            devices,
            idmap,
            mounts: mounts(c),
            hooks: c.hooks.clone(),
        };
        Ok(Some(level))
    }

    fn idmap(
        &mut self,
        c: &ContainerSpec,
        path: &str,
        depth: u32,
        parent: &Parent,
        ids: &mut Ids,
    ) -> Option<Option<IdMapPlan>> {
        let rootless = self.host.user.as_ref().filter(|_| parent.level.is_none());
        if let Some(user) = rootless {
            return self.user_idmap(c, path, depth, user, ids);
        }
        if c.idmap.as_ref().is_some_and(|m| m.privileged) {
            self.warnings.push(format!(
                "{path}: privileged (no user namespace): root inside is root of the parent"
            ));
            return Some(None);
        }
        // A level-1 tree started before takes its old block again when it is still free.
        let earlier = |gids: bool| {
            let key = ids_key(path);
            let stack = self.stack.name.as_str();
            let r = self.host.reserved.iter().find(|r| r.is_own(stack, &key))?;
            parent
                .level
                .is_none()
                .then_some(if gids { r.gids } else { r.uids }?)
        };
        let (uid, gid, count) = match crate::plan::idreserve::allocate(
            c,
            (&mut ids.0, &mut ids.1),
            (earlier(false), earlier(true)),
        ) {
            Ok((uid, gid, count, warning)) => {
                if let Some(w) = warning {
                    self.warnings.push(format!("{path}: {w}"));
                }
                (uid, gid, count)
            }
            Err(count) => {
                self.findings.push(Finding {
                        container: path.into(),
                        level: depth,
                        rule: "idmap".into(),
                        origin: c.origin_of("idmap"),
                        message: format!("no room for {count} ids in the parent's range (subordinate ids, or the parent's block)"),
                        fix: "add subordinate ids (/etc/subuid, /etc/subgid), remove a fixed `idmap.uid`, or nest fewer containers".into(),
                    });
                return None;
            }
        };
        let (hu, hg) = match parent.level.and_then(|p| p.idmap.as_ref()) {
            Some(p) => (p.host_uid.first + uid, p.host_gid.first + gid),
            None => (uid, gid),
        };
        Some(Some(idmap::map(uid, gid, count, hu, hg)))
    }

    /// A top-level container of an unprivileged user (see [`idmap::for_user`]).
    fn user_idmap(
        &mut self,
        c: &ContainerSpec,
        path: &str,
        depth: u32,
        user: &crate::plan::host::HostUser,
        ids: &mut Ids,
    ) -> Option<Option<IdMapPlan>> {
        match idmap::for_user(c, self.host, user, (&mut ids.0, &mut ids.1)) {
            Ok((map, warning)) => {
                if let Some(w) = warning {
                    self.warnings.push(format!("{path}: {w}"));
                }
                Some(Some(map))
            }
            Err((message, fix)) => {
                self.findings.push(Finding {
                    container: path.into(),
                    level: depth,
                    rule: "idmap".into(),
                    origin: c.origin_of("idmap"),
                    message,
                    fix: fix.into(),
                });
                None
            }
        }
    }

    /// The encrypted-root plan; a bad `encrypt:` wish becomes a finding at the container's line.
    fn encrypt(
        &mut self,
        c: &ContainerSpec,
        path: &str,
        depth: u32,
    ) -> Option<crate::plan::model::EncryptPlan> {
        let (message, fix) = match super::encrypt::plan(c, path) {
            Ok(e) => return e,
            Err(super::encrypt::EncryptError { message, fix, .. }) => (message, fix),
        };
        // `encrypt:`, or the map form of `rootfs:` that asked for it.
        let origin = if c.origins.contains_key("encrypt") {
            c.origin_of("encrypt")
        } else {
            c.origin_of("rootfs")
        };
        self.findings.push(Finding {
            container: path.into(),
            level: depth,
            rule: "encrypt".into(),
            origin,
            message,
            fix,
        });
        None
    }

    fn devices(
        &mut self,
        c: &ContainerSpec,
        path: &str,
        depth: u32,
        subtree: &Needs,
    ) -> Vec<DevicePlan> {
        let mut wanted: BTreeSet<String> = devices::DEFAULT.iter().map(|s| s.to_string()).collect();
        wanted.extend(subtree.devices.iter().cloned());
        collect_spec_devices(c, &mut wanted);
        let mut out = Vec::new();
        for d in wanted {
            match devices::lookup(&d) {
                Some(p) => out.push(p),
                None => self.findings.push(Finding {
                    container: path.into(),
                    level: depth,
                    rule: format!("devices: {d}"),
                    origin: c.origin_of("devices"),
                    message: format!("lxnest does not pass through {d}"),
                    fix: format!("use one of: {}", devices::known_paths().join(", ")),
                }),
            }
        }
        out
    }
}

/// A device a descendant asks for must be passed through every ancestor.
fn collect_spec_devices(c: &ContainerSpec, into: &mut BTreeSet<String>) {
    into.extend(c.devices.iter().cloned());
    c.children
        .iter()
        .for_each(|k| collect_spec_devices(k, into));
}

/// The init of a container: its command, or systemd, or lxnest's own init; the environment.
pub(crate) fn init(c: &ContainerSpec, path: &str, depth: u32, own: &Needs) -> InitPlan {
    let command = c.command.clone().unwrap_or_else(|| {
        if c.init == Some(Init::Systemd) {
            vec!["/sbin/init".into()]
        } else {
            // lxnest's own init reaps, starts the children of this container from the plan (if
            // any) and stops them on SIGTERM.
            vec!["lxnest".into(), "init-nested".into()]
        }
    });
    let mut environment: BTreeMap<String, String> = BTreeMap::new();
    environment.insert("container".into(), "lxnest".into());
    environment.insert("PATH".into(), PATH.into());
    environment.insert("LXNEST_LEVEL".into(), depth.to_string());
    environment.insert("LXNEST_CONTAINER".into(), path.into());
    if !own.is_empty() {
        environment.insert(
            "LXNEST_RUNTIMES".into(),
            own.sources.iter().cloned().collect::<Vec<_>>().join(","),
        );
    }
    environment.extend(c.environment.clone());
    // systemd re-executes itself on SIGTERM and halts on SIGRTMIN+3 (LXC's lxc.signal.halt).
    let halt_signal = c
        .halt_signal
        .clone()
        .or_else(|| (c.init == Some(Init::Systemd)).then(|| "SIGRTMIN+3".to_string()));
    InitPlan {
        command,
        environment,
        hostname: c.name.clone(),
        halt_signal,
    }
}

fn mounts(c: &ContainerSpec) -> Vec<MountPlan> {
    c.mounts
        .iter()
        .enumerate()
        .map(|(i, m)| MountPlan {
            source: m.source.clone(),
            target: m.target.clone(),
            fstype: m.fstype.clone(),
            options: m.options.clone(),
            origin: c.origin_of(&format!("mounts[{i}]")),
        })
        .collect()
}

fn join_names(n: &Needs) -> String {
    n.sources.iter().cloned().collect::<Vec<_>>().join(", ")
}
