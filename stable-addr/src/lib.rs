//! Wait until addresses are stable (preferred: not tentative, optimistic,
//! deprecated or DAD-failed), the equivalent of Windows'
//! [`NotifyStableUnicastIpAddressTable`] on every platform.
//!
//! Windows holds off connecting over a Teredo address until it is stable,
//! and lets applications wait for that. Elsewhere, duplicate address
//! detection (DAD, RFC 4862 §5.4) keeps new IPv6 addresses *tentative* for
//! a second or so, and a socket bound to a tentative address fails with
//! `EADDRNOTAVAIL`; Miredo announces its Teredo address tentative and
//! then, at once, not. This crate waits for that moment without polling
//! and without races: each wait subscribes to a live
//! [`HostView`] (the process's shared one unless
//! you give another), which hands out the whole host first and every
//! change after it, and the pure [`Tracker`] judges each step.
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
//! t.apply(Event::Address { ifindex: 2, ip, prefix_len: 64, flags: AddrFlags::NONE, removed: false });
//! assert!(t.status().is_stable());
//! ```
//!
//! # Standards
//!
//! - The address states are those of IPv6 stateless autoconfiguration:
//!   tentative and duplicate (RFC 4862 §5.4), deprecated (RFC 4862 §5.5.4),
//!   optimistic (RFC 4429), as [`AddrFlags`] carries them whatever the
//!   system.
//! - Teredo addresses are those of RFC 4380 §2.6 (`2001:0::/32`).
//!
//! # Features
//!
//! - `tokio` (default): [`wait_stable_async`], which bounds its wait with
//!   tokio's timer, and [`watch_async`].
//!
//! # Platforms
//!
//! Whatever [`iface_probe`]'s host view reads:
//!
//! | platform | changes from | DAD end seen | proven by |
//! | --- | --- | --- | --- |
//! | Linux, Android | netlink notifications | at once | tests in network namespaces, glibc and musl |
//! | Windows | `NotifyStableUnicastIpAddressTable` for [`Filter::All`] in [`wait_stable`]; `NotifyUnicastIpAddressChange` and the other IP Helper notifications for the rest | at once | tests under Wine 8, which stubs both calls: there `Filter::All` falls back to the view, which polls every second |
//! | macOS, iOS, FreeBSD, other BSDs | `PF_ROUTE` messages | by re-reading the flags every 50 ms while an address is tentative (NetBSD and OpenBSD also announce it) | check, lint and docs for macOS, iOS and FreeBSD; iface-probe's record layouts asserted at compile time against `libc`; its decoders tested on Linux; never run |
//! | other Unix | polling every second | within a second | the portable backend's tests on Linux |
//!
//! [`NotifyStableUnicastIpAddressTable`]: https://learn.microsoft.com/en-us/windows/win32/api/netioapi/nf-netioapi-notifystableunicastipaddresstable

// Only `sys/windows.rs` calls into the system; it allows `unsafe` item by
// item, and nothing else may.
#![deny(unsafe_code)]

mod error;
mod feed;
// Windows' stable-table rows and their conversion: pure, so built and
// tested on every platform.
#[cfg(any(windows, test))]
mod stable_rows;
mod sys;
mod table;
pub mod tracker;
mod wait;
mod watch;

use std::time::Duration;

pub use error::WaitError;
pub use iface_probe::{AddrFlags, HostView};
pub use table::StableTable;
pub use tracker::{
    Event, Failure, FailureReason, Filter, Pending, PendingReason, StableAddr, Status, Tracker,
};
#[cfg(feature = "tokio")]
pub use watch::{AsyncWatch, watch_async, watch_async_on};
pub use watch::{Watch, watch, watch_on};

/// Blocks until the addresses `filter` names are stable, and returns them.
///
/// Returns [`WaitError::Timeout`] with what is still pending once
/// `timeout` has passed, [`WaitError::DadFailed`] as soon as DAD fails for
/// an address the filter needs, [`WaitError::InterfaceRemoved`] when an
/// interface filter's interface goes away, and [`WaitError::Io`] when the
/// host cannot be read. An already-stable table returns at once;
/// `Duration::ZERO` judges the current table without waiting for changes
/// (waiting up to five seconds for the host view's first reading, if it
/// has none yet); `Duration::MAX` waits without limit.
///
/// Waits on the process's shared [`HostView`]: a wait costs no system
/// call of its own. On Windows, [`Filter::All`] asks the system itself
/// instead, with `NotifyStableUnicastIpAddressTable` (both families),
/// which returns the table's preferred addresses; where that call is only
/// a stub (Wine), the host view answers as elsewhere.
pub fn wait_stable(filter: Filter, timeout: Duration) -> Result<StableTable, WaitError> {
    #[cfg(windows)]
    if filter == Filter::All && sys::windows::unusable().is_none() {
        return match sys::windows::wait_all(timeout)? {
            sys::windows::Outcome::Stable(table) => Ok(table),
            sys::windows::Outcome::TimedOut => Err(pending_all()),
        };
    }
    wait::wait_blocking(&HostView::shared(), filter, timeout)
}

/// The timeout of a wait for [`Filter::All`] that the system answered:
/// what the host view's tracker says is pending (a failure it sees is
/// more telling than a timeout, and is returned instead).
#[cfg(windows)]
fn pending_all() -> WaitError {
    match wait::wait_blocking(&HostView::shared(), Filter::All, Duration::ZERO) {
        Err(WaitError::Timeout { pending }) => WaitError::Timeout { pending },
        Ok(_) => WaitError::Timeout {
            pending: Vec::new(),
        },
        Err(other) => other,
    }
}

/// [`wait_stable`] on a view of your own (another backend, another network
/// namespace).
pub fn wait_stable_on(
    view: &HostView,
    filter: Filter,
    timeout: Duration,
) -> Result<StableTable, WaitError> {
    wait::wait_blocking(view, filter, timeout)
}

/// [`wait_stable`] for async code: the same rules, without blocking a
/// thread. Needs a tokio runtime with time enabled, for the timeout.
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
    wait::wait_async(&HostView::shared(), filter, timeout).await
}

/// [`wait_stable_async`] on a view of your own.
#[cfg(feature = "tokio")]
pub async fn wait_stable_async_on(
    view: &HostView,
    filter: Filter,
    timeout: Duration,
) -> Result<StableTable, WaitError> {
    wait::wait_async(view, filter, timeout).await
}
