//! What a started container tree holds on the host, as [`Reservation`]s for lxnest's allocation
//! registry: the stack's host bridge, every bridge a container of the tree makes inside (each
//! level's), and the tree's block of host ids (its children's blocks lie inside it). Pure: the
//! registry in the apply layer records the result under its lock.

use crate::plan::host::{bridge_key, ids_key, IdRange, Reservation, HOST_BRIDGE};
use crate::plan::model::{IdMapLine, Plan};

/// The claims of the tree whose level-1 container is at `top` (holder left empty: the registry
/// names it).
pub fn of_tree(plan: &Plan, top: &str) -> Vec<Reservation> {
    let prefix = format!("{top}/");
    let tree = plan
        .containers
        .iter()
        .filter(|c| c.path == top || c.path.starts_with(&prefix));
    let claim = |what: String| Reservation {
        holder: String::new(),
        stack: Some(plan.stack.clone()),
        what,
        subnet: None,
        uids: None,
        gids: None,
    };
    let mut out = Vec::new();
    let on_host_bridge = plan.get(top).is_some_and(|c| {
        plan.host_bridge
            .as_ref()
            .is_some_and(|b| c.network.parent_bridge.as_deref() == Some(b.name.as_str()))
    });
    if let Some(b) = plan.host_bridge.as_ref().filter(|_| on_host_bridge) {
        out.push(Reservation {
            subnet: Some(b.subnet),
            ..claim(HOST_BRIDGE.into())
        });
    }
    for c in tree {
        if let Some(b) = &c.network.own_bridge {
            out.push(Reservation {
                subnet: Some(b.subnet),
                ..claim(bridge_key(&c.path))
            });
        }
        // The nested runtime's own bridge (LXC's lxcbr0, docker0...) and address pool: routed
        // inside the nesting host, so no other stack may pick them either.
        if let Some(b) = &c.network.runtime_bridge {
            out.push(Reservation {
                subnet: Some(b.subnet),
                ..claim(crate::plan::host::runtime_bridge_key(&c.path))
            });
        }
        if let Some(pool) = c.network.runtime_pool {
            out.push(Reservation {
                subnet: Some(pool),
                ..claim(crate::plan::host::runtime_pool_key(&c.path))
            });
        }
    }
    if let Some(m) = plan.get(top).and_then(|c| c.idmap.as_ref()) {
        out.push(Reservation {
            uids: host_block(&m.uid),
            gids: host_block(&m.gid),
            ..claim(ids_key(top))
        });
    }
    out
}

/// The host ids a top-level map reaches besides a single mapped user (an unprivileged user's
/// own id is hers already): its largest line.
fn host_block(lines: &[IdMapLine]) -> Option<IdRange> {
    lines
        .iter()
        .filter(|l| l.count > 1)
        .max_by_key(|l| l.count)
        .map(|l| IdRange {
            first: l.outside,
            count: l.count,
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::host::HostSnapshot;

    #[test]
    fn a_nesting_tree_claims_the_host_bridge_its_inner_bridges_and_its_id_block() {
        let stack =
            crate::spec::load(std::path::Path::new("builtin:juju-laptop")).expect("builtin");
        let plan = crate::plan::plan(&stack, &HostSnapshot::laptop()).expect("plan");
        let top = plan.containers[0].path.clone();
        let claims = of_tree(&plan, &top);
        let whats: Vec<&str> = claims.iter().map(|c| c.what.as_str()).collect();
        assert!(whats.contains(&HOST_BRIDGE), "{whats:?}");
        assert!(whats.contains(&bridge_key(&top).as_str()), "{whats:?}");
        let ids = claims
            .iter()
            .find(|c| c.what == ids_key(&top))
            .expect("ids");
        let m = plan.containers[0].idmap.as_ref().expect("map");
        assert_eq!(ids.uids, Some(m.host_uid));
        assert!(claims
            .iter()
            .all(|c| c.stack.as_deref() == Some(plan.stack.as_str())));
    }

    fn juju(name: &str) -> crate::spec::model::Stack {
        let mut s =
            crate::spec::load(std::path::Path::new("builtin:juju-laptop")).expect("builtin");
        s.name = name.into();
        s
    }

    fn all_claims(plan: &Plan, holder: &str) -> Vec<Reservation> {
        plan.containers
            .iter()
            .filter(|c| c.parent.is_none())
            .flat_map(|c| of_tree(plan, &c.path))
            .map(|mut r| {
                r.holder = holder.into();
                r
            })
            .collect()
    }

    fn overlap(a: IdRange, b: IdRange) -> bool {
        let end = |r: IdRange| u64::from(r.first) + u64::from(r.count);
        u64::from(a.first) < end(b) && u64::from(b.first) < end(a)
    }

    #[test]
    fn a_second_stack_keeps_clear_of_everything_the_first_holds() {
        let host = HostSnapshot::laptop();
        let a = crate::plan::plan(&juju("a"), &host).expect("plan a");
        let mut host_b = host.clone();
        host_b.reserved = all_claims(&a, "stack a");
        let b = crate::plan::plan(&juju("b"), &host_b).expect("plan b");
        assert_eq!(
            b.reserved, host_b.reserved,
            "the plan shows what it kept clear of"
        );
        for x in all_claims(&b, "stack b") {
            for y in &host_b.reserved {
                if let (Some(n), Some(m)) = (x.subnet, y.subnet) {
                    assert!(!crate::plan::subnet::overlaps(&n, &m), "{x:?} {y:?}");
                }
                if let (Some(n), Some(m)) = (x.uids, y.uids) {
                    assert!(!overlap(n, m), "{x:?} {y:?}");
                }
            }
        }
    }

    /// A docker host's address pool is routed inside it only, so the host's routes do not show
    /// it: the claim is what keeps a second stack's pool off it (the mutation run found the
    /// pool's subnet dropped from its claim missed).
    #[test]
    fn a_second_docker_host_keeps_clear_of_the_first_ones_address_pool() {
        let docker = |name: &str| {
            crate::spec::parse_str(
                &format!("name: {name}\ncontainers:\n  - name: {name}\n    runtime: docker\n"),
                "t.yaml",
            )
            .expect("spec")
        };
        let host = HostSnapshot::laptop();
        let a = crate::plan::plan(&docker("a"), &host).expect("plan a");
        let pool_a = a.containers[0].network.runtime_pool.expect("a's pool");
        let mut host_b = host.clone();
        host_b.reserved = all_claims(&a, "stack a");
        let b = crate::plan::plan(&docker("b"), &host_b).expect("plan b");
        let pool_b = b.containers[0].network.runtime_pool.expect("b's pool");
        assert!(
            !crate::plan::subnet::overlaps(&pool_a, &pool_b),
            "{pool_a} {pool_b}"
        );
    }

    #[test]
    fn a_stack_started_again_takes_its_own_subnets_and_ids_back() {
        let host = HostSnapshot::laptop();
        let first = crate::plan::plan(&juju("a"), &host).expect("plan");
        let mut again = host.clone();
        again.reserved = all_claims(&first, "stack a");
        // Its host bridge exists now: the host routes the subnet and has its address.
        let hb = first.host_bridge.clone().expect("host bridge");
        again.routes.push(hb.subnet);
        again.addresses.push(hb.address);
        let second = crate::plan::plan(&juju("a"), &again).expect("plan again");
        assert_eq!(
            second.host_bridge.as_ref().map(|b| b.subnet),
            Some(hb.subnet)
        );
        assert_eq!(all_claims(&second, "x"), all_claims(&first, "x"));
        // Taken by someone else in between: a fresh pick, not a shared one.
        let mut taken = again.clone();
        for r in &mut taken.reserved {
            r.stack = Some("other".into());
        }
        let third = crate::plan::plan(&juju("a"), &taken).expect("plan third");
        let hb3 = third.host_bridge.expect("bridge").subnet;
        assert!(!crate::plan::subnet::overlaps(&hb3, &hb.subnet));
    }
}
