//! The `in6_ifreq` record and its ioctl numbers, the `IN6_IFF_*` flags and
//! lifetimes, socket addresses on their own, and interface types.

use std::net::{IpAddr, Ipv6Addr};

use super::{sdl, sin6};
use crate::model::{AddrFlags, LinkKind};
use crate::pfroute::{
    Abi, AddrLifetime, IN6_IFREQ_LEN, In6Ifreq, LifetimeClock, Os, SockAddr, addr_flags, link_kind,
    siocgifaflag_in6, siocgifalifetime_in6, unembed_scope,
};

#[test]
fn ioctl_numbers() {
    // _IOWR('i', 73, struct in6_ifreq) with the 288-byte record: the
    // value macOS's and FreeBSD's headers give (and the libc crate, which
    // the BSD backend checks at compile time).
    assert_eq!(IN6_IFREQ_LEN, 288);
    for os in Os::ALL {
        assert_eq!(siocgifaflag_in6(os), 0xc120_6949, "{os:?}");
    }
    for os in [Os::Apple, Os::FreeBsd, Os::OpenBsd, Os::DragonFly] {
        assert_eq!(siocgifalifetime_in6(os), 0xc120_6951, "{os:?}");
    }
    assert_eq!(siocgifalifetime_in6(Os::NetBsd), 0xc120_696a);
}

#[test]
fn an_in6_ifreq_holds_the_name_and_a_sockaddr_in6() {
    let ip: Ipv6Addr = "fe80::1".parse().unwrap();
    for os in Os::ALL {
        let req = In6Ifreq::new(Abi::lp64(os), "em0", ip, 2).unwrap();
        let bytes = req.into_bytes();
        assert_eq!(&bytes[..4], b"em0\0");
        assert!(bytes[4..16].iter().all(|&b| b == 0));
        // The union starts at 16 with the sockaddr_in6.
        assert_eq!(
            &bytes[16..44],
            sin6(os.af_inet6(), "fe80::1", 2).as_slice(),
            "{os:?}"
        );
        assert!(bytes[44..].iter().all(|&b| b == 0));
    }
    let abi = Abi::lp64(Os::FreeBsd);
    assert!(In6Ifreq::new(abi, "fifteen_chars_0", ip, 0).is_some());
    assert!(In6Ifreq::new(abi, "sixteen_chars_00", ip, 0).is_none());
    assert!(In6Ifreq::new(abi, "em\x000", ip, 0).is_none());
}

#[test]
fn the_kernels_answers_are_read_back() {
    let abi = Abi::lp64(Os::Apple);
    let mut bytes = [0u8; IN6_IFREQ_LEN];
    // SIOCGIFAFLAG_IN6 writes ifru_flags6, an int, at the union's start.
    bytes[16..20].copy_from_slice(&0x0042_u32.to_ne_bytes());
    assert_eq!(In6Ifreq::from_bytes(bytes).flags6(), 0x42);
    // SIOCGIFALIFETIME_IN6 writes two time_t and two u_int32_t.
    let mut bytes = [0u8; IN6_IFREQ_LEN];
    bytes[16..24].copy_from_slice(&1_700_000_000_i64.to_ne_bytes());
    bytes[24..32].copy_from_slice(&1_699_990_000_i64.to_ne_bytes());
    bytes[32..36].copy_from_slice(&86_400_u32.to_ne_bytes());
    bytes[36..40].copy_from_slice(&14_400_u32.to_ne_bytes());
    let lt = In6Ifreq::from_bytes(bytes).lifetime(abi);
    assert_eq!(
        (lt.expire, lt.preferred, lt.vltime, lt.pltime),
        (1_700_000_000, 1_699_990_000, 86_400, 14_400)
    );
    // With a 32-bit time_t (FreeBSD on i386) the fields are closer.
    let i386 = Abi::new(Os::FreeBsd, 4, 4).unwrap();
    let mut bytes = [0u8; IN6_IFREQ_LEN];
    bytes[16..20].copy_from_slice(&5000_i32.to_ne_bytes());
    bytes[20..24].copy_from_slice(&4000_i32.to_ne_bytes());
    bytes[24..28].copy_from_slice(&3600_u32.to_ne_bytes());
    bytes[28..32].copy_from_slice(&1800_u32.to_ne_bytes());
    let lt = In6Ifreq::from_bytes(bytes).lifetime(i386);
    assert_eq!(
        (lt.expire, lt.preferred, lt.vltime, lt.pltime),
        (5000, 4000, 3600, 1800)
    );
}

#[test]
fn lifetimes_become_seconds_left() {
    let abi = Abi::lp64(Os::FreeBsd);
    let mut bytes = [0u8; IN6_IFREQ_LEN];
    bytes[16..24].copy_from_slice(&1000_i64.to_ne_bytes());
    bytes[24..32].copy_from_slice(&400_i64.to_ne_bytes());
    bytes[32..36].copy_from_slice(&900_u32.to_ne_bytes());
    bytes[36..40].copy_from_slice(&300_u32.to_ne_bytes());
    let lt = In6Ifreq::from_bytes(bytes).lifetime(abi);
    assert_eq!(
        (lt.valid_left(100), lt.preferred_left(100)),
        (Some(900), Some(300))
    );
    // Past the preferred lifetime: 0 left (deprecated), still valid.
    assert_eq!(
        (lt.valid_left(500), lt.preferred_left(500)),
        (Some(500), Some(0))
    );
    assert_eq!(lt.valid_left(5000), Some(0));
    // Expiry 0, or an infinite lifetime, is forever.
    let forever = In6Ifreq::from_bytes({
        let mut b = [0u8; IN6_IFREQ_LEN];
        b[32..40].copy_from_slice(&[0xff; 8]);
        b
    })
    .lifetime(abi);
    assert_eq!(forever.vltime, AddrLifetime::INFINITE);
    assert_eq!(
        (forever.valid_left(1), forever.preferred_left(1)),
        (None, None)
    );
    // The kernels' overflow guard (the largest time_t) is forever too.
    let mut b = [0u8; IN6_IFREQ_LEN];
    b[16..24].copy_from_slice(&i64::MAX.to_ne_bytes());
    b[32..36].copy_from_slice(&7200_u32.to_ne_bytes());
    assert_eq!(In6Ifreq::from_bytes(b).lifetime(abi).valid_left(10), None);
}

#[test]
fn each_systems_lifetime_clock() {
    assert_eq!(Os::Apple.lifetime_clock(), LifetimeClock::Wall);
    assert_eq!(Os::NetBsd.lifetime_clock(), LifetimeClock::Wall);
    assert_eq!(Os::OpenBsd.lifetime_clock(), LifetimeClock::Wall);
    assert_eq!(Os::FreeBsd.lifetime_clock(), LifetimeClock::Uptime);
    assert_eq!(Os::DragonFly.lifetime_clock(), LifetimeClock::Uptime);
}

#[test]
fn in6_flags_map_onto_linux_bits() {
    const TENTATIVE: u32 = 0x02;
    const DUPLICATED: u32 = 0x04;
    const DEPRECATED: u32 = 0x10;
    const NODAD: u32 = 0x20;
    const AUTOCONF: u32 = 0x40;
    const TEMPORARY: u32 = 0x80;
    for os in Os::ALL {
        let f = |raw| addr_flags(os, raw);
        // Configured by hand: permanent.
        assert_eq!(f(0), AddrFlags::PERMANENT, "{os:?}");
        assert_eq!(
            f(TENTATIVE | AUTOCONF),
            AddrFlags::TENTATIVE,
            "{os:?}: autoconfigured, so not permanent"
        );
        assert_eq!(
            f(DUPLICATED),
            AddrFlags::DADFAILED | AddrFlags::PERMANENT,
            "{os:?}"
        );
        assert!(f(DEPRECATED | AUTOCONF).deprecated());
        // IN6_IFF_TEMPORARY, OpenBSD's IN6_IFF_PRIVACY: the same bit.
        assert_eq!(f(TEMPORARY | AUTOCONF), AddrFlags::TEMPORARY, "{os:?}");
        // 0x01 (anycast) and 0x08 (detached) have no counterpart.
        assert_eq!(f(0x01 | 0x08 | AUTOCONF), AddrFlags::NONE, "{os:?}");
    }
    // OpenBSD has no IN6_IFF_NODAD: 0x20 means nothing there.
    assert!(addr_flags(Os::FreeBsd, NODAD).nodad());
    assert!(addr_flags(Os::NetBsd, NODAD).nodad());
    assert!(addr_flags(Os::Apple, NODAD).nodad());
    assert!(!addr_flags(Os::OpenBsd, NODAD).nodad());
    // XNU's optimistic DAD: OPTIMISTIC instead of TENTATIVE, which Linux
    // writes as both; 0x200 is nothing on the BSDs.
    let optimistic = addr_flags(Os::Apple, 0x200 | AUTOCONF);
    assert!(optimistic.optimistic() && optimistic.tentative());
    assert_eq!(addr_flags(Os::FreeBsd, 0x200 | AUTOCONF), AddrFlags::NONE);
    // 0x100 is XNU's IN6_IFF_DYNAMIC (DHCPv6: not permanent) but FreeBSD's
    // IN6_IFF_PREFER_SOURCE (a manual address can have it).
    assert_eq!(addr_flags(Os::Apple, 0x100), AddrFlags::NONE);
    assert_eq!(addr_flags(Os::FreeBsd, 0x100), AddrFlags::PERMANENT);
}

#[test]
fn socket_addresses_on_their_own() {
    let abi = Abi::lp64(Os::FreeBsd);
    // A netmask cut after its last non-zero byte.
    let mask = [7, 2, 0, 0, 255, 255, 255];
    assert_eq!(
        SockAddr::decode(&mask, abi).ip(),
        Some(IpAddr::from([255, 255, 255, 0]))
    );
    // The same without a family, as some kernels write masks: only the
    // caller knows it is IPv4.
    let bare = [7, 0, 0, 0, 255, 255, 255];
    assert!(matches!(
        SockAddr::decode(&bare, abi),
        SockAddr::Other { family: 0, .. }
    ));
    assert_eq!(
        SockAddr::netmask(&bare, false),
        IpAddr::from([255, 255, 255, 0])
    );
    let mask6 = [
        16, 0, 0, 0, 0, 0, 0, 0, 255, 255, 255, 255, 255, 255, 255, 255,
    ];
    assert_eq!(
        SockAddr::netmask(&mask6, true),
        "ffff:ffff:ffff:ffff::".parse::<IpAddr>().unwrap()
    );
    assert_eq!(
        SockAddr::netmask(&[], true),
        "::".parse::<IpAddr>().unwrap()
    );
    // An explicit scope id wins over the embedded one; global addresses
    // are left alone whatever bytes 2 and 3 hold.
    assert_eq!(
        SockAddr::decode(&sin6(28, "fe80:4::1", 9), abi),
        SockAddr::Inet6 {
            addr: "fe80::1".parse().unwrap(),
            scope_id: 9
        }
    );
    assert_eq!(
        SockAddr::decode(&sin6(28, "2001:db8::1", 0), abi),
        SockAddr::Inet6 {
            addr: "2001:db8::1".parse().unwrap(),
            scope_id: 0
        }
    );
    // Another system's AF_INET6 is just another family.
    assert!(matches!(
        SockAddr::decode(&sin6(30, "2001:db8::1", 0), abi),
        SockAddr::Other { family: 30, .. }
    ));
    // A link address whose name runs past its length is kept as bytes.
    let mut dl = sdl(1, 6, "em0", &[]);
    dl[5] = 40;
    assert!(matches!(
        SockAddr::decode(&dl, abi),
        SockAddr::Other { family: 18, .. }
    ));
    assert_eq!(SockAddr::decode(&[], abi), SockAddr::Empty);
    assert_eq!(SockAddr::decode(&[0, 2, 0, 0], abi), SockAddr::Empty);
    assert_eq!(
        SockAddr::decode(&[1], abi),
        SockAddr::Other {
            family: 0,
            data: vec![]
        }
    );
}

#[test]
fn kame_scopes_come_out_of_addresses() {
    let un = |s: &str| unembed_scope(s.parse().unwrap());
    assert_eq!(un("fe80:4::1"), ("fe80::1".parse().unwrap(), Some(4)));
    assert_eq!(un("fe80::1"), ("fe80::1".parse().unwrap(), None));
    assert_eq!(un("ff02:7::fb"), ("ff02::fb".parse().unwrap(), Some(7)));
    assert_eq!(un("ff01:3::1"), ("ff01::1".parse().unwrap(), Some(3)));
    assert_eq!(un("ff05:3::1"), ("ff05:3::1".parse().unwrap(), None));
    assert_eq!(
        un("2001:0:4136:e378::1"),
        ("2001:0:4136:e378::1".parse().unwrap(), None)
    );
}

#[test]
fn interface_kinds_by_type_then_name() {
    const IFT_OTHER: u8 = 0x01;
    const IFT_ETHER: u8 = 0x06;
    const IFT_LOOP: u8 = 0x18;
    const IFT_PROPVIRTUAL: u8 = 0x35;
    const IFT_TUNNEL: u8 = 0x83;
    const IFF_LOOPBACK: u32 = 0x8;
    let k = link_kind;
    // The same meaning, different numbers: gif, stf, lagg/bond.
    assert_eq!(k(Os::Apple, 0x37, "gif0", 0), LinkKind::Ip6Tnl);
    assert_eq!(k(Os::FreeBsd, 0xf0, "gif0", 0), LinkKind::Ip6Tnl);
    assert_eq!(k(Os::Apple, 0x39, "stf0", 0), LinkKind::Sit);
    assert_eq!(k(Os::NetBsd, 0xd7, "stf0", 0), LinkKind::Sit);
    assert_eq!(k(Os::Apple, 0x88, "bond0", 0), LinkKind::Bond);
    assert_eq!(k(Os::FreeBsd, 0xa1, "lagg0", 0), LinkKind::Bond);
    // IANA's 0x37 and 0x39 are not gif and stf outside Apple systems.
    assert_eq!(k(Os::FreeBsd, 0x37, "x0", 0), LinkKind::Other("x".into()));
    assert_eq!(k(Os::OpenBsd, 0xd7, "stf0", 0), LinkKind::Sit);
    // Renamed devices keep their type.
    assert_eq!(k(Os::FreeBsd, 0xf0, "tunnel6", 0), LinkKind::Ip6Tnl);
    assert_eq!(k(Os::DragonFly, 0xd1, "uplink", 0), LinkKind::Bridge);
    assert_eq!(k(Os::FreeBsd, 0x87, "vlan100", 0), LinkKind::Vlan);
    assert_eq!(k(Os::FreeBsd, 0x47, "wlan0", 0), LinkKind::Wireless);
    assert_eq!(k(Os::Apple, IFT_LOOP, "lo0", 0), LinkKind::Loopback);
    assert_eq!(
        k(Os::Apple, 0, "anything", IFF_LOOPBACK),
        LinkKind::Loopback
    );
    // Ethernet-framed: Ethernet unless the name is specific.
    assert_eq!(k(Os::Apple, IFT_ETHER, "en0", 0), LinkKind::Ethernet);
    assert_eq!(k(Os::FreeBsd, IFT_ETHER, "em0", 0), LinkKind::Ethernet);
    assert_eq!(k(Os::FreeBsd, IFT_ETHER, "tap3", 0), LinkKind::Tap);
    assert_eq!(k(Os::Apple, IFT_ETHER, "vlan0", 0), LinkKind::Vlan);
    // Generic types: the name decides. XNU's utun is IFT_OTHER, tun is
    // IFT_PROPVIRTUAL on FreeBSD and IFT_TUNNEL on OpenBSD and NetBSD, and
    // Miredo renames its tun "teredo" where the system allows.
    assert_eq!(k(Os::Apple, IFT_OTHER, "utun3", 0), LinkKind::Tun);
    assert_eq!(
        k(Os::Apple, IFT_OTHER, "ipsec0", 0),
        LinkKind::Other("ipsec".into())
    );
    assert_eq!(k(Os::FreeBsd, IFT_PROPVIRTUAL, "tun0", 0), LinkKind::Tun);
    assert_eq!(k(Os::FreeBsd, IFT_PROPVIRTUAL, "teredo", 0), LinkKind::Tun);
    assert_eq!(k(Os::OpenBsd, IFT_TUNNEL, "tun0", 0), LinkKind::Tun);
    assert_eq!(k(Os::FreeBsd, 0xf9, "wg0", 0), LinkKind::Wireguard);
    assert_eq!(k(Os::NetBsd, 0, "ppp0", 0), LinkKind::Other("ppp".into()));
}
