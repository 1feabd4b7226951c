//! RFC 6724 / RFC 3484 default address selection: which destination
//! address to try first, why, and which source address to use.
//!
//! A name resolves to several addresses: native IPv6, 6to4, Teredo,
//! IPv4... This crate orders them the way an RFC 6724 host does, against a
//! policy table:
//!
//! - [`Policy`] holds the policy tables of RFC 6724 §2.1 (the default),
//!   RFC 3484 §2.1, Windows Vista / 7, glibc, or a glibc `gai.conf` file,
//!   together with the IPv4 scope table (RFC 6724 §3.2, RFC 3484 §3.2).
//! - [`sort`] orders destinations by the rules of RFC 6724 §6 (RFC 3484 §6
//!   for the RFC 3484 and Windows policies), [`compare`] compares two and
//!   says which [`Rule`] decided, and [`explain`] gives the rule behind
//!   each adjacent pair of a sorted list.
//! - [`select_source`] picks a source address by RFC 6724 §5 rules 1-8.
//!
//! # Example
//!
//! A Teredo, an IPv4 and a native IPv6 destination, ordered by the
//! Windows table: native IPv6, then IPv4, then Teredo.
//!
//! ```
//! use rfc3484_sort::{sort, explain, Destination, Policy, Rule, SourceAttrs};
//!
//! let ip = |s: &str| s.parse::<std::net::IpAddr>().unwrap();
//! let native = SourceAttrs::default();
//! let tunnel = SourceAttrs { tunnel: true, ..SourceAttrs::default() };
//! let mut dests = [
//!     // Teredo (2001::/32), reached from the host's Teredo address.
//!     Destination::with_source(ip("2001:0:4136:e378::1"), ip("2001:0:4136:e378::2"), tunnel),
//!     Destination::with_source(ip("192.0.2.1"), ip("192.168.1.10"), native),
//!     Destination::with_source(ip("2001:db8::1"), ip("2001:db8::2"), native),
//! ];
//! let policy = Policy::windows();
//! sort(&policy, &mut dests);
//! let order: Vec<_> = dests.iter().map(|d| d.addr.to_string()).collect();
//! assert_eq!(order, ["2001:db8::1", "192.0.2.1", "2001:0:4136:e378::1"]);
//! assert_eq!(explain(&policy, &dests), [Rule::HigherPrecedence, Rule::HigherPrecedence]);
//!
//! // glibc's built-in table has no `2001::/32` precedence row: Teredo gets
//! // `::/0`'s 40 and goes before IPv4 (10).
//! sort(&Policy::glibc(), &mut dests);
//! let order: Vec<_> = dests.iter().map(|d| d.addr.to_string()).collect();
//! assert_eq!(order, ["2001:db8::1", "2001:0:4136:e378::1", "192.0.2.1"]);
//! ```
//!
//! [`Policy::from_gai_conf`] reads `/etc/gai.conf`, where a glibc system
//! can fix that order.
//!
//! # Features
//!
//! There are no Cargo features. The crate is `no_std` with `alloc` and has
//! no `unsafe` code. Building a [`Policy`] allocates; sorting up to
//! [`SORT_INLINE_CAPACITY`] destinations does not.

#![no_std]
#![forbid(unsafe_code)]

extern crate alloc;

mod dest;
mod gai;
mod policy;
mod source;

pub use dest::{
    Destination, Rule, SORT_INLINE_CAPACITY, Source, SourceAttrs, compare, explain, sort,
};
pub use gai::GaiConfError;
pub use policy::{Policy, PolicyEntry, Scopev4Entry};
pub use source::{SourceCandidate, select_source, select_source_with};
