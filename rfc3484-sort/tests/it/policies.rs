//! How the built-in policies order the destinations a dual-stack host with
//! transition addresses sees, and `explain` on hand-made cases.

use std::cmp::Ordering;

use rfc3484_sort::{Destination, Policy, Rule, Source, SourceAttrs, compare, explain, sort};
use teredo_addr::Scope;

use crate::{addrs, dest, ip, tunnelled};

const NATIVE: &str = "2001:db8:1::10";
const SIX_TO_FOUR: &str = "2002:c633:6401::10";
const IPV4: &str = "198.51.100.10";
const TEREDO: &str = "2001:0:4136:e378:8000:63bf:3fff:fdd2";

/// One destination of each kind, each with the source a host holding a
/// native, a 6to4, an IPv4 (behind a NAT) and a Teredo address would use.
fn mixed() -> Vec<Destination> {
    vec![
        tunnelled(TEREDO, "2001:0:4136:e378:8000:1234:5678:9abc"),
        dest(IPV4, "192.168.1.20"),
        tunnelled(SIX_TO_FOUR, "2002:c633:6402::1"),
        dest(NATIVE, "2001:db8:2::20"),
    ]
}

fn sorted(policy: &Policy, mut dests: Vec<Destination>) -> Vec<String> {
    sort(policy, &mut dests);
    addrs(&dests)
}

#[test]
fn windows_orders_native_6to4_ipv4_teredo() {
    let policy = Policy::windows();
    assert_eq!(policy.name(), "windows");
    assert_eq!(
        sorted(&policy, mixed()),
        [NATIVE, SIX_TO_FOUR, IPV4, TEREDO]
    );
    let mut dests = mixed();
    sort(&policy, &mut dests);
    assert_eq!(
        explain(&policy, &dests),
        [Rule::HigherPrecedence; 3],
        "precedence 40, 30, 10, 5"
    );
}

#[test]
fn rfc6724_orders_native_ipv4_6to4_teredo() {
    assert_eq!(
        sorted(&Policy::rfc6724(), mixed()),
        [NATIVE, IPV4, SIX_TO_FOUR, TEREDO]
    );
}

#[test]
fn rfc3484_treats_teredo_as_native_ipv6() {
    // Under RFC 3484 2001::/32 is just global IPv6 (precedence 40); the
    // Teredo source is a tunnel, so rule 7 puts it after native IPv6.
    let policy = Policy::rfc3484();
    let mut dests = mixed();
    sort(&policy, &mut dests);
    assert_eq!(addrs(&dests), [NATIVE, TEREDO, SIX_TO_FOUR, IPV4]);
    assert_eq!(
        explain(&policy, &dests),
        [Rule::PreferNative, Rule::HigherPrecedence, Rule::MatchScope]
    );
}

#[test]
fn ipv4_and_teredo() {
    let both = || {
        vec![
            tunnelled(TEREDO, "2001:0:4136:e378:8000:1234:5678:9abc"),
            dest(IPV4, "192.168.1.20"),
        ]
    };
    assert_eq!(sorted(&Policy::rfc6724(), both()), [IPV4, TEREDO]);
    assert_eq!(sorted(&Policy::windows(), both()), [IPV4, TEREDO]);
    assert_eq!(sorted(&Policy::glibc(), both()), [TEREDO, IPV4]);
    let glibc = Policy::glibc();
    assert_eq!(glibc.precedence(ip(TEREDO)), 40);
    assert_eq!(glibc.precedence(ip(IPV4)), 10);
    let mut dests = both();
    sort(&glibc, &mut dests);
    assert_eq!(explain(&glibc, &dests), [Rule::HigherPrecedence]);
}

#[test]
fn unusable_destinations_go_last_in_input_order() {
    let policy = Policy::rfc6724();
    let mut dests = vec![
        Destination::unreachable(ip("2001:db8::1")),
        dest(TEREDO, "2001:0:4136:e378::1"),
        Destination::unreachable(ip("2001:db8::2")),
        dest(IPV4, "192.168.1.20"),
    ];
    sort(&policy, &mut dests);
    assert_eq!(addrs(&dests), [IPV4, TEREDO, "2001:db8::1", "2001:db8::2"]);
    assert_eq!(
        explain(&policy, &dests),
        [Rule::HigherPrecedence, Rule::AvoidUnusable, Rule::KeepOrder]
    );
}

#[test]
fn explain_hand_cases() {
    let policy = Policy::rfc6724();
    let deprecated = SourceAttrs {
        deprecated: true,
        ..SourceAttrs::default()
    };
    let care_of = SourceAttrs {
        care_of: true,
        ..SourceAttrs::default()
    };
    let a = dest("2001:db8::1", "2001:db8::2");
    let b = Destination::with_source(ip("2001:db8::3"), ip("2001:db8::4"), deprecated);
    assert_eq!(
        compare(&policy, &a, &b),
        (Ordering::Less, Rule::AvoidDeprecated)
    );
    let c = Destination::with_source(ip("2001:db8::3"), ip("2001:db8::4"), care_of);
    assert_eq!(
        compare(&policy, &c, &a),
        (Ordering::Greater, Rule::PreferHome)
    );
    let d = tunnelled("2001:db8::5", "2001:db8::6");
    assert_eq!(
        compare(&policy, &a, &d),
        (Ordering::Less, Rule::PreferNative)
    );
    let e = dest("fe80::1", "fe80::2");
    assert_eq!(
        compare(&policy, &a, &e),
        (Ordering::Greater, Rule::SmallerScope)
    );
    // Same family, same everything up to rule 9: 64 bits in common (capped)
    // against 32.
    let f = dest("2001:db8:0:1::1", "2001:db8:0:1::2");
    let g = dest("2001:db8:1::1", "2001:db8:2::2");
    assert_eq!(
        compare(&policy, &g, &f),
        (Ordering::Greater, Rule::LongestPrefix)
    );

    let mut list = vec![g, e, d, c, b, a, f];
    sort(&policy, &mut list);
    assert_eq!(
        addrs(&list),
        [
            "fe80::1",
            "2001:db8::1",
            "2001:db8:0:1::1",
            "2001:db8:1::1",
            "2001:db8::5",
            "2001:db8::3",
            "2001:db8::3"
        ]
    );
    assert_eq!(
        explain(&policy, &list),
        [
            Rule::SmallerScope,
            Rule::KeepOrder,
            Rule::LongestPrefix,
            Rule::PreferNative,
            Rule::PreferHome,
            Rule::AvoidDeprecated,
        ]
    );
    // The care-of destination came before the deprecated one in the input
    // (c before b) but rule 3 outranks rule 4.
    assert_eq!(list[5], c);
    assert_eq!(list[6], b);
    assert!(explain(&policy, &[]).is_empty());
    assert!(explain(&policy, &[a]).is_empty());
}

#[test]
fn ipv4_rule_9_needs_a_prefix_length() {
    // Without prefix lengths rule 9 never splits IPv4 destinations, so DNS
    // round robin survives; with them, the on-link destination wins.
    let policy = Policy::rfc6724();
    let far = dest("203.0.113.5", "192.0.2.10");
    let near = dest("192.0.2.99", "192.0.2.10");
    assert_eq!(
        compare(&policy, &far, &near),
        (Ordering::Equal, Rule::KeepOrder)
    );
    let with_len = |d: Destination| Destination {
        source: d.source.map(|s| Source {
            attrs: SourceAttrs {
                prefix_len: Some(24),
                ..s.attrs
            },
            ..s
        }),
        ..d
    };
    assert_eq!(
        compare(&policy, &with_len(far), &with_len(near)),
        (Ordering::Greater, Rule::LongestPrefix)
    );
    // RFC 3484 counts all the bits.
    assert_eq!(
        compare(&Policy::rfc3484(), &far, &near).1,
        Rule::LongestPrefix
    );
}

#[test]
fn matching_scope_beats_precedence() {
    // A global IPv6 destination reachable only from a link-local source
    // loses to IPv4 by rule 2 under every policy.
    let v6 = dest("2001:db8::1", "fe80::1");
    let v4 = dest(IPV4, "198.51.100.20");
    for policy in [
        Policy::rfc6724(),
        Policy::rfc3484(),
        Policy::windows(),
        Policy::glibc(),
    ] {
        assert_eq!(
            compare(&policy, &v6, &v4),
            (Ordering::Greater, Rule::MatchScope),
            "{}",
            policy.name()
        );
    }
}

#[test]
fn policy_scopes_and_defaults() {
    assert_eq!(Policy::default(), Policy::rfc6724());
    assert_eq!(Policy::rfc6724().name(), "rfc6724");
    assert_eq!(Policy::rfc3484().name(), "rfc3484");
    assert_eq!(Policy::glibc().name(), "glibc");
    assert_ne!(Policy::rfc3484(), Policy::windows());
    assert_eq!(Policy::rfc3484().scope(ip("192.168.1.1")), Scope::SiteLocal);
    assert_eq!(Policy::windows().scope(ip("192.168.1.1")), Scope::Global);
    assert_eq!(Policy::glibc().scope(ip("169.254.0.1")), Scope::LinkLocal);
    assert_eq!(Policy::rfc6724().scope(ip("::1")), Scope::LinkLocal);
    assert_eq!(Policy::rfc6724().scope(ip("fec0::1")), Scope::SiteLocal);
    // Debug output shows the tables, not the lookup index.
    let debug = format!("{:?}", Policy::rfc6724());
    assert!(
        debug.contains("rfc6724") && debug.contains("2002::"),
        "{debug}"
    );
    assert!(debug.len() < 4000);
    assert_eq!(
        Rule::LongestPrefix.to_string(),
        "rule 9 (use longest matching prefix)"
    );
}
