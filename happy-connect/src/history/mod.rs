//! Connection history (RFC 8305 §4 and §5, Happy Eyeballs v3): what
//! happened to earlier attempts on this network, so that a broken path
//! costs its delay once, not on every connect.
//!
//! # What is remembered
//!
//! For each destination address, the last four outcomes of attempts to
//! it, with their times ([`Past`]): connected (with the handshake time),
//! refused, unreachable, timed out, or *lost* (abandoned without
//! connecting because another attempt won after this one had waited out
//! the Connection Attempt Delay). The same is kept for each address
//! family as a whole, so that a network whose IPv6 is broken demotes IPv6
//! even for a name never seen before. Errors that say nothing about the
//! path (no descriptor left, a source that was not stable) are not kept,
//! nor are connects to an IP address, which have nothing to order.
//!
//! # For how long, and how much
//!
//! An outcome counts for [`HistoryConfig::ttl`] (10 minutes by default),
//! after which the policy's order comes back by itself. One stamped more
//! than a minute after now (the wall clock stepped back, or an imported
//! file says so) does not count at all, and is forgotten. At most
//! [`HistoryConfig::capacity`] entries (4,096) and
//! [`HistoryConfig::max_bytes`] of memory (1 MiB) are kept; when full, the
//! entry recorded least recently makes room.
//!
//! # Partitions
//!
//! Entries are kept per network, by the identity the host view gives
//! ([`NetworkId`]: the default routes' gateways and interfaces and the
//! global prefixes), so that moving to another network starts afresh and
//! coming back finds the old entries again. Within a network, they are
//! kept per partition key ([`Connector::set_history_key`]), as Happy
//! Eyeballs v3 asks of privacy-sensitive state: connects made for one
//! user, profile or origin do not learn from another's.
//!
//! # How it is used
//!
//! Purely, by the planner of each connect ([`Advice`]):
//!
//! - within the policy's order, an address whose latest outcome here was a
//!   failure or a loss goes after those that did not fail;
//! - a family whose recent attempts here all failed or lost gives the
//!   other family the first turn of the interleaving, and its prospects
//!   no longer hold the race back during the Resolution Delay;
//! - with handshake times known here, the Connection Attempt Delay after
//!   an attempt is twice that address's (or else that family's) mean
//!   handshake, within [`HistoryConfig::attempt_delay_min`] and
//!   [`HistoryConfig::attempt_delay_max`] (100 ms to 2 s by default).
//!
//! A demoted address still gets its attempt once the attempt delay
//! passes without a connection, so a repaired path is learned again; and
//! [`HistoryConfig::ignore_one_in`] can make a share of connects ignore
//! history altogether. The report gives each candidate its note ("lost to
//! IPv4 3 times on this network, last 12 s ago") and says which
//! placements and delays history decided.
//!
//! History is on by default: every [`Connector`] has one, shared by its
//! clones. [`Connector::set_history`] shares another or switches it off:
//!
//! ```
//! use std::time::Duration;
//! use happy_connect::Connector;
//! use happy_connect::history::{History, HistoryConfig};
//!
//! let mut config = HistoryConfig::default();
//! config.ttl = Duration::from_secs(120);
//! let shared = History::with_config(config);
//!
//! let mut a = Connector::new();
//! a.set_history(Some(shared.clone()));
//! let mut b = Connector::new();
//! b.set_history(Some(shared.clone()));   // a and b learn from each other
//!
//! let mut forgetful = Connector::new();
//! forgetful.set_history(None);           // no history at all
//! assert!(forgetful.history().is_none());
//! ```
//!
//! [`Connector`]: crate::Connector
//! [`Connector::set_history`]: crate::Connector::set_history
//! [`Connector::set_history_key`]: crate::Connector::set_history_key

use std::fmt;
use std::net::IpAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use iface_probe::NetworkId;

use crate::race::{Family, RaceConfig};

mod advice;
#[cfg(feature = "serde")]
mod file;
mod note;
mod store;

pub use advice::{Advice, DelaySource};
#[cfg(feature = "serde")]
pub use file::{HistoryFile, ImportError};
pub use note::{Note, Past};

use note::Record;
use store::{Key, Store, Subject};

/// How a [`History`] behaves.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct HistoryConfig {
    /// How long an outcome counts (10 minutes).
    pub ttl: Duration,
    /// The most entries kept (4,096; at most 1,048,576 whatever this
    /// says): one per destination, and one per family, for each network
    /// and partition.
    pub capacity: usize,
    /// The most memory the entries may take (1 MiB): the capacity is
    /// lowered to fit.
    pub max_bytes: usize,
    /// The shortest attempt delay history may derive (100 ms; RFC 8305's
    /// 10 ms to 2 s).
    pub attempt_delay_min: Duration,
    /// The longest attempt delay history may derive (2 s; at most RFC
    /// 8305's 2 s, and at least the shortest).
    pub attempt_delay_max: Duration,
    /// One connect in this many ignores history (0: none does), so that
    /// a demotion is tested again even before it expires.
    pub ignore_one_in: u32,
}

impl Default for HistoryConfig {
    fn default() -> Self {
        Self {
            ttl: Duration::from_secs(600),
            capacity: 4096,
            max_bytes: 1 << 20,
            attempt_delay_min: Duration::from_millis(100),
            attempt_delay_max: Duration::from_secs(2),
            ignore_one_in: 0,
        }
    }
}

/// The connection history of one or more connectors; see the [module
/// docs](self). Cloning shares it.
#[derive(Clone)]
pub struct History {
    shared: Arc<Shared>,
}

struct Shared {
    config: HistoryConfig,
    store: Store,
    /// Connects that asked for advice, for `ignore_one_in`.
    connects: AtomicU64,
}

impl fmt::Debug for History {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("History")
            .field("config", &self.shared.config)
            .field("len", &self.len())
            .finish()
    }
}

impl Default for History {
    fn default() -> Self {
        Self::new()
    }
}

/// Recording a connection to a destination whose latest outcome is a
/// connection this recent adds little: it is skipped, so that many
/// connects to one destination do not all write.
const QUIET: Duration = Duration::from_secs(1);

/// The same for a family's entry, which every connect of the family
/// would otherwise write.
const FAMILY_QUIET: Duration = Duration::from_secs(60);

impl History {
    /// An empty history with the defaults.
    pub fn new() -> Self {
        Self::with_config(HistoryConfig::default())
    }

    /// An empty history. The attempt delay bounds are kept within RFC
    /// 8305's (10 ms to 2 s, and the maximum at least the minimum).
    pub fn with_config(mut config: HistoryConfig) -> Self {
        let (min, max) = (RaceConfig::MIN_ATTEMPT_DELAY, RaceConfig::MAX_ATTEMPT_DELAY);
        config.attempt_delay_min = config.attempt_delay_min.clamp(min, max);
        config.attempt_delay_max = config
            .attempt_delay_max
            .clamp(config.attempt_delay_min, max);
        Self {
            shared: Arc::new(Shared {
                store: Store::fitting(config.capacity, config.max_bytes),
                config,
                connects: AtomicU64::new(0),
            }),
        }
    }

    /// The configuration.
    pub fn config(&self) -> &HistoryConfig {
        &self.shared.config
    }

    /// The most entries kept: the configured capacity (at most
    /// 1,048,576), lowered to fit `max_bytes`, rounded up to the store's
    /// shards.
    pub fn capacity(&self) -> usize {
        self.shared.store.capacity()
    }

    /// How many entries are kept (expired ones included until purged).
    pub fn len(&self) -> usize {
        self.shared.store.len()
    }

    /// Whether nothing is kept.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Forgets everything.
    pub fn clear(&self) {
        self.shared.store.clear();
    }

    /// Forgets the entries that have expired; returns how many.
    pub fn purge(&self) -> usize {
        self.shared.store.purge(now_ms(), self.ttl_ms())
    }

    /// Whether two handles share one history.
    pub fn ptr_eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.shared, &other.shared)
    }

    fn ttl_ms(&self) -> u64 {
        u64::try_from(self.shared.config.ttl.as_millis()).unwrap_or(u64::MAX)
    }

    /// What history says now of `addr` on `network`, in partition `key`.
    pub fn note(&self, network: NetworkId, key: Option<&str>, addr: IpAddr) -> Option<Note> {
        self.note_now(network, key, Subject::Address(addr), now_ms())
    }

    /// What history says now of every attempt of `family` on `network`,
    /// in partition `key`.
    pub fn family_note(
        &self,
        network: NetworkId,
        key: Option<&str>,
        family: Family,
    ) -> Option<Note> {
        self.note_now(network, key, Subject::Family(family), now_ms())
    }

    fn note_now(
        &self,
        network: NetworkId,
        key: Option<&str>,
        subject: Subject,
        now_ms: u64,
    ) -> Option<Note> {
        let key = Key {
            network,
            partition: key.map_or(0, partition_digest),
            subject,
        };
        self.shared.store.get(&key)?.note(now_ms, self.ttl_ms())
    }

    /// Remembers an outcome of an attempt to `addr` on `network`, in
    /// partition `key`, now: for a caller that makes its own attempts in
    /// the order of a [`Plan`](crate::Plan).
    pub fn record(&self, network: NetworkId, key: Option<&str>, addr: IpAddr, past: Past) {
        self.partition(network, key)
            .record(addr, past, Duration::ZERO, Duration::ZERO, None);
    }

    /// The part of the history one connect reads and feeds, as of now.
    pub(crate) fn partition(&self, network: NetworkId, key: Option<&str>) -> Partition<'_> {
        self.partition_since(network, key, Duration::ZERO)
    }

    /// [`History::partition`] for a connect that began `since` ago: its
    /// moment is the connect's start, from which its attempts' ends are
    /// counted.
    pub(crate) fn partition_since(
        &self,
        network: NetworkId,
        key: Option<&str>,
        since: Duration,
    ) -> Partition<'_> {
        let since_ms = since
            .as_secs()
            .saturating_mul(1000)
            .saturating_add(u64::from(since.subsec_millis()));
        Partition {
            history: self,
            network,
            partition: key.map_or(0, partition_digest),
            now_ms: now_ms().saturating_sub(since_ms),
        }
    }
}

/// A stable 64-bit digest of a partition key (FNV-1a), never 0 (which
/// stands for no key). Stable across processes, so that a saved history
/// keeps its partitions without holding the keys themselves.
fn partition_digest(key: &str) -> u64 {
    crate::fnv::digest(key.as_bytes()).max(1)
}

/// Milliseconds since the Unix epoch (0 if the clock is before it).
fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

/// One connect's window on the history: one network, one partition, one
/// moment (the connect's start, from which its outcomes are stamped).
#[derive(Clone)]
pub(crate) struct Partition<'h> {
    history: &'h History,
    pub(crate) network: NetworkId,
    partition: u64,
    now_ms: u64,
}

impl Partition<'_> {
    fn key(&self, subject: Subject) -> Key {
        Key {
            network: self.network,
            partition: self.partition,
            subject,
        }
    }

    fn get(&self, subject: Subject) -> Option<Note> {
        self.history
            .shared
            .store
            .get(&self.key(subject))?
            .note(self.now_ms, self.history.ttl_ms())
    }

    pub(crate) fn note(&self, addr: IpAddr) -> Option<Note> {
        self.get(Subject::Address(addr))
    }

    pub(crate) fn family_note(&self, family: Family) -> Option<Note> {
        self.get(Subject::Family(family))
    }

    /// Whether this connect ignores history (one in `ignore_one_in`).
    pub(crate) fn ignored(&self) -> bool {
        let n = self.history.shared.config.ignore_one_in;
        n > 0
            && (self.history.shared.connects.fetch_add(1, Ordering::Relaxed) + 1) % u64::from(n)
                == 0
    }

    /// The advice for a connect before any answer: the families' notes
    /// and the delay bounds. The answers' notes are added as they come.
    pub(crate) fn advice(&self) -> Advice {
        // The bounds were kept within RFC 8305's by `History::with_config`.
        let config = &self.history.shared.config;
        Advice::within(
            [self.family_note(Family::V4), self.family_note(Family::V6)],
            config.attempt_delay_min,
            config.attempt_delay_max,
        )
    }

    /// Remembers an outcome of an attempt to `addr`, and of its family:
    /// an attempt that ended `ended` after this partition was taken (the
    /// connect's start), recorded `now` after it. `seen` is what this
    /// connect read when it began, if it read history: it tells whether the
    /// write would add nothing without reading the store again.
    pub(crate) fn record(
        &self,
        addr: IpAddr,
        past: Past,
        ended: Duration,
        now: Duration,
        seen: Option<&Advice>,
    ) {
        let store = &self.history.shared.store;
        // Milliseconds without u128 arithmetic: seconds (saturated), then
        // the rest.
        let later = |d: Duration| {
            self.now_ms
                .saturating_add(d.as_secs().saturating_mul(1000))
                .saturating_add(u64::from(d.subsec_millis()))
        };
        let record = Record::new(past, later(ended));
        let now_ms = later(now).max(record.at_ms);
        let family = Family::of(addr);
        // A connection right after another adds nothing worth a write.
        // The note's age is as of the connect's start.
        let recent = |note: Option<&Note>, within: Duration| {
            note.is_some_and(|n| {
                matches!(n.last, Past::Connected { .. }) && n.age.saturating_add(ended) < within
            })
        };
        let quiet = |subject: Subject, within: Duration| {
            if !matches!(past, Past::Connected { .. }) {
                return false;
            }
            match (seen, subject) {
                (Some(advice), Subject::Address(addr)) => recent(advice.note(addr), within),
                (Some(advice), Subject::Family(family)) => {
                    recent(advice.family_note(family), within)
                }
                (None, _) => store.get(&self.key(subject)).is_some_and(|r| {
                    r.latest(now_ms).is_some_and(|(at, last)| {
                        matches!(last, Past::Connected { .. })
                            && u128::from(record.at_ms.saturating_sub(at)) < within.as_millis()
                    })
                }),
            }
        };
        let subject = Subject::Address(addr);
        if !quiet(subject, QUIET) {
            store.record(self.key(subject), record, now_ms);
        }
        let family = Subject::Family(family);
        if !quiet(family, FAMILY_QUIET) {
            store.record(self.key(family), record, now_ms);
        }
    }
}

#[cfg(test)]
mod tests;
