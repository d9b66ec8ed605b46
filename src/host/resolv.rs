//! resolv.conf: the DNS servers a bridge subnet must not cover.

use std::net::IpAddr;

/// systemd-resolved's stub listener; when resolv.conf names only this, the real servers are in
/// `/run/systemd/resolve/resolv.conf`.
pub(crate) const RESOLVED_STUB: &str = "127.0.0.53";

/// Where systemd-resolved writes the upstream servers.
pub(crate) const RESOLVED_UPSTREAM: &str = "/run/systemd/resolve/resolv.conf";

/// The `nameserver` addresses of a resolv.conf text, in order, without duplicates. Comments
/// (`#`, `;`), other keywords and unparsable addresses are skipped; an IPv6 zone (`fe80::1%eth0`)
/// is dropped because it does not change which subnet the address is in.
pub(crate) fn nameservers(text: &str) -> Vec<IpAddr> {
    let mut out = Vec::new();
    for line in text.lines() {
        let line = line.split(['#', ';']).next().unwrap_or("");
        let mut words = line.split_whitespace();
        if words.next() != Some("nameserver") {
            continue;
        }
        let Some(addr) = words.next() else { continue };
        let addr = addr.split('%').next().unwrap_or(addr);
        if let Ok(ip) = addr.parse::<IpAddr>() {
            if !out.contains(&ip) {
                out.push(ip);
            }
        }
    }
    out
}

/// Whether these servers are only systemd-resolved's stub (then read the upstream file).
pub(crate) fn is_resolved_stub(servers: &[IpAddr]) -> bool {
    !servers.is_empty() && servers.iter().all(|s| s.to_string() == RESOLVED_STUB)
}

/// The servers to avoid: the stub's upstream servers when resolv.conf only names the stub and
/// the upstream file is readable, the plain servers otherwise.
pub(crate) fn servers(main: &str, upstream: Option<&str>) -> Vec<IpAddr> {
    let plain = nameservers(main);
    match upstream {
        Some(up) if is_resolved_stub(&plain) => {
            let real = nameservers(up);
            if real.is_empty() {
                plain
            } else {
                real
            }
        }
        _ => plain,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ips(list: &[&str]) -> Vec<IpAddr> {
        list.iter()
            .map(|s| s.parse().expect("test literal"))
            .collect()
    }

    #[test]
    fn plain_file_with_comments_options_and_ipv6() {
        let text = "# generated\nsearch example.org\nnameserver 10.255.255.53\n\
                    nameserver  192.168.1.1 # router\n;nameserver 9.9.9.9\noptions edns0\n\
                    nameserver fe80::1%eth0\nnameserver 192.168.1.1\nnameserver bogus\n";
        assert_eq!(
            nameservers(text),
            ips(&["10.255.255.53", "192.168.1.1", "fe80::1"])
        );
    }

    #[test]
    fn resolved_stub_is_replaced_by_upstream() {
        let stub = "nameserver 127.0.0.53\noptions edns0 trust-ad\nsearch .\n";
        let upstream = "nameserver 192.168.178.1\nnameserver 2001:db8::53\n";
        assert_eq!(
            servers(stub, Some(upstream)),
            ips(&["192.168.178.1", "2001:db8::53"])
        );
        // Without the upstream file (resolved not running) the stub is all we know.
        assert_eq!(servers(stub, None), ips(&["127.0.0.53"]));
        // An empty upstream file keeps the stub.
        assert_eq!(servers(stub, Some("")), ips(&["127.0.0.53"]));
    }

    #[test]
    fn non_stub_ignores_upstream_and_empty_file_has_none() {
        assert_eq!(
            servers("nameserver 1.1.1.1\n", Some("nameserver 8.8.8.8\n")),
            ips(&["1.1.1.1"])
        );
        assert!(servers("", None).is_empty());
        assert!(!is_resolved_stub(&[]));
    }
}
