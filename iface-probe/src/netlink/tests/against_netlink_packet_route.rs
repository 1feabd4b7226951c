//! Messages built and serialized by `netlink-packet-route` must decode to
//! what that crate itself reads in them; and our requests must serialize
//! as it serializes the same requests.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use netlink_packet_core::{
    NLM_F_DUMP, NLM_F_REQUEST, NetlinkHeader, NetlinkMessage, NetlinkPayload,
};
use netlink_packet_route::address::{AddressAttribute, AddressHeaderFlags, AddressMessage};
use netlink_packet_route::link::{LinkAttribute, LinkFlags, LinkInfo, LinkMessage};
use netlink_packet_route::route::{
    RouteAddress, RouteAttribute, RouteCacheInfo, RouteMessage, RouteNextHop, RoutePreference,
    RouteProtocol, RouteScope, RouteType, RouteVia,
};
use netlink_packet_route::{AddressFamily, RouteNetlinkMessage};
use proptest::prelude::*;

use super::super::request::{self, Dump};
use super::super::{Body, lookup_replies, parse_messages};
use crate::model::RouteKind;
use crate::model::{AddrFlags, Address, Family, Interface, NextHop, OperState, Route};
use crate::source::Dest;

/// One message as `netlink-packet-route` serializes it.
fn serialized(msg: RouteNetlinkMessage, flags: u16, sequence: u32) -> Vec<u8> {
    let mut header = NetlinkHeader::default();
    header.sequence_number = sequence;
    header.flags = flags;
    let mut nl = NetlinkMessage::new(header, NetlinkPayload::from(msg));
    nl.finalize();
    let mut buf = vec![0; nl.buffer_len()];
    nl.serialize(&mut buf);
    buf
}

fn only_body(bytes: &[u8]) -> Body {
    let mut msgs = parse_messages(bytes).unwrap();
    assert_eq!(msgs.len(), 1);
    msgs.remove(0).body
}

// What `netlink-packet-route`'s decoding holds, in this crate's types.

fn expected_link(msg: &LinkMessage) -> Interface {
    let header = &msg.header;
    let mut iface = Interface::new(header.index, "");
    iface.flags = header.flags.bits();
    iface.up = header.flags.contains(LinkFlags::Up);
    iface.running = header.flags.contains(LinkFlags::Running);
    iface.loopback = header.flags.contains(LinkFlags::Loopback);
    iface.carrier = Some(header.flags.contains(LinkFlags::LowerUp));
    iface.link_type = u16::from(header.link_layer_type);
    let mut kind = None;
    for attr in &msg.attributes {
        match attr {
            LinkAttribute::IfName(name) => iface.name.clone_from(name),
            LinkAttribute::Mtu(mtu) => iface.mtu = *mtu,
            LinkAttribute::OperState(state) => {
                iface.oper_state = OperState::from_raw(u8::from(*state));
            }
            LinkAttribute::Carrier(c) => iface.carrier = Some(*c != 0),
            LinkAttribute::LinkInfo(infos) => {
                for info in infos {
                    if let LinkInfo::Kind(k) = info {
                        kind = Some(k.to_string());
                    }
                }
            }
            _ => {}
        }
    }
    iface.kind = super::super::link::kind(kind.as_deref(), iface.link_type);
    iface
}

fn expected_address(msg: &AddressMessage) -> Option<(u32, Address)> {
    let header = &msg.header;
    let mut local = None;
    let mut address = None;
    let mut flags = AddrFlags::from_bits(u32::from(header.flags.bits()));
    let mut lifetimes = (None, None);
    let mut label = None;
    let life = |s: u32| (s != u32::MAX).then_some(s);
    for attr in &msg.attributes {
        match attr {
            AddressAttribute::Local(ip) => local = Some(*ip),
            AddressAttribute::Address(ip) => address = Some(*ip),
            AddressAttribute::Flags(f) => flags = AddrFlags::from_bits(f.bits()),
            AddressAttribute::CacheInfo(ci) => {
                lifetimes = (life(ci.ifa_preferred), life(ci.ifa_valid));
            }
            AddressAttribute::Label(l) => label = Some(l.clone()),
            _ => {}
        }
    }
    let ip = local.or(address)?;
    let mut addr = Address::new(ip, header.prefix_len);
    addr.scope = u8::from(header.scope);
    addr.flags = flags;
    (addr.preferred_lft, addr.valid_lft) = lifetimes;
    addr.label = label;
    Some((header.index, addr))
}

fn route_ip(addr: &RouteAddress) -> Option<IpAddr> {
    match addr {
        RouteAddress::Inet(v4) => Some(IpAddr::V4(*v4)),
        RouteAddress::Inet6(v6) => Some(IpAddr::V6(*v6)),
        _ => None,
    }
}

fn via_ip(via: &RouteVia) -> Option<IpAddr> {
    match via {
        RouteVia::Inet(v4) => Some(IpAddr::V4(*v4)),
        RouteVia::Inet6(v6) => Some(IpAddr::V6(*v6)),
        _ => None,
    }
}

fn expected_route(msg: &RouteMessage) -> Route {
    let header = &msg.header;
    let family = match header.address_family {
        AddressFamily::Inet => Family::Ipv4,
        _ => Family::Ipv6,
    };
    let mut route = Route::new(family, None);
    route.table = u32::from(header.table);
    route.kind = RouteKind::from_raw(u8::from(header.kind));
    route.scope = u8::from(header.scope);
    route.protocol = u8::from(header.protocol);
    route.flags = header.flags.bits();
    for attr in &msg.attributes {
        match attr {
            RouteAttribute::Destination(dst) if header.destination_prefix_length > 0 => {
                route.dst = route_ip(dst).map(|ip| (ip, header.destination_prefix_length));
            }
            RouteAttribute::Oif(oif) => route.oif = Some(*oif),
            RouteAttribute::Gateway(gw) => route.gateway = route_ip(gw),
            RouteAttribute::Via(via) => route.gateway = via_ip(via),
            RouteAttribute::PrefSource(src) => route.pref_src = route_ip(src),
            RouteAttribute::Table(table) => route.table = *table,
            RouteAttribute::Priority(metric) => route.metric = *metric,
            RouteAttribute::MultiPath(hops) => {
                route.multipath = hops
                    .iter()
                    .map(|hop| NextHop {
                        oif: hop.interface_index,
                        gateway: hop.attributes.iter().find_map(|a| match a {
                            RouteAttribute::Gateway(gw) => route_ip(gw),
                            RouteAttribute::Via(via) => via_ip(via),
                            _ => None,
                        }),
                    })
                    .collect();
            }
            _ => {}
        }
    }
    route
}

/// A route message to build: the header's fields and which attributes
/// to add.
#[derive(Debug, Clone, Default)]
struct RouteSpec {
    v6: bool,
    /// Clamped to the family's address length.
    dst_len: u8,
    /// The destination; the gateway, preferred source and next hops
    /// differ from it in the last byte (IPv4 uses the last four).
    bytes: [u8; 16],
    oif: Option<u32>,
    gateway: bool,
    pref_src: bool,
    table: Option<u32>,
    metric: Option<u32>,
    /// Attributes the decoder skips.
    other: bool,
    /// Two next hops.
    multipath: bool,
    /// rtm_table, rtm_protocol, rtm_scope, rtm_type.
    head: (u8, u8, u8, u8),
}

fn built_route(spec: &RouteSpec) -> RouteMessage {
    let RouteSpec {
        v6,
        dst_len,
        bytes,
        oif,
        gateway,
        pref_src,
        table,
        metric,
        other,
        multipath,
        head,
    } = spec.clone();
    let addr = |salt: u8| {
        let mut b = bytes;
        b[15] ^= salt;
        if v6 {
            RouteAddress::Inet6(Ipv6Addr::from(b))
        } else {
            RouteAddress::Inet(Ipv4Addr::new(b[12], b[13], b[14], b[15]))
        }
    };
    let mut msg = RouteMessage::default();
    msg.header.address_family = if v6 {
        AddressFamily::Inet6
    } else {
        AddressFamily::Inet
    };
    msg.header.destination_prefix_length = dst_len.min(if v6 { 128 } else { 32 });
    msg.header.table = head.0;
    msg.header.protocol = RouteProtocol::from(head.1);
    msg.header.scope = RouteScope::from(head.2);
    msg.header.kind = RouteType::from(head.3);
    if msg.header.destination_prefix_length > 0 {
        msg.attributes.push(RouteAttribute::Destination(addr(0)));
    }
    if other {
        // What the kernel adds to lookup replies and dumps.
        msg.attributes.push(RouteAttribute::Mark(7));
        msg.attributes.push(RouteAttribute::Uid(1000));
        msg.attributes
            .push(RouteAttribute::Preference(RoutePreference::Medium));
        let cache_info = RouteCacheInfo::parse(&[1; 32]).expect("32 bytes");
        msg.attributes.push(RouteAttribute::CacheInfo(cache_info));
        // RTA_EXPIRES is 64 bits in multicast routes, 32 elsewhere.
        if head.3 != 5 {
            msg.attributes.push(RouteAttribute::Expires(300));
        }
    }
    if let Some(oif) = oif {
        msg.attributes.push(RouteAttribute::Oif(oif));
    }
    if gateway {
        msg.attributes.push(RouteAttribute::Gateway(addr(1)));
    }
    if pref_src {
        msg.attributes.push(RouteAttribute::PrefSource(addr(2)));
    }
    if let Some(table) = table {
        msg.attributes.push(RouteAttribute::Table(table));
    }
    if let Some(metric) = metric {
        msg.attributes.push(RouteAttribute::Priority(metric));
    }
    if multipath {
        let hop = |index, salt| {
            let mut hop = RouteNextHop::default();
            hop.interface_index = index;
            hop.attributes = vec![RouteAttribute::Gateway(addr(salt))];
            hop
        };
        msg.attributes
            .push(RouteAttribute::MultiPath(vec![hop(2, 3), hop(3, 4)]));
    }
    msg
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1000))]

    #[test]
    fn routes_decode_as_netlink_packet_route_reads_them(
        v6: bool,
        dst_len: u8,
        bytes: [u8; 16],
        oif: Option<u32>,
        gateway: bool,
        pref_src: bool,
        table: Option<u32>,
        metric: Option<u32>,
        other: bool,
        multipath: bool,
        head: (u8, u8, u8, u8),
        sequence: u32,
    ) {
        let msg = built_route(&RouteSpec {
            v6, dst_len, bytes, oif, gateway, pref_src, table, metric, other, multipath, head,
        });
        let wire = serialized(RouteNetlinkMessage::NewRoute(msg.clone()), 0, sequence);
        let expected = expected_route(&msg);
        prop_assert_eq!(only_body(&wire), Body::Route(expected.clone()));
        let mut got = Vec::new();
        lookup_replies(&wire, |seq, r| got.push((seq, r))).unwrap();
        prop_assert_eq!(got, vec![(sequence, Ok(expected))]);
    }

    #[test]
    fn links_decode_as_netlink_packet_route_reads_them(
        index: u32,
        flags: u32,
        link_type: u16,
        name in "[a-z0-9]{0,15}",
        mtu: Option<u32>,
        oper: Option<u8>,
        carrier: Option<u8>,
        kind in proptest::option::of("[a-z0-9]{1,10}"),
        removal: bool,
    ) {
        let mut msg = LinkMessage::default();
        msg.header.index = index;
        msg.header.flags = LinkFlags::from_bits_retain(flags);
        msg.header.link_layer_type = link_type.into();
        msg.attributes.push(LinkAttribute::IfName(name));
        if let Some(mtu) = mtu {
            msg.attributes.push(LinkAttribute::Mtu(mtu));
        }
        if let Some(oper) = oper {
            msg.attributes.push(LinkAttribute::OperState(oper.into()));
        }
        if let Some(carrier) = carrier {
            msg.attributes.push(LinkAttribute::Carrier(carrier));
        }
        if let Some(kind) = kind {
            msg.attributes.push(LinkAttribute::LinkInfo(vec![LinkInfo::Kind(kind.as_str().into())]));
        }
        let expected = expected_link(&msg);
        if removal {
            let wire = serialized(RouteNetlinkMessage::DelLink(msg), 0, 1);
            prop_assert_eq!(only_body(&wire), Body::LinkRemoved(expected));
        } else {
            let wire = serialized(RouteNetlinkMessage::NewLink(msg), 0, 1);
            prop_assert_eq!(only_body(&wire), Body::Link(expected));
        }
    }

    #[test]
    fn addresses_decode_as_netlink_packet_route_reads_them(
        v6: bool,
        bytes: [u8; 16],
        prefix_len: u8,
        header_flags: u8,
        index: u32,
        scope: u8,
        local: bool,
        address: bool,
        flags: Option<u32>,
        lifetimes: Option<(u32, u32)>,
        label in proptest::option::of("[a-z0-9:]{1,15}"),
    ) {
        let ip = |salt: u8| {
            let mut b = bytes;
            b[15] ^= salt;
            if v6 { IpAddr::from(b) } else { IpAddr::from([b[12], b[13], b[14], b[15]]) }
        };
        let mut msg = AddressMessage::default();
        msg.header.family = if v6 { AddressFamily::Inet6 } else { AddressFamily::Inet };
        msg.header.prefix_len = prefix_len;
        msg.header.flags = AddressHeaderFlags::from_bits_retain(header_flags);
        msg.header.index = index;
        msg.header.scope = scope.into();
        if local {
            msg.attributes.push(AddressAttribute::Local(ip(1)));
        }
        if address {
            msg.attributes.push(AddressAttribute::Address(ip(2)));
        }
        if let Some(f) = flags {
            msg.attributes.push(AddressAttribute::Flags(
                netlink_packet_route::address::AddressFlags::from_bits_retain(f),
            ));
        }
        if let Some((preferred, valid)) = lifetimes {
            let mut ci = netlink_packet_route::address::CacheInfo::default();
            ci.ifa_preferred = preferred;
            ci.ifa_valid = valid;
            ci.cstamp = 5;
            ci.tstamp = 6;
            msg.attributes.push(AddressAttribute::CacheInfo(ci));
        }
        if let Some(label) = label {
            msg.attributes.push(AddressAttribute::Label(label));
        }
        let wire = serialized(RouteNetlinkMessage::NewAddress(msg.clone()), 0, 1);
        let body = only_body(&wire);
        match expected_address(&msg) {
            Some((index, address)) => prop_assert_eq!(body, Body::Address { index, address }),
            None => prop_assert_eq!(body, Body::Ignored(20)),
        }
    }
}

/// The lookup request as `netlink-packet-route` builds and serializes it.
fn reference_lookup(dest: Dest, sequence: u32) -> Vec<u8> {
    let mut msg = RouteMessage::default();
    match dest.lookup_ip() {
        IpAddr::V4(v4) => {
            msg.header.address_family = AddressFamily::Inet;
            msg.header.destination_prefix_length = 32;
            msg.attributes
                .push(RouteAttribute::Destination(RouteAddress::Inet(v4)));
        }
        IpAddr::V6(v6) => {
            msg.header.address_family = AddressFamily::Inet6;
            msg.header.destination_prefix_length = 128;
            msg.attributes
                .push(RouteAttribute::Destination(RouteAddress::Inet6(v6)));
        }
    }
    if let Some(oif) = dest.scope_id {
        msg.attributes.push(RouteAttribute::Oif(oif));
    }
    serialized(RouteNetlinkMessage::GetRoute(msg), NLM_F_REQUEST, sequence)
}

#[test]
fn lookups_encode_as_netlink_packet_route_does() {
    let dests = [
        Dest::from("192.0.2.1".parse::<IpAddr>().unwrap()),
        Dest::from("2001:db8::1".parse::<IpAddr>().unwrap()),
        Dest::from("::ffff:192.0.2.9".parse::<IpAddr>().unwrap()),
        Dest::new("fe80::1".parse().unwrap(), Some(4)),
        Dest::new("fe80::1".parse().unwrap(), Some(0)),
    ];
    for (i, dest) in dests.into_iter().enumerate() {
        let seq = 0x0102_0304 + i as u32;
        let mut ours = vec![0xaa];
        request::lookup(&mut ours, seq, dest);
        assert_eq!(ours[1..], reference_lookup(dest, seq), "{dest:?}");
        assert_eq!(ours.len() % 4, 1, "{dest:?}: aligned");
    }
}

#[test]
fn dumps_encode_as_netlink_packet_route_does() {
    let flags = NLM_F_REQUEST | NLM_F_DUMP;
    for (what, reference) in [
        (
            Dump::Links,
            RouteNetlinkMessage::GetLink(LinkMessage::default()),
        ),
        (
            Dump::Addresses,
            RouteNetlinkMessage::GetAddress(AddressMessage::default()),
        ),
        (
            Dump::Routes,
            RouteNetlinkMessage::GetRoute(RouteMessage::default()),
        ),
        (
            Dump::Ipv4Routes,
            RouteNetlinkMessage::GetRoute({
                let mut msg = RouteMessage::default();
                msg.header.address_family = AddressFamily::Inet;
                msg
            }),
        ),
    ] {
        let mut ours = Vec::new();
        request::dump(&mut ours, what, 42);
        assert_eq!(ours, serialized(reference, flags, 42), "{what:?}");
    }
}
