//! Routing messages in each system's layout: every header kind, the
//! socket addresses after it, the rounding between them, what counts as a
//! change, and malformed input.

use std::net::{IpAddr, Ipv4Addr};

use super::{Bytes, sdl, sin, sin6};
use crate::pfroute::{Abi, Body, Kind, Os, ParseError, Problem, SockAddr, messages, parse};

const RTA_DST: u32 = 0x1;
const RTA_GATEWAY: u32 = 0x2;
const RTA_NETMASK: u32 = 0x4;
const RTA_IFP: u32 = 0x10;
const RTA_IFA: u32 = 0x20;
const RTA_BRD: u32 = 0x80;

const RTF_UP: u32 = 0x1;
const RTF_GATEWAY: u32 = 0x2;
const RTF_HOST: u32 = 0x4;
const RTF_DONE: u32 = 0x40;
const RTF_LLINFO: u32 = 0x400;
const RTF_STATIC: u32 = 0x800;

/// Each system's facts, written out from its headers.
struct Sys {
    abi: Abi,
    version: u8,
    af_inet6: u8,
    /// The rounding unit of socket addresses.
    unit: usize,
    rtm_add: u8,
    rtm_newaddr: u8,
    rtm_deladdr: u8,
    rtm_ifinfo: u8,
    rtm_ifannounce: Option<u8>,
}

fn sys(os: Os) -> Sys {
    let base = Sys {
        abi: Abi::lp64(os),
        version: 5,
        af_inet6: 28,
        unit: 8,
        rtm_add: 0x1,
        rtm_newaddr: 0xc,
        rtm_deladdr: 0xd,
        rtm_ifinfo: 0xe,
        rtm_ifannounce: Some(0x11),
    };
    match os {
        Os::Apple => Sys {
            af_inet6: 30,
            unit: 4,
            rtm_ifannounce: None,
            ..base
        },
        Os::FreeBsd => base,
        Os::DragonFly => Sys { version: 7, ..base },
        Os::NetBsd => Sys {
            version: 4,
            af_inet6: 24,
            rtm_newaddr: 0x16,
            rtm_deladdr: 0x17,
            rtm_ifinfo: 0x14,
            rtm_ifannounce: Some(0x10),
            ..base
        },
        Os::OpenBsd => Sys {
            af_inet6: 24,
            rtm_ifannounce: Some(0xf),
            ..base
        },
    }
}

/// `struct rt_msghdr`, as each `net/route.h` lays it out (64-bit).
fn rt_header(os: Os, t: u8, addrs: u32, flags: u32, index: u16, errno: i32) -> Bytes {
    let s = sys(os);
    let common = |size| Bytes::zeros(size).u8(2, s.version).u8(3, t);
    match os {
        // u_short index; int flags, addrs; pid_t pid; int seq, errno,
        // use; u_int32_t inits; struct rt_metrics (14 x 4).
        Os::Apple => common(92)
            .u16(4, index)
            .u32(8, flags)
            .u32(12, addrs)
            .i32(16, 7)
            .i32(20, 9)
            .i32(24, errno),
        // u_short index, _rtm_spare1; int flags, addrs; pid_t pid; int
        // seq, errno, fmask; u_long inits; struct rt_metrics (14 x 8).
        // DragonFly: the same, with use for fmask.
        Os::FreeBsd | Os::DragonFly => common(152)
            .u16(4, index)
            .u32(8, flags)
            .u32(12, addrs)
            .i32(16, 7)
            .i32(20, 9)
            .i32(24, errno),
        // The same fields, int inits, then the 8-aligned rt_metrics (80).
        Os::NetBsd => common(120)
            .u16(4, index)
            .u32(8, flags)
            .u32(12, addrs)
            .i32(16, 7)
            .i32(20, 9)
            .i32(24, errno),
        // u_short hdrlen, index, tableid; u_char priority, mpls; int
        // addrs, flags, fmask; pid_t pid; int seq, errno; u_int inits;
        // struct rt_metrics (56).
        Os::OpenBsd => common(96)
            .u16(4, 96)
            .u16(6, index)
            .u32(12, addrs)
            .u32(16, flags)
            .i32(24, 7)
            .i32(28, 9)
            .i32(32, errno),
    }
}

/// `struct if_msghdr`.
fn if_header(os: Os, addrs: u32, flags: u32, index: u16) -> Bytes {
    let s = sys(os);
    let common = |size| Bytes::zeros(size).u8(2, s.version).u8(3, s.rtm_ifinfo);
    match os {
        // int addrs, flags; u_short index; struct if_data (96 bytes of
        // 32-bit fields).
        Os::Apple => common(112).u32(4, addrs).u32(8, flags).u16(12, index),
        // int addrs, flags; u_short index, _ifm_spare1; struct if_data
        // (152 bytes, the same on every machine).
        Os::FreeBsd => common(168).u32(4, addrs).u32(8, flags).u16(12, index),
        // 5.8: u_short index; int flags, addrs; struct if_data (160).
        Os::DragonFly => common(176).u16(4, index).u32(8, flags).u32(12, addrs),
        // int addrs, flags; u_short index; struct if_data (136, aligned
        // to 8).
        Os::NetBsd => common(152).u32(4, addrs).u32(8, flags).u16(12, index),
        // u_short hdrlen, index, tableid; u_char pad1, pad2; int addrs,
        // flags, xflags; struct if_data (144).
        Os::OpenBsd => common(168)
            .u16(4, 168)
            .u16(6, index)
            .u32(12, addrs)
            .u32(16, flags),
    }
}

/// `struct ifa_msghdr`.
fn ifa_header(os: Os, t: u8, addrs: u32, index: u16, addr_flags: u32) -> Bytes {
    let s = sys(os);
    let common = |size| Bytes::zeros(size).u8(2, s.version).u8(3, t);
    match os {
        // int addrs, flags; u_short index; int metric.
        Os::Apple | Os::FreeBsd => common(20).u32(4, addrs).u32(8, 1).u16(12, index).i32(16, 5),
        // u_short index; int flags, addrs; pid_t pid; int addrflags,
        // metric: 28 bytes, which NetBSD's __align64 rounds to 32.
        Os::DragonFly | Os::NetBsd => common(if os == Os::NetBsd { 32 } else { 28 })
            .u16(4, index)
            .u32(8, 1)
            .u32(12, addrs)
            .i32(16, 0)
            .u32(20, addr_flags)
            .i32(24, 5),
        // u_short hdrlen, index, tableid; u_char pad1, pad2; int addrs,
        // flags, metric.
        Os::OpenBsd => common(24)
            .u16(4, 24)
            .u16(6, index)
            .u32(12, addrs)
            .u32(16, 1)
            .i32(20, 5),
    }
}

/// `struct if_announcemsghdr`; `None` on Apple systems, which have none.
fn ifan_header(os: Os, index: u16, name: &str, what: u16) -> Option<Bytes> {
    let s = sys(os);
    let common = |size| {
        Bytes::zeros(size)
            .u8(2, s.version)
            .u8(3, s.rtm_ifannounce.unwrap())
    };
    match os {
        Os::Apple => None,
        // u_short index; char name[16]; u_short what.
        Os::FreeBsd | Os::DragonFly | Os::NetBsd => Some(
            common(24)
                .u16(4, index)
                .bytes(6, name.as_bytes())
                .u16(22, what),
        ),
        // u_short hdrlen, index, what; char name[16].
        Os::OpenBsd => Some(
            common(26)
                .u16(4, 26)
                .u16(6, index)
                .u16(8, what)
                .bytes(10, name.as_bytes()),
        ),
    }
}

fn parsed(bytes: &[u8], abi: Abi) -> crate::pfroute::Message {
    parse(bytes, abi).unwrap_or_else(|e| panic!("{:?}: {e}", abi.os()))
}

#[test]
fn an_address_added_with_its_netmask_and_broadcast() {
    for os in Os::ALL {
        let s = sys(os);
        let bytes = ifa_header(
            os,
            s.rtm_newaddr,
            RTA_NETMASK | RTA_IFP | RTA_IFA | RTA_BRD,
            3,
            0,
        )
        .sockaddr(&sin([255, 255, 255, 0]), s.unit)
        .sockaddr(&sdl(3, 6, "em0", &[2, 0, 0, 0, 0, 1]), s.unit)
        .sockaddr(&sin([192, 0, 2, 7]), s.unit)
        .sockaddr(&sin([192, 0, 2, 255]), s.unit)
        .done();
        let msg = parsed(&bytes, s.abi);
        assert_eq!(msg.kind, Kind::NewAddress, "{os:?}");
        assert_eq!((msg.length, msg.version), (bytes.len(), s.version));
        assert!(msg.changes_host(), "{os:?}");
        let Body::Address(a) = &msg.body else {
            panic!("{os:?}: {msg:?}")
        };
        assert_eq!((a.index, a.flags, a.metric), (3, 1, 5), "{os:?}");
        let ip = |rta| a.addrs.get(rta).and_then(SockAddr::ip);
        assert_eq!(ip(RTA_IFA), Some(IpAddr::from([192, 0, 2, 7])), "{os:?}");
        assert_eq!(ip(RTA_NETMASK), Some(IpAddr::from([255, 255, 255, 0])));
        assert_eq!(ip(RTA_BRD), Some(IpAddr::from([192, 0, 2, 255])));
        assert_eq!(
            a.addrs.get(RTA_IFP),
            Some(&SockAddr::Link {
                index: 3,
                if_type: 6,
                name: "em0".into(),
                address: vec![2, 0, 0, 0, 0, 1],
            }),
            "{os:?}"
        );
        let bits: Vec<u32> = a.addrs.iter().map(|(bit, _)| bit).collect();
        assert_eq!(bits, [RTA_NETMASK, RTA_IFP, RTA_IFA, RTA_BRD]);
    }
}

#[test]
fn an_ipv6_address_removed_with_its_scope_and_flags() {
    for os in Os::ALL {
        let s = sys(os);
        // The kernel's form of fe80::1 on interface 4: the index in bytes
        // 2 and 3, no scope id.
        let bytes = ifa_header(os, s.rtm_deladdr, RTA_IFA, 4, 0x02)
            .sockaddr(&sin6(s.af_inet6, "fe80:4::1", 0), s.unit)
            .done();
        let msg = parsed(&bytes, s.abi);
        assert_eq!(msg.kind, Kind::DeleteAddress, "{os:?}");
        let Body::Address(a) = &msg.body else {
            panic!("{msg:?}")
        };
        assert_eq!(
            a.addrs.get(RTA_IFA),
            Some(&SockAddr::Inet6 {
                addr: "fe80::1".parse().unwrap(),
                scope_id: 4
            }),
            "{os:?}"
        );
        // NetBSD 8 and DragonFly 5.8 carry the IN6_IFF_* flags along.
        let expected = matches!(os, Os::NetBsd | Os::DragonFly).then_some(0x02);
        assert_eq!(a.addr_flags, expected, "{os:?}");
    }
}

#[test]
fn an_interface_going_down() {
    for os in Os::ALL {
        let s = sys(os);
        let bytes = if_header(os, RTA_IFP, 0x8802, 6)
            .sockaddr(&sdl(6, 0x35, "tun0", &[]), s.unit)
            .done();
        let msg = parsed(&bytes, s.abi);
        assert_eq!(msg.kind, Kind::InterfaceInfo, "{os:?}");
        assert!(msg.changes_host());
        let Body::Interface(i) = &msg.body else {
            panic!("{msg:?}")
        };
        assert_eq!((i.index, i.flags), (6, 0x8802), "{os:?}");
        assert!(matches!(
            i.addrs.get(RTA_IFP),
            Some(SockAddr::Link { name, index: 6, if_type: 0x35, .. }) if name == "tun0"
        ));
        // Without addresses too (the usual RTM_IFINFO).
        let bare = if_header(os, 0, 0x1, 6).done();
        assert!(parsed(&bare, s.abi).changes_host(), "{os:?}");
    }
}

#[test]
fn interfaces_arriving_and_departing() {
    for os in Os::ALL {
        let s = sys(os);
        let Some(header) = ifan_header(os, 9, "tun0", 1) else {
            // Apple systems have no RTM_IFANNOUNCE: its number (0x11 on
            // FreeBSD) is something else there.
            let bytes = Bytes::zeros(24).u8(2, 5).u8(3, 0x11).done();
            let msg = parsed(&bytes, s.abi);
            assert_eq!(msg.kind, Kind::Other(0x11));
            assert!(!msg.changes_host());
            continue;
        };
        let msg = parsed(&header.done(), s.abi);
        assert_eq!(msg.kind, Kind::InterfaceAnnounce, "{os:?}");
        assert!(msg.changes_host());
        let Body::Announce(a) = &msg.body else {
            panic!("{msg:?}")
        };
        assert_eq!((a.index, a.name.as_str(), a.what), (9, "tun0", 1), "{os:?}");
        let full = ifan_header(os, 9, "sixteen_chars_00", 0).unwrap().done();
        let Body::Announce(a) = parsed(&full, s.abi).body else {
            panic!()
        };
        assert_eq!(a.name, "sixteen_chars_00", "a name filling IFNAMSIZ");
    }
}

#[test]
fn a_default_route_added() {
    for os in Os::ALL {
        let s = sys(os);
        let bytes = rt_header(
            os,
            s.rtm_add,
            RTA_DST | RTA_GATEWAY | RTA_NETMASK,
            RTF_UP | RTF_GATEWAY | RTF_STATIC | RTF_DONE,
            2,
            0,
        )
        .sockaddr(&sin6(s.af_inet6, "::", 0), s.unit)
        .sockaddr(&sin6(s.af_inet6, "fe80:2::1", 0), s.unit)
        // A default route's netmask: a sockaddr of length 0.
        .sockaddr(&[], s.unit)
        .done();
        let msg = parsed(&bytes, s.abi);
        assert_eq!(msg.kind, Kind::RouteAdd, "{os:?}");
        assert!(msg.changes_host(), "{os:?}");
        let Body::Route(r) = &msg.body else {
            panic!("{msg:?}")
        };
        assert_eq!((r.index, r.pid, r.seq, r.errno), (2, 7, 9, 0), "{os:?}");
        assert_eq!(r.flags, RTF_UP | RTF_GATEWAY | RTF_STATIC | RTF_DONE);
        assert_eq!(r.addrs.bits(), RTA_DST | RTA_GATEWAY | RTA_NETMASK);
        assert_eq!(
            r.addrs.get(RTA_GATEWAY),
            Some(&SockAddr::Inet6 {
                addr: "fe80::1".parse().unwrap(),
                scope_id: 2
            }),
            "{os:?}"
        );
        assert_eq!(r.addrs.get(RTA_NETMASK), Some(&SockAddr::Empty));
    }
}

#[test]
fn neighbour_entries_and_failed_requests_change_nothing() {
    for os in Os::ALL {
        let s = sys(os);
        let arp = rt_header(os, s.rtm_add, RTA_DST, RTF_UP | RTF_HOST | RTF_LLINFO, 2, 0)
            .sockaddr(&sin([192, 0, 2, 1]), s.unit)
            .done();
        assert!(!parsed(&arp, s.abi).changes_host(), "{os:?}");
        // Host routes cloned on use, where a system announces them.
        let cloned = match os {
            Os::Apple | Os::DragonFly => Some(0x2_0000),
            Os::OpenBsd => Some(0x1_0000),
            _ => None,
        };
        if let Some(flag) = cloned {
            let clone = rt_header(os, s.rtm_add, RTA_DST, RTF_UP | RTF_HOST | flag, 2, 0)
                .sockaddr(&sin([198, 51, 100, 7]), s.unit)
                .done();
            assert!(!parsed(&clone, s.abi).changes_host(), "{os:?}");
        }
        // The same bits mean something else on FreeBSD and NetBSD.
        if os == Os::FreeBsd || os == Os::NetBsd {
            let route = rt_header(os, s.rtm_add, RTA_DST, RTF_UP | 0x3_0000, 2, 0)
                .sockaddr(&sin([198, 51, 100, 0]), s.unit)
                .done();
            assert!(parsed(&route, s.abi).changes_host(), "{os:?}");
        }
        // A failed RTM_ADD goes back to every routing socket, errno set.
        let failed = rt_header(os, s.rtm_add, RTA_DST, RTF_UP, 2, 17)
            .sockaddr(&sin([192, 0, 2, 0]), s.unit)
            .done();
        let msg = parsed(&failed, s.abi);
        assert!(matches!(&msg.body, Body::Route(r) if r.errno == 17));
        assert!(!msg.changes_host(), "{os:?}");
        // RTM_DELETE and RTM_CHANGE count; lookups, misses, lossage,
        // redirects and resolutions do not.
        for (t, kind, change) in [
            (0x2, Kind::RouteDelete, true),
            (0x3, Kind::RouteChange, true),
            (0x4, Kind::RouteGet, false),
            (0x5, Kind::Losing, false),
            (0x6, Kind::Redirect, false),
            (0x7, Kind::Miss, false),
        ] {
            let bytes = rt_header(os, t, RTA_DST, RTF_UP, 2, 0)
                .sockaddr(&sin([198, 51, 100, 1]), s.unit)
                .done();
            let msg = parsed(&bytes, s.abi);
            assert_eq!((msg.kind, msg.changes_host()), (kind, change), "{os:?} {t}");
        }
    }
}

#[test]
fn each_systems_type_numbers() {
    let kind = |os, t| {
        let s = sys(os);
        // Long enough for any header; the addrs bitmask stays 0.
        let bytes = Bytes::zeros(200).u8(2, s.version).u8(3, t);
        let bytes = match os {
            Os::OpenBsd => bytes.u16(4, 100).done(),
            _ => bytes.done(),
        };
        parsed(&bytes, s.abi).kind
    };
    assert_eq!(kind(Os::NetBsd, 0x16), Kind::NewAddress);
    assert_eq!(kind(Os::NetBsd, 0x18), Kind::ChangeAddress);
    assert_eq!(kind(Os::NetBsd, 0x14), Kind::InterfaceInfo);
    assert_eq!(
        kind(Os::NetBsd, 0xc),
        Kind::Other(0xc),
        "pre-8.0 RTM_ONEWADDR"
    );
    assert_eq!(kind(Os::OpenBsd, 0x10), Kind::Desync);
    assert_eq!(kind(Os::OpenBsd, 0x14), Kind::ChangeAddress);
    assert_eq!(kind(Os::OpenBsd, 0x16), Kind::Source);
    assert_eq!(kind(Os::OpenBsd, 0x13), Kind::Other(0x13), "RTM_PROPOSAL");
    assert_eq!(kind(Os::FreeBsd, 0xf), Kind::NewMulticast);
    assert_eq!(kind(Os::FreeBsd, 0x12), Kind::Other(0x12), "RTM_IEEE80211");
    assert_eq!(kind(Os::DragonFly, 0x11), Kind::InterfaceAnnounce);
    assert_eq!(kind(Os::Apple, 0xb), Kind::Resolve);
    assert_eq!(kind(Os::Apple, 0x12), Kind::Other(0x12), "RTM_IFINFO2");
    for os in Os::ALL {
        assert_eq!(kind(os, 0x1), Kind::RouteAdd);
        assert_eq!(kind(os, 0x7), Kind::Miss);
    }
    // Lost messages are a change; multicast and unknown types are not.
    let s = sys(Os::OpenBsd);
    let desync = Bytes::zeros(96).u8(2, 5).u8(3, 0x10).done();
    assert!(parsed(&desync, s.abi).changes_host());
    let s = sys(Os::FreeBsd);
    let maddr = Bytes::zeros(16).u8(2, 5).u8(3, 0xf).done();
    let msg = parsed(&maddr, s.abi);
    assert!(!msg.changes_host());
    assert_eq!(msg.body, Body::Undecoded);
}

#[test]
fn socket_addresses_are_rounded_to_each_systems_unit() {
    // A 17-byte link address: 20 bytes on Apple systems, 24 elsewhere
    // (and 20 on a 32-bit FreeBSD, whose long is 4 bytes).
    let dl = sdl(1, 6, "em0", &[1, 2, 3, 4, 5, 6]);
    assert_eq!(dl.len(), 20);
    let mut dl17 = dl.clone();
    dl17[0] = 17;
    dl17.truncate(17);
    for (os, unit) in [
        (Os::Apple, 4),
        (Os::FreeBsd, 8),
        (Os::NetBsd, 8),
        (Os::OpenBsd, 8),
        (Os::DragonFly, 8),
    ] {
        let s = sys(os);
        let bytes = ifa_header(os, s.rtm_newaddr, RTA_IFP | RTA_IFA, 1, 0)
            .sockaddr(&dl17, unit)
            .sockaddr(&sin([10, 0, 0, 1]), unit)
            .done();
        let Body::Address(a) = parsed(&bytes, s.abi).body else {
            panic!()
        };
        assert_eq!(
            a.addrs.get(RTA_IFA).and_then(SockAddr::ip),
            Some(IpAddr::from([10, 0, 0, 1])),
            "{os:?}"
        );
    }
    let ilp32 = Abi::new(Os::FreeBsd, 4, 4).unwrap();
    let bytes = ifa_header(Os::FreeBsd, 0xc, RTA_IFP | RTA_IFA, 1, 0)
        .sockaddr(&dl17, 4)
        .sockaddr(&sin([10, 0, 0, 2]), 4)
        .done();
    let Body::Address(a) = parsed(&bytes, ilp32).body else {
        panic!()
    };
    assert_eq!(
        a.addrs.get(RTA_IFA).and_then(SockAddr::ip),
        Some(IpAddr::from([10, 0, 0, 2]))
    );
    assert_eq!(ilp32.sockaddr_space(0), 4);
    assert_eq!(Abi::lp64(Os::NetBsd).sockaddr_space(28), 32);
    assert_eq!(Abi::lp64(Os::Apple).sockaddr_space(0), 4);
    assert_eq!(Abi::lp64(Os::OpenBsd).sockaddr_space(16), 16);
}

#[test]
fn a_32_bit_freebsd_route_header_is_92_bytes() {
    // u_long rtm_inits and 14 u_long of metrics: 32 + 4 + 56.
    let abi = Abi::new(Os::FreeBsd, 4, 4).unwrap();
    let bytes = Bytes::zeros(92)
        .u8(2, 5)
        .u8(3, 1)
        .u16(4, 3)
        .u32(12, RTA_DST)
        .sockaddr(&sin([192, 0, 2, 0]), 4)
        .done();
    let Body::Route(r) = parsed(&bytes, abi).body else {
        panic!()
    };
    assert_eq!(r.index, 3);
    assert_eq!(
        r.addrs.get(RTA_DST).and_then(SockAddr::ip),
        Some(IpAddr::from([192, 0, 2, 0]))
    );
}

#[test]
fn xnu_leaves_out_an_empty_last_address() {
    // XNU's rt_msg1 ends the message right after the last address's own
    // bytes, and an empty netmask has none: the default route's RTM_ADD
    // ends where its netmask would start.
    let s = sys(Os::Apple);
    let bytes = rt_header(
        Os::Apple,
        1,
        RTA_DST | RTA_GATEWAY | RTA_NETMASK,
        RTF_UP,
        4,
        0,
    )
    .sockaddr(&sin([0, 0, 0, 0]), 4)
    .sockaddr(&sin([192, 0, 2, 1]), 4)
    .done();
    let Body::Route(r) = parsed(&bytes, s.abi).body else {
        panic!()
    };
    assert_eq!(r.addrs.get(RTA_NETMASK), Some(&SockAddr::Empty));
    assert_eq!(
        r.addrs.get(RTA_GATEWAY).and_then(SockAddr::ip),
        Some(IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1)))
    );
    // The last address's padding may be cut too.
    let mut cut = rt_header(Os::Apple, 1, RTA_DST, RTF_UP, 4, 0).0;
    let mut dl = sdl(4, 0x18, "lo0", &[]);
    dl[0] = 11;
    dl.truncate(11);
    cut.extend_from_slice(&dl);
    let cut = Bytes(cut).done();
    let Body::Route(r) = parsed(&cut, s.abi).body else {
        panic!()
    };
    assert!(matches!(r.addrs.get(RTA_DST), Some(SockAddr::Link { name, .. }) if name == "lo0"));
}

#[test]
fn openbsd_headers_say_their_own_length() {
    let s = sys(Os::OpenBsd);
    // A longer header than today's (a future field): the addresses start
    // where hdrlen says.
    let bytes = Bytes::zeros(40)
        .u8(2, 5)
        .u8(3, 0xc)
        .u16(4, 40)
        .u16(6, 2)
        .u32(12, RTA_IFA)
        .sockaddr(&sin([203, 0, 113, 9]), 8)
        .done();
    let Body::Address(a) = parsed(&bytes, s.abi).body else {
        panic!()
    };
    assert_eq!(a.index, 2);
    assert_eq!(
        a.addrs.get(RTA_IFA).and_then(SockAddr::ip),
        Some(IpAddr::from([203, 0, 113, 9]))
    );
    // Too small for the fields, or past the message's end.
    for hdrlen in [12, 23, 60] {
        let bytes = Bytes::zeros(40).u8(2, 5).u8(3, 0xc).u16(4, hdrlen).done();
        assert_eq!(
            parse(&bytes, s.abi).unwrap_err().problem,
            Problem::HeaderLength {
                message_type: 0xc,
                header_length: usize::from(hdrlen),
                min: 24,
                length: 40
            }
        );
    }
}

#[test]
fn malformed_messages_say_what_is_wrong() {
    let abi = Abi::lp64(Os::FreeBsd);
    let err = |bytes: &[u8]| parse(bytes, abi).unwrap_err();
    assert_eq!(err(&[]).problem, Problem::Short { available: 0 });
    assert_eq!(err(&[8, 0, 5]).problem, Problem::Short { available: 3 });
    let tiny = Bytes::zeros(8).u16(0, 2).u8(2, 5).0;
    assert_eq!(err(&tiny).problem, Problem::LengthTooSmall { length: 2 });
    let long = Bytes::zeros(8).u16(0, 300).u8(2, 5).0;
    let e = err(&long);
    assert_eq!(
        e.problem,
        Problem::LengthPastEnd {
            length: 300,
            available: 8
        }
    );
    assert_eq!(
        e.to_string(),
        "routing message at offset 0: length 300 runs past the 8 bytes read"
    );
    let old = Bytes::zeros(20).u8(2, 4).u8(3, 0xc).done();
    assert_eq!(
        err(&old).to_string(),
        "routing message at offset 0: version 4, expected 5"
    );
    let short = Bytes::zeros(12).u8(2, 5).u8(3, 0xc).done();
    let e = err(&short);
    assert_eq!(
        e.problem,
        Problem::HeaderTooShort {
            message_type: 0xc,
            needed: 20,
            length: 12
        }
    );
    assert_eq!(
        e.to_string(),
        "routing message at offset 0: type 0xc message of 12 bytes is shorter than its 20-byte header"
    );
    // An address claiming 28 bytes where 16 remain.
    let mut past = ifa_header(Os::FreeBsd, 0xc, RTA_NETMASK | RTA_IFA, 1, 0)
        .sockaddr(&sin([255, 255, 0, 0]), 8)
        .0;
    past.extend_from_slice(&sin6(28, "2001:db8::1", 0)[..16]);
    let past = Bytes(past).done();
    let e = err(&past);
    assert_eq!(
        e.problem,
        Problem::SockaddrPastEnd {
            rta: RTA_IFA,
            at: 36,
            sa_len: 28,
            remaining: 16
        }
    );
    assert_eq!(
        e.to_string(),
        "routing message at offset 0: socket address 0x20 at offset 36 is 28 bytes long, but 16 remain"
    );
}

#[test]
fn messages_one_after_another_stop_at_the_first_error() {
    let s = sys(Os::NetBsd);
    let mut bytes = if_header(Os::NetBsd, 0, 1, 1).done();
    bytes.extend(
        ifa_header(Os::NetBsd, 0x16, RTA_IFA, 1, 0)
            .sockaddr(&sin([192, 0, 2, 1]), 8)
            .done(),
    );
    let second_at = bytes.len();
    bytes.extend(ifa_header(Os::NetBsd, 0x18, RTA_IFA, 1, 0).done());
    let first_two: Vec<Kind> = messages(&bytes[..second_at], s.abi)
        .map(|m| m.unwrap().kind)
        .collect();
    assert_eq!(first_two, [Kind::InterfaceInfo, Kind::NewAddress]);
    // The third announces an address it does not have: left out at the
    // end, as XNU leaves out empty ones, so it parses.
    assert_eq!(messages(&bytes, s.abi).count(), 3);
    // A cut-off fourth is an error at its offset, and the end.
    let end = bytes.len();
    bytes.extend_from_slice(&[200, 0, 4, 0x16]);
    let got: Vec<Result<Kind, ParseError>> =
        messages(&bytes, s.abi).map(|m| m.map(|m| m.kind)).collect();
    assert_eq!(got.len(), 4);
    let e = got[3].clone().unwrap_err();
    assert_eq!(e.offset, end);
    assert!(matches!(
        e.problem,
        Problem::LengthPastEnd { length: 200, .. }
    ));
}
