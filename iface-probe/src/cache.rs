//! Source addresses answered from memory until the kernel reports a change.

use std::collections::HashMap;
use std::io;
use std::time::Duration;

use crate::snapshot::Snapshot;
use crate::source::{Dest, SourceInfo, SourceResolver};
use crate::sys::{Backend, Notifier};

/// How many destinations a [`SourceCache`] remembers before it starts
/// over. Keeps a cache fed with ever new destinations from growing
/// without bound.
pub const MAX_CACHED: usize = 4096;

/// Counters of a [`SourceCache`] since it was opened.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct CacheStats {
    /// Destinations answered from the cache.
    pub hits: u64,
    /// Destinations the kernel was asked about.
    pub misses: u64,
    /// Times the cache was emptied because the kernel reported a change
    /// (or lost change reports), or [`SourceCache::invalidate`] was called.
    pub invalidations: u64,
}

/// [`SourceResolver::sources`] with a cache of the kernel's answers, kept
/// correct by listening to the kernel's change notifications.
///
/// On Linux a second `NETLINK_ROUTE` socket, non-blocking, joins the
/// link, address, route and rule notification groups before anything is
/// looked up. Each lookup first reads whatever notifications are queued
/// (when none are, that is a single `recv` failing with `EAGAIN`); if any
/// arrived, or some were lost to a full receive buffer (`ENOBUFS`), the
/// cache is emptied and the [`Snapshot`] that describes the source
/// addresses is captured again before it is next needed. Destinations not
/// in the cache go to the kernel in one batch. Other backends do the same
/// with their own notifications, or empty the cache each time they poll.
///
/// A change the kernel makes while a lookup is running is queued on the
/// notification socket, so at worst that one lookup answers as the
/// kernel did a moment before; the next one starts over.
///
/// Changes that the notifications do not cover, such as
/// `net.ipv6.conf.*` settings, are not seen; call
/// [`invalidate`](Self::invalidate) after making them.
#[derive(Debug)]
pub struct SourceCache {
    events: Notifier,
    notices: Vec<crate::sys::Notice>,
    resolver: SourceResolver,
    /// `None` after a change, until the next lookup that needs it.
    snapshot: Option<Snapshot>,
    entries: HashMap<Dest, Option<SourceInfo>>,
    stats: CacheStats,
}

impl SourceCache {
    /// Subscribes to the kernel's notifications, then opens the lookup
    /// socket and captures a snapshot.
    ///
    /// # Errors
    ///
    /// When a socket cannot be opened or the capture fails; on platforms
    /// without a backend, [`io::ErrorKind::Unsupported`].
    pub fn new() -> io::Result<Self> {
        Self::with_backend(Backend::Native)
    }

    /// [`SourceCache::new`] on a chosen [`Backend`].
    ///
    /// # Errors
    ///
    /// As [`SourceCache::new`].
    pub fn with_backend(backend: Backend) -> io::Result<Self> {
        // Subscribe first: every change after this point is queued.
        let events = Notifier::open(backend, None)?;
        let mut resolver = SourceResolver::with_backend(backend)?;
        let snapshot = resolver.lookups.capture()?;
        Ok(Self {
            events,
            notices: Vec::new(),
            resolver,
            snapshot: Some(snapshot),
            entries: HashMap::new(),
            stats: CacheStats::default(),
        })
    }

    /// Reads queued notifications; empties the cache if there were any.
    /// Returns whether it did.
    ///
    /// # Errors
    ///
    /// When reading the notifications fails (an overrun is not a failure:
    /// it empties the cache).
    pub fn refresh(&mut self) -> io::Result<bool> {
        self.notices.clear();
        self.events.wait(Some(Duration::ZERO), &mut self.notices)?;
        let changed = !self.notices.is_empty();
        if changed {
            self.invalidate();
        }
        Ok(changed)
    }

    /// Empties the cache and drops the snapshot.
    pub fn invalidate(&mut self) {
        self.entries.clear();
        self.snapshot = None;
        self.stats.invalidations += 1;
    }

    /// The snapshot the answers are described with, captured again if the
    /// kernel has reported a change since the last one.
    ///
    /// # Errors
    ///
    /// When reading notifications or capturing fails.
    pub fn snapshot(&mut self) -> io::Result<&Snapshot> {
        self.refresh()?;
        self.current_snapshot()
    }

    fn current_snapshot(&mut self) -> io::Result<&Snapshot> {
        if self.snapshot.is_none() {
            self.snapshot = Some(self.resolver.lookups.capture()?);
        }
        Ok(self.snapshot.as_ref().expect("just captured"))
    }

    /// The source address the kernel would pick for each destination, in
    /// order, as [`SourceResolver::sources`] answers; `None` where the
    /// destination is unreachable. Answers come from the cache where it
    /// has them and from one batched kernel lookup for the rest.
    ///
    /// # Errors
    ///
    /// When a socket fails or the snapshot cannot be captured again;
    /// per-destination errors are `None`.
    pub fn sources<D: Copy + Into<Dest>>(
        &mut self,
        dests: &[D],
    ) -> io::Result<Vec<Option<SourceInfo>>> {
        self.refresh()?;
        let mut out = Vec::with_capacity(dests.len());
        // Distinct destinations to ask the kernel about, and for each
        // answer still to fill in, its place in `out` and in `missing`.
        let mut missing: Vec<Dest> = Vec::new();
        let mut seen: HashMap<Dest, usize> = HashMap::new();
        let mut pending: Vec<(usize, usize)> = Vec::new();
        for (i, d) in dests.iter().enumerate() {
            let dest: Dest = (*d).into();
            if let Some(info) = self.entries.get(&dest) {
                out.push(info.clone());
                continue;
            }
            let next = missing.len();
            let m = *seen.entry(dest).or_insert_with(|| {
                missing.push(dest);
                next
            });
            pending.push((i, m));
            out.push(None);
        }
        self.stats.hits += (dests.len() - pending.len()) as u64;
        if missing.is_empty() {
            return Ok(out);
        }
        self.stats.misses += missing.len() as u64;
        let routes = self.resolver.routes(&missing)?;
        let snapshot = self.current_snapshot()?;
        let infos: Vec<Option<SourceInfo>> = routes
            .into_iter()
            .map(|r| r.and_then(|r| SourceInfo::from_route(&r, snapshot)))
            .collect();
        for (i, m) in pending {
            out[i].clone_from(&infos[m]);
        }
        if self.entries.len() + missing.len() > MAX_CACHED {
            self.entries.clear();
        }
        self.entries.extend(missing.into_iter().zip(infos));
        Ok(out)
    }

    /// How many destinations are cached.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether nothing is cached.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Hits, misses and invalidations so far.
    pub fn stats(&self) -> CacheStats {
        self.stats
    }
}
