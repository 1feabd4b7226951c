//! Source lookups for a view: a thread of their own that takes every
//! request queued so far as one batch, and a cache of the answers that
//! the watcher replaces whenever the host changes.

use std::collections::HashMap;
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::mpsc::Receiver;
use std::sync::{Arc, Condvar, Mutex, PoisonError, Weak};
use std::task::{Context, Poll};
use std::thread;

use super::{Counters, Shared, ViewError};
use crate::source::{Dest, SourceInfo};
use crate::sys::{Backend, Lookups};

/// The most destinations a cache holds before it starts over: a process
/// that connects to ever new destinations must not grow it without bound.
pub(crate) const MAX_CACHED: usize = 4096;

/// The cached answers of one generation of the host: the watcher starts a
/// new, empty table whenever it publishes a change.
#[derive(Debug, Default)]
pub(crate) struct SourceTable {
    pub(crate) generation: u64,
    map: HashMap<Dest, Option<SourceInfo>, Seeded>,
}

/// The cache's hasher: a folded multiply of each word written into a
/// random per-process seed (the shape of foldhash's), a few nanoseconds
/// where SipHash costs tens on every connect's lookup. The seed keeps
/// destinations an answer chooses from aiming at one bucket.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Seeded(u64);

impl Default for Seeded {
    fn default() -> Self {
        static SEED: std::sync::OnceLock<u64> = std::sync::OnceLock::new();
        Self(*SEED.get_or_init(|| {
            use std::hash::BuildHasher;
            std::collections::hash_map::RandomState::new().hash_one(0x5eed_u64)
        }))
    }
}

impl std::hash::BuildHasher for Seeded {
    type Hasher = Folded;

    fn build_hasher(&self) -> Folded {
        Folded(self.0)
    }
}

/// The hasher [`Seeded`] builds.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Folded(u64);

impl Folded {
    fn fold(&mut self, word: u64) {
        const K: u64 = 0x9e37_79b9_7f4a_7c15;
        let m = u128::from(self.0 ^ word) * u128::from(K);
        self.0 = (m as u64) ^ ((m >> 64) as u64);
    }
}

impl std::hash::Hasher for Folded {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for chunk in &mut chunks {
            let mut word = [0; 8];
            word.copy_from_slice(chunk);
            self.fold(u64::from_le_bytes(word));
        }
        let rest = chunks.remainder();
        if !rest.is_empty() {
            let mut word = [0; 8];
            word[..rest.len()].copy_from_slice(rest);
            // The length keeps `[1]` and `[1, 0]` apart.
            self.fold(u64::from_le_bytes(word) ^ ((rest.len() as u64) << 59));
        }
    }

    fn write_u8(&mut self, n: u8) {
        self.fold(u64::from(n));
    }

    fn write_u32(&mut self, n: u32) {
        self.fold(u64::from(n));
    }

    fn write_u64(&mut self, n: u64) {
        self.fold(n);
    }

    fn write_usize(&mut self, n: usize) {
        self.fold(n as u64);
    }
}

impl SourceTable {
    pub(crate) fn new(generation: u64) -> Self {
        Self {
            generation,
            map: HashMap::default(),
        }
    }

    pub(crate) fn get(&self, dest: &Dest) -> Option<&Option<SourceInfo>> {
        self.map.get(dest)
    }

    /// This table with `answers` added (started over when full).
    fn with(&self, answers: &[(Dest, Option<SourceInfo>)]) -> Self {
        let mut map = if self.map.len() + answers.len() > MAX_CACHED {
            HashMap::with_capacity_and_hasher(answers.len(), Seeded::default())
        } else {
            self.map.clone()
        };
        map.extend(answers.iter().cloned());
        Self {
            generation: self.generation,
            map,
        }
    }
}

/// A caller's request: its destinations and where to put the answer.
/// One that is dropped unanswered answers with an error: its caller never
/// waits for a request that no one will answer.
#[derive(Debug)]
pub(crate) struct LookupRequest {
    dests: Vec<Dest>,
    /// `None` once answered.
    slot: Option<Arc<Slot>>,
}

impl LookupRequest {
    /// Hands the caller its answer; a request is answered once.
    fn respond(&mut self, answer: Answer) {
        if let Some(slot) = self.slot.take() {
            slot.fill(answer);
        }
    }
}

impl Drop for LookupRequest {
    /// Answers a request that is still unanswered: its view was dropped
    /// before the lookup thread got to it, or the thread stopped.
    fn drop(&mut self) {
        if self.slot.is_some() {
            self.respond(Err(io::Error::from(ViewError::Unavailable {
                reason: "the view was closed before the lookup was answered".to_owned(),
            })));
        }
    }
}

type Answer = io::Result<Vec<Option<SourceInfo>>>;

/// Where the lookup thread leaves one answer, and who to wake for it.
#[derive(Debug, Default)]
struct Slot {
    state: Mutex<SlotState>,
    filled: Condvar,
}

#[derive(Debug, Default)]
struct SlotState {
    answer: Option<Answer>,
    waker: Option<std::task::Waker>,
}

impl Slot {
    fn fill(&self, answer: Answer) {
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        state.answer = Some(answer);
        if let Some(waker) = state.waker.take() {
            waker.wake();
        }
        self.filled.notify_all();
    }
}

/// The answer of [`HostView::sources`](super::HostView::sources): ready at
/// once from the cache, or when the lookup thread has answered. Works on
/// any runtime; [`SourcesFuture::wait`] blocks instead.
#[derive(Debug)]
#[must_use = "futures do nothing unless polled"]
pub struct SourcesFuture {
    inner: Inner,
}

#[derive(Debug)]
enum Inner {
    Ready(Option<Answer>),
    Waiting(Arc<Slot>),
}

impl SourcesFuture {
    pub(crate) fn ready(answer: Answer) -> Self {
        Self {
            inner: Inner::Ready(Some(answer)),
        }
    }

    /// Whether the answer is there without waiting (a cache hit).
    pub fn is_ready(&self) -> bool {
        match &self.inner {
            Inner::Ready(answer) => answer.is_some(),
            Inner::Waiting(slot) => slot
                .state
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .answer
                .is_some(),
        }
    }

    /// Blocks the calling thread until the answer is there.
    ///
    /// # Errors
    ///
    /// When the view is unavailable or the lookup failed, or when the
    /// view was dropped before the lookup was answered.
    pub fn wait(self) -> Answer {
        match self.inner {
            Inner::Ready(answer) => answer.unwrap_or_else(|| Err(polled_twice())),
            Inner::Waiting(slot) => {
                let mut state = slot.state.lock().unwrap_or_else(PoisonError::into_inner);
                loop {
                    if let Some(answer) = state.answer.take() {
                        return answer;
                    }
                    state = slot
                        .filled
                        .wait(state)
                        .unwrap_or_else(PoisonError::into_inner);
                }
            }
        }
    }
}

fn polled_twice() -> io::Error {
    io::Error::other("the sources future was polled after it completed")
}

impl Future for SourcesFuture {
    type Output = Answer;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Answer> {
        match &mut self.inner {
            Inner::Ready(answer) => {
                Poll::Ready(answer.take().unwrap_or_else(|| Err(polled_twice())))
            }
            Inner::Waiting(slot) => {
                let mut state = slot.state.lock().unwrap_or_else(PoisonError::into_inner);
                match state.answer.take() {
                    Some(answer) => Poll::Ready(answer),
                    None => {
                        if !state
                            .waker
                            .as_ref()
                            .is_some_and(|w| w.will_wake(cx.waker()))
                        {
                            state.waker = Some(cx.waker().clone());
                        }
                        Poll::Pending
                    }
                }
            }
        }
    }
}

/// Queues a lookup for the lookup thread.
pub(crate) fn request(shared: &Shared, dests: &[Dest]) -> SourcesFuture {
    let slot = Arc::new(Slot::default());
    let request = LookupRequest {
        dests: dests.to_vec(),
        slot: Some(Arc::clone(&slot)),
    };
    if shared.requests.send(request).is_err() {
        return SourcesFuture::ready(Err(io::Error::other(
            "the host view's lookup thread is not running",
        )));
    }
    SourcesFuture {
        inner: Inner::Waiting(slot),
    }
}

/// Starts the lookup thread, which ends when the view (and with it the
/// sending side of `rx`) is dropped. A thread that cannot start leaves
/// the requests to fail.
pub(crate) fn spawn(weak: Weak<Shared>, rx: Receiver<LookupRequest>, backend: Backend) {
    let _ = thread::Builder::new()
        .name("iface-probe-lookups".to_owned())
        .spawn(move || run(&weak, &rx, backend));
}

fn run(weak: &Weak<Shared>, rx: &Receiver<LookupRequest>, backend: Backend) {
    // Opened on the first request, and again after a failure.
    let mut lookups: Option<Lookups> = None;
    while let Ok(first) = rx.recv() {
        let mut batch = vec![first];
        batch.extend(rx.try_iter());
        // A view dropped meanwhile leaves the batch to answer, when it is
        // dropped, that the view was closed.
        let Some(shared) = weak.upgrade() else {
            return;
        };
        if let Err(e) = answer(&shared, &mut lookups, backend, &mut batch) {
            lookups = None;
            for request in &mut batch {
                request.respond(Err(io::Error::new(e.kind(), e.to_string())));
            }
        }
    }
}

/// Looks up the batch's distinct destinations at once, caches the answers
/// if the host has not changed meanwhile, and answers every request.
fn answer(
    shared: &Shared,
    lookups: &mut Option<Lookups>,
    backend: Backend,
    batch: &mut [LookupRequest],
) -> io::Result<()> {
    let generation = shared.sources.load().generation;
    let snapshot = shared
        .current
        .load_full()
        .ok_or_else(|| io::Error::other("the host view is not ready"))?;
    let mut index: HashMap<Dest, usize> = HashMap::new();
    let mut unique = Vec::new();
    for dest in batch.iter().flat_map(|r| &r.dests) {
        index.entry(*dest).or_insert_with(|| {
            unique.push(*dest);
            unique.len() - 1
        });
    }
    let lookups = match lookups {
        Some(l) => l,
        none @ None => none.insert(Lookups::open(backend)?),
    };
    let routes = lookups.routes(&unique)?;
    Counters::add(&shared.counters.lookup_batches, 1);
    Counters::add(&shared.counters.lookups, unique.len() as u64);
    let answers: Vec<(Dest, Option<SourceInfo>)> = unique
        .iter()
        .zip(routes)
        .map(|(dest, route)| {
            let info = route
                .ok()
                .and_then(|r| SourceInfo::from_route(&r, &snapshot));
            (*dest, info)
        })
        .collect();
    shared.sources.rcu(|table| {
        if table.generation == generation {
            Arc::new(table.with(&answers))
        } else {
            // The host changed while the kernel answered: answer the
            // callers, but keep nothing.
            Arc::clone(table)
        }
    });
    for request in batch {
        let infos = request
            .dests
            .iter()
            .map(|d| answers[index[d]].1.clone())
            .collect();
        request.respond(Ok(infos));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;
    use std::hash::BuildHasher;
    use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
    use std::sync::Arc;

    use super::{Inner, LookupRequest, Seeded, Slot, SourcesFuture};
    use crate::source::Dest;

    /// A request and the future its caller waits on.
    fn request() -> (LookupRequest, SourcesFuture) {
        let slot = Arc::new(Slot::default());
        let request = LookupRequest {
            dests: vec![Dest::from(IpAddr::from([127, 0, 0, 1]))],
            slot: Some(Arc::clone(&slot)),
        };
        let future = SourcesFuture {
            inner: Inner::Waiting(slot),
        };
        (request, future)
    }

    /// A request dropped without an answer (its view closed, its thread
    /// stopped) completes its caller's future with an error that says so.
    #[test]
    fn a_request_dropped_unanswered_fails_its_caller() {
        let (request, future) = request();
        assert!(!future.is_ready());
        drop(request);
        assert!(future.is_ready());
        let err = future.wait().unwrap_err();
        assert!(err.to_string().contains("closed"), "{err}");
    }

    /// A request answered keeps its answer when it is dropped.
    #[test]
    fn a_request_answered_keeps_its_answer() {
        let (mut request, future) = request();
        request.respond(Ok(vec![None]));
        drop(request);
        assert_eq!(future.wait().unwrap(), [None]);
    }

    /// Destinations that differ in one field, one byte or one family hash
    /// apart: the cache's hasher loses nothing the key holds.
    #[test]
    fn the_cache_hasher_tells_destinations_apart() {
        let seeded = Seeded::default();
        let mut dests = Vec::new();
        for i in 0..=255u8 {
            dests.push(Dest::new(IpAddr::V4(Ipv4Addr::new(192, 0, 2, i)), None));
            dests.push(Dest::new(IpAddr::V4(Ipv4Addr::new(i, 0, 2, 1)), None));
            let v6 = Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, u16::from(i));
            dests.push(Dest::new(IpAddr::V6(v6), None));
            dests.push(Dest::new(IpAddr::V6(v6), Some(u32::from(i) + 1)));
            let mapped = Ipv4Addr::new(192, 0, 2, i).to_ipv6_mapped();
            dests.push(Dest::new(IpAddr::V6(mapped), None));
        }
        let distinct: HashSet<Dest> = dests.iter().copied().collect();
        let hashes: HashSet<u64> = distinct.iter().map(|d| seeded.hash_one(d)).collect();
        assert_eq!(
            hashes.len(),
            distinct.len(),
            "hash collisions among {} destinations",
            distinct.len()
        );
        // One seed per process: every table hashes alike.
        assert_eq!(
            seeded.hash_one(dests[0]),
            Seeded::default().hash_one(dests[0])
        );
    }
}
