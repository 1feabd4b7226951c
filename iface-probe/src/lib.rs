//! A snapshot of this host's interfaces, addresses and routes, read from
//! the kernel over netlink, and what they make the host capable of (IPv4,
//! native IPv6, 6to4, Teredo, Teredo-only), plus the kernel's choice of
//! source address for many destinations in one round trip.
//!
//! - [`parse_messages`] and the `*_from_*` functions turn netlink route
//!   messages (raw bytes, or as `netlink-packet-route` decodes them) into
//!   [`Interface`], [`Address`] and [`Route`]; they are pure and work on
//!   every platform.
//! - [`Snapshot::capture`] reads everything from the kernel (Linux only;
//!   elsewhere it fails with [`std::io::ErrorKind::Unsupported`]).
//! - [`Snapshot::capabilities`] and
//!   [`Snapshot::interfaces_in_preference_order`] answer what the host can
//!   reach and which interface to prefer.
//! - [`SourceResolver`] asks the kernel which source address it would use
//!   for a batch of destinations.
//!
//! A Teredo interface (Miredo's `tun` device) is recognised by its
//! `2001:0::/32` address, whatever its name.
//!
//! The crate itself contains no `unsafe` code; the netlink socket comes
//! from `netlink-sys`.
//!
//! # Notes on the kernel's behaviour (Linux 6.x, checked by the tests)
//!
//! - `RTM_GETROUTE` with `RTA_DST` (and `RTA_OIF` for a zone) answers with
//!   `RTA_PREFSRC` for IPv6 as well as IPv4, with no extra request flags,
//!   and it is the address a UDP socket gets from `connect`.
//! - An unreachable destination is usually an `NLMSG_ERROR` reply
//!   (`ENETUNREACH`, `EHOSTUNREACH`, `EINVAL` for a blackhole, `EACCES`
//!   for prohibit); an answer that is a route of a non-delivering type is
//!   treated the same way.
//! - Every reply is charged about 770 bytes against the socket's receive
//!   buffer until it is read, and replies that do not fit are dropped
//!   (`ENOBUFS`), so lookups go out in batches sized from the buffer.
//! - Miredo's `tun` device reports `IFLA_INFO_KIND` `tun` and hardware type
//!   `ARPHRD_NONE`; without a process holding it, it is up but not running
//!   (operational state down) and its routes are `linkdown`, yet the kernel
//!   still routes through it and picks its address as a source.
//! - `IFA_F_TEMPORARY` and `IFA_F_SECONDARY` are the same bit; the header
//!   carries only the low eight flag bits, `IFA_FLAGS` all of them.

#![forbid(unsafe_code)]

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

mod model;
mod parse;
mod snapshot;
mod source;
mod sys;

#[cfg(all(test, target_endian = "little"))]
mod fixture_tests;

pub use model::{
    ARPHRD_ETHER, ARPHRD_IP6GRE, ARPHRD_IPGRE, ARPHRD_LOOPBACK, ARPHRD_NONE, ARPHRD_SIT,
    ARPHRD_TUNNEL, ARPHRD_TUNNEL6, ARPHRD_VOID, AddrFlags, Address, Family, Interface, LinkKind,
    NextHop, OperState, RT_TABLE_MAIN, Route, RouteKind,
};
pub use parse::{
    Body, Message, ParseError, address_from_message, interface_from_link, parse_messages,
    route_from_message,
};
pub use snapshot::{Capabilities, Preference, Snapshot};
pub use source::{Dest, SourceInfo, SourceResolver};

/// The class of an address, in kebab case: `teredo` (`2001:0::/32`),
/// `6to4` (`2002::/16`), `link-local`, `unique-local` (`fc00::/7`),
/// `site-local`, `loopback`, `multicast`, `unspecified`, `ipv4-mapped`,
/// `ipv4-compatible`, `private` (RFC 1918), `shared` (`100.64/10`),
/// `broadcast`, and `global` for everything else.
fn class_of(ip: IpAddr) -> &'static str {
    match ip {
        IpAddr::V4(v4) => class_of_v4(v4),
        IpAddr::V6(v6) => class_of_v6(v6),
    }
}

fn class_of_v4(ip: Ipv4Addr) -> &'static str {
    let [a, b, ..] = ip.octets();
    if ip.is_unspecified() {
        "unspecified"
    } else if ip.is_loopback() {
        "loopback"
    } else if ip.is_link_local() {
        "link-local"
    } else if ip.is_private() {
        "private"
    } else if a == 100 && (b & 0xc0) == 64 {
        "shared"
    } else if ip.is_multicast() {
        "multicast"
    } else if ip.is_broadcast() {
        "broadcast"
    } else {
        "global"
    }
}

fn class_of_v6(ip: Ipv6Addr) -> &'static str {
    let s = ip.segments();
    if ip.is_unspecified() {
        "unspecified"
    } else if ip.is_loopback() {
        "loopback"
    } else if ip.to_ipv4_mapped().is_some() {
        "ipv4-mapped"
    } else if s[..6] == [0; 6] {
        "ipv4-compatible"
    } else if s[0] == 0x2001 && s[1] == 0 {
        "teredo"
    } else if s[0] == 0x2002 {
        "6to4"
    } else if s[0] & 0xffc0 == 0xfe80 {
        "link-local"
    } else if s[0] & 0xffc0 == 0xfec0 {
        "site-local"
    } else if s[0] & 0xfe00 == 0xfc00 {
        "unique-local"
    } else if ip.is_multicast() {
        "multicast"
    } else {
        "global"
    }
}

#[cfg(test)]
mod tests {
    use super::class_of;

    #[test]
    fn classes() {
        let cases = [
            ("2001:0:c633:640a:8000:f227:bd6a:13fe", "teredo"),
            ("2001:1::1", "global"),
            ("2001:db8::1", "global"),
            ("2002:c000:204::1", "6to4"),
            ("fe80::1", "link-local"),
            ("fec0::1", "site-local"),
            ("fd00::1", "unique-local"),
            ("ff02::1", "multicast"),
            ("::1", "loopback"),
            ("::", "unspecified"),
            ("::ffff:192.0.2.1", "ipv4-mapped"),
            ("::192.0.2.1", "ipv4-compatible"),
            ("192.0.2.1", "global"),
            ("10.1.2.3", "private"),
            ("100.64.0.1", "shared"),
            ("100.128.0.1", "global"),
            ("169.254.1.1", "link-local"),
            ("127.0.0.1", "loopback"),
            ("224.0.0.1", "multicast"),
            ("255.255.255.255", "broadcast"),
            ("0.0.0.0", "unspecified"),
        ];
        for (ip, class) in cases {
            assert_eq!(class_of(ip.parse().unwrap()), class, "{ip}");
        }
    }
}
