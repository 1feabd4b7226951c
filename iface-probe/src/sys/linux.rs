//! Linux (and Android): `NETLINK_ROUTE` sockets for dumps, route lookups
//! and change notifications.

use std::io;
use std::os::fd::AsRawFd;
use std::time::{Duration, Instant};

use netlink_sys::{Socket, SocketAddr, protocols::NETLINK_ROUTE};

use super::Notice;
use super::wake::{Interrupter, WakePipe, poll_two};
use crate::model::{Family, Route};
use crate::netlink::consts::{
    NLM_F_DUMP_INTR, RTNLGRP_IPV4_IFADDR, RTNLGRP_IPV4_ROUTE, RTNLGRP_IPV4_RULE,
    RTNLGRP_IPV6_IFADDR, RTNLGRP_IPV6_ROUTE, RTNLGRP_IPV6_RULE, RTNLGRP_LINK, RTNLGRP_ND_USEROPT,
};
use crate::netlink::request::{self, Dump};
use crate::netlink::{Body, Message, ParseError, lookup_replies, parse_messages};
use crate::reach::Reach;
use crate::snapshot::Snapshot;
use crate::source::Dest;

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

/// The room for one lookup reply. A reply is a few hundred bytes and
/// never more than the kernel's `NLMSG_GOODSIZE` (at most 8 KiB).
const REPLY_SLOT: usize = 8 * 1024;

/// How many replies one `recvmmsg` reads at most.
const REPLIES_PER_RECV: usize = 16;

/// How many times a dump interrupted by a concurrent change is retried.
const DUMP_TRIES: usize = 5;

fn invalid(err: ParseError) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, err)
}

/// A connected `NETLINK_ROUTE` socket with its own sequence numbers, for
/// dumps and route lookups.
#[derive(Debug)]
pub(crate) struct Lookups {
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

impl Lookups {
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

    /// Runs one dump and returns its messages, without the final
    /// `NLMSG_DONE`, and the raw bytes of every datagram when `raw` is
    /// given. Retries when the kernel flags the dump as interrupted by a
    /// concurrent change.
    fn dump(&mut self, what: Dump, mut raw: Option<&mut Vec<u8>>) -> io::Result<Vec<Message>> {
        let mut last_interrupted = Vec::new();
        for _ in 0..DUMP_TRIES {
            let mut buf = Vec::new();
            let sequence = self.next_sequence();
            request::dump(&mut buf, what, sequence);
            self.send(&buf)?;
            let mut out = Vec::new();
            let mut interrupted = false;
            if let Some(raw) = raw.as_deref_mut() {
                raw.clear();
            }
            'recv: loop {
                let (bytes, _) = retry_interrupted(&self.socket, || self.socket.recv_from_full())?;
                if let Some(raw) = raw.as_deref_mut() {
                    raw.extend_from_slice(&bytes);
                }
                for msg in parse_messages(&bytes).map_err(invalid)? {
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

    /// Dumps links, addresses and routes (both families, every table) and
    /// asks for the representative destinations.
    pub(crate) fn capture(&mut self) -> io::Result<Snapshot> {
        let links = self.dump(Dump::Links, None)?;
        let addresses = self.dump(Dump::Addresses, None)?;
        let routes = self.dump(Dump::Routes, None)?;
        let mut snap = Snapshot::from_messages(links.into_iter().chain(addresses).chain(routes));
        snap.reach = Some(self.reach(&snap)?);
        Ok(snap)
    }

    /// Dumps the IPv4 routes of every table.
    pub(crate) fn ipv4_routes(&mut self) -> io::Result<Vec<Route>> {
        let messages = self.dump(Dump::Ipv4Routes, None)?;
        Ok(messages
            .into_iter()
            .filter_map(|msg| match msg.body {
                Body::Route(route) if route.family == Family::Ipv4 => Some(route),
                _ => None,
            })
            .collect())
    }

    /// The kernel's answers for [`Reach::PROBES`] (the snapshot is not
    /// needed: the kernel names the outgoing interface).
    pub(crate) fn reach(&mut self, _snap: &Snapshot) -> io::Result<Reach> {
        let dests = Reach::PROBES.map(Dest::from);
        let answers = self.routes(&dests)?;
        let mut paths = [None; 4];
        for (path, answer) in paths.iter_mut().zip(answers) {
            *path = answer.ok().and_then(|r| super::path_of(&r));
        }
        Ok(Reach::from_answers(paths))
    }

    /// Sends `RTM_GETROUTE` requests back to back, as many per `send` as
    /// the receive buffer holds replies for, and returns the kernel's
    /// answer to each, in order: the route, or the positive errno of an
    /// error reply.
    pub(crate) fn routes(&mut self, dests: &[Dest]) -> io::Result<Vec<Result<Route, i32>>> {
        let mut answers = Vec::with_capacity(dests.len());
        for chunk in dests.chunks(self.batch) {
            self.routes_chunk(chunk, &mut answers)?;
        }
        Ok(answers)
    }

    /// One `send` of `chunk`, then its replies. Should the receive buffer
    /// overflow all the same (`ENOBUFS`: some replies are lost), drains the
    /// socket and asks again in two halves.
    fn routes_chunk(
        &mut self,
        chunk: &[Dest],
        answers: &mut Vec<Result<Route, i32>>,
    ) -> io::Result<()> {
        let start = answers.len();
        match self.exchange(chunk, answers) {
            Ok(()) => Ok(()),
            Err(e) if e.raw_os_error() == Some(libc::ENOBUFS) && chunk.len() > 1 => {
                answers.truncate(start);
                self.drain()?;
                let (a, b) = chunk.split_at(chunk.len() / 2);
                self.batch = a.len().max(1);
                self.routes_chunk(a, answers)?;
                self.routes_chunk(b, answers)
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
                Err(e) if e.raw_os_error() == Some(libc::ENOBUFS) => {}
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
            request::lookup(&mut send_buf, sequence, *dest);
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

/// Runs `recv`, a blocking receive on `socket` (whose receive timeout is
/// [`RECV_TIMEOUT`]), again each time a signal interrupts it: with a
/// receive timeout set, Linux fails the call with `EINTR` instead of
/// restarting it, even under `SA_RESTART`. The retries keep the first
/// call's deadline: each waits only what is left of [`RECV_TIMEOUT`] (the
/// socket's timeout is set back afterwards), and when nothing is left the
/// result is the `EAGAIN` of a timeout.
fn retry_interrupted<T>(socket: &Socket, mut recv: impl FnMut() -> io::Result<T>) -> io::Result<T> {
    let deadline = Instant::now() + RECV_TIMEOUT;
    let mut shortened = false;
    let result = loop {
        match recv() {
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {
                let left = deadline.saturating_duration_since(Instant::now());
                // A timeout that rounds down to zero would be none at all:
                // less than a millisecond left counts as nothing left.
                if left < Duration::from_millis(1) {
                    break Err(io::Error::from_raw_os_error(libc::EAGAIN));
                }
                if let Err(e) = socket2::SockRef::from(socket).set_read_timeout(Some(left)) {
                    break Err(e);
                }
                shortened = true;
            }
            other => break other,
        }
    };
    if shortened {
        socket2::SockRef::from(socket).set_read_timeout(Some(RECV_TIMEOUT))?;
    }
    result
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
    let vlen = libc::c_uint::try_from(slots).unwrap_or(1);
    // glibc and bionic declare the flags of recvmmsg as `int`, musl as
    // `unsigned int`; the flag's value is the same.
    #[cfg(target_env = "musl")]
    let flags = libc::MSG_WAITFORONE.unsigned_abs();
    #[cfg(not(target_env = "musl"))]
    let flags = libc::MSG_WAITFORONE;
    let n = retry_interrupted(socket, || {
        // SAFETY: the first `slots` headers each point at one iovec that
        // points at a distinct `REPLY_SLOT`-byte slot of `buf`, and
        // `headers`, `iovecs` and `buf` all outlive the call; no name or
        // control buffers are passed; the timeout is null. The kernel
        // writes only within those buffers and into `headers`.
        let n = unsafe {
            libc::recvmmsg(
                socket.as_raw_fd(),
                headers.as_mut_ptr(),
                vlen,
                flags,
                std::ptr::null_mut(),
            )
        };
        usize::try_from(n).map_err(|_| io::Error::last_os_error())
    })?;
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

/// Dumps links, addresses and routes on a socket opened for the purpose.
pub(crate) fn capture() -> io::Result<Snapshot> {
    Lookups::open()?.capture()
}

/// The multicast groups a [`Notifier`] joins: links, IPv4 and IPv6
/// addresses, routes and policy rules, and the Router Advertisement
/// options the kernel leaves to user space (PREF64, RFC 8781).
const NOTIFY_GROUPS: [u32; 8] = [
    RTNLGRP_LINK,
    RTNLGRP_IPV4_IFADDR,
    RTNLGRP_IPV6_IFADDR,
    RTNLGRP_IPV4_ROUTE,
    RTNLGRP_IPV6_ROUTE,
    RTNLGRP_IPV4_RULE,
    RTNLGRP_IPV6_RULE,
    RTNLGRP_ND_USEROPT,
];

/// The receive buffer asked for on a [`Notifier`]: bursts (an interface
/// going away with many addresses) should not overrun it, though an
/// overrun is handled anyway (a [`Notice::Resync`]). The kernel caps it at
/// `rmem_max`.
const NOTIFY_RCVBUF: usize = 1 << 20;

/// Netlink notification datagrams are a few hundred bytes to a page; a
/// larger buffer never truncates.
const NOTIFY_READ: usize = 64 * 1024;

/// A `NETLINK_ROUTE` socket joined to the change notification groups,
/// read without blocking, and a pipe to be woken through.
#[derive(Debug)]
pub(crate) struct Notifier {
    socket: Socket,
    wake: WakePipe,
    buf: Vec<u8>,
}

impl Notifier {
    /// Joins the groups: every change from here on is queued.
    pub(crate) fn open(buffer: Option<usize>) -> io::Result<Self> {
        let mut socket = Socket::new(NETLINK_ROUTE)?;
        // A smaller buffer than asked for only makes overruns likelier.
        let _ = socket.set_rx_buf_sz(buffer.unwrap_or(NOTIFY_RCVBUF));
        let mask = NOTIFY_GROUPS
            .iter()
            .fold(0u32, |mask, group| mask | (1 << (group - 1)));
        socket.bind(&SocketAddr::new(0, mask))?;
        socket.set_non_blocking(true)?;
        Ok(Self {
            socket,
            wake: WakePipe::new()?,
            buf: Vec::with_capacity(NOTIFY_READ),
        })
    }

    /// A handle that makes [`Notifier::wait`] return early.
    pub(crate) fn interrupter(&self) -> Interrupter {
        self.wake.interrupter()
    }

    /// The notifications queued, waiting up to `timeout` (`None`: without
    /// limit) for the first, or until woken.
    pub(crate) fn wait(
        &mut self,
        timeout: Option<Duration>,
        out: &mut Vec<Notice>,
    ) -> io::Result<()> {
        let before = out.len();
        self.read(out)?;
        if out.len() == before && timeout != Some(Duration::ZERO) {
            poll_two(self.socket.as_raw_fd(), self.wake.fd(), timeout)?;
            self.wake.drain();
            self.read(out)?;
        }
        Ok(())
    }

    /// Reads until the socket is empty.
    fn read(&mut self, out: &mut Vec<Notice>) -> io::Result<()> {
        loop {
            self.buf.clear();
            match self.socket.recv(&mut self.buf, libc::MSG_TRUNC) {
                Ok(n) if n > self.buf.capacity() => {
                    // Truncated: whatever it said is lost.
                    out.push(Notice::Resync);
                }
                Ok(_) => match parse_messages(&self.buf) {
                    Ok(messages) => out.extend(messages.into_iter().filter_map(notice)),
                    // A datagram the parser rejects is a lost change.
                    Err(_) => out.push(Notice::Resync),
                },
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(()),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) if e.raw_os_error() == Some(libc::ENOBUFS) => out.push(Notice::Resync),
                Err(e) => return Err(e),
            }
        }
    }
}

/// What a notification means to a view of the host.
fn notice(message: Message) -> Option<Notice> {
    match message.body {
        Body::Link(iface) => Some(Notice::Link(iface)),
        Body::LinkRemoved(iface) => Some(Notice::LinkRemoved(iface)),
        Body::Address { index, address } => Some(Notice::Address { index, address }),
        Body::AddressRemoved { index, address } => Some(Notice::AddressRemoved { index, address }),
        Body::Route(route) => Some(Notice::Route(route)),
        Body::RouteRemoved(route) => Some(Notice::RouteRemoved(route)),
        Body::RuleChanged => Some(Notice::Rules),
        Body::RouterOptions {
            index,
            router,
            options,
        } => Some(Notice::RouterOptions {
            index,
            router,
            options,
        }),
        _ => None,
    }
}

/// `ff02::2`, all routers on the link (RFC 4291 §2.7.1).
const ALL_ROUTERS: std::net::Ipv6Addr = std::net::Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 2);

/// A Router Solicitation (RFC 4861 §4.1): type 133, code 0, the checksum
/// (the kernel fills it in on a raw ICMPv6 socket) and four reserved
/// bytes; no source link-layer option (RFC 4861 lets a host leave it out).
const ROUTER_SOLICITATION: [u8; 8] = [133, 0, 0, 0, 0, 0, 0, 0];

/// Sends a Router Solicitation to all routers out of each interface in
/// `indexes` from a raw ICMPv6 socket (which needs `CAP_NET_RAW`), with
/// the hop limit of 255 that routers check; returns how many went out.
///
/// # Errors
///
/// When the socket cannot be opened (`PermissionDenied` without the
/// capability), or when not one solicitation could be sent.
pub(crate) fn solicit_routers(indexes: &[u32]) -> io::Result<usize> {
    use socket2::{Domain, Protocol, Socket as RawSocket, Type};
    let socket = RawSocket::new(Domain::IPV6, Type::RAW, Some(Protocol::ICMPV6))?;
    socket.set_multicast_hops_v6(255)?;
    socket.set_multicast_loop_v6(false)?;
    let mut sent = 0;
    let mut failure = None;
    for &index in indexes {
        let to = std::net::SocketAddrV6::new(ALL_ROUTERS, 0, 0, index);
        let result = socket
            .set_multicast_if_v6(index)
            .and_then(|()| socket.send_to(&ROUTER_SOLICITATION, &to.into()));
        match result {
            Ok(_) => sent += 1,
            Err(e) => failure = Some(e),
        }
    }
    match failure {
        Some(e) if sent == 0 => Err(e),
        _ => Ok(sent),
    }
}

/// The backend's name.
pub(crate) const NAME: &str = "netlink";
/// Linux reports every change, the end of DAD included.
pub(crate) const REPORTS_DAD: bool = true;
/// Notified of every change: no polling.
pub(crate) const POLLS_EVERY: Option<Duration> = None;

/// The raw bytes of the three dumps, for capturing test fixtures.
#[cfg(test)]
pub(crate) fn raw_dumps() -> io::Result<[Vec<u8>; 3]> {
    let mut lookups = Lookups::open()?;
    let mut out: [Vec<u8>; 3] = Default::default();
    for (what, raw) in [Dump::Links, Dump::Addresses, Dump::Routes]
        .into_iter()
        .zip(out.iter_mut())
    {
        lookups.dump(what, Some(raw))?;
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use std::os::unix::thread::JoinHandleExt;
    use std::time::{Duration, Instant};

    use super::{Lookups, RECV_TIMEOUT, REPLIES_PER_RECV, REPLY_SLOT, recv_many, request};
    use crate::source::Dest;

    /// A signal handled while a lookup waits for the kernel's reply fails
    /// the wait with `EINTR` (with a receive timeout set, Linux does not
    /// restart the call, `SA_RESTART` or not): the wait goes on, and gets
    /// the reply.
    #[test]
    #[allow(unsafe_code)]
    fn a_signal_while_waiting_for_a_reply_is_no_failure() {
        extern "C" fn nothing(_: libc::c_int) {}
        // SAFETY: a zeroed `sigaction` is valid (no flags, an empty mask);
        // the handler does nothing, which is async-signal-safe; SIGUSR2 is
        // used by nothing else in these tests.
        unsafe {
            let mut action: libc::sigaction = std::mem::zeroed();
            action.sa_sigaction = nothing as extern "C" fn(libc::c_int) as libc::sighandler_t;
            action.sa_flags = libc::SA_RESTART;
            libc::sigemptyset(&mut action.sa_mask);
            assert_eq!(
                libc::sigaction(libc::SIGUSR2, &action, std::ptr::null_mut()),
                0
            );
        }
        let lookups = std::sync::Arc::new(Lookups::open().unwrap());
        let waiter = std::thread::spawn({
            let lookups = std::sync::Arc::clone(&lookups);
            move || {
                let mut buf = vec![0; REPLY_SLOT * REPLIES_PER_RECV];
                let mut lens = [0; REPLIES_PER_RECV];
                let start = Instant::now();
                (recv_many(&lookups.socket, &mut buf, &mut lens), start)
            }
        });
        // std's raw handle is the C library's `pthread_t` with glibc, an
        // integer with musl (whose `pthread_t` is a pointer): through
        // `usize` for both.
        let thread = waiter.as_pthread_t() as usize as libc::pthread_t;
        std::thread::sleep(Duration::from_millis(100));
        // SAFETY: the waiter is still running, not joined: it waits for the
        // reply to a request not sent yet (the receive timeout is far
        // away), so it can end early only by this very signal.
        assert_eq!(unsafe { libc::pthread_kill(thread, libc::SIGUSR2) }, 0);
        std::thread::sleep(Duration::from_millis(100));
        let mut req = Vec::new();
        let dest = Dest::from(std::net::IpAddr::from([127, 0, 0, 1]));
        request::lookup(&mut req, 1, dest);
        lookups.socket.send(&req, 0).unwrap();
        let (got, start) = waiter.join().unwrap();
        assert_eq!(got.unwrap(), 1, "after {:?}", start.elapsed());
        // The retry waited what was left of the timeout, then set it back.
        assert_eq!(
            socket2::SockRef::from(&lookups.socket)
                .read_timeout()
                .unwrap(),
            Some(RECV_TIMEOUT)
        );
    }

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
