//! Decode, encode and classify the IPv6 transition addresses that decide
//! how good a path is, plus the scope of any address.
//!
//! | What | Where | Items |
//! |------|-------|-------|
//! | Teredo | RFC 4380 §4, flags per RFC 5991 | [`TeredoAddr`], [`TeredoFlags`], [`is_teredo`] |
//! | 6to4 | RFC 3056 §2 | [`sixtofour_ipv4`], [`sixtofour_prefix`] |
//! | NAT64 | RFC 6052 §2, RFC 8215, RFC 7050 §3 | [`Nat64Prefix`] (embed, extract, [`find_embedding`](Nat64Prefix::find_embedding)), [`classify_with_nat64`] |
//! | ISATAP | RFC 5214 §6.1 | [`isatap_ipv4`], [`isatap_addr`] |
//! | IPv4-mapped and IPv4-compatible | RFC 4291 §2.5.5 | [`ipv4_mapped`], [`ipv4_compatible`] |
//! | Special-purpose blocks | RFC 4291, RFC 6890 and others | [`classify`], [`AddrKind`] |
//! | Scope | RFC 4291 §2.5-2.7, RFC 6724 §3.2 | [`scope`], [`Scope`] |
//!
//! Decoding never fails on a well-formed address of the right prefix, and
//! encoding then decoding (or the reverse) gives back exactly what went in.
//!
//! # Example
//!
//! ```
//! use std::net::Ipv4Addr;
//! use teredo_addr::{AddrKind, TeredoAddr, classify};
//!
//! // The example address of RFC 4380 §4.
//! let teredo: TeredoAddr = "2001:0:4136:e378:8000:63bf:3fff:fdd2".parse()?;
//! assert_eq!(teredo.server(), Ipv4Addr::new(65, 54, 227, 120));
//! assert_eq!(teredo.client(), Ipv4Addr::new(192, 0, 2, 45));
//! assert_eq!(teredo.port(), 40000);
//! assert!(teredo.is_cone());
//!
//! // Encoding the same parts gives the same address back.
//! let again = TeredoAddr::new(teredo.server(), teredo.client(), 40000, teredo.flags());
//! assert_eq!(again, teredo);
//!
//! let kind = classify(teredo.into());
//! assert_eq!(kind, AddrKind::Teredo);
//! assert!(kind.is_tunnel());
//! assert_eq!(classify("2002:c000:22a::1".parse()?).name(), "6to4");
//! assert_eq!(classify("64:ff9b::192.0.2.33".parse()?).name(), "nat64");
//! assert_eq!(classify("10.1.2.3".parse()?).name(), "ipv4-private");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # Features
//!
//! There are no Cargo features. The crate is `no_std` without `alloc`, has
//! no dependencies and contains no `unsafe`. Errors keep the text they
//! rejected (up to 64 bytes) in a fixed buffer, [`InputText`], so messages
//! can name it.

#![no_std]
#![forbid(unsafe_code)]

#[cfg(test)]
extern crate std;

mod classify;
mod embedded;
mod error;
mod isatap;
mod nat64;
mod scope;
mod sixtofour;
mod teredo;

pub use classify::{AddrKind, classify, classify_v4, classify_v6, classify_with_nat64};
pub use embedded::{ipv4_compatible, ipv4_mapped};
pub use error::{InputText, Nat64PrefixError, ParseTeredoError};
pub use isatap::{is_isatap, isatap_addr, isatap_interface_id, isatap_ipv4, isatap_is_universal};
pub use nat64::{FindEmbedding, Nat64Prefix};
pub use scope::{Scope, scope};
pub use sixtofour::{
    SIXTOFOUR_PREFIX, SIXTOFOUR_PREFIX_LEN, is_sixtofour, sixtofour_ipv4, sixtofour_prefix,
};
pub use teredo::{
    TEREDO_PREFIX, TEREDO_PREFIX_LEN, TEREDO_SERVER_PORT, TeredoAddr, TeredoFlags, is_teredo,
};
