//! Where history is kept: a bounded map from (network, partition,
//! destination) to the recent outcomes, split into shards so that
//! connects to different destinations never wait for each other. Reads
//! take a shard's read lock; only recording an outcome takes its write
//! lock, for the few instructions of an update.
//!
//! When a shard is full, the entry recorded least recently makes room:
//! an LRU by recording, which is what tells whether an entry is still of
//! use (reading does not refresh it, so that reads stay shared).

use std::collections::HashMap;
use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, BuildHasherDefault, Hasher};
use std::net::IpAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{PoisonError, RwLock, RwLockReadGuard, RwLockWriteGuard};

use iface_probe::NetworkId;

use super::note::{Record, Records};
use crate::race::Family;

/// What an entry is about: a destination, or a whole family on the
/// network (every attempt of that family, whatever the destination).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Subject {
    Address(IpAddr),
    Family(Family),
}

/// An entry's key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) struct Key {
    pub(crate) network: NetworkId,
    /// The digest of the caller's partition key (0 for none).
    pub(crate) partition: u64,
    pub(crate) subject: Subject,
}

/// The shards: a power of two, so a hash picks one with a mask.
pub(crate) const SHARDS: usize = 16;

/// The most entries a store holds, whatever it is asked for (2^20): a
/// shard reserves the room of all its entries when first written, and
/// indexes them with 32 bits.
pub(crate) const MAX_CAPACITY: usize = 1 << 20;

struct Node {
    hash: u64,
    key: Key,
    records: Records,
    /// When it was last recorded into (the store's tick).
    touched: u64,
}

/// The map's own hasher: the keys are already 64-bit hashes.
#[derive(Default)]
struct Identity(u64);

impl Hasher for Identity {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 = (self.0 << 8) | u64::from(*b);
        }
    }

    fn write_u64(&mut self, n: u64) {
        self.0 = n;
    }
}

#[derive(Default)]
struct Shard {
    /// Hash of the key to the node's index.
    index: HashMap<u64, u32, BuildHasherDefault<Identity>>,
    nodes: Vec<Node>,
}

pub(crate) struct Store {
    /// Random per store.
    seed: u64,
    shards: Box<[RwLock<Shard>]>,
    /// Entries per shard at most.
    per_shard: usize,
    tick: AtomicU64,
}

/// The slots hashbrown gives a map reserved for `n` entries: a power of
/// two at most 7/8 full (4 or 8 for small maps).
fn buckets(n: usize) -> usize {
    match n {
        0 => 0,
        1..4 => 4,
        4..8 => 8,
        _ => (n.saturating_mul(8) / 7)
            .checked_next_power_of_two()
            .unwrap_or(usize::MAX),
    }
}

/// The room an index is reserved with for `per_shard` entries: twice as
/// many, plus one. A full shard replaces an entry on every new key (a
/// removal, then an insertion); with at most half its room in use,
/// hashbrown cleans the tombstones that leaves in place instead of
/// doubling the table.
fn index_room(per_shard: usize) -> usize {
    per_shard.saturating_mul(2).saturating_add(2)
}

/// The heap a store with `per_shard` entries in every shard holds when
/// full: the shard array, and in each shard its nodes and its index (a
/// slot and a control byte per bucket, and a group of control bytes);
/// `usize::MAX` when that does not fit in a `usize`.
pub(crate) fn heap_for(per_shard: usize) -> usize {
    let index = buckets(index_room(per_shard))
        .saturating_mul(size_of::<(u64, u32)>() + 1)
        .saturating_add(16);
    let shard = size_of::<RwLock<Shard>>()
        .saturating_add(per_shard.saturating_mul(size_of::<Node>()))
        .saturating_add(index);
    SHARDS.saturating_mul(shard)
}

impl Store {
    /// A store of at most `capacity` entries (rounded up to a multiple of
    /// the shard count, at least one per shard).
    #[cfg(test)]
    pub(crate) fn new(capacity: usize) -> Self {
        Self::fitting(capacity, usize::MAX)
    }

    /// A store of at most `capacity` entries (and at most
    /// [`MAX_CAPACITY`]) whose heap stays within `max_bytes` when full (at
    /// least one entry per shard).
    pub(crate) fn fitting(capacity: usize, max_bytes: usize) -> Self {
        let mut per_shard = capacity.min(MAX_CAPACITY).div_ceil(SHARDS).max(1);
        if heap_for(per_shard) > max_bytes {
            // The largest that fits: heap_for grows with per_shard.
            let (mut lo, mut hi) = (1, per_shard);
            while lo < hi {
                let mid = lo + (hi - lo).div_ceil(2);
                if heap_for(mid) <= max_bytes {
                    lo = mid;
                } else {
                    hi = mid - 1;
                }
            }
            per_shard = lo;
        }
        Self {
            seed: RandomState::new().hash_one(0x5eed_u64),
            shards: (0..SHARDS).map(|_| RwLock::default()).collect(),
            per_shard,
            tick: AtomicU64::new(0),
        }
    }

    /// The most entries the store holds.
    pub(crate) fn capacity(&self) -> usize {
        self.per_shard * SHARDS
    }

    /// The key's 64-bit hash: a folded multiply of each field into a
    /// per-store random seed (the shape of foldhash's), which costs a few
    /// nanoseconds where SipHash costs tens; the seed keeps addresses an
    /// answer chooses from aiming at one shard.
    fn hash(&self, key: &Key) -> u64 {
        const K: u64 = 0x9e37_79b9_7f4a_7c15;
        let fold = |acc: u64, x: u64| {
            let m = u128::from(acc ^ x) * u128::from(K);
            (m as u64) ^ ((m >> 64) as u64)
        };
        let (a, b, tag) = match key.subject {
            Subject::Address(IpAddr::V4(v4)) => (u64::from(u32::from(v4)), 0, 1),
            Subject::Address(IpAddr::V6(v6)) => {
                let bits = u128::from(v6);
                ((bits >> 64) as u64, bits as u64, 2)
            }
            Subject::Family(f) => (0, 0, 3 + f as u64),
        };
        let mut h = fold(self.seed, key.network.get());
        h = fold(h, key.partition);
        h = fold(h, a);
        h = fold(h, b ^ (tag << 56));
        // The shard comes from the high bits: mix them once more.
        h ^ (h >> 29)
    }

    fn shard(&self, hash: u64) -> &RwLock<Shard> {
        // The high bits pick the shard; the map uses all of them.
        &self.shards[(hash >> 60) as usize & (SHARDS - 1)]
    }

    fn read(lock: &RwLock<Shard>) -> RwLockReadGuard<'_, Shard> {
        lock.read().unwrap_or_else(PoisonError::into_inner)
    }

    fn write(lock: &RwLock<Shard>) -> RwLockWriteGuard<'_, Shard> {
        lock.write().unwrap_or_else(PoisonError::into_inner)
    }

    /// The outcomes kept for `key`.
    pub(crate) fn get(&self, key: &Key) -> Option<Records> {
        let hash = self.hash(key);
        let shard = Self::read(self.shard(hash));
        let node = &shard.nodes[*shard.index.get(&hash)? as usize];
        (node.key == *key).then_some(node.records)
    }

    /// Adds an outcome to `key`'s at `now_ms`, making room if needed
    /// ([`Records::push`]).
    pub(crate) fn record(&self, key: Key, record: Record, now_ms: u64) {
        self.record_if(key, record, now_ms, false);
    }

    /// [`Store::record`], unless `unique` and that very outcome is kept
    /// already (an import seen twice).
    pub(crate) fn record_if(&self, key: Key, record: Record, now_ms: u64, unique: bool) {
        let hash = self.hash(&key);
        let tick = self.tick.fetch_add(1, Ordering::Relaxed);
        let mut guard = Self::write(self.shard(hash));
        let shard = &mut *guard;
        if let Some(&i) = shard.index.get(&hash) {
            let node = &mut shard.nodes[i as usize];
            if node.key != key {
                // Another key with the same 64-bit hash: the newer wins.
                node.key = key;
                node.records = Records::default();
            }
            if unique && node.records.contains(record) {
                return;
            }
            node.records.push(record, now_ms);
            node.touched = tick;
            return;
        }
        let mut records = Records::default();
        records.push(record, now_ms);
        let node = Node {
            hash,
            key,
            records,
            touched: tick,
        };
        if shard.nodes.len() < self.per_shard {
            if shard.nodes.capacity() == 0 {
                // Sized once, exactly: a grown vector could hold twice the
                // room it needs.
                shard.nodes.reserve_exact(self.per_shard);
                shard.index.reserve(index_room(self.per_shard));
            }
            let i = u32::try_from(shard.nodes.len()).unwrap_or(u32::MAX);
            shard.nodes.push(node);
            shard.index.insert(hash, i);
            return;
        }
        // Full: the least recently recorded entry makes room.
        let Some((i, _)) = shard
            .nodes
            .iter()
            .enumerate()
            .min_by_key(|(_, n)| n.touched)
        else {
            return;
        };
        let old = std::mem::replace(&mut shard.nodes[i], node);
        shard.index.remove(&old.hash);
        shard
            .index
            .insert(hash, u32::try_from(i).unwrap_or(u32::MAX));
    }

    /// How many entries are kept.
    pub(crate) fn len(&self) -> usize {
        self.shards.iter().map(|s| Self::read(s).nodes.len()).sum()
    }

    /// Forgets everything.
    pub(crate) fn clear(&self) {
        for s in &*self.shards {
            *Self::write(s) = Shard::default();
        }
    }

    /// Forgets the entries whose latest outcome is `ttl_ms` old or more at
    /// `now_ms`, or that hold only outcomes stamped in the future
    /// ([`Record::is_future`]), which it forgets from every entry; returns
    /// how many entries it forgot.
    pub(crate) fn purge(&self, now_ms: u64, ttl_ms: u64) -> usize {
        let mut purged = 0;
        for s in &*self.shards {
            let mut shard = Self::write(s);
            let shard = &mut *shard;
            let mut i = 0;
            while i < shard.nodes.len() {
                let records = &mut shard.nodes[i].records;
                records.forget_future(now_ms);
                let expired = records
                    .latest(now_ms)
                    .is_none_or(|(at, _)| now_ms.saturating_sub(at) >= ttl_ms);
                if !expired {
                    i += 1;
                    continue;
                }
                let gone = shard.nodes.swap_remove(i);
                shard.index.remove(&gone.hash);
                if let Some(moved) = shard.nodes.get(i) {
                    shard
                        .index
                        .insert(moved.hash, u32::try_from(i).unwrap_or(u32::MAX));
                }
                purged += 1;
            }
        }
        purged
    }

    /// Every entry (for an export), in no particular order.
    #[cfg(feature = "serde")]
    pub(crate) fn entries(&self) -> Vec<(Key, Records)> {
        let mut out = Vec::new();
        for s in &*self.shards {
            let shard = Self::read(s);
            out.extend(shard.nodes.iter().map(|n| (n.key, n.records)));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::history::note::Past;

    fn key(i: u32) -> Key {
        Key {
            network: NetworkId::from_u64(7),
            partition: 0,
            subject: Subject::Address(IpAddr::from(i.to_be_bytes())),
        }
    }

    #[test]
    fn outcomes_are_kept_per_key() {
        let store = Store::new(64);
        store.record(key(1), Record::new(Past::Refused, 10), 30);
        store.record(key(1), Record::new(Past::TimedOut, 20), 30);
        store.record(key(2), Record::new(Past::Unreachable, 30), 30);
        assert_eq!(store.get(&key(1)).unwrap().len(), 2);
        assert_eq!(store.get(&key(2)).unwrap().len(), 1);
        assert_eq!(store.get(&key(3)), None);
        // Another network or partition is another entry.
        let mut other = key(1);
        other.network = NetworkId::from_u64(8);
        assert_eq!(store.get(&other), None);
        other = key(1);
        other.partition = 99;
        assert_eq!(store.get(&other), None);
        assert_eq!(store.len(), 2);
    }

    #[test]
    fn the_store_never_holds_more_than_its_capacity() {
        let store = Store::new(100);
        let cap = store.capacity();
        assert!((100..100 + SHARDS).contains(&cap), "{cap}");
        for i in 0..10_000 {
            store.record(key(i), Record::new(Past::Refused, u64::from(i)), 10_000);
        }
        assert_eq!(store.len(), cap);
        // The latest recorded are kept.
        assert!(store.get(&key(9_999)).is_some());
        assert!(store.get(&key(0)).is_none());
    }

    #[test]
    fn the_least_recently_recorded_entry_makes_room() {
        // One entry per shard: find two keys of the same shard.
        let store = Store::new(1);
        let shard_of = |k: &Key| store.hash(k) >> 60;
        let a = key(1);
        let b = (2..)
            .map(key)
            .find(|k| shard_of(k) == shard_of(&a))
            .unwrap();
        store.record(a, Record::new(Past::Refused, 1), 2);
        store.record(b, Record::new(Past::Refused, 2), 2);
        assert!(store.get(&a).is_none());
        assert!(store.get(&b).is_some());
    }

    #[test]
    fn purging_forgets_what_has_expired() {
        let store = Store::new(64);
        for i in 0..10 {
            store.record(key(i), Record::new(Past::Refused, u64::from(i) * 100), 1000);
        }
        // At 1000 with a TTL of 500: entries at 500 and earlier expire.
        assert_eq!(store.purge(1000, 500), 6);
        assert_eq!(store.len(), 4);
        for i in 0..10 {
            assert_eq!(store.get(&key(i)).is_some(), i >= 6, "{i}");
        }
        store.clear();
        assert_eq!(store.len(), 0);
        assert!(store.get(&key(9)).is_none());
    }
}
