//! The connector's side of the host view: what one connect knows of the
//! host, read without blocking once the view is up.

use std::sync::Arc;
use std::time::Duration;

use iface_probe::{HostView, Snapshot};

/// What one connect knows of the host.
#[derive(Debug, Clone, Default)]
pub(crate) struct HostState {
    /// The view's snapshot, when it has one.
    pub(crate) snapshot: Option<Arc<Snapshot>>,
    /// Why there is none.
    pub(crate) unavailable: Option<String>,
}

/// The host as the view has it: one atomic load when the view is up; on a
/// process's first connect, a wait of at most `first_reading` for the
/// view's first reading of the host; an unavailable view answers at once,
/// with its reason (it retries on its own after a back-off).
pub(crate) async fn state(view: &HostView, first_reading: Duration) -> HostState {
    if let Some(snapshot) = view.snapshot() {
        return HostState {
            snapshot: Some(snapshot),
            unavailable: None,
        };
    }
    match tokio::time::timeout(first_reading, view.ready()).await {
        Ok(Ok(snapshot)) => HostState {
            snapshot: Some(snapshot),
            unavailable: None,
        },
        Ok(Err(err)) => HostState {
            snapshot: None,
            unavailable: Some(err.to_string()),
        },
        Err(_) => HostState {
            snapshot: None,
            unavailable: Some(format!(
                "the host view had not read the host after {first_reading:?}"
            )),
        },
    }
}
