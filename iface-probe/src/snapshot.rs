//! The host's interfaces and routes at one moment, and what they allow.

use std::io;
use std::net::{IpAddr, Ipv6Addr};

use teredo_addr::{AddrKind, Scope};

use crate::model::{Address, Family, Interface, LinkKind, Route, RouteKind};
use crate::nat64::{Pref64, Pref64Ignored};
use crate::netlink::{Body, Message};
use crate::reach::{Path, Reach};
use crate::sys::Backend;

/// The host's interfaces (with their addresses), the routes the system
/// lists, and the kernel's answers for the representative destinations.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Snapshot {
    /// The interfaces, in the system's order (by index on Linux and the
    /// BSDs; Windows' adapter order, which it keeps in RFC 3484 order).
    pub interfaces: Vec<Interface>,
    /// The routes of every table, where the system lists them (Linux);
    /// empty elsewhere.
    pub routes: Vec<Route>,
    /// The kernel's answers for [`Reach::PROBES`], read with the snapshot;
    /// `None` in a snapshot built by hand, which [`Snapshot::reach`] then
    /// emulates from `routes`.
    pub reach: Option<Reach>,
    /// The NAT64 prefixes routers announce on the host's interfaces (RFC
    /// 8781 PREF64 options), as a [`HostView`](crate::HostView) heard them
    /// since it started, without those expired or withdrawn. Always empty
    /// in a [`Snapshot::capture`] (the kernel keeps no table of them) and
    /// on systems other than Linux; see [`Pref64`](crate::Pref64).
    pub pref64: Vec<Pref64>,
    /// The last few PREF64 options the view did not take, and why (a
    /// prefix length code RFC 8781 does not define, a zero lifetime, ...).
    pub pref64_ignored: Vec<Pref64Ignored>,
}

/// What the host can reach, judged from a [`Snapshot`].
///
/// Each capability is the kernel's own routing decision for a
/// representative destination ([`Reach`]), cross-checked with the
/// interfaces: the source the kernel would use must be a usable address
/// (see [`Address::is_usable`]) on an operational interface (up *and*
/// running, see [`Interface::is_operational`]). Because the kernel is
/// asked, policy routing (`ip rule`, routes in other tables) counts, and
/// a tunnel whose process died does not.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct Capabilities {
    /// Global IPv4 is routed, from a usable address of an operational,
    /// non-loopback interface.
    pub ipv4: bool,
    /// Global IPv6 is routed, and from a native global address (neither
    /// Teredo nor 6to4).
    pub native_ipv6: bool,
    /// 6to4 (`2002::/16`) is reachable from a usable 6to4 address (or
    /// global IPv6 is routed from one).
    pub sixtofour: bool,
    /// Teredo (`2001:0::/32`) is reachable from a usable Teredo address
    /// (or global IPv6 is routed from one).
    pub teredo: bool,
    /// Global IPv6 is routed, and from a Teredo address: the host's only
    /// path to native IPv6 is Teredo, which reaches it through relays
    /// only.
    pub teredo_only: bool,
}

/// How much an interface is preferred, best first (the order of
/// [`Snapshot::interfaces_in_preference_order`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[non_exhaustive]
pub enum Preference {
    /// Operational with a usable native global IPv6 address.
    NativeIpv6,
    /// Operational with a usable 6to4 address (and no native one).
    SixToFour,
    /// Operational with an IPv4 address (and no native or 6to4 IPv6
    /// address).
    Ipv4,
    /// Operational with a usable Teredo address and nothing better.
    Teredo,
    /// Not operational (down, or up without a carrier), or with no usable
    /// address of the kinds above.
    Unusable,
    /// The loopback device.
    Loopback,
}

/// What a usable global IPv6 address is good for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum V6Kind {
    Native,
    SixToFour,
    Teredo,
}

/// The kind of a usable, global IPv6 address; `None` for IPv4 and for
/// IPv6 addresses that are unusable or not global (link-local, ULA, ...).
fn v6_kind(addr: &Address) -> Option<V6Kind> {
    if !addr.ip.is_ipv6() || !addr.is_usable() || teredo_addr::scope(addr.ip) != Scope::Global {
        return None;
    }
    match addr.class {
        AddrKind::Teredo => Some(V6Kind::Teredo),
        AddrKind::SixToFour => Some(V6Kind::SixToFour),
        AddrKind::Unspecified
        | AddrKind::Loopback
        | AddrKind::Ipv4Mapped
        | AddrKind::Ipv4Compatible
        | AddrKind::LinkLocal
        | AddrKind::SiteLocal
        | AddrKind::UniqueLocal
        | AddrKind::Multicast => None,
        // Native global unicast, and the special blocks inside global space
        // (documentation, NAT64, ORCHID, 6bone) that a host may still hold.
        _ => Some(V6Kind::Native),
    }
}

/// `2000::/3`, the global unicast space.
const GLOBAL_UNICAST: (IpAddr, u8) = (IpAddr::V6(Ipv6Addr::new(0x2000, 0, 0, 0, 0, 0, 0, 0)), 3);

impl Snapshot {
    /// Reads the interfaces, addresses, routes (where the system lists
    /// them) and the kernel's answers for the representative destinations.
    ///
    /// - Linux: netlink dumps over one `NETLINK_ROUTE` socket, and
    ///   `RTM_GETROUTE` lookups.
    /// - macOS, iOS and the BSDs: `getifaddrs`, with each IPv6 address's
    ///   flags and lifetimes from `SIOCGIFAFLAG_IN6` and
    ///   `SIOCGIFALIFETIME_IN6`, and connected UDP sockets.
    /// - Windows: `GetAdaptersAddresses` and `GetBestRoute2`.
    ///
    /// # Errors
    ///
    /// Whatever the system calls fail with; a netlink reply that cannot be
    /// parsed is [`io::ErrorKind::InvalidData`]. Elsewhere, always
    /// [`io::ErrorKind::Unsupported`].
    pub fn capture() -> io::Result<Self> {
        crate::sys::capture(Backend::Native)
    }

    /// [`Snapshot::capture`] with a chosen [`Backend`].
    ///
    /// # Errors
    ///
    /// As [`Snapshot::capture`]; [`io::ErrorKind::Unsupported`] for a
    /// backend this platform lacks.
    pub fn capture_with(backend: Backend) -> io::Result<Self> {
        crate::sys::capture(backend)
    }

    /// The kernel's answers for the representative destinations, as read
    /// with the snapshot; for a snapshot built by hand (`reach` is
    /// `None`), what the main-table routes say, longest prefix then lowest
    /// metric.
    pub fn reach(&self) -> Reach {
        self.reach
            .unwrap_or_else(|| Reach::emulate(&self.interfaces, &self.routes))
    }

    /// Builds a snapshot from parsed dump messages: links become
    /// interfaces, addresses join the interface with their index
    /// (addresses of unknown interfaces are dropped), routes are kept as
    /// they are, whatever their table. Other messages, removals included,
    /// are ignored: a dump has none.
    pub fn from_messages<I: IntoIterator<Item = Message>>(messages: I) -> Self {
        let mut snap = Self::default();
        let mut addresses = Vec::new();
        for msg in messages {
            match msg.body {
                Body::Link(iface) => {
                    if let Some(old) = snap.interfaces.iter_mut().find(|i| i.index == iface.index) {
                        *old = iface;
                    } else {
                        snap.interfaces.push(iface);
                    }
                }
                Body::Address { index, address } => addresses.push((index, address)),
                Body::Route(route) => snap.routes.push(route),
                _ => {}
            }
        }
        for (index, address) in addresses {
            if let Some(iface) = snap.interfaces.iter_mut().find(|i| i.index == index) {
                iface.addresses.push(address);
            }
        }
        snap
    }

    /// The interface with this index.
    pub fn interface(&self, index: u32) -> Option<&Interface> {
        self.interfaces.iter().find(|i| i.index == index)
    }

    /// The interface with this name.
    pub fn interface_by_name(&self, name: &str) -> Option<&Interface> {
        self.interfaces.iter().find(|i| i.name == name)
    }

    /// The interface holding this address, and the address. With a scope
    /// id, only that interface is searched (for link-local addresses that
    /// several interfaces share).
    pub fn address(&self, ip: IpAddr, scope_id: Option<u32>) -> Option<(&Interface, &Address)> {
        self.interfaces
            .iter()
            .filter(|i| scope_id.is_none_or(|s| s == i.index))
            .find_map(|i| i.addresses.iter().find(|a| a.ip == ip).map(|a| (i, a)))
    }

    /// Whether a unicast route to global IPv6 space leaves through
    /// interface `index`.
    fn reaches_global_ipv6(&self, index: u32) -> bool {
        self.routes.iter().any(|r| {
            r.family == Family::Ipv6
                && r.kind == RouteKind::Unicast
                && r.goes_through(index)
                && r.covers(GLOBAL_UNICAST.0, GLOBAL_UNICAST.1)
        })
    }

    /// The kind of the path's source, when it is a usable address on an
    /// operational interface: the cross-check of every capability.
    fn usable_source(&self, path: Option<Path>) -> Option<(&Interface, &Address)> {
        let path = path?;
        let (iface, addr) = self
            .address(path.source, Some(path.oif))
            .or_else(|| self.address(path.source, None))?;
        (iface.is_operational() && addr.is_usable()).then_some((iface, addr))
    }

    /// Whether the interface is IPv6-capable: operational, with a usable
    /// global IPv6 address, and global IPv6 leaves through it (by the
    /// kernel's answer for a representative destination of any IPv6 kind,
    /// or by a listed route covering `2000::/3`).
    pub fn is_ipv6_capable(&self, iface: &Interface) -> bool {
        let reach = self.reach();
        iface.is_operational()
            && iface.addresses.iter().any(|a| v6_kind(a).is_some())
            && ([reach.ipv6, reach.sixtofour, reach.teredo]
                .iter()
                .any(|p| p.is_some_and(|p| p.oif == iface.index))
                || self.reaches_global_ipv6(iface.index))
    }

    /// Whether the interface is operational, not loopback, has an IPv4
    /// address, and global IPv4 leaves through it (the kernel's answer for
    /// the representative destination, or a listed default route).
    pub fn is_ipv4_capable(&self, iface: &Interface) -> bool {
        iface.is_operational()
            && !iface.is_loopback()
            && iface.addresses.iter().any(|a| a.ip.is_ipv4())
            && (self.reach().ipv4.is_some_and(|p| p.oif == iface.index)
                || self.routes.iter().any(|r| {
                    r.family == Family::Ipv4
                        && r.kind == RouteKind::Unicast
                        && r.is_default()
                        && r.goes_through(iface.index)
                }))
    }

    /// What the host can reach; see [`Capabilities`].
    pub fn capabilities(&self) -> Capabilities {
        let reach = self.reach();
        let kind = |path| {
            self.usable_source(path)
                .and_then(|(_, a)| if a.ip.is_ipv6() { v6_kind(a) } else { None })
        };
        let global = kind(reach.ipv6);
        Capabilities {
            ipv4: self
                .usable_source(reach.ipv4)
                .is_some_and(|(i, a)| a.ip.is_ipv4() && !i.is_loopback()),
            native_ipv6: global == Some(V6Kind::Native),
            sixtofour: global == Some(V6Kind::SixToFour)
                || kind(reach.sixtofour) == Some(V6Kind::SixToFour),
            teredo: global == Some(V6Kind::Teredo) || kind(reach.teredo) == Some(V6Kind::Teredo),
            teredo_only: global == Some(V6Kind::Teredo),
        }
    }

    /// Whether a Teredo client looks started but not yet qualified: a
    /// `tun` device that Miredo would use (named with `teredo` in it, as
    /// Miredo's default `teredo` is, or already carrying a Teredo address)
    /// with no usable Teredo address.
    ///
    /// Until it qualifies, Miredo keeps its device down and without an
    /// address, so the kernel has no route for Teredo destinations and a
    /// connection would fail at once with "network unreachable"; a caller
    /// that sees this can wait for the client (stable-addr's Teredo
    /// filter) instead. A tentative Teredo address counts as not usable.
    ///
    /// On macOS and the BSDs Miredo's device is a `tun` too (its kind from
    /// the interface type or, for the generic types `tun` has, its name).
    /// FreeBSD and DragonFly let Miredo rename it `teredo`, as its sample
    /// configuration asks, so it is recognised by name as on Linux. macOS,
    /// NetBSD and OpenBSD cannot rename interfaces (no `SIOCSIFNAME`), so
    /// there Miredo runs without `InterfaceName` and its device stays
    /// `tunN`: until its Teredo address arrives it looks like any other
    /// tunnel (a VPN's `tun0`, macOS's own `utun` devices), and is not
    /// taken for a qualifying client, since waiting on every idle tunnel
    /// would delay every connection. From the moment the address arrives,
    /// tentative, the client counts as qualifying there too; and as no
    /// route leads to Teredo destinations before then, a connection in the
    /// meantime goes over IPv4 either way.
    ///
    /// ```
    /// use iface_probe::{Interface, LinkKind, Snapshot};
    ///
    /// let mut tun = Interface::new(7, "teredo");
    /// tun.kind = LinkKind::Tun;
    /// let mut snap = Snapshot::default();
    /// snap.interfaces.push(tun);
    /// assert!(snap.teredo_qualifying());
    /// ```
    pub fn teredo_qualifying(&self) -> bool {
        let is_teredo = |a: &Address| matches!(a.ip, IpAddr::V6(v6) if teredo_addr::is_teredo(v6));
        self.interfaces.iter().any(|i| {
            (i.kind == LinkKind::Teredo
                || i.kind == LinkKind::Tun
                    && (i.name.contains("teredo") || i.addresses.iter().any(is_teredo)))
                && !i.addresses.iter().any(|a| is_teredo(a) && a.is_usable())
        })
    }

    /// How much the interface is preferred, judged from its addresses alone
    /// (routes do not count here): see [`Preference`].
    pub fn preference(&self, iface: &Interface) -> Preference {
        if iface.is_loopback() {
            return Preference::Loopback;
        }
        if !iface.is_operational() {
            return Preference::Unusable;
        }
        let kinds: Vec<V6Kind> = iface.addresses.iter().filter_map(v6_kind).collect();
        if kinds.contains(&V6Kind::Native) {
            Preference::NativeIpv6
        } else if kinds.contains(&V6Kind::SixToFour) {
            Preference::SixToFour
        } else if iface.addresses.iter().any(|a| a.ip.is_ipv4()) {
            Preference::Ipv4
        } else if kinds.contains(&V6Kind::Teredo) {
            Preference::Teredo
        } else {
            Preference::Unusable
        }
    }

    /// The interfaces in the order RFC 3484 prefers them, as Windows lists
    /// them: native IPv6 first, then 6to4, then IPv4-only, then Teredo.
    /// Interfaces that are down or have no usable address follow, and the
    /// loopback device comes last: it reaches nothing beyond the host.
    /// Within a class, interfaces keep the kernel's (index) order.
    pub fn interfaces_in_preference_order(&self) -> Vec<&Interface> {
        let mut out: Vec<&Interface> = self.interfaces.iter().collect();
        out.sort_by_key(|i| (self.preference(i), i.index));
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::AddrFlags;

    const TEREDO: &str = "2001:0:c633:640a:8000:f227:bd6a:13fe";

    fn iface(index: u32, name: &str, kind: LinkKind, addrs: &[&str]) -> Interface {
        let mut i = Interface::new(index, name);
        i.kind = kind;
        i.up = true;
        i.running = true;
        i.addresses = addrs
            .iter()
            .map(|a| {
                let (ip, len) = a.split_once('/').unwrap();
                Address::new(ip.parse().unwrap(), len.parse().unwrap())
            })
            .collect();
        i
    }

    fn route(dst: Option<(&str, u8)>, oif: u32) -> Route {
        let dst = dst.map(|(ip, len)| (ip.parse::<IpAddr>().unwrap(), len));
        let family = match dst {
            Some((ip, _)) => Family::of(ip),
            None => Family::Ipv6,
        };
        let mut r = Route::new(family, dst);
        r.oif = Some(oif);
        r
    }

    fn default4(oif: u32) -> Route {
        let mut r = Route::new(Family::Ipv4, None);
        r.oif = Some(oif);
        r
    }

    fn lo() -> Interface {
        let mut lo = iface(1, "lo", LinkKind::Loopback, &["127.0.0.1/8", "::1/128"]);
        lo.loopback = true;
        lo
    }

    /// Miredo's tun: the Teredo address, its /32 and a default route.
    fn teredo_tun(index: u32) -> (Interface, [Route; 2]) {
        let tun = iface(index, "teredo", LinkKind::Tun, &[&format!("{TEREDO}/32")]);
        let mut default = route(None, index);
        default.metric = 1029;
        (tun, [route(Some(("2001::", 32)), index), default])
    }

    fn snap(interfaces: Vec<Interface>, routes: Vec<Route>) -> Snapshot {
        Snapshot {
            interfaces,
            routes,
            reach: None,
            ..Snapshot::default()
        }
    }

    #[test]
    fn ipv4_only() {
        let snap = snap(
            vec![
                lo(),
                iface(
                    2,
                    "eth0",
                    LinkKind::Ethernet,
                    &["192.0.2.2/24", "fe80::1/64"],
                ),
            ],
            vec![default4(2)],
        );
        let caps = snap.capabilities();
        assert!(caps.ipv4);
        assert!(!caps.native_ipv6 && !caps.teredo && !caps.teredo_only && !caps.sixtofour);
    }

    #[test]
    fn ipv4_needs_a_default_route_through_the_interface() {
        let snap = snap(
            vec![
                lo(),
                iface(2, "eth0", LinkKind::Ethernet, &["192.0.2.2/24"]),
            ],
            vec![route(Some(("192.0.2.0", 24)), 2), default4(1)],
        );
        assert!(!snap.capabilities().ipv4);
    }

    #[test]
    fn teredo_only_when_tun_is_the_only_ipv6() {
        let (tun, tun_routes) = teredo_tun(3);
        let mut tun = tun;
        tun.name = "anything".into();
        let mut routes = vec![default4(2)];
        routes.extend(tun_routes);
        let snap = snap(
            vec![
                lo(),
                iface(
                    2,
                    "eth0",
                    LinkKind::Ethernet,
                    &["192.0.2.2/24", "fe80::1/64"],
                ),
                tun,
            ],
            routes,
        );
        let caps = snap.capabilities();
        assert!(caps.ipv4 && caps.teredo && caps.teredo_only);
        assert!(!caps.native_ipv6);
        let order: Vec<&str> = snap
            .interfaces_in_preference_order()
            .iter()
            .map(|i| i.name.as_str())
            .collect();
        assert_eq!(order, ["eth0", "anything", "lo"]);
    }

    #[test]
    fn native_and_teredo_is_not_teredo_only() {
        let (tun, tun_routes) = teredo_tun(3);
        let mut routes = vec![
            route(Some(("2000::", 3)), 2),
            route(Some(("2002::", 16)), 4),
        ];
        routes.extend(tun_routes);
        let snap = snap(
            vec![
                lo(),
                iface(2, "eth0", LinkKind::Ethernet, &["2001:db8::2/64"]),
                tun,
                iface(4, "tun6to4", LinkKind::Sit, &["2002:c000:202::1/16"]),
            ],
            routes,
        );
        let caps = snap.capabilities();
        assert!(caps.native_ipv6 && caps.teredo && caps.sixtofour);
        assert!(!caps.teredo_only && !caps.ipv4);
        let order: Vec<u32> = snap
            .interfaces_in_preference_order()
            .iter()
            .map(|i| i.index)
            .collect();
        assert_eq!(order, [2, 4, 3, 1]);
    }

    #[test]
    fn the_kernels_answer_wins_over_the_main_table() {
        // The main table sends global IPv6 over Teredo, but a policy rule
        // sends it out of eth0 (a table the emulation does not read): the
        // kernel's recorded answer decides.
        let (tun, tun_routes) = teredo_tun(3);
        let mut s = snap(
            vec![
                lo(),
                iface(
                    2,
                    "eth0",
                    LinkKind::Ethernet,
                    &["2001:db8::2/64", "192.0.2.2/24"],
                ),
                tun,
            ],
            tun_routes.to_vec(),
        );
        assert!(s.capabilities().teredo_only);
        let eth = "2001:db8::2".parse().unwrap();
        let teredo = TEREDO.parse().unwrap();
        s.reach = Some(Reach::from_answers([
            Some(Path::new("192.0.2.2".parse().unwrap(), 2)),
            Some(Path::new(eth, 2)),
            None,
            Some(Path::new(teredo, 3)),
        ]));
        let caps = s.capabilities();
        assert!(caps.native_ipv6 && caps.teredo && caps.ipv4);
        assert!(!caps.teredo_only);
        assert!(s.is_ipv6_capable(&s.interfaces[1]));
        assert!(s.is_ipv4_capable(&s.interfaces[1]));
        // An answer whose source the snapshot does not hold counts for
        // nothing: the two disagree, so neither is trusted.
        s.reach = Some(Reach::from_answers([
            None,
            Some(Path::new("2001:db8::99".parse().unwrap(), 2)),
            None,
            None,
        ]));
        assert_eq!(s.capabilities(), Capabilities::default());
    }

    #[test]
    fn a_tunnel_without_carrier_gives_nothing() {
        // Miredo has exited: its tun stays up with its address and routes,
        // and the kernel still routes through it, but it is not running.
        let (mut tun, tun_routes) = teredo_tun(3);
        tun.running = false;
        tun.carrier = Some(false);
        let mut routes = vec![default4(2)];
        routes.extend(tun_routes);
        let s = snap(
            vec![
                lo(),
                iface(2, "eth0", LinkKind::Ethernet, &["192.0.2.2/24"]),
                tun,
            ],
            routes,
        );
        let caps = s.capabilities();
        assert!(caps.ipv4);
        assert!(!caps.teredo && !caps.teredo_only);
        assert_eq!(s.preference(&s.interfaces[2]), Preference::Unusable);
        assert!(!s.is_ipv6_capable(&s.interfaces[2]));
    }

    #[test]
    fn unusable_addresses_do_not_count() {
        for flags in [
            AddrFlags::TENTATIVE,
            AddrFlags::DEPRECATED,
            AddrFlags::DADFAILED,
        ] {
            let mut eth = iface(2, "eth0", LinkKind::Ethernet, &["2001:db8::2/64"]);
            eth.addresses[0].flags = flags;
            let s = snap(vec![eth], vec![route(None, 2)]);
            assert_eq!(s.capabilities(), Capabilities::default(), "{flags}");
        }
        // Optimistic DAD leaves the address usable.
        let mut eth = iface(2, "eth0", LinkKind::Ethernet, &["2001:db8::2/64"]);
        eth.addresses[0].flags = AddrFlags::TENTATIVE | AddrFlags::OPTIMISTIC;
        let s = snap(vec![eth], vec![route(None, 2)]);
        assert!(s.capabilities().native_ipv6);
    }

    #[test]
    fn ula_and_down_interfaces_do_not_count() {
        let mut down = iface(3, "eth1", LinkKind::Ethernet, &["2001:db8:1::2/64"]);
        down.up = false;
        let s = snap(
            vec![iface(2, "eth0", LinkKind::Ethernet, &["fd00::2/64"]), down],
            vec![route(None, 2), route(None, 3)],
        );
        assert_eq!(s.capabilities(), Capabilities::default());
    }

    #[test]
    fn route_must_cover_global_space_and_leave_through_the_interface() {
        let eth = || iface(2, "eth0", LinkKind::Ethernet, &["2001:db8::2/64"]);
        let narrow = snap(vec![eth()], vec![route(Some(("2001:db8::", 32)), 2)]);
        assert!(!narrow.capabilities().native_ipv6);
        let elsewhere = snap(vec![eth()], vec![route(None, 7)]);
        assert!(!elsewhere.capabilities().native_ipv6);
        let mut unreachable = route(None, 2);
        unreachable.kind = RouteKind::Unreachable;
        let unreach = snap(vec![eth()], vec![unreachable]);
        assert!(!unreach.capabilities().native_ipv6);
        let mut multipath = route(None, 9);
        multipath.oif = None;
        multipath.multipath = vec![crate::model::NextHop {
            oif: 2,
            gateway: None,
        }];
        let mp = snap(vec![eth()], vec![multipath]);
        assert!(mp.capabilities().native_ipv6);
    }

    #[test]
    fn emulation_takes_the_longest_prefix_then_the_lowest_metric() {
        let mut worse = route(None, 3);
        worse.metric = 2000;
        let mut better = route(None, 2);
        better.metric = 100;
        let s = snap(
            vec![
                iface(2, "eth0", LinkKind::Ethernet, &["2001:db8::2/64"]),
                iface(3, "eth1", LinkKind::Ethernet, &["2001:db8:1::2/64"]),
            ],
            vec![worse.clone(), better, route(Some(("2001::", 32)), 3)],
        );
        let reach = s.reach();
        assert_eq!(reach.ipv6.unwrap().oif, 2);
        assert_eq!(reach.teredo.unwrap().oif, 3);
        assert_eq!(reach.teredo.unwrap().source.to_string(), "2001:db8:1::2");
        assert_eq!(reach.ipv4, None);
    }

    #[test]
    fn lookups() {
        let s = snap(
            vec![lo(), iface(5, "eth0", LinkKind::Ethernet, &["fe80::1/64"])],
            vec![],
        );
        assert_eq!(s.interface(5).unwrap().name, "eth0");
        assert_eq!(s.interface_by_name("lo").unwrap().index, 1);
        assert!(s.interface(9).is_none());
        let ll: IpAddr = "fe80::1".parse().unwrap();
        assert_eq!(s.address(ll, None).unwrap().0.index, 5);
        assert!(s.address(ll, Some(1)).is_none());
    }

    #[test]
    fn miredo_on_macos_and_the_bsds() {
        use crate::pfroute::{Os, link_kind};
        const IFT_PROPVIRTUAL: u8 = 0x35;
        const IFT_TUNNEL: u8 = 0x83;
        const IFT_OTHER: u8 = 0x01;
        // FreeBSD: Miredo renamed its tun "teredo"; before it qualifies the
        // name tells, as on Linux.
        let kind = link_kind(Os::FreeBsd, IFT_PROPVIRTUAL, "teredo", 0);
        let mut renamed = iface(4, "teredo", kind, &[]);
        renamed.up = false;
        assert!(snap(vec![renamed], vec![]).teredo_qualifying());
        // OpenBSD (and macOS, NetBSD): no renaming, a plain tunN. Without
        // its address it is any tunnel: not a qualifying client.
        for (os, if_type, name) in [
            (Os::OpenBsd, IFT_TUNNEL, "tun0"),
            (Os::Apple, IFT_OTHER, "tun0"),
            (Os::Apple, IFT_OTHER, "utun4"),
        ] {
            let kind = link_kind(os, if_type, name, 0);
            assert_eq!(kind, LinkKind::Tun);
            let mut bare = iface(5, name, kind.clone(), &["fe80::1/64"]);
            bare.up = false;
            assert!(!snap(vec![bare], vec![]).teredo_qualifying(), "{name}");
            // The address arrives tentative: qualifying.
            let mut tun = iface(5, name, kind, &[&format!("{TEREDO}/32")]);
            tun.addresses[0].flags = AddrFlags::TENTATIVE;
            let mut routes = vec![default4(2), route(Some(("2001::", 32)), 5)];
            routes.push(route(None, 5));
            let mut s = snap(
                vec![
                    lo(),
                    iface(2, "en0", LinkKind::Ethernet, &["192.0.2.2/24"]),
                    tun,
                ],
                routes,
            );
            assert!(s.teredo_qualifying(), "{name}");
            assert!(!s.capabilities().teredo);
            // Usable: qualified, and the host is Teredo-only.
            s.interfaces[2].addresses[0].flags = AddrFlags::NONE;
            assert!(!s.teredo_qualifying(), "{name}");
            let caps = s.capabilities();
            assert!(caps.ipv4 && caps.teredo && caps.teredo_only, "{name}");
            let order: Vec<&str> = s
                .interfaces_in_preference_order()
                .iter()
                .map(|i| i.name.as_str())
                .collect();
            assert_eq!(order, ["en0", name, "lo"]);
        }
    }

    #[test]
    fn teredo_qualifying_until_the_address_is_usable() {
        // Miredo's tun before qualification: down, no address.
        let mut tun = iface(4, "teredo", LinkKind::Tun, &[]);
        tun.up = false;
        let mut s = snap(
            vec![
                lo(),
                iface(2, "eth0", LinkKind::Ethernet, &["192.0.2.2/24"]),
                tun,
            ],
            vec![default4(2)],
        );
        assert!(s.teredo_qualifying());
        // The address arrives tentative: still qualifying.
        let tun = &mut s.interfaces[2];
        tun.up = true;
        tun.addresses = vec![Address::new(TEREDO.parse().unwrap(), 32)];
        tun.addresses[0].flags = AddrFlags::TENTATIVE;
        assert!(s.teredo_qualifying());
        // Usable: qualified.
        s.interfaces[2].addresses[0].flags = AddrFlags::default();
        assert!(!s.teredo_qualifying());
        // Whatever the name, a tun carrying a Teredo address counts...
        let mut other = iface(5, "tun7", LinkKind::Tun, &[&format!("{TEREDO}/32")]);
        other.addresses[0].flags = AddrFlags::DADFAILED;
        assert!(snap(vec![other], vec![]).teredo_qualifying());
        // ...and so does the system's own Teredo interface (Windows)...
        let windows = iface(
            6,
            "Teredo Tunneling Pseudo-Interface",
            LinkKind::Teredo,
            &[],
        );
        assert!(snap(vec![windows], vec![]).teredo_qualifying());
        // ...but neither another tun nor a non-tun named teredo does.
        let s = snap(
            vec![
                iface(5, "tun0", LinkKind::Tun, &[]),
                iface(6, "teredo", LinkKind::Ethernet, &[]),
            ],
            vec![],
        );
        assert!(!s.teredo_qualifying());
    }
}
