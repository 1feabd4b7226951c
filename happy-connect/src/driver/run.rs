//! A connect to a name once its queries are sent: the race built, then
//! driven by a hand-written poll of the queries, the attempts and one
//! timer, carrying out the race's actions until it has an outcome.

use std::net::IpAddr;
use std::pin::Pin;
use std::task::Poll;
use std::time::Instant;

use futures_util::future::Either;
use iface_probe::{HostView, SourcesFuture};
use tokio::net::TcpStream;
use tracing::debug;

use super::answers::{Recorded, cached_candidates, looked_up, lookup, record_answer};
use super::attempt::attempt;
use super::memory::Memory;
use super::race_config;
use super::slots::{
    AttemptFuture, AttemptResult, Attempts, Queries, QueryResult, brings_addresses, family,
};
use crate::connector::Connector;
use crate::error::{ConnectError, ConnectErrorKind};
use crate::host::HostState;
use crate::race::{Action, AttemptId, CancelReason, Candidate, Family, Input, Outcome, Race};
use crate::report::{AttemptOutcome, ConnectReport, Event, Log};
use crate::resolve::{RecordType, ResolveError};
use crate::socket;

/// The time of one poll of a connect, read when first needed: every event
/// handled in that poll is stamped with it (a poll lasts microseconds; a
/// clock read costs tens of nanoseconds).
pub(super) struct Clock(Option<Instant>);

impl Clock {
    fn new() -> Self {
        Self(None)
    }

    fn now(&mut self) -> Instant {
        *self.0.get_or_insert_with(Instant::now)
    }
}

/// The race of a connect to a name, once the host is read and the queries
/// are sent. Not async: built after the last await before the race, the
/// race is the one copy the connect's future holds.
pub(super) fn start_race<'a>(
    connector: &'a Connector,
    view: &'a HostView,
    port: u16,
    start: Instant,
    host_state: HostState,
    queries: Queries,
    log: &mut Log,
) -> Run<'a> {
    let config = race_config(connector, log.nat64.as_deref());
    let (families, n) = queries.families();
    let (prospects, network) = connector.prospects(host_state.snapshot.as_ref());
    let mut race = Race::with_prospects(config, start, &families[..n], prospects);
    let since = start.elapsed();
    let memory = Memory::open(
        connector,
        host_state.snapshot.as_deref(),
        network,
        log,
        since,
    )
    .map(|(memory, advice)| {
        if let Some(advice) = advice {
            race.advise(advice);
        }
        memory
    });
    Run {
        memory,
        connector,
        view,
        port,
        start,
        log: std::mem::replace(log, Log::empty()),
        host: host_state,
        race,
        queries,
        held: None,
        attempts: Attempts::default(),
        waiting: None,
        connected: None,
        actions: Vec::with_capacity(4),
    }
}

/// An answer whose sources are being looked up.
pub(super) struct Waiting {
    family: Family,
    answer: Recorded,
    sources: SourcesFuture,
}

/// One connect to a name in progress.
pub(super) struct Run<'a> {
    memory: Option<Memory<'a>>,
    connector: &'a Connector,
    view: &'a HostView,
    port: u16,
    start: Instant,
    log: Log,
    host: HostState,
    race: Race,
    queries: Queries,
    /// An answer that came with another, handed to the race after it.
    held: Option<QueryResult>,
    attempts: Attempts,
    /// An answer waiting for the view's lookup thread (a cache miss):
    /// boxed, being rare.
    waiting: Option<Box<Waiting>>,
    connected: Option<(AttemptId, TcpStream)>,
    actions: Vec<Action>,
}

impl Run<'_> {
    /// The report so far, in an error; the log is taken.
    fn fail(
        &mut self,
        kind: ConnectErrorKind,
        detail: Option<String>,
        now: Instant,
    ) -> ConnectError {
        let log = std::mem::replace(&mut self.log, Log::empty());
        let report = log.report(Some(&self.race), now.saturating_duration_since(self.start));
        ConnectError::new(kind, detail, report)
    }

    /// Runs the race to its end. A hand-written poll: each source of
    /// events is polled in turn, the timer last, so that it is armed only
    /// when nothing else is ready; every event of one poll carries the
    /// same time.
    pub(super) async fn drive(&mut self) -> Result<(TcpStream, ConnectReport), ConnectError> {
        // One timer, moved to each new deadline rather than re-created.
        let timer = tokio::time::sleep_until(self.start.into());
        tokio::pin!(timer);
        let mut armed: Option<Instant> = None;
        std::future::poll_fn(|cx| {
            let mut clock = Clock::new();
            loop {
                if let Some(outcome) = self.apply_actions(&mut clock) {
                    return Poll::Ready(self.finish(outcome, clock.now()));
                }
                // An answer waits for its sources before the next is read,
                // so that answers reach the race in the order they came.
                if let Some(w) = &mut self.waiting {
                    if let Poll::Ready(sources) = Pin::new(&mut w.sources).poll(cx) {
                        if let Some(w) = self.waiting.take() {
                            let addrs = w.answer.addrs(&self.log);
                            let candidates = looked_up(addrs, sources, 0, self.port);
                            self.answer(w.family, candidates, clock.now());
                        }
                        continue;
                    }
                } else if let Some((rtype, result)) = self.next_answer(cx) {
                    self.on_answer(rtype, result, clock.now());
                    continue;
                }
                if let Poll::Ready((id, result)) = self.attempts.poll_next(cx) {
                    self.on_attempt(id, result, clock.now());
                    continue;
                }
                let Some(at) = self.race.poll_timeout() else {
                    if self.waiting.is_none() && self.queries.is_empty() && self.attempts.is_empty()
                    {
                        // Nothing can happen any more: the race would have
                        // said so, but never wait forever on a bug.
                        let detail = Some("no work left".to_owned());
                        return Poll::Ready(Err(self.fail(
                            ConnectErrorKind::AllAttemptsFailed,
                            detail,
                            clock.now(),
                        )));
                    }
                    return Poll::Pending;
                };
                if armed != Some(at) {
                    timer.as_mut().reset(at.into());
                    armed = Some(at);
                }
                if timer.as_mut().poll(cx).is_pending() {
                    return Poll::Pending;
                }
                armed = None;
                // The timer says the deadline has come, even if this
                // poll's time was read a moment before it.
                let now = clock.now().max(at);
                self.race_input(Input::Timer, now);
            }
        })
        .await
    }

    /// The next answer to hand to the race. Two answers in hand in one
    /// poll came at the same moment: one without addresses goes first (the
    /// other is held for the next turn), so that the race does not weigh
    /// waiting for a query that has answered already.
    fn next_answer(&mut self, cx: &mut std::task::Context<'_>) -> Option<QueryResult> {
        if let Some(held) = self.held.take() {
            return Some(held);
        }
        let Poll::Ready(first) = self.queries.poll_next(cx) else {
            return None;
        };
        let Poll::Ready(second) = self.queries.poll_next(cx) else {
            return Some(first);
        };
        if brings_addresses(&first.1) && !brings_addresses(&second.1) {
            self.held = Some(first);
            Some(second)
        } else {
            self.held = Some(second);
            Some(first)
        }
    }

    fn on_answer(
        &mut self,
        rtype: RecordType,
        result: Result<Vec<IpAddr>, ResolveError>,
        now: Instant,
    ) {
        let family = family(rtype);
        let config = self.race.config();
        let at = now.saturating_duration_since(self.start);
        let Some(answer) = record_answer(&mut self.log, at, rtype, result, config) else {
            self.race_input(Input::QueryFailed { family }, now);
            return;
        };
        let addrs = answer.addrs(&self.log);
        match cached_candidates(self.view, &self.host, addrs, 0, self.port) {
            Some(candidates) => self.answer(family, candidates, now),
            None => {
                let sources = lookup(self.view, addrs, 0);
                self.waiting = Some(Box::new(Waiting {
                    family,
                    answer,
                    sources,
                }));
            }
        }
    }

    fn on_attempt(&mut self, id: AttemptId, result: AttemptResult, now: Instant) {
        let at = now.saturating_duration_since(self.start);
        let index = id.0 as usize;
        match result.result {
            Ok(stream) => {
                debug!(?id, "connected");
                self.log.push(Event::End {
                    index,
                    at,
                    outcome: AttemptOutcome::Connected,
                    stable_wait: result.stable_wait,
                });
                self.connected = Some((id, stream));
                self.race_input(Input::Connected { id }, now);
            }
            Err(outcome) => {
                debug!(?id, %outcome, "attempt failed");
                self.log.push(Event::End {
                    index,
                    at,
                    outcome,
                    stable_wait: result.stable_wait,
                });
                self.race_input(Input::AttemptFailed { id }, now);
            }
        }
    }

    /// Hands an answer's candidates to the race, with what history says
    /// of them.
    fn answer(&mut self, family: Family, candidates: Vec<Candidate>, now: Instant) {
        if let Some(memory) = &self.memory {
            for (addr, note) in memory.notes(&candidates) {
                self.race.add_note(addr, note);
            }
        }
        self.race_input(Input::Answer { family, candidates }, now);
    }

    fn race_input(&mut self, input: Input, now: Instant) {
        self.race.handle(input, now, &mut self.actions);
    }

    /// Carries out the race's actions; returns its outcome when done.
    fn apply_actions(&mut self, clock: &mut Clock) -> Option<Outcome> {
        if self.actions.is_empty() {
            return None;
        }
        let mut done = None;
        let mut actions = std::mem::take(&mut self.actions);
        for action in actions.drain(..) {
            match action {
                Action::Start { id, candidate } => {
                    let attempt: AttemptFuture = match attempt(
                        self.connector,
                        self.view,
                        self.host.snapshot.as_deref(),
                        candidate,
                    ) {
                        Either::Left(lean) => Box::pin(lean),
                        Either::Right(boxed) => boxed,
                    };
                    self.attempts.push(id, attempt);
                    self.log.push(Event::Start {
                        address: candidate.addr(),
                        source: candidate.dest.source.map(|s| s.addr),
                        at: clock.now().saturating_duration_since(self.start),
                    });
                }
                Action::Cancel { id, reason } => {
                    if self.attempts.cancel(id) {
                        self.log.push(Event::End {
                            index: id.0 as usize,
                            at: clock.now().saturating_duration_since(self.start),
                            outcome: match reason {
                                CancelReason::LostRace => AttemptOutcome::Cancelled,
                                CancelReason::AttemptTimeout => AttemptOutcome::TimedOut,
                                _ => AttemptOutcome::Abandoned,
                            },
                            stable_wait: None,
                        });
                    }
                }
                Action::Done(outcome) => done = Some(outcome),
            }
        }
        // The emptied vector keeps its room for the next round.
        self.actions = actions;
        done
    }

    fn finish(
        &mut self,
        outcome: Outcome,
        now: Instant,
    ) -> Result<(TcpStream, ConnectReport), ConnectError> {
        // Whatever is still running lost: drop it now (the report says so).
        let at = now.saturating_duration_since(self.start);
        for id in self.attempts.drain() {
            self.log.push(Event::End {
                index: id.0 as usize,
                at,
                outcome: AttemptOutcome::Cancelled,
                stable_wait: None,
            });
        }
        if let Some(memory) = &self.memory {
            let winner = match outcome {
                Outcome::Connected { id } => Some(id),
                _ => None,
            };
            memory.remember(&self.race, &self.log, winner, at);
        }
        match outcome {
            Outcome::Connected { id } => {
                let Some((_, stream)) = self.connected.take().filter(|(won, _)| *won == id) else {
                    return Err(self.fail(
                        ConnectErrorKind::AllAttemptsFailed,
                        Some("the race named a winner whose stream is gone".into()),
                        now,
                    ));
                };
                let known = self
                    .race
                    .order()
                    .get(id.0 as usize)
                    .and_then(|c| socket::known_local(c, self.connector.socket()));
                let local = socket::local_address(&stream, known);
                self.log.push(Event::Won {
                    index: id.0 as usize,
                    local,
                });
                debug!(?id, "won");
                let log = std::mem::replace(&mut self.log, Log::empty());
                Ok((stream, log.report(Some(&self.race), at)))
            }
            Outcome::NoAddresses => Err(self.fail(ConnectErrorKind::NoAddresses, None, now)),
            Outcome::TimedOut => Err(self.fail(ConnectErrorKind::TimedOut, None, now)),
            _ => Err(self.fail(ConnectErrorKind::AllAttemptsFailed, None, now)),
        }
    }
}
