//! `happy-connect demo`: a tour that needs no root and no network.
//!
//! Part one runs the real thing on this host: the netlink probe, two
//! loopback endpoints (IPv4 listening, IPv6 refusing), "localhost" through
//! the system resolver, the sort and the race. Part two replays the
//! Teredo scenarios on simulated hosts through the pure cores (the AAAA
//! decision, RFC 6724 sorting, the RFC 8305 race on a virtual clock), next
//! to what glibc's default table would do, and an IPv6-only host behind
//! NAT64: the prefix read from a DNS64 answer, IPv4 destinations
//! synthesized, native IPv6 before NAT64.

use std::net::IpAddr;
use std::time::{Duration, Instant};

use happy_connect::addr::{classify, classify_with_nat64};
use happy_connect::history::{Advice, History, HistoryConfig, Past};
use happy_connect::nat64::Nat64Prefix;
use happy_connect::probe::NetworkId;
use happy_connect::race::{Action, AttemptId, Candidate, Family, Input, Outcome, Race, RaceConfig};
use happy_connect::sort::{Destination, Policy, Source, SourceAttrs, explain, sort};
use happy_connect::{AaaaPolicy, Connector, HostCapabilities, Strategy};

use crate::Failure;

pub(crate) fn demo() -> Result<(), Failure> {
    println!("happy-connect demo: teredo-aware connect-by-name\n");
    live()?;
    simulated();
    println!("Where next:");
    println!(
        "  happy-connect connect HOST PORT      connect by name, with the report and a timeline"
    );
    println!(
        "  happy-connect resolve NAME --json    the queries and the order, without connecting"
    );
    println!(
        "  happy-connect connect HOST PORT --history FILE   remember broken paths between runs"
    );
    println!(
        "  happy-connect probe                  this host's interfaces, capabilities and NAT64 prefix"
    );
    println!("  happy-connect wait-stable --teredo   wait for a Teredo address to qualify");
    println!(
        "  cargo xtask lab test                 the real labs (root; Miredo, and tayga with unbound's"
    );
    println!(
        "                                       DNS64 for an IPv6-only client, in namespaces)"
    );
    Ok(())
}

/// Part one: this host, for real.
fn live() -> Result<(), Failure> {
    println!("== 1. This host, for real ==\n");
    match happy_connect::probe::Snapshot::capture() {
        Ok(snapshot) => {
            let c = snapshot.capabilities();
            println!(
                "probe ({}): ipv4 {}, native IPv6 {}, 6to4 {}, Teredo {}, Teredo-only {}",
                happy_connect::probe::Backend::Native.name(),
                yes(c.ipv4),
                yes(c.native_ipv6),
                yes(c.sixtofour),
                yes(c.teredo),
                yes(c.teredo_only)
            );
            let names: Vec<String> = snapshot
                .interfaces_in_preference_order()
                .iter()
                .map(|i| i.name.clone())
                .collect();
            println!("interfaces in RFC 3484 order: {}", names.join(", "));
        }
        Err(err) => println!("probe: not available here ({err}); sources will be unknown"),
    }

    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|err| Failure::Negative(format!("cannot start the async runtime: {err}")))?;
    runtime.block_on(async {
        // Listen on IPv4 only: the same port on ::1 refuses, so the race
        // shows a refused attempt moving on at once.
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .map_err(|err| Failure::Negative(format!("cannot listen on 127.0.0.1: {err}")))?;
        let port = listener.local_addr().map(|a| a.port()).unwrap_or(0);
        println!("listening on 127.0.0.1:{port}; [::1]:{port} refuses\n");
        let accept = tokio::spawn(async move { listener.accept().await.map(|_| ()) });
        let connector = Connector::new();
        match connector.connect("localhost", port).await {
            Ok((_stream, report)) => println!("{report}\n"),
            Err(err) => println!("{}\n(connect failed: {err})\n", err.report()),
        }
        accept.abort();
        Ok::<(), Failure>(())
    })?;
    Ok(())
}

/// Part two: the seed scenarios on simulated hosts.
fn simulated() {
    println!("== 2. Teredo scenarios on simulated hosts (pure cores) ==\n");
    teredo_only_host();
    ipv4_and_teredo();
    windows_order();
    blackholed_ipv6();
    ipv6_only_with_nat64();
}

fn caps(ipv4: bool, native: bool, teredo: bool, teredo_only: bool) -> HostCapabilities {
    let mut c = HostCapabilities::default();
    c.ipv4 = ipv4;
    c.native_ipv6 = native;
    c.teredo = teredo;
    c.teredo_only = teredo_only;
    c
}

const TEREDO_SRC: &str = "2001:0:c633:640a:8000:f227:bd6a:13fe";
const TEREDO_PEER: &str = "2001:0:4136:e378:8000:63bf:3fff:fdd2";
const V4_SRC: &str = "192.0.2.45";

fn dest(addr: &str, source: &str, tunnel: bool) -> Destination {
    let attrs = SourceAttrs {
        tunnel,
        ..SourceAttrs::default()
    };
    Destination {
        addr: addr.parse().expect("demo address"),
        source: Some(Source {
            addr: source.parse().expect("demo address"),
            attrs,
        }),
    }
}

/// Prints the order under a policy, with the rule that decided each pair.
fn show_order(label: &str, policy: &Policy, dests: &[Destination]) {
    show_order_nat64(label, policy, dests, &[]);
}

/// [`show_order`], naming the kind of each address with the NAT64
/// prefixes known.
fn show_order_nat64(label: &str, policy: &Policy, dests: &[Destination], nat64: &[Nat64Prefix]) {
    let mut sorted = dests.to_vec();
    sort(policy, &mut sorted);
    let rules = explain(policy, &sorted);
    let parts: Vec<String> = sorted
        .iter()
        .enumerate()
        .map(|(i, d)| {
            let kind = classify_with_nat64(d.addr, nat64).name();
            match rules.get(i) {
                Some(rule) => format!("{} ({kind}) >[{}]", d.addr, rule.number()),
                None => format!("{} ({kind})", d.addr),
            }
        })
        .collect();
    println!("  {label:<22} {}", parts.join(" "));
}

fn teredo_only_host() {
    println!("-- Teredo-only host (IPv4 + Miredo), name with A and native AAAA --");
    let host = caps(true, false, true, true);
    let decision = AaaaPolicy::Auto.decide(Some(&host));
    println!(
        "  this library: AAAA {}: {}",
        if decision.send { "sent" } else { "not sent" },
        decision.reason
    );
    println!(
        "  glibc:        AAAA sent anyway; Windows sends none either (explicit AAAA lookups still work)"
    );
    let dests = [
        dest("2001:db8:1::10", TEREDO_SRC, true),
        dest("198.51.100.20", V4_SRC, false),
    ];
    show_order("glibc order:", &Policy::glibc(), &dests);
    println!("  this library only has the IPv4 destination to try.\n");
}

fn ipv4_and_teredo() {
    println!("-- Name with an IPv4 and a Teredo address, on a host with Teredo --");
    let dests = [
        dest(TEREDO_PEER, TEREDO_SRC, true),
        dest("198.51.100.20", V4_SRC, false),
    ];
    show_order("RFC 6724 (default):", &Policy::rfc6724(), &dests);
    show_order("Windows table:", &Policy::windows(), &dests);
    show_order("glibc default:", &Policy::glibc(), &dests);
    println!("  glibc gives Teredo precedence 40 (it falls under ::/0) and IPv4 10: Teredo first.");
    println!("  [N] is the RFC 6724 rule that put an address before the next.\n");
}

fn windows_order() {
    println!(
        "-- Native IPv6, 6to4, IPv4 and Teredo destinations, dual-stack host with 6to4 and Teredo --"
    );
    let dests = [
        dest(TEREDO_PEER, TEREDO_SRC, true),
        dest("198.51.100.20", V4_SRC, false),
        dest("2002:cb00:7101::10", "2002:c000:22d::1", true),
        dest("2001:db8:1::10", "2001:db8:1::2", false),
    ];
    show_order("Windows table:", &Policy::windows(), &dests);
    show_order("RFC 6724 (default):", &Policy::rfc6724(), &dests);
    show_order("glibc default:", &Policy::glibc(), &dests);
    println!();
}

fn blackholed_ipv6() {
    println!("-- Native IPv6 path blackholed (SYNs vanish), IPv4 fine: a virtual-clock replay --");
    let dests = [
        dest("2001:db8:1::10", "2001:db8:1::2", false),
        dest("198.51.100.20", V4_SRC, false),
    ];
    for strategy in [Strategy::Race, Strategy::Sequential] {
        let (ms, attempts) = replay_blackhole(strategy, &dests, None);
        println!(
            "  {:<10}: connected over IPv4 after {ms} ms ({attempts})",
            strategy.to_string()
        );
    }
    // What the race learned: the IPv6 attempt lost to IPv4 after waiting
    // out the attempt delay. The next connect on this network reads it.
    let history = History::new();
    let network = NetworkId::from_u64(1);
    let v6 = dests[0].addr;
    history.record(network, None, v6, Past::Lost { to: Family::V4 });
    history.record(
        network,
        None,
        dests[1].addr,
        Past::Connected {
            handshake: Duration::from_millis(1),
        },
    );
    let config = HistoryConfig::default();
    let mut advice = Advice::new(
        [
            history.family_note(network, None, Family::V4),
            history.family_note(network, None, Family::V6),
        ],
        config.attempt_delay_min,
        config.attempt_delay_max,
    );
    for d in &dests {
        if let Some(note) = history.note(network, None, d.addr) {
            advice.add(d.addr, note);
        }
    }
    let (ms, attempts) = replay_blackhole(Strategy::Race, &dests, Some(advice));
    let note = history
        .note(network, None, v6)
        .map(|n| n.to_string())
        .unwrap_or_default();
    println!("  race, again with history ({v6}: {note}):");
    println!("              connected over IPv4 after {ms} ms ({attempts})");
    println!(
        "  (sequential uses a 10 s attempt timeout here; Linux's own SYN retries last about 127 s,"
    );
    println!("   which is what std and tokio's one-address-at-a-time connect would wait)\n");
}

/// Runs the race on a virtual clock: IPv6 attempts never answer, IPv4
/// ones connect 1 ms after they start. Returns when it connected.
fn replay_blackhole(
    strategy: Strategy,
    dests: &[Destination],
    advice: Option<Advice>,
) -> (u128, String) {
    let config = RaceConfig {
        strategy,
        ..RaceConfig::default()
    };
    let t0 = Instant::now();
    let mut race = Race::new(config, t0, &[Family::V6, Family::V4]);
    if let Some(advice) = advice {
        race.advise(advice);
    }
    let mut actions = Vec::new();
    let mut now = t0;
    for family in [Family::V6, Family::V4] {
        let candidates = dests
            .iter()
            .filter(|d| Family::of(d.addr) == family)
            .map(|d| Candidate::new(*d, 443))
            .collect();
        race.handle(Input::Answer { family, candidates }, now, &mut actions);
    }
    let mut pending_v4: Vec<(AttemptId, Instant)> = Vec::new();
    let mut log = Vec::new();
    for _ in 0..1000 {
        for action in std::mem::take(&mut actions) {
            match action {
                Action::Start { id, candidate } => {
                    log.push(format!(
                        "{} at {} ms",
                        candidate.dest.addr,
                        now.duration_since(t0).as_millis()
                    ));
                    if matches!(candidate.dest.addr, IpAddr::V4(_)) {
                        pending_v4.push((id, now + Duration::from_millis(1)));
                    }
                }
                Action::Done(Outcome::Connected { .. }) => {
                    return (now.duration_since(t0).as_millis(), log.join(", "));
                }
                Action::Done(_) => return (now.duration_since(t0).as_millis(), "failed".into()),
                _ => {}
            }
        }
        // Advance to whichever comes first: a connect completing or the
        // race's timer.
        let next_connect = pending_v4.iter().map(|(_, at)| *at).min();
        let next = match (next_connect, race.poll_timeout()) {
            (Some(a), Some(b)) => a.min(b),
            (Some(a), None) => a,
            (None, Some(b)) => b,
            (None, None) => break,
        };
        now = next;
        if let Some(pos) = pending_v4.iter().position(|(_, at)| *at <= now) {
            let (id, _) = pending_v4.remove(pos);
            race.handle(Input::Connected { id }, now, &mut actions);
        } else {
            race.handle(Input::Timer, now, &mut actions);
        }
    }
    (now.duration_since(t0).as_millis(), "did not finish".into())
}

fn ipv6_only_with_nat64() {
    use happy_connect::nat64::{WELL_KNOWN_IPV4, discover, synthesize};

    println!(
        "-- IPv6-only host behind NAT64, DNS64 with the network-specific prefix 2001:db8:64::/96 --"
    );
    // What the DNS64 server answers for ipv4only.arpa AAAA (RFC 7050).
    let nsp: Nat64Prefix = "2001:db8:64::/96".parse().expect("prefix");
    let answer: Vec<IpAddr> = WELL_KNOWN_IPV4
        .iter()
        .map(|&w| IpAddr::V6(nsp.embed(w)))
        .collect();
    let found = discover(&answer);
    let list: Vec<String> = answer.iter().map(ToString::to_string).collect();
    println!(
        "  ipv4only.arpa AAAA {} -> prefix {} (RFC 7050)",
        list.join(", "),
        found.prefixes[0]
    );
    for v4 in ["198.51.100.50", "127.0.0.1"] {
        match synthesize(nsp, v4.parse().expect("demo address")) {
            Ok(v6) => println!("  connect {v4}: no IPv4 route, so {v6} (synthesized)"),
            Err(why) => println!("  connect {v4}: left as it is, {why}"),
        }
    }
    let nat64 = "2001:db8:64::c633:6432";
    let addr: std::net::Ipv6Addr = nat64.parse().expect("demo address");
    if let Some(v4) = nsp.extract(addr) {
        println!(
            "  {nat64} is {} to anyone, {} given the prefix (it stands for {v4})",
            classify(addr.into()).name(),
            classify_with_nat64(addr.into(), &[nsp]).name(),
        );
    }
    let src = "2001:db8:6::2";
    let dests = [dest(nat64, src, false), dest("2a00:1::10", src, false)];
    show_order("RFC 6724 as is:", &Policy::rfc6724(), &dests);
    show_order_nat64(
        "NAT64 as IPv4:",
        &Policy::rfc6724().with_nat64(&[nsp]),
        &dests,
        &[nsp],
    );
    println!(
        "  a name with native AAAA goes native first; a routers' PREF64 (RFC 8781) saves the query."
    );
    println!("  `happy-connect probe` shows the prefix and how it was learned.\n");
}

fn yes(b: bool) -> &'static str {
    if b { "yes" } else { "no" }
}
