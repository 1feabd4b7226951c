//! Windows' IP Helper records as plain Rust values, and the pure
//! functions that turn them into this crate's [`Interface`], [`Address`]
//! and [`Route`].
//!
//! The Windows backend (`sys/windows`) copies the fields it needs out of
//! `IP_ADAPTER_ADDRESSES_LH`, `IP_ADAPTER_UNICAST_ADDRESS_LH` and the
//! answer of `GetBestRoute2` (`MIB_IPFORWARD_ROW2` and the best source
//! address) into the records below, and nothing else. Everything that
//! decides what those fields mean lives here, so that it is compiled and
//! unit-tested on every platform, Linux included, with records made by
//! hand.
//!
//! The constants are the documented values of the Windows SDK's
//! enumerations (`ipifcons.h`, `ifdef.h`, `nldef.h`); on Windows the
//! backend checks at compile time that they equal `windows-sys`'s.

use std::net::IpAddr;

use crate::model::{AddrFlags, Address, Family, Interface, LinkKind, OperState, Route, RouteKind};

/// `IF_TYPE_ETHERNET_CSMACD`: Ethernet.
pub(crate) const IF_TYPE_ETHERNET_CSMACD: u32 = 6;
/// `IF_TYPE_SOFTWARE_LOOPBACK`: the loopback interface.
pub(crate) const IF_TYPE_SOFTWARE_LOOPBACK: u32 = 24;
/// `IF_TYPE_IEEE80211`: wireless LAN.
pub(crate) const IF_TYPE_IEEE80211: u32 = 71;
/// `IF_TYPE_TUNNEL`: an encapsulation interface of any tunnel type.
pub(crate) const IF_TYPE_TUNNEL: u32 = 131;

/// `IfOperStatusUp` (`IF_OPER_STATUS`, RFC 2863's numbering).
pub(crate) const OPER_UP: i32 = 1;
/// `IfOperStatusDown`.
pub(crate) const OPER_DOWN: i32 = 2;
/// `IfOperStatusTesting`.
pub(crate) const OPER_TESTING: i32 = 3;
/// `IfOperStatusUnknown`.
pub(crate) const OPER_UNKNOWN: i32 = 4;
/// `IfOperStatusDormant`.
pub(crate) const OPER_DORMANT: i32 = 5;
/// `IfOperStatusNotPresent`.
pub(crate) const OPER_NOT_PRESENT: i32 = 6;
/// `IfOperStatusLowerLayerDown`.
pub(crate) const OPER_LOWER_LAYER_DOWN: i32 = 7;

/// `TUNNEL_TYPE_NONE`: not a tunnel.
pub(crate) const TUNNEL_TYPE_NONE: i32 = 0;
/// `TUNNEL_TYPE_DIRECT`: a configured IPv6-in-IPv4 tunnel (6in4).
pub(crate) const TUNNEL_TYPE_DIRECT: i32 = 2;
/// `TUNNEL_TYPE_6TO4`: 6to4 (RFC 3056).
pub(crate) const TUNNEL_TYPE_6TO4: i32 = 11;
/// `TUNNEL_TYPE_ISATAP`: ISATAP (RFC 5214).
pub(crate) const TUNNEL_TYPE_ISATAP: i32 = 13;
/// `TUNNEL_TYPE_TEREDO`: Teredo (RFC 4380), Windows' own client.
pub(crate) const TUNNEL_TYPE_TEREDO: i32 = 14;

/// `IpPrefixOriginManual` (`NL_PREFIX_ORIGIN`).
pub(crate) const PREFIX_ORIGIN_MANUAL: i32 = 1;
/// `IpPrefixOriginDhcp`.
pub(crate) const PREFIX_ORIGIN_DHCP: i32 = 3;
/// `IpPrefixOriginRouterAdvertisement`.
pub(crate) const PREFIX_ORIGIN_ROUTER_ADVERTISEMENT: i32 = 4;

/// `IpSuffixOriginManual` (`NL_SUFFIX_ORIGIN`).
pub(crate) const SUFFIX_ORIGIN_MANUAL: i32 = 1;
/// `IpSuffixOriginLinkLayerAddress`: a suffix from the hardware address.
pub(crate) const SUFFIX_ORIGIN_LINK_LAYER_ADDRESS: i32 = 4;
/// `IpSuffixOriginRandom`: a temporary (privacy) address.
pub(crate) const SUFFIX_ORIGIN_RANDOM: i32 = 5;

/// `IpDadStateInvalid` (`NL_DAD_STATE`).
pub(crate) const DAD_STATE_INVALID: i32 = 0;
/// `IpDadStateTentative`: DAD is running.
pub(crate) const DAD_STATE_TENTATIVE: i32 = 1;
/// `IpDadStateDuplicate`: DAD found the address in use.
pub(crate) const DAD_STATE_DUPLICATE: i32 = 2;
/// `IpDadStateDeprecated`: the preferred lifetime is over.
pub(crate) const DAD_STATE_DEPRECATED: i32 = 3;
/// `IpDadStatePreferred`: usable.
pub(crate) const DAD_STATE_PREFERRED: i32 = 4;

/// The lifetime Windows reports for "forever".
pub(crate) const INFINITE_LIFETIME: u32 = u32::MAX;

/// What the backend reads of one `IP_ADAPTER_ADDRESSES_LH`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct AdapterRecord {
    /// `IfIndex`, the IPv4 interface index; 0 when IPv4 is not bound.
    pub(crate) if_index: u32,
    /// `Ipv6IfIndex`; 0 when IPv6 is not bound.
    pub(crate) ipv6_if_index: u32,
    /// `FriendlyName`, the name users see ("Ethernet", "Wi-Fi"). The
    /// `AdapterName` is a GUID, of no use to a reader.
    pub(crate) friendly_name: String,
    /// `IfType`, an `IF_TYPE_*` value.
    pub(crate) if_type: u32,
    /// `OperStatus`, an `IF_OPER_STATUS` value.
    pub(crate) oper_status: i32,
    /// `Mtu`.
    pub(crate) mtu: u32,
    /// `TunnelType`, a `TUNNEL_TYPE_*` value.
    pub(crate) tunnel_type: i32,
    /// The unicast addresses, in the order listed.
    pub(crate) unicast: Vec<UnicastRecord>,
}

/// What the backend reads of one `IP_ADAPTER_UNICAST_ADDRESS_LH`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct UnicastRecord {
    /// The address (`Address.lpSockaddr`).
    pub(crate) ip: IpAddr,
    /// `OnLinkPrefixLength`.
    pub(crate) prefix_len: u8,
    /// `PrefixOrigin`, an `NL_PREFIX_ORIGIN` value.
    pub(crate) prefix_origin: i32,
    /// `SuffixOrigin`, an `NL_SUFFIX_ORIGIN` value.
    pub(crate) suffix_origin: i32,
    /// `DadState`, an `NL_DAD_STATE` value.
    pub(crate) dad_state: i32,
    /// `ValidLifetime` in seconds; [`INFINITE_LIFETIME`] is forever.
    pub(crate) valid_lifetime: u32,
    /// `PreferredLifetime` in seconds; [`INFINITE_LIFETIME`] is forever.
    pub(crate) preferred_lifetime: u32,
}

/// What the backend reads of one `GetBestRoute2` answer: the fields of
/// `MIB_IPFORWARD_ROW2` that a [`Route`] has room for, and the best
/// source address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct BestRouteRecord {
    /// `InterfaceIndex`.
    pub(crate) interface_index: u32,
    /// `DestinationPrefix`: the prefix of the route that matched.
    pub(crate) prefix: IpAddr,
    /// `DestinationPrefix.PrefixLength`.
    pub(crate) prefix_len: u8,
    /// `NextHop`; `None` when it is the unspecified address (on link).
    pub(crate) next_hop: Option<IpAddr>,
    /// `Metric`.
    pub(crate) metric: u32,
    /// `Protocol`, an `NL_ROUTE_PROTOCOL` value.
    pub(crate) protocol: i32,
    /// `BestSourceAddress`.
    pub(crate) source: IpAddr,
}

/// The interface an adapter stands for; `None` for an adapter with no IP
/// stack bound (both indexes 0), which no route or address can name.
pub(crate) fn interface(adapter: &AdapterRecord) -> Option<Interface> {
    let index = if adapter.if_index != 0 {
        adapter.if_index
    } else {
        adapter.ipv6_if_index
    };
    if index == 0 {
        return None;
    }
    let mut iface = Interface::new(index, adapter.friendly_name.clone());
    iface.kind = kind(adapter.if_type, adapter.tunnel_type);
    iface.link_type = u16::try_from(adapter.if_type).unwrap_or(u16::MAX);
    let up = adapter.oper_status == OPER_UP;
    // Windows has no separate administrative flag that an application
    // can read here: an interface counts as up and running only when it
    // can pass packets.
    (iface.up, iface.running) = (up, up);
    iface.carrier = match adapter.oper_status {
        OPER_UP => Some(true),
        OPER_DOWN | OPER_LOWER_LAYER_DOWN | OPER_NOT_PRESENT => Some(false),
        _ => None,
    };
    iface.oper_state = oper_state(adapter.oper_status);
    iface.loopback = adapter.if_type == IF_TYPE_SOFTWARE_LOOPBACK;
    iface.mtu = adapter.mtu;
    iface.addresses = adapter.unicast.iter().map(address).collect();
    Some(iface)
}

/// The interfaces of the adapters, in the order Windows listed them: it
/// keeps adapters in RFC 3484 preference order, so the order is kept.
pub(crate) fn interfaces(adapters: &[AdapterRecord]) -> Vec<Interface> {
    adapters.iter().filter_map(interface).collect()
}

/// The kind of an interface from its `IfType` and `TunnelType`.
///
/// Tunnels are told apart by the tunnel type: Teredo is its own kind;
/// 6to4, ISATAP and configured 6in4 tunnels are IPv6 in IPv4, which Linux
/// calls `sit`; any other tunnel (IP-HTTPS, a VPN's) is a [`LinkKind::Tun`].
pub(crate) fn kind(if_type: u32, tunnel_type: i32) -> LinkKind {
    match (if_type, tunnel_type) {
        (IF_TYPE_SOFTWARE_LOOPBACK, _) => LinkKind::Loopback,
        (_, TUNNEL_TYPE_TEREDO) => LinkKind::Teredo,
        (_, TUNNEL_TYPE_6TO4 | TUNNEL_TYPE_ISATAP | TUNNEL_TYPE_DIRECT) => LinkKind::Sit,
        (IF_TYPE_TUNNEL, _) => LinkKind::Tun,
        (_, t) if t != TUNNEL_TYPE_NONE => LinkKind::Tun,
        (IF_TYPE_ETHERNET_CSMACD, _) => LinkKind::Ethernet,
        (IF_TYPE_IEEE80211, _) => LinkKind::Wireless,
        (n, _) => LinkKind::Other(format!("iftype-{n}")),
    }
}

/// The RFC 2863 state for an `IF_OPER_STATUS` value (Windows numbers the
/// states as the RFC's MIB does, Linux as `IF_OPER_*`).
pub(crate) fn oper_state(status: i32) -> OperState {
    match status {
        OPER_UP => OperState::Up,
        OPER_DOWN => OperState::Down,
        OPER_TESTING => OperState::Testing,
        OPER_UNKNOWN => OperState::Unknown,
        OPER_DORMANT => OperState::Dormant,
        OPER_NOT_PRESENT => OperState::NotPresent,
        OPER_LOWER_LAYER_DOWN => OperState::LowerLayerDown,
        other => OperState::Other(u8::try_from(other).unwrap_or(u8::MAX)),
    }
}

/// The flags an address's DAD state and origins stand for.
///
/// - Tentative is [`AddrFlags::TENTATIVE`], duplicate
///   [`AddrFlags::DADFAILED`], deprecated [`AddrFlags::DEPRECATED`].
/// - Invalid (an address Windows will not use and is removing) is
///   [`AddrFlags::DADFAILED`] too: it is unusable, and waiting will not
///   make it usable, so a wait reports it rather than waiting it out.
/// - A random suffix is a temporary (privacy) address,
///   [`AddrFlags::TEMPORARY`].
/// - A manual prefix with a manual suffix was configured by hand,
///   [`AddrFlags::PERMANENT`] (Linux's meaning of the flag).
pub(crate) fn flags(record: &UnicastRecord) -> AddrFlags {
    let mut flags = match record.dad_state {
        DAD_STATE_TENTATIVE => AddrFlags::TENTATIVE,
        DAD_STATE_DUPLICATE | DAD_STATE_INVALID => AddrFlags::DADFAILED,
        DAD_STATE_DEPRECATED => AddrFlags::DEPRECATED,
        _ => AddrFlags::NONE,
    };
    if record.suffix_origin == SUFFIX_ORIGIN_RANDOM {
        flags = flags | AddrFlags::TEMPORARY;
    }
    if record.prefix_origin == PREFIX_ORIGIN_MANUAL && record.suffix_origin == SUFFIX_ORIGIN_MANUAL
    {
        flags = flags | AddrFlags::PERMANENT;
    }
    flags
}

/// A lifetime in seconds, `None` for forever.
pub(crate) fn lifetime(seconds: u32) -> Option<u32> {
    (seconds != INFINITE_LIFETIME).then_some(seconds)
}

/// The address a unicast record stands for. The prefix length is capped
/// at the family's width, should Windows ever report more.
pub(crate) fn address(record: &UnicastRecord) -> Address {
    let width = if record.ip.is_ipv4() { 32 } else { 128 };
    let mut addr = Address::new(record.ip, record.prefix_len.min(width));
    addr.scope = scope_of(record.ip);
    addr.flags = flags(record);
    addr.preferred_lft = lifetime(record.preferred_lifetime);
    addr.valid_lft = lifetime(record.valid_lifetime);
    addr
}

/// The `RT_SCOPE_*` value Linux would report for an address: host for
/// loopback (RFC 6724 gives `::1` link-local scope, Linux host scope),
/// link for link-local, universe otherwise.
fn scope_of(ip: IpAddr) -> u8 {
    if ip.is_loopback() {
        return 254;
    }
    match teredo_addr::scope(ip) {
        teredo_addr::Scope::InterfaceLocal => 254,
        teredo_addr::Scope::LinkLocal => 253,
        _ => 0,
    }
}

/// The route a `GetBestRoute2` answer stands for: the matched prefix (a
/// default route has none), the interface, the next hop, and the best
/// source address as the preferred source. It is always a unicast route:
/// Windows answers an unroutable destination with an error instead.
pub(crate) fn route(record: &BestRouteRecord) -> Route {
    let width = if record.prefix.is_ipv4() { 32 } else { 128 };
    let prefix_len = record.prefix_len.min(width);
    let dst = (prefix_len != 0).then_some((record.prefix, prefix_len));
    let mut route = Route::new(Family::of(record.prefix), dst);
    route.oif = Some(record.interface_index);
    route.gateway = record.next_hop.filter(|ip| !ip.is_unspecified());
    route.pref_src = Some(record.source);
    route.metric = record.metric;
    route.kind = RouteKind::Unicast;
    route.protocol = u8::try_from(record.protocol).unwrap_or(0);
    route
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unicast(ip: &str, prefix_len: u8) -> UnicastRecord {
        UnicastRecord {
            ip: ip.parse().unwrap(),
            prefix_len,
            prefix_origin: PREFIX_ORIGIN_ROUTER_ADVERTISEMENT,
            suffix_origin: SUFFIX_ORIGIN_LINK_LAYER_ADDRESS,
            dad_state: DAD_STATE_PREFERRED,
            valid_lifetime: INFINITE_LIFETIME,
            preferred_lifetime: INFINITE_LIFETIME,
        }
    }

    fn adapter(
        if_index: u32,
        name: &str,
        if_type: u32,
        unicast: Vec<UnicastRecord>,
    ) -> AdapterRecord {
        AdapterRecord {
            if_index,
            ipv6_if_index: if_index,
            friendly_name: name.into(),
            if_type,
            oper_status: OPER_UP,
            mtu: 1500,
            tunnel_type: TUNNEL_TYPE_NONE,
            unicast,
        }
    }

    /// A Windows host as `GetAdaptersAddresses` lists it: Wi-Fi with IPv4
    /// and a link-local address, the Teredo pseudo-interface (IPv6 only,
    /// so its IPv4 index is 0), a disconnected Ethernet, the loopback.
    fn host() -> Vec<AdapterRecord> {
        let mut wifi = adapter(
            12,
            "Wi-Fi",
            IF_TYPE_IEEE80211,
            vec![
                unicast("fe80::1c2d:3e4f:5a6b:7c8d", 64),
                unicast("192.0.2.45", 24),
            ],
        );
        wifi.unicast[1].prefix_origin = PREFIX_ORIGIN_DHCP;
        wifi.unicast[1].suffix_origin = 3;
        wifi.unicast[1].valid_lifetime = 86_400;
        wifi.unicast[1].preferred_lifetime = 86_400;
        let mut teredo = adapter(
            0,
            "Teredo Tunneling Pseudo-Interface",
            IF_TYPE_TUNNEL,
            vec![unicast("2001:0:4136:e378:8000:63bf:3fff:fdd2", 64)],
        );
        teredo.ipv6_if_index = 14;
        teredo.tunnel_type = TUNNEL_TYPE_TEREDO;
        teredo.mtu = 1280;
        let mut ethernet = adapter(7, "Ethernet", IF_TYPE_ETHERNET_CSMACD, vec![]);
        ethernet.oper_status = OPER_DOWN;
        let mut loopback = adapter(
            1,
            "Loopback Pseudo-Interface 1",
            IF_TYPE_SOFTWARE_LOOPBACK,
            vec![unicast("::1", 128), unicast("127.0.0.1", 8)],
        );
        for a in &mut loopback.unicast {
            a.prefix_origin = 2;
            a.suffix_origin = 2;
        }
        loopback.mtu = u32::MAX;
        loopback.oper_status = OPER_UP;
        vec![wifi, teredo, ethernet, loopback]
    }

    #[test]
    fn adapters_keep_windows_order_and_their_fields() {
        let ifaces = interfaces(&host());
        let names: Vec<&str> = ifaces.iter().map(|i| i.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "Wi-Fi",
                "Teredo Tunneling Pseudo-Interface",
                "Ethernet",
                "Loopback Pseudo-Interface 1"
            ],
            "not re-sorted by index"
        );
        let [wifi, teredo, ethernet, loopback] = &ifaces[..] else {
            panic!("{ifaces:?}")
        };
        assert_eq!((wifi.index, wifi.kind.clone()), (12, LinkKind::Wireless));
        assert!(wifi.is_operational() && wifi.carrier == Some(true));
        assert_eq!(wifi.link_type, 71);
        assert_eq!(wifi.oper_state, OperState::Up);
        assert_eq!(wifi.addresses[0].scope, 253);
        assert_eq!(wifi.addresses[1].prefix_len, 24);
        assert_eq!(wifi.addresses[1].valid_lft, Some(86_400));
        // The Teredo interface has no IPv4 index: the IPv6 one names it.
        assert_eq!(teredo.index, 14);
        assert_eq!(teredo.kind, LinkKind::Teredo);
        assert!(teredo.kind.is_tunnel());
        assert_eq!(teredo.mtu, 1280);
        assert_eq!(
            teredo.addresses[0].class,
            teredo_addr::AddrKind::Teredo,
            "classified by teredo-addr"
        );
        assert_eq!(ethernet.kind, LinkKind::Ethernet);
        assert!(!ethernet.up && !ethernet.running);
        assert_eq!(ethernet.carrier, Some(false));
        assert_eq!(ethernet.oper_state, OperState::Down);
        assert!(loopback.is_loopback() && loopback.loopback);
        assert_eq!(loopback.kind, LinkKind::Loopback);
        assert_eq!(loopback.addresses[0].scope, 254);
        assert_eq!(loopback.addresses[1].scope, 254);
    }

    #[test]
    fn ipv4_is_preferred_to_teredo() {
        use crate::snapshot::Snapshot;
        let snap = Snapshot {
            interfaces: interfaces(&host()),
            ..Snapshot::default()
        };
        let order: Vec<&str> = snap
            .interfaces_in_preference_order()
            .iter()
            .map(|i| i.name.as_str())
            .collect();
        assert_eq!(order[..2], ["Wi-Fi", "Teredo Tunneling Pseudo-Interface"]);
    }

    #[test]
    fn an_adapter_without_an_ip_stack_is_left_out() {
        let mut a = adapter(0, "Bluetooth Network Connection", 6, vec![]);
        a.ipv6_if_index = 0;
        assert_eq!(interface(&a), None);
    }

    #[test]
    fn dad_states_become_flags() {
        let mut r = unicast("2001:db8::1", 64);
        let cases = [
            (DAD_STATE_PREFERRED, AddrFlags::NONE),
            (DAD_STATE_TENTATIVE, AddrFlags::TENTATIVE),
            (DAD_STATE_DUPLICATE, AddrFlags::DADFAILED),
            (DAD_STATE_DEPRECATED, AddrFlags::DEPRECATED),
            (DAD_STATE_INVALID, AddrFlags::DADFAILED),
            (99, AddrFlags::NONE),
        ];
        for (state, want) in cases {
            r.dad_state = state;
            assert_eq!(flags(&r), want, "dad state {state}");
        }
        r.dad_state = DAD_STATE_TENTATIVE;
        let a = address(&r);
        assert!(a.flags.tentative() && !a.is_usable());
        r.dad_state = DAD_STATE_DUPLICATE;
        assert!(address(&r).flags.dadfailed());
        r.dad_state = DAD_STATE_DEPRECATED;
        let a = address(&r);
        assert!(a.flags.deprecated() && !a.is_usable());
    }

    #[test]
    fn origins_become_temporary_and_permanent() {
        let mut r = unicast("2001:db8::9", 64);
        r.suffix_origin = SUFFIX_ORIGIN_RANDOM;
        r.preferred_lifetime = 3_600;
        r.valid_lifetime = 7_200;
        let a = address(&r);
        assert!(a.flags.temporary() && !a.flags.permanent());
        assert_eq!((a.preferred_lft, a.valid_lft), (Some(3_600), Some(7_200)));
        // Configured by hand: manual prefix and manual suffix.
        r.prefix_origin = PREFIX_ORIGIN_MANUAL;
        r.suffix_origin = SUFFIX_ORIGIN_MANUAL;
        let a = address(&r);
        assert!(a.flags.permanent() && !a.flags.temporary());
        // A manual prefix with a generated suffix is not.
        r.suffix_origin = SUFFIX_ORIGIN_LINK_LAYER_ADDRESS;
        assert_eq!(flags(&r), AddrFlags::NONE);
        // A temporary address may be tentative too.
        r.suffix_origin = SUFFIX_ORIGIN_RANDOM;
        r.dad_state = DAD_STATE_TENTATIVE;
        assert_eq!(flags(&r), AddrFlags::TEMPORARY | AddrFlags::TENTATIVE);
    }

    #[test]
    fn infinite_lifetimes_are_none() {
        let r = unicast("192.0.2.1", 24);
        let a = address(&r);
        assert_eq!((a.preferred_lft, a.valid_lft), (None, None));
        assert_eq!(lifetime(0), Some(0));
        assert_eq!(lifetime(INFINITE_LIFETIME - 1), Some(u32::MAX - 1));
    }

    #[test]
    fn prefix_lengths_are_capped_at_the_family_width() {
        assert_eq!(address(&unicast("192.0.2.1", 200)).prefix_len, 32);
        assert_eq!(address(&unicast("2001:db8::1", 255)).prefix_len, 128);
    }

    #[test]
    fn kinds_from_types() {
        assert_eq!(kind(IF_TYPE_TUNNEL, TUNNEL_TYPE_TEREDO), LinkKind::Teredo);
        assert_eq!(kind(IF_TYPE_TUNNEL, TUNNEL_TYPE_6TO4), LinkKind::Sit);
        assert_eq!(kind(IF_TYPE_TUNNEL, TUNNEL_TYPE_ISATAP), LinkKind::Sit);
        assert_eq!(kind(IF_TYPE_TUNNEL, TUNNEL_TYPE_DIRECT), LinkKind::Sit);
        assert_eq!(kind(IF_TYPE_TUNNEL, 15), LinkKind::Tun, "ip-https");
        assert_eq!(kind(IF_TYPE_TUNNEL, TUNNEL_TYPE_NONE), LinkKind::Tun);
        assert_eq!(kind(53, 1), LinkKind::Tun, "a virtual adapter's tunnel");
        assert_eq!(kind(IF_TYPE_ETHERNET_CSMACD, 0), LinkKind::Ethernet);
        assert_eq!(kind(IF_TYPE_IEEE80211, 0), LinkKind::Wireless);
        assert_eq!(kind(IF_TYPE_SOFTWARE_LOOPBACK, 0), LinkKind::Loopback);
        assert_eq!(kind(23, 0), LinkKind::Other("iftype-23".into()));
        assert_eq!(kind(23, 0).name(), "iftype-23");
    }

    #[test]
    fn oper_states_follow_rfc_2863() {
        let got: Vec<OperState> = (1..=8).map(oper_state).collect();
        assert_eq!(
            got,
            [
                OperState::Up,
                OperState::Down,
                OperState::Testing,
                OperState::Unknown,
                OperState::Dormant,
                OperState::NotPresent,
                OperState::LowerLayerDown,
                OperState::Other(8)
            ]
        );
        let mut dormant = adapter(3, "x", 6, vec![]);
        dormant.oper_status = OPER_DORMANT;
        let iface = interface(&dormant).unwrap();
        assert!(!iface.up && iface.carrier.is_none());
    }

    #[test]
    fn best_routes_become_unicast_routes_with_their_source() {
        let record = BestRouteRecord {
            interface_index: 12,
            prefix: "0.0.0.0".parse().unwrap(),
            prefix_len: 0,
            next_hop: Some("192.0.2.1".parse().unwrap()),
            metric: 35,
            protocol: 3,
            source: "192.0.2.45".parse().unwrap(),
        };
        let r = route(&record);
        assert!(r.is_default() && r.dst.is_none());
        assert_eq!(r.family, Family::Ipv4);
        assert_eq!(r.oif, Some(12));
        assert_eq!(r.gateway, Some("192.0.2.1".parse().unwrap()));
        assert_eq!(r.pref_src, Some("192.0.2.45".parse().unwrap()));
        assert_eq!((r.metric, r.protocol, r.kind), (35, 3, RouteKind::Unicast));
        let path = crate::sys::path_of(&r).unwrap();
        assert_eq!((path.source, path.oif), (r.pref_src.unwrap(), 12));
        // On link: no gateway; a Teredo prefix keeps its length.
        let on_link = BestRouteRecord {
            interface_index: 14,
            prefix: "2001::".parse().unwrap(),
            prefix_len: 32,
            next_hop: Some("::".parse().unwrap()),
            metric: 256,
            protocol: 2,
            source: "2001:0:4136:e378:8000:63bf:3fff:fdd2".parse().unwrap(),
        };
        let r = route(&on_link);
        assert_eq!(r.gateway, None);
        assert_eq!(r.dst, Some(("2001::".parse().unwrap(), 32)));
        assert_eq!(r.family, Family::Ipv6);
    }
}
