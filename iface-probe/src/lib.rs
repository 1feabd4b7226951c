//! A snapshot of this host's interfaces, addresses and routes, read from
//! the kernel over netlink, and what they make the host capable of (IPv4,
//! native IPv6, 6to4, Teredo, Teredo-only), plus the kernel's choice of
//! source address for many destinations in one round trip.
//!
//! - [`netlink::parse_messages`] and the `*_from_*` functions turn netlink route
//!   messages (raw bytes, or as `netlink-packet-route` decodes them) into
//!   [`Interface`], [`Address`] and [`Route`]; they are pure and work on
//!   every platform.
//! - [`pfroute`] decodes the records of macOS, iOS and the BSDs (routing
//!   socket messages, the `in6_ifreq` of the IPv6 address ioctls, address
//!   flags, interface types), each system's layout chosen by a parameter:
//!   pure code too, tested on every platform.
//! - [`Snapshot::capture`] reads everything from the kernel (netlink on
//!   Linux, IP Helper on Windows, see [`Backend`] and
//!   [Platforms](#platforms); where there is no backend it fails with
//!   [`std::io::ErrorKind::Unsupported`]).
//! - [`Snapshot::capabilities`] and
//!   [`Snapshot::interfaces_in_preference_order`] answer what the host can
//!   reach and which interface to prefer; [`Snapshot::teredo_qualifying`]
//!   whether a Teredo client is started but not qualified yet.
//! - [`SourceResolver`] asks the kernel which source address it would use
//!   for a batch of destinations.
//! - [`SourceCache`] remembers the kernel's answers until the kernel
//!   reports a change to links, addresses or routes.
//! - [`HostView`] keeps the NAT64 prefixes routers announce (RFC 8781) in
//!   [`Snapshot::pref64`], on Linux; [`Pref64Option`] decodes the option.
//!
//! A Teredo interface (Miredo's `tun` device) is recognised by its
//! `2001:0::/32` address, whatever its name; only before it has one (while
//! the client qualifies) does [`Snapshot::teredo_qualifying`] go by the
//! name Miredo gives it.
//!
//! # Standards
//!
//! - Netlink route messages (`RTM_NEWLINK`, `RTM_DELLINK`, `RTM_NEWADDR`,
//!   `RTM_DELADDR`, `RTM_NEWROUTE`, `RTM_GETROUTE`, `RTM_NEWNDUSEROPT`) as
//!   RFC 3549 describes them, in Linux's encoding.
//! - The PREF64 option of Router Advertisements (RFC 8781 §4, its scaled
//!   lifetime and prefix length code), with NAT64 prefixes as RFC 6052
//!   §2.2 defines them; Router Solicitations as RFC 4861 §6.3.7 sends
//!   them.
//! - The interface preference order is the one RFC 3484 §2.1's table
//!   implies and Windows uses: native IPv6, 6to4 (RFC 3056), IPv4, Teredo
//!   (RFC 4380).
//! - Address usability follows the DAD states of RFC 4862 §5.4 and
//!   optimistic DAD (RFC 4429): tentative, optimistic, deprecated and
//!   DAD-failed addresses are told apart.
//! - [`SourceInfo`] carries what RFC 6724 §5 source selection needs
//!   (deprecated, temporary, home, tunnel, prefix length), for
//!   `rfc3484-sort`.
//!
//! # Example
//!
//! Judging a host from a snapshot built by hand (what
//! [`Snapshot::capture`] reads on a live host): IPv4 on `eth0`, and
//! Miredo's Teredo tunnel as the only IPv6.
//!
//! ```
//! use iface_probe::{Address, Family, Interface, LinkKind, Route, Snapshot};
//!
//! let mut eth0 = Interface::new(2, "eth0");
//! eth0.kind = LinkKind::Ethernet;
//! (eth0.up, eth0.running) = (true, true);
//! eth0.addresses.push(Address::new("192.0.2.45".parse()?, 24));
//! let mut teredo = Interface::new(3, "teredo");
//! teredo.kind = LinkKind::Tun;
//! (teredo.up, teredo.running) = (true, true);
//! teredo
//!     .addresses
//!     .push(Address::new("2001:0:4136:e378:8000:63bf:3fff:fdd2".parse()?, 32));
//!
//! let mut default_v4 = Route::new(Family::Ipv4, None);
//! default_v4.oif = Some(2);
//! let mut default_v6 = Route::new(Family::Ipv6, None);
//! default_v6.oif = Some(3);
//!
//! let mut snap = Snapshot::default();
//! snap.interfaces = vec![teredo, eth0];
//! snap.routes = vec![default_v4, default_v6];
//!
//! let caps = snap.capabilities();
//! assert!(caps.ipv4 && caps.teredo && caps.teredo_only && !caps.native_ipv6);
//! let order: Vec<&str> = snap
//!     .interfaces_in_preference_order()
//!     .iter()
//!     .map(|i| i.name.as_str())
//!     .collect();
//! assert_eq!(order, ["eth0", "teredo"]);
//! # Ok::<(), std::net::AddrParseError>(())
//! ```
//!
//! On a live Linux host, with no privileges (`cargo run -p iface-probe
//! --example show -- 2001:db8::1 192.0.2.1` does the same):
//!
//! ```no_run
//! use std::net::IpAddr;
//! use iface_probe::{Snapshot, SourceResolver};
//!
//! let snap = Snapshot::capture()?;
//! println!("{:?}", snap.capabilities());
//! let dests: [IpAddr; 2] = ["2001:db8::1".parse().unwrap(), "192.0.2.1".parse().unwrap()];
//! for (dest, source) in dests.iter().zip(SourceResolver::new()?.sources(&snap, &dests)?) {
//!     match source {
//!         Some(s) => println!("{dest} -> {} via {} ({})", s.addr, s.oif, s.class),
//!         None => println!("{dest} -> unreachable"),
//!     }
//! }
//! # Ok::<(), std::io::Error>(())
//! ```
//!
//! # Features
//!
//! There are no Cargo features. The netlink code is compiled on Linux only;
//! elsewhere the parsers and the snapshot logic still build and the kernel
//! calls fail with [`std::io::ErrorKind::Unsupported`].
//!
//! The netlink socket comes from `netlink-sys`. The crate's `unsafe` code
//! is at the operating-system edge only (`sys`): the `recvmmsg` call that
//! reads many lookup replies at once on Linux, `getifaddrs`, the self-pipe
//! that wakes a waiting view, on macOS and the BSDs the two IPv6 address
//! ioctls and the clock their lifetimes count on, and on Windows the IP
//! Helper calls (through `windows-sys`) and the reads of the records they
//! return, which are copied into plain values that pure code converts.
//!
//! # Platforms
//!
//! | platform | interfaces and addresses | sources and reach | changes | proven by |
//! | --- | --- | --- | --- | --- |
//! | macOS, iOS (tvOS, watchOS, visionOS) | `getifaddrs` (kinds from `IFT_*` types), IPv6 flags and lifetimes from `SIOCGIFAFLAG_IN6` and `SIOCGIFALIFETIME_IN6` | connected UDP sockets | `PF_ROUTE` socket, each change a re-read; the end of DAD by re-reading every 50 ms while an address is tentative | `cargo check`/`clippy`/`doc` for `x86_64-apple-darwin`, `aarch64-apple-darwin`, `aarch64-apple-ios`; layouts asserted at compile time against the `libc` crate (all of them on macOS, the link and address headers on iOS); the [`pfroute`] decoders tested on Linux |
//! | FreeBSD | as macOS | as macOS | as macOS (`RTM_IFANNOUNCE` too) | `cargo check`/`clippy`/`doc` for `x86_64-unknown-freebsd`; every layout asserted at compile time; the decoders tested on Linux |
//! | NetBSD, OpenBSD, DragonFly | as macOS | as macOS | as macOS (NetBSD's `RTM_CHGADDR` and OpenBSD's `RTM_CHGADDRATTR` report the end of DAD) | the decoders tested on Linux on their layouts; the compile-time assertions run only when built for them |
//!
//! NAT64 prefixes from Router Advertisements ([`Snapshot::pref64`]) are
//! read on Linux only; elsewhere the list stays empty and
//! [`HostView::solicit_routers`] returns [`std::io::ErrorKind::Unsupported`].
//!
//! No BSD or Apple system runs these tests: nothing BSD-specific has been
//! run. Where a sandbox refuses a routing socket the view falls back to
//! reading the host every second. Routes are not listed on these systems
//! ([`Snapshot::routes`] is empty): the kernel's answers for the
//! representative destinations stand in for them.
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
mod nat64;
pub mod netlink;
mod network;
pub mod pfroute;
mod reach;
mod snapshot;
mod source;
mod sys;
mod view;
// The Windows backend's records and their conversion: pure, so built and
// tested on every platform.
#[cfg(any(windows, test))]
mod windows_records;

pub use cache::{CacheStats, MAX_CACHED, SourceCache};
pub use model::{
    AddrFlags, Address, Family, Interface, LinkKind, NextHop, OperState, RT_TABLE_MAIN, Route,
    RouteKind,
};
pub use nat64::{
    ND_OPT_PREF64, ND_ROUTER_ADVERT, Pref64, Pref64Error, Pref64Ignored, Pref64Option,
};
pub use network::NetworkId;
pub use reach::{Path, Reach};
pub use snapshot::{Capabilities, Preference, Snapshot};
pub use source::{Dest, SourceInfo, SourceResolver};
pub use sys::Backend;
pub use teredo_addr::{AddrKind, Nat64Prefix};
pub use view::{
    Change, HostView, Ready, Recv, SourcesFuture, Subscription, ViewError, ViewOptions, ViewStats,
    ViewStatus,
};
