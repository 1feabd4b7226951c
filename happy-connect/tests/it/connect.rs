//! The connector end to end on loopback: the RFC 8305 race against real
//! sockets (refused, listening, blackholed), the queries against the test
//! DNS server, the errors, the blocking API, descriptor hygiene when a
//! connect is cancelled, and (in [`root`]) a blackhole made by nft in a
//! namespace of the test's own.
//!
//! Every test prints its report, so a failing CI log explains itself.

use std::io::{Read, Write};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::{Duration, Instant};

use happy_connect::resolve::{RecordType, ResolverOptions, StaticResolver, SystemResolver};
use happy_connect::{AaaaPolicy, AttemptOutcome, ConnectErrorKind, ConnectReport, Connector};
use hickory_proto::rr::RecordType as Qtype;
use socket2::{Domain, Socket, Type};

use crate::dns_server::{DnsServer, Fault, LoggedQuery, Transport, Zone};

const V4: Ipv4Addr = Ipv4Addr::LOCALHOST;
const V6: Ipv6Addr = Ipv6Addr::LOCALHOST;
pub(crate) const V4_IP: IpAddr = IpAddr::V4(V4);
pub(crate) const V6_IP: IpAddr = IpAddr::V6(V6);

/// What a port is on one family's loopback address.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Mode {
    /// A listener with a roomy backlog that is never accepted from: the
    /// kernel completes handshakes on its own, so connects succeed.
    Listen,
    /// Bound but not listening: a connect is refused (RST), and nobody
    /// else can listen there while the test runs.
    Refuse,
    /// A listener with backlog 1 whose accept queue is filled and never
    /// accepted from: the kernel drops further SYNs, so connects hang.
    Blackhole,
}

/// Sockets held for the length of a test: listeners, reservations and
/// the connections filling a blackhole's accept queue.
pub(crate) struct Ports {
    pub(crate) port: u16,
    sockets: Vec<Socket>,
}

impl Ports {
    /// One port on both `127.0.0.1` and `::1`, each in its mode.
    pub(crate) fn new(v4: Mode, v6: Mode) -> Self {
        for _ in 0..100 {
            let first = bind(SocketAddr::new(V4_IP, 0)).expect("bind 127.0.0.1:0");
            let port = first
                .local_addr()
                .expect("bound")
                .as_socket()
                .expect("inet")
                .port();
            // The port may be taken on ::1; then try another.
            let Ok(second) = bind(SocketAddr::new(V6_IP, port)) else {
                continue;
            };
            let mut sockets = Vec::new();
            for (socket, mode, ip) in [(first, v4, V4_IP), (second, v6, V6_IP)] {
                match mode {
                    Mode::Listen => socket.listen(128).expect("listen"),
                    Mode::Refuse => {}
                    Mode::Blackhole => socket.listen(1).expect("listen"),
                }
                sockets.push(socket);
                if mode == Mode::Blackhole {
                    sockets.extend(fill(SocketAddr::new(ip, port)));
                }
            }
            return Self { port, sockets };
        }
        panic!("no port free on both 127.0.0.1 and ::1");
    }

    /// How many descriptors this holds.
    fn len(&self) -> usize {
        self.sockets.len()
    }
}

fn bind(addr: SocketAddr) -> std::io::Result<Socket> {
    let socket = Socket::new(Domain::for_address(addr), Type::STREAM, None)?;
    if addr.is_ipv6() {
        socket.set_only_v6(true)?;
    }
    socket.bind(&addr.into())?;
    Ok(socket)
}

/// Fills the accept queue of the listener at `addr` until a connect hangs,
/// and returns the connections that got in. Panics if the kernel never
/// starts dropping SYNs (then loopback cannot blackhole here).
fn fill(addr: SocketAddr) -> Vec<Socket> {
    let mut fillers = Vec::new();
    for _ in 0..16 {
        let socket = Socket::new(Domain::for_address(addr), Type::STREAM, None).expect("socket");
        match socket.connect_timeout(&addr.into(), Duration::from_millis(200)) {
            Ok(()) => fillers.push(socket),
            Err(e) if e.kind() == std::io::ErrorKind::TimedOut => {
                assert!(!fillers.is_empty(), "the first connect to {addr} hung");
                return fillers;
            }
            Err(e) => panic!("filling the accept queue of {addr}: {e}"),
        }
    }
    panic!(
        "{} connects to the backlog-1 listener at {addr} all completed: \
         this kernel does not drop SYNs on a full accept queue",
        fillers.len()
    );
}

/// A connector with a static table `name` → `addrs` and AAAA always asked.
pub(crate) fn connector(name: &str, addrs: &[IpAddr]) -> Connector {
    connector_with(StaticResolver::new().with(name, addrs))
}

fn connector_with(resolver: StaticResolver) -> Connector {
    let mut c = Connector::new();
    c.set_resolver(resolver).set_aaaa(AaaaPolicy::Always);
    c
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn query(report: &ConnectReport, rtype: RecordType) -> &happy_connect::QueryReport {
    report
        .queries
        .iter()
        .find(|q| q.rtype == rtype)
        .unwrap_or_else(|| panic!("no {rtype} query in the report:\n{report}"))
}

pub(crate) fn winner_ip(report: &ConnectReport) -> IpAddr {
    report
        .winner
        .unwrap_or_else(|| panic!("no winner:\n{report}"))
        .address
        .ip()
}

// ---------------------------------------------------------------- loopback

#[tokio::test]
async fn refused_ipv6_falls_back_to_ipv4_at_once() {
    let ports = Ports::new(Mode::Listen, Mode::Refuse);
    let c = connector("dual.test", &[V6_IP, V4_IP]);
    let (stream, report) = c.connect("dual.test", ports.port).await.unwrap();
    println!("{report}");
    assert_eq!(
        stream.peer_addr().unwrap(),
        SocketAddr::new(V4_IP, ports.port)
    );
    assert_eq!(winner_ip(&report), V4_IP);
    assert_eq!(report.attempts.len(), 2, "{report}");
    let (first, second) = (&report.attempts[0], &report.attempts[1]);
    // RFC 6724: ::1 (precedence 50) before 127.0.0.1 (35, as ::ffff:0:0/96).
    assert_eq!(first.address.ip(), V6_IP, "{report}");
    assert_eq!(first.outcome, AttemptOutcome::Refused, "{report}");
    assert_eq!(second.address.ip(), V4_IP, "{report}");
    assert_eq!(second.outcome, AttemptOutcome::Connected, "{report}");
    // The refusal started the next attempt, not the 250 ms delay.
    let refused_at = first.end.expect("the refused attempt ended");
    assert!(second.start >= refused_at, "{report}");
    assert!(
        second.start < Duration::from_millis(100),
        "attempt 2 started at {:.1} ms, not at once after the refusal:\n{report}",
        ms(second.start)
    );
}

#[tokio::test]
async fn ipv6_listener_connects_with_one_attempt() {
    let ports = Ports::new(Mode::Refuse, Mode::Listen);
    let c = connector("dual.test", &[V6_IP, V4_IP]);
    let (stream, report) = c.connect("dual.test", ports.port).await.unwrap();
    println!("{report}");
    assert_eq!(
        stream.peer_addr().unwrap(),
        SocketAddr::new(V6_IP, ports.port)
    );
    assert_eq!(winner_ip(&report), V6_IP);
    assert_eq!(report.attempts.len(), 1, "{report}");
    assert_eq!(report.attempts[0].outcome, AttemptOutcome::Connected);
}

#[tokio::test]
async fn literal_addresses_send_no_queries() {
    let ports = Ports::new(Mode::Listen, Mode::Listen);
    // A resolver that knows nothing: a query would fail the connect.
    let c = connector_with(StaticResolver::new());
    for (host, ip) in [("127.0.0.1", V4_IP), ("::1", V6_IP), ("[::1]", V6_IP)] {
        let (stream, report) = c.connect(host, ports.port).await.unwrap();
        println!("{report}");
        assert!(report.queries.is_empty(), "{host}: {report}");
        assert_eq!(stream.peer_addr().unwrap(), SocketAddr::new(ip, ports.port));
        assert_eq!(report.attempts.len(), 1, "{report}");
        assert_eq!(winner_ip(&report), ip);
    }
}

/// The report's local address is the connection's, by name and by
/// literal, bound or not, though it is mostly known without asking the
/// socket.
#[tokio::test]
async fn the_winner_source_is_the_local_address() {
    let ports = Ports::new(Mode::Listen, Mode::Listen);
    let mut bound = connector("dual.test", &[V6_IP, V4_IP]);
    bound.set_local_v4(Some(Ipv4Addr::new(127, 0, 0, 2)));
    for c in [connector("dual.test", &[V6_IP, V4_IP]), bound] {
        for host in ["dual.test", "127.0.0.1", "::1"] {
            let (stream, report) = c.connect(host, ports.port).await.unwrap();
            let local = stream.local_addr().unwrap().ip();
            let winner = report
                .winner
                .unwrap_or_else(|| panic!("no winner:\n{report}"));
            assert_eq!(winner.source, Some(local), "{host}: {report}");
        }
    }
}

// ------------------------------------------------------------- DNS server

/// A server for `dual.test` (127.0.0.1 and ::1).
async fn dns(zone: Zone) -> DnsServer {
    zone.host("dual.test", &[V4], &[V6]).start().await
}

/// A resolver asking only `server`, without a cache so that every lookup
/// shows in the log.
fn dns_connector(server: &DnsServer) -> Connector {
    let mut c = Connector::new();
    c.set_resolver(SystemResolver::with_nameservers(
        &[server.addr()],
        ResolverOptions::default()
            .with_attempts(1)
            .with_cache(false),
    ))
    .set_aaaa(AaaaPolicy::Always);
    c
}

fn udp(qtype: Qtype) -> LoggedQuery {
    LoggedQuery {
        name: "dual.test".to_owned(),
        qtype,
        transport: Transport::Udp,
    }
}

#[tokio::test]
async fn aaaa_within_resolution_delay_goes_first() {
    let ports = Ports::new(Mode::Listen, Mode::Listen);
    let server = dns(Zone::new().delay(Qtype::AAAA, Duration::from_millis(20))).await;
    let c = dns_connector(&server);
    let (_stream, report) = c.connect("dual.test", ports.port).await.unwrap();
    println!("{report}");
    let aaaa = query(&report, RecordType::Aaaa);
    let aaaa_at = aaaa.elapsed.expect("AAAA answered");
    assert_eq!(aaaa.answers, [V6_IP], "{report}");
    let first = &report.attempts[0];
    assert_eq!(first.address.ip(), V6_IP, "{report}");
    assert!(first.start >= aaaa_at, "{report}");
    assert_eq!(winner_ip(&report), V6_IP);
    assert_eq!(server.count("dual.test", Qtype::A), 1);
    assert_eq!(server.count("dual.test", Qtype::AAAA), 1);
}

#[tokio::test]
async fn late_aaaa_does_not_hold_back_ipv4() {
    let ports = Ports::new(Mode::Listen, Mode::Listen);
    let server = dns(Zone::new().delay(Qtype::AAAA, Duration::from_millis(400))).await;
    let c = dns_connector(&server);
    let (_stream, report) = c.connect("dual.test", ports.port).await.unwrap();
    println!("{report}");
    let a_at = query(&report, RecordType::A).elapsed.expect("A answered");
    let first = &report.attempts[0];
    assert_eq!(first.address.ip(), V4_IP, "{report}");
    // The Resolution Delay (50 ms) after the A answer, with room for a
    // busy machine.
    let after = first.start.saturating_sub(a_at);
    assert!(
        (Duration::from_millis(40)..Duration::from_millis(200)).contains(&after),
        "IPv4 started {:.1} ms after the A answer:\n{report}",
        ms(after)
    );
    assert_eq!(winner_ip(&report), V4_IP);
    // Connected, and done, before the AAAA answer came.
    assert_eq!(query(&report, RecordType::Aaaa).elapsed, None, "{report}");
    assert!(report.total < Duration::from_millis(400), "{report}");
    assert_eq!(server.count("dual.test", Qtype::AAAA), 1);
}

#[tokio::test]
async fn lost_aaaa_still_connects_over_ipv4() {
    let ports = Ports::new(Mode::Listen, Mode::Listen);
    let server = dns(Zone::new().fault(Qtype::AAAA, Fault::Drop)).await;
    let mut c = dns_connector(&server);
    c.race_mut().total_timeout = Duration::from_secs(2);
    let (_stream, report) = c.connect("dual.test", ports.port).await.unwrap();
    println!("{report}");
    assert_eq!(winner_ip(&report), V4_IP);
    assert_eq!(report.attempts.len(), 1, "{report}");
    assert_eq!(query(&report, RecordType::Aaaa).elapsed, None, "{report}");
    assert!(report.total < Duration::from_secs(1), "{report}");
    assert_eq!(server.count("dual.test", Qtype::AAAA), 1);
}

#[tokio::test]
async fn aaaa_policy_never_asks_only_a_but_lookup_aaaa_asks() {
    let ports = Ports::new(Mode::Listen, Mode::Listen);
    let server = dns(Zone::new()).await;
    let mut c = dns_connector(&server);
    c.set_aaaa(AaaaPolicy::Never);
    let (_stream, report) = c.connect("dual.test", ports.port).await.unwrap();
    println!("{report}");
    assert_eq!(server.queries(), [udp(Qtype::A)]);
    assert!(!query(&report, RecordType::Aaaa).sent, "{report}");
    assert_eq!(winner_ip(&report), V4_IP);

    // The explicit lookup asks whatever the policy.
    server.clear_log();
    let aaaa = c.lookup_aaaa("dual.test").await.unwrap();
    assert_eq!(aaaa, [V6_IP]);
    assert_eq!(server.queries(), [udp(Qtype::AAAA)]);
}

// ----------------------------------------------------------------- errors

#[tokio::test]
async fn all_refused_reports_every_attempt() {
    let ports = Ports::new(Mode::Refuse, Mode::Refuse);
    let c = connector("dual.test", &[V6_IP, V4_IP]);
    let err = c.connect("dual.test", ports.port).await.unwrap_err();
    println!("{}\n{err}", err.report());
    assert_eq!(err.kind(), ConnectErrorKind::AllAttemptsFailed, "{err}");
    let report = err.report();
    assert_eq!(report.attempts.len(), 2, "{report}");
    assert!(
        report
            .attempts
            .iter()
            .all(|a| a.outcome == AttemptOutcome::Refused),
        "{report}"
    );
    assert!(report.winner.is_none());
    let text = err.to_string();
    for addr in [
        SocketAddr::new(V4_IP, ports.port),
        SocketAddr::new(V6_IP, ports.port),
    ] {
        assert!(text.contains(&addr.to_string()), "{addr} not in: {text}");
    }
    let io: std::io::Error = err.into();
    assert_eq!(io.kind(), std::io::ErrorKind::ConnectionRefused);
}

#[tokio::test]
async fn nxdomain_is_no_addresses_with_the_query_errors() {
    // From a static table...
    let c = connector_with(StaticResolver::new());
    let err = c.connect("nope.test", 80).await.unwrap_err();
    println!("{}\n{err}", err.report());
    assert_eq!(err.kind(), ConnectErrorKind::NoAddresses, "{err}");
    for rtype in [RecordType::A, RecordType::Aaaa] {
        let q = query(err.report(), rtype);
        let text = q
            .error
            .as_ref()
            .map(ToString::to_string)
            .unwrap_or_default();
        assert!(
            text.contains("nope.test") && text.contains("nxdomain"),
            "{rtype}: {text:?}"
        );
    }
    assert!(err.report().attempts.is_empty());

    // ...and from a real server.
    let server = dns(Zone::new()).await;
    let err = dns_connector(&server)
        .connect("nope.test", 80)
        .await
        .unwrap_err();
    println!("{}\n{err}", err.report());
    assert_eq!(err.kind(), ConnectErrorKind::NoAddresses, "{err}");
    for rtype in [RecordType::A, RecordType::Aaaa] {
        let q = query(err.report(), rtype);
        let text = q
            .error
            .as_ref()
            .map(ToString::to_string)
            .unwrap_or_default();
        assert!(
            text.contains("nope.test") && text.contains("nxdomain"),
            "{rtype}: {text:?}"
        );
    }
    assert!(err.to_string().contains("no addresses"), "{err}");
}

// --------------------------------------------------------------- blocking

/// A server on 127.0.0.1 that greets one client and closes.
fn greeter() -> (u16, std::thread::JoinHandle<()>) {
    let listener = std::net::TcpListener::bind((V4, 0)).unwrap();
    let port = listener.local_addr().unwrap().port();
    let handle = std::thread::spawn(move || {
        let (mut stream, _) = listener.accept().unwrap();
        stream.write_all(b"hello from the server\n").unwrap();
    });
    (port, handle)
}

fn blocking_round_trip() {
    let (port, server) = greeter();
    let c = connector("blocking.test", &[V4_IP]);
    let (mut stream, report) =
        happy_connect::blocking::connect_with(&c, "blocking.test", port).unwrap();
    println!("{report}");
    stream
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    let mut text = String::new();
    stream.read_to_string(&mut text).unwrap();
    assert_eq!(text, "hello from the server\n");
    server.join().unwrap();
}

#[test]
fn blocking_connect_reads_what_the_server_sent() {
    blocking_round_trip();
}

/// A connect's future may be made before entering the runtime that runs
/// it: nothing in it needs the runtime until it is polled, on the fast
/// path (an address, a name answered at once) as on the general one.
#[test]
fn a_connect_made_outside_the_runtime_runs_inside_it() {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    let ports = Ports::new(Mode::Listen, Mode::Refuse);
    let c = connector("one.test", &[V4_IP]);
    // Warm: the host view and the source of 127.0.0.1.
    rt.block_on(c.connect("one.test", ports.port))
        .expect("connect");
    for host in ["127.0.0.1", "one.test", "[::1]"] {
        let connect = c.connect(host, ports.port);
        match rt.block_on(connect) {
            Ok((_, report)) => assert_eq!(winner_ip(&report), V4_IP, "{report}"),
            // ::1 is refused here; what matters is that it ran.
            Err(err) => assert_eq!(err.kind(), ConnectErrorKind::AllAttemptsFailed, "{err}"),
        }
    }
}

/// A connect's future made while one runtime is entered (not in one of
/// its tasks) and run by another works: its lookups start on the runtime
/// that polls it, not on the one entered when it was made, which here
/// never runs and would leave them unanswered.
#[test]
fn a_connect_made_under_one_runtime_runs_on_another() {
    let build = || {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a runtime")
    };
    let (entered, runs) = (build(), build());
    let ports = Ports::new(Mode::Listen, Mode::Refuse);
    let mut c = connector_with(
        StaticResolver::new()
            .with("one.test", &[V4_IP])
            .with_delay(RecordType::A, Duration::from_millis(5))
            .with_delay(RecordType::Aaaa, Duration::from_millis(5)),
    );
    c.race_mut().total_timeout = Duration::from_secs(2);
    // Warm: the host view and the source of 127.0.0.1.
    runs.block_on(c.connect("one.test", ports.port))
        .expect("connect");
    let connect = {
        let _entered = entered.enter();
        c.connect("one.test", ports.port)
    };
    let (_, report) = runs.block_on(connect).expect("connect");
    assert_eq!(winner_ip(&report), V4_IP, "{report}");
}

/// A total timeout of zero leaves no time for anything: whether the
/// connect would have taken the fast path (an IP address, a name answered
/// at once with one address) or raced (two addresses), nothing is sent,
/// no attempt starts and the connect times out.
#[tokio::test]
async fn no_time_at_all_times_out_whatever_the_host() {
    let ports = Ports::new(Mode::Listen, Mode::Listen);
    let mut c = Connector::new();
    c.set_resolver(
        StaticResolver::new()
            .with("one.test", &[V4_IP])
            .with("two.test", &[V4_IP, V6_IP]),
    );
    // Warm: the host view and the sources, so that the fast path would
    // apply.
    for host in ["one.test", "two.test"] {
        c.connect(host, ports.port).await.expect("connect");
    }
    c.race_mut().total_timeout = Duration::ZERO;
    for host in ["127.0.0.1", "one.test", "two.test"] {
        let err = c
            .connect(host, ports.port)
            .await
            .expect_err("no time to connect");
        let report = err.report();
        assert_eq!(err.kind(), ConnectErrorKind::TimedOut, "{host}: {err}");
        assert!(
            err.to_string().contains("the total timeout is zero"),
            "{err}"
        );
        assert!(report.queries.is_empty(), "{report}");
        assert!(report.attempts.is_empty(), "{report}");
    }
}

#[tokio::test]
async fn blocking_connect_works_inside_a_runtime_too() {
    blocking_round_trip();
}

// ------------------------------------------------------------ descriptors

/// The child test's name, and the variable that tells it to run.
const LEAK_CHILD: &str = "connect::cancelled_connects_leak_child";
const LEAK_ENV: &str = "HAPPY_CONNECT_LEAK_CHILD";

fn open_fds() -> usize {
    // The directory's own descriptor is counted every time alike.
    std::fs::read_dir("/proc/self/fd")
        .expect("read /proc/self/fd")
        .count()
}

/// Runs [`cancelled_connects_leak_child`] in a process of its own: the
/// other tests of this binary open and close descriptors all the time,
/// so a count of the whole process's is only meaningful alone.
#[test]
fn cancelled_connects_leak_no_descriptors() {
    let exe = std::env::current_exe().unwrap();
    let out = std::process::Command::new(exe)
        .args([LEAK_CHILD, "--exact", "--include-ignored", "--nocapture"])
        .env(LEAK_ENV, "1")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    println!("{stdout}{stderr}");
    assert!(out.status.success(), "the child failed: {}", out.status);
    assert!(
        stdout.contains("1 passed"),
        "the child test did not run: {stdout}"
    );
}

#[tokio::test]
#[ignore = "run by cancelled_connects_leak_no_descriptors in a process of its own"]
async fn cancelled_connects_leak_child() {
    if std::env::var_os(LEAK_ENV).is_none() {
        println!("not in a process of its own: see cancelled_connects_leak_no_descriptors");
        return;
    }
    const CONNECTS: usize = 1000;
    // The shared host view keeps its sockets for the life of the process:
    // start it (and its lookup socket) before counting.
    let view = happy_connect::probe::HostView::shared();
    view.wait_ready(Duration::from_secs(5))
        .expect("the host view");
    view.sources_blocking(&[happy_connect::probe::Dest::from(V4_IP)])
        .expect("a source lookup");
    let before = open_fds();

    // Port p: ::1 refuses, 127.0.0.1 hangs. Port q: ::1 hangs.
    let p = Ports::new(Mode::Blackhole, Mode::Refuse);
    let q = Ports::new(Mode::Refuse, Mode::Blackhole);
    let held = p.len() + q.len();
    let server = dns(Zone::new().fault(Qtype::AAAA, Fault::Drop)).await;
    let dual = [V6_IP, V4_IP];
    let table = || StaticResolver::new().with("dual.test", &dual);
    // Cancelled at 5 ms in different phases of the race.
    let cases: [(&str, Connector, u16); 5] = [
        // ::1 refused, then 127.0.0.1 in flight.
        ("refused then hanging", connector_with(table()), p.port),
        // ::1 in flight (the next attempt would wait 250 ms).
        ("hanging", connector_with(table()), q.port),
        // AAAA at 2 ms, then ::1 refused and 127.0.0.1 in flight.
        (
            "late AAAA",
            connector_with(table().with_delay(RecordType::Aaaa, Duration::from_millis(2))),
            p.port,
        ),
        // Still in the Resolution Delay.
        (
            "resolution delay",
            connector_with(table().with_delay(RecordType::Aaaa, Duration::from_millis(30))),
            p.port,
        ),
        // A real DNS query in flight (AAAA never answered).
        ("dns", dns_connector(&server), p.port),
    ];
    let mut connected = 0;
    let mut peak = 0;
    let started = Instant::now();
    for i in 0..CONNECTS {
        let (_, c, port) = &cases[i % cases.len()];
        let r = tokio::time::timeout(Duration::from_millis(5), c.connect("dual.test", *port)).await;
        match r {
            Err(_elapsed) => {}
            Ok(Ok(_)) => connected += 1,
            Ok(Err(err)) => panic!("connect {i} failed instead of hanging: {err}"),
        }
        if i % 50 == 0 {
            peak = peak.max(open_fds());
        }
    }
    let took = started.elapsed();
    assert_eq!(connected, 0, "a blackholed connect completed");
    let dns_queries = server.queries().len();

    // Close what the test itself opened, then let the runtime drop the
    // aborted tasks it has not polled since.
    drop(cases);
    drop(server);
    drop((p, q));
    let at_once = open_fds();
    let mut after = at_once;
    for _ in 0..100 {
        if after <= before {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
        after = open_fds();
    }
    println!(
        "descriptors: {before} before, peak {peak} during ({held} of them the test's \
         listeners and fillers), {after} after {CONNECTS} cancelled connects in {:.0} ms \
         ({at_once} at once after closing them; {dns_queries} DNS queries)",
        ms(took)
    );
    if after > before {
        let links: Vec<String> = std::fs::read_dir("/proc/self/fd")
            .unwrap()
            .filter_map(Result::ok)
            .map(|e| {
                let target = std::fs::read_link(e.path()).unwrap_or_default();
                format!(
                    "{} -> {}",
                    e.file_name().to_string_lossy(),
                    target.display()
                )
            })
            .collect();
        panic!("{} descriptors leaked: {links:#?}", after - before);
    }
}

// ------------------------------------------------------------------- root

/// Tests that need root: a blackhole made by an nft rule in a network
/// namespace the test creates. Without root they fail, never skip.
mod root {
    use std::net::{SocketAddr, TcpListener};
    use std::time::Duration;

    use happy_connect::{AttemptOutcome, ConnectReport, Connector, Strategy};

    use super::{V4_IP, V6_IP, connector, winner_ip};
    use netns_harness::Netns;

    /// A namespace with listeners on 127.0.0.1 and ::1 (same port) and an
    /// nft rule dropping TCP to the ::1 one; runs `setup` on a connector
    /// for `dual.test` → [::1, 127.0.0.1] and connects from inside.
    fn blackholed_ipv6(setup: impl FnOnce(&mut Connector) + Send) -> ConnectReport {
        let ns = Netns::new("hc");
        let (peer, report) = ns.run(|| {
            let (listeners, port) = loop {
                let v4 = TcpListener::bind((V4_IP, 0)).expect("bind 127.0.0.1 in the namespace");
                let port = v4.local_addr().unwrap().port();
                if let Ok(v6) = TcpListener::bind((V6_IP, port)) {
                    break ((v4, v6), port);
                }
            };
            ns.nft(&["add", "table", "inet", "T"]);
            ns.nft(&[
                "add",
                "chain",
                "inet",
                "T",
                "out",
                "{ type filter hook output priority 0; }",
            ]);
            ns.nft(&[
                "add",
                "rule",
                "inet",
                "T",
                "out",
                "ip6",
                "daddr",
                "::1",
                "tcp",
                "dport",
                &port.to_string(),
                "drop",
            ]);
            let mut c = connector("dual.test", &[V6_IP, V4_IP]);
            setup(&mut c);
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            let result = runtime.block_on(async {
                let (stream, report) = c.connect("dual.test", port).await?;
                Ok::<_, happy_connect::ConnectError>((stream.peer_addr().ok(), report))
            });
            drop(listeners);
            result.unwrap_or_else(|err| {
                panic!(
                    "{err}\n{}\nruleset in {}:\n{}",
                    err.report(),
                    ns.name(),
                    ns.ruleset()
                )
            })
        });
        println!("{report}");
        assert_eq!(peer, Some(SocketAddr::new(V4_IP, report.port)), "{report}");
        report
    }

    #[test]
    fn race_beats_a_blackholed_ipv6_within_the_attempt_delay() {
        let report = blackholed_ipv6(|_| {});
        assert_eq!(winner_ip(&report), V4_IP, "{report}");
        // Real time is what this checks (a blackhole costs the attempt
        // delay, not the kernel's two minutes): 250 ms, and a margin a busy
        // two-core machine has not used up.
        assert!(
            report.total < Duration::from_millis(600),
            "not within the attempt delay + 350 ms:\n{report}"
        );
        assert_eq!(report.attempts.len(), 2, "{report}");
        let (v6, v4) = (&report.attempts[0], &report.attempts[1]);
        assert_eq!(v6.address.ip(), V6_IP, "{report}");
        assert_eq!(v6.outcome, AttemptOutcome::Cancelled, "{report}");
        assert_eq!(v4.outcome, AttemptOutcome::Connected, "{report}");
        // IPv4 waited for the Connection Attempt Delay, not for a failure.
        assert!(v4.start >= Duration::from_millis(240), "{report}");
    }

    #[test]
    fn sequential_waits_out_the_attempt_timeout() {
        let report = blackholed_ipv6(|c| {
            c.race_mut().strategy = Strategy::Sequential;
            c.race_mut().attempt_timeout = Duration::from_secs(1);
        });
        assert_eq!(winner_ip(&report), V4_IP, "{report}");
        assert!(report.total >= Duration::from_secs(1), "{report}");
        assert!(report.total < Duration::from_secs(3), "{report}");
        assert_eq!(report.attempts.len(), 2, "{report}");
        assert_eq!(report.attempts[0].address.ip(), V6_IP, "{report}");
        assert_eq!(
            report.attempts[0].outcome,
            AttemptOutcome::TimedOut,
            "{report}"
        );
        assert!(
            report.attempts[1].start >= Duration::from_secs(1),
            "{report}"
        );
    }
}
