//! macOS, iOS and the BSDs: `getifaddrs` for interfaces and addresses,
//! connected UDP sockets for the kernel's source addresses.

use std::io;
use std::time::Duration;

pub(crate) use super::portable::{Lookups, Notifier};
use crate::snapshot::Snapshot;

/// The backend's name.
pub(crate) const NAME: &str = "bsd";
/// Not told when DAD ends.
pub(crate) const REPORTS_DAD: bool = false;
/// Reads the host again on its own.
pub(crate) const POLLS_EVERY: Option<Duration> = Some(super::portable::POLL_INTERVAL);

/// Reads the interfaces and asks for the representative destinations.
pub(crate) fn capture() -> io::Result<Snapshot> {
    super::portable::capture()
}
