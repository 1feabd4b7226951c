//! Decode, encode and classify the IPv6 transition addresses that decide
//! how good a path is: Teredo (RFC 4380, RFC 5991), 6to4 (RFC 3056),
//! NAT64 (RFC 6052, RFC 8215), ISATAP (RFC 5214), IPv4-mapped and
//! IPv4-compatible addresses, plus the scope of any address (RFC 4291
//! §2.5-2.7, RFC 6724 §3.2 for IPv4).
//!
//! The crate is `no_std`, has no dependencies and contains no `unsafe`.

#![no_std]
#![forbid(unsafe_code)]

#[cfg(test)]
extern crate std;

mod scope;

pub use scope::{Scope, scope};
