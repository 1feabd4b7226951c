//! Reliability under faults: hostile and broken DNS servers, broken
//! networks on loopback, and property tests of the race's bookkeeping.
//!
//! Every connect here must end within its total timeout, with a connection
//! to a loopback listener or an error whose text says what went wrong, and
//! never with a panic. All traffic stays on loopback (or inside an empty
//! network namespace, where it goes nowhere).

#![cfg(target_os = "linux")]

#[path = "it/dns_server.rs"]
mod dns_server;

use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::{Duration, Instant};

use happy_connect::race::{
    Action, AttemptId, Candidate, Family, Input, Outcome, Race, RaceConfig, Strategy,
};
use happy_connect::resolve::{ResolverOptions, SystemResolver};
use happy_connect::sort::{Destination, SourceAttrs};
use happy_connect::{AaaaPolicy, AttemptOutcome, ConnectErrorKind, ConnectReport, Connector};
use hickory_proto::op::ResponseCode;
use hickory_proto::rr::RecordType as Qtype;
use netns_harness::Netns;
use proptest::prelude::{Just, TestCaseError, any, prop_assert, prop_assert_eq, prop_oneof};
use proptest::strategy::Strategy as _;
use socket2::{Domain, Socket, Type};
use tokio::net::TcpListener;
use tokio::task::JoinSet;

use dns_server::{Fault, SPOOF_V4, SPOOF_V6, Transport, Zone};

/// How far past its total timeout a connect may end: scheduling on a busy
/// two-core machine, not work the connector does after its deadline.
const MARGIN: Duration = Duration::from_millis(300);
/// The candidate cap of every DNS fault case.
const CAP: usize = 8;

const LO4: Ipv4Addr = Ipv4Addr::LOCALHOST;
const LO6: Ipv6Addr = Ipv6Addr::LOCALHOST;

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

/// A listener on 127.0.0.1 and on ::1, on the same port, accepting in a
/// loop (and closing at once) until the returned tasks are dropped.
async fn listeners() -> (u16, JoinSet<()>) {
    let mut tasks = JoinSet::new();
    for _ in 0..20 {
        let v4 = TcpListener::bind((LO4, 0)).await.expect("bind 127.0.0.1");
        let port = v4.local_addr().expect("bound").port();
        let Ok(v6) = TcpListener::bind((LO6, port)).await else {
            continue;
        };
        for listener in [v4, v6] {
            tasks.spawn(async move {
                loop {
                    if let Ok((stream, _)) = listener.accept().await {
                        drop(stream);
                    }
                }
            });
        }
        return (port, tasks);
    }
    panic!("no port free on both 127.0.0.1 and ::1");
}

/// What a fault case must end with.
#[derive(Clone, Copy, Debug)]
enum Expect {
    /// A connection to the loopback listener.
    Connect,
    /// An error whose text contains every one of these.
    Fail(&'static [&'static str]),
}

/// One DNS fault: a zone with its faults, the name asked, the timeouts.
struct Case {
    name: &'static str,
    zone: Zone,
    host: &'static str,
    /// The resolver's timeout for one query (one try).
    dns_timeout: Duration,
    /// The connect's total timeout.
    total: Duration,
    expect: Expect,
    /// The connect must also end within this.
    within: Option<Duration>,
    /// The query log must show a query over TCP.
    needs_tcp: bool,
}

impl Case {
    fn new(name: &'static str, zone: Zone, expect: Expect) -> Self {
        Self {
            name,
            zone,
            host: "ok.test",
            dns_timeout: ms(300),
            total: ms(1000),
            expect,
            within: None,
            needs_tcp: false,
        }
    }

    fn host(mut self, host: &'static str) -> Self {
        self.host = host;
        self
    }

    fn timeouts(mut self, dns: Duration, total: Duration) -> Self {
        self.dns_timeout = dns;
        self.total = total;
        self
    }

    fn within(mut self, limit: Duration) -> Self {
        self.within = Some(limit);
        self
    }

    fn needs_tcp(mut self) -> Self {
        self.needs_tcp = true;
        self
    }
}

/// The zone every case starts from.
fn zone() -> Zone {
    let many4: Vec<Ipv4Addr> = std::iter::once(LO4)
        .chain((1..500u32).map(|i| Ipv4Addr::from(0x7f01_0000 + i)))
        .collect();
    // IPv4-mapped loopback: AAAA records whose connects stay on loopback
    // (any other IPv6 address but ::1 would leave by the default route).
    let many6: Vec<Ipv6Addr> = (1..=500u32)
        .map(|i| Ipv4Addr::from(0x7f02_0000 + i).to_ipv6_mapped())
        .collect();
    Zone::new()
        .host("ok.test", &[LO4], &[LO6])
        .host("v4.test", &[LO4], &[])
        .host("empty.test", &[], &[])
        .host("many.test", &many4, &many6)
        .cname("c1.test", "c2.test")
        .cname("c2.test", "c3.test")
        .cname("c3.test", "c4.test")
        .cname("c4.test", "c5.test")
        .cname("c5.test", "ok.test")
        .cname("loop1.test", "loop2.test")
        .cname("loop2.test", "loop1.test")
}

fn both(zone: Zone, fault: &Fault) -> Zone {
    zone.fault(Qtype::A, fault.clone())
        .fault(Qtype::AAAA, fault.clone())
}

fn cases() -> Vec<Case> {
    use Expect::{Connect, Fail};
    let servfail = Fault::SERVFAIL;
    vec![
        Case::new("healthy server", zone(), Connect),
        Case::new(
            "A answer 400 ms late (per-type delay)",
            zone().delay(Qtype::A, ms(400)),
            Connect,
        )
        .within(ms(300)),
        Case::new(
            "AAAA answer 400 ms late (per-type delay)",
            zone().delay(Qtype::AAAA, ms(400)),
            Connect,
        )
        .within(ms(300)),
        Case::new(
            "both answers later than the total timeout",
            zone()
                .delay(Qtype::A, ms(3000))
                .delay(Qtype::AAAA, ms(3000)),
            Fail(&["timed out after", "A unanswered", "AAAA unanswered"]),
        )
        .timeouts(ms(5000), ms(600)),
        Case::new(
            "AAAA dropped",
            zone().fault(Qtype::AAAA, Fault::Drop),
            Connect,
        )
        .within(ms(300)),
        Case::new(
            "every query dropped",
            both(zone(), &Fault::Drop),
            Fail(&[
                "no addresses",
                "A lookup of ok.test timed out",
                "AAAA lookup of ok.test timed out",
            ]),
        ),
        Case::new(
            "every query dropped, resolver slower than the total timeout",
            both(zone(), &Fault::Drop),
            Fail(&["timed out after", "A unanswered"]),
        )
        .timeouts(ms(5000), ms(500)),
        Case::new(
            "truncated (TC) over UDP: answered over TCP",
            both(zone(), &Fault::Truncate),
            Connect,
        )
        .needs_tcp(),
        Case::new(
            "SERVFAIL",
            both(zone(), &servfail),
            Fail(&["no addresses", "server answered SERVFAIL"]),
        ),
        Case::new(
            "SERVFAIL for AAAA only",
            zone().fault(Qtype::AAAA, Fault::SERVFAIL),
            Connect,
        ),
        Case::new(
            "NXDOMAIN for AAAA only",
            zone().fault(Qtype::AAAA, Fault::NXDOMAIN),
            Connect,
        ),
        Case::new(
            "NXDOMAIN for A only",
            zone().fault(Qtype::A, Fault::NXDOMAIN),
            Connect,
        ),
        Case::new(
            "REFUSED",
            both(zone(), &Fault::Rcode(ResponseCode::Refused)),
            Fail(&["server answered REFUSED"]),
        ),
        Case::new(
            "name does not exist",
            zone(),
            Fail(&["no addresses", "no such domain (nxdomain)"]),
        )
        .host("nope.test"),
        Case::new(
            "name without addresses (NODATA)",
            zone(),
            Fail(&[
                "no A records for empty.test",
                "no AAAA records for empty.test",
            ]),
        )
        .host("empty.test"),
        Case::new(
            "wrong transaction ID, then the real reply",
            both(zone(), &Fault::WrongId { then_real: true }),
            Connect,
        ),
        Case::new(
            "wrong transaction ID only",
            both(zone(), &Fault::WrongId { then_real: false }),
            Fail(&["A lookup of ok.test timed out"]),
        ),
        Case::new(
            "reply from another source port, then the real reply",
            both(zone(), &Fault::ForeignSource { then_real: true }),
            Connect,
        ),
        Case::new(
            "reply from another source port only",
            both(zone(), &Fault::ForeignSource { then_real: false }),
            Fail(&["A lookup of ok.test timed out"]),
        ),
        Case::new(
            "reply to another question, then the real reply",
            both(zone(), &Fault::OtherQuestion { then_real: true }),
            Connect,
        ),
        Case::new(
            "reply to another question only",
            both(zone(), &Fault::OtherQuestion { then_real: false }),
            Fail(&["A lookup of ok.test timed out"]),
        ),
        Case::new(
            "answer records owned by another name",
            both(zone(), &Fault::ForeignRecords),
            Fail(&["no A records for ok.test"]),
        ),
        Case::new("CNAME chain of five", zone(), Connect).host("c1.test"),
        Case::new("CNAME loop", zone(), Fail(&["no addresses"])).host("loop1.test"),
        // Over 4 KiB in one datagram: hickory reads at most its EDNS
        // payload size, cannot parse the rest and drops it as malformed,
        // so the query times out.
        Case::new(
            "500 A and 500 AAAA records sent whole over UDP",
            zone(),
            Fail(&["A lookup of many.test timed out"]),
        )
        .host("many.test"),
        // The first answer may take only half the cap while the other
        // query is out, so 127.0.0.1 (first of the A records) gets a place
        // even when the AAAA answer (all refused) comes first.
        Case::new(
            "500 A and 500 AAAA records, truncated over UDP, answered over TCP",
            both(zone(), &Fault::TruncateOver(1232)),
            Connect,
        )
        .host("many.test")
        .needs_tcp(),
        Case::new(
            "garbage bytes only",
            both(
                zone(),
                &Fault::Garbage {
                    keep_id: false,
                    then_real: false,
                },
            ),
            Fail(&["A lookup of ok.test timed out"]),
        ),
        Case::new(
            "garbage bytes with the right ID, then the real reply",
            both(
                zone(),
                &Fault::Garbage {
                    keep_id: true,
                    then_real: true,
                },
            ),
            Connect,
        ),
        Case::new(
            "garbage bytes with the right ID only",
            both(
                zone(),
                &Fault::Garbage {
                    keep_id: true,
                    then_real: false,
                },
            ),
            Fail(&["A lookup of ok.test timed out"]),
        ),
    ]
}

/// How one case went.
struct Ran {
    name: &'static str,
    elapsed: Duration,
    summary: String,
    connected: bool,
    problems: Vec<String>,
}

async fn run_case(case: Case, port: u16) -> Ran {
    let server = case.zone.start().await;
    let mut connector = Connector::new();
    connector
        .set_resolver(SystemResolver::with_nameservers(
            &[server.addr()],
            ResolverOptions::default()
                .with_timeout(case.dns_timeout)
                .with_attempts(1)
                .with_cache(false),
        ))
        .set_aaaa(AaaaPolicy::Always);
    connector.race_mut().total_timeout = case.total;
    connector.race_mut().max_candidates = CAP;
    let start = Instant::now();
    let result = connector.connect(case.host, port).await;
    let elapsed = start.elapsed();
    let mut problems = Vec::new();
    let limit = case.total + MARGIN;
    if elapsed > limit {
        problems.push(format!("took {elapsed:?}, more than {limit:?}"));
    }
    if let Some(within) = case.within.filter(|&w| elapsed > w) {
        problems.push(format!(
            "took {elapsed:?}, more than the {within:?} expected"
        ));
    }
    let (report, summary, connected) = match &result {
        Ok((stream, report)) => {
            let peer = stream.peer_addr().ok();
            if !peer.is_some_and(|p| p.ip().is_loopback() && p.port() == port) {
                problems.push(format!("connected to {peer:?}, not the listener"));
            }
            (report, format!("connected to {peer:?}"), true)
        }
        Err(err) => (err.report(), format!("error: {err}"), false),
    };
    check_report(report, &mut problems);
    let summary = if report.dropped_candidates > 0 {
        format!(
            "{summary} [{} candidates kept, {} dropped by the cap]",
            report.candidates.len(),
            report.dropped_candidates
        )
    } else {
        summary
    };
    match (case.expect, &result) {
        (Expect::Connect, Err(_)) => problems.push("expected a connection".into()),
        (Expect::Fail(_), Ok(_)) => problems.push("expected an error".into()),
        (Expect::Fail(needles), Err(err)) => {
            let text = err.to_string();
            for needle in needles {
                if !text.contains(needle) {
                    problems.push(format!("the error does not say {needle:?}"));
                }
            }
        }
        _ => {}
    }
    if case.needs_tcp
        && !server
            .queries()
            .iter()
            .any(|q| q.transport == Transport::Tcp)
    {
        problems.push(format!("no query over TCP: {:?}", server.queries()));
    }
    Ran {
        name: case.name,
        elapsed,
        summary,
        connected,
        problems,
    }
}

/// What every report must satisfy: the cap holds and counts what it
/// dropped, and no spoofed address got in.
fn check_report(report: &ConnectReport, problems: &mut Vec<String>) {
    let answered: usize = report.queries.iter().map(|q| q.answers.len()).sum();
    if report.candidates.len() > CAP {
        problems.push(format!("{} candidates, cap {CAP}", report.candidates.len()));
    }
    if report.attempts.len() > report.candidates.len() {
        problems.push("more attempts than candidates".into());
    }
    // Every address answered is a candidate or dropped by the cap, except
    // those of an answer that came while the winner was connecting: the
    // race ended before their sources were looked up, and the report's
    // queries show them all the same.
    let unplanned = answered.saturating_sub(report.candidates.len());
    if report.dropped_candidates > unplanned
        || (report.dropped_candidates < unplanned && report.winner.is_none())
    {
        problems.push(format!(
            "{answered} addresses answered, {} candidates, but {} dropped",
            report.candidates.len(),
            report.dropped_candidates
        ));
    }
    let spoofed = [IpAddr::V4(SPOOF_V4), IpAddr::V6(SPOOF_V6)];
    if report
        .queries
        .iter()
        .any(|q| q.answers.iter().any(|a| spoofed.contains(a)))
    {
        problems.push("a spoofed address was accepted".into());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_and_broken_dns() {
    let (port, _listeners) = listeners().await;
    let mut runs = JoinSet::new();
    let cases = cases();
    let tried = cases.len();
    for case in cases {
        let name = case.name;
        runs.spawn(async move { (name, tokio::spawn(run_case(case, port)).await) });
    }
    let mut done = Vec::new();
    while let Some(joined) = runs.join_next().await {
        let (name, result) = joined.expect("the case runner does not panic");
        done.push(result.unwrap_or_else(|panic| Ran {
            name,
            elapsed: Duration::ZERO,
            summary: String::new(),
            connected: false,
            problems: vec![format!("panicked: {panic}")],
        }));
    }
    done.sort_by_key(|r| r.name);
    let mut failures = Vec::new();
    for ran in &done {
        let mark = if ran.problems.is_empty() {
            "ok "
        } else {
            "BAD"
        };
        println!(
            "{mark} {:<66} {:>7.1} ms  {}",
            ran.name,
            ran.elapsed.as_secs_f64() * 1000.0,
            ran.summary
        );
        for p in &ran.problems {
            failures.push(format!("{}: {p}", ran.name));
        }
    }
    let connected = done.iter().filter(|r| r.connected).count();
    println!(
        "dns faults: {tried} tried, {connected} connected, {} failed with an error, {} problems",
        tried - connected,
        failures.len()
    );
    assert!(failures.is_empty(), "{failures:#?}");
}

/// A connector for the network fault tests: literal addresses, no DNS.
fn connector(total: Duration) -> Connector {
    let mut c = Connector::new();
    c.race_mut().total_timeout = total;
    c.race_mut().max_candidates = CAP;
    c
}

/// A loopback port nothing listens on (bound, then closed).
fn closed_port() -> u16 {
    let l = std::net::TcpListener::bind((LO4, 0)).expect("bind");
    l.local_addr().expect("bound").port()
}

#[tokio::test]
async fn refused() {
    let port = closed_port();
    let start = Instant::now();
    let err = connector(ms(1000))
        .connect("127.0.0.1", port)
        .await
        .expect_err("nothing listens");
    println!("refused: {err} ({:?})", start.elapsed());
    assert_eq!(err.kind(), ConnectErrorKind::AllAttemptsFailed);
    assert_eq!(err.report().attempts.len(), 1);
    assert_eq!(err.report().attempts[0].outcome, AttemptOutcome::Refused);
    assert!(start.elapsed() < ms(500));
    let io: io::Error = err.into();
    assert_eq!(io.kind(), io::ErrorKind::ConnectionRefused);
}

/// A listener that accepts, then closes with `SO_LINGER` 0 so the kernel
/// sends RST instead of FIN, once the client has its connection. The
/// connect succeeds: the three-way handshake completes in the kernel
/// before the application even accepts, so the reset only shows on the
/// first read (ECONNRESET).
#[tokio::test]
async fn reset_after_connect() {
    let listener = TcpListener::bind((LO4, 0)).await.expect("bind");
    let port = listener.local_addr().expect("bound").port();
    let (connected, wait) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(async move {
        let (stream, _) = listener.accept().await.expect("accept");
        let _ = wait.await;
        socket2::SockRef::from(&stream)
            .set_linger(Some(Duration::ZERO))
            .expect("SO_LINGER 0");
        drop(stream);
    });
    let (mut stream, report) = connector(ms(1000))
        .connect("127.0.0.1", port)
        .await
        .expect("the handshake completes before the reset");
    assert_eq!(report.attempts[0].outcome, AttemptOutcome::Connected);
    connected.send(()).expect("server waits");
    server.await.expect("server");
    let mut buf = [0u8; 16];
    let read = tokio::io::AsyncReadExt::read(&mut stream, &mut buf).await;
    println!("reset after connect: connected, then the first read gave {read:?}");
    assert!(
        matches!(&read, Err(e) if e.kind() == io::ErrorKind::ConnectionReset),
        "{read:?}"
    );
}

/// The same, but the server resets at once. On loopback the RST may land
/// before the connector's task sees the socket writable; tokio then reads
/// ECONNRESET from `SO_ERROR` and the attempt fails ("connection reset by
/// peer") rather than returning a stream that is already dead. Both
/// outcomes are right; which one happens is timing, so both are accepted,
/// and the connect must end either way, with no other outcome.
#[tokio::test]
async fn reset_at_once() {
    let listener = TcpListener::bind((LO4, 0)).await.expect("bind");
    let port = listener.local_addr().expect("bound").port();
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            socket2::SockRef::from(&stream)
                .set_linger(Some(Duration::ZERO))
                .expect("SO_LINGER 0");
            drop(stream);
        }
    });
    let (mut connected, mut reset) = (0, 0);
    for _ in 0..20 {
        match connector(ms(1000)).connect("127.0.0.1", port).await {
            Ok((mut stream, _)) => {
                connected += 1;
                let mut buf = [0u8; 16];
                let read = tokio::io::AsyncReadExt::read(&mut stream, &mut buf).await;
                assert!(
                    matches!(&read, Err(e) if e.kind() == io::ErrorKind::ConnectionReset)
                        || matches!(read, Ok(0)),
                    "{read:?}"
                );
            }
            Err(err) => {
                reset += 1;
                let outcome = err.report().attempts[0].outcome.to_string();
                assert!(outcome.contains("reset"), "{err}");
            }
        }
    }
    println!(
        "reset at once: 20 connects, {connected} connected (then reset on read), \
         {reset} failed with \"connection reset by peer\""
    );
}

/// Needs root: the connects run in an empty network namespace (only a
/// loopback interface, down: no route anywhere), on a thread of
/// netns-harness's that entered it, with their own current-thread runtime.
#[test]
fn unreachable() {
    let empty = Netns::empty("hc-faults");
    let (result, elapsed) = empty.run(|| {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        rt.block_on(async {
            let mut c = connector(ms(1000));
            c.race_mut().set_attempt_delay(ms(10));
            let start = Instant::now();
            // One name with both families, so both kinds of socket fail.
            c.set_resolver(happy_connect::resolve::StaticResolver::new().with(
                "both.test",
                &[
                    IpAddr::V4(LO4),
                    "192.0.2.1".parse().unwrap(),
                    IpAddr::V6(LO6),
                ],
            ))
            .set_aaaa(AaaaPolicy::Always);
            (c.connect("both.test", 80).await, start.elapsed())
        })
    });
    let err = result.expect_err("no route in an empty namespace");
    println!("unreachable: {err} ({elapsed:?})");
    assert_eq!(err.kind(), ConnectErrorKind::AllAttemptsFailed);
    assert_eq!(err.report().attempts.len(), 3);
    for a in &err.report().attempts {
        // No route: unreachable, or no source address to bind (EADDRNOTAVAIL,
        // which glibc and musl word differently; the number is the same).
        let text = a.outcome.to_string();
        assert!(
            matches!(a.outcome, AttemptOutcome::Unreachable(_)) || text.contains("os error 99"),
            "{}: {text}",
            a.address
        );
    }
    assert!(elapsed < ms(500), "{elapsed:?}");
}

/// A listener with a backlog of 1 that never accepts, with its accept
/// queue filled: further SYNs are dropped, so connects to it hang. Returns
/// the port and what holds it (the listener and the queued connections).
fn blackhole() -> (u16, Vec<std::net::TcpStream>, Socket) {
    let socket = Socket::new(Domain::IPV4, Type::STREAM, None).expect("socket");
    socket
        .bind(&SocketAddr::from((LO4, 0)).into())
        .expect("bind");
    socket.listen(1).expect("listen");
    let addr = socket
        .local_addr()
        .expect("bound")
        .as_socket()
        .expect("inet");
    let mut queued = Vec::new();
    for _ in 0..8 {
        match std::net::TcpStream::connect_timeout(&addr, ms(200)) {
            Ok(stream) => queued.push(stream),
            Err(e) if e.kind() == io::ErrorKind::TimedOut => {
                return (addr.port(), queued, socket);
            }
            Err(e) => panic!("filling the accept queue: {e}"),
        }
    }
    panic!("the accept queue never filled: SYNs are not dropped here");
}

#[tokio::test]
async fn blackholed() {
    let (port, queued, _listener) = blackhole();
    println!(
        "blackhole: accept queue full after {} connections, the next connect hangs",
        queued.len()
    );
    // The total timeout ends it.
    let start = Instant::now();
    let err = connector(ms(400))
        .connect("127.0.0.1", port)
        .await
        .expect_err("blackholed");
    let elapsed = start.elapsed();
    println!("blackholed, total timeout 400 ms: {err} ({elapsed:?})");
    assert_eq!(err.kind(), ConnectErrorKind::TimedOut);
    assert_eq!(err.report().attempts[0].outcome, AttemptOutcome::Abandoned);
    assert!(
        elapsed >= ms(400) && elapsed < ms(400) + MARGIN,
        "{elapsed:?}"
    );

    // The attempt timeout ends it first.
    let mut c = connector(ms(2000));
    c.race_mut().attempt_timeout = ms(150);
    let start = Instant::now();
    let err = c.connect("127.0.0.1", port).await.expect_err("blackholed");
    let elapsed = start.elapsed();
    println!("blackholed, attempt timeout 150 ms: {err} ({elapsed:?})");
    assert_eq!(err.kind(), ConnectErrorKind::AllAttemptsFailed);
    assert_eq!(err.report().attempts[0].outcome, AttemptOutcome::TimedOut);
    assert!(elapsed < ms(150) + MARGIN, "{elapsed:?}");
}

// ---------------------------------------------------------------------------
// The race, through its public API only.

/// A huge answer of one family, while the other query is out, keeps only
/// half the cap: the other family's answer still gets its place.
#[test]
fn huge_first_answer_leaves_room_for_the_other_family() {
    let config = RaceConfig {
        max_candidates: 8,
        ..RaceConfig::default()
    };
    let t0 = Instant::now();
    let mut race = Race::new(config, t0, &[Family::V6, Family::V4]);
    let mut actions = Vec::new();
    let six = (0..200).map(|n| candidate(Family::V6, (n % 250) as u8 / 5 * 5, n >= 125));
    race.handle(
        Input::Answer {
            family: Family::V6,
            candidates: six.collect(),
        },
        t0,
        &mut actions,
    );
    assert_eq!(race.order().len(), 4);
    race.handle(
        Input::Answer {
            family: Family::V4,
            candidates: vec![
                candidate(Family::V4, 1, false),
                candidate(Family::V4, 2, false),
            ],
        },
        t0,
        &mut actions,
    );
    let v4 = race
        .order()
        .iter()
        .filter(|c| c.family() == Family::V4)
        .count();
    assert_eq!((race.order().len(), v4), (6, 2));
}

/// One driver event.
#[derive(Clone, Debug)]
enum Event {
    /// An answer of `family` with candidates numbered by the bytes (port
    /// chosen by the `bool`, so duplicates with other ports occur too).
    Answer(Family, Vec<(u8, bool)>),
    QueryFailed(Family),
    /// An id picked among known ones, stale ones and absurd ones.
    Connected(IdPick),
    Failed(IdPick),
    Timer,
}

/// How an event names an attempt.
#[derive(Clone, Copy, Debug)]
enum IdPick {
    /// The `n`th attempt started (maybe finished or cancelled since).
    Started(usize),
    /// An id never started.
    Raw(u32),
}

fn family() -> impl proptest::strategy::Strategy<Value = Family> {
    prop_oneof![Just(Family::V4), Just(Family::V6)]
}

fn id_pick() -> impl proptest::strategy::Strategy<Value = IdPick> {
    prop_oneof![
        (0usize..64).prop_map(IdPick::Started),
        any::<u32>().prop_map(IdPick::Raw),
        Just(IdPick::Raw(u32::MAX)),
    ]
}

fn event() -> impl proptest::strategy::Strategy<Value = Event> {
    prop_oneof![
        (
            family(),
            proptest::collection::vec((any::<u8>(), any::<bool>()), 0..80)
        )
            .prop_map(|(f, v)| Event::Answer(f, v)),
        family().prop_map(Event::QueryFailed),
        id_pick().prop_map(Event::Connected),
        id_pick().prop_map(Event::Failed),
        Just(Event::Timer),
    ]
}

fn candidate(family: Family, n: u8, other_port: bool) -> Candidate {
    let port = if other_port { 8080 } else { 443 };
    let dest = match (family, n % 5) {
        (Family::V4, 4) => Destination::unreachable(IpAddr::V4(Ipv4Addr::new(203, 0, 113, n))),
        (Family::V4, _) => Destination::with_source(
            IpAddr::V4(Ipv4Addr::new(198, 51, 100, n)),
            IpAddr::V4(Ipv4Addr::new(192, 0, 2, 100)),
            SourceAttrs::default(),
        ),
        // Teredo.
        (Family::V6, 4) => Destination::with_source(
            IpAddr::V6(Ipv6Addr::new(
                0x2001,
                0,
                0x4136,
                0xe378,
                0x8000,
                0x63bf,
                0x3fff,
                u16::from(n),
            )),
            IpAddr::V6(Ipv6Addr::new(
                0x2001, 0, 0xc633, 0x640a, 0x8000, 0xf227, 0xbd6a, 0x13fe,
            )),
            SourceAttrs::default(),
        ),
        (Family::V6, _) => Destination::with_source(
            IpAddr::V6(Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, u16::from(n))),
            IpAddr::V6(Ipv6Addr::new(0x2001, 0xdb8, 0xffff, 0, 0, 0, 0, 0x100)),
            SourceAttrs::default(),
        ),
    };
    Candidate::new(dest, port)
}

/// What the driver knows: which ids were started and are still live.
#[derive(Default)]
struct Driver {
    /// One entry per started attempt: still in flight for the driver.
    live: Vec<bool>,
    dones: usize,
}

impl Driver {
    fn resolve(&self, pick: IdPick) -> AttemptId {
        match pick {
            IdPick::Started(n) if !self.live.is_empty() => {
                AttemptId(u32::try_from(n % self.live.len()).unwrap_or(u32::MAX))
            }
            IdPick::Started(n) => AttemptId(u32::try_from(n).unwrap_or(u32::MAX)),
            IdPick::Raw(raw) => AttemptId(raw),
        }
    }

    /// Checks a batch of actions: only started, live ids are named; Done
    /// comes once, last.
    fn check(&mut self, actions: &[Action]) -> Result<(), TestCaseError> {
        for (i, action) in actions.iter().enumerate() {
            prop_assert_eq!(self.dones, 0, "action after Done: {:?}", action);
            match *action {
                Action::Start { id, .. } => {
                    prop_assert_eq!(id.0 as usize, self.live.len(), "ids count up");
                    self.live.push(true);
                }
                Action::Cancel { id, .. } => {
                    prop_assert_eq!(
                        self.live.get(id.0 as usize).copied(),
                        Some(true),
                        "cancel of an unknown or finished attempt {:?}",
                        id
                    );
                    self.live[id.0 as usize] = false;
                }
                Action::Done(outcome) => {
                    prop_assert_eq!(i, actions.len() - 1, "Done is last");
                    if let Outcome::Connected { id } = outcome {
                        prop_assert_eq!(
                            self.live.get(id.0 as usize).copied(),
                            Some(true),
                            "winner {:?} unknown or finished",
                            id
                        );
                        self.live[id.0 as usize] = false;
                    }
                    self.dones += 1;
                }
                _ => prop_assert!(false, "unknown action {:?}", action),
            }
        }
        Ok(())
    }
}

proptest::proptest! {
    #![proptest_config(proptest::test_runner::Config::with_cases(512))]

    /// Whatever the driver says, however absurd (ids never started, ids
    /// already cancelled, the clock going backwards, repeated answers,
    /// timeouts of zero or of centuries), the race names only attempts it
    /// started and has not finished; and once the events run out, a driver
    /// that ends what it has in hand (fails the live attempts, fails the
    /// pending queries) sees the race end within a bounded number of
    /// wake-ups.
    #[test]
    fn race_names_only_known_attempts_and_always_finishes(
        events in proptest::collection::vec((event(), 0u64..600, any::<bool>()), 0..60),
        pending in proptest::sample::subsequence(vec![Family::V4, Family::V6], 0..=2),
        sequential in any::<bool>(),
        first_family_count in 0usize..5,
        max_candidates in 0usize..48,
        attempt_timeout in prop_oneof![Just(0u64), 1u64..3000, Just(u64::MAX)],
        total_timeout in prop_oneof![Just(0u64), 1u64..8000, Just(u64::MAX)],
        resolution_delay in prop_oneof![Just(0u64), 1u64..200, Just(u64::MAX)],
        attempt_delay in 0u64..3000,
    ) {
        let mut config = RaceConfig {
            strategy: if sequential { Strategy::Sequential } else { Strategy::Race },
            first_family_count,
            max_candidates,
            attempt_timeout: ms(attempt_timeout),
            total_timeout: ms(total_timeout),
            resolution_delay: ms(resolution_delay),
            ..RaceConfig::default()
        };
        config.set_attempt_delay(ms(attempt_delay));
        let t0 = Instant::now();
        let mut race = Race::new(config, t0, &pending);
        let mut driver = Driver::default();
        let mut actions = Vec::new();
        let mut now = t0;
        for (event, step, backwards) in events {
            // The clock mostly moves on, sometimes steps back.
            now = if backwards { now.checked_sub(ms(step)).unwrap_or(now) } else { now + ms(step) };
            let input = match event {
                Event::Answer(family, ns) => Input::Answer {
                    family,
                    candidates: ns.into_iter().map(|(n, p)| candidate(family, n, p)).collect(),
                },
                Event::QueryFailed(family) => Input::QueryFailed { family },
                Event::Connected(pick) => Input::Connected { id: driver.resolve(pick) },
                Event::Failed(pick) => Input::AttemptFailed { id: driver.resolve(pick) },
                Event::Timer => Input::Timer,
            };
            // A failure report ends the attempt for the driver too, if it
            // was live before the call (the call itself may start that id).
            let failed = match input {
                Input::AttemptFailed { id } => Some(id.0 as usize)
                    .filter(|&i| driver.live.get(i).copied().unwrap_or(false)),
                _ => None,
            };
            actions.clear();
            race.handle(input, now, &mut actions);
            driver.check(&actions)?;
            if let Some(live) = failed.and_then(|index| driver.live.get_mut(index)) {
                *live = false;
            }
            prop_assert!(race.order().len() <= max_candidates.max(1));
            prop_assert_eq!(race.in_flight(), driver.live.iter().filter(|&&l| l).count());
            prop_assert_eq!(race.is_done(), driver.dones == 1);
        }
        // The events ran out: the driver ends what it has in hand.
        let mut wakeups = 0;
        while !race.is_done() {
            wakeups += 1;
            prop_assert!(wakeups <= 4 * max_candidates.max(1) + 16, "no end in sight");
            now += ms(1);
            for family in [Family::V4, Family::V6] {
                actions.clear();
                race.handle(Input::QueryFailed { family }, now, &mut actions);
                driver.check(&actions)?;
            }
            let live: Vec<usize> = (0..driver.live.len()).filter(|&i| driver.live[i]).collect();
            for index in live {
                driver.live[index] = false;
                actions.clear();
                let id = AttemptId(u32::try_from(index).unwrap_or(u32::MAX));
                race.handle(Input::AttemptFailed { id }, now, &mut actions);
                driver.check(&actions)?;
            }
            if let Some(next) = race.poll_timeout() {
                now = now.max(next);
            }
            actions.clear();
            race.handle(Input::Timer, now, &mut actions);
            driver.check(&actions)?;
        }
        prop_assert_eq!(driver.dones, 1);
        prop_assert!(race.poll_timeout().is_none());
        // Done means done: nothing more, whatever comes.
        actions.clear();
        race.handle(Input::Connected { id: AttemptId(0) }, now, &mut actions);
        race.handle(Input::Timer, now + ms(1), &mut actions);
        prop_assert!(actions.is_empty());
    }
}
