//! The race itself: a state machine fed inputs stamped with the time,
//! answering with actions.

use std::net::IpAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use rfc3484_sort::{Destination, Rule, Source, SourceAttrs};

use super::order;
use super::{
    Action, AttemptId, CancelReason, Candidate, Family, Input, Outcome, Placement, RaceConfig,
    Strategy,
};

/// The state of one started attempt.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Attempt {
    /// Connecting; cancelled at `deadline` (`None`: the timeout overflows
    /// `Instant`, so never).
    InFlight { deadline: Option<Instant> },
    /// Finished without a connection (failed, timed out or cancelled).
    Over,
    /// Won the race.
    Connected,
}

/// The RFC 8305 race state machine; see the [module docs](crate::race).
#[derive(Clone, Debug)]
pub struct Race {
    config: RaceConfig,
    /// `config.attempt_delay()`, read once.
    attempt_delay: Duration,
    /// `config.first_family_count`, at least 1.
    first_family_count: usize,
    created: Instant,
    /// `None` when the total timeout overflows `Instant`: never.
    total_deadline: Option<Instant>,
    /// Set when `new` was given no query, so the race ends on the first
    /// wake-up rather than waiting for the total timeout.
    kick: bool,
    /// Queries sent and not answered, by [`Family::index`].
    pending: [bool; 2],
    /// When the Resolution Delay started by the first answer ends.
    resolution_deadline: Option<Instant>,
    /// What each family's query could still bring: the race waits (up to
    /// the Resolution Delay) for a pending family only if one of its
    /// prospects would go before the best candidate in hand. Shared: a
    /// connector computes them once per state of the host.
    prospects: Arc<[Candidate]>,
    started: bool,
    /// The candidates: attempted ones (`order[..attempts.len()]`, in start
    /// order), then the planned ones.
    plan: order::Planner,
    /// One entry per started attempt, indexed by `AttemptId`.
    attempts: Vec<Attempt>,
    in_flight: usize,
    last_start: Option<Instant>,
    /// Attempts that failed during the current `handle` call, each of which
    /// may start the next candidate at once (RFC 8305 §5).
    freed: usize,
    outcome: Option<Outcome>,
}

impl Race {
    /// A race that starts at `now`, waiting for the answers to the queries
    /// in `pending` (a query that was not sent, such as an AAAA query
    /// suppressed on a Teredo-only host, is simply not listed).
    ///
    /// With no query at all, the race ends with [`Outcome::NoAddresses`] at
    /// the first [`Input::Timer`], which [`Race::poll_timeout`] asks for at
    /// once.
    ///
    /// Not knowing the host, it assumes a pending query could bring any
    /// kind of candidate ([`default_prospects`]);
    /// [`Race::with_prospects`] says what this host can actually reach.
    pub fn new(config: RaceConfig, now: Instant, pending: &[Family]) -> Self {
        Self::with_prospects(config, now, pending, default_prospects())
    }

    /// [`Race::new`], with what each family's query could bring on this
    /// host: one candidate per kind of destination the host can reach
    /// (native IPv6, 6to4, Teredo, IPv4, NAT64), each with the source the
    /// host would use for it. When one answer is in and the other query
    /// is not, the race starts at once unless a prospect of the pending
    /// family would go before the best candidate in hand under the policy;
    /// then it waits for that answer up to the Resolution Delay.
    pub fn with_prospects(
        config: RaceConfig,
        now: Instant,
        pending: &[Family],
        prospects: impl Into<Arc<[Candidate]>>,
    ) -> Self {
        let mut sent = [false; 2];
        for family in pending {
            sent[family.index()] = true;
        }
        // Room for the few addresses a name usually has: an answer reserves
        // more when it brings more (and every attempt's slot with it, so
        // timers and failures never allocate). A process may hold
        // thousands of races at once; they should not each reserve the
        // whole cap.
        let capacity = config.max_candidates.min(4);
        Self {
            attempt_delay: config.attempt_delay(),
            first_family_count: config.first_family_count.max(1),
            created: now,
            total_deadline: now.checked_add(config.total_timeout),
            kick: !sent.contains(&true),
            pending: sent,
            resolution_deadline: None,
            prospects: prospects.into(),
            started: false,
            plan: order::Planner::with_capacity(capacity),
            attempts: Vec::with_capacity(capacity),
            in_flight: 0,
            last_start: None,
            freed: 0,
            outcome: None,
            config,
        }
    }

    /// Feeds one input that happened at `now`, and appends the actions it
    /// calls for to `actions`.
    ///
    /// Besides the input itself, every call catches up with the clock:
    /// expired timeouts, the end of the Resolution Delay and due attempt
    /// starts are handled as of `now`, so any input doubles as a wake-up.
    /// After [`Action::Done`] nothing is appended any more. Apart from
    /// merging an answer, a call does not allocate (beyond `actions`).
    pub fn handle(&mut self, input: Input, now: Instant, actions: &mut Vec<Action>) {
        if self.outcome.is_some() {
            return;
        }
        match input {
            Input::Answer { family, candidates } => self.on_answer(family, candidates, now),
            Input::QueryFailed { family } => self.on_answer(family, Vec::new(), now),
            Input::Connected { id } => {
                if let Some(index) = self.in_flight_index(id) {
                    // A connection in hand wins even if a timeout is due
                    // at `now`: throwing it away would help nobody.
                    self.win(index, actions);
                    return;
                }
            }
            Input::AttemptFailed { id } => {
                if let Some(index) = self.in_flight_index(id) {
                    self.attempts[index] = Attempt::Over;
                    self.in_flight -= 1;
                    self.freed += 1;
                }
            }
            Input::Timer => {}
        }
        self.advance(now, actions);
    }

    /// When to feed [`Input::Timer`] next: the earliest of the total
    /// timeout, the end of the Resolution Delay, the next staggered start
    /// and the attempts' timeouts. `None` once the race is done (or if every
    /// timeout is too large for `Instant`).
    pub fn poll_timeout(&self) -> Option<Instant> {
        if self.outcome.is_some() {
            return None;
        }
        if self.kick {
            return Some(self.created);
        }
        let mut next = self.total_deadline;
        if !self.started {
            if self.pending.contains(&true) {
                next = earliest(next, self.resolution_deadline);
            }
        } else if self.config.strategy == Strategy::Race
            && self.in_flight > 0
            && self.attempts.len() < self.plan.order.len()
        {
            let start = self
                .last_start
                .and_then(|t| t.checked_add(self.attempt_delay));
            next = earliest(next, start);
        }
        for attempt in &self.attempts {
            if let Attempt::InFlight { deadline } = *attempt {
                next = earliest(next, deadline);
            }
        }
        next
    }

    /// The candidates in the order they were and will be tried: attempted
    /// ones first, in start order (`order()[n]` is `AttemptId(n)`), then the
    /// current plan for the rest, which a later answer may still change.
    pub fn order(&self) -> &[Candidate] {
        &self.plan.order
    }

    /// How many candidates have been attempted: `order()[..attempted()]`.
    pub fn attempted(&self) -> usize {
        self.attempts.len()
    }

    /// How many attempts are in flight.
    pub fn in_flight(&self) -> usize {
        self.in_flight
    }

    /// Why each candidate of [`Race::order`] comes before the next one:
    /// element `i` is about `order()[i]` and `order()[i + 1]`, so there is
    /// one element fewer than candidates (as with [`rfc3484_sort::explain`]).
    ///
    /// It is `Some(rule)` when the RFC 6724 comparison under the policy
    /// puts the pair in this order, naming the deciding rule
    /// ([`Rule::KeepOrder`] when no rule separates them), and `None` when
    /// the comparison prefers the second one, that is when something other
    /// than RFC 6724 placed them: the family interleaving of RFC 8305 §4,
    /// the Teredo-last rule, or an attempt keeping its place when a later
    /// answer brought a better candidate. [`Race::placements`] tells those
    /// apart.
    pub fn explain(&self) -> Vec<Option<Rule>> {
        self.placements()
            .into_iter()
            .map(|p| match p {
                Placement::Rule(rule) => Some(rule),
                _ => None,
            })
            .collect()
    }

    /// Like [`Race::explain`], but naming what placed a pair when it was
    /// not an RFC 6724 rule. Its [`Display`](std::fmt::Display) suits a report.
    pub fn placements(&self) -> Vec<Placement> {
        self.plan
            .placements(&self.config.policy, self.attempts.len())
    }

    /// Whether the race is over ([`Action::Done`] was emitted).
    pub fn is_done(&self) -> bool {
        self.outcome.is_some()
    }

    /// How the race ended, once it has.
    pub fn outcome(&self) -> Option<Outcome> {
        self.outcome
    }

    /// How many candidates were dropped because of
    /// [`RaceConfig::max_candidates`] (duplicates are not counted).
    pub fn dropped(&self) -> usize {
        self.plan.dropped()
    }

    /// The configuration the race runs with.
    pub fn config(&self) -> &RaceConfig {
        &self.config
    }

    fn in_flight_index(&self, id: AttemptId) -> Option<usize> {
        let index = usize::try_from(id.0).ok()?;
        match self.attempts.get(index) {
            Some(Attempt::InFlight { .. }) => Some(index),
            _ => None,
        }
    }

    fn on_answer(&mut self, family: Family, candidates: Vec<Candidate>, now: Instant) {
        let slot = &mut self.pending[family.index()];
        if !*slot {
            return;
        }
        *slot = false;
        let attempted = self.attempts.len();
        let added = self.plan.merge(
            &self.config,
            self.first_family_count,
            family,
            candidates,
            attempted,
            self.pending.contains(&true),
        );
        if added > 0 {
            // Every planned candidate may become an attempt: reserving now
            // keeps `start_next` from allocating.
            self.attempts.reserve(self.plan.order.len() - attempted);
        }
        // RFC 8305 §3, generalised: the first answer with candidates starts
        // the Resolution Delay; whether the race waits it out depends on
        // what the other query could bring (`ready`). An empty answer has
        // nothing to start, so it does not start the delay either.
        if added > 0
            && !self.started
            && self.pending.contains(&true)
            && self.resolution_deadline.is_none()
        {
            self.resolution_deadline = now.checked_add(self.config.resolution_delay);
        }
    }

    /// Catches up with `now`: end of the race, timeouts, starts.
    fn advance(&mut self, now: Instant, actions: &mut Vec<Action>) {
        self.kick = false;
        // Checked before the total timeout: if everything has failed by
        // now, that is the more useful thing to report.
        if self.check_exhausted(actions) {
            return;
        }
        if self.total_deadline.is_some_and(|d| now >= d) {
            self.cancel_all(CancelReason::TotalTimeout, None, actions);
            self.finish(Outcome::TimedOut, actions);
            return;
        }
        for (index, attempt) in self.attempts.iter_mut().enumerate() {
            let expired = matches!(*attempt, Attempt::InFlight { deadline: Some(d) } if now >= d);
            if expired {
                *attempt = Attempt::Over;
                self.in_flight -= 1;
                self.freed += 1;
                actions.push(Action::Cancel {
                    id: attempt_id(index),
                    reason: CancelReason::AttemptTimeout,
                });
            }
        }
        if !self.started && self.ready(now) {
            self.started = true;
        }
        if self.started {
            while self.attempts.len() < self.plan.order.len() && self.may_start(now) {
                self.freed = self.freed.saturating_sub(1);
                self.start_next(now, actions);
            }
        }
        // A failure frees a slot only for a candidate known at the time;
        // one arriving later waits for the usual delay.
        self.freed = 0;
        self.check_exhausted(actions);
    }

    /// Whether the first attempt may start: once every query has
    /// answered, or when a query is still out but nothing it could bring
    /// would go first, or when the Resolution Delay has run out.
    fn ready(&self, now: Instant) -> bool {
        if self.plan.order.is_empty() {
            return false;
        }
        if !self.pending.contains(&true) || self.resolution_deadline.is_some_and(|d| now >= d) {
            return true;
        }
        !self.pending_could_go_first()
    }

    /// Whether a prospect of a pending query would go before the best
    /// candidate in hand (the head of the plan: nothing is attempted yet).
    pub(crate) fn pending_could_go_first(&self) -> bool {
        let Some(best) = self.plan.order.get(self.attempts.len()) else {
            return true;
        };
        self.prospects
            .iter()
            .filter(|p| self.pending[p.family().index()])
            .any(|p| order::goes_before(&self.config.policy, p, best))
    }

    /// Whether the next planned candidate may start now (there is one).
    fn may_start(&self, now: Instant) -> bool {
        if self.in_flight == 0 {
            return true;
        }
        match self.config.strategy {
            Strategy::Race => {
                self.freed > 0
                    || self.last_start.is_some_and(|t| {
                        t.checked_add(self.attempt_delay).is_some_and(|d| now >= d)
                    })
            }
            Strategy::Sequential => false,
        }
    }

    fn start_next(&mut self, now: Instant, actions: &mut Vec<Action>) {
        let index = self.attempts.len();
        let candidate = self.plan.order[index];
        self.attempts.push(Attempt::InFlight {
            deadline: now.checked_add(self.config.attempt_timeout),
        });
        self.in_flight += 1;
        self.last_start = Some(now);
        actions.push(Action::Start {
            id: attempt_id(index),
            candidate,
        });
    }

    /// Ends the race with `AllFailed` or `NoAddresses` when nothing is left
    /// to wait for; returns whether it did.
    fn check_exhausted(&mut self, actions: &mut Vec<Action>) -> bool {
        let exhausted = !self.pending.contains(&true)
            && self.in_flight == 0
            && self.attempts.len() == self.plan.order.len();
        if exhausted {
            let outcome = if self.plan.order.is_empty() {
                Outcome::NoAddresses
            } else {
                Outcome::AllFailed
            };
            self.finish(outcome, actions);
        }
        exhausted
    }

    fn win(&mut self, index: usize, actions: &mut Vec<Action>) {
        self.attempts[index] = Attempt::Connected;
        self.in_flight -= 1;
        self.cancel_all(CancelReason::LostRace, Some(index), actions);
        self.finish(
            Outcome::Connected {
                id: attempt_id(index),
            },
            actions,
        );
    }

    fn cancel_all(
        &mut self,
        reason: CancelReason,
        except: Option<usize>,
        actions: &mut Vec<Action>,
    ) {
        for (index, attempt) in self.attempts.iter_mut().enumerate() {
            if Some(index) != except && matches!(attempt, Attempt::InFlight { .. }) {
                *attempt = Attempt::Over;
                actions.push(Action::Cancel {
                    id: attempt_id(index),
                    reason,
                });
            }
        }
        self.in_flight = 0;
    }

    fn finish(&mut self, outcome: Outcome, actions: &mut Vec<Action>) {
        self.outcome = Some(outcome);
        self.resolution_deadline = None;
        actions.push(Action::Done(outcome));
    }
}

fn attempt_id(index: usize) -> AttemptId {
    // Attempts are bounded by `max_candidates`; a race of four billion
    // attempts would take years of Connection Attempt Delays.
    AttemptId(u32::try_from(index).unwrap_or(u32::MAX))
}

/// The earlier of two optional deadlines, `None` meaning never.
fn earliest(a: Option<Instant>, b: Option<Instant>) -> Option<Instant> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

/// What a pending query could bring when nothing is known of the host:
/// one candidate of each kind of destination (loopback, native IPv6,
/// NAT64's well-known prefix, 6to4, Teredo, unique local, link-local;
/// IPv4 loopback, global, private and link-local), each with a source of
/// its own kind, so that the race waits for any query whose answer might
/// go first.
pub fn default_prospects() -> Vec<Candidate> {
    let pair = |dest: &str, src: &str, tunnel: bool| {
        let attrs = SourceAttrs {
            tunnel,
            ..SourceAttrs::default()
        };
        let parse = |s: &str| s.parse::<IpAddr>().unwrap_or(IpAddr::from([0u8; 4]));
        Candidate::new(
            Destination {
                addr: parse(dest),
                source: Some(Source {
                    addr: parse(src),
                    attrs,
                }),
            },
            0,
        )
    };
    vec![
        pair("::1", "::1", false),
        pair("2001:4860:4860::8888", "2001:db8::1", false),
        pair("64:ff9b::808:808", "2001:db8::1", false),
        pair("2002:c058:6301::1", "2002:c000:201::1", true),
        pair(
            "2001:0:4136:e378:8000:63bf:3fff:fdd2",
            "2001:0:c633:640a:8000:f227:bd6a:13fe",
            true,
        ),
        pair("fd00::1", "fd00::2", false),
        pair("fe80::1", "fe80::2", false),
        pair("127.0.0.1", "127.0.0.1", false),
        pair("8.8.8.8", "192.0.2.1", false),
        pair("10.0.0.1", "10.0.0.2", false),
        pair("169.254.0.1", "169.254.0.2", false),
    ]
}
