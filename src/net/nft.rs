//! A small nf_tables netlink encoder: just enough to create and delete lxnest's masquerade table
//! and to list tables. Messages follow the nfnetlink batch protocol (NFNL_MSG_BATCH_BEGIN,
//! NFT_MSG_* messages, NFNL_MSG_BATCH_END) that `nft` itself uses; no crate for this builds
//! without libnftnl here, and the subset is small enough to own.
//!
//! Netlink attribute headers are host-endian; nf_tables attribute *values* (u32, registers,
//! hook numbers) are big-endian.

use ipnet::Ipv4Net;

/// nfnetlink subsystem id of nf_tables.
const NFNL_SUBSYS_NFTABLES: u16 = 10;
const NFNL_MSG_BATCH_BEGIN: u16 = 0x10;
const NFNL_MSG_BATCH_END: u16 = 0x11;
/// NFT_MSG_* message kinds.
const NFT_MSG_NEWTABLE: u16 = 0;
const NFT_MSG_GETTABLE: u16 = 1;
const NFT_MSG_DELTABLE: u16 = 2;
const NFT_MSG_NEWCHAIN: u16 = 3;
const NFT_MSG_NEWRULE: u16 = 6;
/// netlink header flags and types.
const NLM_F_REQUEST: u16 = 1;
const NLM_F_ACK: u16 = 4;
const NLM_F_DUMP: u16 = 0x300;
const NLM_F_EXCL: u16 = 0x200;
const NLM_F_CREATE: u16 = 0x400;
const NLM_F_APPEND: u16 = 0x800;
/// NLMSG_ERROR and NLMSG_DONE.
pub const NLMSG_ERROR: u16 = 2;
/// End of a dump.
pub const NLMSG_DONE: u16 = 3;
const NLA_F_NESTED: u16 = 0x8000;
/// The `ip` family of nftables.
pub const NFPROTO_IPV4: u8 = 2;
/// Table attribute: name.
const NFTA_TABLE_NAME: u16 = 1;
const NFTA_CHAIN_TABLE: u16 = 1;
const NFTA_CHAIN_NAME: u16 = 3;
const NFTA_CHAIN_HOOK: u16 = 4;
const NFTA_CHAIN_POLICY: u16 = 5;
const NFTA_CHAIN_TYPE: u16 = 7;
const NFTA_HOOK_HOOKNUM: u16 = 1;
const NFTA_HOOK_PRIORITY: u16 = 2;
const NFTA_RULE_TABLE: u16 = 1;
const NFTA_RULE_CHAIN: u16 = 2;
const NFTA_RULE_EXPRESSIONS: u16 = 4;
const NFTA_LIST_ELEM: u16 = 1;
const NFTA_EXPR_NAME: u16 = 1;
const NFTA_EXPR_DATA: u16 = 2;
const NFTA_DATA_VALUE: u16 = 1;
/// NF_INET_POST_ROUTING and the `srcnat` priority.
const NF_INET_POST_ROUTING: u32 = 4;
const NF_IP_PRI_NAT_SRC: i32 = 100;
const NF_ACCEPT: u32 = 1;
/// Register 1 (the 16-byte register numbering every nft version understands).
const NFT_REG_1: u32 = 1;
const NFT_PAYLOAD_NETWORK_HEADER: u32 = 1;
const NFT_META_OIFNAME: u32 = 7;
const NFT_CMP_EQ: u32 = 0;
const NFT_CMP_NEQ: u32 = 1;
const IFNAMSIZ: usize = 16;

/// Appends netlink attributes to a buffer.
#[derive(Default)]
struct Attrs(Vec<u8>);

impl Attrs {
    fn raw(&mut self, kind: u16, value: &[u8]) -> &mut Self {
        let len = 4 + value.len();
        self.0.extend_from_slice(&(len as u16).to_ne_bytes());
        self.0.extend_from_slice(&kind.to_ne_bytes());
        self.0.extend_from_slice(value);
        while !self.0.len().is_multiple_of(4) {
            self.0.push(0);
        }
        self
    }
    fn str(&mut self, kind: u16, s: &str) -> &mut Self {
        let mut v = s.as_bytes().to_vec();
        v.push(0);
        self.raw(kind, &v)
    }
    fn be32(&mut self, kind: u16, v: u32) -> &mut Self {
        self.raw(kind, &v.to_be_bytes())
    }
    fn nested(&mut self, kind: u16, inner: &Attrs) -> &mut Self {
        self.raw(kind | NLA_F_NESTED, &inner.0)
    }
}

/// One expression of a rule: its name and data attributes.
fn expr(name: &str, data: Option<Attrs>) -> Attrs {
    let mut e = Attrs::default();
    e.str(NFTA_EXPR_NAME, name);
    if let Some(d) = data {
        e.nested(NFTA_EXPR_DATA, &d);
    }
    e
}

fn data_value(bytes: &[u8]) -> Attrs {
    let mut d = Attrs::default();
    d.raw(NFTA_DATA_VALUE, bytes);
    d
}

fn cmp(op: u32, bytes: &[u8]) -> Attrs {
    let mut c = Attrs::default();
    c.be32(1, NFT_REG_1)
        .be32(2, op)
        .nested(3, &data_value(bytes));
    expr("cmp", Some(c))
}

/// The expressions of `ip saddr SUBNET oifname != BRIDGE masquerade`.
fn masquerade_exprs(subnet: Ipv4Net, bridge: &str) -> Attrs {
    let mut payload = Attrs::default();
    // ip saddr: 4 bytes at offset 12 of the network header, into register 1.
    payload
        .be32(1, NFT_REG_1)
        .be32(2, NFT_PAYLOAD_NETWORK_HEADER)
        .be32(3, 12)
        .be32(4, 4);
    let mut bitwise = Attrs::default();
    bitwise
        .be32(1, NFT_REG_1)
        .be32(2, NFT_REG_1)
        .be32(3, 4)
        .nested(4, &data_value(&subnet.netmask().octets()))
        .nested(5, &data_value(&[0, 0, 0, 0]));
    let mut meta = Attrs::default();
    meta.be32(1, NFT_REG_1).be32(2, NFT_META_OIFNAME);
    let mut ifname = [0u8; IFNAMSIZ];
    let n = bridge.len().min(IFNAMSIZ - 1);
    ifname[..n].copy_from_slice(&bridge.as_bytes()[..n]);
    let mut list = Attrs::default();
    list.nested(NFTA_LIST_ELEM, &expr("payload", Some(payload)))
        .nested(NFTA_LIST_ELEM, &expr("bitwise", Some(bitwise)))
        .nested(NFTA_LIST_ELEM, &cmp(NFT_CMP_EQ, &subnet.network().octets()))
        .nested(NFTA_LIST_ELEM, &expr("meta", Some(meta)))
        .nested(NFTA_LIST_ELEM, &cmp(NFT_CMP_NEQ, &ifname))
        .nested(NFTA_LIST_ELEM, &expr("masq", None));
    list
}

/// A batch of nfnetlink messages, with the sequence numbers the kernel will acknowledge.
pub struct Batch {
    /// The bytes to send in one `send`.
    pub bytes: Vec<u8>,
    /// Sequence numbers of the messages that carry NLM_F_ACK.
    pub acked: Vec<u32>,
    next_seq: u32,
}

impl Batch {
    fn new(first_seq: u32) -> Self {
        let mut b = Batch {
            bytes: Vec::new(),
            acked: Vec::new(),
            next_seq: first_seq,
        };
        b.push(
            NFNL_MSG_BATCH_BEGIN,
            NLM_F_REQUEST,
            0,
            NFNL_SUBSYS_NFTABLES,
            &Attrs::default(),
        );
        b
    }

    fn push(&mut self, kind: u16, flags: u16, family: u8, res_id: u16, attrs: &Attrs) {
        let seq = self.next_seq;
        self.next_seq += 1;
        let len = 16 + 4 + attrs.0.len();
        self.bytes.extend_from_slice(&(len as u32).to_ne_bytes());
        self.bytes.extend_from_slice(&kind.to_ne_bytes());
        self.bytes.extend_from_slice(&flags.to_ne_bytes());
        self.bytes.extend_from_slice(&seq.to_ne_bytes());
        self.bytes.extend_from_slice(&0u32.to_ne_bytes());
        // nfgenmsg: family, version NFNETLINK_V0, resource id (big-endian).
        self.bytes.extend_from_slice(&[family, 0]);
        self.bytes.extend_from_slice(&res_id.to_be_bytes());
        self.bytes.extend_from_slice(&attrs.0);
        if flags & NLM_F_ACK != 0 {
            self.acked.push(seq);
        }
    }

    fn nft(&mut self, msg: u16, flags: u16, attrs: &Attrs) {
        self.push(
            (NFNL_SUBSYS_NFTABLES << 8) | msg,
            NLM_F_REQUEST | NLM_F_ACK | flags,
            NFPROTO_IPV4,
            0,
            attrs,
        );
    }

    fn end(mut self) -> Self {
        self.push(
            NFNL_MSG_BATCH_END,
            NLM_F_REQUEST,
            0,
            NFNL_SUBSYS_NFTABLES,
            &Attrs::default(),
        );
        self
    }
}

/// The batch creating `table ip TABLE { chain postrouting { type nat hook postrouting priority
/// srcnat; ip saddr SUBNET oifname != BRIDGE masquerade } }`. Fails in the kernel (EEXIST)
/// when the table exists already.
pub fn masquerade_batch(first_seq: u32, table: &str, subnet: Ipv4Net, bridge: &str) -> Batch {
    let mut b = Batch::new(first_seq);
    let mut t = Attrs::default();
    t.str(NFTA_TABLE_NAME, table);
    b.nft(NFT_MSG_NEWTABLE, NLM_F_CREATE | NLM_F_EXCL, &t);
    let mut hook = Attrs::default();
    hook.be32(NFTA_HOOK_HOOKNUM, NF_INET_POST_ROUTING)
        .be32(NFTA_HOOK_PRIORITY, NF_IP_PRI_NAT_SRC as u32);
    let mut c = Attrs::default();
    c.str(NFTA_CHAIN_TABLE, table)
        .str(NFTA_CHAIN_NAME, "postrouting")
        .nested(NFTA_CHAIN_HOOK, &hook)
        .be32(NFTA_CHAIN_POLICY, NF_ACCEPT)
        .str(NFTA_CHAIN_TYPE, "nat");
    b.nft(NFT_MSG_NEWCHAIN, NLM_F_CREATE, &c);
    let mut r = Attrs::default();
    r.str(NFTA_RULE_TABLE, table)
        .str(NFTA_RULE_CHAIN, "postrouting")
        .nested(NFTA_RULE_EXPRESSIONS, &masquerade_exprs(subnet, bridge));
    b.nft(NFT_MSG_NEWRULE, NLM_F_CREATE | NLM_F_APPEND, &r);
    b.end()
}

/// The batch deleting `table ip TABLE` with everything in it.
pub fn delete_table_batch(first_seq: u32, table: &str) -> Batch {
    let mut b = Batch::new(first_seq);
    let mut t = Attrs::default();
    t.str(NFTA_TABLE_NAME, table);
    b.nft(NFT_MSG_DELTABLE, 0, &t);
    b.end()
}

/// A dump request for every `ip` table (not batched: reads need no transaction).
pub fn list_tables_request(seq: u32) -> Vec<u8> {
    let mut b = Batch {
        bytes: Vec::new(),
        acked: Vec::new(),
        next_seq: seq,
    };
    b.push(
        (NFNL_SUBSYS_NFTABLES << 8) | NFT_MSG_GETTABLE,
        NLM_F_REQUEST | NLM_F_DUMP,
        NFPROTO_IPV4,
        0,
        &Attrs::default(),
    );
    b.bytes
}

/// A netlink message from a receive buffer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawMsg {
    /// nlmsg_type.
    pub kind: u16,
    /// nlmsg_seq.
    pub seq: u32,
    /// Payload after the netlink header.
    pub payload: Vec<u8>,
}

/// Splits a receive buffer into messages.
pub fn split_messages(buf: &[u8]) -> Vec<RawMsg> {
    let mut out = Vec::new();
    let mut off = 0;
    while off + 16 <= buf.len() {
        let len = u32::from_ne_bytes([buf[off], buf[off + 1], buf[off + 2], buf[off + 3]]) as usize;
        if len < 16 || off + len > buf.len() {
            break;
        }
        let kind = u16::from_ne_bytes([buf[off + 4], buf[off + 5]]);
        let seq = u32::from_ne_bytes([buf[off + 8], buf[off + 9], buf[off + 10], buf[off + 11]]);
        out.push(RawMsg {
            kind,
            seq,
            payload: buf[off + 16..off + len].to_vec(),
        });
        off += (len + 3) & !3;
    }
    out
}

/// The errno of an NLMSG_ERROR payload (0 for an ack).
pub fn error_code(payload: &[u8]) -> i32 {
    payload
        .get(..4)
        .map_or(0, |b| -i32::from_ne_bytes([b[0], b[1], b[2], b[3]]))
}

/// Parses netlink attributes into `(type without flags, value)`.
pub fn parse_attrs(mut buf: &[u8]) -> Vec<(u16, Vec<u8>)> {
    let mut out = Vec::new();
    while buf.len() >= 4 {
        let len = u16::from_ne_bytes([buf[0], buf[1]]) as usize;
        let kind = u16::from_ne_bytes([buf[2], buf[3]]) & 0x3fff;
        if len < 4 || len > buf.len() {
            break;
        }
        out.push((kind, buf[4..len].to_vec()));
        let step = ((len + 3) & !3).min(buf.len());
        buf = &buf[step..];
    }
    out
}

/// The table name of a NFT_MSG_NEWTABLE payload (after the 4-byte nfgenmsg).
pub fn table_name(payload: &[u8]) -> Option<String> {
    let attrs = parse_attrs(payload.get(4..)?);
    attrs
        .into_iter()
        .find(|(k, _)| *k == NFTA_TABLE_NAME)
        .map(|(_, v)| {
            String::from_utf8_lossy(v.split(|b| *b == 0).next().unwrap_or(&[])).into_owned()
        })
}

#[cfg(test)]
#[path = "nft_tests.rs"]
mod tests;
