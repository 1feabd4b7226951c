//! The kernel's choice of source address for many destinations at once.

use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use teredo_addr::AddrKind;

use crate::model::{Route, RouteKind};
use crate::snapshot::Snapshot;
use crate::sys::{Backend, Lookups};

/// A destination to look up: an address and, for link-local and other
/// scoped IPv6 addresses, the zone (the interface index, as in
/// [`std::net::SocketAddrV6::scope_id`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct Dest {
    /// The destination address.
    pub ip: IpAddr,
    /// The interface to leave through; `None` lets the kernel choose.
    pub scope_id: Option<u32>,
}

impl Dest {
    /// A destination with an optional zone (0 counts as none).
    pub const fn new(ip: IpAddr, scope_id: Option<u32>) -> Self {
        let scope_id = match scope_id {
            Some(0) => None,
            other => other,
        };
        Self { ip, scope_id }
    }
}

impl Dest {
    /// The address the destination is looked up as: an IPv4-mapped IPv6
    /// address as the IPv4 address it carries, as an IPv6 socket
    /// connecting to it would.
    pub(crate) fn lookup_ip(self) -> IpAddr {
        match self.ip {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(self.ip, IpAddr::V4),
            v4 => v4,
        }
    }
}

impl From<IpAddr> for Dest {
    fn from(ip: IpAddr) -> Self {
        Self::new(ip, None)
    }
}

impl From<Ipv4Addr> for Dest {
    fn from(ip: Ipv4Addr) -> Self {
        Self::new(IpAddr::V4(ip), None)
    }
}

impl From<Ipv6Addr> for Dest {
    fn from(ip: Ipv6Addr) -> Self {
        Self::new(IpAddr::V6(ip), None)
    }
}

/// The port is ignored; an IPv6 scope id becomes the zone.
impl From<SocketAddr> for Dest {
    fn from(sa: SocketAddr) -> Self {
        match sa {
            SocketAddr::V4(v4) => Self::new(IpAddr::V4(*v4.ip()), None),
            SocketAddr::V6(v6) => Self::new(IpAddr::V6(*v6.ip()), Some(v6.scope_id())),
        }
    }
}

impl From<(IpAddr, Option<u32>)> for Dest {
    fn from((ip, scope_id): (IpAddr, Option<u32>)) -> Self {
        Self::new(ip, scope_id)
    }
}

/// The source address the kernel would use for a destination, and what
/// the snapshot knows about it.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct SourceInfo {
    /// The source address (`RTA_PREFSRC` of the kernel's answer).
    pub addr: IpAddr,
    /// The outgoing interface (`RTA_OIF`).
    pub oif: u32,
    /// The source address's prefix length; `None` when the snapshot does
    /// not hold the address.
    pub prefix_len: Option<u8>,
    /// The address is deprecated (`IFA_F_DEPRECATED`).
    pub deprecated: bool,
    /// The address is temporary (`IFA_F_TEMPORARY`, IPv6 only).
    pub temporary: bool,
    /// The address is a Mobile IPv6 home address (`IFA_F_HOMEADDRESS`).
    pub home: bool,
    /// Packets are tunnelled: the outgoing interface is a tunnel device
    /// (`tun`, `sit`, `ipip`, GRE, ...) or the source is a Teredo or 6to4
    /// address.
    pub tunnel: bool,
    /// The source address's kind ([`teredo_addr::classify`]).
    pub class: AddrKind,
}

impl SourceInfo {
    /// Describes the kernel's answer with what the snapshot knows. `None`
    /// when the route does not deliver packets (unreachable, blackhole,
    /// prohibit, ...) or lacks a source address or outgoing interface.
    pub fn from_route(route: &Route, snapshot: &Snapshot) -> Option<Self> {
        if !matches!(route.kind, RouteKind::Unicast | RouteKind::Local) {
            return None;
        }
        let addr = route.pref_src?;
        // A lookup through a UDP socket tells the source only: the
        // interface is the one that holds it.
        let oif = route
            .oif
            .or_else(|| snapshot.address(addr, None).map(|(iface, _)| iface.index))?;
        let class = teredo_addr::classify(addr);
        let mut info = Self {
            addr,
            oif,
            prefix_len: None,
            deprecated: false,
            temporary: false,
            home: false,
            tunnel: class.is_tunnel()
                || snapshot.interface(oif).is_some_and(|i| i.kind.is_tunnel()),
            class,
        };
        let found = snapshot
            .address(addr, Some(oif))
            .or_else(|| snapshot.address(addr, None));
        if let Some((_, a)) = found {
            info.prefix_len = Some(a.prefix_len);
            info.deprecated = a.flags.deprecated();
            info.temporary = addr.is_ipv6() && a.flags.temporary();
            info.home = a.flags.homeaddress();
        }
        Some(info)
    }
}

/// Asks the kernel for source addresses: over a netlink socket it keeps
/// open between calls on Linux, with `GetBestRoute2` on Windows, through
/// connected UDP sockets elsewhere.
#[derive(Debug)]
pub struct SourceResolver {
    pub(crate) lookups: Lookups,
}

impl SourceResolver {
    /// Opens the native backend's lookup socket.
    ///
    /// # Errors
    ///
    /// When the socket cannot be opened; on platforms without a backend,
    /// [`io::ErrorKind::Unsupported`].
    pub fn new() -> io::Result<Self> {
        Self::with_backend(Backend::Native)
    }

    /// Opens a chosen [`Backend`]'s lookups.
    ///
    /// # Errors
    ///
    /// As [`SourceResolver::new`].
    pub fn with_backend(backend: Backend) -> io::Result<Self> {
        Ok(Self {
            lookups: Lookups::open(backend)?,
        })
    }

    /// The kernel's route for each destination (`ip route get`), in order;
    /// `None` where the kernel answered with an error (`ENETUNREACH`,
    /// `EHOSTUNREACH`, ...). On Linux all requests go out back to back on
    /// one socket, with distinct sequence numbers, before any reply is
    /// read. Where the answer comes from a UDP socket, the route holds
    /// only the source address.
    ///
    /// # Errors
    ///
    /// Only when the socket itself fails; per-destination errors are `None`.
    pub fn routes<D: Copy + Into<Dest>>(&mut self, dests: &[D]) -> io::Result<Vec<Option<Route>>> {
        let dests: Vec<Dest> = dests.iter().map(|d| (*d).into()).collect();
        let answers = self.lookups.routes(&dests)?;
        Ok(answers.into_iter().map(Result::ok).collect())
    }

    /// The source address the kernel would pick for each destination, in
    /// order, described with what `snapshot` knows about it; `None` where
    /// the destination is unreachable. See [`routes`](Self::routes).
    ///
    /// # Errors
    ///
    /// Only when the socket itself fails.
    pub fn sources<D: Copy + Into<Dest>>(
        &mut self,
        snapshot: &Snapshot,
        dests: &[D],
    ) -> io::Result<Vec<Option<SourceInfo>>> {
        Ok(self
            .routes(dests)?
            .into_iter()
            .map(|r| r.and_then(|r| SourceInfo::from_route(&r, snapshot)))
            .collect())
    }
}

impl Snapshot {
    /// [`SourceResolver::sources`] on a socket opened for this call only.
    ///
    /// # Errors
    ///
    /// When the socket fails; per-destination errors are `None`.
    pub fn sources<D: Copy + Into<Dest>>(
        &self,
        dests: &[D],
    ) -> io::Result<Vec<Option<SourceInfo>>> {
        SourceResolver::new()?.sources(self, dests)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{AddrFlags, Address, Family, Interface, LinkKind};

    fn snapshot() -> Snapshot {
        let mut eth = Interface::new(2, "eth0");
        eth.kind = LinkKind::Ethernet;
        let mut tmp = Address::new("2001:db8::9".parse().unwrap(), 64);
        tmp.flags = AddrFlags::TEMPORARY | AddrFlags::DEPRECATED;
        let mut v4 = Address::new("192.0.2.2".parse().unwrap(), 24);
        v4.flags = AddrFlags::SECONDARY;
        eth.addresses = vec![tmp, v4];
        let mut tun = Interface::new(3, "tun0");
        tun.kind = LinkKind::Tun;
        tun.addresses = vec![Address::new("2001:db8:1::1".parse().unwrap(), 48)];
        Snapshot {
            interfaces: vec![eth, tun],
            routes: vec![],
            reach: None,
            ..Snapshot::default()
        }
    }

    fn answer(src: &str, oif: u32) -> Route {
        let src: IpAddr = src.parse().unwrap();
        let mut r = Route::new(Family::of(src), None);
        r.pref_src = Some(src);
        r.oif = Some(oif);
        r
    }

    #[test]
    fn attributes_come_from_the_snapshot() {
        let snap = snapshot();
        let info = SourceInfo::from_route(&answer("2001:db8::9", 2), &snap).unwrap();
        assert_eq!(info.prefix_len, Some(64));
        assert!(info.temporary && info.deprecated && !info.home && !info.tunnel);
        assert_eq!(info.class, AddrKind::Documentation);
        // Bit 0 means secondary for IPv4, not temporary.
        let v4 = SourceInfo::from_route(&answer("192.0.2.2", 2), &snap).unwrap();
        assert!(!v4.temporary);
        assert_eq!(v4.prefix_len, Some(24));
    }

    #[test]
    fn tunnels_by_device_or_address() {
        let snap = snapshot();
        assert!(
            SourceInfo::from_route(&answer("2001:db8:1::1", 3), &snap)
                .unwrap()
                .tunnel
        );
        let teredo = SourceInfo::from_route(&answer("2001:0:c633:640a::1", 2), &snap).unwrap();
        assert!(teredo.tunnel);
        assert_eq!(teredo.prefix_len, None);
        assert!(
            SourceInfo::from_route(&answer("2002:c000:202::1", 2), &snap)
                .unwrap()
                .tunnel
        );
    }

    #[test]
    fn non_delivering_answers_are_none() {
        let snap = snapshot();
        let mut r = answer("2001:db8::9", 2);
        r.kind = RouteKind::Unreachable;
        assert!(SourceInfo::from_route(&r, &snap).is_none());
        let mut r = answer("2001:db8::9", 2);
        r.pref_src = None;
        assert!(SourceInfo::from_route(&r, &snap).is_none());
    }

    #[test]
    fn dest_conversions() {
        let sa: SocketAddr = "[fe80::1%7]:80".parse().unwrap();
        assert_eq!(
            Dest::from(sa),
            Dest::new("fe80::1".parse().unwrap(), Some(7))
        );
        let sa: SocketAddr = "[2001:db8::1]:80".parse().unwrap();
        assert_eq!(Dest::from(sa).scope_id, None);
        assert_eq!(
            Dest::from("::ffff:192.0.2.1".parse::<IpAddr>().unwrap()).lookup_ip(),
            "192.0.2.1".parse::<IpAddr>().unwrap()
        );
    }
}
