//! Property tests: the sort is a stable permutation ordered by `compare`,
//! independent of input order up to ties, and the `gai.conf` reader never
//! panics.

use std::cmp::Ordering;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use proptest::prelude::*;
use rfc3484_sort::{
    Destination, Policy, Source, SourceAttrs, SourceCandidate, compare, explain, select_source,
    sort,
};

/// Addresses from every class the tables distinguish, with few random bits
/// so that equal scopes, labels and common prefixes are frequent.
fn address() -> impl Strategy<Value = IpAddr> {
    let v6 = |hi: u128, mask_bits: u32| {
        (0u16..4, 0u16..4, any::<bool>()).prop_map(move |(a, b, far)| {
            let mid = if far { u128::from(a) << 80 } else { 0 };
            let low = u128::from(b) | (u128::from(a) << 64);
            IpAddr::V6(Ipv6Addr::from(
                hi | ((mid | low) & (u128::MAX >> mask_bits)),
            ))
        })
    };
    let v4 = |base: u32| {
        (0u32..4, 0u32..4).prop_map(move |(a, b)| IpAddr::V4(Ipv4Addr::from(base | (a << 8) | b)))
    };
    prop_oneof![
        v6(0x2001_0db8 << 96, 32),
        v6(0x2001_0000 << 96, 32),
        v6(0x2002_c633 << 96, 32),
        v6(0xfd00 << 112, 16),
        v6(0xfe80 << 112, 64),
        v6(0xfec0 << 112, 16),
        v6(0x3ffe << 112, 16),
        v6(0xff05 << 112, 16),
        Just(IpAddr::V6(Ipv6Addr::LOCALHOST)),
        v4(0xc000_0200),
        v4(0x0a00_0000),
        v4(0xc0a8_0100),
        v4(0xa9fe_0000),
        v4(0x7f00_0000),
        v4(0xcb00_7100).prop_map(|a| match a {
            IpAddr::V4(v4) => IpAddr::V6(v4.to_ipv6_mapped()),
            v6 => v6,
        }),
        v4(0).prop_map(|a| match a {
            IpAddr::V4(v4) => IpAddr::V6(v4.to_ipv6_compatible()),
            v6 => v6,
        }),
    ]
}

fn attrs() -> impl Strategy<Value = SourceAttrs> {
    (
        any::<[bool; 5]>(),
        prop_oneof![Just(None), (0u8..=130).prop_map(Some)],
    )
        .prop_map(|(f, prefix_len)| SourceAttrs {
            deprecated: f[0],
            home: f[1],
            care_of: f[2],
            tunnel: f[3],
            temporary: f[4],
            prefix_len,
        })
}

fn destination() -> impl Strategy<Value = Destination> {
    (
        address(),
        prop_oneof![
            1 => Just(None),
            4 => (address(), attrs()).prop_map(|(addr, attrs)| Some(Source { addr, attrs })),
        ],
    )
        .prop_map(|(addr, source)| Destination { addr, source })
}

fn policy() -> impl Strategy<Value = Policy> {
    prop_oneof![
        Just(Policy::rfc6724()),
        Just(Policy::rfc3484()),
        Just(Policy::windows()),
        Just(Policy::glibc()),
    ]
}

/// Destinations without exact duplicates, so that each output element has
/// one input position.
fn distinct(mut dests: Vec<Destination>) -> Vec<Destination> {
    let mut seen = Vec::new();
    dests.retain(|d| {
        let new = !seen.contains(d);
        if new {
            seen.push(*d);
        }
        new
    });
    dests
}

/// Lists of up to 80 destinations: both the inline and the allocating path.
fn dest_list() -> impl Strategy<Value = Vec<Destination>> {
    prop_oneof![
        3 => prop::collection::vec(destination(), 0..=12),
        1 => prop::collection::vec(destination(), 13..=80),
    ]
    .prop_map(distinct)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn sort_is_a_stable_sort_by_compare(policy in policy(), input in dest_list()) {
        let mut sorted = input.clone();
        sort(&policy, &mut sorted);
        // A permutation ...
        let mut a: Vec<String> = input.iter().map(|d| format!("{d:?}")).collect();
        let mut b: Vec<String> = sorted.iter().map(|d| format!("{d:?}")).collect();
        a.sort();
        b.sort();
        prop_assert_eq!(a, b);
        // ... ordered by `compare`, with ties in input order.
        let position = |d: &Destination| input.iter().position(|x| x == d);
        for i in 0..sorted.len() {
            for j in i + 1..sorted.len() {
                let (ordering, _) = compare(&policy, &sorted[i], &sorted[j]);
                prop_assert_ne!(ordering, Ordering::Greater);
                if ordering == Ordering::Equal {
                    prop_assert!(position(&sorted[i]) < position(&sorted[j]));
                }
            }
        }
        // ... which is exactly what a stable library sort gives.
        let mut expected = input.clone();
        expected.sort_by(|x, y| compare(&policy, x, y).0);
        prop_assert_eq!(&sorted, &expected);
    }

    #[test]
    fn order_does_not_depend_on_input_order(
        policy in policy(),
        (input, shuffled) in dest_list().prop_flat_map(|v| (Just(v.clone()), Just(v).prop_shuffle())),
    ) {
        let mut a = input;
        let mut b = shuffled;
        sort(&policy, &mut a);
        sort(&policy, &mut b);
        // Position by position the two results may differ only by ties.
        for (x, y) in a.iter().zip(&b) {
            prop_assert_eq!(compare(&policy, x, y).0, Ordering::Equal);
        }
    }

    #[test]
    fn explain_matches_compare(policy in policy(), input in dest_list()) {
        let mut sorted = input;
        sort(&policy, &mut sorted);
        let rules = explain(&policy, &sorted);
        prop_assert_eq!(rules.len(), sorted.len().saturating_sub(1));
        for (pair, rule) in sorted.windows(2).zip(&rules) {
            let (ordering, by) = compare(&policy, &pair[0], &pair[1]);
            prop_assert_eq!(by, *rule);
            prop_assert_eq!(ordering == Ordering::Equal, by.number() == 10);
            let (back, by_back) = compare(&policy, &pair[1], &pair[0]);
            prop_assert_eq!(back, ordering.reverse());
            prop_assert_eq!(by_back, by);
        }
    }

    #[test]
    fn select_source_picks_a_candidate_of_the_family(
        policy in policy(),
        dest in address(),
        candidates in prop::collection::vec(
            (address(), attrs(), any::<bool>()).prop_map(|(addr, attrs, on)| SourceCandidate {
                addr,
                attrs,
                on_outgoing_interface: on,
            }),
            0..8,
        ),
    ) {
        let is_v4 = |a: IpAddr| match a {
            IpAddr::V4(_) => true,
            IpAddr::V6(v6) => v6.to_ipv4_mapped().is_some(),
        };
        match select_source(&policy, dest, &candidates) {
            Some(i) => prop_assert_eq!(is_v4(candidates[i].addr), is_v4(dest)),
            None => prop_assert!(candidates.iter().all(|c| is_v4(c.addr) != is_v4(dest))),
        }
    }

    #[test]
    fn intransitive_custom_tables_still_permute(input in dest_list()) {
        // IPv4 and IPv6 share a precedence here, so RFC 6724's same-family
        // condition on rule 9 makes the comparison intransitive: the sort
        // must still return a permutation without panicking.
        let policy = Policy::from_gai_conf("precedence ::/0 40\nprecedence ::ffff:0:0/96 40\n")
            .unwrap_or_else(|e| panic!("{e}"));
        let mut sorted = input.clone();
        sort(&policy, &mut sorted);
        let mut a: Vec<String> = input.iter().map(|d| format!("{d:?}")).collect();
        let mut b: Vec<String> = sorted.iter().map(|d| format!("{d:?}")).collect();
        a.sort();
        b.sort();
        prop_assert_eq!(a, b);
        prop_assert_eq!(explain(&policy, &sorted).len(), sorted.len().saturating_sub(1));
    }

    #[test]
    fn gai_conf_never_panics(text in ".{0,400}") {
        let _ = Policy::from_gai_conf(&text);
    }

    #[test]
    fn gai_conf_never_panics_on_near_misses(
        lines in prop::collection::vec(
            (
                prop_oneof![
                    Just("label"), Just("precedence"), Just("scopev4"), Just("reload"),
                    Just("#"), Just(""), Just("labe"),
                ],
                prop::collection::vec(
                    prop_oneof![
                        Just("::/0".to_owned()), Just("::ffff:0:0/96".to_owned()),
                        Just("10.0.0.0/8".to_owned()), Just("yes".to_owned()),
                        "[0-9]{1,12}", "[0-9a-f:./]{0,20}", "/[0-9]{0,4}",
                    ],
                    0..4,
                ),
            ),
            0..12,
        ),
    ) {
        let text: String = lines
            .iter()
            .map(|(k, fields)| format!("{k} {}\n", fields.join(" ")))
            .collect();
        if let Ok(policy) = Policy::from_gai_conf(&text) {
            // Whatever it accepted must be usable.
            let mut dests = vec![
                Destination::unreachable("192.0.2.1".parse().unwrap()),
                Destination::unreachable("2001:db8::1".parse().unwrap()),
            ];
            sort(&policy, &mut dests);
            let _ = policy.scope("10.0.0.1".parse().unwrap());
        } else if let Err(err) = Policy::from_gai_conf(&text) {
            prop_assert!(err.line() >= 1);
            prop_assert!(err.to_string().starts_with("gai.conf line "));
        }
    }
}
