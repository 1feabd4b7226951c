//! One label per address, naming the special-purpose block it falls in.
//!
//! [`classify`] answers "what kind of address is this?" with a single
//! [`AddrKind`], which is what callers that rank or report paths need: a
//! Teredo or 6to4 destination means a tunnel, a NAT64 one a translator, a
//! documentation one a configuration mistake. See [`classify`] for the
//! order in which blocks are checked.

use core::fmt;
use core::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use crate::nat64::Nat64Prefix;

/// The kind of an IPv4 or IPv6 address; see [`classify`].
///
/// IPv6 kinds have plain names, IPv4 kinds start with `Ipv4`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[non_exhaustive]
pub enum AddrKind {
    /// `::/128`, the unspecified address (RFC 4291 §2.5.2).
    Unspecified,
    /// `::1/128`, the loopback address (RFC 4291 §2.5.3).
    Loopback,
    /// `fe80::/10`, link-local unicast (RFC 4291 §2.5.6).
    LinkLocal,
    /// `fec0::/10`, site-local unicast, deprecated by RFC 3879 (RFC 4291
    /// §2.5.7).
    SiteLocal,
    /// `fc00::/7`, unique local unicast (RFC 4193).
    UniqueLocal,
    /// `ff00::/8`, multicast (RFC 4291 §2.7).
    Multicast,
    /// `2001:db8::/32` (RFC 3849) and `3fff::/20` (RFC 9637), reserved for
    /// documentation.
    Documentation,
    /// `3ffe::/16`, the former 6bone test network, returned by RFC 3701.
    SixBone,
    /// `2001:10::/28`, ORCHID (RFC 4843, deprecated), and `2001:20::/28`,
    /// ORCHIDv2 (RFC 7343): cryptographic identifiers, not routable.
    Orchid,
    /// `2001::/32`, Teredo (RFC 4380): IPv6 tunnelled over UDP/IPv4
    /// through a NAT.
    Teredo,
    /// `2002::/16`, 6to4 (RFC 3056): IPv6 tunnelled over IPv4 protocol 41.
    SixToFour,
    /// `64:ff9b::/96` (RFC 6052) and `64:ff9b:1::/48` (RFC 8215): IPv4
    /// reached through a NAT64 translator. A network-specific prefix is
    /// recognised when it is given: see [`classify_with_nat64`].
    Nat64,
    /// `::ffff:0:0/96`, IPv4-mapped (RFC 4291 §2.5.5.2): an IPv4 address
    /// seen through an IPv6 socket.
    Ipv4Mapped,
    /// `::/96` other than `::` and `::1`, IPv4-compatible (RFC 4291
    /// §2.5.5.1, deprecated).
    Ipv4Compatible,
    /// Any other IPv6 address: native global unicast (RFC 4291 §2.4).
    GlobalUnicast,
    /// `0.0.0.0/32`, "this host" (RFC 1122 §3.2.1.3).
    Ipv4Unspecified,
    /// `127.0.0.0/8`, loopback (RFC 1122 §3.2.1.3).
    Ipv4Loopback,
    /// `169.254.0.0/16`, link-local (RFC 3927).
    Ipv4LinkLocal,
    /// `10.0.0.0/8`, `172.16.0.0/12` and `192.168.0.0/16`, private-use
    /// (RFC 1918).
    Ipv4Private,
    /// `100.64.0.0/10`, shared address space for carrier-grade NAT
    /// (RFC 6598).
    Ipv4SharedCgn,
    /// `192.0.2.0/24`, `198.51.100.0/24` and `203.0.113.0/24`, reserved for
    /// documentation (RFC 5737).
    Ipv4Documentation,
    /// `198.18.0.0/15`, benchmarking (RFC 2544).
    Ipv4Benchmarking,
    /// `224.0.0.0/4`, multicast (RFC 5771).
    Ipv4Multicast,
    /// `255.255.255.255/32`, limited broadcast (RFC 919, RFC 8190).
    Ipv4Broadcast,
    /// `240.0.0.0/4` except the broadcast address, reserved (RFC 1112 §4),
    /// and `0.0.0.0/8` except `0.0.0.0`, "this network" (RFC 1122
    /// §3.2.1.3); neither is a valid destination.
    Ipv4Reserved,
    /// Any other IPv4 address.
    Ipv4Global,
}

impl AddrKind {
    /// Every kind, in declaration order.
    pub const ALL: [Self; 26] = [
        Self::Unspecified,
        Self::Loopback,
        Self::LinkLocal,
        Self::SiteLocal,
        Self::UniqueLocal,
        Self::Multicast,
        Self::Documentation,
        Self::SixBone,
        Self::Orchid,
        Self::Teredo,
        Self::SixToFour,
        Self::Nat64,
        Self::Ipv4Mapped,
        Self::Ipv4Compatible,
        Self::GlobalUnicast,
        Self::Ipv4Unspecified,
        Self::Ipv4Loopback,
        Self::Ipv4LinkLocal,
        Self::Ipv4Private,
        Self::Ipv4SharedCgn,
        Self::Ipv4Documentation,
        Self::Ipv4Benchmarking,
        Self::Ipv4Multicast,
        Self::Ipv4Broadcast,
        Self::Ipv4Reserved,
        Self::Ipv4Global,
    ];

    /// A stable kebab-case name, e.g. `teredo`, `6to4`, `native-global`,
    /// `ipv4-private`; meant for logs and machine-readable output.
    pub const fn name(self) -> &'static str {
        match self {
            Self::Unspecified => "unspecified",
            Self::Loopback => "loopback",
            Self::LinkLocal => "link-local",
            Self::SiteLocal => "site-local",
            Self::UniqueLocal => "unique-local",
            Self::Multicast => "multicast",
            Self::Documentation => "documentation",
            Self::SixBone => "6bone",
            Self::Orchid => "orchid",
            Self::Teredo => "teredo",
            Self::SixToFour => "6to4",
            Self::Nat64 => "nat64",
            Self::Ipv4Mapped => "ipv4-mapped",
            Self::Ipv4Compatible => "ipv4-compatible",
            Self::GlobalUnicast => "native-global",
            Self::Ipv4Unspecified => "ipv4-unspecified",
            Self::Ipv4Loopback => "ipv4-loopback",
            Self::Ipv4LinkLocal => "ipv4-link-local",
            Self::Ipv4Private => "ipv4-private",
            Self::Ipv4SharedCgn => "ipv4-shared-cgn",
            Self::Ipv4Documentation => "ipv4-documentation",
            Self::Ipv4Benchmarking => "ipv4-benchmarking",
            Self::Ipv4Multicast => "ipv4-multicast",
            Self::Ipv4Broadcast => "ipv4-broadcast",
            Self::Ipv4Reserved => "ipv4-reserved",
            Self::Ipv4Global => "ipv4-global",
        }
    }

    /// Whether this is a kind of IPv4 address.
    pub const fn is_ipv4(self) -> bool {
        matches!(
            self,
            Self::Ipv4Unspecified
                | Self::Ipv4Loopback
                | Self::Ipv4LinkLocal
                | Self::Ipv4Private
                | Self::Ipv4SharedCgn
                | Self::Ipv4Documentation
                | Self::Ipv4Benchmarking
                | Self::Ipv4Multicast
                | Self::Ipv4Broadcast
                | Self::Ipv4Reserved
                | Self::Ipv4Global
        )
    }

    /// Whether this is an IPv6 address that exists to bridge to IPv4:
    /// Teredo, 6to4, NAT64, IPv4-mapped or IPv4-compatible.
    pub const fn is_ipv6_transition(self) -> bool {
        matches!(
            self,
            Self::Teredo | Self::SixToFour | Self::Nat64 | Self::Ipv4Mapped | Self::Ipv4Compatible
        )
    }

    /// Whether traffic to this kind of address is tunnelled over IPv4:
    /// Teredo or 6to4.
    ///
    /// NAT64 translates rather than tunnels, and the automatic tunnels that
    /// IPv4-compatible addresses were meant for were removed by RFC 4213,
    /// so neither counts. ISATAP is a property of the interface identifier,
    /// not of a prefix, so it has no kind (see [`is_isatap`](crate::is_isatap)).
    pub const fn is_tunnel(self) -> bool {
        matches!(self, Self::Teredo | Self::SixToFour)
    }
}

impl fmt::Display for AddrKind {
    /// Writes [`name`](Self::name).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(self.name())
    }
}

/// The kind of any address.
///
/// ```
/// use teredo_addr::{classify, AddrKind};
/// let kind = |s: &str| classify(s.parse().unwrap());
/// assert_eq!(kind("2001:0:4136:e378:8000:63bf:3fff:fdd2"), AddrKind::Teredo);
/// assert_eq!(kind("64:ff9b::192.0.2.33"), AddrKind::Nat64);
/// assert_eq!(kind("2a00:1450::1"), AddrKind::GlobalUnicast);
/// assert_eq!(kind("192.168.1.1").name(), "ipv4-private");
/// ```
///
/// # Order of checks
///
/// The IPv6 blocks recognised are disjoint, except that `::` and `::1` lie
/// inside the IPv4-compatible block `::/96`, so those two are checked
/// first. The rest run in this fixed order, narrower blocks before wider
/// ones sharing their first bits, so that the result stays well defined if
/// overlapping blocks are added later:
///
/// 1. unspecified `::`, loopback `::1`;
/// 2. IPv4-mapped `::ffff:0:0/96`, then IPv4-compatible `::/96`;
/// 3. NAT64 `64:ff9b::/96` and `64:ff9b:1::/48`;
/// 4. Teredo `2001::/32`, then ORCHID `2001:10::/28` and `2001:20::/28`, then
///    documentation `2001:db8::/32` (all inside `2001::/16`);
/// 5. 6to4 `2002::/16`, 6bone `3ffe::/16`, documentation `3fff::/20`;
/// 6. unique local `fc00::/7`, link-local `fe80::/10`, site-local
///    `fec0::/10`, multicast `ff00::/8`;
/// 7. anything else is [`AddrKind::GlobalUnicast`], as RFC 4291 §2.4 lists
///    global unicast as "everything else".
///
/// For IPv4 the checks are: unspecified, broadcast (before the reserved
/// `240/4` that contains it), then the disjoint blocks of RFC 6890 that
/// [`AddrKind`] names, then [`AddrKind::Ipv4Global`].
///
/// An IPv4-mapped IPv6 address is classified as
/// [`AddrKind::Ipv4Mapped`], not by the IPv4 address it carries; use
/// [`Ipv6Addr::to_canonical`] first to classify the IPv4 address instead.
pub const fn classify(addr: IpAddr) -> AddrKind {
    match addr {
        IpAddr::V4(v4) => classify_v4(v4),
        IpAddr::V6(v6) => classify_v6(v6),
    }
}

/// The kind of any address on a network whose NAT64 prefixes are known:
/// an IPv6 address inside one of `nat64` is [`AddrKind::Nat64`], whatever
/// block the prefix was carved from; anything else is as [`classify`]
/// says.
///
/// [`classify`] knows only the prefixes reserved for NAT64 (`64:ff9b::/96`
/// and `64:ff9b:1::/48`); a network may use one of its own (RFC 6052
/// §2.3), which the host learns from its routers (RFC 8781) or its DNS64
/// server (RFC 7050).
///
/// ```
/// use teredo_addr::{AddrKind, Nat64Prefix, classify, classify_with_nat64};
///
/// let prefix: Nat64Prefix = "2001:db8:64::/96".parse()?;
/// let addr = "2001:db8:64::c633:6432".parse()?;
/// assert_eq!(classify(addr), AddrKind::Documentation);
/// assert_eq!(classify_with_nat64(addr, &[prefix]), AddrKind::Nat64);
/// assert_eq!(classify_with_nat64("64:ff9b::1.2.3.4".parse()?, &[]), AddrKind::Nat64);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub const fn classify_with_nat64(addr: IpAddr, nat64: &[Nat64Prefix]) -> AddrKind {
    if let IpAddr::V6(v6) = addr {
        let mut i = 0;
        while i < nat64.len() {
            if nat64[i].contains(v6) {
                return AddrKind::Nat64;
            }
            i += 1;
        }
    }
    classify(addr)
}

/// The kind of an IPv6 address; see [`classify`].
pub const fn classify_v6(addr: Ipv6Addr) -> AddrKind {
    let bits = addr.to_bits();
    let seg = addr.segments();
    if bits == 0 {
        return AddrKind::Unspecified;
    }
    if bits == 1 {
        return AddrKind::Loopback;
    }
    if bits >> 32 == 0xffff {
        return AddrKind::Ipv4Mapped;
    }
    if bits >> 32 == 0 {
        return AddrKind::Ipv4Compatible;
    }
    if Nat64Prefix::WELL_KNOWN.contains(addr) || Nat64Prefix::LOCAL_USE.contains(addr) {
        return AddrKind::Nat64;
    }
    if seg[0] == 0x2001 {
        // Teredo is the whole /32 with a zero second segment, ORCHID the /28s
        // starting 2001:10 and 2001:20, documentation 2001:db8::/32.
        if seg[1] == 0 {
            return AddrKind::Teredo;
        }
        if matches!(seg[1] & 0xfff0, 0x0010 | 0x0020) {
            return AddrKind::Orchid;
        }
        if seg[1] == 0x0db8 {
            return AddrKind::Documentation;
        }
        return AddrKind::GlobalUnicast;
    }
    match seg[0] {
        0x2002 => return AddrKind::SixToFour,
        0x3ffe => return AddrKind::SixBone,
        // 3fff::/20: the first 20 bits are 0x3fff0.
        0x3fff if seg[1] & 0xf000 == 0 => return AddrKind::Documentation,
        _ => {}
    }
    if seg[0] & 0xfe00 == 0xfc00 {
        AddrKind::UniqueLocal
    } else if seg[0] & 0xffc0 == 0xfe80 {
        AddrKind::LinkLocal
    } else if seg[0] & 0xffc0 == 0xfec0 {
        AddrKind::SiteLocal
    } else if seg[0] & 0xff00 == 0xff00 {
        AddrKind::Multicast
    } else {
        AddrKind::GlobalUnicast
    }
}

/// The kind of an IPv4 address; see [`classify`].
pub const fn classify_v4(addr: Ipv4Addr) -> AddrKind {
    let [a, b, c, _] = addr.octets();
    match (a, b, c) {
        _ if addr.is_unspecified() => AddrKind::Ipv4Unspecified,
        _ if addr.is_broadcast() => AddrKind::Ipv4Broadcast,
        (0, _, _) | (240..=255, _, _) => AddrKind::Ipv4Reserved,
        (127, _, _) => AddrKind::Ipv4Loopback,
        (169, 254, _) => AddrKind::Ipv4LinkLocal,
        (10, _, _) | (172, 16..=31, _) | (192, 168, _) => AddrKind::Ipv4Private,
        (100, 64..=127, _) => AddrKind::Ipv4SharedCgn,
        (192, 0, 2) | (198, 51, 100) | (203, 0, 113) => AddrKind::Ipv4Documentation,
        (198, 18..=19, _) => AddrKind::Ipv4Benchmarking,
        (224..=239, _, _) => AddrKind::Ipv4Multicast,
        _ => AddrKind::Ipv4Global,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::format;
    use std::string::ToString;

    fn kind(s: &str) -> AddrKind {
        classify(s.parse().unwrap())
    }

    #[test]
    fn ipv6_kinds() {
        let cases = [
            ("::", AddrKind::Unspecified),
            ("::1", AddrKind::Loopback),
            ("fe80::1", AddrKind::LinkLocal),
            ("febf:ffff::1", AddrKind::LinkLocal),
            ("fec0::1", AddrKind::SiteLocal),
            ("feff::1", AddrKind::SiteLocal),
            ("fc00::1", AddrKind::UniqueLocal),
            ("fdff:ffff::1", AddrKind::UniqueLocal),
            ("ff02::1", AddrKind::Multicast),
            ("ff0e::1", AddrKind::Multicast),
            ("2001:db8::1", AddrKind::Documentation),
            ("2001:db8:ffff::1", AddrKind::Documentation),
            ("3fff::1", AddrKind::Documentation),
            ("3fff:fff::1", AddrKind::Documentation),
            ("3fff:1000::1", AddrKind::GlobalUnicast),
            ("3ffe:831f::1", AddrKind::SixBone),
            ("2001:10::1", AddrKind::Orchid),
            ("2001:1f:ffff::1", AddrKind::Orchid),
            ("2001:20::1", AddrKind::Orchid),
            ("2001:2f::1", AddrKind::Orchid),
            ("2001:30::1", AddrKind::GlobalUnicast),
            ("2001:f::1", AddrKind::GlobalUnicast),
            ("2001:0:4136:e378:8000:63bf:3fff:fdd2", AddrKind::Teredo),
            ("2001::", AddrKind::Teredo),
            ("2001:1::1", AddrKind::GlobalUnicast),
            ("2002:c000:22a::1", AddrKind::SixToFour),
            ("64:ff9b::192.0.2.33", AddrKind::Nat64),
            ("64:ff9b:1:2::1", AddrKind::Nat64),
            ("64:ff9b:2::1", AddrKind::GlobalUnicast),
            ("64:ff9b:0:0:1::1", AddrKind::GlobalUnicast),
            ("::ffff:192.0.2.1", AddrKind::Ipv4Mapped),
            ("::192.0.2.1", AddrKind::Ipv4Compatible),
            ("::2", AddrKind::Ipv4Compatible),
            ("2a00:1450:4001::1", AddrKind::GlobalUnicast),
            ("2606:4700::1111", AddrKind::GlobalUnicast),
        ];
        for (s, k) in cases {
            assert_eq!(kind(s), k, "{s}");
            assert!(!k.is_ipv4(), "{s}");
        }
    }

    #[test]
    fn ipv4_kinds() {
        let cases = [
            ("0.0.0.0", AddrKind::Ipv4Unspecified),
            ("0.1.2.3", AddrKind::Ipv4Reserved),
            ("127.0.0.1", AddrKind::Ipv4Loopback),
            ("127.255.255.254", AddrKind::Ipv4Loopback),
            ("169.254.0.1", AddrKind::Ipv4LinkLocal),
            ("169.253.0.1", AddrKind::Ipv4Global),
            ("10.0.0.1", AddrKind::Ipv4Private),
            ("172.16.0.1", AddrKind::Ipv4Private),
            ("172.31.255.255", AddrKind::Ipv4Private),
            ("172.32.0.1", AddrKind::Ipv4Global),
            ("172.15.0.1", AddrKind::Ipv4Global),
            ("192.168.1.1", AddrKind::Ipv4Private),
            ("100.64.0.1", AddrKind::Ipv4SharedCgn),
            ("100.127.255.255", AddrKind::Ipv4SharedCgn),
            ("100.128.0.1", AddrKind::Ipv4Global),
            ("192.0.2.1", AddrKind::Ipv4Documentation),
            ("198.51.100.1", AddrKind::Ipv4Documentation),
            ("203.0.113.255", AddrKind::Ipv4Documentation),
            ("198.18.0.1", AddrKind::Ipv4Benchmarking),
            ("198.19.255.255", AddrKind::Ipv4Benchmarking),
            ("198.20.0.1", AddrKind::Ipv4Global),
            ("224.0.0.1", AddrKind::Ipv4Multicast),
            ("239.255.255.255", AddrKind::Ipv4Multicast),
            ("240.0.0.1", AddrKind::Ipv4Reserved),
            ("255.255.255.254", AddrKind::Ipv4Reserved),
            ("255.255.255.255", AddrKind::Ipv4Broadcast),
            ("8.8.8.8", AddrKind::Ipv4Global),
            ("65.54.227.120", AddrKind::Ipv4Global),
        ];
        for (s, k) in cases {
            assert_eq!(kind(s), k, "{s}");
            assert!(k.is_ipv4(), "{s}");
        }
    }

    #[test]
    fn network_specific_nat64_prefixes() {
        let nsp = |s: &str| s.parse::<Nat64Prefix>().unwrap();
        let prefixes = [nsp("2001:db8:64::/96"), nsp("2a00:1:2::/48")];
        let kind = |s: &str| classify_with_nat64(s.parse().unwrap(), &prefixes);
        assert_eq!(kind("2001:db8:64::c633:6432"), AddrKind::Nat64);
        assert_eq!(kind("2a00:1:2:c633:64:3200::"), AddrKind::Nat64);
        // Outside them, the usual kinds.
        assert_eq!(kind("2001:db8:65::1"), AddrKind::Documentation);
        assert_eq!(kind("2a00:1:3::1"), AddrKind::GlobalUnicast);
        assert_eq!(kind("64:ff9b::192.0.2.1"), AddrKind::Nat64);
        assert_eq!(kind("198.51.100.50"), AddrKind::Ipv4Documentation);
        // No prefix given: exactly `classify`.
        for k in ["2001:db8:64::1", "::1", "10.0.0.1", "2001::1"] {
            let addr = k.parse().unwrap();
            assert_eq!(classify_with_nat64(addr, &[]), classify(addr), "{k}");
        }
    }

    #[test]
    fn names_are_unique_kebab_case() {
        for (i, a) in AddrKind::ALL.iter().enumerate() {
            let n = a.name();
            assert!(
                n.bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-'),
                "{n}"
            );
            assert_eq!(a.to_string(), n);
            for b in &AddrKind::ALL[i + 1..] {
                assert_ne!(n, b.name());
            }
        }
        assert_eq!(AddrKind::Teredo.name(), "teredo");
        assert_eq!(AddrKind::SixToFour.name(), "6to4");
        assert_eq!(AddrKind::Nat64.name(), "nat64");
        assert_eq!(AddrKind::GlobalUnicast.name(), "native-global");
        assert_eq!(AddrKind::Ipv4Private.name(), "ipv4-private");
        assert_eq!(AddrKind::LinkLocal.name(), "link-local");
        assert_eq!(format!("{:>8}", AddrKind::SixToFour), "    6to4");
    }

    #[test]
    fn all_is_in_declaration_order() {
        // The derived `Ord` follows declaration order, so a sorted, strictly
        // increasing `ALL` lists each variant once in that order.
        assert!(AddrKind::ALL.windows(2).all(|w| w[0] < w[1]));
    }

    #[test]
    fn helpers() {
        for k in AddrKind::ALL {
            let transition = matches!(
                k,
                AddrKind::Teredo
                    | AddrKind::SixToFour
                    | AddrKind::Nat64
                    | AddrKind::Ipv4Mapped
                    | AddrKind::Ipv4Compatible
            );
            assert_eq!(k.is_ipv6_transition(), transition, "{k}");
            assert_eq!(
                k.is_tunnel(),
                matches!(k, AddrKind::Teredo | AddrKind::SixToFour),
                "{k}"
            );
            // Every tunnel is a transition address.
            assert!(!k.is_tunnel() || k.is_ipv6_transition(), "{k}");
        }
    }
}
