//! Parsing dumps captured from a Linux 6.x kernel (x86-64, little-endian).
//!
//! `teredo-ns` is a network namespace holding a veth `fxa` (192.0.2.2/24;
//! 2001:db8::2 usable, ::3 deprecated, ::4 tentative, ::5 dadfailed), a
//! `tun` device `teredo` with 2001:0:c633:640a:8000:f227:bd6a:13fe/32, an
//! IPv4 default route, 2000::/3 via fxa, ::/0 via teredo and an unreachable
//! 2001:db8:dead::/48. `host` is the build machine's own namespace.
//! `capture_fixtures` in `src/sys/linux.rs` wrote them. These tests use
//! only the public parsing API and need no privileges.

use std::net::IpAddr;

use proptest::prelude::*;

use iface_probe::netlink::{Body, ParseError, parse_messages};
use iface_probe::{AddrKind, LinkKind, RouteKind, Snapshot};

const NS_LINKS: &[u8] = include_bytes!("../fixtures/teredo-ns/links.bin");
const NS_ADDRS: &[u8] = include_bytes!("../fixtures/teredo-ns/addrs.bin");
const NS_ROUTES: &[u8] = include_bytes!("../fixtures/teredo-ns/routes.bin");
const HOST_LINKS: &[u8] = include_bytes!("../fixtures/host/links.bin");
const HOST_ADDRS: &[u8] = include_bytes!("../fixtures/host/addrs.bin");
const HOST_ROUTES: &[u8] = include_bytes!("../fixtures/host/routes.bin");

fn snapshot(parts: &[&[u8]]) -> Snapshot {
    let msgs = parts.iter().flat_map(|p| parse_messages(p).unwrap());
    let mut snap = Snapshot::from_messages(msgs);
    snap.routes
        .retain(|r| r.table == iface_probe::RT_TABLE_MAIN);
    snap
}

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

#[test]
fn every_dump_ends_with_done() {
    for bytes in [
        NS_LINKS,
        NS_ADDRS,
        NS_ROUTES,
        HOST_LINKS,
        HOST_ADDRS,
        HOST_ROUTES,
    ] {
        let msgs = parse_messages(bytes).unwrap();
        assert_eq!(msgs.last().unwrap().body, Body::Done);
        assert!(msgs.iter().all(|m| m.sequence == msgs[0].sequence));
    }
}

#[test]
fn namespace_links() {
    let snap = snapshot(&[NS_LINKS, NS_ADDRS, NS_ROUTES]);
    let names: Vec<&str> = snap.interfaces.iter().map(|i| i.name.as_str()).collect();
    assert_eq!(names, ["lo", "fxa", "teredo"]);
    let lo = snap.interface_by_name("lo").unwrap();
    assert_eq!(lo.kind, LinkKind::Loopback);
    assert_eq!(lo.link_type, 772);
    assert!(lo.up && lo.loopback && lo.is_loopback());
    assert_eq!(lo.mtu, 65536);
    let fxa = snap.interface_by_name("fxa").unwrap();
    assert_eq!(fxa.kind, LinkKind::Veth);
    assert!(fxa.up && fxa.running);
    assert_eq!(fxa.oper_state, iface_probe::OperState::Up);
    assert_eq!(fxa.mtu, 1500);
    let teredo = snap.interface_by_name("teredo").unwrap();
    assert_eq!(teredo.kind, LinkKind::Tun);
    assert_eq!(teredo.link_type, 0xfffe);
    assert!(teredo.kind.is_tunnel());
    // No process holds the tun device open: up, but no carrier.
    assert!(teredo.up && !teredo.running);
    assert_eq!(teredo.oper_state, iface_probe::OperState::Down);
}

#[test]
fn namespace_addresses() {
    let snap = snapshot(&[NS_LINKS, NS_ADDRS, NS_ROUTES]);
    let fxa = snap.interface_by_name("fxa").unwrap();
    let addr = |s: &str| fxa.addresses.iter().find(|a| a.ip == ip(s)).unwrap();
    let v4 = addr("192.0.2.2");
    assert_eq!(
        (v4.prefix_len, v4.scope, v4.class),
        (24, 0, AddrKind::Ipv4Documentation)
    );
    assert_eq!(v4.label.as_deref(), Some("fxa"));
    assert!(v4.flags.permanent() && v4.is_usable());
    assert_eq!((v4.preferred_lft, v4.valid_lft), (None, None));

    let ok = addr("2001:db8::2");
    assert!(ok.flags.nodad() && ok.flags.permanent() && ok.is_usable());
    assert_eq!(ok.prefix_len, 64);

    let deprecated = addr("2001:db8::3");
    assert!(deprecated.flags.deprecated() && !deprecated.is_usable());
    assert_eq!(
        (deprecated.preferred_lft, deprecated.valid_lft),
        (Some(0), None)
    );

    let tentative = addr("2001:db8::4");
    assert!(tentative.flags.tentative() && !tentative.flags.dadfailed());
    assert!(!tentative.is_usable());

    let failed = addr("2001:db8::5");
    assert!(failed.flags.dadfailed() && !failed.is_usable());
    assert_eq!(failed.flags.to_string(), "dadfailed tentative permanent");

    let ll = fxa
        .addresses
        .iter()
        .find(|a| a.class == AddrKind::LinkLocal)
        .unwrap();
    assert_eq!(ll.scope, 253);

    let teredo = &snap.interface_by_name("teredo").unwrap().addresses;
    assert_eq!(teredo.len(), 1);
    assert_eq!(teredo[0].ip, ip("2001:0:c633:640a:8000:f227:bd6a:13fe"));
    assert_eq!(
        (teredo[0].prefix_len, teredo[0].class),
        (32, AddrKind::Teredo)
    );
}

#[test]
fn namespace_routes() {
    let snap = snapshot(&[NS_LINKS, NS_ADDRS, NS_ROUTES]);
    let fxa = snap.interface_by_name("fxa").unwrap().index;
    let teredo = snap.interface_by_name("teredo").unwrap().index;
    let find = |dst: Option<(&str, u8)>, v6: bool| {
        snap.routes
            .iter()
            .find(|r| {
                r.dst == dst.map(|(a, l)| (ip(a), l))
                    && (r.family == iface_probe::Family::Ipv6) == v6
            })
            .unwrap()
    };
    let d4 = find(None, false);
    assert_eq!(
        (d4.oif, d4.gateway, d4.kind),
        (Some(fxa), Some(ip("192.0.2.1")), RouteKind::Unicast)
    );
    let d6 = find(None, true);
    assert_eq!((d6.oif, d6.gateway, d6.metric), (Some(teredo), None, 1029));
    let g = find(Some(("2000::", 3)), true);
    assert_eq!((g.oif, g.gateway), (Some(fxa), Some(ip("2001:db8::1"))));
    let un = find(Some(("2001:db8:dead::", 48)), true);
    assert_eq!(un.kind, RouteKind::Unreachable);
    let connected = find(Some(("192.0.2.0", 24)), false);
    assert_eq!(connected.pref_src, Some(ip("192.0.2.2")));
    assert!(
        snap.routes
            .iter()
            .all(|r| r.table == iface_probe::RT_TABLE_MAIN)
    );
}

#[test]
fn namespace_capabilities() {
    let snap = snapshot(&[NS_LINKS, NS_ADDRS, NS_ROUTES]);
    let caps = snap.capabilities();
    assert!(caps.ipv4 && caps.native_ipv6);
    // No process holds the tun: the kernel would still route Teredo
    // through it, but it is not running, so it gives no capability.
    assert!(!caps.teredo && !caps.teredo_only && !caps.sixtofour);
    let teredo = snap.interface_by_name("teredo").unwrap();
    assert!(!teredo.is_operational());
    assert_eq!(
        snap.reach().teredo.map(|p| p.oif),
        Some(teredo.index),
        "the main table sends Teredo through the tun"
    );
    let order: Vec<&str> = snap
        .interfaces_in_preference_order()
        .iter()
        .map(|i| i.name.as_str())
        .collect();
    assert_eq!(order, ["fxa", "teredo", "lo"]);
}

#[test]
fn host_dump_parses() {
    let snap = snapshot(&[HOST_LINKS, HOST_ADDRS, HOST_ROUTES]);
    assert!(snap.interface_by_name("lo").is_some());
    assert!(snap.interfaces.len() >= 2);
    assert!(!snap.routes.is_empty());
}

#[test]
fn every_truncation_is_an_error_not_a_panic() {
    for bytes in [NS_LINKS, NS_ADDRS, NS_ROUTES, HOST_LINKS] {
        let boundaries: Vec<usize> = {
            let mut b = vec![0];
            let mut at = 0;
            while at < bytes.len() {
                let len = u32::from_ne_bytes(bytes[at..at + 4].try_into().unwrap()) as usize;
                at += (len + 3) & !3;
                b.push(at);
            }
            b
        };
        for cut in 0..bytes.len() {
            let result = parse_messages(&bytes[..cut]);
            if boundaries.contains(&cut) {
                assert!(result.is_ok(), "cut at message boundary {cut}");
            } else {
                assert!(result.is_err(), "cut at {cut} parsed");
            }
        }
    }
}

#[test]
fn truncated_message_reports_offset_and_lengths() {
    let first_len = u32::from_ne_bytes(NS_ADDRS[..4].try_into().unwrap()) as usize;
    let second_len =
        u32::from_ne_bytes(NS_ADDRS[first_len..first_len + 4].try_into().unwrap()) as usize;
    let cut = first_len + 20;
    let err = parse_messages(&NS_ADDRS[..cut]).unwrap_err();
    assert_eq!(
        err,
        ParseError::Truncated {
            offset: first_len,
            length: second_len as u32,
            remaining: 20
        }
    );
    assert_eq!(
        err.to_string(),
        format!(
            "netlink message at offset {first_len} is truncated: header says {second_len} bytes, 20 remain"
        )
    );
}

#[test]
fn corrupt_attribute_is_a_payload_error() {
    // Shrink the first attribute of the first address message below its
    // 4-byte header: rta_len 2.
    let mut bytes = NS_ADDRS.to_vec();
    // nlmsghdr (16) + ifaddrmsg (8) = the first rtattr.
    bytes[24..26].copy_from_slice(&2u16.to_ne_bytes());
    let err = parse_messages(&bytes).unwrap_err();
    assert!(
        matches!(
            err,
            ParseError::Payload {
                offset: 0,
                message_type: 20,
                ..
            }
        ),
        "{err:?}"
    );
    assert!(
        err.to_string()
            .starts_with("rtm_newaddr message at offset 0 could not be decoded: "),
        "{err}"
    );
}

#[test]
fn header_length_past_the_end() {
    let mut bytes = NS_LINKS.to_vec();
    bytes[..4].copy_from_slice(&u32::MAX.to_ne_bytes());
    let err = parse_messages(&bytes).unwrap_err();
    assert!(matches!(
        err,
        ParseError::Truncated {
            offset: 0,
            length: u32::MAX,
            ..
        }
    ));
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn random_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        let _ = parse_messages(&bytes);
    }

    #[test]
    fn random_payloads_behind_valid_headers_never_panic(
        ty in prop_oneof![
            Just(2u16), Just(3), Just(16), Just(17), Just(20), Just(21), Just(24)
        ],
        payload in proptest::collection::vec(any::<u8>(), 0..300),
    ) {
        let mut bytes = Vec::new();
        bytes.extend_from_slice(&(16 + payload.len() as u32).to_ne_bytes());
        bytes.extend_from_slice(&ty.to_ne_bytes());
        bytes.extend_from_slice(&[0; 10]);
        bytes.extend_from_slice(&payload);
        let _ = parse_messages(&bytes);
    }

    #[test]
    fn corrupted_fixture_bytes_never_panic(
        which in 0usize..3,
        flips in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..8),
    ) {
        let mut bytes = [NS_LINKS, NS_ADDRS, NS_ROUTES][which].to_vec();
        for (at, value) in flips {
            let i = at.index(bytes.len());
            bytes[i] = value;
        }
        let _ = parse_messages(&bytes);
    }
}
