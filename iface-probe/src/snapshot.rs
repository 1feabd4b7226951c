//! The host's interfaces and routes at one moment, and what they allow.

use std::io;
use std::net::{IpAddr, Ipv6Addr};

use teredo_addr::{AddrKind, Scope};

use crate::model::{Address, Family, Interface, LinkKind, Route, RouteKind};
use crate::parse::{Body, Message};

/// The host's interfaces (with their addresses) and main-table routes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Snapshot {
    /// The interfaces, in the kernel's order (by index).
    pub interfaces: Vec<Interface>,
    /// The routes.
    pub routes: Vec<Route>,
}

/// What the host can reach, judged from a [`Snapshot`].
///
/// An *IPv6-capable* interface is one that is up, has a usable global IPv6
/// address (see [`Address::is_usable`]: not tentative, not deprecated, not
/// failed DAD), and has a unicast route to global IPv6 space (`::/0`, or a
/// prefix covering `2000::/3`) whose outgoing interface is that interface.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct Capabilities {
    /// An up, non-loopback interface has an IPv4 address and a default
    /// IPv4 route through it.
    pub ipv4: bool,
    /// An IPv6-capable interface has a usable native global address
    /// (neither Teredo nor 6to4).
    pub native_ipv6: bool,
    /// An IPv6-capable interface has a usable 6to4 (`2002::/16`) address.
    pub sixtofour: bool,
    /// An IPv6-capable interface has a usable Teredo (`2001:0::/32`) address.
    pub teredo: bool,
    /// There is an IPv6-capable interface, and every usable global IPv6
    /// address of every IPv6-capable interface is a Teredo address.
    pub teredo_only: bool,
}

/// How much an interface is preferred, best first (the order of
/// [`Snapshot::interfaces_in_preference_order`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[non_exhaustive]
pub enum Preference {
    /// Up with a usable native global IPv6 address.
    NativeIpv6,
    /// Up with a usable 6to4 address (and no native one).
    SixToFour,
    /// Up with an IPv4 address (and no native or 6to4 IPv6 address).
    Ipv4,
    /// Up with a usable Teredo address and nothing better.
    Teredo,
    /// Down, or with no usable address of the kinds above.
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
    /// Reads the interfaces, addresses and main-table routes of both
    /// families from the kernel over one `NETLINK_ROUTE` socket.
    ///
    /// # Errors
    ///
    /// Whatever the socket calls fail with; a reply that cannot be parsed
    /// is [`io::ErrorKind::InvalidData`]. On platforms other than Linux,
    /// always [`io::ErrorKind::Unsupported`].
    pub fn capture() -> io::Result<Self> {
        crate::sys::capture()
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

    /// Whether the interface is IPv6-capable (see [`Capabilities`]).
    pub fn is_ipv6_capable(&self, iface: &Interface) -> bool {
        iface.up
            && iface.addresses.iter().any(|a| v6_kind(a).is_some())
            && self.reaches_global_ipv6(iface.index)
    }

    /// Whether the interface is up, not loopback, has an IPv4 address and a
    /// default IPv4 route through it.
    pub fn is_ipv4_capable(&self, iface: &Interface) -> bool {
        iface.up
            && !iface.is_loopback()
            && iface.addresses.iter().any(|a| a.ip.is_ipv4())
            && self.routes.iter().any(|r| {
                r.family == Family::Ipv4
                    && r.kind == RouteKind::Unicast
                    && r.is_default()
                    && r.goes_through(iface.index)
            })
    }

    /// What the host can reach; see [`Capabilities`].
    pub fn capabilities(&self) -> Capabilities {
        let mut caps = Capabilities::default();
        let mut any_v6 = false;
        let mut all_teredo = true;
        for iface in &self.interfaces {
            caps.ipv4 |= self.is_ipv4_capable(iface);
            if !self.is_ipv6_capable(iface) {
                continue;
            }
            any_v6 = true;
            for kind in iface.addresses.iter().filter_map(v6_kind) {
                match kind {
                    V6Kind::Native => caps.native_ipv6 = true,
                    V6Kind::SixToFour => caps.sixtofour = true,
                    V6Kind::Teredo => caps.teredo = true,
                }
                all_teredo &= kind == V6Kind::Teredo;
            }
        }
        caps.teredo_only = any_v6 && all_teredo;
        caps
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
            i.kind == LinkKind::Tun
                && (i.name.contains("teredo") || i.addresses.iter().any(is_teredo))
                && !i.addresses.iter().any(|a| is_teredo(a) && a.is_usable())
        })
    }

    /// How much the interface is preferred, judged from its addresses alone
    /// (routes do not count here): see [`Preference`].
    pub fn preference(&self, iface: &Interface) -> Preference {
        if iface.is_loopback() {
            return Preference::Loopback;
        }
        if !iface.up {
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

    fn iface(index: u32, name: &str, kind: LinkKind, addrs: &[&str]) -> Interface {
        let mut i = Interface::new(index, name);
        i.kind = kind;
        i.up = true;
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

    #[test]
    fn ipv4_only() {
        let snap = Snapshot {
            interfaces: vec![
                lo(),
                iface(
                    2,
                    "eth0",
                    LinkKind::Ethernet,
                    &["192.0.2.2/24", "fe80::1/64"],
                ),
            ],
            routes: vec![default4(2)],
        };
        let caps = snap.capabilities();
        assert!(caps.ipv4);
        assert!(!caps.native_ipv6 && !caps.teredo && !caps.teredo_only && !caps.sixtofour);
    }

    #[test]
    fn ipv4_needs_a_default_route_through_the_interface() {
        let snap = Snapshot {
            interfaces: vec![
                lo(),
                iface(2, "eth0", LinkKind::Ethernet, &["192.0.2.2/24"]),
            ],
            routes: vec![route(Some(("192.0.2.0", 24)), 2), default4(1)],
        };
        assert!(!snap.capabilities().ipv4);
    }

    #[test]
    fn teredo_only_when_tun_is_the_only_ipv6() {
        let snap = Snapshot {
            interfaces: vec![
                lo(),
                iface(
                    2,
                    "eth0",
                    LinkKind::Ethernet,
                    &["192.0.2.2/24", "fe80::1/64"],
                ),
                iface(
                    3,
                    "anything",
                    LinkKind::Tun,
                    &["2001:0:c633:640a:8000:f227:bd6a:13fe/32"],
                ),
            ],
            routes: vec![default4(2), route(None, 3)],
        };
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
        let snap = Snapshot {
            interfaces: vec![
                lo(),
                iface(2, "eth0", LinkKind::Ethernet, &["2001:db8::2/64"]),
                iface(
                    3,
                    "teredo",
                    LinkKind::Tun,
                    &["2001:0:c633:640a:8000:f227:bd6a:13fe/32"],
                ),
                iface(4, "tun6to4", LinkKind::Sit, &["2002:c000:202::1/16"]),
            ],
            routes: vec![
                route(Some(("2000::", 3)), 2),
                route(None, 3),
                route(None, 4),
            ],
        };
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
    fn unusable_addresses_do_not_count() {
        for flags in [
            AddrFlags::TENTATIVE,
            AddrFlags::DEPRECATED,
            AddrFlags::DADFAILED,
        ] {
            let mut eth = iface(2, "eth0", LinkKind::Ethernet, &["2001:db8::2/64"]);
            eth.addresses[0].flags = flags;
            let snap = Snapshot {
                interfaces: vec![eth],
                routes: vec![route(None, 2)],
            };
            assert_eq!(snap.capabilities(), Capabilities::default(), "{flags}");
        }
        // Optimistic DAD leaves the address usable.
        let mut eth = iface(2, "eth0", LinkKind::Ethernet, &["2001:db8::2/64"]);
        eth.addresses[0].flags = AddrFlags::TENTATIVE | AddrFlags::OPTIMISTIC;
        let snap = Snapshot {
            interfaces: vec![eth],
            routes: vec![route(None, 2)],
        };
        assert!(snap.capabilities().native_ipv6);
    }

    #[test]
    fn ula_and_down_interfaces_do_not_count() {
        let mut down = iface(3, "eth1", LinkKind::Ethernet, &["2001:db8:1::2/64"]);
        down.up = false;
        let snap = Snapshot {
            interfaces: vec![iface(2, "eth0", LinkKind::Ethernet, &["fd00::2/64"]), down],
            routes: vec![route(None, 2), route(None, 3)],
        };
        assert_eq!(snap.capabilities(), Capabilities::default());
    }

    #[test]
    fn route_must_cover_global_space_and_leave_through_the_interface() {
        let eth = || iface(2, "eth0", LinkKind::Ethernet, &["2001:db8::2/64"]);
        let narrow = Snapshot {
            interfaces: vec![eth()],
            routes: vec![route(Some(("2001:db8::", 32)), 2)],
        };
        assert!(!narrow.capabilities().native_ipv6);
        let elsewhere = Snapshot {
            interfaces: vec![eth()],
            routes: vec![route(None, 7)],
        };
        assert!(!elsewhere.capabilities().native_ipv6);
        let mut unreachable = route(None, 2);
        unreachable.kind = RouteKind::Unreachable;
        let unreach = Snapshot {
            interfaces: vec![eth()],
            routes: vec![unreachable],
        };
        assert!(!unreach.capabilities().native_ipv6);
        let mut multipath = route(None, 9);
        multipath.multipath = vec![crate::model::NextHop {
            oif: 2,
            gateway: None,
        }];
        let mp = Snapshot {
            interfaces: vec![eth()],
            routes: vec![multipath],
        };
        assert!(mp.capabilities().native_ipv6);
    }

    #[test]
    fn lookups() {
        let snap = Snapshot {
            interfaces: vec![lo(), iface(5, "eth0", LinkKind::Ethernet, &["fe80::1/64"])],
            routes: vec![],
        };
        assert_eq!(snap.interface(5).unwrap().name, "eth0");
        assert_eq!(snap.interface_by_name("lo").unwrap().index, 1);
        assert!(snap.interface(9).is_none());
        let ll: IpAddr = "fe80::1".parse().unwrap();
        assert_eq!(snap.address(ll, None).unwrap().0.index, 5);
        assert!(snap.address(ll, Some(1)).is_none());
    }

    #[test]
    fn teredo_qualifying_until_the_address_is_usable() {
        const TEREDO: &str = "2001:0:c633:640a:8000:f227:bd6a:13fe/32";
        // Miredo's tun before qualification: down, no address.
        let mut tun = iface(4, "teredo", LinkKind::Tun, &[]);
        tun.up = false;
        let mut snap = Snapshot {
            interfaces: vec![
                lo(),
                iface(2, "eth0", LinkKind::Ethernet, &["192.0.2.2/24"]),
                tun,
            ],
            routes: vec![default4(2)],
        };
        assert!(snap.teredo_qualifying());
        // The address arrives tentative: still qualifying.
        let tun = &mut snap.interfaces[2];
        tun.up = true;
        tun.addresses = vec![Address::new(
            "2001:0:c633:640a:8000:f227:bd6a:13fe".parse().unwrap(),
            32,
        )];
        tun.addresses[0].flags = AddrFlags::TENTATIVE;
        assert!(snap.teredo_qualifying());
        // Usable: qualified.
        snap.interfaces[2].addresses[0].flags = AddrFlags::default();
        assert!(!snap.teredo_qualifying());
        // Whatever the name, a tun carrying a Teredo address counts...
        let mut other = iface(5, "tun7", LinkKind::Tun, &[TEREDO]);
        other.addresses[0].flags = AddrFlags::DADFAILED;
        let snap = Snapshot {
            interfaces: vec![other],
            routes: vec![],
        };
        assert!(snap.teredo_qualifying());
        // ...and neither another tun nor a non-tun named teredo does.
        let snap = Snapshot {
            interfaces: vec![
                iface(5, "tun0", LinkKind::Tun, &[]),
                iface(6, "teredo", LinkKind::Ethernet, &[]),
            ],
            routes: vec![],
        };
        assert!(!snap.teredo_qualifying());
    }
}
