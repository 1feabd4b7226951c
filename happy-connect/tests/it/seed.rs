//! The seed's guarantees where answer timing and routing make them hard,
//! in network namespaces of the test's own (root; they fail without it):
//!
//! - IPv4 goes before Teredo even when the AAAA answer (Teredo only)
//!   comes first and A comes late;
//! - a host whose native IPv6 default route lives in another table,
//!   chosen by an `ip -6 rule`, is not Teredo-only: AAAA is sent and
//!   native IPv6 is used;
//! - a zoned link-local address connects, as a literal and as a name
//!   from the hosts file, the zone reaching the socket.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, TcpListener};
use std::time::Duration;

use happy_connect::resolve::{RecordType, ResolverOptions, StaticResolver, SystemResolver};
use happy_connect::{AaaaPolicy, AttemptOutcome, ConnectReport, Connector};
use hickory_proto::rr::RecordType as Qtype;
use netns_harness::{HeldTun, Netns};

use crate::dns_server::Zone;

const CLIENT_V4: &str = "198.51.100.2";
const SERVER_V4: &str = "198.51.100.1";
const CLIENT_V6: &str = "2001:db8:64::2";
const SERVER_V6: &str = "2001:db8:64::1";
/// The client's Teredo address, and a Teredo peer's.
const TEREDO: &str = "2001:0:c633:640a:8000:f227:bd6a:13fe";
const TEREDO_PEER: &str = "2001:0:4136:e378:8000:63bf:3fff:fdd2";

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

/// A client and a server namespace joined by a veth pair (`va`, `vb`),
/// both with IPv4; `v6_default` says how the client's native IPv6
/// default route is set up (the server always routes back).
struct Pair {
    client: Netns,
    server: Netns,
}

fn pair(client_v6_default: impl FnOnce(&Netns)) -> Pair {
    let (client, server) = (Netns::new("hcs"), Netns::new("hcs"));
    client.veth("va", &server, "vb");
    for (ns, dev, v4, v6, gw4) in [
        (&client, "va", CLIENT_V4, CLIENT_V6, SERVER_V4),
        (&server, "vb", SERVER_V4, SERVER_V6, CLIENT_V4),
    ] {
        ns.addr(dev, &format!("{v4}/24"));
        ns.addr(dev, &format!("{v6}/64"));
        ns.ip(&["link", "set", dev, "up"]);
        ns.ip(&["route", "add", "default", "via", gw4, "dev", dev]);
    }
    server.ip(&[
        "-6", "route", "add", "default", "via", CLIENT_V6, "dev", "vb",
    ]);
    client_v6_default(&client);
    Pair { client, server }
}

/// Listeners on both of the server's addresses, one port.
fn listen(server: &Netns) -> ((TcpListener, TcpListener), u16) {
    server.run(|| {
        loop {
            let v4 = TcpListener::bind((SERVER_V4, 0)).expect("bind in the server namespace");
            let port = v4.local_addr().unwrap().port();
            if let Ok(v6) = TcpListener::bind((SERVER_V6, port)) {
                break ((v4, v6), port);
            }
        }
    })
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

fn connected(
    result: Result<(tokio::net::TcpStream, ConnectReport), happy_connect::ConnectError>,
) -> ConnectReport {
    let report = result
        .map(|(_, r)| r)
        .unwrap_or_else(|e| panic!("{e}\n{}", e.report()));
    println!("{report}");
    report
}

/// The client holds a Teredo address (a held tun, Miredo's metric) next
/// to native IPv6 and IPv4; a name's AAAA answer holds only a Teredo
/// address and comes at once, its A answer 30 ms later. IPv4 is tried
/// first: the race waits for A, since IPv4 goes before Teredo.
#[test]
fn ipv4_goes_before_teredo_when_the_teredo_answer_comes_first() {
    let pair = pair(|c| {
        c.ip(&[
            "-6", "route", "add", "default", "via", SERVER_V6, "dev", "va",
        ]);
    });
    let _tun: HeldTun = pair.client.teredo_tun("teredo", TEREDO);
    let (_listeners, port) = listen(&pair.server);
    let report = pair.client.run(|| {
        runtime().block_on(async {
            let zone = Zone::new()
                .host(
                    "mixed.test",
                    &[SERVER_V4.parse::<Ipv4Addr>().unwrap()],
                    &[TEREDO_PEER.parse::<Ipv6Addr>().unwrap()],
                )
                .delay(Qtype::A, Duration::from_millis(30));
            let dns = zone.start().await;
            let mut c = Connector::new();
            c.set_resolver(SystemResolver::with_nameservers(
                &[dns.addr()],
                ResolverOptions::default(),
            ))
            .set_aaaa(AaaaPolicy::Always)
            .set_history(None);
            connected(c.connect("mixed.test", port).await)
        })
    });
    let caps = report.capabilities.expect("capabilities");
    assert!(caps.teredo && caps.native_ipv6 && caps.ipv4, "{report}");
    let answered = |rtype: RecordType| {
        report
            .queries
            .iter()
            .find(|q| q.rtype == rtype)
            .and_then(|q| q.elapsed)
            .unwrap_or_else(|| panic!("no {rtype} answer:\n{report}"))
    };
    assert!(
        answered(RecordType::Aaaa) < answered(RecordType::A),
        "{report}"
    );
    assert_eq!(report.attempts[0].address.ip(), ip(SERVER_V4), "{report}");
    assert_eq!(
        report.attempts[0].outcome,
        AttemptOutcome::Connected,
        "{report}"
    );
    assert!(
        report
            .attempts
            .iter()
            .all(|a| a.address.ip() != ip(TEREDO_PEER)),
        "Teredo attempted:\n{report}"
    );
    // The candidates: IPv4, then Teredo last.
    let order: Vec<IpAddr> = report.candidates.iter().map(|c| c.address).collect();
    assert_eq!(order, [ip(SERVER_V4), ip(TEREDO_PEER)], "{report}");
}

/// Native IPv6's default route only in table 100, chosen by an `ip -6
/// rule` (as VPNs and systemd-networkd's `Table=` set it up), and a Teredo
/// interface in the main table: the host is not Teredo-only, AAAA is
/// sent, and the connect goes over native IPv6.
#[test]
fn native_ipv6_behind_a_policy_rule_is_used() {
    let pair = pair(|c| {
        c.ip(&[
            "-6", "route", "add", "default", "via", SERVER_V6, "dev", "va", "table", "100",
        ]);
        c.ip(&["-6", "rule", "add", "lookup", "100", "priority", "100"]);
    });
    let _tun = pair.client.teredo_tun("teredo", TEREDO);
    let (_listeners, port) = listen(&pair.server);
    let report = pair.client.run(|| {
        runtime().block_on(async {
            let mut c = Connector::new();
            c.set_resolver(
                StaticResolver::new().with("dual.test", &[ip(SERVER_V6), ip(SERVER_V4)]),
            )
            .set_history(None);
            // AAAA policy Auto: sent only if the host is not Teredo-only.
            connected(c.connect("dual.test", port).await)
        })
    });
    let caps = report.capabilities.expect("capabilities");
    assert!(caps.native_ipv6 && !caps.teredo_only, "{report}");
    let aaaa = report
        .queries
        .iter()
        .find(|q| q.rtype == RecordType::Aaaa)
        .expect("an AAAA decision");
    assert!(aaaa.sent, "{report}");
    assert_eq!(
        report.winner.expect("connected").address.ip(),
        ip(SERVER_V6),
        "{report}"
    );
}

/// The index of interface `name` in the calling thread's namespace.
fn index_of(name: &str) -> u32 {
    let snapshot = happy_connect::probe::Snapshot::capture().expect("read the namespace");
    snapshot
        .interface_by_name(name)
        .unwrap_or_else(|| panic!("no {name}"))
        .index
}

/// Link-local addresses on the veth pair: the client connects to the
/// server's with its zone, as a literal (`fe80::b%va`) and as a name from
/// a hosts file; no DNS is asked.
#[test]
fn a_zoned_link_local_address_connects() {
    let (client, server) = (Netns::new("hcz"), Netns::new("hcz"));
    client.veth("va", &server, "vb");
    client.addr("va", "fe80::a/64");
    server.addr("vb", "fe80::b/64");
    client.ip(&["link", "set", "va", "up"]);
    server.ip(&["link", "set", "vb", "up"]);
    let (listener, port) = server.run(|| {
        let index = index_of("vb");
        let addr = SocketAddr::V6(std::net::SocketAddrV6::new(
            "fe80::b".parse().unwrap(),
            0,
            0,
            index,
        ));
        let l = TcpListener::bind(addr).expect("bind fe80::b%vb");
        let port = l.local_addr().unwrap().port();
        (l, port)
    });
    let hosts = std::env::temp_dir().join(format!("hc-zoned-hosts-{}", std::process::id()));
    std::fs::write(&hosts, "# a printer on the link\nfe80::b%va printer.test\n").unwrap();
    let (literal, by_name, va_index) = client.run(|| {
        let va_index = index_of("va");
        runtime().block_on(async {
            let mut c = Connector::new();
            // A resolver that knows nothing: any query would fail.
            c.set_resolver(StaticResolver::new()).set_hosts_file(&hosts);
            let literal = c.connect("fe80::b%va", port).await;
            let by_name = c.connect("printer.test", port).await;
            // No IPv6 answer to a name wanted: the zoned entry is not one.
            let mut no_aaaa = c.clone();
            no_aaaa.set_aaaa(AaaaPolicy::Never);
            let err = no_aaaa
                .connect("printer.test", port)
                .await
                .expect_err("only the resolver, which knows nothing, is asked");
            assert!(
                err.report()
                    .queries
                    .iter()
                    .any(|q| q.rtype == RecordType::A && q.sent),
                "{}",
                err.report()
            );
            (connected(literal), connected(by_name), va_index)
        })
    });
    std::fs::remove_file(&hosts).unwrap();
    drop(listener);
    for report in [&literal, &by_name] {
        let winner = report.winner.expect("connected").address;
        let SocketAddr::V6(v6) = winner else {
            panic!("{report}")
        };
        assert_eq!(*v6.ip(), "fe80::b".parse::<Ipv6Addr>().unwrap(), "{report}");
        assert_eq!(
            v6.scope_id(),
            va_index,
            "the zone reached the socket: {report}"
        );
    }
    assert!(literal.queries.is_empty(), "{literal}");
    assert!(
        by_name.queries.iter().all(|q| !q.sent),
        "no DNS for a hosts-file name: {by_name}"
    );
}
