//! The NAT64 part of the lab: an IPv6-only client (`n64_client`) behind
//! tayga with the network-specific prefix `2001:db8:64::/96`, unbound as
//! its DNS64 server, dnsmasq as a server that does not synthesize, a
//! router that announces the prefix in PREF64 options, and an IPv4-only
//! server (`n64_server`). Named `nat64_lab_scenarios` so that `cargo xtask
//! test` leaves these to `cargo xtask lab test` with the others.
//!
//! Each test makes its own host view in the client's namespace where the
//! state of the view matters (heard the router or not), and restores what
//! it changes (the dnsmasq hosts file, the router's prefix).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::{Duration, Instant};

use happy_connect::nat64::{Nat64Prefix, Nat64Report, PrefixSource};
use happy_connect::probe::{Change, HostView};
use happy_connect::resolve::{
    LookupFuture, RecordType, Resolve, ResolveError, ResolverOptions, SystemResolver,
};
use happy_connect::{ConnectReport, Connector};
use netns_harness::ra::{RouterAdvertiser, pref64_option};
use serde_json::Value;

use crate::support::{Lab, Listener, block_in, in_netns, show};

const PREFIX: &str = "2001:db8:64::/96";

fn prefix() -> Nat64Prefix {
    PREFIX.parse().unwrap()
}

/// The IPv4-only server's address, and what it is under the prefix.
fn server(lab: &Lab) -> (Ipv4Addr, IpAddr) {
    let IpAddr::V4(v4) = lab.addr("n64_server_v4") else {
        panic!("the server's address is IPv4");
    };
    (v4, IpAddr::V6(prefix().embed(v4)))
}

/// Whether `peer` is an address of tayga's IPv4 pool: the connection
/// really went through the translator.
fn from_tayga(peer: IpAddr) -> bool {
    matches!(peer, IpAddr::V4(v4) if v4.octets()[..3] == [192, 168, 255])
}

/// A resolver that asks exactly `server` (no cache: the tests count
/// queries in the servers' logs).
fn resolver(server: IpAddr) -> SystemResolver {
    SystemResolver::with_nameservers(
        &[SocketAddr::new(server, 53)],
        ResolverOptions::default()
            .with_timeout(Duration::from_secs(2))
            .with_cache(false),
    )
}

/// A connector that resolves through unbound, the DNS64 server.
fn through_dns64(lab: &Lab) -> Connector {
    let mut c = Connector::new();
    c.set_resolver(resolver(lab.addr("n64_dns64")));
    c
}

/// A connector that resolves through dnsmasq, which does not synthesize.
fn through_plain_dns(lab: &Lab) -> Connector {
    let mut c = Connector::new();
    c.set_resolver(resolver(lab.addr("n64_dnsmasq")));
    c
}

/// Asks for AAAA through `inner` and says there is no A record: the only
/// addresses are the DNS64 server's.
struct AaaaOnly(SystemResolver);

impl Resolve for AaaaOnly {
    fn lookup(&self, name: &str, rtype: RecordType) -> LookupFuture {
        match rtype {
            RecordType::Aaaa => self.0.lookup(name, rtype),
            RecordType::A => {
                let err = ResolveError::NoRecords {
                    name: name.to_owned(),
                    rtype,
                };
                LookupFuture::ready(Err(err))
            }
        }
    }
}

/// A host view of its own for `connector`, made in the client's
/// namespace; with `hear_router`, it asks the routers and waits for the
/// PREF64 prefix.
fn own_view(connector: &mut Connector, hear_router: bool) -> HostView {
    let view = HostView::new();
    view.wait_ready(Duration::from_secs(5)).expect("view ready");
    if hear_router {
        let sent = view.solicit_routers().expect("a router solicitation");
        assert_eq!(sent, 1, "one interface to solicit on");
        let deadline = Instant::now() + Duration::from_secs(5);
        while view.snapshot().is_none_or(|s| s.pref64.is_empty()) {
            assert!(
                Instant::now() < deadline,
                "the router did not answer with PREF64"
            );
            std::thread::sleep(Duration::from_millis(5));
        }
    }
    connector.set_host_view(view.clone());
    view
}

/// How many `query[TYPE] NAME` lines the NAT64 dnsmasq has logged.
fn dnsmasq_queries(lab: &Lab, rtype: &str, name: &str) -> usize {
    std::thread::sleep(Duration::from_millis(50));
    let path = &nat64(lab).dnsmasq_log;
    let log = std::fs::read_to_string(path).expect("dnsmasq log");
    let needle = format!("query[{rtype}] {name} ");
    log.lines().filter(|l| l.contains(&needle)).count()
}

fn winner(report: &ConnectReport) -> IpAddr {
    report.winner.expect("a winner").address.ip()
}

async fn connect(c: &Connector, host: &str, port: u16) -> ConnectReport {
    match c.connect(host, port).await {
        Ok((_, report)) => report,
        Err(err) => panic!("connect {host}: {err}\n{}", err.report()),
    }
}

/// 1. An IPv4 literal connects through NAT64: synthesized under the
///    prefix, translated by tayga (the server sees tayga's pool), and the
///    report and the CLI's JSON say which IPv4 address it stands for.
#[test]
fn n64_1_ipv4_literal_connects_through_nat64() {
    let lab = Lab::load();
    let (v4, synthesized) = server(&lab);
    let listener = Listener::start(&lab.ns("n64_server"), "0.0.0.0:0".parse().unwrap());
    let port = listener.port;
    let mut c = through_dns64(&lab);
    let report = block_in(&lab.ns("n64_client"), move || async move {
        let _view = own_view(&mut c, false);
        connect(&c, &v4.to_string(), port).await
    });
    show("n64_client connects to the IPv4 literal", &report);
    assert_eq!(winner(&report), synthesized);
    let candidate = &report.candidates[0];
    assert_eq!(candidate.class, "nat64");
    assert_eq!(candidate.nat64, Some(v4));
    assert!(candidate.synthesized);
    let nat64 = report.nat64.as_ref().expect("the report's NAT64 part");
    assert_eq!(nat64.synthesis, Some(prefix()));
    let peers = listener.accepted(1);
    assert!(from_tayga(peers[0].0.ip()), "the server saw {peers:?}");

    // The command-line tool, with the namespace's resolv.conf (unbound).
    let out = lab.cli(
        "n64_client",
        &[
            "connect",
            &v4.to_string(),
            &port.to_string(),
            "-z",
            "--json",
        ],
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    println!("happy-connect connect {v4} {port} -z --json:\n{stderr}");
    assert!(out.status.success(), "{stderr}");
    let json: Value = serde_json::from_str(stderr.trim()).expect("JSON report");
    assert_eq!(json["candidates"][0]["nat64"], v4.to_string());
    assert_eq!(json["candidates"][0]["synthesized"], true);
    assert_eq!(json["nat64"]["synthesis"], PREFIX);
}

/// 2. An A-only name resolved through dnsmasq, which does not synthesize:
///    no AAAA answer, and the host synthesizes the A answer itself with
///    the prefix its router announced (no ipv4only.arpa query).
#[test]
fn n64_2_a_only_name_through_plain_dns_is_synthesized_locally() {
    let lab = Lab::load();
    let (v4, synthesized) = server(&lab);
    let listener = Listener::start(&lab.ns("n64_server"), "0.0.0.0:0".parse().unwrap());
    let port = listener.port;
    let discovery_before = dnsmasq_queries(&lab, "AAAA", "ipv4only.arpa");
    let mut c = through_plain_dns(&lab);
    let report = block_in(&lab.ns("n64_client"), move || async move {
        let _view = own_view(&mut c, true);
        connect(&c, "v4only.nat64.lab", port).await
    });
    show("v4only.nat64.lab through dnsmasq", &report);
    let aaaa = report
        .queries
        .iter()
        .find(|q| q.rtype == RecordType::Aaaa)
        .unwrap();
    assert!(aaaa.answers.is_empty(), "dnsmasq does not synthesize");
    assert_eq!(winner(&report), synthesized);
    assert_eq!(report.candidates.len(), 1);
    assert_eq!(report.candidates[0].nat64, Some(v4));
    assert!(report.candidates[0].synthesized);
    let nat64 = report.nat64.as_ref().unwrap();
    assert!(matches!(
        nat64.prefixes[0].source,
        PrefixSource::RouterAdvertisement { .. }
    ));
    assert!(from_tayga(listener.accepted(1)[0].0.ip()));
    assert_eq!(
        dnsmasq_queries(&lab, "AAAA", "ipv4only.arpa"),
        discovery_before,
        "the router said: no discovery query"
    );
}

/// 3. A name whose AAAA record the DNS64 server made up is de-synthesized:
///    marked NAT64 with the IPv4 address it stands for, not made here;
///    with the A answer too, the two are one candidate.
#[test]
fn n64_3_dns64_answer_is_desynthesized() {
    let lab = Lab::load();
    let (v4, synthesized) = server(&lab);
    let listener = Listener::start(&lab.ns("n64_server"), "0.0.0.0:0".parse().unwrap());
    let port = listener.port;
    let dns64 = lab.addr("n64_dns64");
    let mut aaaa_only = Connector::new();
    aaaa_only.set_resolver(AaaaOnly(resolver(dns64)));
    let mut both = through_dns64(&lab);
    let (alone, together) = block_in(&lab.ns("n64_client"), move || async move {
        let _view = own_view(&mut aaaa_only, true);
        let _view2 = own_view(&mut both, true);
        (
            connect(&aaaa_only, "v4only.nat64.lab", port).await,
            connect(&both, "v4only.nat64.lab", port).await,
        )
    });
    show("v4only.nat64.lab, AAAA from DNS64 only", &alone);
    show("v4only.nat64.lab, A and AAAA", &together);
    let c = &alone.candidates[0];
    assert_eq!(c.address, synthesized);
    assert_eq!(
        (c.class, c.nat64, c.synthesized),
        ("nat64", Some(v4), false)
    );
    assert!(alone.to_string().contains(&format!("(nat64 for {v4})")));
    assert_eq!(winner(&alone), synthesized);
    // DNS64's record and the local synthesis of the A record: one.
    assert_eq!(together.candidates.len(), 1, "{together}");
    assert_eq!(together.candidates[0].nat64, Some(v4));
    assert_eq!(together.attempts.len(), 1);
}

/// 4. A dual-stack name on the IPv6-only host goes native first: its real
///    AAAA record before the NAT64 destination of its A record.
#[test]
fn n64_4_dual_stack_name_goes_native_first() {
    let lab = Lab::load();
    let (v4, synthesized) = server(&lab);
    let native = lab.addr("n64_native");
    let on_native = Listener::start(&lab.ns("n64_router"), SocketAddr::new(native, 0));
    let port = on_native.port;
    // The IPv4 side listens on the same port: a wrong order would connect.
    let on_v4 = Listener::start(
        &lab.ns("n64_server"),
        SocketAddr::new(IpAddr::V4(Ipv4Addr::UNSPECIFIED), port),
    );
    let mut c = through_dns64(&lab);
    let report = block_in(&lab.ns("n64_client"), move || async move {
        let _view = own_view(&mut c, true);
        connect(&c, "dual.nat64.lab", port).await
    });
    show("dual.nat64.lab on the IPv6-only host", &report);
    let order: Vec<IpAddr> = report.candidates.iter().map(|c| c.address).collect();
    assert_eq!(order, [native, synthesized]);
    assert_eq!(report.candidates[1].nat64, Some(v4));
    assert_eq!(winner(&report), native);
    assert_eq!(on_native.accepted(1).len(), 1);
    assert!(on_v4.accepted(0).is_empty());
    let rule = report.candidates[0].placed_by.as_deref().unwrap_or("");
    assert!(rule.starts_with("rule 5"), "{rule}");
}

/// 5. The prefix is discovered both ways: from DNS64 alone (RFC 7050, one
///    query per network however many connects), from the router alone
///    (RFC 8781, with its lifetime), and both in `probe`.
#[test]
fn n64_5_prefix_discovered_both_ways() {
    let lab = Lab::load();
    let (v4, _) = server(&lab);
    let listener = Listener::start(&lab.ns("n64_server"), "0.0.0.0:0".parse().unwrap());
    let port = listener.port;
    let before = dnsmasq_queries(&lab, "AAAA", "ipv4only.arpa");
    let mut dns_only = through_dns64(&lab);
    let (report, connects) = block_in(&lab.ns("n64_client"), move || async move {
        // A view that never heard the router.
        let _view = own_view(&mut dns_only, false);
        let mut reports = Vec::new();
        for _ in 0..3 {
            reports.push(connect(&dns_only, &v4.to_string(), port).await);
        }
        (dns_only.nat64().await.expect("a NAT64 report"), reports)
    });
    print_report("DNS64 only", &report);
    assert_eq!(report.prefixes.len(), 1);
    assert_eq!(report.prefixes[0].prefix, prefix());
    assert_eq!(report.prefixes[0].source, PrefixSource::Dns64);
    assert!(
        connects
            .iter()
            .all(|r| r.nat64.as_ref().unwrap().synthesis == Some(prefix()))
    );
    // unbound forwards ipv4only.arpa to dnsmasq (with no cache), so its
    // log counts the discoveries: one for three connects and the report.
    assert_eq!(dnsmasq_queries(&lab, "AAAA", "ipv4only.arpa"), before + 1);

    let mut ra_only = through_plain_dns(&lab);
    let report = block_in(&lab.ns("n64_client"), move || async move {
        let _view = own_view(&mut ra_only, true);
        ra_only.nat64().await.expect("a NAT64 report")
    });
    print_report("router only (dnsmasq does no DNS64)", &report);
    assert_eq!(report.prefixes.len(), 1);
    let PrefixSource::RouterAdvertisement {
        interface,
        router,
        lifetime,
    } = &report.prefixes[0].source
    else {
        panic!("{:?}", report.prefixes[0]);
    };
    assert_eq!(interface, "eth0");
    assert!(router.is_some_and(|r| r.is_unicast_link_local()));
    assert_eq!(*lifetime, Duration::from_secs(1800));
    assert!(
        report
            .discovery
            .as_deref()
            .is_some_and(|d| d.contains("no DNS64 server"))
    );

    // `probe` (as root, so it solicits the router) shows both.
    let out = lab.cli("n64_client", &["probe", "--json"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let json: Value = serde_json::from_str(&stdout).expect("JSON");
    println!("probe --json, nat64: {:#}", json["nat64"]);
    let sources: Vec<&str> = json["nat64"]["prefixes"]
        .as_array()
        .expect("prefixes")
        .iter()
        .map(|p| {
            assert_eq!(p["prefix"], PREFIX);
            p["source"].as_str().unwrap_or("")
        })
        .collect();
    assert_eq!(sources, ["ra", "dns64"]);
    let out = lab.cli("n64_client", &["probe"]);
    let text = String::from_utf8_lossy(&out.stdout);
    println!("probe:\n{text}");
    assert!(text.contains(&format!(
        "nat64: {PREFIX} from router advertisement (PREF64, RFC 8781)"
    )));
    assert!(text.contains(&format!(
        "nat64: {PREFIX} from DNS64 (ipv4only.arpa, RFC 7050)"
    )));
}

fn print_report(title: &str, report: &Nat64Report) {
    println!("=== {title}\n{report}");
}

/// 6. A dual-stack host (the Teredo lab's t2: IPv4, native IPv6) neither
///    synthesizes nor asks for the prefix.
#[test]
fn n64_6_dual_stack_host_does_not_synthesize() {
    let lab = Lab::load();
    let listener = Listener::start(&lab.ns("srv"), crate::support::any6(0));
    let port = listener.port;
    let before = lab.query_count("AAAA", "ipv4only.arpa");
    let connector = lab.connector();
    let (name, literal) = block_in(&lab.ns("t2"), move || async move {
        (
            connect(&connector, "v4only.lab", port).await,
            connect(&connector, "198.18.3.2", port).await,
        )
    });
    show("t2 connects to v4only.lab", &name);
    for report in [&name, &literal] {
        assert!(report.nat64.is_none(), "{report}");
        assert_eq!(winner(report), lab.addr("srv_v4"));
        assert!(report.candidates.iter().all(|c| !c.synthesized));
    }
    assert_eq!(lab.query_count("AAAA", "ipv4only.arpa"), before);
}

/// Restores the NAT64 dnsmasq's hosts file (and makes dnsmasq read it
/// again) when dropped.
struct HostsFile {
    path: std::path::PathBuf,
    original: String,
    dnsmasq: u32,
}

impl HostsFile {
    fn append(lab: &Lab, line: &str) -> Self {
        let path = nat64(lab).hosts_file.clone();
        let original = std::fs::read_to_string(&path).expect("hosts file");
        let dnsmasq = lab.state.processes["n64_dnsmasq"].pid;
        std::fs::write(&path, format!("{original}{line}\n")).expect("hosts file written");
        let file = Self {
            path,
            original,
            dnsmasq,
        };
        file.reload();
        file
    }

    fn reload(&self) {
        crate::support::sh(&["kill", "-HUP", &self.dnsmasq.to_string()]);
        std::thread::sleep(Duration::from_millis(200));
    }
}

impl Drop for HostsFile {
    fn drop(&mut self) {
        let _ = std::fs::write(&self.path, &self.original);
        self.reload();
    }
}

/// 7. Bad discovery data is ignored, each with its reason: an
///    ipv4only.arpa answer that embeds neither well-known address, PREF64
///    options with a prefix length code RFC 8781 does not define or a
///    prefix RFC 6052 does not allow, and a zero lifetime (which withdraws
///    the prefix: the router's next answer brings it back).
#[test]
fn n64_7_bad_discovery_data_is_ignored_with_a_reason() {
    let lab = Lab::load();
    // RFC 7050: an answer for ipv4only.arpa that a DNS64 server did not
    // make (dnsmasq answers it from its hosts file).
    let _junk = HostsFile::append(&lab, "2001:db8:bad::1 ipv4only.arpa");
    let mut plain = through_plain_dns(&lab);
    let report = block_in(&lab.ns("n64_client"), move || async move {
        let _view = own_view(&mut plain, false);
        plain.nat64().await.expect("a NAT64 report")
    });
    print_report("ipv4only.arpa answered with 2001:db8:bad::1", &report);
    assert!(report.prefixes.is_empty());
    assert_eq!(
        report.ignored,
        [
            "ipv4only.arpa answer 2001:db8:bad::1: embeds neither 192.0.0.170 nor 192.0.0.171 \
          at any RFC 6052 prefix length"
        ]
    );
    assert!(
        report
            .discovery
            .as_deref()
            .unwrap()
            .contains("no usable prefix")
    );
    drop(_junk);

    // PREF64: bad options from the router, then a withdrawal.
    let router = lab.ns("n64_router");
    let dev = nat64(&lab).ra_interface.clone();
    let send = move |option: [u8; 16]| {
        let dev = dev.clone();
        in_netns(&router, move || {
            RouterAdvertiser::open(&dev)
                .and_then(|a| a.send(&[&option]))
                .expect("advertisement sent");
        });
    };
    let nsp: Ipv6Addr = prefix().prefix();
    let bad = [
        (
            pref64_option(225, 7, nsp),
            "PREF64 prefix length code 7 is not one RFC 8781 defines (0 to 5)",
        ),
        (
            pref64_option(225, 6, nsp),
            "PREF64 prefix length code 6 is not one RFC 8781 defines (0 to 5)",
        ),
        (
            pref64_option(225, 0, "2001:db8:64:0:ff00::".parse().unwrap()),
            "PREF64 prefix rejected: 2001:db8:64:0:ff00::/96 is not a valid NAT64 prefix \
             (bits 64 to 71 must be zero)",
        ),
        (
            pref64_option(0, 0, nsp),
            "lifetime 0: 2001:db8:64::/96 withdrawn",
        ),
    ];
    let mut c = through_dns64(&lab);
    let client = lab.ns("n64_client");
    let (ignored, withdrawn, restored) = in_netns(&client, move || {
        let view = own_view(&mut c, true);
        let mut changes = view.subscribe(Duration::from_secs(5)).expect("subscribed");
        for (option, _) in &bad {
            send(*option);
            let deadline = Instant::now() + Duration::from_secs(5);
            loop {
                match changes.recv_timeout(Some(deadline.saturating_duration_since(Instant::now())))
                {
                    Some(Ok(Change::Nat64)) => break,
                    Some(Ok(_)) => {}
                    other => panic!("no change for the advertisement: {other:?}"),
                }
            }
        }
        let snapshot = view.snapshot().unwrap();
        let ignored: Vec<String> = snapshot
            .pref64_ignored
            .iter()
            .map(|i| i.reason.clone())
            .collect();
        let withdrawn = snapshot.pref64.is_empty();
        // The router's answer to a solicitation brings it back.
        view.solicit_routers().expect("solicited");
        let deadline = Instant::now() + Duration::from_secs(5);
        while view.snapshot().is_none_or(|s| s.pref64.is_empty()) {
            assert!(Instant::now() < deadline, "the prefix did not come back");
            std::thread::sleep(Duration::from_millis(5));
        }
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let report = runtime.block_on(c.nat64()).expect("a NAT64 report");
        (ignored, withdrawn, report)
    });
    println!("ignored PREF64 options: {ignored:#?}");
    let expected: Vec<&str> = bad.iter().map(|(_, why)| *why).collect();
    assert_eq!(ignored, expected);
    assert!(withdrawn, "a zero lifetime withdraws the prefix");
    print_report("after the router answered again", &restored);
    assert_eq!(restored.synthesis, Some(prefix()));
    for why in &expected {
        assert!(
            restored.ignored.iter().any(|i| i.ends_with(why)),
            "{why} not in {:?}",
            restored.ignored
        );
    }
}

/// 8. Figures: once the prefix is known, an IPv4 literal through NAT64
///    costs no more than a native IPv6 connect plus 1 ms (medians of
///    alternated rounds), and what discovery costs the first connect.
#[test]
fn n64_8_figures_nat64_literal_against_native() {
    const ROUNDS: usize = 200;
    let lab = Lab::load();
    let (v4, synthesized) = server(&lab);
    let native = lab.addr("n64_native");
    let on_native = Listener::start(&lab.ns("n64_router"), SocketAddr::new(native, 0));
    let port = on_native.port;
    let _on_v4 = Listener::start(
        &lab.ns("n64_server"),
        SocketAddr::new(IpAddr::V4(Ipv4Addr::UNSPECIFIED), port),
    );
    let mut c = through_dns64(&lab);
    let figures = block_in(&lab.ns("n64_client"), move || async move {
        // Discovery on a view that never heard the router: the first
        // connect asks DNS64, the second does not.
        let _view = own_view(&mut c, false);
        let first = connect(&c, &v4.to_string(), port).await;
        let second = connect(&c, &v4.to_string(), port).await;
        let literal_v4 = v4.to_string();
        let literal_nat64 = synthesized.to_string();
        let literal_native = native.to_string();
        let mut times: [Vec<Duration>; 3] = Default::default();
        for _ in 0..ROUNDS {
            for (i, host) in [&literal_native, &literal_v4, &literal_nat64]
                .into_iter()
                .enumerate()
            {
                let start = Instant::now();
                let (stream, _) = c.connect(host, port).await.expect("connects");
                times[i].push(start.elapsed());
                drop(stream);
            }
        }
        (first, second, times)
    });
    let (first, second, mut times) = figures;
    let median = |v: &mut Vec<Duration>| {
        v.sort();
        v[v.len() / 2]
    };
    let us = |d: Duration| d.as_secs_f64() * 1e6;
    let native_median = median(&mut times[0]);
    let v4_median = median(&mut times[1]);
    let nat64_median = median(&mut times[2]);
    println!(
        "figures (medians of {ROUNDS} alternated rounds, n64_client):\n  \
         native IPv6 literal {native}:          {:>8.1} µs\n  \
         IPv4 literal {v4} through NAT64:  {:>8.1} µs (synthesized, translated by tayga)\n  \
         NAT64 address {synthesized} as given: {:>8.1} µs\n  \
         first connect (with discovery): {:.1} ms, {}\n  \
         second connect: {:.1} ms",
        us(native_median),
        us(v4_median),
        us(nat64_median),
        first.total.as_secs_f64() * 1000.0,
        first
            .nat64
            .as_ref()
            .and_then(|n| n.discovery.clone())
            .unwrap_or_default(),
        second.total.as_secs_f64() * 1000.0,
    );
    assert!(
        v4_median <= native_median + Duration::from_millis(1),
        "an IPv4 literal through NAT64 took {v4_median:?}, native IPv6 {native_median:?}"
    );
}

/// The lab's NAT64 part, as the state records it.
fn nat64(lab: &Lab) -> &netns_harness::lab::Nat64Lab {
    lab.state
        .nat64
        .as_ref()
        .expect("the lab has its NAT64 part (lab up builds it)")
}
