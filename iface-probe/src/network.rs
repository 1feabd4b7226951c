//! Which network the host is attached to, as far as the host can tell
//! from its own state: a short identity that stays the same while the
//! host stays on one network (whatever its privacy addresses or its Teredo
//! mapping do) and changes when it moves.
//!
//! What a connector learns about a network (which paths are broken, which
//! NAT64 prefix it uses) is kept under this identity, so that moving to
//! another network starts afresh and coming back finds it again.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use teredo_addr::AddrKind;

use crate::model::{Address, Interface, RouteKind};
use crate::snapshot::Snapshot;

/// The identity of the network a [`Snapshot`] shows the host on; see
/// [`Snapshot::network`].
///
/// It is a 64-bit FNV-1a digest of, in a canonical order:
///
/// - each default route's gateway and interface name, in every table and
///   for each next hop of a multipath route (where the system lists
///   routes; elsewhere the interfaces the kernel would use for global
///   IPv4 and IPv6);
/// - each global prefix on an operational, non-loopback interface: an
///   IPv4 address's subnet, an IPv6 address's prefix cut to at most 64
///   bits, with the interface's name.
///
/// Link-local, loopback and Teredo addresses do not count (a Teredo
/// address changes with the NAT's mapping, not with the network), nor do
/// addresses still in duplicate address detection or already removed.
/// The digest does not depend on the order the system lists things in,
/// nor on interface indexes, so it is the same in another process and
/// after a restart: it can be stored.
///
/// ```
/// use std::net::IpAddr;
/// use iface_probe::{Address, Family, Interface, Route, Snapshot};
///
/// let mut eth = Interface::new(2, "eth0");
/// eth.up = true;
/// eth.running = true;
/// eth.addresses.push(Address::new("192.0.2.10".parse().unwrap(), 24));
/// let mut default = Route::new(Family::Ipv4, None);
/// default.oif = Some(2);
/// default.gateway = Some("192.0.2.1".parse().unwrap());
/// let mut home = Snapshot::default();
/// home.interfaces.push(eth);
/// home.routes.push(default);
///
/// // Another address in the same subnet: the same network.
/// let mut renewed = home.clone();
/// renewed.interfaces[0].addresses[0].ip = "192.0.2.77".parse().unwrap();
/// assert_eq!(home.network(), renewed.network());
///
/// // Another gateway: another network.
/// let mut elsewhere = home.clone();
/// elsewhere.routes[0].gateway = Some("192.0.2.254".parse::<IpAddr>().unwrap());
/// assert_ne!(home.network(), elsewhere.network());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct NetworkId(u64);

impl NetworkId {
    /// The identity of a host with no network at all: no default route,
    /// no global prefix.
    pub const NONE: Self = Self(FNV_OFFSET);

    /// The identity from its 64-bit value (as [`NetworkId::get`] gave it).
    pub const fn from_u64(value: u64) -> Self {
        Self(value)
    }

    /// The 64-bit value.
    pub const fn get(self) -> u64 {
        self.0
    }
}

impl fmt::Display for NetworkId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:016x}", self.0)
    }
}

const FNV_OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
const FNV_PRIME: u64 = 0x0000_0100_0000_01b3;

/// One thing the identity is made of, in a canonical byte form.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum Part<'a> {
    /// A default route: its gateway (if any) and interface name.
    Default {
        gateway: Option<IpAddr>,
        interface: &'a str,
    },
    /// A prefix on an interface.
    Prefix {
        prefix: IpAddr,
        len: u8,
        interface: &'a str,
    },
}

impl Part<'_> {
    fn feed(&self, hash: &mut u64) {
        let mut put = |bytes: &[u8]| {
            for b in bytes {
                *hash ^= u64::from(*b);
                *hash = hash.wrapping_mul(FNV_PRIME);
            }
        };
        let ip = |put: &mut dyn FnMut(&[u8]), ip: Option<IpAddr>| match ip {
            None => put(&[0]),
            Some(IpAddr::V4(a)) => {
                put(&[4]);
                put(&a.octets());
            }
            Some(IpAddr::V6(a)) => {
                put(&[6]);
                put(&a.octets());
            }
        };
        match self {
            Self::Default { gateway, interface } => {
                put(b"D");
                ip(&mut put, *gateway);
                put(interface.as_bytes());
                put(&[0]);
            }
            Self::Prefix {
                prefix,
                len,
                interface,
            } => {
                put(b"P");
                ip(&mut put, Some(*prefix));
                put(&[*len]);
                put(interface.as_bytes());
                put(&[0]);
            }
        }
    }
}

impl Snapshot {
    /// The identity of the network the host is on; see [`NetworkId`].
    pub fn network(&self) -> NetworkId {
        let name = |index: u32| self.interface(index).map_or("", |i| i.name.as_str());
        let mut parts: Vec<Part<'_>> = Vec::new();
        for route in &self.routes {
            if !route.is_default() || route.kind != RouteKind::Unicast {
                continue;
            }
            if route.multipath.is_empty() {
                parts.push(Part::Default {
                    gateway: route.gateway,
                    interface: route.oif.map_or("", name),
                });
            }
            for hop in &route.multipath {
                parts.push(Part::Default {
                    gateway: hop.gateway,
                    interface: name(hop.oif),
                });
            }
        }
        if self.routes.is_empty() {
            // No routes listed (macOS, the BSDs, Windows): the interfaces
            // the kernel would use for global traffic stand in.
            let reach = self.reach();
            for path in [reach.ipv4, reach.ipv6].into_iter().flatten() {
                parts.push(Part::Default {
                    gateway: None,
                    interface: name(path.oif),
                });
            }
        }
        for iface in self.interfaces.iter().filter(|i| counts(i)) {
            for addr in iface.addresses.iter().filter(|a| global(a)) {
                let (prefix, len) = cut(addr);
                parts.push(Part::Prefix {
                    prefix,
                    len,
                    interface: &iface.name,
                });
            }
        }
        parts.sort();
        parts.dedup();
        let mut hash = FNV_OFFSET;
        for part in &parts {
            part.feed(&mut hash);
        }
        NetworkId(hash)
    }
}

/// Whether the interface's addresses count.
fn counts(iface: &Interface) -> bool {
    iface.is_operational() && !iface.is_loopback()
}

/// Whether the address names the network: usable, neither link-local nor
/// loopback nor Teredo.
fn global(addr: &Address) -> bool {
    if !addr.is_usable() {
        return false;
    }
    match addr.ip {
        IpAddr::V4(a) => !(a.is_loopback() || a.is_link_local() || a.is_unspecified()),
        IpAddr::V6(a) => {
            !(a.is_loopback()
                || a.is_unspecified()
                || a.is_multicast()
                || a.is_unicast_link_local()
                || addr.class == AddrKind::Teredo)
        }
    }
}

/// The address's prefix: an IPv4 subnet, an IPv6 prefix of at most 64
/// bits (the interface identifier, privacy or not, does not count).
fn cut(addr: &Address) -> (IpAddr, u8) {
    match addr.ip {
        IpAddr::V4(a) => {
            let len = addr.prefix_len.min(32);
            let mask = u32::MAX.checked_shl(32 - u32::from(len)).unwrap_or(0);
            (IpAddr::V4(Ipv4Addr::from(u32::from(a) & mask)), len)
        }
        IpAddr::V6(a) => {
            let len = addr.prefix_len.min(64);
            let mask = u128::MAX.checked_shl(128 - u32::from(len)).unwrap_or(0);
            (IpAddr::V6(Ipv6Addr::from(u128::from(a) & mask)), len)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{AddrFlags, Family, NextHop, Route};
    use crate::reach::{Path, Reach};

    fn iface(index: u32, name: &str, addrs: &[(&str, u8)]) -> Interface {
        let mut i = Interface::new(index, name);
        i.up = true;
        i.running = true;
        for (ip, len) in addrs {
            i.addresses.push(Address::new(ip.parse().unwrap(), *len));
        }
        i
    }

    fn default(family: Family, gw: &str, oif: u32) -> Route {
        let mut r = Route::new(family, None);
        r.gateway = Some(gw.parse().unwrap());
        r.oif = Some(oif);
        r
    }

    fn home() -> Snapshot {
        let mut s = Snapshot::default();
        s.interfaces
            .push(iface(1, "lo", &[("127.0.0.1", 8), ("::1", 128)]));
        s.interfaces.push(iface(
            2,
            "eth0",
            &[
                ("192.168.1.20", 24),
                ("2001:db8:1:2::20", 64),
                ("2001:db8:1:2:aaaa:bbbb:cccc:dddd", 64),
                ("fe80::20", 64),
            ],
        ));
        s.routes.push(default(Family::Ipv4, "192.168.1.1", 2));
        s.routes.push(default(Family::Ipv6, "fe80::1", 2));
        s
    }

    #[test]
    fn the_same_network_whatever_the_order_and_indexes() {
        let a = home();
        let mut b = home();
        b.interfaces.reverse();
        b.routes.reverse();
        b.interfaces.iter_mut().for_each(|i| i.addresses.reverse());
        assert_eq!(a.network(), b.network());
        // Renumbered interfaces (another boot): the same network.
        let mut c = home();
        c.interfaces[1].index = 7;
        c.routes.iter_mut().for_each(|r| r.oif = Some(7));
        assert_eq!(a.network(), c.network());
        assert_ne!(a.network(), NetworkId::NONE);
    }

    #[test]
    fn interface_identifiers_and_link_local_teredo_and_loopback_do_not_count() {
        let a = home();
        let mut b = home();
        // A new privacy address, a new link-local address.
        b.interfaces[1].addresses[2].ip = "2001:db8:1:2:1111:2222:3333:4444".parse().unwrap();
        b.interfaces[1].addresses[3].ip = "fe80::99".parse().unwrap();
        // A Teredo address and another loopback address.
        let mut teredo = iface(9, "teredo", &[]);
        let mut addr = Address::new("2001:0:4136:e378:8000:63bf:3fff:fdd2".parse().unwrap(), 32);
        addr.class = AddrKind::Teredo;
        teredo.addresses.push(addr);
        b.interfaces.push(teredo);
        b.interfaces[0]
            .addresses
            .push(Address::new("127.0.0.2".parse().unwrap(), 8));
        assert_eq!(a.network(), b.network());
        // An address still in duplicate address detection does not count
        // yet.
        let mut c = home();
        let mut tentative = Address::new("2001:db8:9::1".parse().unwrap(), 64);
        tentative.flags = AddrFlags::TENTATIVE;
        c.interfaces[1].addresses.push(tentative);
        assert_eq!(a.network(), c.network());
    }

    #[test]
    fn another_gateway_prefix_or_interface_is_another_network() {
        let a = home().network();
        let mut gw = home();
        gw.routes[0].gateway = Some("192.168.1.254".parse().unwrap());
        let mut prefix = home();
        prefix.interfaces[1].addresses[1].ip = "2001:db8:1:3::20".parse().unwrap();
        prefix.interfaces[1].addresses[2].ip = "2001:db8:1:3::21".parse().unwrap();
        let mut subnet = home();
        subnet.interfaces[1].addresses[0].ip = "10.0.0.20".parse().unwrap();
        let mut wireless = home();
        wireless.interfaces[1].name = "wlan0".into();
        let mut down = home();
        down.interfaces[1].running = false;
        down.routes.clear();
        let ids = [
            a,
            gw.network(),
            prefix.network(),
            subnet.network(),
            wireless.network(),
            down.network(),
        ];
        for (i, x) in ids.iter().enumerate() {
            for y in &ids[i + 1..] {
                assert_ne!(x, y, "{ids:?}");
            }
        }
    }

    #[test]
    fn a_multipath_default_counts_each_next_hop() {
        let mut a = home();
        a.routes[0].gateway = None;
        a.routes[0].oif = None;
        a.routes[0].multipath = vec![
            NextHop {
                oif: 2,
                gateway: Some("192.168.1.1".parse().unwrap()),
            },
            NextHop {
                oif: 2,
                gateway: Some("192.168.1.2".parse().unwrap()),
            },
        ];
        let mut b = a.clone();
        b.routes[0].multipath.pop();
        assert_ne!(a.network(), b.network());
    }

    #[test]
    fn without_listed_routes_the_kernels_interfaces_stand_in() {
        let mut a = home();
        a.routes.clear();
        a.reach = Some(Reach {
            ipv4: Some(Path::new("192.168.1.20".parse().unwrap(), 2)),
            ..Reach::default()
        });
        let mut b = a.clone();
        b.reach = Some(Reach::default());
        assert_ne!(a.network(), b.network());
    }

    #[test]
    fn the_identity_is_stable_across_builds() {
        // Stored identities (a history file) must keep meaning the same
        // network: the digest is pinned.
        assert_eq!(Snapshot::default().network(), NetworkId::NONE);
        assert_eq!(NetworkId::NONE.to_string(), "cbf29ce484222325");
        let id = home().network();
        assert_eq!(NetworkId::from_u64(id.get()), id);
        assert_eq!(id.to_string().len(), 16);
        assert_eq!(id, NetworkId::from_u64(13_828_906_586_886_800_412));
    }
}
