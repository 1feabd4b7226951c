//! A live view of the host, shared by everything in the process that needs
//! one: a watcher thread follows the system's change notifications and
//! keeps an immutable [`Snapshot`] current, readers take it with one atomic
//! load, source lookups for new destinations are batched on a thread of
//! their own and cached until the next change, and subscribers get every
//! change in order.
//!
//! ```no_run
//! use std::time::Duration;
//! use iface_probe::{Dest, HostView};
//!
//! let view = HostView::shared();
//! let snapshot = view.wait_ready(Duration::from_secs(1))?;
//! println!("{:?}", snapshot.capabilities());
//! let dest = Dest::from("2001:db8::1".parse::<std::net::IpAddr>().unwrap());
//! let sources = view.sources_blocking(&[dest])?;
//! println!("{:?}", sources[0]);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # Costs
//!
//! - [`HostView::snapshot`] and a cache hit in [`HostView::cached_sources`]
//!   take no lock and make no system call.
//! - A change costs the watcher a copy of the snapshot and, on Linux, the
//!   kernel's answers for the four representative destinations; notices
//!   are folded in as they come, so a change never re-reads the whole host
//!   (only lost notices do). An interface that goes down or away, or an
//!   IPv4 address that goes, costs a dump of the IPv4 routes too, and
//!   another a moment later: Linux flushes the routes that went with it
//!   without a notice for each, after the notice of the change.
//! - Source lookups for destinations not in the cache go to the kernel in
//!   batches: lookups from concurrent callers that arrive while a batch
//!   runs go together in the next one. The cache starts over on every
//!   change, and on every whole reading of the host (lost notices,
//!   [`HostView::refresh`], each poll of a backend without notifications),
//!   since what the reading cannot see (policy rules, settings) may have
//!   changed the kernel's answers.
//!
//! # Failure
//!
//! When the view cannot start (no descriptors left, a sandbox without
//! netlink) or its notifications fail, it is *unavailable*: readers get
//! no snapshot, [`HostView::status`] says why, and the view starts again on
//! the first use after a back-off (100 ms, doubling up to 30 s by
//! default), so that one bad moment does not disable it for good.

mod change;
mod lookup;
mod subscription;
mod watcher;

use std::fmt;
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, OnceLock, PoisonError, Weak};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use arc_swap::{ArcSwap, ArcSwapOption};

pub use change::Change;
pub use lookup::SourcesFuture;
pub use subscription::{Recv, Subscription};

use crate::snapshot::Snapshot;
use crate::source::{Dest, SourceInfo};
use crate::sys::{Backend, Interrupter};
use lookup::{LookupRequest, SourceTable};
use subscription::Queue;

/// How a [`HostView`] starts and recovers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct ViewOptions {
    /// Which implementation reads the host.
    pub backend: Backend,
    /// The first wait before starting again after a failure.
    pub retry_min: Duration,
    /// The longest wait between attempts; the wait doubles up to this.
    pub retry_max: Duration,
    /// The notification socket's receive buffer, made small by tests to
    /// make the kernel drop notices.
    pub(crate) notify_buffer: Option<usize>,
}

impl Default for ViewOptions {
    fn default() -> Self {
        Self {
            backend: Backend::Native,
            retry_min: Duration::from_millis(100),
            retry_max: Duration::from_secs(30),
            notify_buffer: None,
        }
    }
}

impl ViewOptions {
    /// The defaults with another backend.
    pub fn with_backend(backend: Backend) -> Self {
        Self {
            backend,
            ..Self::default()
        }
    }
}

/// Where a [`HostView`] stands.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ViewStatus {
    /// The first reading of the host is under way.
    Starting,
    /// A snapshot is published and kept current.
    Ready,
    /// The view could not start, or stopped; it starts again on the first
    /// use after `retry_in`.
    Unavailable {
        /// What went wrong, as the system said it.
        reason: String,
        /// How long until the next attempt (zero: the next use retries).
        retry_in: Duration,
    },
}

impl fmt::Display for ViewStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Starting => f.write_str("starting"),
            Self::Ready => f.write_str("ready"),
            Self::Unavailable { reason, retry_in } => {
                write!(f, "unavailable ({reason}); next attempt in {retry_in:?}")
            }
        }
    }
}

/// Why a [`HostView`] has no snapshot to give.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ViewError {
    /// The view could not read the host; see [`ViewStatus::Unavailable`].
    Unavailable {
        /// What went wrong.
        reason: String,
    },
    /// The first reading did not finish in time.
    Timeout,
}

impl fmt::Display for ViewError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Unavailable { reason } => write!(f, "host view unavailable: {reason}"),
            Self::Timeout => f.write_str("host view not ready in time"),
        }
    }
}

impl std::error::Error for ViewError {}

impl From<ViewError> for io::Error {
    fn from(err: ViewError) -> Self {
        let kind = match err {
            ViewError::Timeout => io::ErrorKind::TimedOut,
            ViewError::Unavailable { .. } => io::ErrorKind::Other,
        };
        Self::new(kind, err)
    }
}

/// Counters of what a [`HostView`] asked the system, since it was made.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct ViewStats {
    /// Whole readings of the host (the first, and after lost notices).
    pub captures: u64,
    /// Batches of source lookups sent to the kernel.
    pub lookup_batches: u64,
    /// Destinations looked up (after removing duplicates within a batch).
    pub lookups: u64,
    /// Source lookups answered from the cache.
    pub cache_hits: u64,
    /// Asks for the representative destinations after a change.
    pub reach_probes: u64,
    /// Notices read from the system.
    pub notices: u64,
    /// Snapshots published.
    pub publications: u64,
    /// Times the view started (1, plus one per recovery).
    pub starts: u64,
}

#[derive(Debug, Default)]
struct Counters {
    captures: AtomicU64,
    lookup_batches: AtomicU64,
    lookups: AtomicU64,
    /// Counted on every connect's read path: striped, so that threads
    /// connecting at once do not pass one cache line between them.
    cache_hits: Striped,
    reach_probes: AtomicU64,
    notices: AtomicU64,
    publications: AtomicU64,
    starts: AtomicU64,
}

impl Counters {
    fn add(counter: &AtomicU64, n: u64) {
        counter.fetch_add(n, Ordering::Relaxed);
    }
}

/// Stripes of a [`Striped`] counter.
const STRIPES: usize = 8;

/// A counter each thread adds to in a stripe (a cache line) of its own,
/// as far as there are stripes; the total is their sum.
#[derive(Debug, Default)]
struct Striped([Stripe; STRIPES]);

#[derive(Debug, Default)]
#[repr(align(128))]
struct Stripe(AtomicU64);

impl Striped {
    fn add(&self, n: u64) {
        static NEXT: AtomicU64 = AtomicU64::new(0);
        thread_local! {
            static STRIPE: usize = (NEXT.fetch_add(1, Ordering::Relaxed) as usize) % STRIPES;
        }
        let i = STRIPE.try_with(|s| *s).unwrap_or(0);
        self.0[i].0.fetch_add(n, Ordering::Relaxed);
    }

    fn get(&self) -> u64 {
        self.0
            .iter()
            .fold(0, |sum, s| sum.wrapping_add(s.0.load(Ordering::Relaxed)))
    }
}

/// The watcher's life.
#[derive(Debug)]
enum State {
    /// A watcher thread is reading the host for the first time.
    Starting,
    /// A snapshot is published.
    Running,
    /// The last attempt failed; the next may start at `retry_at`.
    Failed { reason: String, retry_at: Instant },
}

/// What the watcher, the subscribers and the waiters share, behind one
/// lock that the read path never takes.
#[derive(Debug)]
struct Control {
    state: State,
    /// Which start the running watcher belongs to: a watcher of an older
    /// epoch has been replaced and must stop.
    epoch: u64,
    /// Cuts the running watcher's wait short.
    interrupter: Option<Interrupter>,
    subscribers: Vec<Weak<Queue>>,
    /// Async callers of [`HostView::ready`].
    waiters: Vec<std::task::Waker>,
    /// The wait after the next failure: the minimum, doubled by each
    /// failure in a row, reset by a success.
    backoff: Duration,
}

/// Everything behind a [`HostView`].
#[derive(Debug)]
pub(crate) struct Shared {
    options: ViewOptions,
    current: ArcSwapOption<Snapshot>,
    sources: ArcSwap<SourceTable>,
    control: Mutex<Control>,
    changed: Condvar,
    requests: std::sync::mpsc::Sender<LookupRequest>,
    /// Set by [`HostView::refresh`]: the watcher reads the whole host again.
    resync: std::sync::atomic::AtomicBool,
    counters: Counters,
}

impl Shared {
    fn control(&self) -> MutexGuard<'_, Control> {
        self.control.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl Drop for Shared {
    fn drop(&mut self) {
        // The watcher holds only a weak reference: woken, it finds the
        // view gone and ends. The lookup thread ends with the channel.
        let control = self
            .control
            .get_mut()
            .unwrap_or_else(PoisonError::into_inner);
        if let Some(interrupter) = &control.interrupter {
            interrupter.interrupt();
        }
    }
}

/// A live view of the host, shared by everything in the process that
/// needs one: a watcher thread follows the system's change notifications
/// and keeps an immutable [`Snapshot`] current, readers take it with one
/// atomic load, source lookups are batched and cached until the next
/// change, and subscribers get every change in order. When it cannot read
/// the host it is unavailable ([`HostView::status`] says why) and starts
/// again on the next use after a back-off. Cheap to clone; clones share
/// one watcher.
#[derive(Clone)]
pub struct HostView {
    shared: Arc<Shared>,
}

impl fmt::Debug for HostView {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HostView")
            .field("backend", &self.shared.options.backend)
            .field("status", &self.status())
            .finish_non_exhaustive()
    }
}

impl HostView {
    /// The shared view on the native backend, started on first use. Every
    /// connector and wait uses it unless given another.
    ///
    /// On Linux there is one per network namespace: a thread that has
    /// entered another namespace (`setns`) gets that namespace's view. The
    /// view of the namespace the process started in lives as long as the
    /// process; another namespace's lives as long as someone holds it.
    pub fn shared() -> Self {
        static HOME: OnceLock<(Option<u64>, HostView)> = OnceLock::new();
        static OTHERS: Mutex<Vec<(u64, Weak<Shared>)>> = Mutex::new(Vec::new());
        let here = netns_id();
        let (home_ns, home) = HOME.get_or_init(|| (here, Self::new()));
        let Some(here) = here.filter(|id| Some(*id) != *home_ns) else {
            return home.clone();
        };
        let mut others = OTHERS.lock().unwrap_or_else(PoisonError::into_inner);
        others.retain(|(_, weak)| weak.strong_count() > 0);
        if let Some(shared) = others
            .iter()
            .find(|(id, _)| *id == here)
            .and_then(|(_, weak)| weak.upgrade())
        {
            return Self { shared };
        }
        let view = Self::new();
        others.push((here, Arc::downgrade(&view.shared)));
        view
    }

    /// A view of its own, on the native backend. A view made on a thread
    /// that has entered another network namespace watches that namespace.
    pub fn new() -> Self {
        Self::with_options(ViewOptions::default())
    }

    /// A view of its own, with `options`.
    pub fn with_options(options: ViewOptions) -> Self {
        let (requests, rx) = std::sync::mpsc::channel();
        let shared = Arc::new(Shared {
            options,
            current: ArcSwapOption::empty(),
            sources: ArcSwap::from_pointee(SourceTable::new(0)),
            control: Mutex::new(Control {
                state: State::Starting,
                epoch: 0,
                interrupter: None,
                subscribers: Vec::new(),
                waiters: Vec::new(),
                backoff: options.retry_min,
            }),
            changed: Condvar::new(),
            requests,
            resync: std::sync::atomic::AtomicBool::new(false),
            counters: Counters::default(),
        });
        lookup::spawn(Arc::downgrade(&shared), rx, options.backend);
        watcher::start(&shared, &mut shared.control());
        Self { shared }
    }

    /// The backend this view reads the host with.
    pub fn backend(&self) -> Backend {
        self.shared.options.backend
    }

    /// The current snapshot: one atomic load, no lock, no system call.
    /// `None` while the view starts or is unavailable (a due restart is
    /// begun then).
    pub fn snapshot(&self) -> Option<Arc<Snapshot>> {
        let current = self.shared.current.load_full();
        if current.is_none() {
            self.restart_if_due();
        }
        current
    }

    /// Calls `f` with the current snapshot, borrowed: like
    /// [`snapshot`](Self::snapshot), without taking a reference of its own
    /// (whose count every thread would write), for a caller that needs the
    /// snapshot only for a moment.
    ///
    /// ```no_run
    /// let view = iface_probe::HostView::shared();
    /// let teredo_only = view.with_snapshot(|s| s.is_some_and(|s| s.capabilities().teredo_only));
    /// # let _ = teredo_only;
    /// ```
    #[inline]
    pub fn with_snapshot<R>(&self, f: impl FnOnce(Option<&Arc<Snapshot>>) -> R) -> R {
        let current = self.shared.current.load();
        if current.is_none() {
            drop(current);
            self.restart_if_due();
            return f(None);
        }
        f(current.as_ref())
    }

    /// Where the view stands.
    pub fn status(&self) -> ViewStatus {
        self.restart_if_due();
        match &self.shared.control().state {
            State::Starting => ViewStatus::Starting,
            State::Running => ViewStatus::Ready,
            State::Failed { reason, retry_at } => ViewStatus::Unavailable {
                reason: reason.clone(),
                retry_in: retry_at.saturating_duration_since(Instant::now()),
            },
        }
    }

    /// Starts the watcher again if it failed and its back-off is over.
    fn restart_if_due(&self) {
        let mut control = self.shared.control();
        let due = match control.state {
            State::Failed { retry_at, .. } => Instant::now() >= retry_at,
            State::Starting | State::Running => false,
        };
        if due {
            watcher::start(&self.shared, &mut control);
        }
    }

    /// The snapshot, once the view is ready: blocks up to `timeout` for
    /// the first reading of the host.
    ///
    /// # Errors
    ///
    /// [`ViewError::Unavailable`] when reading the host failed,
    /// [`ViewError::Timeout`] when it is still under way.
    pub fn wait_ready(&self, timeout: Duration) -> Result<Arc<Snapshot>, ViewError> {
        let deadline = Instant::now().checked_add(timeout);
        self.restart_if_due();
        let mut control = self.shared.control();
        loop {
            if let Some(snapshot) = self.shared.current.load_full() {
                return Ok(snapshot);
            }
            match &control.state {
                State::Failed { reason, .. } => {
                    return Err(ViewError::Unavailable {
                        reason: reason.clone(),
                    });
                }
                State::Starting | State::Running => {}
            }
            let left = match deadline {
                None => Duration::MAX,
                Some(d) => match d.checked_duration_since(Instant::now()) {
                    Some(left) if !left.is_zero() => left,
                    _ => return Err(ViewError::Timeout),
                },
            };
            control = self
                .shared
                .changed
                .wait_timeout(control, left)
                .unwrap_or_else(PoisonError::into_inner)
                .0;
        }
    }

    /// [`wait_ready`](Self::wait_ready) for async code, on any runtime:
    /// resolves at once when a snapshot is published, else when the first
    /// reading ends. Bound it with the runtime's timeout.
    pub fn ready(&self) -> Ready<'_> {
        self.restart_if_due();
        Ready { view: self }
    }

    /// The sources of `dests` from the cache, in order, appended to `out`:
    /// `true` when every one was there (for the current state of the
    /// host), `false` (with `out` as it was) when any was not. No lock, no
    /// system call.
    pub fn cached_sources(&self, dests: &[Dest], out: &mut Vec<Option<SourceInfo>>) -> bool {
        let table = self.shared.sources.load();
        let start = out.len();
        for dest in dests {
            match table.get(dest) {
                Some(info) => out.push(info.clone()),
                None => {
                    out.truncate(start);
                    return false;
                }
            }
        }
        self.shared.counters.cache_hits.add(dests.len() as u64);
        true
    }

    /// The source of one destination from the cache: `Some(None)` for a
    /// cached "unreachable", `None` when it is not cached (for the current
    /// state of the host). No lock, no system call, no allocation.
    pub fn cached_source(&self, dest: &Dest) -> Option<Option<SourceInfo>> {
        let found = self.shared.sources.load().get(dest).cloned();
        if found.is_some() {
            self.shared.counters.cache_hits.add(1);
        }
        found
    }

    /// The source address the kernel would use for each destination, in
    /// order, described with the current snapshot; `None` where the
    /// destination is unreachable. From the cache when every destination
    /// is there; otherwise from one batched lookup on the view's lookup
    /// thread, shared with whatever other callers ask meanwhile.
    pub fn sources(&self, dests: &[Dest]) -> SourcesFuture {
        let mut out = Vec::with_capacity(dests.len());
        if self.cached_sources(dests, &mut out) {
            return SourcesFuture::ready(Ok(out));
        }
        lookup::request(&self.shared, dests)
    }

    /// [`sources`](Self::sources), blocking the calling thread.
    ///
    /// # Errors
    ///
    /// When the view is unavailable or the lookup fails; per-destination
    /// failures are `None`.
    pub fn sources_blocking(&self, dests: &[Dest]) -> io::Result<Vec<Option<SourceInfo>>> {
        self.sources(dests).wait()
    }

    /// Follows every change from now on: the subscription's first item is
    /// [`Change::Resync`] with the current snapshot, then each change in
    /// the order the system reported it. Waits up to `timeout` for the
    /// view to be ready.
    ///
    /// # Errors
    ///
    /// As [`wait_ready`](Self::wait_ready).
    pub fn subscribe(&self, timeout: Duration) -> Result<Subscription, ViewError> {
        self.wait_ready(timeout)?;
        let mut control = self.shared.control();
        // Under the lock the watcher publishes with: the snapshot read here
        // and the changes queued from here on fit together.
        let snapshot = self
            .shared
            .current
            .load_full()
            .ok_or_else(|| match &control.state {
                State::Failed { reason, .. } => ViewError::Unavailable {
                    reason: reason.clone(),
                },
                _ => ViewError::Timeout,
            })?;
        let queue = Queue::new(snapshot);
        control.subscribers.retain(|w| w.strong_count() > 0);
        control.subscribers.push(Arc::downgrade(&queue));
        drop(control);
        Ok(Subscription::new(queue, self.clone()))
    }

    /// Makes the watcher read the whole host again, for changes the system
    /// does not report (`net.ipv6.conf.*` settings, say). The source cache
    /// starts over, whether the reading finds a change or not.
    pub fn refresh(&self) {
        self.shared.resync.store(true, Ordering::SeqCst);
        if let Some(interrupter) = &self.shared.control().interrupter {
            interrupter.interrupt();
        }
    }

    /// Asks the routers on the host's links to advertise now: sends a
    /// Router Solicitation (RFC 4861 §6.3.7) out of every operational
    /// interface that has a usable link-local IPv6 address. The options of
    /// their answers (the NAT64 prefix of RFC 8781 among them) reach
    /// [`Snapshot::pref64`] a moment later, where a view started after
    /// the last periodic advertisement would otherwise wait for the next.
    /// Returns on how many interfaces a solicitation went out.
    ///
    /// # Errors
    ///
    /// [`io::ErrorKind::PermissionDenied`] without the right to open a raw
    /// ICMPv6 socket (`CAP_NET_RAW`); [`io::ErrorKind::Unsupported`] on
    /// systems other than Linux, whose routers' options the view cannot
    /// read anyway; [`ViewError`] when the view has no snapshot yet.
    pub fn solicit_routers(&self) -> io::Result<usize> {
        let snapshot = self.snapshot().ok_or_else(|| {
            io::Error::from(ViewError::Unavailable {
                reason: "no snapshot of the host yet".to_owned(),
            })
        })?;
        let indexes: Vec<u32> = snapshot
            .interfaces
            .iter()
            .filter(|i| {
                i.is_operational() && !i.is_loopback() && i.addresses.iter().any(|a| {
                    a.is_usable()
                        && matches!(a.ip, std::net::IpAddr::V6(v6) if v6.is_unicast_link_local())
                })
            })
            .map(|i| i.index)
            .collect();
        if indexes.is_empty() {
            return Ok(0);
        }
        crate::sys::solicit_routers(&indexes)
    }

    /// What the view has asked the system so far.
    pub fn stats(&self) -> ViewStats {
        let c = &self.shared.counters;
        let get = |a: &AtomicU64| a.load(Ordering::Relaxed);
        ViewStats {
            captures: get(&c.captures),
            lookup_batches: get(&c.lookup_batches),
            lookups: get(&c.lookups),
            cache_hits: c.cache_hits.get(),
            reach_probes: get(&c.reach_probes),
            notices: get(&c.notices),
            publications: get(&c.publications),
            starts: get(&c.starts),
        }
    }
}

/// The calling thread's network namespace, by its inode; `None` where
/// there is no such thing (or `/proc` is missing).
#[cfg(any(target_os = "linux", target_os = "android"))]
fn netns_id() -> Option<u64> {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata("/proc/thread-self/ns/net")
        .ok()
        .map(|m| m.ino())
}

#[cfg(not(any(target_os = "linux", target_os = "android")))]
fn netns_id() -> Option<u64> {
    None
}

impl Default for HostView {
    /// [`HostView::shared`].
    fn default() -> Self {
        Self::shared()
    }
}

/// The future of [`HostView::ready`].
#[derive(Debug)]
#[must_use = "futures do nothing unless polled"]
pub struct Ready<'a> {
    view: &'a HostView,
}

impl Future for Ready<'_> {
    type Output = Result<Arc<Snapshot>, ViewError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let shared = &self.view.shared;
        if let Some(snapshot) = shared.current.load_full() {
            return Poll::Ready(Ok(snapshot));
        }
        let mut control = shared.control();
        // Checked again under the lock the watcher publishes with, so that
        // a publication between the two checks is not missed.
        if let Some(snapshot) = shared.current.load_full() {
            return Poll::Ready(Ok(snapshot));
        }
        if let State::Failed { reason, .. } = &control.state {
            return Poll::Ready(Err(ViewError::Unavailable {
                reason: reason.clone(),
            }));
        }
        if !control.waiters.iter().any(|w| w.will_wake(cx.waker())) {
            control.waiters.push(cx.waker().clone());
        }
        Poll::Pending
    }
}

#[cfg(test)]
mod tests;
