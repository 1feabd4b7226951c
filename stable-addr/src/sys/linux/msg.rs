//! Netlink bytes in and out: the two dump requests, and the kernel's
//! link and address messages turned into tracker [`Event`]s. The decoding
//! itself is iface-probe's (one parser for the workspace, fuzzed there);
//! this module only says what each message means to the tracker.
//!
//! Pure (no socket), so it is tested on hand-built messages. Netlink uses
//! the host's byte order throughout.

use iface_probe::netlink::Body;
use iface_probe::{Address, Interface};

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
    /// `NLMSG_ERROR` with a non-zero (positive) errno, or a dump that
    /// failed part-way.
    Error(i32),
    /// Anything else: acknowledgements, other families, other types.
    Ignored,
}

/// Splits a datagram into messages and parses each, with iface-probe's
/// parser. A malformed message fails the whole datagram (the rest cannot
/// be framed), with an error that says where and why.
pub(crate) fn parse_datagram(bytes: &[u8]) -> Result<Vec<Parsed>, String> {
    let messages = iface_probe::netlink::parse_messages(bytes).map_err(|e| e.to_string())?;
    Ok(messages.into_iter().map(|m| parsed(m.body)).collect())
}

/// What a parsed message means to the tracker.
fn parsed(body: Body) -> Parsed {
    let link = |iface: Interface, removed| {
        Parsed::Event(Event::Link {
            ifindex: iface.index,
            name: iface.name,
            up: iface.up,
            removed,
        })
    };
    let address = |index, address: Address, removed| {
        Parsed::Event(Event::Address {
            ifindex: index,
            ip: address.ip,
            prefix_len: address.prefix_len,
            flags: AddrFlags::from_ifa_flags(address.flags.bits()),
            removed,
        })
    };
    match body {
        Body::Link(iface) => link(iface, false),
        Body::LinkRemoved(iface) => link(iface, true),
        Body::Address { index, address: a } => address(index, a, false),
        Body::AddressRemoved { index, address: a } => address(index, a, true),
        Body::Done => Parsed::Done,
        // errno 0 is an acknowledgement.
        Body::Error { errno } if errno != 0 => Parsed::Error(errno),
        _ => Parsed::Ignored,
    }
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
        // An acknowledgement (error code 0) means nothing to the tracker;
        // a dump that failed part-way ends in NLMSG_DONE with a negative
        // status, and is as much an error as NLMSG_ERROR.
        let mut ack = 0i32.to_ne_bytes().to_vec();
        ack.extend_from_slice(&message(22, &[0; 8])[..16]);
        bytes.extend(message(2, &ack));
        bytes.extend(message(3, &(-4i32).to_ne_bytes()));
        assert_eq!(
            parse_datagram(&bytes).unwrap(),
            [
                Parsed::Done,
                Parsed::Error(16),
                Parsed::Ignored,
                Parsed::Error(4)
            ]
        );
    }

    #[test]
    fn other_families_and_bridge_ports_are_ignored() {
        // Two address messages of family 45 (AF_MCTP) on ifindex 3: one
        // whose IFA_ADDRESS has the length of an IPv4 address, one with the
        // one-byte IFA_LOCAL (endpoint id) a real MCTP address carries.
        let mut body = vec![45u8, 8, 0, 0];
        body.extend_from_slice(&3u32.to_ne_bytes());
        nla(&mut body, 1, &[192, 0, 2, 9]);
        let mut eid = vec![45u8, 0, 0, 0];
        eid.extend_from_slice(&3u32.to_ne_bytes());
        nla(&mut eid, 2, &[9]);
        // A port leaving its bridge: RTM_DELLINK, family AF_BRIDGE.
        let mut port = vec![7u8, 0];
        port.extend_from_slice(&1u16.to_ne_bytes());
        port.extend_from_slice(&5i32.to_ne_bytes());
        port.extend_from_slice(&1u32.to_ne_bytes());
        port.extend_from_slice(&0u32.to_ne_bytes());
        nla(&mut port, 3, b"veth0\0");
        let mut bytes = message(20, &body);
        bytes.extend(message(20, &eid));
        bytes.extend(message(17, &port));
        assert_eq!(
            parse_datagram(&bytes).unwrap(),
            [Parsed::Ignored, Parsed::Ignored, Parsed::Ignored]
        );
    }

    #[test]
    fn bad_length_is_an_error() {
        let mut bytes = message(3, &0i32.to_ne_bytes());
        bytes[0] = 200;
        assert!(parse_datagram(&bytes).is_err());
    }
}
