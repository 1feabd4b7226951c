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
//! - [`SourceCache`] remembers the kernel's answers until the kernel
//!   reports a change to links, addresses or routes.
//!
//! A Teredo interface (Miredo's `tun` device) is recognised by its
//! `2001:0::/32` address, whatever its name.
//!
//! The netlink socket comes from `netlink-sys`. The crate's only `unsafe`
//! code is one `recvmmsg` call at the operating-system edge, which reads
//! many lookup replies at once.
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

#![deny(unsafe_code)]

mod cache;
mod model;
mod parse;
mod snapshot;
mod source;
mod sys;

#[cfg(all(test, target_endian = "little"))]
mod fixture_tests;

pub use cache::{CacheStats, MAX_CACHED, SourceCache};
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
pub use teredo_addr::AddrKind;
