//! Subscriptions: each subscriber's queue of changes, filled by the
//! watcher under the lock it publishes with.

use std::collections::VecDeque;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use super::change::Change;
use super::{HostView, ViewError};
use crate::snapshot::Snapshot;

/// How many changes a subscriber may fall behind before its queue is
/// replaced by one [`Change::Resync`].
const MAX_QUEUED: usize = 4096;

type Item = Result<Change, ViewError>;

/// One subscriber's queue.
#[derive(Debug)]
pub(crate) struct Queue {
    state: Mutex<QueueState>,
    filled: Condvar,
}

#[derive(Debug)]
struct QueueState {
    items: VecDeque<Item>,
    waker: Option<std::task::Waker>,
}

impl Queue {
    /// A queue that starts with the whole host.
    pub(crate) fn new(snapshot: Arc<Snapshot>) -> Arc<Self> {
        Arc::new(Self {
            state: Mutex::new(QueueState {
                items: VecDeque::from([Ok(Change::Resync(snapshot))]),
                waker: None,
            }),
            filled: Condvar::new(),
        })
    }

    fn lock(&self) -> MutexGuard<'_, QueueState> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn wake(&self, mut state: MutexGuard<'_, QueueState>) {
        if let Some(waker) = state.waker.take() {
            waker.wake();
        }
        drop(state);
        self.filled.notify_all();
    }

    /// Queues `changes`, which lead to `snapshot`. A subscriber that fell
    /// too far behind gets the snapshot instead of the backlog.
    pub(crate) fn push(&self, changes: &[Change], snapshot: &Arc<Snapshot>) {
        if changes.is_empty() {
            return;
        }
        let mut state = self.lock();
        if state.items.len() + changes.len() > MAX_QUEUED {
            state.items.clear();
            state
                .items
                .push_back(Ok(Change::Resync(Arc::clone(snapshot))));
        } else {
            state.items.extend(changes.iter().cloned().map(Ok));
        }
        self.wake(state);
    }

    /// Queues the view's failure.
    pub(crate) fn push_error(&self, error: ViewError) {
        let mut state = self.lock();
        state.items.push_back(Err(error));
        self.wake(state);
    }
}

/// Every change to the host, in order, from
/// [`HostView::subscribe`]: first [`Change::Resync`] with the whole host,
/// then each change as the system reports it. When the view fails, an
/// `Err` says why; should it recover, a [`Change::Resync`] follows.
///
/// Blocking ([`recv_timeout`](Self::recv_timeout)) or async
/// ([`recv`](Self::recv), on any runtime); both are cancel-safe.
#[derive(Debug)]
pub struct Subscription {
    queue: Arc<Queue>,
    view: HostView,
}

impl Subscription {
    pub(crate) fn new(queue: Arc<Queue>, view: HostView) -> Self {
        Self { queue, view }
    }

    /// The view this subscription follows.
    pub fn view(&self) -> &HostView {
        &self.view
    }

    /// The next change, if one is queued.
    pub fn try_recv(&mut self) -> Option<Item> {
        self.queue.lock().items.pop_front()
    }

    /// The next change, waiting up to `timeout` (`None`: without limit);
    /// `None` when none came in time.
    pub fn recv_timeout(&mut self, timeout: Option<Duration>) -> Option<Item> {
        let deadline = timeout.and_then(|t| Instant::now().checked_add(t));
        let mut state = self.queue.lock();
        loop {
            if let Some(item) = state.items.pop_front() {
                return Some(item);
            }
            state = match deadline {
                None => self
                    .queue
                    .filled
                    .wait(state)
                    .unwrap_or_else(PoisonError::into_inner),
                Some(deadline) => {
                    let left = deadline.checked_duration_since(Instant::now())?;
                    if left.is_zero() {
                        return None;
                    }
                    self.queue
                        .filled
                        .wait_timeout(state, left)
                        .unwrap_or_else(PoisonError::into_inner)
                        .0
                }
            };
        }
    }

    /// Polls for the next change.
    pub fn poll_recv(&mut self, cx: &mut Context<'_>) -> Poll<Item> {
        let mut state = self.queue.lock();
        match state.items.pop_front() {
            Some(item) => Poll::Ready(item),
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

    /// The next change. Cancel-safe: a dropped future takes nothing off
    /// the queue.
    pub fn recv(&mut self) -> Recv<'_> {
        Recv { subscription: self }
    }
}

/// The future of [`Subscription::recv`].
#[derive(Debug)]
#[must_use = "futures do nothing unless polled"]
pub struct Recv<'a> {
    subscription: &'a mut Subscription,
}

impl Future for Recv<'_> {
    type Output = Item;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Item> {
        self.subscription.poll_recv(cx)
    }
}
