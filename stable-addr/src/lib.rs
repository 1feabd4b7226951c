//! Wait until addresses are stable (preferred, not tentative), the Linux
//! equivalent of Windows' `NotifyStableUnicastIpAddressTable`.
//!
//! This crate is at its start: the tracker and the netlink waiter land
//! with the `iface-probe` snapshot.

#![forbid(unsafe_code)]
