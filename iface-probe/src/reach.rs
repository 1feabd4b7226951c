//! Where the host would send traffic for one representative destination of
//! each kind (IPv4, native IPv6, 6to4, Teredo): the kernel's own answer,
//! read with every snapshot, so that what the host can reach is judged by
//! the routing decision itself (policy rules, every table, metrics)
//! rather than by re-implementing it.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use crate::model::{Address, Family, Interface, RT_TABLE_MAIN, Route, RouteKind};

/// The kernel's answer for one representative destination: the source
/// address it would use and the interface it would leave through.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct Path {
    /// The source address.
    pub source: IpAddr,
    /// The outgoing interface's index.
    pub oif: u32,
}

impl Path {
    /// A path from `source` out of interface `oif`.
    pub const fn new(source: IpAddr, oif: u32) -> Self {
        Self { source, oif }
    }
}

/// The kernel's answers for the representative destinations
/// ([`Reach::PROBES`]); `None` where it has no route (or only a route that
/// delivers nothing: unreachable, blackhole, prohibit).
///
/// Nothing is sent to these destinations: the kernel is asked which route
/// it would take (`RTM_GETROUTE` on Linux, `GetBestRoute2` on Windows, a
/// connected UDP socket elsewhere).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct Reach {
    /// Towards global IPv4 ([`Reach::IPV4_PROBE`]).
    pub ipv4: Option<Path>,
    /// Towards native global IPv6 ([`Reach::IPV6_PROBE`]).
    pub ipv6: Option<Path>,
    /// Towards a 6to4 address ([`Reach::SIXTOFOUR_PROBE`]).
    pub sixtofour: Option<Path>,
    /// Towards a Teredo address ([`Reach::TEREDO_PROBE`]).
    pub teredo: Option<Path>,
}

impl Reach {
    /// The representative global IPv4 destination (a public anycast
    /// resolver's address; only the route to it is asked for).
    pub const IPV4_PROBE: Ipv4Addr = Ipv4Addr::new(8, 8, 8, 8);
    /// The representative native IPv6 destination, the address Chromium's
    /// IPv6 reachability check uses.
    pub const IPV6_PROBE: Ipv6Addr = Ipv6Addr::new(0x2001, 0x4860, 0x4860, 0, 0, 0, 0, 0x8888);
    /// The representative 6to4 destination: the 6to4 relay anycast address
    /// 192.88.99.1 (RFC 3068) as a `2002::/16` address.
    pub const SIXTOFOUR_PROBE: Ipv6Addr = Ipv6Addr::new(0x2002, 0xc058, 0x6301, 0, 0, 0, 0, 1);
    /// The representative Teredo destination (`2001:0::/32`), a client of
    /// server 65.54.227.120 behind a cone NAT, as RFC 4380 encodes it.
    pub const TEREDO_PROBE: Ipv6Addr =
        Ipv6Addr::new(0x2001, 0, 0x4136, 0xe378, 0x8000, 0x63bf, 0x3fff, 0xfdd2);

    /// The four representative destinations, in the order of the fields.
    pub const PROBES: [IpAddr; 4] = [
        IpAddr::V4(Self::IPV4_PROBE),
        IpAddr::V6(Self::IPV6_PROBE),
        IpAddr::V6(Self::SIXTOFOUR_PROBE),
        IpAddr::V6(Self::TEREDO_PROBE),
    ];

    /// The reach from answers to [`Reach::PROBES`], in that order.
    pub(crate) fn from_answers(answers: [Option<Path>; 4]) -> Self {
        let [ipv4, ipv6, sixtofour, teredo] = answers;
        Self {
            ipv4,
            ipv6,
            sixtofour,
            teredo,
        }
    }

    /// What the kernel would answer for [`Reach::PROBES`] with only these
    /// interfaces and these main-table routes: the longest matching prefix,
    /// then the lowest metric, its outgoing interface (the first next hop
    /// of a multipath route), and its preferred source or else the first
    /// usable global address of the family on that interface. Policy rules
    /// and other tables are not modelled; a snapshot read from a live host
    /// carries the kernel's real answers instead.
    pub(crate) fn emulate(interfaces: &[Interface], routes: &[Route]) -> Self {
        let answer = |dest: IpAddr| {
            let family = Family::of(dest);
            let route = routes
                .iter()
                .filter(|r| {
                    r.family == family
                        && r.table == RT_TABLE_MAIN
                        && r.kind == RouteKind::Unicast
                        && r.covers(dest, if dest.is_ipv4() { 32 } else { 128 })
                })
                .max_by_key(|r| (r.dst.map_or(0, |(_, len)| len), std::cmp::Reverse(r.metric)))?;
            let oif = route
                .oif
                .or_else(|| route.multipath.first().map(|h| h.oif))?;
            let iface = interfaces.iter().find(|i| i.index == oif)?;
            let source = route.pref_src.or_else(|| {
                iface
                    .addresses
                    .iter()
                    .find(|a| Family::of(a.ip) == family && emulated_source(a))
                    .map(|a| a.ip)
            })?;
            Some(Path::new(source, oif))
        };
        let [a, b, c, d] = Self::PROBES;
        Self::from_answers([answer(a), answer(b), answer(c), answer(d)])
    }
}

/// Whether the emulation would pick `addr` as a source: usable, and of
/// global scope for IPv6 (the kernel does not use a link-local source for
/// a global destination).
fn emulated_source(addr: &Address) -> bool {
    addr.is_usable()
        && (addr.ip.is_ipv4() || teredo_addr::scope(addr.ip) == teredo_addr::Scope::Global)
}
