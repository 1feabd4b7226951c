//! Netlink bytes in and out: the two dump requests, and the kernel's
//! link and address messages turned into tracker [`Event`]s.
//!
//! Pure (no socket), so it is tested on hand-built messages. Netlink uses
//! the host's byte order throughout.

use std::net::IpAddr;

use netlink_packet_core::{NetlinkMessage, NetlinkPayload};
use netlink_packet_route::RouteNetlinkMessage;
use netlink_packet_route::address::{AddressAttribute, AddressMessage};
use netlink_packet_route::link::{LinkAttribute, LinkFlags, LinkMessage};

use crate::tracker::{AddrFlags, Event};

/// `RTM_GETLINK`.
const RTM_GETLINK: u16 = 18;
/// `RTM_GETADDR`.
const RTM_GETADDR: u16 = 22;
/// `NLM_F_REQUEST | NLM_F_DUMP`.
const DUMP_FLAGS: u16 = 0x001 | 0x300;
/// The size of `struct nlmsghdr`.
const HEADER_LEN: usize = 16;
/// The size of `struct ifinfomsg`.
const IFINFOMSG_LEN: usize = 16;
/// The size of `struct ifaddrmsg`.
const IFADDRMSG_LEN: usize = 8;

/// Which table a dump request asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum DumpKind {
    /// All interfaces (`RTM_GETLINK`).
    Links,
    /// All addresses of every family (`RTM_GETADDR`).
    Addresses,
}

/// The bytes of a dump request with sequence number `seq`: a header and a
/// zeroed `ifinfomsg`/`ifaddrmsg`, family `AF_UNSPEC` (every family).
pub(crate) fn dump_request(kind: DumpKind, seq: u32) -> Vec<u8> {
    let (message_type, body_len) = match kind {
        DumpKind::Links => (RTM_GETLINK, IFINFOMSG_LEN),
        DumpKind::Addresses => (RTM_GETADDR, IFADDRMSG_LEN),
    };
    let len = HEADER_LEN + body_len;
    let mut bytes = Vec::with_capacity(len);
    bytes.extend_from_slice(&u32::try_from(len).unwrap_or(u32::MAX).to_ne_bytes());
    bytes.extend_from_slice(&message_type.to_ne_bytes());
    bytes.extend_from_slice(&DUMP_FLAGS.to_ne_bytes());
    bytes.extend_from_slice(&seq.to_ne_bytes());
    // Port 0: the kernel fills in the sender's port.
    bytes.extend_from_slice(&0u32.to_ne_bytes());
    bytes.resize(len, 0);
    bytes
}

/// One message from the kernel, as far as waiting cares.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Parsed {
    /// A link or address change (or dump entry).
    Event(Event),
    /// `NLMSG_DONE`: the end of a dump.
    Done,
    /// `NLMSG_ERROR` with a non-zero (positive) errno.
    Error(i32),
    /// Anything else: acknowledgements, other families, other types.
    Ignored,
}

/// Splits a datagram into messages and parses each. A malformed message
/// ends the datagram (the rest cannot be framed) and is reported as an
/// error string.
pub(crate) fn parse_datagram(mut bytes: &[u8]) -> Result<Vec<Parsed>, String> {
    let mut out = Vec::new();
    while bytes.len() >= HEADER_LEN {
        let mut len_bytes = [0u8; 4];
        len_bytes.copy_from_slice(&bytes[..4]);
        let len = u32::from_ne_bytes(len_bytes) as usize;
        if len < HEADER_LEN || len > bytes.len() {
            return Err(format!(
                "netlink message length {len} does not fit the {} bytes left",
                bytes.len()
            ));
        }
        out.push(parse_message(&bytes[..len])?);
        // Messages are padded to 4 bytes; the last one may not be.
        let next = (len + 3) & !3;
        bytes = bytes.get(next..).unwrap_or_default();
    }
    Ok(out)
}

/// Parses one whole netlink message.
fn parse_message(bytes: &[u8]) -> Result<Parsed, String> {
    let message = NetlinkMessage::<RouteNetlinkMessage>::deserialize(bytes)
        .map_err(|e| format!("bad netlink message: {e}"))?;
    Ok(match message.payload {
        NetlinkPayload::Done(_) => Parsed::Done,
        NetlinkPayload::Error(e) => match e.code {
            Some(code) => Parsed::Error(-code.get()),
            None => Parsed::Ignored,
        },
        NetlinkPayload::InnerMessage(inner) => match inner {
            RouteNetlinkMessage::NewLink(m) => link_event(&m, false),
            RouteNetlinkMessage::DelLink(m) => link_event(&m, true),
            RouteNetlinkMessage::NewAddress(m) => address_event(&m, false),
            RouteNetlinkMessage::DelAddress(m) => address_event(&m, true),
            _ => Parsed::Ignored,
        },
        _ => Parsed::Ignored,
    })
}

fn link_event(m: &LinkMessage, removed: bool) -> Parsed {
    let name = m
        .attributes
        .iter()
        .find_map(|a| match a {
            LinkAttribute::IfName(name) => Some(name.clone()),
            _ => None,
        })
        .unwrap_or_default();
    Parsed::Event(Event::Link {
        ifindex: m.header.index,
        name,
        up: m.header.flags.contains(LinkFlags::Up),
        removed,
    })
}

fn address_event(m: &AddressMessage, removed: bool) -> Parsed {
    let mut local = None;
    let mut address = None;
    let mut flags = None;
    for attribute in &m.attributes {
        match attribute {
            AddressAttribute::Local(ip) => local = Some(*ip),
            AddressAttribute::Address(ip) => address = Some(*ip),
            AddressAttribute::Flags(f) => flags = Some(f.bits()),
            _ => {}
        }
    }
    // IFA_LOCAL is the local address when present; without it (IPv6 that
    // is not point-to-point) IFA_ADDRESS is.
    let Some(ip): Option<IpAddr> = local.or(address) else {
        return Parsed::Ignored;
    };
    // IFA_FLAGS carries all 32 bits; the header's 8 are a fallback for
    // old kernels.
    let bits = flags.unwrap_or_else(|| u32::from(m.header.flags.bits()));
    Parsed::Event(Event::Address {
        ifindex: m.header.index,
        ip,
        prefix_len: m.header.prefix_len,
        flags: AddrFlags::from_ifa_flags(bits),
        removed,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Appends an attribute (padded to 4 bytes) to `out`.
    fn nla(out: &mut Vec<u8>, kind: u16, value: &[u8]) {
        out.extend_from_slice(&(4 + value.len() as u16).to_ne_bytes());
        out.extend_from_slice(&kind.to_ne_bytes());
        out.extend_from_slice(value);
        while out.len() % 4 != 0 {
            out.push(0);
        }
    }

    /// A message: header then `body`.
    fn message(message_type: u16, body: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        out.extend_from_slice(&(16 + body.len() as u32).to_ne_bytes());
        out.extend_from_slice(&message_type.to_ne_bytes());
        out.extend_from_slice(&2u16.to_ne_bytes());
        out.extend_from_slice(&7u32.to_ne_bytes());
        out.extend_from_slice(&0u32.to_ne_bytes());
        out.extend_from_slice(body);
        out
    }

    fn newaddr_v6(ip: &str, index: u32, header_flags: u8, ifa_flags: Option<u32>) -> Vec<u8> {
        let ip: std::net::Ipv6Addr = ip.parse().unwrap();
        let mut body = vec![10u8, 64, header_flags, 0];
        body.extend_from_slice(&index.to_ne_bytes());
        nla(&mut body, 1, &ip.octets());
        if let Some(f) = ifa_flags {
            nla(&mut body, 8, &f.to_ne_bytes());
        }
        message(20, &body)
    }

    #[test]
    fn requests_are_well_formed() {
        let r = dump_request(DumpKind::Addresses, 9);
        assert_eq!(r.len(), 24);
        assert_eq!(u32::from_ne_bytes(r[0..4].try_into().unwrap()), 24);
        assert_eq!(u16::from_ne_bytes(r[4..6].try_into().unwrap()), RTM_GETADDR);
        assert_eq!(u16::from_ne_bytes(r[6..8].try_into().unwrap()), 0x301);
        assert_eq!(u32::from_ne_bytes(r[8..12].try_into().unwrap()), 9);
        assert_eq!(dump_request(DumpKind::Links, 1).len(), 32);
    }

    #[test]
    fn address_flags_prefer_the_32_bit_attribute() {
        let mut bytes = newaddr_v6("2001:db8::1", 3, 0x80, Some(0x40 | 0x80));
        bytes.extend(newaddr_v6("2001:db8::2", 3, 0x40, None));
        let parsed = parse_datagram(&bytes).unwrap();
        assert_eq!(
            parsed,
            [
                Parsed::Event(Event::Address {
                    ifindex: 3,
                    ip: "2001:db8::1".parse().unwrap(),
                    prefix_len: 64,
                    flags: AddrFlags::TENTATIVE,
                    removed: false,
                }),
                Parsed::Event(Event::Address {
                    ifindex: 3,
                    ip: "2001:db8::2".parse().unwrap(),
                    prefix_len: 64,
                    flags: AddrFlags::TENTATIVE,
                    removed: false,
                }),
            ]
        );
    }

    #[test]
    fn link_up_and_removed() {
        // ifinfomsg: family, pad, type, index, flags (IFF_UP), change.
        let mut body = vec![0u8, 0];
        body.extend_from_slice(&1u16.to_ne_bytes());
        body.extend_from_slice(&5i32.to_ne_bytes());
        body.extend_from_slice(&1u32.to_ne_bytes());
        body.extend_from_slice(&0u32.to_ne_bytes());
        nla(&mut body, 3, b"veth0\0");
        let parsed = parse_datagram(&message(17, &body)).unwrap();
        assert_eq!(
            parsed,
            [Parsed::Event(Event::Link {
                ifindex: 5,
                name: "veth0".into(),
                up: true,
                removed: true,
            })]
        );
    }

    #[test]
    fn done_and_error() {
        let mut bytes = message(3, &0i32.to_ne_bytes());
        let mut err = (-16i32).to_ne_bytes().to_vec();
        err.extend_from_slice(&message(22, &[0; 8])[..16]);
        bytes.extend(message(2, &err));
        assert_eq!(
            parse_datagram(&bytes).unwrap(),
            [Parsed::Done, Parsed::Error(16)]
        );
    }

    #[test]
    fn bad_length_is_an_error() {
        let mut bytes = message(3, &0i32.to_ne_bytes());
        bytes[0] = 200;
        assert!(parse_datagram(&bytes).is_err());
    }
}
