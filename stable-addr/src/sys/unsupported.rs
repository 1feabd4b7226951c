//! Stand-in for platforms without netlink: every wait fails with
//! [`io::ErrorKind::Unsupported`].

use std::io;
use std::time::Duration;

use crate::{Filter, StableTable, WaitError};

fn unsupported_io() -> io::Error {
    io::Error::new(
        io::ErrorKind::Unsupported,
        "unsupported platform: stable-addr needs linux netlink",
    )
}

fn unsupported() -> WaitError {
    WaitError::Io(unsupported_io())
}

/// Always fails: no netlink here.
pub(crate) fn wait_blocking(_filter: Filter, _timeout: Duration) -> Result<StableTable, WaitError> {
    Err(unsupported())
}

/// Always fails: no netlink here.
#[cfg(feature = "tokio")]
pub(crate) async fn wait_async(
    _filter: Filter,
    _timeout: Duration,
) -> Result<StableTable, WaitError> {
    Err(unsupported())
}

/// Never exists: watching is not possible here.
pub(crate) enum Watcher {}

impl Watcher {
    pub(crate) fn next_event(
        &mut self,
        _timeout: Option<Duration>,
    ) -> io::Result<Option<crate::Event>> {
        match *self {}
    }

    pub(crate) fn is_settled(&self) -> bool {
        match *self {}
    }

    pub(crate) fn tracker(&self) -> &crate::Tracker {
        match *self {}
    }

    #[cfg(feature = "tokio")]
    pub(crate) async fn next_event_async(&mut self) -> io::Result<crate::Event> {
        match *self {}
    }
}

/// Always fails: no netlink here.
pub(crate) fn watcher() -> io::Result<Watcher> {
    Err(unsupported_io())
}
