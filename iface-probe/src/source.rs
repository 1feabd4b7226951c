//! The kernel's choice of source address for many destinations at once.

use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use teredo_addr::AddrKind;

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
        let oif = route.oif?;
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

/// Asks the kernel for source addresses over a netlink socket it keeps
/// open between calls.
#[derive(Debug)]
pub struct SourceResolver {
    pub(crate) socket: RouteSocket,
}

/// `RTM_GETROUTE`.
const RTM_GETROUTE: u16 = 26;
/// `NLM_F_REQUEST`.
const NLM_F_REQUEST: u16 = 1;
/// `AF_INET`.
const AF_INET: u8 = 2;
/// `AF_INET6`.
const AF_INET6: u8 = 10;
/// `RTA_DST`.
const RTA_DST: u16 = 1;
/// `RTA_OIF`.
const RTA_OIF: u16 = 4;

/// The address a destination is looked up as: an IPv4-mapped IPv6
/// address as the IPv4 address it carries, as an IPv6 socket connecting
/// to it would.
fn lookup_ip(dest: Dest) -> IpAddr {
    match dest.ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(dest.ip, IpAddr::V4),
        v4 => v4,
    }
}

/// Appends the `RTM_GETROUTE` request for one destination to `buf`: a
/// netlink header with `sequence`, an `rtmsg` with a host-length
/// destination prefix, `RTA_DST`, and `RTA_OIF` for a zone.
pub(crate) fn encode_lookup(buf: &mut Vec<u8>, sequence: u32, dest: Dest) {
    fn attr(buf: &mut Vec<u8>, kind: u16, value: &[u8]) {
        let len = u16::try_from(4 + value.len()).expect("short attribute");
        buf.extend_from_slice(&len.to_ne_bytes());
        buf.extend_from_slice(&kind.to_ne_bytes());
        buf.extend_from_slice(value);
    }
    let start = buf.len();
    buf.extend_from_slice(&[0; 4]); // nlmsg_len, set below
    buf.extend_from_slice(&RTM_GETROUTE.to_ne_bytes());
    buf.extend_from_slice(&NLM_F_REQUEST.to_ne_bytes());
    buf.extend_from_slice(&sequence.to_ne_bytes());
    buf.extend_from_slice(&0u32.to_ne_bytes()); // nlmsg_pid: the kernel
    let ip = lookup_ip(dest);
    let (family, dst_len) = match ip {
        IpAddr::V4(_) => (AF_INET, 32),
        IpAddr::V6(_) => (AF_INET6, 128),
    };
    // family, dst_len, src_len, tos, table, protocol, scope, type, flags.
    buf.extend_from_slice(&[family, dst_len, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
    match ip {
        IpAddr::V4(v4) => attr(buf, RTA_DST, &v4.octets()),
        IpAddr::V6(v6) => attr(buf, RTA_DST, &v6.octets()),
    }
    if let Some(oif) = dest.scope_id {
        attr(buf, RTA_OIF, &oif.to_ne_bytes());
    }
    let len = u32::try_from(buf.len() - start).expect("short message");
    buf[start..start + 4].copy_from_slice(&len.to_ne_bytes());
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
        let dests: Vec<Dest> = dests.iter().map(|d| (*d).into()).collect();
        let answers = self.socket.get_routes(&dests)?;
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
            lookup_ip(Dest::from("::ffff:192.0.2.1".parse::<IpAddr>().unwrap())),
            "192.0.2.1".parse::<IpAddr>().unwrap()
        );
    }

    /// The request as `netlink-packet-route` builds and serializes it.
    fn reference_request(dest: Dest, sequence: u32) -> Vec<u8> {
        use netlink_packet_core::{NLM_F_REQUEST, NetlinkHeader, NetlinkMessage, NetlinkPayload};
        use netlink_packet_route::route::{RouteAddress, RouteAttribute, RouteMessage};
        use netlink_packet_route::{AddressFamily, RouteNetlinkMessage};
        let mut msg = RouteMessage::default();
        match lookup_ip(dest) {
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
        let mut header = NetlinkHeader::default();
        header.flags = NLM_F_REQUEST;
        header.sequence_number = sequence;
        let mut nl = NetlinkMessage::new(
            header,
            NetlinkPayload::from(RouteNetlinkMessage::GetRoute(msg)),
        );
        nl.finalize();
        let mut buf = vec![0; nl.buffer_len()];
        nl.serialize(&mut buf);
        buf
    }

    #[test]
    fn requests_encode_as_netlink_packet_route_does() {
        let dests = [
            Dest::from("192.0.2.1".parse::<IpAddr>().unwrap()),
            Dest::from("2001:db8::1".parse::<IpAddr>().unwrap()),
            Dest::from("::ffff:192.0.2.9".parse::<IpAddr>().unwrap()),
            Dest::new("fe80::1".parse().unwrap(), Some(4)),
            Dest::new("fe80::1".parse().unwrap(), Some(0)),
        ];
        for (i, dest) in dests.into_iter().enumerate() {
            let seq = 0x0102_0304 + i as u32;
            let mut ours = vec![0xaa];
            encode_lookup(&mut ours, seq, dest);
            assert_eq!(ours[1..], reference_request(dest, seq), "{dest:?}");
            assert_eq!(ours.len() % 4, 1, "{dest:?}: aligned");
        }
    }
}
