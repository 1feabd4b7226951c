//! Linux: one `NETLINK_ROUTE` socket for dumps and route lookups.

use std::io;
use std::os::fd::AsRawFd;
use std::time::Duration;

use netlink_packet_core::{
    NLM_F_DUMP, NLM_F_DUMP_INTR, NLM_F_REQUEST, NetlinkHeader, NetlinkMessage, NetlinkPayload,
};
use netlink_packet_route::RouteNetlinkMessage;
use netlink_packet_route::address::AddressMessage;
use netlink_packet_route::link::LinkMessage;
use netlink_packet_route::route::RouteMessage;
use netlink_sys::{Socket, SocketAddr, protocols::NETLINK_ROUTE};

use crate::model::{RT_TABLE_MAIN, Route};
use crate::parse::{Body, Message, lookup_replies, parse_messages};
use crate::snapshot::Snapshot;
use crate::source::{Dest, encode_lookup};

/// How long to wait for the kernel before giving up. The kernel answers
/// route requests synchronously, so this only guards against bugs.
const RECV_TIMEOUT: Duration = Duration::from_secs(5);

/// The receive buffer asked for (the kernel doubles it, and caps it at
/// twice `net.core.rmem_max`).
const WANTED_RCVBUF: i32 = 512 * 1024;

/// Receive-buffer bytes budgeted per queued reply. Each `RTM_GETROUTE`
/// reply is allocated at `NLMSG_GOODSIZE` and charged to the receive
/// buffer at its true size (about 770 bytes measured on Linux 6.x);
/// replies that do not fit are dropped and the socket reports `ENOBUFS`.
/// This leaves a margin of more than two.
const BYTES_PER_REPLY: usize = 2048;

/// The fewest and most lookups sent in one `send`.
const BATCH_RANGE: (usize, usize) = (8, 512);

/// `ENOBUFS`: replies were dropped because the receive buffer was full.
const ENOBUFS: i32 = libc::ENOBUFS;

/// The room for one lookup reply. A reply is a few hundred bytes and
/// never more than the kernel's `NLMSG_GOODSIZE` (at most 8 KiB).
const REPLY_SLOT: usize = 8 * 1024;

/// How many replies one `recvmmsg` reads at most.
const REPLIES_PER_RECV: usize = 16;

/// How many times a dump interrupted by a concurrent change is retried.
const DUMP_TRIES: usize = 5;

/// A connected `NETLINK_ROUTE` socket with its own sequence numbers.
#[derive(Debug)]
pub(crate) struct RouteSocket {
    socket: Socket,
    sequence: u32,
    /// How many lookups go out in one `send`: as many replies as surely
    /// fit in the receive buffer.
    batch: usize,
    /// Lookup requests being built, kept between calls.
    send_buf: Vec<u8>,
    /// Room for [`REPLIES_PER_RECV`] lookup replies of [`REPLY_SLOT`]
    /// bytes each, kept between calls.
    recv_buf: Vec<u8>,
}

fn invalid(err: crate::ParseError) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, err)
}

impl RouteSocket {
    /// Opens the socket, binds it to a port the kernel picks and connects
    /// it to the kernel.
    pub(crate) fn open() -> io::Result<Self> {
        let mut socket = Socket::new(NETLINK_ROUTE)?;
        socket.bind_auto()?;
        socket.connect(&SocketAddr::new(0, 0))?;
        socket2::SockRef::from(&socket).set_read_timeout(Some(RECV_TIMEOUT))?;
        // Best effort: a larger buffer only means larger batches.
        let _ = socket.set_rx_buf_sz(WANTED_RCVBUF);
        let rcvbuf = socket.get_rx_buf_sz().unwrap_or(0);
        let batch = (rcvbuf / BYTES_PER_REPLY).clamp(BATCH_RANGE.0, BATCH_RANGE.1);
        Ok(Self {
            socket,
            sequence: 0,
            batch,
            send_buf: Vec::new(),
            recv_buf: vec![0; REPLY_SLOT * REPLIES_PER_RECV],
        })
    }

    fn next_sequence(&mut self) -> u32 {
        self.sequence = self.sequence.wrapping_add(1);
        self.sequence
    }

    /// Appends one request to `buf` and returns its sequence number.
    fn encode(&mut self, buf: &mut Vec<u8>, flags: u16, payload: RouteNetlinkMessage) -> u32 {
        let sequence = self.next_sequence();
        let mut header = NetlinkHeader::default();
        header.flags = flags;
        header.sequence_number = sequence;
        let mut msg = NetlinkMessage::new(header, NetlinkPayload::from(payload));
        msg.finalize();
        let start = buf.len();
        buf.resize(start + msg.buffer_len(), 0);
        msg.serialize(&mut buf[start..]);
        // Keep the next message 4-byte aligned.
        buf.resize(buf.len().next_multiple_of(4), 0);
        sequence
    }

    fn send(&self, buf: &[u8]) -> io::Result<()> {
        let sent = self.socket.send(buf, 0)?;
        if sent == buf.len() {
            Ok(())
        } else {
            Err(io::Error::new(
                io::ErrorKind::WriteZero,
                format!("netlink send took {sent} of {} bytes", buf.len()),
            ))
        }
    }

    fn recv(&self) -> io::Result<Vec<Message>> {
        let (bytes, _) = self.socket.recv_from_full()?;
        parse_messages(&bytes).map_err(invalid)
    }

    /// Runs one dump request and returns its messages, without the final
    /// `NLMSG_DONE`. Retries when the kernel flags the dump as interrupted
    /// by a concurrent change.
    fn dump(&mut self, request: &RouteNetlinkMessage) -> io::Result<Vec<Message>> {
        let mut last_interrupted = Vec::new();
        for _ in 0..DUMP_TRIES {
            let mut buf = Vec::new();
            let sequence = self.encode(&mut buf, NLM_F_REQUEST | NLM_F_DUMP, request.clone());
            self.send(&buf)?;
            let mut out = Vec::new();
            let mut interrupted = false;
            'recv: loop {
                for msg in self.recv()? {
                    if msg.sequence != sequence {
                        continue;
                    }
                    interrupted |= msg.flags & NLM_F_DUMP_INTR != 0;
                    match msg.body {
                        Body::Done => break 'recv,
                        Body::Error { errno } if errno != 0 => {
                            return Err(io::Error::from_raw_os_error(errno));
                        }
                        _ => out.push(msg),
                    }
                }
            }
            if !interrupted {
                return Ok(out);
            }
            last_interrupted = out;
        }
        Ok(last_interrupted)
    }

    /// Sends `RTM_GETROUTE` requests back to back, as many per `send` as
    /// the receive buffer holds replies for, and returns the kernel's
    /// answer to each, in order: the route, or the positive errno of an
    /// error reply.
    pub(crate) fn get_routes(&mut self, dests: &[Dest]) -> io::Result<Vec<Result<Route, i32>>> {
        let mut answers = Vec::with_capacity(dests.len());
        for chunk in dests.chunks(self.batch) {
            self.get_routes_chunk(chunk, &mut answers)?;
        }
        Ok(answers)
    }

    /// One `send` of `chunk`, then its replies. Should the receive buffer
    /// overflow all the same (`ENOBUFS`: some replies are lost), drains the
    /// socket and asks again in two halves.
    fn get_routes_chunk(
        &mut self,
        chunk: &[Dest],
        answers: &mut Vec<Result<Route, i32>>,
    ) -> io::Result<()> {
        let start = answers.len();
        match self.exchange(chunk, answers) {
            Ok(()) => Ok(()),
            Err(e) if e.raw_os_error() == Some(ENOBUFS) && chunk.len() > 1 => {
                answers.truncate(start);
                self.drain()?;
                let (a, b) = chunk.split_at(chunk.len() / 2);
                self.batch = a.len().max(1);
                self.get_routes_chunk(a, answers)?;
                self.get_routes_chunk(b, answers)
            }
            Err(e) => {
                answers.truncate(start);
                Err(e)
            }
        }
    }

    /// Discards whatever the socket has queued.
    fn drain(&self) -> io::Result<()> {
        self.socket.set_non_blocking(true)?;
        let mut buf = Vec::with_capacity(64 * 1024);
        let result = loop {
            buf.clear();
            match self.socket.recv(&mut buf, 0) {
                Ok(_) => {}
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break Ok(()),
                Err(e) if e.raw_os_error() == Some(ENOBUFS) => {}
                Err(e) => break Err(e),
            }
        };
        self.socket.set_non_blocking(false)?;
        result
    }

    /// Sends one request per destination in a single `send`, with
    /// consecutive sequence numbers, then reads replies until each has its
    /// answer, which is appended to `answers` in order.
    fn exchange(
        &mut self,
        chunk: &[Dest],
        answers: &mut Vec<Result<Route, i32>>,
    ) -> io::Result<()> {
        let mut send_buf = std::mem::take(&mut self.send_buf);
        send_buf.clear();
        let first = self.sequence.wrapping_add(1);
        for dest in chunk {
            let sequence = self.next_sequence();
            encode_lookup(&mut send_buf, sequence, *dest);
        }
        let sent = self.send(&send_buf);
        self.send_buf = send_buf;
        sent?;
        let start = answers.len();
        answers.resize(start + chunk.len(), Err(0));
        let mut pending = chunk.len();
        let mut answered = vec![false; chunk.len()];
        let mut lens = [0; REPLIES_PER_RECV];
        while pending > 0 {
            let got = recv_many(&self.socket, &mut self.recv_buf, &mut lens)?;
            for (slot, &len) in self.recv_buf.chunks(REPLY_SLOT).zip(&lens[..got]) {
                lookup_replies(&slot[..len], |sequence, answer| {
                    let i = sequence.wrapping_sub(first) as usize;
                    if i < chunk.len() && !answered[i] {
                        answered[i] = true;
                        answers[start + i] = answer;
                        pending -= 1;
                    }
                })
                .map_err(invalid)?;
            }
        }
        Ok(())
    }
}

/// Reads datagrams into consecutive [`REPLY_SLOT`]-byte slots of `buf`
/// with one `recvmmsg`: waits for the first (up to the socket's receive
/// timeout), then takes whatever else is already queued, as many as there
/// are slots and entries in `lens`. Returns how many were read; `lens`
/// holds their lengths.
///
/// # Errors
///
/// When `recvmmsg` fails, or a datagram did not fit its slot.
#[allow(unsafe_code)]
fn recv_many(socket: &Socket, buf: &mut [u8], lens: &mut [usize]) -> io::Result<usize> {
    let slots = (buf.len() / REPLY_SLOT)
        .min(lens.len())
        .min(REPLIES_PER_RECV);
    let mut iovecs = [libc::iovec {
        iov_base: std::ptr::null_mut(),
        iov_len: 0,
    }; REPLIES_PER_RECV];
    for (iov, slot) in iovecs.iter_mut().zip(buf.chunks_exact_mut(REPLY_SLOT)) {
        iov.iov_base = slot.as_mut_ptr().cast();
        iov.iov_len = slot.len();
    }
    // SAFETY: `mmsghdr` is a plain C struct of integers and pointers, for
    // which all zero bytes is a valid value (null pointers, zero lengths).
    let mut headers: [libc::mmsghdr; REPLIES_PER_RECV] = unsafe { std::mem::zeroed() };
    for (header, iov) in headers.iter_mut().zip(iovecs.iter_mut()) {
        header.msg_hdr.msg_iov = iov;
        header.msg_hdr.msg_iovlen = 1;
    }
    let vlen = u32::try_from(slots).expect("few slots");
    // SAFETY: the first `slots` headers each point at one iovec that
    // points at a distinct `REPLY_SLOT`-byte slot of `buf`, and `headers`,
    // `iovecs` and `buf` all outlive the call; no name or control buffers
    // are passed; the timeout is null. The kernel writes only within those
    // buffers and into `headers`.
    let n = unsafe {
        libc::recvmmsg(
            socket.as_raw_fd(),
            headers.as_mut_ptr(),
            vlen,
            libc::MSG_WAITFORONE,
            std::ptr::null_mut(),
        )
    };
    let n = usize::try_from(n).map_err(|_| io::Error::last_os_error())?;
    for (len, header) in lens.iter_mut().zip(&headers[..n]) {
        if header.msg_hdr.msg_flags & libc::MSG_TRUNC != 0 {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                "route lookup reply larger than its buffer",
            ));
        }
        *len = header.msg_len as usize;
    }
    Ok(n)
}

/// Dumps links, addresses and routes (both families; main table only).
pub(crate) fn capture() -> io::Result<Snapshot> {
    RouteSocket::open()?.capture()
}

impl RouteSocket {
    /// [`capture`] on this socket.
    pub(crate) fn capture(&mut self) -> io::Result<Snapshot> {
        let links = self.dump(&RouteNetlinkMessage::GetLink(LinkMessage::default()))?;
        let addresses = self.dump(&RouteNetlinkMessage::GetAddress(AddressMessage::default()))?;
        let routes = self.dump(&RouteNetlinkMessage::GetRoute(RouteMessage::default()))?;
        let mut snap = Snapshot::from_messages(links.into_iter().chain(addresses).chain(routes));
        snap.routes.retain(|r| r.table == RT_TABLE_MAIN);
        Ok(snap)
    }
}

/// The multicast groups an [`EventSocket`] joins: link changes, IPv4 and
/// IPv6 address changes, IPv4 and IPv6 route changes (`RTMGRP_LINK`,
/// `RTMGRP_IPV4_IFADDR`, `RTMGRP_IPV6_IFADDR`, `RTMGRP_IPV4_ROUTE`,
/// `RTMGRP_IPV6_ROUTE`).
const EVENT_GROUPS: u32 = 0x1 | 0x10 | 0x100 | 0x40 | 0x400;

/// The receive buffer asked for on an [`EventSocket`]. An overflow only
/// costs a cache flush, so this need not be large.
const EVENT_RCVBUF: i32 = 256 * 1024;

/// Bytes read per event datagram. Events are discarded unread, so a
/// longer datagram is simply truncated.
const EVENT_READ: usize = 4096;

/// A non-blocking `NETLINK_ROUTE` socket subscribed to link, address and
/// route change notifications.
#[derive(Debug)]
pub(crate) struct EventSocket {
    socket: Socket,
    buf: Vec<u8>,
}

impl EventSocket {
    /// Opens the socket and joins [`EVENT_GROUPS`]. Every change the
    /// kernel makes after this returns is queued on the socket.
    pub(crate) fn open() -> io::Result<Self> {
        let mut socket = Socket::new(NETLINK_ROUTE)?;
        socket.bind(&SocketAddr::new(0, EVENT_GROUPS))?;
        socket.set_non_blocking(true)?;
        // Best effort: a smaller buffer only means more flushes.
        let _ = socket.set_rx_buf_sz(EVENT_RCVBUF);
        Ok(Self {
            socket,
            buf: Vec::with_capacity(EVENT_READ),
        })
    }

    /// Reads and discards every queued event. Returns whether anything
    /// changed: an event arrived, or some were lost (`ENOBUFS`). When
    /// nothing is queued this is a single `recv` that fails with `EAGAIN`.
    pub(crate) fn drain(&mut self) -> io::Result<bool> {
        let mut changed = false;
        loop {
            self.buf.clear();
            match self.socket.recv(&mut self.buf, 0) {
                Ok(_) => changed = true,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(changed),
                Err(e) if e.raw_os_error() == Some(ENOBUFS) => changed = true,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
    }
}

/// Raw dumps for capturing test fixtures: the bytes of every `recv` of a
/// link, address and route dump, concatenated.
#[cfg(test)]
pub(crate) fn raw_dumps() -> io::Result<[Vec<u8>; 3]> {
    let mut socket = RouteSocket::open()?;
    let requests = [
        RouteNetlinkMessage::GetLink(LinkMessage::default()),
        RouteNetlinkMessage::GetAddress(AddressMessage::default()),
        RouteNetlinkMessage::GetRoute(RouteMessage::default()),
    ];
    let mut out: [Vec<u8>; 3] = Default::default();
    for (request, raw) in requests.into_iter().zip(out.iter_mut()) {
        let mut buf = Vec::new();
        socket.encode(&mut buf, NLM_F_REQUEST | NLM_F_DUMP, request);
        socket.send(&buf)?;
        loop {
            let (bytes, _) = socket.socket.recv_from_full()?;
            raw.extend_from_slice(&bytes);
            let msgs = parse_messages(&bytes).map_err(invalid)?;
            if msgs.iter().any(|m| m.body == Body::Done) {
                break;
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    /// Writes `links.bin`, `addrs.bin` and `routes.bin` (raw dumps of the
    /// current network namespace) to `$IFACE_PROBE_CAPTURE_DIR`. Run by
    /// hand, inside the namespace to capture:
    /// `ip netns exec NS cargo test -p iface-probe capture_fixtures -- --ignored`
    #[test]
    #[ignore = "writes fixture files; run by hand"]
    fn capture_fixtures() {
        let dir = std::env::var("IFACE_PROBE_CAPTURE_DIR").expect("IFACE_PROBE_CAPTURE_DIR");
        let [links, addrs, routes] = super::raw_dumps().unwrap();
        for (name, bytes) in [("links", links), ("addrs", addrs), ("routes", routes)] {
            std::fs::write(format!("{dir}/{name}.bin"), bytes).unwrap();
        }
    }
}
