//! The waits: a subscription to a host view folded into a [`Tracker`]
//! until it says stable or failed, or time runs out.

use std::time::{Duration, Instant};

use iface_probe::{HostView, Subscription, ViewError};

use crate::feed::events;
use crate::tracker::{Event, Filter, Pending, PendingReason, Status, Tracker};
use crate::{StableTable, WaitError};

/// The longest a zero-timeout wait waits for a host view's first reading:
/// "judge the current table" needs one.
pub(crate) const FIRST_READING: Duration = Duration::from_secs(5);

/// The error for a view that has no table to judge.
pub(crate) fn view_error(err: ViewError) -> WaitError {
    match err {
        ViewError::Timeout => WaitError::Timeout {
            pending: vec![Pending {
                ifindex: None,
                ifname: None,
                ip: None,
                reason: PendingReason::Syncing,
            }],
        },
        other => WaitError::Io(other.into()),
    }
}

/// The subscription a wait reads, once the view is ready (waiting up to
/// `timeout`, and for a zero timeout up to [`FIRST_READING`]).
pub(crate) fn subscribe(view: &HostView, timeout: Duration) -> Result<Subscription, WaitError> {
    let ready = if timeout.is_zero() {
        FIRST_READING
    } else {
        timeout
    };
    view.subscribe(ready).map_err(view_error)
}

/// A tracker fed from a subscription.
pub(crate) struct Feeder {
    pub(crate) tracker: Tracker,
    events: Vec<Event>,
}

impl Feeder {
    pub(crate) fn new(filter: Filter) -> Self {
        Self {
            tracker: Tracker::new(filter),
            events: Vec::new(),
        }
    }

    /// Folds in everything queued, then judges: `Some` when the wait is
    /// over.
    pub(crate) fn round(
        &mut self,
        sub: &mut Subscription,
    ) -> Option<Result<StableTable, WaitError>> {
        while let Some(item) = sub.try_recv() {
            if let Err(e) = self.feed(item) {
                return Some(Err(e));
            }
        }
        match self.tracker.status() {
            Status::Stable(addrs) => Some(Ok(StableTable::new(addrs))),
            Status::Failed(failed) => Some(Err(WaitError::from_failures(failed))),
            Status::Pending(_) => None,
        }
    }

    /// Folds one item in.
    pub(crate) fn feed(
        &mut self,
        item: Result<iface_probe::Change, ViewError>,
    ) -> Result<(), WaitError> {
        let change = item.map_err(|e| WaitError::Io(e.into()))?;
        events(change, &mut self.events);
        for event in self.events.drain(..) {
            self.tracker.apply(event);
        }
        Ok(())
    }

    /// The timeout's error, with what is still pending.
    pub(crate) fn timeout(&self) -> WaitError {
        match self.tracker.status() {
            Status::Pending(pending) => WaitError::Timeout { pending },
            // Judged pending a moment ago; the first item came too late.
            _ => WaitError::Timeout {
                pending: Vec::new(),
            },
        }
    }
}

/// The blocking wait.
pub(crate) fn wait_blocking(
    view: &HostView,
    filter: Filter,
    timeout: Duration,
) -> Result<StableTable, WaitError> {
    let deadline = Instant::now().checked_add(timeout);
    let mut sub = subscribe(view, timeout)?;
    let mut feeder = Feeder::new(filter);
    loop {
        if let Some(done) = feeder.round(&mut sub) {
            return done;
        }
        let left = match deadline {
            None => None,
            Some(deadline) => match deadline.checked_duration_since(Instant::now()) {
                Some(left) if !left.is_zero() => Some(left),
                _ => return Err(feeder.timeout()),
            },
        };
        match sub.recv_timeout(left) {
            Some(item) => feeder.feed(item)?,
            None => return Err(feeder.timeout()),
        }
    }
}

/// The async wait, with tokio's timer.
#[cfg(feature = "tokio")]
pub(crate) async fn wait_async(
    view: &HostView,
    filter: Filter,
    timeout: Duration,
) -> Result<StableTable, WaitError> {
    let deadline = Instant::now().checked_add(timeout);
    let ready = if timeout.is_zero() {
        FIRST_READING
    } else {
        timeout
    };
    match tokio::time::timeout(ready, view.ready()).await {
        Ok(Ok(_)) => {}
        Ok(Err(e)) => return Err(view_error(e)),
        Err(_) => return Err(view_error(ViewError::Timeout)),
    }
    let mut sub = view.subscribe(ready).map_err(view_error)?;
    let mut feeder = Feeder::new(filter);
    loop {
        if let Some(done) = feeder.round(&mut sub) {
            return done;
        }
        let item = match deadline {
            None => sub.recv().await,
            Some(deadline) => {
                let left = deadline.saturating_duration_since(Instant::now());
                if left.is_zero() {
                    return Err(feeder.timeout());
                }
                match tokio::time::timeout(left, sub.recv()).await {
                    Ok(item) => item,
                    Err(_) => return Err(feeder.timeout()),
                }
            }
        };
        feeder.feed(item)?;
    }
}
