//! [`watch`] and [`watch_async`]: a stream of interface and address
//! changes, the `NotifyUnicastIpAddressChange` equivalent.

use std::io;
use std::iter::FusedIterator;
use std::time::Duration;

use crate::sys;
use crate::tracker::{Event, Tracker};

/// Starts watching interfaces and addresses.
///
/// The returned [`Watch`] first yields the current table (link and address
/// events, then [`Event::Synced`], like `NotifyUnicastIpAddressChange`'s
/// initial notification), then every change as the kernel reports it.
/// When the kernel drops changes (a netlink overrun) it yields
/// [`Event::Resync`], a fresh table, and [`Event::Synced`] again. Folding
/// the events into a [`Tracker`] (as [`Watch::tracker`] does) gives the
/// current view.
///
/// Changes are read from two sockets (events, and the dump), so between
/// two reads an older event may follow a newer dump entry; the view is
/// current whenever [`Watch::is_settled`] says so.
///
/// ```no_run
/// use stable_addr::{Event, watch};
/// for event in watch()? {
///     if let Event::Address { ip, flags, removed: false, .. } = event? {
///         println!("{ip}: tentative={}", flags.tentative);
///     }
/// }
/// # Ok::<(), std::io::Error>(())
/// ```
pub fn watch() -> io::Result<Watch> {
    sys::watcher().map(Watch::new)
}

/// Interface and address changes, as [`watch`] describes. Blocking.
pub struct Watch {
    watcher: sys::Watcher,
    failed: bool,
}

impl Watch {
    const fn new(watcher: sys::Watcher) -> Self {
        Self {
            watcher,
            failed: false,
        }
    }

    /// The next event, waiting at most `timeout` for it: `Ok(None)` when
    /// none came in time.
    pub fn next_timeout(&mut self, timeout: Duration) -> io::Result<Option<Event>> {
        self.watcher.next_event(Some(timeout))
    }

    /// Whether every event read has been handed out and the table is whole
    /// (no dump in progress), so [`Watch::tracker`] is current.
    pub fn is_settled(&self) -> bool {
        self.watcher.is_settled()
    }

    /// Every event read so far (including any not yet handed out) folded
    /// into a [`Tracker`] judging [`Filter::All`](crate::Filter::All);
    /// current when [`Watch::is_settled`].
    pub fn tracker(&self) -> &Tracker {
        self.watcher.tracker()
    }
}

impl Iterator for Watch {
    type Item = io::Result<Event>;

    /// Blocks for the next event; after an error the iterator ends.
    fn next(&mut self) -> Option<Self::Item> {
        if self.failed {
            return None;
        }
        match self.watcher.next_event(None) {
            Ok(event) => event.map(Ok),
            Err(e) => {
                self.failed = true;
                Some(Err(e))
            }
        }
    }
}

impl FusedIterator for Watch {}

impl std::fmt::Debug for Watch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Watch")
            .field("settled", &self.is_settled())
            .finish_non_exhaustive()
    }
}

/// Starts watching interfaces and addresses from async code: the events of
/// [`watch`], in the same order, awaited on tokio's reactor instead of
/// blocking a thread.
///
/// Creating the watch needs no runtime; [`AsyncWatch::next`] needs one
/// with I/O enabled. To use it as a `futures` `Stream`, unfold it:
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
#[cfg(feature = "tokio")]
pub fn watch_async() -> io::Result<AsyncWatch> {
    sys::watcher().map(|watcher| AsyncWatch {
        watcher,
        failed: false,
    })
}

/// Interface and address changes for async code, as [`watch_async`]
/// describes.
#[cfg(feature = "tokio")]
pub struct AsyncWatch {
    watcher: sys::Watcher,
    failed: bool,
}

#[cfg(feature = "tokio")]
impl AsyncWatch {
    /// The next event; `None` once an error has been returned.
    ///
    /// Cancel-safe: dropping the future (in `tokio::select!` or
    /// `tokio::time::timeout`, say) loses no event, since events are read
    /// and queued before any wait. So a timeout is
    /// `tokio::time::timeout(d, watch.next())`.
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
        match self.watcher.next_event_async().await {
            Ok(event) => Some(Ok(event)),
            Err(e) => {
                self.failed = true;
                Some(Err(e))
            }
        }
    }

    /// Whether every event read has been handed out and the table is whole
    /// (no dump in progress), so [`AsyncWatch::tracker`] is current.
    pub fn is_settled(&self) -> bool {
        self.watcher.is_settled()
    }

    /// Every event read so far (including any not yet handed out) folded
    /// into a [`Tracker`] judging [`Filter::All`](crate::Filter::All);
    /// current when [`AsyncWatch::is_settled`].
    pub fn tracker(&self) -> &Tracker {
        self.watcher.tracker()
    }
}

#[cfg(feature = "tokio")]
impl std::fmt::Debug for AsyncWatch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AsyncWatch")
            .field("settled", &self.is_settled())
            .finish_non_exhaustive()
    }
}
