//! Picking bridge subnets that collide with nothing: not the host's routes, addresses or DNS
//! servers, not Docker's default, not LXC's lxcbr0 default, and not any other bridge of the plan
//! (so no level reuses an ancestor's or a sibling's subnet).

use ipnet::Ipv4Net;
use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr};

/// Networks never handed out: Docker's default bridge and LXC's lxcbr0 default, which a nested
/// Docker or LXC would create inside the container and then collide with.
const RESERVED: &[&str] = &["172.17.0.0/16", "10.0.3.0/24"];

/// Where picked subnets come from, in order of preference.
const POOLS: &[&str] = &[
    "10.100.0.0/14",
    "10.104.0.0/13",
    "10.112.0.0/12",
    "10.128.0.0/9",
    "172.20.0.0/14",
    "192.168.128.0/17",
];

/// Hands out subnets in increasing address order from [`POOLS`], skipping anything taken.
#[derive(Debug, Clone)]
pub struct SubnetAllocator {
    /// Everything taken, in the order it was taken (a conflict names the first it meets).
    taken: Vec<Ipv4Net>,
    /// The same addresses as disjoint ranges, first address -> last address: whether a
    /// candidate is free is one lookup instead of a scan of every taken subnet, which made
    /// planning a fleet quadratic (a pick per bridge, each against all bridges before it).
    ranges: BTreeMap<u32, u32>,
    pool: usize,
    cursor: u32,
}

impl SubnetAllocator {
    /// An allocator that avoids the given routes, addresses and DNS servers.
    pub fn new(routes: &[Ipv4Net], addresses: &[Ipv4Net], dns: &[IpAddr]) -> Self {
        let mut taken: Vec<Ipv4Net> = RESERVED.iter().filter_map(|s| s.parse().ok()).collect();
        taken.extend(routes.iter().filter(|r| r.prefix_len() > 0).copied());
        taken.extend(addresses.iter().map(|a| a.trunc()));
        taken.extend(dns.iter().filter_map(|d| match d {
            IpAddr::V4(v4) => Ipv4Net::new(*v4, 32).ok(),
            IpAddr::V6(_) => None,
        }));
        let cursor = first_of(0);
        let mut a = SubnetAllocator {
            taken: Vec::new(),
            ranges: BTreeMap::new(),
            pool: 0,
            cursor,
        };
        for net in taken {
            a.reserve(net);
        }
        a
    }

    /// Mark a subnet as taken (a user-chosen one), so no later pick overlaps it.
    pub fn reserve(&mut self, net: Ipv4Net) {
        self.taken.push(net);
        let (mut first, mut last) = (u32::from(net.network()), u32::from(net.broadcast()));
        // Ranges that overlap or touch [first, last] merge into one.
        let merged: Vec<(u32, u32)> = self
            .ranges
            .range(..=last.saturating_add(1))
            .rev()
            .take_while(|(_, l)| l.saturating_add(1) >= first)
            .map(|(f, l)| (*f, *l))
            .collect();
        for (f, l) in merged {
            self.ranges.remove(&f);
            first = first.min(f);
            last = last.max(l);
        }
        self.ranges.insert(first, last);
    }

    /// The last address of a taken range that overlaps `[first, last]`, if any.
    fn blocked(&self, first: u32, last: u32) -> Option<u32> {
        let (_, end) = self.ranges.range(..=last).next_back()?;
        (*end >= first).then_some(*end)
    }

    /// Whether `net` overlaps anything taken; returns the first overlap.
    pub fn conflict(&self, net: &Ipv4Net) -> Option<Ipv4Net> {
        self.blocked(u32::from(net.network()), u32::from(net.broadcast()))?;
        self.taken.iter().copied().find(|t| overlaps(t, net))
    }

    /// The next free subnet with room for `hosts` addresses (plus network, gateway, broadcast),
    /// never smaller than a /24.
    pub fn pick(&mut self, hosts: u32) -> Option<Ipv4Net> {
        let prefix = prefix_for(hosts)?;
        let size = 1u64 << (32 - prefix);
        while self.pool < POOLS.len() {
            let pool: Ipv4Net = POOLS[self.pool].parse().ok()?;
            let end = u64::from(u32::from(pool.broadcast())) + 1;
            let mut start = align_up(u64::from(self.cursor), size);
            while start + size <= end {
                let net = Ipv4Net::new(Ipv4Addr::from(start as u32), prefix).ok()?;
                match self.blocked(start as u32, (start + size - 1) as u32) {
                    None => {
                        self.cursor = (start + size).min(u64::from(u32::MAX)) as u32;
                        self.reserve(net);
                        return Some(net);
                    }
                    // Past the whole taken range: every aligned block before its end overlaps it.
                    Some(t) => {
                        let past = u64::from(t) + 1;
                        start = align_up(past.max(start + size), size);
                    }
                }
            }
            self.pool += 1;
            self.cursor = first_of(self.pool);
        }
        None
    }
}

fn first_of(pool: usize) -> u32 {
    POOLS
        .get(pool)
        .and_then(|p| p.parse::<Ipv4Net>().ok())
        .map(|n| u32::from(n.network()))
        .unwrap_or(0)
}

fn align_up(v: u64, size: u64) -> u64 {
    v.div_ceil(size) * size
}

/// Prefix length for a subnet holding `hosts` addresses besides network, gateway and broadcast.
pub fn prefix_for(hosts: u32) -> Option<u8> {
    let needed = u64::from(hosts) + 3;
    let bits = 64 - (needed - 1).leading_zeros();
    let prefix = 32u32.checked_sub(bits.max(8))?;
    u8::try_from(prefix).ok().filter(|p| *p >= 8)
}

/// Whether two networks share any address.
pub fn overlaps(a: &Ipv4Net, b: &Ipv4Net) -> bool {
    a.contains(&b.network()) || b.contains(&a.network())
}

/// The n-th host address of a subnet (1 = gateway), with the subnet's prefix.
pub fn host(net: &Ipv4Net, n: u32) -> Option<Ipv4Net> {
    let addr = u32::from(net.network()).checked_add(n)?;
    let ip = Ipv4Addr::from(addr);
    (net.contains(&ip) && ip != net.broadcast()).then(|| Ipv4Net::new(ip, net.prefix_len()).ok())?
}

#[cfg(test)]
mod tests {
    use super::*;

    fn net(s: &str) -> Ipv4Net {
        s.parse().unwrap()
    }

    #[test]
    fn avoids_routes_addresses_dns_docker_and_lxcbr0() {
        let routes = [net("10.100.0.0/16")];
        let addrs = [net("10.101.0.5/24")];
        let dns = ["10.101.1.1".parse().unwrap()];
        let mut a = SubnetAllocator::new(&routes, &addrs, &dns);
        let picked = a.pick(10).unwrap();
        assert_eq!(picked, net("10.101.2.0/24"));
        for bad in [
            "172.17.0.0/16",
            "10.0.3.0/24",
            "10.100.0.0/16",
            "10.101.0.0/24",
        ] {
            assert!(!overlaps(&picked, &net(bad)), "{picked} overlaps {bad}");
        }
    }

    #[test]
    fn successive_picks_are_distinct_and_sized() {
        let mut a = SubnetAllocator::new(&[], &[], &[]);
        let first = a.pick(3).unwrap();
        let big = a.pick(10_000).unwrap();
        let third = a.pick(3).unwrap();
        assert_eq!(first.prefix_len(), 24);
        assert_eq!(big.prefix_len(), 18);
        assert!(!overlaps(&first, &big) && !overlaps(&big, &third) && !overlaps(&first, &third));
        assert_eq!(u32::from(big.network()) % (1 << 14), 0, "aligned block");
    }

    /// A small net inside the first candidate (a DNS server's /32) moves the pick to the next
    /// block of the same pool, not to another pool (the mutation run found that step missed).
    #[test]
    fn a_small_conflict_moves_the_pick_one_block_on() {
        let mut a = SubnetAllocator::new(&[], &[], &["10.100.0.1".parse().unwrap()]);
        assert_eq!(a.pick(1).unwrap(), net("10.100.1.0/24"));
    }

    /// Picks are whole networks, one block after another.
    #[test]
    fn picks_are_consecutive_whole_networks() {
        let mut a = SubnetAllocator::new(&[], &[], &[]);
        let got: Vec<Ipv4Net> = (0..3).map(|_| a.pick(1).unwrap()).collect();
        assert_eq!(
            got,
            [
                net("10.100.0.0/24"),
                net("10.100.1.0/24"),
                net("10.100.2.0/24")
            ]
        );
        assert_eq!(a.pick(10_000).unwrap(), net("10.100.64.0/18"));
    }

    #[test]
    fn reserved_user_subnets_are_skipped() {
        let mut a = SubnetAllocator::new(&[], &[], &[]);
        a.reserve(net("10.100.0.0/23"));
        assert_eq!(a.pick(1).unwrap(), net("10.100.2.0/24"));
        assert_eq!(
            a.conflict(&net("10.100.1.0/24")),
            Some(net("10.100.0.0/23"))
        );
    }

    #[test]
    fn default_route_does_not_block_everything() {
        let mut a = SubnetAllocator::new(&[net("0.0.0.0/0")], &[], &[]);
        assert!(a.pick(1).is_some());
    }

    #[test]
    fn touching_and_nested_reservations_merge_and_still_name_the_first() {
        let mut a = SubnetAllocator::new(&[], &[], &[]);
        a.reserve(net("10.100.1.0/24"));
        a.reserve(net("10.100.0.0/24"));
        a.reserve(net("10.100.0.128/25"));
        a.reserve(net("10.100.3.0/24"));
        assert_eq!(
            a.ranges.len(),
            4,
            "RESERVED's two plus 10.100.0-1 and 10.100.3"
        );
        assert_eq!(a.pick(1), Some(net("10.100.2.0/24")));
        assert_eq!(a.ranges.len(), 3, "the pick filled the gap");
        assert_eq!(a.pick(1), Some(net("10.100.4.0/24")));
        assert_eq!(
            a.conflict(&net("10.100.0.0/23")),
            Some(net("10.100.1.0/24"))
        );
        assert_eq!(a.conflict(&net("10.100.5.0/24")), None);
        // A /22 skips the whole merged run 10.100.0-4 in one step.
        assert_eq!(a.pick(1000), Some(net("10.100.8.0/22")));
    }

    #[test]
    fn runs_out_cleanly() {
        let mut a = SubnetAllocator::new(&[net("0.0.0.0/1"), net("128.0.0.0/1")], &[], &[]);
        assert_eq!(a.pick(1), None);
    }

    #[test]
    fn host_addresses() {
        let n = net("10.100.4.0/24");
        assert_eq!(host(&n, 1), Some(net("10.100.4.1/24")));
        assert_eq!(host(&n, 254), Some(net("10.100.4.254/24")));
        assert_eq!(host(&n, 255), None, "broadcast");
        assert_eq!(prefix_for(253), Some(24));
        assert_eq!(prefix_for(254), Some(23));
    }
}
