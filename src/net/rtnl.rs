//! A small synchronous rtnetlink client: one request, its acknowledgement or dump, with sequence
//! numbers checked and kernel errors decoded into [`NetError::Netlink`].

use super::{NetError, Result};
use netlink_packet_core::{
    NetlinkHeader, NetlinkMessage, NetlinkPayload, NLM_F_ACK, NLM_F_DUMP, NLM_F_REQUEST,
};
use netlink_packet_route::RouteNetlinkMessage;
use netlink_sys::{protocols::NETLINK_ROUTE, Socket, SocketAddr};

/// An rtnetlink socket in the calling thread's network namespace.
pub struct Rtnl {
    sock: Socket,
    seq: u32,
}

fn sock_err(what: &'static str) -> impl FnOnce(std::io::Error) -> NetError {
    move |source| NetError::Socket { what, source }
}

impl Rtnl {
    /// Opens and binds a socket.
    pub fn open() -> Result<Self> {
        let mut sock = Socket::new(NETLINK_ROUTE).map_err(sock_err("open NETLINK_ROUTE"))?;
        sock.bind_auto().map_err(sock_err("bind"))?;
        // Ask the kernel to tell us exactly which attribute it disliked, when it can.
        let _ = sock.set_ext_ack(true);
        Ok(Rtnl { sock, seq: 1 })
    }

    fn send(&mut self, msg: RouteNetlinkMessage, flags: u16) -> Result<u32> {
        self.seq = self.seq.wrapping_add(1);
        let mut header = NetlinkHeader::default();
        header.flags = flags;
        header.sequence_number = self.seq;
        let mut packet = NetlinkMessage::new(header, NetlinkPayload::from(msg));
        packet.finalize();
        let mut buf = vec![0u8; packet.buffer_len()];
        packet.serialize(&mut buf);
        let kernel = SocketAddr::new(0, 0);
        self.sock
            .send_to(&buf, &kernel, 0)
            .map_err(sock_err("send"))?;
        Ok(self.seq)
    }

    /// Receives messages for `seq` and hands each to `each`, until the ack, error or end of dump.
    fn receive(
        &mut self,
        seq: u32,
        op: &'static str,
        object: &str,
        mut each: impl FnMut(RouteNetlinkMessage),
    ) -> Result<()> {
        loop {
            let (data, _) = self.sock.recv_from_full().map_err(sock_err("recv"))?;
            let mut offset = 0;
            while offset < data.len() {
                let msg = NetlinkMessage::<RouteNetlinkMessage>::deserialize(&data[offset..])
                    .map_err(|e| NetError::Decode {
                        op,
                        message: e.to_string(),
                    })?;
                let len = msg.header.length as usize;
                if len == 0 {
                    return Err(NetError::Decode {
                        op,
                        message: "zero-length message".into(),
                    });
                }
                offset += (len + 3) & !3;
                if msg.header.sequence_number != seq {
                    continue; // a late answer to an earlier request
                }
                match msg.payload {
                    NetlinkPayload::Error(e) => {
                        return match e.code {
                            None => Ok(()),
                            Some(_) => Err(NetError::Netlink {
                                op,
                                object: object.to_string(),
                                source: e.to_io(),
                            }),
                        };
                    }
                    NetlinkPayload::Done(_) => return Ok(()),
                    NetlinkPayload::InnerMessage(m) => each(m),
                    _ => {}
                }
            }
        }
    }

    /// Sends a request that changes something and waits for its acknowledgement.
    pub fn request(
        &mut self,
        msg: RouteNetlinkMessage,
        extra_flags: u16,
        op: &'static str,
        object: &str,
    ) -> Result<()> {
        let seq = self.send(msg, NLM_F_REQUEST | NLM_F_ACK | extra_flags)?;
        self.receive(seq, op, object, |_| {})
    }

    /// Sends a dump request and collects every answer.
    pub fn dump(
        &mut self,
        msg: RouteNetlinkMessage,
        op: &'static str,
    ) -> Result<Vec<RouteNetlinkMessage>> {
        let seq = self.send(msg, NLM_F_REQUEST | NLM_F_DUMP)?;
        let mut out = Vec::new();
        self.receive(seq, op, "dump", |m| out.push(m))?;
        Ok(out)
    }

    /// Sends a GET for one object and returns the answer (none on ENODEV).
    pub fn get(
        &mut self,
        msg: RouteNetlinkMessage,
        op: &'static str,
        object: &str,
    ) -> Result<Vec<RouteNetlinkMessage>> {
        // With ACK the kernel sends the object, then an ack that ends the exchange.
        let seq = self.send(msg, NLM_F_REQUEST | NLM_F_ACK)?;
        let mut out = Vec::new();
        match self.receive(seq, op, object, |m| out.push(m)) {
            Err(NetError::Netlink { source, .. })
                if source.raw_os_error() == Some(libc::ENODEV) =>
            {
                Ok(Vec::new())
            }
            Err(e) => Err(e),
            Ok(()) => Ok(out),
        }
    }
}
