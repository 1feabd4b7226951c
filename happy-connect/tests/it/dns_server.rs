//! A DNS server for tests: UDP and TCP on one loopback port, answering from
//! a small zone, with faults that can be injected per record type and a log
//! of every query it received.
//!
//! Resolver tests need a server whose behaviour they control exactly (an
//! AAAA answer that comes late or never, a SERVFAIL) and whose log proves
//! which queries were sent, e.g. that no AAAA query left the host. Messages
//! are encoded and decoded with hickory-proto; everything else is here.
//!
//! How a query is answered is decided by one function, [`decide`], which
//! returns an [`Action`]; the transports only carry it out. New faults
//! (wrong ids, garbage, …) are a new [`Fault`] variant and a new arm there.

// Shared test support: each test file uses the part it needs, so some
// helpers are unused in some builds.
#![allow(dead_code)]

use std::collections::HashMap;
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use hickory_proto::op::{Message, MessageType, Query, ResponseCode};
use hickory_proto::rr::rdata::{A, AAAA, CNAME, SOA};
use hickory_proto::rr::{Name, RData, Record, RecordType};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::tcp::OwnedWriteHalf;
use tokio::net::{TcpListener, TcpStream, UdpSocket};
use tokio::task::{JoinHandle, JoinSet};

/// The TTL of every record served; long enough not to matter in a test.
const TTL: u32 = 60;

/// How a query reached the server.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) enum Transport {
    /// A UDP datagram.
    Udp,
    /// A length-prefixed message on a TCP connection.
    Tcp,
}

/// One query the server received, in the order received.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct LoggedQuery {
    /// The name asked, lowercase, without the final dot.
    pub(crate) name: String,
    /// The record type asked.
    pub(crate) qtype: RecordType,
    /// How the query came in.
    pub(crate) transport: Transport,
}

/// A misbehaviour for every query of one record type.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Fault {
    /// Never answer (a lost packet, a broken middlebox).
    Drop,
    /// Answer with this response code and no records (`ServFail`,
    /// `NXDomain`, `Refused`, …).
    Rcode(ResponseCode),
    /// Over UDP, answer with the TC bit set and no records, so that the
    /// client must ask again over TCP; TCP queries are answered normally.
    Truncate,
    /// Over UDP, first a reply with another transaction ID (an off-path
    /// spoofing attempt) whose records point at [`SPOOF_V4`] /
    /// [`SPOOF_V6`]; then, [`SPOOF_LEAD`] later, the real answer if
    /// `then_real`. TCP queries are answered normally.
    WrongId {
        /// Whether the real answer follows the spoofed one.
        then_real: bool,
    },
    /// Over UDP, first a spoofed reply (right ID, spoofed records) sent
    /// from another socket, so from another source port; then the real
    /// answer if `then_real`.
    ForeignSource {
        /// Whether the real answer follows the spoofed one.
        then_real: bool,
    },
    /// Over UDP, first a reply (right ID, spoofed records) whose question
    /// is another name; then the real answer if `then_real`.
    OtherQuestion {
        /// Whether the real answer follows the spoofed one.
        then_real: bool,
    },
    /// The question is echoed, but the only answer records are spoofed
    /// addresses owned by another name (`elsewhere.test`): nothing for the
    /// name asked. Both transports.
    ForeignRecords,
    /// Over UDP, first a datagram of random bytes (with the query's ID in
    /// its first two bytes if `keep_id`); then the real answer if
    /// `then_real`.
    Garbage {
        /// Whether the first two bytes are the query's ID.
        keep_id: bool,
        /// Whether the real answer follows the garbage.
        then_real: bool,
    },
    /// What a real server does with a large answer: over UDP, a response
    /// longer than this many bytes is sent with the TC bit and no records,
    /// so the client asks again over TCP. Without this fault the test
    /// server sends any answer whole, even over UDP.
    TruncateOver(usize),
}

/// The IPv4 address in spoofed replies: a loopback address nothing
/// listens on, so a connect that trusted a spoofed reply shows in the
/// answers and goes nowhere.
pub(crate) const SPOOF_V4: Ipv4Addr = Ipv4Addr::new(127, 0, 0, 66);
/// The IPv6 address in spoofed replies (not configured on any interface).
pub(crate) const SPOOF_V6: Ipv6Addr = Ipv6Addr::new(0xfd66, 0, 0, 0, 0, 0, 0, 0x66);
/// How long after a spoofed reply the real one follows.
pub(crate) const SPOOF_LEAD: Duration = Duration::from_millis(30);

impl Fault {
    /// SERVFAIL for every query of the type.
    pub(crate) const SERVFAIL: Self = Self::Rcode(ResponseCode::ServFail);
    /// NXDOMAIN for every query of the type, whatever the zone says.
    pub(crate) const NXDOMAIN: Self = Self::Rcode(ResponseCode::NXDomain);
}

/// The records of one name.
#[derive(Clone, Debug, Default)]
struct Host {
    a: Vec<Ipv4Addr>,
    aaaa: Vec<Ipv6Addr>,
    /// When set, the name is an alias and its own addresses are ignored.
    cname: Option<String>,
}

/// What the server knows and how it misbehaves; build it, then
/// [`start`](Self::start) a server with it.
#[derive(Clone, Debug, Default)]
pub(crate) struct Zone {
    hosts: HashMap<String, Host>,
    delays: HashMap<RecordType, Duration>,
    faults: HashMap<RecordType, Fault>,
}

impl Zone {
    /// An empty zone: every name is NXDOMAIN.
    pub(crate) fn new() -> Self {
        Self::default()
    }

    /// Adds the A and AAAA records of `name`.
    pub(crate) fn host(mut self, name: &str, a: &[Ipv4Addr], aaaa: &[Ipv6Addr]) -> Self {
        let host = self.hosts.entry(normalize(name)).or_default();
        host.a.extend_from_slice(a);
        host.aaaa.extend_from_slice(aaaa);
        self
    }

    /// Makes `alias` a CNAME of `target`.
    pub(crate) fn cname(mut self, alias: &str, target: &str) -> Self {
        self.hosts.entry(normalize(alias)).or_default().cname = Some(normalize(target));
        self
    }

    /// Delays every answer to `qtype` queries by `delay`.
    pub(crate) fn delay(mut self, qtype: RecordType, delay: Duration) -> Self {
        self.delays.insert(qtype, delay);
        self
    }

    /// Applies `fault` to every `qtype` query.
    pub(crate) fn fault(mut self, qtype: RecordType, fault: Fault) -> Self {
        self.faults.insert(qtype, fault);
        self
    }

    /// Starts a server for this zone on 127.0.0.1, UDP and TCP on the same
    /// (random) port, as a resolver expects of one server address.
    pub(crate) async fn start(self) -> DnsServer {
        DnsServer::start(self, 0).await
    }

    /// Starts a server for this zone on 127.0.0.1 port 53, where a
    /// resolv.conf's `nameserver 127.0.0.1` sends its queries: for a test
    /// in a network namespace of its own, whose port 53 is free.
    pub(crate) async fn start_on_port_53(self) -> DnsServer {
        DnsServer::start(self, 53).await
    }

    /// The normal answer for `query`, written into `response`: the CNAME
    /// chain, then the records of the type, NXDOMAIN for an unknown name,
    /// or an empty answer with an SOA (NODATA, RFC 2308) for a known name
    /// without records of the type.
    fn answer(&self, query: &Query, response: &mut Message) {
        let mut owner = query.name().clone();
        let mut current = normalize(&owner.to_ascii());
        // A bound on the chain, so that a CNAME loop in a test zone ends.
        for _ in 0..8 {
            let Some(host) = self.hosts.get(&current) else {
                response.set_response_code(ResponseCode::NXDomain);
                response.add_name_server(soa());
                return;
            };
            if let Some(target) = &host.cname {
                let target_name = Name::from_ascii(format!("{target}.")).expect("valid name");
                response.add_answer(Record::from_rdata(
                    owner,
                    TTL,
                    RData::CNAME(CNAME(target_name.clone())),
                ));
                owner = target_name;
                current = target.clone();
                continue;
            }
            let records: Vec<RData> = match query.query_type() {
                RecordType::A => host.a.iter().map(|&ip| RData::A(A(ip))).collect(),
                RecordType::AAAA => host.aaaa.iter().map(|&ip| RData::AAAA(AAAA(ip))).collect(),
                _ => Vec::new(),
            };
            if records.is_empty() {
                response.add_name_server(soa());
            }
            for rdata in records {
                response.add_answer(Record::from_rdata(owner.clone(), TTL, rdata));
            }
            return;
        }
        response.set_response_code(ResponseCode::ServFail);
    }
}

/// What to do with one received message.
#[derive(Debug)]
enum Action {
    /// Send nothing.
    Ignore,
    /// Send `bytes` after `delay`.
    Reply { delay: Duration, bytes: Vec<u8> },
    /// Send these datagrams in order (UDP only), each after its delay.
    Packets(Vec<Packet>),
}

/// One datagram of an [`Action::Packets`].
#[derive(Debug)]
struct Packet {
    /// Waited before sending, after the previous packet.
    delay: Duration,
    bytes: Vec<u8>,
    /// Sent from a second socket (another source port), not the server's.
    foreign: bool,
}

/// State shared by the server's tasks and its handle.
#[derive(Debug)]
struct Shared {
    zone: Mutex<Zone>,
    log: Mutex<Vec<LoggedQuery>>,
    /// Each query's transaction ID and the client's source port.
    origins: Mutex<Vec<(u16, u16)>>,
}

/// A running test DNS server. Dropping it stops it: its tasks, and the
/// replies they were still going to send, are aborted.
#[derive(Debug)]
pub(crate) struct DnsServer {
    addr: SocketAddr,
    shared: Arc<Shared>,
    tasks: Vec<JoinHandle<()>>,
}

impl DnsServer {
    async fn start(zone: Zone, port: u16) -> Self {
        let (udp, tcp) = if port == 0 {
            bind_pair().await
        } else {
            let udp = UdpSocket::bind(("127.0.0.1", port))
                .await
                .expect("bind UDP");
            let tcp = TcpListener::bind(("127.0.0.1", port))
                .await
                .expect("bind TCP");
            (udp, tcp)
        };
        let addr = udp.local_addr().expect("bound socket has an address");
        let shared = Arc::new(Shared {
            zone: Mutex::new(zone),
            log: Mutex::new(Vec::new()),
            origins: Mutex::new(Vec::new()),
        });
        let tasks = vec![
            tokio::spawn(serve_udp(Arc::new(udp), Arc::clone(&shared))),
            tokio::spawn(serve_tcp(tcp, Arc::clone(&shared))),
        ];
        Self {
            addr,
            shared,
            tasks,
        }
    }

    /// The address to give a resolver: UDP and TCP both listen there.
    pub(crate) fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Every query received so far, in order.
    pub(crate) fn queries(&self) -> Vec<LoggedQuery> {
        lock(&self.shared.log).clone()
    }

    /// Every query's transaction ID and source port, in arrival order.
    pub(crate) fn origins(&self) -> Vec<(u16, u16)> {
        lock(&self.shared.origins).clone()
    }

    /// How many `qtype` queries for `name` were received, any transport.
    pub(crate) fn count(&self, name: &str, qtype: RecordType) -> usize {
        let name = normalize(name);
        lock(&self.shared.log)
            .iter()
            .filter(|q| q.name == name && q.qtype == qtype)
            .count()
    }

    /// Forgets the queries received so far.
    pub(crate) fn clear_log(&self) {
        lock(&self.shared.log).clear();
    }

    /// Changes the fault for `qtype` while running (`None` heals it).
    pub(crate) fn set_fault(&self, qtype: RecordType, fault: Option<Fault>) {
        let mut zone = lock(&self.shared.zone);
        match fault {
            Some(fault) => zone.faults.insert(qtype, fault),
            None => zone.faults.remove(&qtype),
        };
    }

    /// Changes the answer delay for `qtype` while running.
    pub(crate) fn set_delay(&self, qtype: RecordType, delay: Duration) {
        lock(&self.shared.zone).delays.insert(qtype, delay);
    }
}

impl Drop for DnsServer {
    fn drop(&mut self) {
        // Each task owns the JoinSet of its pending replies, so aborting
        // it aborts them too.
        for task in &self.tasks {
            task.abort();
        }
    }
}

/// A UDP socket and a TCP listener on the same loopback port. The UDP port
/// is picked by the system; the TCP port may happen to be taken, so try a
/// few times.
async fn bind_pair() -> (UdpSocket, TcpListener) {
    let mut last_error = None;
    for _ in 0..20 {
        let udp = UdpSocket::bind("127.0.0.1:0").await.expect("bind UDP");
        let addr = udp.local_addr().expect("bound socket has an address");
        match TcpListener::bind(addr).await {
            Ok(tcp) => return (udp, tcp),
            Err(e) => last_error = Some(e),
        }
    }
    panic!("no port free for both UDP and TCP: {last_error:?}");
}

/// Decides the fate of one received message, and logs it if it is a
/// query.
fn decide(shared: &Shared, packet: &[u8], transport: Transport, source_port: u16) -> Action {
    // Not a DNS message: nothing a resolver would wait for.
    let Ok(request) = Message::from_vec(packet) else {
        return Action::Ignore;
    };
    let Some(query) = request.queries().first().cloned() else {
        return Action::Ignore;
    };
    let qtype = query.query_type();
    lock(&shared.log).push(LoggedQuery {
        name: normalize(&query.name().to_ascii()),
        qtype,
        transport,
    });
    lock(&shared.origins).push((request.id(), source_port));

    let zone = lock(&shared.zone);
    let delay = zone.delays.get(&qtype).copied().unwrap_or_default();
    let mut response = Message::new();
    response
        .set_id(request.id())
        .set_message_type(MessageType::Response)
        .set_op_code(request.op_code())
        .set_recursion_desired(request.recursion_desired())
        .set_recursion_available(true)
        .add_query(query.clone());
    let udp = transport == Transport::Udp;
    // The spoofed packet sent ahead of the real answer, if any.
    let mut lead: Option<Packet> = None;
    let mut then_real = true;
    match zone.faults.get(&qtype) {
        Some(Fault::Drop) => return Action::Ignore,
        Some(Fault::Rcode(code)) => {
            response.set_response_code(*code);
        }
        Some(Fault::Truncate) if udp => {
            response.set_truncated(true);
        }
        Some(Fault::WrongId { then_real: real }) if udp => {
            let mut spoof = spoofed(&response, &query);
            spoof.set_id(request.id().wrapping_add(0x5555));
            lead = Some(datagram(&spoof, false));
            then_real = *real;
            zone.answer(&query, &mut response);
        }
        Some(Fault::ForeignSource { then_real: real }) if udp => {
            lead = Some(datagram(&spoofed(&response, &query), true));
            then_real = *real;
            zone.answer(&query, &mut response);
        }
        Some(Fault::OtherQuestion { then_real: real }) if udp => {
            let other = Query::query(
                Name::from_ascii("elsewhere.test.").expect("valid name"),
                qtype,
            );
            let mut spoof = response.clone();
            spoof.take_queries();
            spoof.add_query(other.clone());
            let spoof = spoofed(&spoof, &other);
            lead = Some(datagram(&spoof, false));
            then_real = *real;
            zone.answer(&query, &mut response);
        }
        Some(Fault::Garbage {
            keep_id,
            then_real: real,
        }) if udp => {
            let mut bytes = garbage(usize::from(request.id()) + packet.len());
            if *keep_id {
                bytes[..2].copy_from_slice(&request.id().to_be_bytes());
            }
            lead = Some(Packet {
                delay: Duration::ZERO,
                bytes,
                foreign: false,
            });
            then_real = *real;
            zone.answer(&query, &mut response);
        }
        Some(Fault::ForeignRecords) => {
            let elsewhere = Query::query(
                Name::from_ascii("elsewhere.test.").expect("valid name"),
                qtype,
            );
            let mut spoof = spoofed(&Message::new(), &elsewhere);
            for record in spoof.take_answers() {
                response.add_answer(record);
            }
        }
        Some(Fault::TruncateOver(limit)) => {
            zone.answer(&query, &mut response);
            let whole = response.to_vec().expect("the response encodes");
            if udp && whole.len() > *limit {
                response.take_answers();
                response.take_name_servers();
                response.set_truncated(true);
            }
        }
        // Over TCP, the spoofing faults do not apply.
        Some(
            Fault::Truncate
            | Fault::WrongId { .. }
            | Fault::ForeignSource { .. }
            | Fault::OtherQuestion { .. }
            | Fault::Garbage { .. },
        )
        | None => zone.answer(&query, &mut response),
    }
    let bytes = response.to_vec().expect("the response encodes");
    match lead {
        None => Action::Reply { delay, bytes },
        Some(mut lead) => {
            lead.delay = delay;
            let mut packets = vec![lead];
            if then_real {
                packets.push(Packet {
                    delay: SPOOF_LEAD,
                    bytes,
                    foreign: false,
                });
            }
            Action::Packets(packets)
        }
    }
}

/// A copy of `response` answering `query` with the spoofed addresses.
fn spoofed(response: &Message, query: &Query) -> Message {
    let mut spoof = response.clone();
    let rdata = match query.query_type() {
        RecordType::AAAA => RData::AAAA(AAAA(SPOOF_V6)),
        _ => RData::A(A(SPOOF_V4)),
    };
    spoof.add_answer(Record::from_rdata(query.name().clone(), TTL, rdata));
    spoof
}

/// An encoded message as a packet sent at once.
fn datagram(message: &Message, foreign: bool) -> Packet {
    Packet {
        delay: Duration::ZERO,
        bytes: message.to_vec().expect("the response encodes"),
        foreign,
    }
}

/// Deterministic junk: 12 to 300 bytes from an xorshift seeded by `seed`.
fn garbage(seed: usize) -> Vec<u8> {
    let mut x = (seed as u64) | 1;
    let mut next = move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    let len = 12 + (next() % 289) as usize;
    (0..len).map(|_| next() as u8).collect()
}

async fn serve_udp(socket: Arc<UdpSocket>, shared: Arc<Shared>) {
    // Replies are sent from their own tasks so that a delayed answer does
    // not hold back the ones after it.
    let mut replies = JoinSet::new();
    let mut buf = vec![0; 65_535];
    // Where replies from "another source" come from.
    let foreign = Arc::new(
        UdpSocket::bind("127.0.0.1:0")
            .await
            .expect("bind the foreign UDP socket"),
    );
    loop {
        let Ok((len, peer)) = socket.recv_from(&mut buf).await else {
            continue;
        };
        while replies.try_join_next().is_some() {}
        match decide(&shared, &buf[..len], Transport::Udp, peer.port()) {
            Action::Ignore => {}
            Action::Reply { delay, bytes } => {
                let socket = Arc::clone(&socket);
                replies.spawn(async move {
                    tokio::time::sleep(delay).await;
                    // The client may be gone; that is its business.
                    let _ = socket.send_to(&bytes, peer).await;
                });
            }
            Action::Packets(packets) => {
                let socket = Arc::clone(&socket);
                let foreign = Arc::clone(&foreign);
                replies.spawn(async move {
                    for p in packets {
                        tokio::time::sleep(p.delay).await;
                        let from = if p.foreign { &foreign } else { &socket };
                        let _ = from.send_to(&p.bytes, peer).await;
                    }
                });
            }
        }
    }
}

async fn serve_tcp(listener: TcpListener, shared: Arc<Shared>) {
    let mut connections = JoinSet::new();
    loop {
        let Ok((stream, peer)) = listener.accept().await else {
            continue;
        };
        while connections.try_join_next().is_some() {}
        connections.spawn(serve_tcp_connection(
            stream,
            peer.port(),
            Arc::clone(&shared),
        ));
    }
}

/// Serves the queries of one connection: each a message with a two-byte
/// length prefix (RFC 1035 §4.2.2), possibly several in flight at once
/// (RFC 7766 §6.2.1), answered in any order.
async fn serve_tcp_connection(stream: TcpStream, source_port: u16, shared: Arc<Shared>) {
    let (mut reader, writer) = stream.into_split();
    let writer = Arc::new(tokio::sync::Mutex::new(writer));
    let mut replies = JoinSet::new();
    loop {
        let Ok(len) = reader.read_u16().await else {
            return;
        };
        let mut packet = vec![0; usize::from(len)];
        if reader.read_exact(&mut packet).await.is_err() {
            return;
        }
        while replies.try_join_next().is_some() {}
        // `decide` only asks for several packets over UDP.
        if let Action::Reply { delay, bytes } =
            decide(&shared, &packet, Transport::Tcp, source_port)
        {
            let writer = Arc::clone(&writer);
            replies.spawn(async move {
                tokio::time::sleep(delay).await;
                let _ = write_framed(&mut *writer.lock().await, &bytes).await;
            });
        }
    }
}

async fn write_framed(writer: &mut OwnedWriteHalf, bytes: &[u8]) -> std::io::Result<()> {
    let len = u16::try_from(bytes.len()).expect("a DNS message fits in 64 KiB");
    let mut frame = Vec::with_capacity(bytes.len() + 2);
    frame.extend_from_slice(&len.to_be_bytes());
    frame.extend_from_slice(bytes);
    // One write, so that a reply is never interleaved with another.
    writer.write_all(&frame).await
}

/// The SOA sent with negative answers, so that resolvers treat them as
/// authoritative (RFC 2308).
fn soa() -> Record {
    let soa = SOA::new(
        Name::from_ascii("ns.test.").expect("valid name"),
        Name::from_ascii("hostmaster.test.").expect("valid name"),
        1,
        3600,
        600,
        86_400,
        TTL,
    );
    Record::from_rdata(
        Name::from_ascii("test.").expect("valid name"),
        TTL,
        RData::SOA(soa),
    )
}

/// Names compare lowercase and without the final dot.
fn normalize(name: &str) -> String {
    name.strip_suffix('.').unwrap_or(name).to_ascii_lowercase()
}

/// A poisoned lock only means another test thread panicked; the data is
/// still what it was.
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}
