//! Pure parsing: netlink route messages, as bytes or as decoded by
//! `netlink-packet-route`, into this crate's [`Interface`], [`Address`]
//! and [`Route`].
//!
//! Nothing here touches the operating system, so it works (and is tested)
//! on captured bytes. Netlink uses the host's byte order: bytes captured
//! on a little-endian machine parse only on a little-endian machine.

use std::error::Error;
use std::fmt;
use std::net::IpAddr;

use netlink_packet_core::ParseableParametrized;
use netlink_packet_route::address::{AddressAttribute, AddressMessage};
use netlink_packet_route::link::{LinkAttribute, LinkFlags, LinkInfo, LinkMessage};
use netlink_packet_route::route::{RouteAddress, RouteAttribute, RouteMessage, RouteVia};
use netlink_packet_route::{AddressFamily, RouteNetlinkMessage};

use crate::model::{
    AddrFlags, Address, Family, Interface, LinkKind, NextHop, OperState, Route, RouteKind,
};

/// `NLMSG_NOOP`.
const NLMSG_NOOP: u16 = 1;
/// `NLMSG_ERROR`: an error or, with code 0, an acknowledgement.
const NLMSG_ERROR: u16 = 2;
/// `NLMSG_DONE`: the end of a dump.
const NLMSG_DONE: u16 = 3;
/// `RTM_NEWLINK`.
const RTM_NEWLINK: u16 = 16;
/// `RTM_DELLINK`.
const RTM_DELLINK: u16 = 17;
/// `RTM_NEWADDR`.
const RTM_NEWADDR: u16 = 20;
/// `RTM_DELADDR`.
const RTM_DELADDR: u16 = 21;
/// `RTM_NEWROUTE`.
const RTM_NEWROUTE: u16 = 24;
/// The size of `struct nlmsghdr`.
const HEADER_LEN: usize = 16;

/// One netlink message with the header fields that matter for matching
/// replies to requests.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Message {
    /// The netlink message type (`nlmsg_type`).
    pub message_type: u16,
    /// The netlink flags (`nlmsg_flags`).
    pub flags: u16,
    /// The sequence number (`nlmsg_seq`), copied by the kernel from the
    /// request this message answers.
    pub sequence: u32,
    /// The decoded body.
    pub body: Body,
}

/// What a netlink message said.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Body {
    /// `RTM_NEWLINK`: an interface (its `addresses` are empty: they come in
    /// their own messages).
    Link(Interface),
    /// `RTM_NEWADDR`: an address on interface `index`.
    Address {
        /// The interface the address is on.
        index: u32,
        /// The address.
        address: Address,
    },
    /// `RTM_DELLINK`: an interface went away (a change notification).
    /// The `RTM_DELLINK` of family `AF_BRIDGE` that the kernel sends when
    /// a port merely leaves its bridge is not this: it is
    /// [`Ignored`](Self::Ignored).
    LinkRemoved(Interface),
    /// `RTM_DELADDR`: an address was removed from interface `index` (a
    /// change notification).
    AddressRemoved {
        /// The interface the address was on.
        index: u32,
        /// The address, as it was.
        address: Address,
    },
    /// `RTM_NEWROUTE`: a route, or the answer to an `RTM_GETROUTE` request.
    Route(Route),
    /// `NLMSG_DONE`: the end of a dump (one that failed part-way, with a
    /// negative status, is an [`Error`](Self::Error) instead).
    Done,
    /// `NLMSG_ERROR`: `errno` is the positive error number (`ENETUNREACH`
    /// ...), or 0 for an acknowledgement.
    Error {
        /// The positive error number, 0 for an acknowledgement.
        errno: i32,
    },
    /// A message this crate does not use (`NLMSG_NOOP`, an address or route
    /// of another family, ...); carries the message type.
    Ignored(u16),
}

/// Why a buffer of netlink messages could not be parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ParseError {
    /// Fewer bytes remain than a message header needs.
    TruncatedHeader {
        /// Where the message starts in the buffer.
        offset: usize,
        /// How many bytes remain from there.
        remaining: usize,
    },
    /// The header's length is smaller than the header itself.
    BadLength {
        /// Where the message starts in the buffer.
        offset: usize,
        /// The length the header gives.
        length: u32,
    },
    /// The header's length runs past the end of the buffer.
    Truncated {
        /// Where the message starts in the buffer.
        offset: usize,
        /// The length the header gives.
        length: u32,
        /// How many bytes remain from `offset`.
        remaining: usize,
    },
    /// The message's payload could not be decoded.
    Payload {
        /// Where the message starts in the buffer.
        offset: usize,
        /// The netlink message type.
        message_type: u16,
        /// What the decoder said.
        reason: String,
    },
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::TruncatedHeader { offset, remaining } => write!(
                f,
                "netlink message header at offset {offset} is truncated: \
                 {HEADER_LEN} bytes needed, {remaining} remain"
            ),
            Self::BadLength { offset, length } => write!(
                f,
                "netlink message at offset {offset} has length {length}, \
                 less than the {HEADER_LEN}-byte header"
            ),
            Self::Truncated {
                offset,
                length,
                remaining,
            } => write!(
                f,
                "netlink message at offset {offset} is truncated: header says \
                 {length} bytes, {remaining} remain"
            ),
            Self::Payload {
                offset,
                message_type,
                reason,
            } => write!(
                f,
                "{} message at offset {offset} could not be decoded: {reason}",
                type_name(*message_type)
            ),
        }
    }
}

impl Error for ParseError {}

/// A lowercase name for a message type, for error messages.
fn type_name(message_type: u16) -> String {
    match message_type {
        NLMSG_ERROR => "nlmsg_error".to_owned(),
        RTM_NEWLINK => "rtm_newlink".to_owned(),
        RTM_DELLINK => "rtm_dellink".to_owned(),
        RTM_NEWADDR => "rtm_newaddr".to_owned(),
        RTM_DELADDR => "rtm_deladdr".to_owned(),
        RTM_NEWROUTE => "rtm_newroute".to_owned(),
        other => format!("netlink type {other}"),
    }
}

fn read_u16(bytes: &[u8], at: usize) -> u16 {
    u16::from_ne_bytes([bytes[at], bytes[at + 1]])
}

fn read_u32(bytes: &[u8], at: usize) -> u32 {
    u32::from_ne_bytes([bytes[at], bytes[at + 1], bytes[at + 2], bytes[at + 3]])
}

/// Decodes a buffer holding any number of netlink messages, as one
/// `recv` on a `NETLINK_ROUTE` socket returns them.
///
/// Messages are 4-byte aligned; padding after the last one may be missing.
/// Never panics, whatever the bytes.
///
/// ```
/// // An NLMSG_DONE message, sequence 7.
/// let mut bytes = Vec::new();
/// bytes.extend_from_slice(&20u32.to_ne_bytes()); // length
/// bytes.extend_from_slice(&3u16.to_ne_bytes()); // NLMSG_DONE
/// bytes.extend_from_slice(&2u16.to_ne_bytes()); // NLM_F_MULTI
/// bytes.extend_from_slice(&7u32.to_ne_bytes()); // sequence
/// bytes.extend_from_slice(&0u32.to_ne_bytes()); // port
/// bytes.extend_from_slice(&0i32.to_ne_bytes()); // status
/// let messages = iface_probe::parse_messages(&bytes).unwrap();
/// assert_eq!(messages[0].sequence, 7);
/// assert_eq!(messages[0].body, iface_probe::Body::Done);
///
/// let err = iface_probe::parse_messages(&bytes[..19]).unwrap_err();
/// assert_eq!(
///     err.to_string(),
///     "netlink message at offset 0 is truncated: header says 20 bytes, 19 remain"
/// );
/// ```
pub fn parse_messages(bytes: &[u8]) -> Result<Vec<Message>, ParseError> {
    let mut out = Vec::new();
    for_each_message(bytes, |header, payload| {
        let body = parse_body(header.message_type, payload)
            .map_err(|reason| header.payload_error(reason))?;
        out.push(Message {
            message_type: header.message_type,
            flags: header.flags,
            sequence: header.sequence,
            body,
        });
        Ok(())
    })?;
    Ok(out)
}

/// The fixed header of one netlink message, and where it starts.
#[derive(Debug, Clone, Copy)]
struct Header {
    offset: usize,
    message_type: u16,
    flags: u16,
    sequence: u32,
}

impl Header {
    fn payload_error(self, reason: String) -> ParseError {
        ParseError::Payload {
            offset: self.offset,
            message_type: self.message_type,
            reason,
        }
    }
}

/// Walks the messages of one datagram, checking each header's length
/// against what is left, and hands each header and payload to `each`.
fn for_each_message(
    bytes: &[u8],
    mut each: impl FnMut(Header, &[u8]) -> Result<(), ParseError>,
) -> Result<(), ParseError> {
    let mut offset = 0;
    while offset < bytes.len() {
        let rest = &bytes[offset..];
        if rest.len() < HEADER_LEN {
            return Err(ParseError::TruncatedHeader {
                offset,
                remaining: rest.len(),
            });
        }
        let length = read_u32(rest, 0);
        let len = usize::try_from(length).unwrap_or(usize::MAX);
        if len < HEADER_LEN {
            return Err(ParseError::BadLength { offset, length });
        }
        if len > rest.len() {
            return Err(ParseError::Truncated {
                offset,
                length,
                remaining: rest.len(),
            });
        }
        let header = Header {
            offset,
            message_type: read_u16(rest, 4),
            flags: read_u16(rest, 6),
            sequence: read_u32(rest, 8),
        };
        each(header, &rest[HEADER_LEN..len])?;
        // Messages are aligned to 4 bytes; the last one's padding may be cut.
        offset = offset.saturating_add(len.saturating_add(3) & !3);
    }
    Ok(())
}

fn parse_body(message_type: u16, payload: &[u8]) -> Result<Body, String> {
    match message_type {
        // A dump that failed part-way ends with a negative code in its
        // `NLMSG_DONE`.
        NLMSG_DONE => match payload.get(..4) {
            Some(&[a, b, c, d]) if i32::from_ne_bytes([a, b, c, d]) < 0 => Ok(Body::Error {
                errno: i32::from_ne_bytes([a, b, c, d])
                    .checked_neg()
                    .unwrap_or(i32::MAX),
            }),
            _ => Ok(Body::Done),
        },
        NLMSG_ERROR => {
            if payload.len() < 4 {
                return Err(format!(
                    "error code needs 4 bytes, {} present",
                    payload.len()
                ));
            }
            let code = i32::from_ne_bytes([payload[0], payload[1], payload[2], payload[3]]);
            Ok(Body::Error {
                errno: code.checked_neg().unwrap_or(i32::MAX),
            })
        }
        // Addresses and routes of other families (AF_MCTP, multicast
        // routing tables, ...) are of no use here, and their attributes
        // need not decode as IP ones do: one such address on the host must
        // not fail the whole dump. Their family is their first byte.
        RTM_NEWADDR | RTM_DELADDR | RTM_NEWROUTE
            if !matches!(payload.first(), Some(&(AF_INET | AF_INET6))) =>
        {
            Ok(Body::Ignored(message_type))
        }
        RTM_NEWLINK | RTM_DELLINK | RTM_NEWADDR | RTM_DELADDR | RTM_NEWROUTE => {
            let msg = RouteNetlinkMessage::parse_with_param(payload, message_type)
                .map_err(|e| lowercase_first(&e.to_string()))?;
            Ok(Body::from_route_netlink(&msg))
        }
        NLMSG_NOOP => Ok(Body::Ignored(message_type)),
        other => Ok(Body::Ignored(other)),
    }
}

fn lowercase_first(s: &str) -> String {
    let mut chars = s.chars();
    match chars.next() {
        Some(c) => c.to_lowercase().chain(chars).collect(),
        None => String::new(),
    }
}

impl Body {
    /// Converts a message decoded by `netlink-packet-route`. Links,
    /// addresses and routes of the IPv4 and IPv6 families become
    /// [`Body::Link`], [`Body::Address`] and [`Body::Route`], removed links
    /// and addresses [`Body::LinkRemoved`] and [`Body::AddressRemoved`];
    /// everything else is [`Body::Ignored`] with its message type.
    pub fn from_route_netlink(msg: &RouteNetlinkMessage) -> Self {
        match msg {
            RouteNetlinkMessage::NewLink(link) => Self::Link(interface_from_link(link)),
            // A port leaving its bridge: the interface stays.
            RouteNetlinkMessage::DelLink(link)
                if link.header.interface_family == AddressFamily::Bridge =>
            {
                Self::Ignored(RTM_DELLINK)
            }
            RouteNetlinkMessage::DelLink(link) => Self::LinkRemoved(interface_from_link(link)),
            RouteNetlinkMessage::NewAddress(addr) => match address_from_message(addr) {
                Some((index, address)) => Self::Address { index, address },
                None => Self::Ignored(RTM_NEWADDR),
            },
            RouteNetlinkMessage::DelAddress(addr) => match address_from_message(addr) {
                Some((index, address)) => Self::AddressRemoved { index, address },
                None => Self::Ignored(RTM_DELADDR),
            },
            RouteNetlinkMessage::NewRoute(route) => match route_from_message(route) {
                Some(route) => Self::Route(route),
                None => Self::Ignored(RTM_NEWROUTE),
            },
            other => Self::Ignored(other.message_type()),
        }
    }
}

/// An [`Interface`] (with no addresses) from an `RTM_NEWLINK` (or
/// `RTM_DELLINK`) message.
pub fn interface_from_link(msg: &LinkMessage) -> Interface {
    let header = &msg.header;
    let mut iface = Interface::new(header.index, "");
    let flags = header.flags;
    iface.flags = flags.bits();
    iface.up = flags.contains(LinkFlags::Up);
    iface.running = flags.contains(LinkFlags::Running);
    iface.loopback = flags.contains(LinkFlags::Loopback);
    iface.link_type = u16::from(header.link_layer_type);
    let mut kind = None;
    for attr in &msg.attributes {
        match attr {
            LinkAttribute::IfName(name) => iface.name.clone_from(name),
            LinkAttribute::Mtu(mtu) => iface.mtu = *mtu,
            LinkAttribute::OperState(state) => {
                iface.oper_state = OperState::from_raw(u8::from(*state));
            }
            LinkAttribute::LinkInfo(infos) => {
                for info in infos {
                    if let LinkInfo::Kind(k) = info {
                        kind = Some(k.to_string());
                    }
                }
            }
            _ => {}
        }
    }
    iface.kind = LinkKind::from_kind(kind.as_deref(), iface.link_type);
    iface
}

/// The interface index and [`Address`] of an `RTM_NEWADDR` (or
/// `RTM_DELADDR`) message;
/// `None` for families other than IPv4 and IPv6 or when the message
/// carries no address.
pub fn address_from_message(msg: &AddressMessage) -> Option<(u32, Address)> {
    let header = &msg.header;
    if !matches!(header.family, AddressFamily::Inet | AddressFamily::Inet6) {
        return None;
    }
    let mut local = None;
    let mut address = None;
    let mut flags = AddrFlags::from_bits(u32::from(header.flags.bits()));
    let mut lifetimes = (None, None);
    let mut label = None;
    for attr in &msg.attributes {
        match attr {
            AddressAttribute::Local(ip) => local = Some(*ip),
            AddressAttribute::Address(ip) => address = Some(*ip),
            AddressAttribute::Flags(f) => flags = AddrFlags::from_bits(f.bits()),
            AddressAttribute::CacheInfo(ci) => {
                lifetimes = (lifetime(ci.ifa_preferred), lifetime(ci.ifa_valid));
            }
            AddressAttribute::Label(l) => label = Some(l.clone()),
            _ => {}
        }
    }
    // IFA_LOCAL is the local address when both are present (the other is
    // the peer of a point-to-point link).
    let ip = local.or(address)?;
    let mut addr = Address::new(ip, header.prefix_len);
    addr.scope = u8::from(header.scope);
    addr.flags = flags;
    (addr.preferred_lft, addr.valid_lft) = lifetimes;
    addr.label = label;
    Some((header.index, addr))
}

/// `INFINITY_LIFE_TIME` (`0xffffffff`) is forever.
fn lifetime(secs: u32) -> Option<u32> {
    (secs != u32::MAX).then_some(secs)
}

fn route_ip(addr: &RouteAddress) -> Option<IpAddr> {
    match addr {
        RouteAddress::Inet(v4) => Some(IpAddr::V4(*v4)),
        RouteAddress::Inet6(v6) => Some(IpAddr::V6(*v6)),
        _ => None,
    }
}

fn via_ip(via: &RouteVia) -> Option<IpAddr> {
    match via {
        RouteVia::Inet(v4) => Some(IpAddr::V4(*v4)),
        RouteVia::Inet6(v6) => Some(IpAddr::V6(*v6)),
        _ => None,
    }
}

/// A [`Route`] from an `RTM_NEWROUTE` message; `None` for families other
/// than IPv4 and IPv6.
pub fn route_from_message(msg: &RouteMessage) -> Option<Route> {
    let header = &msg.header;
    let family = match header.address_family {
        AddressFamily::Inet => Family::Ipv4,
        AddressFamily::Inet6 => Family::Ipv6,
        _ => return None,
    };
    let mut route = Route::new(family, None);
    route.table = u32::from(header.table);
    route.kind = RouteKind::from_raw(u8::from(header.kind));
    route.scope = u8::from(header.scope);
    route.protocol = u8::from(header.protocol);
    route.flags = header.flags.bits();
    for attr in &msg.attributes {
        match attr {
            RouteAttribute::Destination(dst) if header.destination_prefix_length > 0 => {
                route.dst = route_ip(dst).map(|ip| (ip, header.destination_prefix_length));
            }
            RouteAttribute::Oif(oif) => route.oif = Some(*oif),
            RouteAttribute::Gateway(gw) => route.gateway = route_ip(gw),
            RouteAttribute::Via(via) => route.gateway = via_ip(via),
            RouteAttribute::PrefSource(src) => route.pref_src = route_ip(src),
            RouteAttribute::Table(table) => route.table = *table,
            RouteAttribute::Priority(metric) => route.metric = *metric,
            RouteAttribute::MultiPath(hops) => {
                route.multipath = hops
                    .iter()
                    .map(|hop| NextHop {
                        oif: hop.interface_index,
                        gateway: hop.attributes.iter().find_map(|a| match a {
                            RouteAttribute::Gateway(gw) => route_ip(gw),
                            RouteAttribute::Via(via) => via_ip(via),
                            _ => None,
                        }),
                    })
                    .collect();
            }
            _ => {}
        }
    }
    Some(route)
}

/// `AF_INET`.
const AF_INET: u8 = 2;
/// `AF_INET6`.
const AF_INET6: u8 = 10;
/// The size of `struct rtmsg`.
const RTMSG_LEN: usize = 12;
/// `RTA_DST`.
const RTA_DST: u16 = 1;
/// `RTA_OIF`.
const RTA_OIF: u16 = 4;
/// `RTA_GATEWAY`.
const RTA_GATEWAY: u16 = 5;
/// `RTA_PRIORITY`.
const RTA_PRIORITY: u16 = 6;
/// `RTA_PREFSRC`.
const RTA_PREFSRC: u16 = 7;
/// `RTA_MULTIPATH`.
const RTA_MULTIPATH: u16 = 9;
/// `RTA_TABLE`.
const RTA_TABLE: u16 = 15;
/// `RTA_VIA`.
const RTA_VIA: u16 = 18;
/// The type bits of `rta_type` (without `NLA_F_NESTED` and
/// `NLA_F_NET_BYTEORDER`).
const NLA_TYPE_MASK: u16 = 0x3fff;

/// An address attribute of a route in `family`; `None` if the length does
/// not fit the family.
fn addr_of(family: Family, value: &[u8]) -> Option<IpAddr> {
    match family {
        Family::Ipv4 => <[u8; 4]>::try_from(value).ok().map(IpAddr::from),
        Family::Ipv6 => <[u8; 16]>::try_from(value).ok().map(IpAddr::from),
    }
}

/// A [`Route`] read directly from the payload of an `RTM_NEWROUTE`
/// message, looking only at the attributes [`route_from_message`] uses;
/// the same result, without decoding everything else. `None` when the
/// message needs the full decoder: a family other than IPv4 and IPv6, a
/// multipath or `RTA_VIA` route, an attribute of a surprising length, or
/// a malformed message.
pub(crate) fn route_from_bytes(payload: &[u8]) -> Option<Route> {
    let header = payload.get(..RTMSG_LEN)?;
    let family = match header[0] {
        AF_INET => Family::Ipv4,
        AF_INET6 => Family::Ipv6,
        _ => return None,
    };
    let dst_len = header[1];
    let mut route = Route::new(family, None);
    route.table = u32::from(header[4]);
    route.protocol = header[5];
    route.scope = header[6];
    route.kind = RouteKind::from_raw(header[7]);
    route.flags = read_u32(header, 8);
    let mut rest = &payload[RTMSG_LEN..];
    while rest.len() >= 4 {
        let len = usize::from(read_u16(rest, 0));
        let kind = read_u16(rest, 2) & NLA_TYPE_MASK;
        if len < 4 || len > rest.len() {
            return None;
        }
        let value = &rest[4..len];
        let u32_value = || <[u8; 4]>::try_from(value).ok().map(u32::from_ne_bytes);
        match kind {
            RTA_DST if dst_len > 0 => route.dst = Some((addr_of(family, value)?, dst_len)),
            RTA_OIF => route.oif = Some(u32_value()?),
            RTA_GATEWAY => route.gateway = Some(addr_of(family, value)?),
            RTA_PREFSRC => route.pref_src = Some(addr_of(family, value)?),
            RTA_TABLE => route.table = u32_value()?,
            RTA_PRIORITY => route.metric = u32_value()?,
            RTA_MULTIPATH | RTA_VIA => return None,
            _ => {}
        }
        rest = &rest[(len.saturating_add(3) & !3).min(rest.len())..];
    }
    Some(route)
}

/// Reads the replies to route lookups in one datagram and hands each to
/// `reply` with its sequence number: the route, or the positive errno of
/// an error reply (0 for a route this crate cannot describe). Other
/// messages are skipped.
///
/// # Errors
///
/// When a message header is malformed, or a route message cannot be
/// decoded at all.
pub(crate) fn lookup_replies(
    bytes: &[u8],
    mut reply: impl FnMut(u32, Result<Route, i32>),
) -> Result<(), ParseError> {
    for_each_message(bytes, |header, payload| {
        let full = || parse_body(header.message_type, payload).map_err(|r| header.payload_error(r));
        match header.message_type {
            RTM_NEWROUTE => {
                // The quick decoder handles the common replies; anything
                // unusual goes through the full one.
                let answer = match route_from_bytes(payload) {
                    Some(route) => Ok(route),
                    None => match full()? {
                        Body::Route(route) => Ok(route),
                        _ => Err(0),
                    },
                };
                reply(header.sequence, answer);
            }
            NLMSG_ERROR => {
                if let Body::Error { errno } = full()? {
                    reply(header.sequence, Err(errno));
                }
            }
            _ => {}
        }
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header(len: u32, ty: u16, flags: u16, seq: u32) -> Vec<u8> {
        let mut v = Vec::new();
        v.extend_from_slice(&len.to_ne_bytes());
        v.extend_from_slice(&ty.to_ne_bytes());
        v.extend_from_slice(&flags.to_ne_bytes());
        v.extend_from_slice(&seq.to_ne_bytes());
        v.extend_from_slice(&0u32.to_ne_bytes());
        v
    }

    #[test]
    fn empty_buffer_is_no_messages() {
        assert_eq!(parse_messages(&[]), Ok(vec![]));
    }

    #[test]
    fn short_header_is_an_error() {
        let err = parse_messages(&[0; 7]).unwrap_err();
        assert_eq!(
            err.to_string(),
            "netlink message header at offset 0 is truncated: 16 bytes needed, 7 remain"
        );
    }

    #[test]
    fn length_below_header_is_an_error() {
        let err = parse_messages(&header(3, NLMSG_DONE, 0, 0)).unwrap_err();
        assert_eq!(
            err,
            ParseError::BadLength {
                offset: 0,
                length: 3
            }
        );
        assert!(err.to_string().contains("length 3"));
    }

    #[test]
    fn error_message_gives_positive_errno() {
        let mut bytes = header(36, NLMSG_ERROR, 0, 9);
        bytes.extend_from_slice(&(-101i32).to_ne_bytes());
        bytes.extend_from_slice(&header(16, 26, 1, 9));
        let msgs = parse_messages(&bytes).unwrap();
        assert_eq!(msgs.len(), 1);
        assert_eq!(msgs[0].sequence, 9);
        assert_eq!(msgs[0].body, Body::Error { errno: 101 });
    }

    #[test]
    fn error_message_without_code_is_an_error() {
        let mut bytes = header(16, NLMSG_DONE, 0, 0);
        bytes.extend(header(18, NLMSG_ERROR, 0, 0));
        bytes.extend_from_slice(&[0, 0]);
        let err = parse_messages(&bytes).unwrap_err();
        assert_eq!(
            err.to_string(),
            "nlmsg_error message at offset 16 could not be decoded: \
             error code needs 4 bytes, 2 present"
        );
    }

    #[test]
    fn failed_dump_is_an_error() {
        let mut bytes = header(20, NLMSG_DONE, 2, 4);
        bytes.extend_from_slice(&(-16i32).to_ne_bytes());
        assert_eq!(
            parse_messages(&bytes).unwrap()[0].body,
            Body::Error { errno: 16 }
        );
        let mut bytes = header(20, NLMSG_DONE, 2, 4);
        bytes.extend_from_slice(&0i32.to_ne_bytes());
        assert_eq!(parse_messages(&bytes).unwrap()[0].body, Body::Done);
    }

    #[test]
    fn unknown_types_are_ignored() {
        let bytes = header(16, 0x1234, 0, 0);
        assert_eq!(
            parse_messages(&bytes).unwrap()[0].body,
            Body::Ignored(0x1234)
        );
    }

    #[test]
    fn missing_padding_after_last_message_is_fine() {
        let mut bytes = header(17, 0x40, 0, 0);
        bytes.push(0);
        assert_eq!(parse_messages(&bytes).unwrap().len(), 1);
    }

    /// One message as `netlink-packet-route` serializes it.
    fn serialized(msg: RouteNetlinkMessage, sequence: u32) -> Vec<u8> {
        use netlink_packet_core::{NetlinkHeader, NetlinkMessage, NetlinkPayload};
        let mut header = NetlinkHeader::default();
        header.sequence_number = sequence;
        let mut nl = NetlinkMessage::new(header, NetlinkPayload::from(msg));
        nl.finalize();
        let mut buf = vec![0; nl.buffer_len()];
        nl.serialize(&mut buf);
        buf
    }

    /// One `RTM_NEWROUTE` message as `netlink-packet-route` serializes it.
    fn route_message(msg: RouteMessage, sequence: u32) -> Vec<u8> {
        serialized(RouteNetlinkMessage::NewRoute(msg), sequence)
    }

    #[test]
    fn removals_are_told_apart_from_additions() {
        use netlink_packet_route::address::AddressHeaderFlags;
        let mut link = LinkMessage::default();
        link.header.index = 4;
        link.header.flags = LinkFlags::Up;
        link.attributes.push(LinkAttribute::IfName("teredo".into()));
        let mut addr = AddressMessage::default();
        addr.header.family = AddressFamily::Inet6;
        addr.header.index = 4;
        addr.header.prefix_len = 32;
        addr.header.flags = AddressHeaderFlags::Tentative;
        let teredo: IpAddr = "2001:0:c633:640a:8000:f227:bd6a:13fe".parse().unwrap();
        addr.attributes.push(AddressAttribute::Address(teredo));
        let mut bytes = serialized(RouteNetlinkMessage::NewLink(link.clone()), 1);
        bytes.extend(serialized(RouteNetlinkMessage::NewAddress(addr.clone()), 1));
        bytes.extend(serialized(RouteNetlinkMessage::DelAddress(addr), 1));
        bytes.extend(serialized(RouteNetlinkMessage::DelLink(link), 1));
        let bodies: Vec<Body> = parse_messages(&bytes)
            .unwrap()
            .into_iter()
            .map(|m| m.body)
            .collect();
        let [
            Body::Link(added),
            Body::Address { index: 4, address },
            Body::AddressRemoved {
                index: 4,
                address: gone,
            },
            Body::LinkRemoved(removed),
        ] = &bodies[..]
        else {
            panic!("{bodies:?}");
        };
        assert_eq!((added.name.as_str(), added.up), ("teredo", true));
        assert_eq!(added, removed);
        assert_eq!((address.ip, address.prefix_len), (teredo, 32));
        assert!(address.flags.tentative());
        assert_eq!(address, gone);
        // A port leaving a bridge is no removal.
        let mut port = LinkMessage::default();
        port.header.interface_family = AddressFamily::Bridge;
        port.header.index = 4;
        let bridged = serialized(RouteNetlinkMessage::DelLink(port), 1);
        assert_eq!(
            parse_messages(&bridged).unwrap()[0].body,
            Body::Ignored(RTM_DELLINK)
        );
        // A dump never holds removals; a snapshot built from them ignores
        // them rather than guess.
        let snap = crate::Snapshot::from_messages(parse_messages(&bytes).unwrap());
        assert_eq!(snap.interfaces.len(), 1);
        assert_eq!(snap.interfaces[0].addresses.len(), 1);
    }

    #[test]
    fn other_families_are_skipped_undecoded() {
        // RTM_NEWADDR of family AF_MCTP (45) with a one-byte IFA_LOCAL (an
        // MCTP endpoint id), which no IP decoder accepts; then an RTM_NEWROUTE
        // of family RTNL_FAMILY_IPMR (128).
        let mut bytes = header(16 + 8 + 8, RTM_NEWADDR, 0, 1);
        bytes.extend_from_slice(&[45, 0, 0, 0, 3, 0, 0, 0]);
        bytes.extend_from_slice(&5u16.to_ne_bytes());
        bytes.extend_from_slice(&2u16.to_ne_bytes());
        bytes.extend_from_slice(&[9, 0, 0, 0]);
        bytes.extend(header(16 + 12, RTM_NEWROUTE, 0, 1));
        bytes.extend_from_slice(&[128, 32, 0, 0, 252, 2, 0, 5, 0, 0, 0, 0]);
        let bodies: Vec<Body> = parse_messages(&bytes)
            .unwrap()
            .into_iter()
            .map(|m| m.body)
            .collect();
        assert_eq!(
            bodies,
            [Body::Ignored(RTM_NEWADDR), Body::Ignored(RTM_NEWROUTE)]
        );
        // An empty payload is no family at all: skipped too, not a panic.
        let bare = header(16, RTM_DELADDR, 0, 1);
        assert_eq!(
            parse_messages(&bare).unwrap()[0].body,
            Body::Ignored(RTM_DELADDR)
        );
    }

    #[test]
    fn a_bad_removal_names_its_type() {
        // RTM_DELADDR whose first attribute claims 2 bytes.
        let mut bytes = header(16 + 8 + 4, RTM_DELADDR, 0, 0);
        bytes.extend_from_slice(&[10, 64, 0, 0, 4, 0, 0, 0]);
        bytes.extend_from_slice(&2u16.to_ne_bytes());
        bytes.extend_from_slice(&1u16.to_ne_bytes());
        let err = parse_messages(&bytes).unwrap_err();
        assert!(
            err.to_string()
                .starts_with("rtm_deladdr message at offset 0 could not be decoded: "),
            "{err}"
        );
    }

    /// A route message to build: the header's fields and which attributes
    /// to add.
    #[derive(Debug, Clone, Default)]
    struct RouteSpec {
        v6: bool,
        /// Clamped to the family's address length.
        dst_len: u8,
        /// The destination; the gateway, preferred source and next hops
        /// differ from it in the last byte (IPv4 uses the last four).
        bytes: [u8; 16],
        oif: Option<u32>,
        gateway: bool,
        pref_src: bool,
        table: Option<u32>,
        metric: Option<u32>,
        /// Attributes both decoders ignore.
        other: bool,
        /// Two next hops: the lean decoder leaves these to the full one.
        multipath: bool,
        /// rtm_table, rtm_protocol, rtm_scope, rtm_type.
        head: (u8, u8, u8, u8),
    }

    /// The message `spec` describes.
    fn built_route(spec: &RouteSpec) -> RouteMessage {
        let RouteSpec {
            v6,
            dst_len,
            bytes,
            oif,
            gateway,
            pref_src,
            table,
            metric,
            other,
            multipath,
            head,
        } = spec.clone();
        use netlink_packet_route::route::{
            RouteCacheInfo, RouteNextHop, RoutePreference, RouteProtocol, RouteScope, RouteType,
        };
        use std::net::{Ipv4Addr, Ipv6Addr};
        let addr = |salt: u8| {
            let mut b = bytes;
            b[15] ^= salt;
            if v6 {
                RouteAddress::Inet6(Ipv6Addr::from(b))
            } else {
                RouteAddress::Inet(Ipv4Addr::new(b[12], b[13], b[14], b[15]))
            }
        };
        let mut msg = RouteMessage::default();
        msg.header.address_family = if v6 {
            AddressFamily::Inet6
        } else {
            AddressFamily::Inet
        };
        msg.header.destination_prefix_length = dst_len.min(if v6 { 128 } else { 32 });
        msg.header.table = head.0;
        msg.header.protocol = RouteProtocol::from(head.1);
        msg.header.scope = RouteScope::from(head.2);
        msg.header.kind = RouteType::from(head.3);
        if msg.header.destination_prefix_length > 0 {
            msg.attributes.push(RouteAttribute::Destination(addr(0)));
        }
        if other {
            // What the kernel adds to lookup replies and dumps, and the
            // lean decoder skips.
            msg.attributes.push(RouteAttribute::Mark(7));
            msg.attributes.push(RouteAttribute::Uid(1000));
            msg.attributes
                .push(RouteAttribute::Preference(RoutePreference::Medium));
            // struct rta_cacheinfo: eight u32 counters.
            let cache_info = RouteCacheInfo::parse(&[1; 32]).expect("32 bytes");
            msg.attributes.push(RouteAttribute::CacheInfo(cache_info));
            // RTA_EXPIRES is 64 bits in multicast routes, 32 elsewhere.
            if head.3 != 5 {
                msg.attributes.push(RouteAttribute::Expires(300));
            }
        }
        if let Some(oif) = oif {
            msg.attributes.push(RouteAttribute::Oif(oif));
        }
        if gateway {
            msg.attributes.push(RouteAttribute::Gateway(addr(1)));
        }
        if pref_src {
            msg.attributes.push(RouteAttribute::PrefSource(addr(2)));
        }
        if let Some(table) = table {
            msg.attributes.push(RouteAttribute::Table(table));
        }
        if let Some(metric) = metric {
            msg.attributes.push(RouteAttribute::Priority(metric));
        }
        if multipath {
            let hop = |index, salt| {
                let mut hop = RouteNextHop::default();
                hop.interface_index = index;
                hop.attributes = vec![RouteAttribute::Gateway(addr(salt))];
                hop
            };
            msg.attributes
                .push(RouteAttribute::MultiPath(vec![hop(2, 3), hop(3, 4)]));
        }
        msg
    }

    /// What the full decoder makes of one serialized route message.
    fn full_route(bytes: &[u8]) -> Route {
        match parse_messages(bytes).unwrap().remove(0).body {
            Body::Route(route) => route,
            other => panic!("not a route: {other:?}"),
        }
    }

    #[test]
    fn lean_route_parser_takes_the_common_replies() {
        // A lookup reply as the kernel sends it: destination, table, oif,
        // preferred source, gateway; and one with attributes it skips.
        for other in [false, true] {
            let msg = built_route(&RouteSpec {
                v6: true,
                dst_len: 128,
                bytes: [0x20, 1, 0xd, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1],
                oif: Some(2),
                gateway: true,
                pref_src: true,
                table: Some(254),
                metric: Some(1024),
                other,
                multipath: false,
                head: (254, 4, 0, 1),
            });
            let bytes = route_message(msg, 9);
            let lean = route_from_bytes(&bytes[HEADER_LEN..]).expect("the lean path");
            assert_eq!(lean, full_route(&bytes));
            assert_eq!(lean.oif, Some(2));
            assert_eq!(lean.metric, 1024);
            assert!(lean.pref_src.is_some() && lean.gateway.is_some());
        }
        // Multipath needs the full decoder.
        let msg = built_route(&RouteSpec {
            multipath: true,
            head: (254, 3, 0, 1),
            ..RouteSpec::default()
        });
        let bytes = route_message(msg, 1);
        assert_eq!(route_from_bytes(&bytes[HEADER_LEN..]), None);
        assert_eq!(full_route(&bytes).multipath.len(), 2);
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(1000))]

        #[test]
        fn lean_route_parser_agrees_with_the_full_one(
            v6: bool,
            dst_len: u8,
            bytes: [u8; 16],
            oif: Option<u32>,
            gateway: bool,
            pref_src: bool,
            table: Option<u32>,
            metric: Option<u32>,
            other: bool,
            multipath: bool,
            head: (u8, u8, u8, u8),
            sequence: u32,
        ) {
            let msg = built_route(&RouteSpec {
                v6,
                dst_len,
                bytes,
                oif,
                gateway,
                pref_src,
                table,
                metric,
                other,
                multipath,
                head,
            });
            let bytes = route_message(msg, sequence);
            let full = full_route(&bytes);
            if let Some(lean) = route_from_bytes(&bytes[HEADER_LEN..]) {
                proptest::prop_assert_eq!(&lean, &full);
            } else {
                proptest::prop_assert!(multipath, "the lean decoder gave up on {:?}", full);
            }
            // Whichever decoder answers, a lookup reply carries the full route.
            let mut got = Vec::new();
            lookup_replies(&bytes, |seq, r| got.push((seq, r))).unwrap();
            proptest::prop_assert_eq!(got, vec![(sequence, Ok(full))]);
        }
    }

    #[test]
    fn lookup_replies_skip_other_messages_and_report_errors() {
        let msg = built_route(&RouteSpec {
            dst_len: 32,
            bytes: [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 192, 0, 2, 1],
            oif: Some(3),
            pref_src: true,
            table: Some(254),
            head: (254, 2, 253, 1),
            ..RouteSpec::default()
        });
        let mut bytes = route_message(msg, 5);
        // An error reply for sequence 77: ENETUNREACH, with the request's
        // header echoed.
        bytes.extend_from_slice(&header(36, NLMSG_ERROR, 0, 77));
        bytes.extend_from_slice(&(-101i32).to_ne_bytes());
        bytes.extend_from_slice(&[0; 16]);
        // NLMSG_DONE and a link message: skipped.
        bytes.extend_from_slice(&header(20, NLMSG_DONE, 2, 5));
        bytes.extend_from_slice(&0u32.to_ne_bytes());
        bytes.extend_from_slice(&header(16, RTM_NEWLINK, 0, 5));
        let mut got = Vec::new();
        lookup_replies(&bytes, |seq, r| got.push((seq, r.map(|r| r.oif)))).unwrap();
        assert_eq!(got, [(5, Ok(Some(3))), (77, Err(101))]);
        // A cut in the last header is an error, not a silent stop.
        assert!(lookup_replies(&bytes[..bytes.len() - 1], |_, _| {}).is_err());
    }
}
