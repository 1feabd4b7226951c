//! The connect's slots: the queries and the attempts in flight, each a
//! future polled in place by the connect's own future.

use std::future::Future;
use std::net::IpAddr;
use std::pin::Pin;
use std::task::Poll;
use std::time::Duration;

use tokio::net::TcpStream;

use crate::race::{AttemptId, Family};
use crate::report::AttemptOutcome;
use crate::resolve::{LookupFuture, RecordType, ResolveError};

/// What an attempt hands back.
pub(super) struct AttemptResult {
    pub(super) stable_wait: Option<Duration>,
    pub(super) result: Result<TcpStream, AttemptOutcome>,
}

pub(super) type AttemptFuture = Pin<Box<dyn Future<Output = AttemptResult> + Send>>;

/// A query's record type and its answer.
pub(super) type QueryResult = (RecordType, Result<Vec<IpAddr>, ResolveError>);

/// The queries in flight (A, and AAAA unless skipped), each with its
/// record type: two slots polled in place.
#[derive(Default)]
pub(super) struct Queries {
    slots: [Option<(RecordType, LookupFuture)>; 2],
}

impl Queries {
    pub(super) fn push(&mut self, rtype: RecordType, lookup: LookupFuture) {
        if let Some(free) = self.slots.iter_mut().find(|slot| slot.is_none()) {
            *free = Some((rtype, lookup));
        }
    }

    pub(super) fn is_empty(&self) -> bool {
        self.slots.iter().all(Option::is_none)
    }

    pub(super) fn families(&self) -> ([Family; 2], usize) {
        let mut out = [Family::V4; 2];
        let mut n = 0;
        for (rtype, _) in self.slots.iter().flatten() {
            out[n] = family(*rtype);
            n += 1;
        }
        (out, n)
    }

    /// The next answer to arrive; never resolves while no query runs.
    pub(super) fn next(&mut self) -> impl Future<Output = QueryResult> + '_ {
        std::future::poll_fn(move |cx| self.poll_next(cx))
    }

    pub(super) fn poll_next(&mut self, cx: &mut std::task::Context<'_>) -> Poll<QueryResult> {
        for slot in &mut self.slots {
            if let Some((rtype, lookup)) = slot {
                if let Poll::Ready(result) = Pin::new(lookup).poll(cx) {
                    let rtype = *rtype;
                    *slot = None;
                    return Poll::Ready((rtype, result));
                }
            }
        }
        Poll::Pending
    }
}

/// The attempts in flight: a handful at most, polled in place. The first
/// has a slot of its own, so that a connect with one attempt keeps no
/// list. Cancelling one drops its future, which closes its socket.
#[derive(Default)]
pub(super) struct Attempts {
    first: Option<(AttemptId, AttemptFuture)>,
    more: Vec<(AttemptId, AttemptFuture)>,
}

impl Attempts {
    pub(super) fn is_empty(&self) -> bool {
        self.first.is_none() && self.more.is_empty()
    }

    pub(super) fn push(&mut self, id: AttemptId, attempt: AttemptFuture) {
        if self.first.is_none() {
            self.first = Some((id, attempt));
        } else {
            self.more.push((id, attempt));
        }
    }

    /// Drops the attempt; returns whether it was running.
    pub(super) fn cancel(&mut self, id: AttemptId) -> bool {
        if self.first.as_ref().is_some_and(|(first, _)| *first == id) {
            self.first = None;
            return true;
        }
        let before = self.more.len();
        self.more.retain(|(running, _)| *running != id);
        self.more.len() != before
    }

    /// The ids still running; empties the set.
    pub(super) fn drain(&mut self) -> impl Iterator<Item = AttemptId> + use<> {
        let first = self.first.take().map(|(id, _)| id);
        let more: Vec<AttemptId> = self.more.drain(..).map(|(id, _)| id).collect();
        first.into_iter().chain(more)
    }

    /// The next attempt to end.
    pub(super) fn poll_next(
        &mut self,
        cx: &mut std::task::Context<'_>,
    ) -> Poll<(AttemptId, AttemptResult)> {
        if let Some((id, attempt)) = &mut self.first {
            if let Poll::Ready(result) = attempt.as_mut().poll(cx) {
                let id = *id;
                self.first = None;
                return Poll::Ready((id, result));
            }
        }
        for i in 0..self.more.len() {
            if let Poll::Ready(result) = self.more[i].1.as_mut().poll(cx) {
                let (id, _) = self.more.swap_remove(i);
                return Poll::Ready((id, result));
            }
        }
        Poll::Pending
    }
}

/// Whether an answer has addresses (of any family: a resolver that ignores
/// the type still brings none of this family, which the recording sorts
/// out).
pub(super) fn brings_addresses(result: &Result<Vec<IpAddr>, ResolveError>) -> bool {
    result.as_ref().is_ok_and(|addrs| !addrs.is_empty())
}

pub(super) fn family(rtype: RecordType) -> Family {
    match rtype {
        RecordType::A => Family::V4,
        RecordType::Aaaa => Family::V6,
    }
}
