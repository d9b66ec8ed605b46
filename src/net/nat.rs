//! Masquerading a bridge subnet out of a nesting host's own network namespace, and IPv4
//! forwarding there. Both refuse to run in the initial network namespace: lxnest never changes
//! the real host's firewall or sysctls.

use super::nft::{self, Batch, NLMSG_DONE, NLMSG_ERROR};
use super::{NetError, Result};
use crate::plan::model::BridgePlan;
use netlink_sys::{protocols::NETLINK_NETFILTER, Socket, SocketAddr};
use std::os::unix::fs::MetadataExt;

/// The nftables table lxnest owns inside a nesting host's namespace.
pub const TABLE: &str = "lxnest";
/// Inode of the initial network namespace on kernels that fix it (PROC_NET_INIT_INO).
const PROC_NET_INIT_INO: u64 = 0xEFFF_FFF9;
/// Inode of the initial pid namespace (PROC_PID_INIT_INO, fixed since Linux 3.8).
const PROC_PID_INIT_INO: u64 = 0xEFFF_FFFC;

fn ns_ino(path: &str) -> Result<u64> {
    std::fs::metadata(path)
        .map(|m| m.ino())
        .map_err(|source| NetError::Io {
            op: "stat",
            path: path.into(),
            source,
        })
}

/// Whether the calling thread is in the real host's network namespace: the fixed init inode
/// (Linux 6.x), or on older kernels the namespace of kthreadd (PID 2 of the initial pid
/// namespace; kernel threads live in the initial network namespace). PID 1 is no witness: it
/// may be non-dumpable and its namespace links unreadable. When nothing can be checked, the
/// answer is "host", so that callers refuse rather than touch a host firewall.
pub fn in_initial_netns() -> Result<bool> {
    let mine = ns_ino("/proc/thread-self/ns/net")?;
    if mine == PROC_NET_INIT_INO {
        return Ok(true);
    }
    if ns_ino("/proc/thread-self/ns/pid")? != PROC_PID_INIT_INO {
        // In a container's pid namespace; its network namespace is not the host's unless it
        // shares it, which the fixed inode above catches on current kernels.
        return Ok(false);
    }
    let kthreadd = std::fs::read_to_string("/proc/2/comm")
        .map(|c| c.trim() == "kthreadd")
        .unwrap_or(false);
    match (kthreadd, ns_ino("/proc/2/ns/net")) {
        (true, Ok(ino)) => Ok(ino == mine),
        _ => Ok(true),
    }
}

fn refuse_on_host(what: &'static str) -> Result<()> {
    if in_initial_netns()? {
        return Err(NetError::Io {
            op: what,
            path: "/proc/thread-self/ns/net".into(),
            source: std::io::Error::new(
                std::io::ErrorKind::PermissionDenied,
                "refusing: this is the real host's network namespace",
            ),
        });
    }
    Ok(())
}

/// Sets `net.ipv4.ip_forward = 1` in the calling thread's network namespace (the sysctl is
/// per namespace; /proc/sys/net follows the opener's namespace).
pub fn enable_ip_forward() -> Result<()> {
    refuse_on_host("enable ip_forward")?;
    let path = "/proc/sys/net/ipv4/ip_forward";
    std::fs::write(path, "1").map_err(|source| NetError::Io {
        op: "write",
        path: path.into(),
        source,
    })
}

/// An nfnetlink socket in the calling thread's namespace.
struct Nfnl {
    sock: Socket,
    seq: u32,
}

impl Nfnl {
    fn open() -> Result<Self> {
        let mut sock = Socket::new(NETLINK_NETFILTER).map_err(|source| NetError::Socket {
            what: "open NETLINK_NETFILTER",
            source,
        })?;
        sock.bind_auto().map_err(|source| NetError::Socket {
            what: "bind",
            source,
        })?;
        Ok(Nfnl {
            sock,
            seq: std::process::id().wrapping_mul(1000),
        })
    }

    fn send(&self, bytes: &[u8]) -> Result<()> {
        self.sock
            .send_to(bytes, &SocketAddr::new(0, 0), 0)
            .map_err(|source| NetError::Socket {
                what: "send",
                source,
            })?;
        Ok(())
    }

    /// Sends a batch and waits for the acknowledgement of each message that asked for one.
    fn run(&mut self, batch: Batch, op: &'static str) -> Result<()> {
        self.seq = batch.acked.last().copied().unwrap_or(self.seq) + 2;
        self.send(&batch.bytes)?;
        let mut pending = batch.acked.clone();
        let mut first_err = None;
        while !pending.is_empty() {
            let (buf, _) = self
                .sock
                .recv_from_full()
                .map_err(|source| NetError::Socket {
                    what: "recv",
                    source,
                })?;
            for m in nft::split_messages(&buf) {
                if m.kind != NLMSG_ERROR || !pending.contains(&m.seq) {
                    continue;
                }
                pending.retain(|s| *s != m.seq);
                let code = nft::error_code(&m.payload);
                if code != 0 && first_err.is_none() {
                    first_err = Some(code);
                }
            }
            if first_err.is_some() {
                break;
            }
        }
        match first_err {
            None => Ok(()),
            Some(code) => Err(NetError::Netlink {
                op,
                object: format!("table ip {TABLE}"),
                source: std::io::Error::from_raw_os_error(code),
            }),
        }
    }

    fn next_seq(&mut self) -> u32 {
        self.seq = self.seq.wrapping_add(10);
        self.seq
    }
}

/// Names of the `ip` family nftables tables in the calling thread's namespace.
pub fn list_tables() -> Result<Vec<String>> {
    let mut nl = Nfnl::open()?;
    let seq = nl.next_seq();
    nl.send(&nft::list_tables_request(seq))?;
    let mut out = Vec::new();
    loop {
        let (buf, _) = nl
            .sock
            .recv_from_full()
            .map_err(|source| NetError::Socket {
                what: "recv",
                source,
            })?;
        for m in nft::split_messages(&buf) {
            if m.seq != seq {
                continue;
            }
            match m.kind {
                NLMSG_DONE => return Ok(out),
                NLMSG_ERROR => {
                    let code = nft::error_code(&m.payload);
                    if code == 0 {
                        return Ok(out);
                    }
                    return Err(NetError::Netlink {
                        op: "NFT_MSG_GETTABLE",
                        object: "ip tables".into(),
                        source: std::io::Error::from_raw_os_error(code),
                    });
                }
                _ => out.extend(nft::table_name(&m.payload)),
            }
        }
    }
}

fn delete_table(nl: &mut Nfnl) -> Result<()> {
    let seq = nl.next_seq();
    match nl.run(nft::delete_table_batch(seq, TABLE), "NFT_MSG_DELTABLE") {
        Err(NetError::Netlink { source, .. }) if source.raw_os_error() == Some(libc::ENOENT) => {
            Ok(())
        }
        r => r,
    }
}

/// lxnest's masquerade table in a nesting host's namespace; removed on drop unless persisted.
/// It keeps its netlink socket, which stays bound to the namespace it was opened in, so dropping
/// it from another thread still cleans the right namespace.
pub struct NatGuard {
    nl: Nfnl,
    persist: bool,
}

impl std::fmt::Debug for NatGuard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NatGuard")
            .field("table", &TABLE)
            .field("persist", &self.persist)
            .finish()
    }
}

impl NatGuard {
    /// Installs `table ip lxnest` with `ip saddr SUBNET oifname != BRIDGE masquerade` in a nat
    /// postrouting chain, replacing a stale lxnest table. Refuses in the real host's namespace.
    pub fn new(bridge: &BridgePlan) -> Result<NatGuard> {
        refuse_on_host("install NAT")?;
        super::check_name(&bridge.name)?;
        let mut nl = Nfnl::open()?;
        delete_table(&mut nl)?;
        let seq = nl.next_seq();
        nl.run(
            nft::masquerade_batch(seq, TABLE, bridge.subnet, &bridge.name),
            "NFT_MSG_NEWTABLE/CHAIN/RULE",
        )?;
        Ok(NatGuard { nl, persist: false })
    }

    /// Keeps the table after the guard is gone.
    pub fn persist(mut self) {
        self.persist = true;
    }

    /// Removes the table now, reporting errors.
    pub fn remove(mut self) -> Result<()> {
        self.persist = true;
        delete_table(&mut self.nl)
    }
}

impl Drop for NatGuard {
    fn drop(&mut self) {
        if !self.persist {
            if let Err(e) = delete_table(&mut self.nl) {
                tracing::warn!("removing nft table {TABLE}: {e}");
            }
        }
    }
}

/// Removes lxnest's table from the calling thread's namespace (for `stop`, without a guard).
pub fn remove_nat() -> Result<()> {
    refuse_on_host("remove NAT")?;
    delete_table(&mut Nfnl::open()?)
}
