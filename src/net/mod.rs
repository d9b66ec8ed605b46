//! Networking on the running kernel through netlink: bridges, veths, addresses, routes, NAT.
