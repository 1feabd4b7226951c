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

use super::{Counters, Shared};
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
    map: HashMap<Dest, Option<SourceInfo>>,
}

impl SourceTable {
    pub(crate) fn new(generation: u64) -> Self {
        Self {
            generation,
            map: HashMap::new(),
        }
    }

    pub(crate) fn get(&self, dest: &Dest) -> Option<&Option<SourceInfo>> {
        self.map.get(dest)
    }

    /// This table with `answers` added (started over when full).
    fn with(&self, answers: &[(Dest, Option<SourceInfo>)]) -> Self {
        let mut map = if self.map.len() + answers.len() > MAX_CACHED {
            HashMap::with_capacity(answers.len())
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
#[derive(Debug)]
pub(crate) struct LookupRequest {
    dests: Vec<Dest>,
    slot: Arc<Slot>,
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
    /// When the view is unavailable or the lookup failed.
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
        slot: Arc::clone(&slot),
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
        let Some(shared) = weak.upgrade() else {
            return;
        };
        if let Err(e) = answer(&shared, &mut lookups, backend, &batch) {
            lookups = None;
            for request in &batch {
                request
                    .slot
                    .fill(Err(io::Error::new(e.kind(), e.to_string())));
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
    batch: &[LookupRequest],
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
        request.slot.fill(Ok(infos));
    }
    Ok(())
}
