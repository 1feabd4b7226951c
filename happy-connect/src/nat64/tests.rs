//! The pure NAT64 core: RFC 7050 extraction at every RFC 6052 length,
//! synthesis and its exclusions, the per-network cache on a virtual
//! clock, what a state of the host allows, and the planner's order with
//! NAT64 prefixes known (native first, duplicates collapsed), on the
//! race's virtual clock.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::FutureExt as _;
use iface_probe::{Address, Family, Interface, NetworkId, Path, Reach, Route, Snapshot};
use rfc3484_sort::{Destination, Policy, SourceAttrs};

use super::cache::{ANSWER_TTL, Discovered, DiscoveryCache, FAILURE_TTL, Lookup, MAX_NETWORKS};
use super::host::{HostNat64, Nat64Plan, blocked};
use super::*;
use crate::race::{self, Action, Candidate, Input, Race, RaceConfig};
use crate::resolve::{RecordType, ResolveError};

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

fn v6(s: &str) -> Ipv6Addr {
    s.parse().unwrap()
}

fn prefix(s: &str) -> Nat64Prefix {
    s.parse().unwrap()
}

/// RFC 6052 §2.4's prefixes, one per length.
const RFC6052_PREFIXES: [&str; 6] = [
    "2001:db8::/32",
    "2001:db8:100::/40",
    "2001:db8:122::/48",
    "2001:db8:122:300::/56",
    "2001:db8:122:344::/64",
    "2001:db8:122:344::/96",
];

/// A DNS64 server's answer for ipv4only.arpa under `p`.
fn dns64_answer(p: Nat64Prefix) -> Vec<IpAddr> {
    WELL_KNOWN_IPV4
        .iter()
        .map(|&w| IpAddr::V6(p.embed(w)))
        .collect()
}

#[test]
fn rfc7050_every_rfc6052_length() {
    for text in RFC6052_PREFIXES {
        let p = prefix(text);
        let found = discover(&dns64_answer(p));
        assert_eq!(found.prefixes, [p], "{text}");
        assert!(found.ignored.is_empty(), "{text}: {:?}", found.ignored);
        // Either well-known address alone is enough.
        for one in dns64_answer(p) {
            assert_eq!(discover(&[one]).prefixes, [p], "{text} {one}");
        }
    }
    // The well-known prefix, and RFC 8215's local-use block.
    let found = discover(&[ip("64:ff9b::192.0.0.170")]);
    assert_eq!(found.prefixes, [Nat64Prefix::WELL_KNOWN]);
    let local = prefix("64:ff9b:1:abcd::/64");
    assert_eq!(discover(&dns64_answer(local)).prefixes, [local]);
}

#[test]
fn rfc7050_several_prefixes_in_the_order_of_the_answer() {
    let a = prefix("2001:db8:64::/96");
    let b = prefix("2001:db8:aaaa::/48");
    let mut answer = dns64_answer(a);
    answer.extend(dns64_answer(b));
    answer.extend(dns64_answer(a));
    let found = discover(&answer);
    assert_eq!(found.prefixes, [a, b], "each once, first seen first");
    let mut answer = dns64_answer(b);
    answer.extend(dns64_answer(a));
    assert_eq!(discover(&answer).prefixes, [b, a]);
}

#[test]
fn rfc7050_answers_without_a_well_known_address_are_ignored_with_a_reason() {
    let good = prefix("2001:db8:64::/96");
    let answer = [
        // A real host's address, not synthesized.
        ip("2001:db8:7::10"),
        // 192.0.0.172 is no well-known address.
        ip("2001:db8:64::c000:ac"),
        // 192.0.0.170 with a set "u" octet (bits 64 to 71) under a /32.
        ip("2001:db8:c000:aa:100::"),
        // With a set suffix bit.
        ip("2001:db8:c000:aa::1"),
        // An A record where AAAA was asked.
        ip("192.0.0.170"),
        IpAddr::V6(good.embed(WELL_KNOWN_IPV4[0])),
    ];
    let found = discover(&answer);
    assert_eq!(found.prefixes, [good]);
    let why: Vec<String> = found.ignored.iter().map(ToString::to_string).collect();
    assert_eq!(
        why,
        [
            "2001:db8:7::10: embeds neither 192.0.0.170 nor 192.0.0.171 at any RFC 6052 prefix length",
            "2001:db8:64::c000:ac: embeds neither 192.0.0.170 nor 192.0.0.171 at any RFC 6052 prefix length",
            "2001:db8:c000:aa:100::: embeds neither 192.0.0.170 nor 192.0.0.171 at any RFC 6052 prefix length",
            "2001:db8:c000:aa::1: embeds neither 192.0.0.170 nor 192.0.0.171 at any RFC 6052 prefix length",
            "192.0.0.170: not an IPv6 address",
        ]
    );
    // Nothing usable at all: no prefix, every address explained.
    let found = discover(&answer[..5]);
    assert!(found.prefixes.is_empty());
    assert_eq!(found.ignored.len(), 5);
}

#[test]
fn rfc7050_a_well_known_address_fits_one_length_only() {
    // Under every prefix length and many prefixes (whose own bits may look
    // like the address), an answer gives exactly the prefix it was made
    // with: the case RFC 7050's second address settles cannot arise.
    let mut seed = 0x9e37_79b9_7f4a_7c15_u64;
    for _ in 0..2000 {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        let bits = (u128::from(seed) << 64) | u128::from(seed.rotate_left(17));
        for len in Nat64Prefix::LENGTHS {
            let bits = bits & !(u128::MAX >> len) & !(0xff << 56);
            let p = Nat64Prefix::new(Ipv6Addr::from(bits), len).unwrap();
            for wka in WELL_KNOWN_IPV4 {
                let found = discover(&[IpAddr::V6(p.embed(wka))]);
                assert_eq!(found.prefixes, [p], "{p} {wka}");
            }
        }
    }
}

#[test]
fn synthesis_and_the_blocks_left_out() {
    let p = prefix("2001:db8:64::/96");
    let ok = |s: &str| synthesize(p, s.parse().unwrap()).map(|a| a.to_string());
    assert_eq!(ok("198.51.100.50").as_deref(), Ok("2001:db8:64::c633:6432"));
    assert_eq!(ok("10.0.0.1").as_deref(), Ok("2001:db8:64::a00:1"));
    assert_eq!(ok("169.253.0.1").as_deref(), Ok("2001:db8:64::a9fd:1"));
    assert_eq!(
        ok("255.255.255.254").as_deref(),
        Ok("2001:db8:64::ffff:fffe")
    );
    for (v4, why) in [
        ("0.0.0.0", NotSynthesized::ThisNetwork),
        ("0.1.2.3", NotSynthesized::ThisNetwork),
        ("127.0.0.1", NotSynthesized::Loopback),
        ("127.255.255.255", NotSynthesized::Loopback),
        ("169.254.0.1", NotSynthesized::LinkLocal),
        ("255.255.255.255", NotSynthesized::Broadcast),
    ] {
        assert_eq!(synthesize(p, v4.parse().unwrap()), Err(why), "{v4}");
    }
    assert_eq!(
        NotSynthesized::Loopback.to_string(),
        "127.0.0.0/8 (loopback) is the host's own"
    );
    // Every length: the synthesized address gives the IPv4 one back.
    for text in RFC6052_PREFIXES {
        let p = prefix(text);
        let a = synthesize(p, Ipv4Addr::new(198, 51, 100, 50)).unwrap();
        assert_eq!(p.extract(a), Some(Ipv4Addr::new(198, 51, 100, 50)));
    }
}

// ------------------------------------------------------------- the cache

fn discovered(at: Instant, answer: Result<Vec<IpAddr>, ResolveError>) -> Arc<Discovered> {
    Arc::new(Discovered::from_answer(
        at,
        Duration::from_millis(2),
        answer,
    ))
}

#[test]
fn cache_keeps_each_networks_result_for_its_lifetime() {
    let t0 = Instant::now();
    let home = NetworkId::from_u64(1);
    let cafe = NetworkId::from_u64(2);
    let mut cache = DiscoveryCache::default();
    assert!(matches!(cache.lookup(home, t0), Lookup::Missing));
    let found = discovered(t0, Ok(dns64_answer(prefix("2001:db8:64::/96"))));
    cache.finish(home, Arc::clone(&found));
    // Fresh for ten minutes, on this network only.
    assert!(matches!(
        cache.lookup(home, t0 + ANSWER_TTL),
        Lookup::Fresh(_)
    ));
    assert!(cache.fresh(cafe, t0).is_none());
    let later = t0 + ANSWER_TTL + Duration::from_millis(3);
    assert!(matches!(cache.lookup(home, later), Lookup::Missing));
    // No DNS64 here: kept as long.
    let none = discovered(
        t0,
        Err(ResolveError::NoRecords {
            name: IPV4ONLY_ARPA.into(),
            rtype: RecordType::Aaaa,
        }),
    );
    assert_eq!(
        none.outcome,
        Err("ipv4only.arpa has no AAAA record here: no DNS64 server".to_owned())
    );
    cache.finish(cafe, none);
    assert!(cache.fresh(cafe, t0 + ANSWER_TTL).is_some());
    // A failure is asked again soon.
    let failed = discovered(
        t0,
        Err(ResolveError::Timeout {
            name: IPV4ONLY_ARPA.into(),
            rtype: RecordType::Aaaa,
        }),
    );
    cache.finish(cafe, failed);
    assert!(cache.fresh(cafe, t0 + FAILURE_TTL).is_some());
    assert!(
        cache
            .fresh(cafe, t0 + FAILURE_TTL + Duration::from_secs(1))
            .is_none()
    );
}

#[test]
fn cache_shares_a_query_in_flight_and_forgets_the_oldest_network() {
    let t0 = Instant::now();
    let mut cache = DiscoveryCache::default();
    let net = NetworkId::from_u64(7);
    let found = discovered(t0, Ok(dns64_answer(Nat64Prefix::WELL_KNOWN)));
    let query = {
        let found = Arc::clone(&found);
        let fut: std::pin::Pin<Box<dyn Future<Output = Arc<Discovered>> + Send>> =
            Box::pin(async move { found });
        fut.shared()
    };
    cache.start(net, query);
    let Lookup::Pending(q) = cache.lookup(net, t0) else {
        panic!("the query in flight is shared");
    };
    assert_eq!(q.now_or_never().unwrap(), found);
    for n in 0..(MAX_NETWORKS as u64 + 5) {
        cache.finish(NetworkId::from_u64(100 + n), Arc::clone(&found));
    }
    assert_eq!(cache.len(), MAX_NETWORKS);
    assert!(
        cache.fresh(NetworkId::from_u64(100), t0).is_none(),
        "oldest gone"
    );
    assert!(
        cache
            .fresh(NetworkId::from_u64(100 + MAX_NETWORKS as u64 + 4), t0)
            .is_some()
    );
}

#[test]
fn discovered_describes_itself_for_the_report() {
    let t0 = Instant::now();
    let d = discovered(t0, Ok(dns64_answer(prefix("2001:db8:64::/96"))));
    assert_eq!(
        d.describe(),
        "ipv4only.arpa AAAA answered in 2.0 ms: 2001:db8:64::/96"
    );
    let d = discovered(t0, Ok(vec![ip("2001:db8::1")]));
    assert_eq!(
        d.describe(),
        "ipv4only.arpa AAAA answered in 2.0 ms with no usable prefix"
    );
}

// ------------------------------------------------------------- the host

/// An IPv6-only host: eth0 with a native global address and a default
/// IPv6 route; IPv4 only on loopback.
fn ipv6_only() -> Snapshot {
    let mut lo = Interface::new(1, "lo");
    lo.up = true;
    lo.running = true;
    lo.addresses.push(Address::new(ip("127.0.0.1"), 8));
    lo.addresses.push(Address::new(ip("::1"), 128));
    let mut eth = Interface::new(2, "eth0");
    eth.up = true;
    eth.running = true;
    eth.addresses.push(Address::new(ip("2001:db8:6::2"), 64));
    let mut s = Snapshot::default();
    s.interfaces = vec![lo, eth];
    let mut default = Route::new(Family::Ipv6, None);
    default.oif = Some(2);
    default.gateway = Some(ip("2001:db8:6::1"));
    s.routes.push(default);
    let mut reach = Reach::default();
    reach.ipv6 = Some(Path::new(ip("2001:db8:6::2"), 2));
    s.reach = Some(reach);
    s
}

fn with_ipv4_route(mut s: Snapshot) -> Snapshot {
    s.interfaces[1]
        .addresses
        .push(Address::new(ip("192.0.2.2"), 24));
    let mut r = Route::new(Family::Ipv4, Some((ip("192.0.2.0"), 24)));
    r.oif = Some(2);
    s.routes.push(r);
    s
}

/// What the host view records when eth0's router announces `p` for 600 s
/// at `now`.
fn with_pref64(mut s: Snapshot, p: Nat64Prefix, now: Instant) -> Snapshot {
    s.pref64 = vec![iface_probe::Pref64::new(
        p,
        2,
        Some(v6("fe80::1")),
        Duration::from_secs(600),
        now,
    )];
    s
}

#[test]
fn what_the_host_allows() {
    let now = Instant::now();
    let host = |s: Snapshot| HostNat64::of(Arc::new(s), now);
    assert_eq!(blocked(&ipv6_only()), None);
    assert_eq!(
        blocked(&with_ipv4_route(ipv6_only())),
        Some("the host has an IPv4 route")
    );
    // A CLAT: 192.0.0.2/29 on its own interface (and the IPv4 default
    // route through it).
    let mut clat = ipv6_only();
    let mut c = Interface::new(3, "clat");
    c.up = true;
    c.running = true;
    c.addresses.push(Address::new(ip("192.0.0.2"), 29));
    clat.interfaces.push(c);
    assert_eq!(
        blocked(&clat),
        Some("a CLAT (464XLAT) gives the host IPv4 through 192.0.0.0/29")
    );
    // No IPv6 route either: nothing to reach a translator through.
    let mut nothing = ipv6_only();
    nothing.routes.clear();
    nothing.reach = Some(Reach::default());
    assert_eq!(
        blocked(&nothing),
        Some("the host has no route to global IPv6 either")
    );

    let h = host(ipv6_only());
    assert!(h.engaged() && h.pref64.is_empty());
    assert!(h.wants_discovery(None), "a name");
    assert!(
        h.wants_discovery(Some(ip("198.51.100.50"))),
        "an IPv4 literal"
    );
    assert!(
        !h.wants_discovery(Some(ip("2001:db8::1"))),
        "an IPv6 literal"
    );
    let dual = host(with_ipv4_route(ipv6_only()));
    assert!(
        !dual.engaged(),
        "a host with IPv4 and no PREF64 is left alone"
    );

    let nsp = prefix("2001:db8:64::/96");
    let h = host(with_pref64(ipv6_only(), nsp, now));
    assert_eq!(h.pref64.len(), 1);
    assert_eq!(
        h.pref64[0].to_string(),
        "2001:db8:64::/96 from router advertisement (PREF64, RFC 8781) from fe80::1 on eth0, \
         lifetime 600 s"
    );
    assert!(!h.wants_discovery(None), "the routers said: no query");
    let dual = host(with_pref64(with_ipv4_route(ipv6_only()), nsp, now));
    assert!(dual.engaged(), "a prefix to report and sort with");
    // An expired announcement does not count.
    let h = HostNat64::of(
        Arc::new(with_pref64(ipv6_only(), nsp, now)),
        now + Duration::from_secs(601),
    );
    assert!(h.pref64.is_empty());
}

fn dns(p: &[Nat64Prefix]) -> Discovered {
    let answer: Vec<IpAddr> = p.iter().flat_map(|&p| dns64_answer(p)).collect();
    Discovered::from_answer(Instant::now(), Duration::from_millis(1), Ok(answer))
}

#[test]
fn the_plan_of_each_kind_of_host() {
    let now = Instant::now();
    let base = Policy::rfc6724();
    let nsp = prefix("2001:db8:64::/96");
    let other = prefix("64:ff9b::/96");
    let host = |s: Snapshot| HostNat64::of(Arc::new(s), now);

    // IPv6-only, prefix from DNS64: synthesizes with it.
    let plan = Nat64Plan::new(&host(ipv6_only()), Some(&dns(&[nsp])), &base).unwrap();
    assert_eq!(plan.synthesize_with, Some(nsp));
    assert_eq!(plan.report.prefixes[0].source, PrefixSource::Dns64);
    assert_eq!(
        plan.report.reason,
        "synthesizing IPv4 destinations under 2001:db8:64::/96: the host has no IPv4 route"
    );
    assert_eq!(
        plan.report.discovery.as_deref(),
        Some("ipv4only.arpa AAAA answered in 1.0 ms: 2001:db8:64::/96")
    );
    assert!(plan.policy.is_some());

    // The routers' prefix goes first; DNS64's joins after it.
    let plan = Nat64Plan::new(
        &host(with_pref64(ipv6_only(), other, now)),
        Some(&dns(&[nsp])),
        &base,
    )
    .unwrap();
    let list: Vec<Nat64Prefix> = plan.report.prefixes.iter().map(|l| l.prefix).collect();
    assert_eq!(list, [other, nsp]);
    assert_eq!(plan.synthesize_with, Some(other));
    // The same prefix from both: learned both ways, and said so.
    let plan = Nat64Plan::new(
        &host(with_pref64(ipv6_only(), nsp, now)),
        Some(&dns(&[nsp])),
        &base,
    )
    .unwrap();
    let sources: Vec<&str> = plan
        .report
        .prefixes
        .iter()
        .map(|l| l.source.name())
        .collect();
    assert_eq!(sources, ["ra", "dns64"]);
    assert_eq!(plan.synthesize_with, Some(nsp));

    // IPv6-only with no prefix: said so, nothing synthesized.
    let none = Discovered::from_answer(
        now,
        Duration::ZERO,
        Err(ResolveError::NxDomain {
            name: IPV4ONLY_ARPA.into(),
        }),
    );
    let plan = Nat64Plan::new(&host(ipv6_only()), Some(&none), &base).unwrap();
    assert_eq!(plan.synthesize_with, None);
    assert!(plan.policy.is_none());
    assert!(plan.report.reason.contains("no NAT64 prefix is known"));
    assert_eq!(
        plan.report.to_string(),
        "  nat64: no prefix known\n  nat64: not synthesizing: the host has no IPv4 route, but \
         no NAT64 prefix is known on this network\n  nat64: ipv4only.arpa AAAA after 0.0 ms: \
         ipv4only.arpa has no AAAA record here: no DNS64 server\n"
    );

    // A dual-stack host: nothing to do without a prefix; with one from its
    // routers, de-synthesis only.
    assert!(Nat64Plan::new(&host(with_ipv4_route(ipv6_only())), None, &base).is_none());
    let plan = Nat64Plan::new(
        &host(with_pref64(with_ipv4_route(ipv6_only()), nsp, now)),
        None,
        &base,
    )
    .unwrap();
    assert_eq!(plan.synthesize_with, None);
    assert_eq!(
        plan.report.reason,
        "not synthesizing: the host has an IPv4 route"
    );
    assert_eq!(plan.literal(ip("198.51.100.50")), ip("198.51.100.50"));
    assert!(plan.policy.is_some(), "NAT64 answers still sort as IPv4");

    // The answers DNS64 gave that were no use are in the report.
    let mut with_noise = dns(&[nsp]);
    if let Ok(found) = &mut with_noise.outcome {
        found.ignored.push(Ignored {
            address: ip("2001:db8::1"),
            reason: "embeds neither".into(),
        });
    }
    let plan = Nat64Plan::new(&host(ipv6_only()), Some(&with_noise), &base).unwrap();
    assert_eq!(
        plan.report.ignored,
        ["ipv4only.arpa answer 2001:db8::1: embeds neither"]
    );
}

#[test]
fn literals_and_a_answers_are_synthesized_but_for_the_blocks_left_out() {
    let now = Instant::now();
    let nsp = prefix("2001:db8:64::/96");
    let plan = Nat64Plan::new(
        &HostNat64::of(Arc::new(ipv6_only()), now),
        Some(&dns(&[nsp])),
        &Policy::rfc6724(),
    )
    .unwrap();
    assert_eq!(
        plan.literal(ip("198.51.100.50")),
        ip("2001:db8:64::c633:6432")
    );
    assert_eq!(plan.literal(ip("127.0.0.1")), ip("127.0.0.1"));
    assert_eq!(plan.literal(ip("2001:db8::1")), ip("2001:db8::1"));
    let mut synthesized = Vec::new();
    let got = plan
        .answer(
            &[ip("198.51.100.50"), ip("169.254.1.1"), ip("203.0.113.9")],
            &mut synthesized,
        )
        .unwrap();
    assert_eq!(
        got,
        [
            ip("2001:db8:64::c633:6432"),
            ip("169.254.1.1"),
            ip("2001:db8:64::cb00:7109")
        ]
    );
    assert_eq!(
        synthesized,
        [v6("2001:db8:64::c633:6432"), v6("2001:db8:64::cb00:7109")]
    );
    // The report marks NAT64 destinations with the IPv4 address they stand
    // for, and says which were made here.
    let mut c = crate::report::CandidateReport {
        address: ip("2001:db8:64::c633:6432"),
        source: Some(ip("2001:db8:6::2")),
        class: "documentation",
        nat64: None,
        synthesized: false,
        placed_by: None,
        history: None,
    };
    plan.annotate(&mut c, &synthesized);
    assert_eq!(c.class, "nat64");
    assert_eq!(c.nat64, Some(Ipv4Addr::new(198, 51, 100, 50)));
    assert!(c.synthesized);
    let mut native = crate::report::CandidateReport {
        address: ip("2001:db8:7::10"),
        ..c.clone()
    };
    plan.annotate(&mut native, &synthesized);
    assert_eq!(
        (native.class, native.nat64, native.synthesized),
        ("documentation", None, false)
    );
}

// ------------------------------------------------- the order, on the race

fn cand(dest: &str) -> Candidate {
    Candidate::new(
        Destination::with_source(ip(dest), ip("2001:db8:6::2"), SourceAttrs::default()),
        80,
    )
}

/// The prospects of the IPv6-only host: IPv6 reachable, IPv4 not.
fn prospects() -> Vec<Candidate> {
    crate::plan::prospects(Some(&ipv6_only()))
}

/// A race on the IPv6-only host, begun at `t0`, asking `families`; with
/// the policy that knows `nat64`, if given.
fn race_on_ipv6_only(t0: Instant, families: &[race::Family], nat64: Option<&str>) -> Race {
    let mut config = RaceConfig::default();
    if let Some(nsp) = nat64 {
        config.policy = Policy::rfc6724().with_nat64(&[prefix(nsp)]);
    }
    Race::with_prospects(config, t0, families, prospects())
}

/// Hands the race an answer of `family` with these destinations, at `at`:
/// the actions it takes.
fn answer(race: &mut Race, family: race::Family, dests: &[&str], at: Instant) -> Vec<Action> {
    let candidates = dests.iter().map(|d| cand(d)).collect();
    let mut actions = Vec::new();
    race.handle(Input::Answer { family, candidates }, at, &mut actions);
    actions
}

/// The race's order, as addresses.
fn order(race: &Race) -> Vec<String> {
    race.order()
        .iter()
        .map(|c| c.dest.addr.to_string())
        .collect()
}

const NSP: &str = "2001:db8:64::/96";
/// 198.51.100.50 under `NSP`.
const SYNTHESIZED: &str = "2001:db8:64::c633:6432";
const BOTH: [race::Family; 2] = [race::Family::V4, race::Family::V6];

#[test]
fn native_aaaa_goes_before_nat64_and_a_synthesized_duplicate_collapses() {
    let t0 = Instant::now();
    let mut race = race_on_ipv6_only(t0, &BOTH, Some(NSP));
    // The A answer comes first, synthesized: the race waits for AAAA,
    // which could bring native IPv6.
    let actions = answer(&mut race, race::Family::V4, &[SYNTHESIZED], t0);
    assert!(actions.is_empty(), "{actions:?}");
    assert!(race.pending_could_go_first());
    // AAAA: native, and DNS64's copy of the synthesized address.
    let later = t0 + Duration::from_millis(5);
    let actions = answer(
        &mut race,
        race::Family::V6,
        &[SYNTHESIZED, "2a00:1::10"],
        later,
    );
    assert_eq!(order(&race), ["2a00:1::10", SYNTHESIZED]);
    assert!(matches!(&actions[0], Action::Start { candidate, .. }
        if candidate.dest.addr == ip("2a00:1::10")));
    // What put native first: RFC 6724's label and precedence rules.
    assert_eq!(
        race.placements()[0].to_string(),
        "rule 5 (prefer matching label)"
    );
}

#[test]
fn without_the_prefix_the_same_answers_sort_as_two_native_ones() {
    // The contrast: under the plain policy a network-specific prefix is
    // just another IPv6 prefix, and the NAT64 address goes first here
    // (RFC 6724 rule 9: it shares a longer prefix with the source).
    let t0 = Instant::now();
    let mut race = race_on_ipv6_only(t0, &[race::Family::V6], None);
    answer(
        &mut race,
        race::Family::V6,
        &[SYNTHESIZED, "2a00:1::10"],
        t0,
    );
    assert_eq!(order(&race), [SYNTHESIZED, "2a00:1::10"]);
}

#[test]
fn an_aaaa_answer_of_nat64_addresses_and_the_a_answer_make_one_candidate() {
    // DNS64 answered AAAA first. The A query could still bring an address
    // that stays IPv4 and goes first (127.0.0.1, reached over loopback:
    // RFC 6724 rule 8), so the race waits for it, up to the Resolution
    // Delay; the A answer, synthesized, is the same address: one
    // candidate, one attempt.
    let t0 = Instant::now();
    let mut race = race_on_ipv6_only(t0, &BOTH, Some(NSP));
    let delay = RaceConfig::default().resolution_delay;
    let actions = answer(&mut race, race::Family::V6, &[SYNTHESIZED], t0);
    assert!(actions.is_empty(), "{actions:?}");
    assert_eq!(race.poll_timeout(), Some(t0 + delay));
    let later = t0 + Duration::from_millis(2);
    let actions = answer(&mut race, race::Family::V4, &[SYNTHESIZED], later);
    assert_eq!(race.order().len(), 1, "{:?}", race.order());
    assert!(
        matches!(&actions[..], [Action::Start { .. }]),
        "{actions:?}"
    );
}
