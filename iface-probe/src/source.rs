//! The kernel's choice of source address for many destinations at once.

use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use netlink_packet_route::AddressFamily;
use netlink_packet_route::route::{RouteAddress, RouteAttribute, RouteMessage};

use crate::model::{Route, RouteKind};
use crate::snapshot::Snapshot;
use crate::sys::RouteSocket;

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
    /// The source address's class (`global`, `teredo`, `6to4`, ...).
    pub class: &'static str,
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
        let oif = route.oif?;
        let class = crate::class_of(addr);
        let mut info = Self {
            addr,
            oif,
            prefix_len: None,
            deprecated: false,
            temporary: false,
            home: false,
            tunnel: matches!(class, "teredo" | "6to4")
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

/// Asks the kernel for source addresses over a netlink socket it keeps
/// open between calls.
#[derive(Debug)]
pub struct SourceResolver {
    socket: RouteSocket,
}

/// The `RTM_GETROUTE` request for one destination. An IPv4-mapped IPv6
/// address is looked up as the IPv4 address it carries, as an IPv6 socket
/// connecting to it would.
fn request(dest: Dest) -> RouteMessage {
    let ip = match dest.ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(dest.ip, IpAddr::V4),
        v4 => v4,
    };
    let mut msg = RouteMessage::default();
    match ip {
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
    msg
}

impl SourceResolver {
    /// Opens the netlink socket.
    ///
    /// # Errors
    ///
    /// When the socket cannot be opened; on platforms other than Linux,
    /// always [`io::ErrorKind::Unsupported`].
    pub fn new() -> io::Result<Self> {
        Ok(Self {
            socket: RouteSocket::open()?,
        })
    }

    /// The kernel's route for each destination (`ip route get`), in order;
    /// `None` where the kernel answered with an error (`ENETUNREACH`,
    /// `EHOSTUNREACH`, ...). All requests go out back to back on one
    /// socket, with distinct sequence numbers, before any reply is read.
    ///
    /// # Errors
    ///
    /// Only when the socket itself fails; per-destination errors are `None`.
    pub fn routes<D: Copy + Into<Dest>>(&mut self, dests: &[D]) -> io::Result<Vec<Option<Route>>> {
        let requests: Vec<RouteMessage> = dests.iter().map(|d| request((*d).into())).collect();
        let answers = self.socket.get_routes(&requests)?;
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
