//! Stand-in for platforms without netlink: every wait fails with
//! [`io::ErrorKind::Unsupported`].

use std::io;
use std::time::Duration;

use crate::{Filter, StableTable, WaitError};

fn unsupported() -> WaitError {
    WaitError::Io(io::Error::new(
        io::ErrorKind::Unsupported,
        "unsupported platform: stable-addr needs linux netlink",
    ))
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
