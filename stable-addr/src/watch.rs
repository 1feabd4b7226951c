//! [`watch`] and [`watch_async`]: a stream of interface and address
//! changes, the `NotifyUnicastIpAddressChange` equivalent.

use std::collections::VecDeque;
use std::io;
use std::iter::FusedIterator;
use std::time::{Duration, Instant};

use iface_probe::{HostView, Subscription};

use crate::feed::events;
use crate::tracker::{Event, Filter, Tracker};
use crate::wait::{FIRST_READING, view_error};

/// Starts watching interfaces and addresses, on the process's shared
/// [`HostView`].
///
/// The returned [`Watch`] first yields the current table (link and address
/// events, then [`Event::Synced`], like `NotifyUnicastIpAddressChange`'s
/// initial notification), then every change as the system reports it.
/// When the watch falls so far behind that changes were dropped, it yields
/// [`Event::Resync`], a fresh table, and [`Event::Synced`] again. Folding
/// the events into a [`Tracker`] (as [`Watch::tracker`] does) gives the
/// current view.
///
/// ```no_run
/// use stable_addr::{Event, watch};
/// for event in watch()? {
///     if let Event::Address { ip, flags, removed: false, .. } = event? {
///         println!("{ip}: tentative={}", flags.tentative());
///     }
/// }
/// # Ok::<(), std::io::Error>(())
/// ```
///
/// # Errors
///
/// When the host view cannot read the host.
pub fn watch() -> io::Result<Watch> {
    watch_on(&HostView::shared())
}

/// [`watch`] on a view of your own (another backend, another network
/// namespace).
///
/// # Errors
///
/// When the view cannot read the host.
pub fn watch_on(view: &HostView) -> io::Result<Watch> {
    let subscription = view
        .subscribe(FIRST_READING)
        .map_err(|e| match view_error(e) {
            crate::WaitError::Io(e) => e,
            other => io::Error::new(io::ErrorKind::TimedOut, other.to_string()),
        })?;
    Ok(Watch {
        inner: Inner::new(subscription),
        failed: false,
    })
}

/// What the blocking and the async watch share: the subscription, the
/// events not handed out yet, and the tracker that has seen them all.
#[derive(Debug)]
struct Inner {
    subscription: Subscription,
    queue: VecDeque<Event>,
    tracker: Tracker,
}

impl Inner {
    fn new(subscription: Subscription) -> Self {
        Self {
            subscription,
            queue: VecDeque::new(),
            tracker: Tracker::new(Filter::All),
        }
    }

    /// Folds a change in and queues its events.
    fn take(
        &mut self,
        item: Result<iface_probe::Change, iface_probe::ViewError>,
    ) -> io::Result<()> {
        let change = item.map_err(io::Error::from)?;
        let start = self.queue.len();
        events(change, &mut self.queue);
        for event in self.queue.range(start..) {
            self.tracker.apply(event.clone());
        }
        Ok(())
    }

    /// The next event, waiting up to `timeout` (`None`: without limit).
    fn next(&mut self, timeout: Option<Duration>) -> io::Result<Option<Event>> {
        let deadline = timeout.and_then(|t| Instant::now().checked_add(t));
        loop {
            if let Some(event) = self.queue.pop_front() {
                return Ok(Some(event));
            }
            let left = match deadline {
                None => None,
                Some(d) => match d.checked_duration_since(Instant::now()) {
                    Some(left) => Some(left),
                    None => return Ok(None),
                },
            };
            match self.subscription.recv_timeout(left) {
                Some(item) => self.take(item)?,
                None => return Ok(None),
            }
        }
    }

    fn is_settled(&self) -> bool {
        self.tracker.is_synced() && self.queue.is_empty()
    }
}

/// Interface and address changes, as [`watch`] describes. Blocking.
#[derive(Debug)]
pub struct Watch {
    inner: Inner,
    failed: bool,
}

impl Watch {
    /// The next event, waiting at most `timeout` for it: `Ok(None)` when
    /// none came in time.
    ///
    /// # Errors
    ///
    /// When the host view failed.
    pub fn next_timeout(&mut self, timeout: Duration) -> io::Result<Option<Event>> {
        self.inner.next(Some(timeout))
    }

    /// Whether every event read has been handed out and the table is whole,
    /// so [`Watch::tracker`] is current.
    pub fn is_settled(&self) -> bool {
        self.inner.is_settled()
    }

    /// Every event read so far (including any not yet handed out) folded
    /// into a [`Tracker`] judging [`Filter::All`](crate::Filter::All);
    /// current when [`Watch::is_settled`].
    pub fn tracker(&self) -> &Tracker {
        &self.inner.tracker
    }
}

impl Iterator for Watch {
    type Item = io::Result<Event>;

    /// Blocks for the next event; after an error the iterator ends.
    fn next(&mut self) -> Option<Self::Item> {
        if self.failed {
            return None;
        }
        match self.inner.next(None) {
            Ok(event) => event.map(Ok),
            Err(e) => {
                self.failed = true;
                Some(Err(e))
            }
        }
    }
}

impl FusedIterator for Watch {}

/// Starts watching interfaces and addresses from async code: the events of
/// [`watch`], in the same order, awaited instead of blocking a thread
/// (on any runtime).
///
/// To use it as a `futures` `Stream`, unfold it:
///
/// ```no_run
/// use futures_util::StreamExt;
/// use stable_addr::{Event, watch_async};
///
/// # async fn f() -> std::io::Result<()> {
/// let watch = watch_async()?;
/// let stream = futures_util::stream::unfold(watch, |mut w| async move {
///     w.next().await.map(|event| (event, w))
/// });
/// let mut stream = std::pin::pin!(stream);
/// while let Some(event) = stream.next().await {
///     if let Event::Address { ip, removed: true, .. } = event? {
///         println!("{ip} is gone");
///     }
/// }
/// # Ok(()) }
/// ```
///
/// # Errors
///
/// When the host view cannot read the host (waiting up to five seconds
/// for its first reading).
#[cfg(feature = "tokio")]
pub fn watch_async() -> io::Result<AsyncWatch> {
    watch_async_on(&HostView::shared())
}

/// [`watch_async`] on a view of your own.
///
/// # Errors
///
/// When the view cannot read the host.
#[cfg(feature = "tokio")]
pub fn watch_async_on(view: &HostView) -> io::Result<AsyncWatch> {
    let watch = watch_on(view)?;
    Ok(AsyncWatch {
        inner: watch.inner,
        failed: false,
    })
}

/// Interface and address changes for async code, as [`watch_async`]
/// describes.
#[cfg(feature = "tokio")]
#[derive(Debug)]
pub struct AsyncWatch {
    inner: Inner,
    failed: bool,
}

#[cfg(feature = "tokio")]
impl AsyncWatch {
    /// The next event; `None` once an error has been returned.
    ///
    /// Cancel-safe: dropping the future (in `tokio::select!` or
    /// `tokio::time::timeout`, say) loses no event, since an item leaves
    /// the subscription only when it is ready to be handed out. So a
    /// timeout is `tokio::time::timeout(d, watch.next())`.
    ///
    /// ```no_run
    /// # async fn f() -> std::io::Result<()> {
    /// use std::time::Duration;
    /// let mut watch = stable_addr::watch_async()?;
    /// while let Ok(Some(event)) = tokio::time::timeout(Duration::from_secs(1), watch.next()).await {
    ///     println!("{:?}", event?);
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn next(&mut self) -> Option<io::Result<Event>> {
        if self.failed {
            return None;
        }
        loop {
            if let Some(event) = self.inner.queue.pop_front() {
                return Some(Ok(event));
            }
            let item = self.inner.subscription.recv().await;
            if let Err(e) = self.inner.take(item) {
                self.failed = true;
                return Some(Err(e));
            }
        }
    }

    /// Whether every event read has been handed out and the table is whole,
    /// so [`AsyncWatch::tracker`] is current.
    pub fn is_settled(&self) -> bool {
        self.inner.is_settled()
    }

    /// Every event read so far (including any not yet handed out) folded
    /// into a [`Tracker`] judging [`Filter::All`](crate::Filter::All);
    /// current when [`AsyncWatch::is_settled`].
    pub fn tracker(&self) -> &Tracker {
        &self.inner.tracker
    }
}
