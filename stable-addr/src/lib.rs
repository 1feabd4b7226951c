//! Wait until addresses are stable (preferred: not tentative, optimistic,
//! deprecated or DAD-failed), the Linux equivalent of Windows'
//! [`NotifyStableUnicastIpAddressTable`].
//!
//! Windows holds off connecting over a Teredo address until it is stable,
//! and lets applications wait for that. On Linux, duplicate address
//! detection (DAD, RFC 4862 §5.4) keeps new IPv6 addresses *tentative*
//! for a second or so, and a socket bound to a tentative address fails
//! with `EADDRNOTAVAIL`; Miredo announces its Teredo address tentative and
//! then, at once, not. This crate waits for that moment over netlink
//! (`RTMGRP_LINK`, `RTMGRP_IPV4_IFADDR`, `RTMGRP_IPV6_IFADDR`), without
//! polling and without races: it subscribes before it reads the current
//! table, and re-reads the table if the kernel ever drops events.
//!
//! [`Filter`] says what to wait for; the [`tracker`] module documents
//! exactly when each filter is stable, pending or failed (a DAD failure
//! or the removal of a watched interface ends the wait with an error
//! rather than a timeout).
//!
//! ```no_run
//! use std::time::Duration;
//! use stable_addr::{Filter, WaitError, wait_stable};
//!
//! match wait_stable(Filter::Teredo, Duration::from_secs(5)) {
//!     Ok(table) => {
//!         for addr in &table {
//!             println!("stable: {addr}");
//!         }
//!     }
//!     Err(WaitError::Timeout { pending }) => eprintln!("still waiting for {pending:?}"),
//!     Err(e) => eprintln!("{e}"),
//! }
//! ```
//!
//! [`watch`] streams the changes themselves (the
//! `NotifyUnicastIpAddressChange` equivalent); `watch_async` (feature
//! `tokio`) does the same for async code.
//!
//! The [`Tracker`] at the core does no I/O: feed it [`Event`]s from any
//! source (a recorded trace, another netlink library) and ask
//! [`Tracker::status`]. This runs anywhere:
//!
//! ```
//! use stable_addr::{AddrFlags, Event, Filter, Status, Tracker};
//!
//! let ip = "2001:db8::1".parse().unwrap();
//! let mut t = Tracker::new(Filter::Address(ip));
//! t.apply(Event::Link { ifindex: 2, name: "eth0".into(), up: true, removed: false });
//! t.apply(Event::Address { ifindex: 2, ip, prefix_len: 64, flags: AddrFlags::TENTATIVE, removed: false });
//! t.apply(Event::Synced);
//! assert!(matches!(t.status(), Status::Pending(_)));
//! t.apply(Event::Address { ifindex: 2, ip, prefix_len: 64, flags: AddrFlags::PREFERRED, removed: false });
//! assert!(t.status().is_stable());
//! ```
//!
//! # Standards
//!
//! - The address states are those of IPv6 stateless autoconfiguration:
//!   tentative and duplicate (RFC 4862 §5.4), deprecated (RFC 4862 §5.5.4),
//!   optimistic (RFC 4429), as Linux reports them in `IFA_F_*` flags.
//! - Teredo addresses are those of RFC 4380 §2.6 (`2001:0::/32`).
//!
//! # Features
//!
//! - `tokio` (default): [`wait_stable_async`] and [`watch_async`], which
//!   wait on tokio's reactor instead of blocking a thread.
//!
//! # Platforms
//!
//! Linux only; elsewhere every wait fails with
//! [`std::io::ErrorKind::Unsupported`] inside [`WaitError::Io`].
//!
//! [`NotifyStableUnicastIpAddressTable`]: https://learn.microsoft.com/en-us/windows/win32/api/netioapi/nf-netioapi-notifystableunicastipaddresstable

// The only unsafe code is the poll(2) call at the OS edge, allowed there.
#![deny(unsafe_code)]

mod error;
mod sys;
mod table;
pub mod tracker;
mod watch;

use std::time::Duration;

pub use error::WaitError;
pub use table::StableTable;
pub use tracker::{
    AddrFlags, Event, Failure, FailureReason, Filter, Pending, PendingReason, StableAddr, Status,
    Tracker,
};
#[cfg(feature = "tokio")]
pub use watch::{AsyncWatch, watch_async};
pub use watch::{Watch, watch};

/// Blocks until the addresses `filter` names are stable, and returns them.
///
/// Returns [`WaitError::Timeout`] with what is still pending once
/// `timeout` has passed, [`WaitError::DadFailed`] as soon as DAD fails for
/// an address the filter needs, [`WaitError::InterfaceRemoved`] when an
/// interface filter's interface goes away, and [`WaitError::Io`] when
/// netlink fails. An already-stable table returns at once;
/// `Duration::ZERO` reads the current table and judges it without waiting
/// for changes; `Duration::MAX` waits without limit.
pub fn wait_stable(filter: Filter, timeout: Duration) -> Result<StableTable, WaitError> {
    sys::wait_blocking(filter, timeout)
}

/// [`wait_stable`] for async code: the same rules, waiting on tokio's
/// reactor. Needs a tokio runtime with I/O and time enabled.
///
/// ```no_run
/// # async fn f() -> Result<(), stable_addr::WaitError> {
/// use std::time::Duration;
/// let table = stable_addr::wait_stable_async(
///     stable_addr::Filter::InterfaceName("eth0".into()),
///     Duration::from_secs(3),
/// )
/// .await?;
/// println!("{} stable address(es) on eth0", table.len());
/// # Ok(()) }
/// ```
#[cfg(feature = "tokio")]
pub async fn wait_stable_async(
    filter: Filter,
    timeout: Duration,
) -> Result<StableTable, WaitError> {
    sys::wait_async(filter, timeout).await
}
