//! The requests this crate sends: dumps of links, addresses and routes,
//! and route lookups (`ip route get`). Pure byte builders, so that tests
//! compare them with what other encoders produce.

use std::net::IpAddr;

use super::consts::{
    AF_INET, AF_INET6, AF_UNSPEC, IFADDRMSG_LEN, IFINFOMSG_LEN, NLM_F_DUMP, NLM_F_REQUEST,
    NLMSG_HDRLEN, RTA_DST, RTA_OIF, RTM_GETADDR, RTM_GETLINK, RTM_GETROUTE, RTMSG_LEN,
};
use crate::source::Dest;

/// What a dump request asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Dump {
    /// Every interface (`RTM_GETLINK`).
    Links,
    /// Every address of every family (`RTM_GETADDR`).
    Addresses,
    /// Every route of every family and table (`RTM_GETROUTE`).
    Routes,
    /// Every IPv4 route of every table (`RTM_GETROUTE` for `AF_INET`).
    Ipv4Routes,
}

/// Appends a netlink header of `message_type` with `flags` and `sequence`
/// to `buf`, its length field left for [`finish`]; returns where it starts.
fn begin(buf: &mut Vec<u8>, message_type: u16, flags: u16, sequence: u32) -> usize {
    let start = buf.len();
    buf.extend_from_slice(&[0; 4]); // nlmsg_len, set by `finish`
    buf.extend_from_slice(&message_type.to_ne_bytes());
    buf.extend_from_slice(&flags.to_ne_bytes());
    buf.extend_from_slice(&sequence.to_ne_bytes());
    buf.extend_from_slice(&0u32.to_ne_bytes()); // nlmsg_pid: the kernel
    start
}

/// Sets the length of the message that starts at `start` and pads `buf`
/// so that the next message is 4-byte aligned.
fn finish(buf: &mut Vec<u8>, start: usize) {
    let len = buf.len() - start;
    buf[start..start + 4].copy_from_slice(&u32::try_from(len).unwrap_or(u32::MAX).to_ne_bytes());
    buf.resize(buf.len() + (len.next_multiple_of(4) - len), 0);
}

fn attr(buf: &mut Vec<u8>, kind: u16, value: &[u8]) {
    let len = u16::try_from(4 + value.len()).unwrap_or(u16::MAX);
    buf.extend_from_slice(&len.to_ne_bytes());
    buf.extend_from_slice(&kind.to_ne_bytes());
    buf.extend_from_slice(value);
    buf.resize(
        buf.len() + (value.len().next_multiple_of(4) - value.len()),
        0,
    );
}

/// Appends the dump request for `what` to `buf`: a header and a zeroed
/// `ifinfomsg`, `ifaddrmsg` or `rtmsg` of family `AF_UNSPEC` (every family),
/// or `AF_INET` for [`Dump::Ipv4Routes`].
pub(crate) fn dump(buf: &mut Vec<u8>, what: Dump, sequence: u32) {
    let (message_type, body, family) = match what {
        Dump::Links => (RTM_GETLINK, IFINFOMSG_LEN, AF_UNSPEC),
        Dump::Addresses => (RTM_GETADDR, IFADDRMSG_LEN, AF_UNSPEC),
        Dump::Routes => (RTM_GETROUTE, RTMSG_LEN, AF_UNSPEC),
        Dump::Ipv4Routes => (RTM_GETROUTE, RTMSG_LEN, AF_INET),
    };
    let start = begin(buf, message_type, NLM_F_REQUEST | NLM_F_DUMP, sequence);
    buf.push(family);
    buf.resize(start + NLMSG_HDRLEN + body, 0);
    finish(buf, start);
}

/// Appends the `RTM_GETROUTE` request for one destination to `buf`: a
/// header with `sequence`, an `rtmsg` with a host-length destination
/// prefix, `RTA_DST`, and `RTA_OIF` for a zone.
pub(crate) fn lookup(buf: &mut Vec<u8>, sequence: u32, dest: Dest) {
    let start = begin(buf, RTM_GETROUTE, NLM_F_REQUEST, sequence);
    let ip = dest.lookup_ip();
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
    finish(buf, start);
}
