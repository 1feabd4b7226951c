//! The decoder on hand-built messages, and (on Linux, where it builds)
//! against `netlink-packet-route`, an independent implementation: the
//! same messages, serialized by it, must decode to what its own decoding
//! says they hold.

use super::consts::*;
use super::*;
use crate::model::{Family, RouteKind};

fn header(len: u32, ty: u16, flags: u16, seq: u32) -> Vec<u8> {
    let mut v = Vec::new();
    v.extend_from_slice(&len.to_ne_bytes());
    v.extend_from_slice(&ty.to_ne_bytes());
    v.extend_from_slice(&flags.to_ne_bytes());
    v.extend_from_slice(&seq.to_ne_bytes());
    v.extend_from_slice(&0u32.to_ne_bytes());
    v
}

/// Appends an attribute, padded to 4 bytes.
fn nla(out: &mut Vec<u8>, kind: u16, value: &[u8]) {
    out.extend_from_slice(&(4 + value.len() as u16).to_ne_bytes());
    out.extend_from_slice(&kind.to_ne_bytes());
    out.extend_from_slice(value);
    out.resize(out.len().next_multiple_of(4), 0);
}

/// A whole message: header, then `body`.
fn message(ty: u16, seq: u32, body: &[u8]) -> Vec<u8> {
    let mut out = header(16 + body.len() as u32, ty, 0, seq);
    out.extend_from_slice(body);
    out.resize(out.len().next_multiple_of(4), 0);
    out
}

fn bodies(bytes: &[u8]) -> Vec<Body> {
    parse_messages(bytes)
        .unwrap()
        .into_iter()
        .map(|m| m.body)
        .collect()
}

#[test]
fn empty_buffer_is_no_messages() {
    assert_eq!(parse_messages(&[]), Ok(vec![]));
}

#[test]
fn short_header_is_an_error() {
    let err = parse_messages(&[0; 7]).unwrap_err();
    assert_eq!(
        err.to_string(),
        "netlink message header at offset 0 is truncated: 16 bytes needed, 7 remain"
    );
}

#[test]
fn length_below_header_is_an_error() {
    let err = parse_messages(&header(3, NLMSG_DONE, 0, 0)).unwrap_err();
    assert_eq!(
        err,
        ParseError::BadLength {
            offset: 0,
            length: 3
        }
    );
    assert!(err.to_string().contains("length 3"));
}

#[test]
fn error_message_gives_positive_errno() {
    let mut bytes = header(36, NLMSG_ERROR, 0, 9);
    bytes.extend_from_slice(&(-101i32).to_ne_bytes());
    bytes.extend_from_slice(&header(16, 26, 1, 9));
    let msgs = parse_messages(&bytes).unwrap();
    assert_eq!(msgs.len(), 1);
    assert_eq!(msgs[0].sequence, 9);
    assert_eq!(msgs[0].body, Body::Error { errno: 101 });
}

#[test]
fn error_message_without_code_is_an_error() {
    let mut bytes = header(16, NLMSG_DONE, 0, 0);
    bytes.extend(header(18, NLMSG_ERROR, 0, 0));
    bytes.extend_from_slice(&[0, 0]);
    let err = parse_messages(&bytes).unwrap_err();
    assert_eq!(
        err.to_string(),
        "nlmsg_error message at offset 16 could not be decoded: \
         error code needs 4 bytes, 2 present"
    );
}

#[test]
fn failed_dump_is_an_error() {
    let mut bytes = header(20, NLMSG_DONE, NLM_F_MULTI, 4);
    bytes.extend_from_slice(&(-16i32).to_ne_bytes());
    assert_eq!(bodies(&bytes), [Body::Error { errno: 16 }]);
    let mut bytes = header(20, NLMSG_DONE, NLM_F_MULTI, 4);
    bytes.extend_from_slice(&0i32.to_ne_bytes());
    assert_eq!(bodies(&bytes), [Body::Done]);
}

#[test]
fn unknown_types_are_ignored() {
    assert_eq!(bodies(&header(16, 0x1234, 0, 0)), [Body::Ignored(0x1234)]);
}

#[test]
fn missing_padding_after_last_message_is_fine() {
    let mut bytes = header(17, 0x40, 0, 0);
    bytes.push(0);
    assert_eq!(parse_messages(&bytes).unwrap().len(), 1);
}

/// An `ifinfomsg` for interface `index` with `flags`, then attributes.
fn link_body(family: u8, index: u32, flags: u32, attrs: &[(u16, &[u8])]) -> Vec<u8> {
    let mut body = vec![family, 0];
    body.extend_from_slice(&0xfffeu16.to_ne_bytes()); // ARPHRD_NONE
    body.extend_from_slice(&index.to_ne_bytes());
    body.extend_from_slice(&flags.to_ne_bytes());
    body.extend_from_slice(&0u32.to_ne_bytes());
    for (kind, value) in attrs {
        nla(&mut body, *kind, value);
    }
    body
}

/// An `ifaddrmsg` then attributes.
fn addr_body(family: u8, prefix: u8, flags: u8, index: u32, attrs: &[(u16, &[u8])]) -> Vec<u8> {
    let mut body = vec![family, prefix, flags, 0];
    body.extend_from_slice(&index.to_ne_bytes());
    for (kind, value) in attrs {
        nla(&mut body, *kind, value);
    }
    body
}

#[test]
fn links_decode_name_kind_state_and_carrier() {
    let mut info = Vec::new();
    nla(&mut info, IFLA_INFO_KIND, b"tun\0");
    let body = link_body(
        AF_UNSPEC,
        4,
        IFF_UP,
        &[
            (IFLA_IFNAME, b"teredo\0"),
            (IFLA_MTU, &1280u32.to_ne_bytes()),
            (IFLA_OPERSTATE, &[2]),
            (IFLA_CARRIER, &[0]),
            (0x8000 | IFLA_LINKINFO, &info),
        ],
    );
    let [Body::Link(link)] = &bodies(&message(RTM_NEWLINK, 1, &body))[..] else {
        panic!()
    };
    assert_eq!(
        (link.index, link.name.as_str(), link.mtu),
        (4, "teredo", 1280)
    );
    assert_eq!(link.kind, crate::LinkKind::Tun);
    assert!(link.up && !link.running && !link.loopback);
    assert_eq!(link.oper_state, crate::OperState::Down);
    assert_eq!(link.carrier, Some(false));
    assert!(!link.is_operational());
}

#[test]
fn removals_are_told_apart_from_additions() {
    let teredo: std::net::IpAddr = "2001:0:c633:640a:8000:f227:bd6a:13fe".parse().unwrap();
    let octets = match teredo {
        std::net::IpAddr::V6(v6) => v6.octets(),
        std::net::IpAddr::V4(_) => unreachable!(),
    };
    let link = link_body(AF_UNSPEC, 4, IFF_UP, &[(IFLA_IFNAME, b"teredo\0")]);
    let addr = addr_body(AF_INET6, 32, 0x40, 4, &[(IFA_ADDRESS, &octets)]);
    let mut bytes = message(RTM_NEWLINK, 1, &link);
    bytes.extend(message(RTM_NEWADDR, 1, &addr));
    bytes.extend(message(RTM_DELADDR, 1, &addr));
    bytes.extend(message(RTM_DELLINK, 1, &link));
    let bodies = bodies(&bytes);
    let [
        Body::Link(added),
        Body::Address { index: 4, address },
        Body::AddressRemoved {
            index: 4,
            address: gone,
        },
        Body::LinkRemoved(removed),
    ] = &bodies[..]
    else {
        panic!("{bodies:?}");
    };
    assert_eq!((added.name.as_str(), added.up), ("teredo", true));
    assert_eq!(added, removed);
    assert_eq!((address.ip, address.prefix_len), (teredo, 32));
    assert!(address.flags.tentative());
    assert_eq!(address, gone);
    // A port leaving a bridge is no removal.
    let port = link_body(AF_BRIDGE, 4, 0, &[]);
    assert_eq!(
        self::bodies(&message(RTM_DELLINK, 1, &port)),
        [Body::Ignored(RTM_DELLINK)]
    );
    // A dump never holds removals; a snapshot built from them ignores
    // them rather than guess.
    let snap = crate::Snapshot::from_messages(parse_messages(&bytes).unwrap());
    assert_eq!(snap.interfaces.len(), 1);
    assert_eq!(snap.interfaces[0].addresses.len(), 1);
}

#[test]
fn addresses_prefer_local_and_read_flags_lifetimes_label() {
    let mut cache = Vec::new();
    for v in [30u32, u32::MAX, 1, 2] {
        cache.extend_from_slice(&v.to_ne_bytes());
    }
    let body = addr_body(
        AF_INET,
        24,
        0x80,
        2,
        &[
            (IFA_ADDRESS, &[192, 0, 2, 9]),
            (IFA_LOCAL, &[192, 0, 2, 1]),
            (IFA_LABEL, b"eth0:1\0"),
            (IFA_FLAGS, &0x280u32.to_ne_bytes()),
            (IFA_CACHEINFO, &cache),
        ],
    );
    let [Body::Address { index: 2, address }] = &bodies(&message(RTM_NEWADDR, 1, &body))[..] else {
        panic!()
    };
    assert_eq!(address.ip.to_string(), "192.0.2.1");
    assert_eq!(address.flags.bits(), 0x280);
    assert_eq!((address.preferred_lft, address.valid_lft), (Some(30), None));
    assert_eq!(address.label.as_deref(), Some("eth0:1"));
    // No address at all: nothing to report.
    let bare = addr_body(AF_INET6, 64, 0, 2, &[]);
    assert_eq!(
        bodies(&message(RTM_NEWADDR, 1, &bare)),
        [Body::Ignored(RTM_NEWADDR)]
    );
}

#[test]
fn wrong_lengths_are_errors_that_name_the_attribute() {
    let body = addr_body(AF_INET6, 64, 0, 2, &[(IFA_ADDRESS, &[0; 5])]);
    let err = parse_messages(&message(RTM_NEWADDR, 1, &body)).unwrap_err();
    assert_eq!(
        err.to_string(),
        "rtm_newaddr message at offset 0 could not be decoded: \
         ifa_address has 5 bytes, 16 expected"
    );
    let short = message(RTM_NEWLINK, 1, &[0; 10]);
    assert!(
        parse_messages(&short)
            .unwrap_err()
            .to_string()
            .ends_with("ifinfomsg needs 16 bytes, 10 present")
    );
    let mut route = vec![AF_INET, 32, 0, 0, 254, 2, 0, 1, 0, 0, 0, 0];
    nla(&mut route, RTA_OIF, &[1, 2, 3]);
    let err = parse_messages(&message(RTM_NEWROUTE, 1, &route)).unwrap_err();
    assert!(
        err.to_string().ends_with("rta_oif has 3 bytes, 4 expected"),
        "{err}"
    );
}

#[test]
fn other_families_are_skipped_undecoded() {
    // RTM_NEWADDR of family AF_MCTP (45) with a one-byte IFA_LOCAL (an
    // MCTP endpoint id), which no IP decoder accepts; then an RTM_NEWROUTE
    // of family RTNL_FAMILY_IPMR (128).
    let mut mctp = vec![45, 0, 0, 0, 3, 0, 0, 0];
    nla(&mut mctp, IFA_LOCAL, &[9]);
    let mut bytes = message(RTM_NEWADDR, 1, &mctp);
    bytes.extend(message(
        RTM_NEWROUTE,
        1,
        &[128, 32, 0, 0, 252, 2, 0, 5, 0, 0, 0, 0],
    ));
    assert_eq!(
        bodies(&bytes),
        [Body::Ignored(RTM_NEWADDR), Body::Ignored(RTM_NEWROUTE)]
    );
    // An empty payload is no family at all: skipped too, not a panic.
    assert_eq!(
        bodies(&header(16, RTM_DELADDR, 0, 1)),
        [Body::Ignored(RTM_DELADDR)]
    );
}

#[test]
fn a_bad_removal_names_its_type() {
    // RTM_DELADDR whose first attribute claims 2 bytes.
    let mut bytes = header(16 + 8 + 4, RTM_DELADDR, 0, 0);
    bytes.extend_from_slice(&[10, 64, 0, 0, 4, 0, 0, 0]);
    bytes.extend_from_slice(&2u16.to_ne_bytes());
    bytes.extend_from_slice(&1u16.to_ne_bytes());
    let err = parse_messages(&bytes).unwrap_err();
    assert_eq!(
        err.to_string(),
        "rtm_deladdr message at offset 0 could not be decoded: \
         attribute 1 at byte 8 claims 2 bytes, less than its 4-byte header"
    );
}

#[test]
fn rules_and_route_removals_are_changes() {
    let mut bytes = message(RTM_NEWRULE, 1, &[10, 0, 0, 0, 100, 0, 0, 1, 0, 0, 0, 0]);
    bytes.extend(message(RTM_DELRULE, 1, &[]));
    let mut route = vec![AF_INET6, 0, 0, 0, 100, 3, 0, 1, 0, 0, 0, 0];
    nla(&mut route, RTA_OIF, &7u32.to_ne_bytes());
    bytes.extend(message(RTM_DELROUTE, 1, &route));
    let got = bodies(&bytes);
    assert_eq!(got[..2], [Body::RuleChanged, Body::RuleChanged]);
    let Body::RouteRemoved(r) = &got[2] else {
        panic!("{got:?}")
    };
    assert_eq!((r.table, r.oif, r.family), (100, Some(7), Family::Ipv6));
}

#[test]
fn multipath_and_via_routes() {
    let mut hops = Vec::new();
    for (index, gw) in [(2u32, [10u8, 0, 0, 1]), (3, [10, 0, 0, 2])] {
        let mut attrs = Vec::new();
        nla(&mut attrs, RTA_GATEWAY, &gw);
        hops.extend_from_slice(&((8 + attrs.len()) as u16).to_ne_bytes());
        hops.extend_from_slice(&[0, 0]);
        hops.extend_from_slice(&index.to_ne_bytes());
        hops.extend(attrs);
    }
    let mut route = vec![AF_INET, 0, 0, 0, 254, 3, 0, 1, 0, 0, 0, 0];
    nla(&mut route, RTA_MULTIPATH, &hops);
    let mut via = 10u16.to_ne_bytes().to_vec();
    via.extend_from_slice(&"fe80::1".parse::<Ipv6Addr>().unwrap().octets());
    let mut v4_via_v6 = vec![AF_INET, 0, 0, 0, 254, 3, 0, 1, 0, 0, 0, 0];
    nla(&mut v4_via_v6, RTA_VIA, &via);
    nla(&mut v4_via_v6, RTA_OIF, &2u32.to_ne_bytes());
    let mut bytes = message(RTM_NEWROUTE, 1, &route);
    bytes.extend(message(RTM_NEWROUTE, 1, &v4_via_v6));
    let got = bodies(&bytes);
    let [Body::Route(mp), Body::Route(v)] = &got[..] else {
        panic!("{got:?}")
    };
    assert!(mp.is_default() && mp.goes_through(3) && mp.kind == RouteKind::Unicast);
    assert_eq!(mp.multipath[1].gateway.unwrap().to_string(), "10.0.0.2");
    assert_eq!(v.gateway.unwrap().to_string(), "fe80::1");
    // A next hop that claims more than is there.
    let mut broken = vec![AF_INET, 0, 0, 0, 254, 3, 0, 1, 0, 0, 0, 0];
    nla(&mut broken, RTA_MULTIPATH, &[40, 0, 0, 0, 2, 0, 0, 0]);
    let err = parse_messages(&message(RTM_NEWROUTE, 3, &broken)).unwrap_err();
    assert!(
        err.to_string()
            .ends_with("rta_multipath next hop 0 claims 40 bytes, 8 remain"),
        "{err}"
    );
}

#[test]
fn lookup_replies_skip_other_messages_and_report_errors() {
    let mut route = vec![AF_INET, 32, 0, 0, 254, 2, 253, 1, 0, 0, 0, 0];
    nla(&mut route, RTA_DST, &[192, 0, 2, 1]);
    nla(&mut route, RTA_OIF, &3u32.to_ne_bytes());
    nla(&mut route, RTA_PREFSRC, &[192, 0, 2, 7]);
    let mut bytes = message(RTM_NEWROUTE, 5, &route);
    // An error reply for sequence 77: ENETUNREACH, with the request's
    // header echoed.
    bytes.extend_from_slice(&header(36, NLMSG_ERROR, 0, 77));
    bytes.extend_from_slice(&(-101i32).to_ne_bytes());
    bytes.extend_from_slice(&[0; 16]);
    // NLMSG_DONE and a link message: skipped.
    bytes.extend_from_slice(&header(20, NLMSG_DONE, NLM_F_MULTI, 5));
    bytes.extend_from_slice(&0u32.to_ne_bytes());
    bytes.extend_from_slice(&header(16, RTM_NEWLINK, 0, 5));
    let mut got = Vec::new();
    lookup_replies(&bytes, |seq, r| got.push((seq, r.map(|r| r.oif)))).unwrap();
    assert_eq!(got, [(5, Ok(Some(3))), (77, Err(101))]);
    // A cut in the last header is an error, not a silent stop.
    assert!(lookup_replies(&bytes[..bytes.len() - 1], |_, _| {}).is_err());
}

/// Cross-checks with `netlink-packet-route`, which builds only on Linux.
#[cfg(target_os = "linux")]
mod against_netlink_packet_route;

/// An `RTM_NEWNDUSEROPT` message as Linux 6.18 sent it for a Router
/// Advertisement carrying PREF64 `2001:db8:64::/96`, 600 s, on ifindex 2
/// from `fe80::e83a:40ff:fe43:69e9` (captured on a veth in a namespace).
const NDUSEROPT_PREF64: &str = "440000004400000000000000000000000a001000020000008600000000000000\
                                2602025820010db8006400000000000014000100fe80000000000000e83a40fffe4369e9";

fn hex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

/// An `RTM_NEWNDUSEROPT` built by hand: the header fields, the options,
/// then `NDUSEROPT_SRCADDR`.
fn nduseropt(family: u8, index: u32, icmp_type: u8, options: &[u8], src: Option<&str>) -> Vec<u8> {
    let mut body = vec![family, 0];
    body.extend_from_slice(&(options.len() as u16).to_ne_bytes());
    body.extend_from_slice(&index.to_ne_bytes());
    body.extend_from_slice(&[icmp_type, 0, 0, 0, 0, 0, 0, 0]);
    body.extend_from_slice(options);
    if let Some(src) = src {
        nla(
            &mut body,
            NDUSEROPT_SRCADDR,
            &src.parse::<Ipv6Addr>().unwrap().octets(),
        );
    }
    message(RTM_NEWNDUSEROPT, 0, &body)
}

#[test]
fn nduseropt_pref64_as_the_kernel_sends_it() {
    use std::time::Duration;
    let bodies = bodies(&hex(NDUSEROPT_PREF64));
    assert_eq!(
        bodies,
        [Body::RouterOptions {
            index: 2,
            router: Some("fe80::e83a:40ff:fe43:69e9".parse().unwrap()),
            options: vec![NdOption::Pref64(Ok(crate::Pref64Option::new(
                "2001:db8:64::/96".parse().unwrap(),
                Duration::from_secs(600)
            )))],
        }]
    );
}

#[test]
fn nduseropt_other_options_and_bad_pref64_contents() {
    // RDNSS (type 25, 24 bytes), then a PREF64 whose length code is 7.
    let mut options = vec![25, 3];
    options.resize(24, 0);
    options.extend_from_slice(&[38, 2, 0x02, 0x5f]);
    options.extend_from_slice(&[0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0]);
    let bytes = nduseropt(AF_INET6, 5, 134, &options, Some("fe80::1"));
    let Body::RouterOptions { index, options, .. } = &bodies(&bytes)[0] else {
        panic!("not router options");
    };
    assert_eq!(*index, 5);
    assert_eq!(options[0], NdOption::Other { kind: 25 });
    let NdOption::Pref64(Err(err)) = &options[1] else {
        panic!("{options:?}");
    };
    assert_eq!(
        err.to_string(),
        "PREF64 prefix length code 7 is not one RFC 8781 defines (0 to 5)"
    );
    // Without a source attribute, the router is unknown.
    let bytes = nduseropt(AF_INET6, 5, 134, &options_pref64(), None);
    assert!(matches!(
        &bodies(&bytes)[0],
        Body::RouterOptions { router: None, .. }
    ));
}

fn options_pref64() -> Vec<u8> {
    hex("2602025820010db80064000000000000")
}

#[test]
fn nduseropt_of_another_family_or_icmp_type_is_ignored() {
    let bytes = nduseropt(AF_INET, 2, 134, &options_pref64(), None);
    assert_eq!(bodies(&bytes), [Body::Ignored(RTM_NEWNDUSEROPT)]);
    let bytes = nduseropt(AF_INET6, 2, 137, &options_pref64(), None);
    assert_eq!(bodies(&bytes), [Body::Ignored(RTM_NEWNDUSEROPT)]);
}

#[test]
fn malformed_nduseropt_is_an_error_that_says_why() {
    let err = |bytes: &[u8]| parse_messages(bytes).unwrap_err().to_string();
    let short = message(RTM_NEWNDUSEROPT, 0, &[10, 0, 16, 0]);
    assert_eq!(
        err(&short),
        "rtm_newnduseropt message at offset 0 could not be decoded: \
         nduseroptmsg needs 16 bytes, 4 present"
    );
    // The options length runs past the message.
    let mut long = nduseropt(AF_INET6, 2, 134, &options_pref64(), None);
    long[18..20].copy_from_slice(&64u16.to_ne_bytes());
    assert!(err(&long).ends_with("nduseropt_opts_len says 64 bytes of options, 16 present"));
    // An option of length 0.
    let zero = nduseropt(AF_INET6, 2, 134, &[38, 0, 0, 0, 0, 0, 0, 0], None);
    assert!(err(&zero).ends_with("option 38 at byte 0 claims 0 bytes, 8 remain"));
    // An option claiming more than there is.
    let over = nduseropt(AF_INET6, 2, 134, &[38, 4, 0, 0, 0, 0, 0, 0], None);
    assert!(err(&over).ends_with("option 38 at byte 0 claims 32 bytes, 8 remain"));
    // A source attribute of the wrong size.
    let mut bad_src = nduseropt(AF_INET6, 2, 134, &options_pref64(), None);
    let mut attr = Vec::new();
    nla(&mut attr, NDUSEROPT_SRCADDR, &[0xfe, 0x80, 0, 0]);
    bad_src.extend_from_slice(&attr);
    let len = bad_src.len() as u32;
    bad_src[..4].copy_from_slice(&len.to_ne_bytes());
    assert!(err(&bad_src).ends_with("nduseropt_srcaddr has 4 bytes, 16 expected"));
}
