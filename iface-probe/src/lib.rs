//! A snapshot of this host's interfaces, addresses and routes, read from
//! the kernel over netlink, and what they make the host capable of (IPv4,
//! native IPv6, 6to4, Teredo, Teredo-only).
//!
//! This crate is at its start: the netlink snapshot lands next.

#![forbid(unsafe_code)]
