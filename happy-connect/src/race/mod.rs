//! The connection race of RFC 8305 ("Happy Eyeballs Version 2") as a pure
//! state machine.
//!
//! [`Race`] does no I/O and reads no clock. A driver owns the sockets, the
//! DNS queries and a timer; it feeds the race [`Input`]s, each stamped with
//! the current time, and carries out the [`Action`]s the race appends to a
//! vector: start a connection attempt, cancel one, or finish with an
//! [`Outcome`]. After each call the driver arms its timer for
//! [`Race::poll_timeout`] and feeds [`Input::Timer`] when it fires. Because
//! time only enters through the `now` arguments, a test can replay a whole
//! race on a virtual clock, and the same inputs always give the same actions.
//!
//! # The phases
//!
//! 1. **Resolution (RFC 8305 §3).** The driver tells [`Race::new`] which
//!    queries it sent. An AAAA answer starts the race at once. An A answer
//!    that comes while the AAAA query is still outstanding starts the
//!    *Resolution Delay* (50 ms): if AAAA answers within it, the race starts
//!    with both families, otherwise it starts with IPv4 when the delay ends.
//!    With a single query the race starts as soon as it answers. A failed
//!    query counts as an empty answer. Answers that arrive after the race
//!    started are merged into the not-yet-attempted part of the list.
//! 2. **Ordering (RFC 8305 §4).** The candidates are sorted by RFC 6724 §6
//!    with [`rfc3484_sort::sort`] under the configured policy, then the
//!    families are interleaved: *First Address Family Count* candidates of
//!    the preferred family, then one of each family in turn. Two groups are
//!    kept out of the interleaving and go last, in sorted order:
//!    - Teredo candidates (destination or source in `2001:0::/32`), after
//!      every other usable candidate. This is the project's rule, the one
//!      Windows follows: Teredo is a last resort, so it must not take a turn
//!      ahead of IPv4 just because interleaving alternates families.
//!    - Candidates with no usable source, which RFC 6724 rule 1 already puts
//!      last. They are still tried: the kernel may find a route the source
//!      probe did not.
//!
//!    Identical socket addresses are tried once, and at most
//!    [`RaceConfig::max_candidates`] are kept; the first answer keeps at
//!    most the cap less half of it while the other query is outstanding.
//! 3. **Attempts (RFC 8305 §5).** One attempt starts at once, then the next
//!    when the *Connection Attempt Delay* (250 ms) has passed since the last
//!    start, or at once when an attempt fails. Several attempts may be in
//!    flight. The first one to connect wins and every other is cancelled.
//!    Each attempt has its own timeout, after which it is cancelled and
//!    counts as failed; the whole race has a total timeout counted from
//!    [`Race::new`].
//! 4. **Done.** Exactly one [`Action::Done`] is emitted; afterwards the race
//!    ignores every input.
//!
//! [`Strategy::Sequential`] replaces phases 1 to 3 with what
//! `WSAConnectByName` does: wait for every query, then try one candidate at
//! a time in sorted order (no interleaving, Teredo still last), each bounded
//! by the attempt timeout.
//!
//! # Attempt ids
//!
//! The `n`th attempt started gets [`AttemptId`]`(n)`, counting from 0, and
//! is `order()[n]`: attempted candidates keep their place when the rest of
//! the list is re-planned. Inputs naming an id that was never started, or an
//! attempt that already finished, are ignored, and the race never emits an
//! action for such an id.
//!
//! # Example
//!
//! ```
//! use std::time::{Duration, Instant};
//! use happy_connect::race::{Action, Candidate, Family, Input, Outcome, Race, RaceConfig};
//! use happy_connect::sort::{Destination, SourceAttrs};
//!
//! let cand = |d: &str, s: &str| Candidate {
//!     dest: Destination::with_source(d.parse().unwrap(), s.parse().unwrap(), SourceAttrs::default()),
//!     port: 443,
//! };
//! let t0 = Instant::now();
//! let mut race = Race::new(RaceConfig::default(), t0, &[Family::V6, Family::V4]);
//! let mut actions = Vec::new();
//!
//! // A answers first: nothing starts during the Resolution Delay.
//! race.handle(
//!     Input::Answer { family: Family::V4, candidates: vec![cand("192.0.2.1", "192.0.2.100")] },
//!     t0,
//!     &mut actions,
//! );
//! assert!(actions.is_empty());
//! assert_eq!(race.poll_timeout(), Some(t0 + Duration::from_millis(50)));
//!
//! // AAAA answers 20 ms later: IPv6 starts at once.
//! let t1 = t0 + Duration::from_millis(20);
//! race.handle(
//!     Input::Answer { family: Family::V6, candidates: vec![cand("2001:db8::1", "2001:db8::100")] },
//!     t1,
//!     &mut actions,
//! );
//! let Action::Start { id, candidate } = actions[0] else { panic!() };
//! assert_eq!(candidate.addr().to_string(), "[2001:db8::1]:443");
//!
//! // It connects: the race is over.
//! actions.clear();
//! race.handle(Input::Connected { id }, t1 + Duration::from_millis(30), &mut actions);
//! assert!(matches!(actions[..], [Action::Done(Outcome::Connected { .. })]));
//! ```

use std::cmp::Ordering;
use std::fmt;
use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};

use rfc3484_sort::{Destination, Policy, Rule};

#[cfg(test)]
mod tests;

/// An address family, and the DNS query that yields it: A for [`Family::V4`],
/// AAAA for [`Family::V6`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Family {
    /// IPv4, the A query.
    V4,
    /// IPv6, the AAAA query.
    V6,
}

impl Family {
    /// The family of `addr` (an IPv4-mapped IPv6 address counts as IPv6:
    /// it is what the socket would be opened as).
    pub fn of(addr: IpAddr) -> Self {
        match addr {
            IpAddr::V4(_) => Self::V4,
            IpAddr::V6(_) => Self::V6,
        }
    }

    const fn index(self) -> usize {
        match self {
            Self::V4 => 0,
            Self::V6 => 1,
        }
    }
}

/// How the candidates are tried.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Strategy {
    /// RFC 8305: staggered, overlapping attempts with interleaved families.
    #[default]
    Race,
    /// `WSAConnectByName`-like: wait for every answer, then one attempt at a
    /// time in sorted order.
    Sequential,
}

impl fmt::Display for Strategy {
    /// Writes `race` or `sequential`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Race => "race",
            Self::Sequential => "sequential",
        })
    }
}

impl fmt::Display for Family {
    /// Writes `IPv4` or `IPv6`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::V4 => "IPv4",
            Self::V6 => "IPv6",
        })
    }
}

/// The race's tunables. [`RaceConfig::default`] gives the values RFC 8305
/// recommends.
#[derive(Clone, Debug)]
pub struct RaceConfig {
    /// How long to wait for AAAA after an A answer (RFC 8305 §3, default
    /// 50 ms).
    pub resolution_delay: Duration,
    /// The Connection Attempt Delay (RFC 8305 §5, default 250 ms). The race
    /// reads it through [`RaceConfig::attempt_delay`], which clamps it to
    /// the 10 ms to 2 s range RFC 8305 §5 allows, so a value written here
    /// directly is clamped too; [`RaceConfig::set_attempt_delay`] stores the
    /// clamped value.
    pub attempt_delay: Duration,
    /// The First Address Family Count (RFC 8305 §4, default 1): how many
    /// candidates of the preferred family go before the first of the other.
    /// 0 is taken as 1.
    pub first_family_count: usize,
    /// How long one attempt may take before it is cancelled and counted as
    /// failed (default 10 s).
    pub attempt_timeout: Duration,
    /// How long the whole race may take, from [`Race::new`] (default 30 s).
    pub total_timeout: Duration,
    /// The most candidates the race keeps (default 32, the most
    /// [`rfc3484_sort::sort`] orders without allocating). Answers beyond it
    /// lose their least preferred candidates; [`Race::dropped`] counts them.
    /// While the other family's query is outstanding, an answer keeps at
    /// most the cap less half of it, so that both families get a place.
    pub max_candidates: usize,
    /// Race or one at a time.
    pub strategy: Strategy,
    /// The RFC 6724 policy the candidates are sorted under.
    pub policy: Policy,
}

impl RaceConfig {
    /// RFC 8305 §3's recommended Resolution Delay.
    pub const DEFAULT_RESOLUTION_DELAY: Duration = Duration::from_millis(50);
    /// RFC 8305 §5's recommended Connection Attempt Delay.
    pub const DEFAULT_ATTEMPT_DELAY: Duration = Duration::from_millis(250);
    /// RFC 8305 §5: the Connection Attempt Delay must not be below 10 ms...
    pub const MIN_ATTEMPT_DELAY: Duration = Duration::from_millis(10);
    /// ...and should not exceed 2 s.
    pub const MAX_ATTEMPT_DELAY: Duration = Duration::from_secs(2);

    /// The Connection Attempt Delay, clamped to
    /// [`MIN_ATTEMPT_DELAY`](Self::MIN_ATTEMPT_DELAY)..=[`MAX_ATTEMPT_DELAY`](Self::MAX_ATTEMPT_DELAY).
    pub fn attempt_delay(&self) -> Duration {
        self.attempt_delay
            .clamp(Self::MIN_ATTEMPT_DELAY, Self::MAX_ATTEMPT_DELAY)
    }

    /// Sets the Connection Attempt Delay, clamped to 10 ms..=2 s.
    pub fn set_attempt_delay(&mut self, delay: Duration) -> &mut Self {
        self.attempt_delay = delay.clamp(Self::MIN_ATTEMPT_DELAY, Self::MAX_ATTEMPT_DELAY);
        self
    }
}

impl Default for RaceConfig {
    fn default() -> Self {
        Self {
            resolution_delay: Self::DEFAULT_RESOLUTION_DELAY,
            attempt_delay: Self::DEFAULT_ATTEMPT_DELAY,
            first_family_count: 1,
            attempt_timeout: Duration::from_secs(10),
            total_timeout: Duration::from_secs(30),
            max_candidates: rfc3484_sort::SORT_INLINE_CAPACITY,
            strategy: Strategy::Race,
            policy: Policy::rfc6724(),
        }
    }
}

/// Names one connection attempt: the `n`th attempt started is
/// `AttemptId(n)`, counting from 0, and is `order()[n]`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct AttemptId(pub u32);

/// A socket address to try, with the source the host would use for it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Candidate {
    /// The destination address and its source, as sorted by RFC 6724.
    pub dest: Destination,
    /// The destination port.
    pub port: u16,
}

impl Candidate {
    /// A candidate for `dest` on `port`.
    pub const fn new(dest: Destination, port: u16) -> Self {
        Self { dest, port }
    }

    /// The socket address to connect to.
    pub fn addr(&self) -> SocketAddr {
        SocketAddr::new(self.dest.addr, self.port)
    }

    /// The address family of the destination.
    pub fn family(&self) -> Family {
        Family::of(self.dest.addr)
    }

    /// Whether the destination or its source is a Teredo address
    /// (`2001:0::/32`): either way the connection would run over Teredo.
    pub fn is_teredo(&self) -> bool {
        is_teredo_ip(self.dest.addr) || self.dest.source.is_some_and(|s| is_teredo_ip(s.addr))
    }

    /// Which group of the planned order the candidate belongs to: 0 for the
    /// interleaved usable candidates, 1 for Teredo, 2 for those with no
    /// usable source (RFC 6724 rule 1 already sorts them last).
    fn tier(&self) -> u8 {
        if self.dest.source.is_none() {
            2
        } else if self.is_teredo() {
            1
        } else {
            0
        }
    }
}

pub(crate) fn is_teredo_ip(addr: IpAddr) -> bool {
    matches!(addr, IpAddr::V6(v6) if teredo_addr::is_teredo(v6))
}

/// Something that happened, for [`Race::handle`].
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Input {
    /// A query answered (possibly with no addresses). Answers for a family
    /// that was not listed in [`Race::new`], or that already answered, are
    /// ignored.
    Answer {
        /// Which query answered.
        family: Family,
        /// The addresses it gave, with their sources and the port.
        candidates: Vec<Candidate>,
    },
    /// A query failed; the same as an empty answer.
    QueryFailed {
        /// Which query failed.
        family: Family,
    },
    /// An attempt connected.
    Connected {
        /// Which attempt.
        id: AttemptId,
    },
    /// An attempt failed (refused, unreachable...).
    AttemptFailed {
        /// Which attempt.
        id: AttemptId,
    },
    /// The driver's timer fired, or any other wake-up; harmless when early.
    Timer,
}

/// Why an attempt is cancelled.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum CancelReason {
    /// Another attempt connected first.
    LostRace,
    /// The attempt ran past [`RaceConfig::attempt_timeout`].
    AttemptTimeout,
    /// The race ran past [`RaceConfig::total_timeout`].
    TotalTimeout,
}

/// How the race ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Outcome {
    /// This attempt connected; it is the driver's to keep.
    Connected {
        /// The winning attempt.
        id: AttemptId,
    },
    /// Every candidate was tried and none connected.
    AllFailed,
    /// Every query answered, with no address at all.
    NoAddresses,
    /// The total timeout passed first.
    TimedOut,
}

/// What put a candidate of [`Race::order`] before the next one; see
/// [`Race::placements`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Placement {
    /// An RFC 6724 §6 rule, as [`rfc3484_sort::compare`] says.
    Rule(Rule),
    /// The family interleaving of RFC 8305 §4.
    Interleaved,
    /// Teredo goes after every other usable candidate.
    TeredoLast,
    /// The candidate was attempted before the next one was known.
    Attempted,
}

impl fmt::Display for Placement {
    /// Writes e.g. `rule 6 (prefer higher precedence)` or
    /// `family interleaving (RFC 8305 §4)`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Rule(rule) => rule.fmt(f),
            Self::Interleaved => f.write_str("family interleaving (RFC 8305 §4)"),
            Self::TeredoLast => f.write_str("Teredo last"),
            Self::Attempted => f.write_str("attempted before the next was known"),
        }
    }
}

/// What the driver must do, appended by [`Race::handle`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Action {
    /// Start connecting to `candidate`; report back with `id`.
    Start {
        /// The new attempt's id.
        id: AttemptId,
        /// What to connect to.
        candidate: Candidate,
    },
    /// Abandon an attempt (close its socket). No input for it is expected
    /// any more, and any that comes is ignored.
    Cancel {
        /// The attempt.
        id: AttemptId,
        /// Why.
        reason: CancelReason,
    },
    /// The race is over; emitted once, always last.
    Done(Outcome),
}

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

/// Buffers reused by every re-planning, so that merging an answer does not
/// allocate once they have grown to the candidate count.
#[derive(Clone, Debug, Default)]
struct Scratch {
    dests: Vec<Destination>,
    cands: Vec<Candidate>,
    used: Vec<bool>,
}

/// The RFC 8305 race state machine; see the [module docs](self).
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
    /// How many attempts had started when each family's answer came, by
    /// [`Family::index`]: a candidate of that family was unknown when the
    /// attempts before it started.
    answered_after: [usize; 2],
    /// When the Resolution Delay started by an A answer ends.
    resolution_deadline: Option<Instant>,
    started: bool,
    /// Attempted candidates (`order[..attempts.len()]`, in start order), then
    /// the planned ones.
    order: Vec<Candidate>,
    /// One entry per started attempt, indexed by `AttemptId`.
    attempts: Vec<Attempt>,
    in_flight: usize,
    last_start: Option<Instant>,
    /// Attempts that failed during the current `handle` call, each of which
    /// may start the next candidate at once (RFC 8305 §5).
    freed: usize,
    dropped: usize,
    outcome: Option<Outcome>,
    scratch: Scratch,
}

impl Race {
    /// A race that starts at `now`, waiting for the answers to the queries
    /// in `pending` (a query that was not sent, such as an AAAA query
    /// suppressed on a Teredo-only host, is simply not listed).
    ///
    /// With no query at all, the race ends with [`Outcome::NoAddresses`] at
    /// the first [`Input::Timer`], which [`Race::poll_timeout`] asks for at
    /// once.
    pub fn new(config: RaceConfig, now: Instant, pending: &[Family]) -> Self {
        let mut sent = [false; 2];
        for family in pending {
            sent[family.index()] = true;
        }
        // Reserving the usual candidate count up front keeps the steady
        // state (timers, failures) free of allocation; answers reserve more
        // if they need it.
        let capacity = config
            .max_candidates
            .min(rfc3484_sort::SORT_INLINE_CAPACITY);
        Self {
            attempt_delay: config.attempt_delay(),
            first_family_count: config.first_family_count.max(1),
            created: now,
            total_deadline: now.checked_add(config.total_timeout),
            kick: !sent.contains(&true),
            pending: sent,
            answered_after: [0; 2],
            resolution_deadline: None,
            started: false,
            order: Vec::with_capacity(capacity),
            attempts: Vec::with_capacity(capacity),
            in_flight: 0,
            last_start: None,
            freed: 0,
            dropped: 0,
            outcome: None,
            scratch: Scratch::default(),
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
            if self.pending[Family::V6.index()] {
                next = earliest(next, self.resolution_deadline);
            }
        } else if self.config.strategy == Strategy::Race
            && self.in_flight > 0
            && self.attempts.len() < self.order.len()
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
        &self.order
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
    /// not an RFC 6724 rule. Its [`Display`](fmt::Display) suits a report.
    pub fn placements(&self) -> Vec<Placement> {
        let attempted = self.attempts.len();
        self.order
            .windows(2)
            .enumerate()
            .map(|(i, pair)| {
                let (a, b) = (&pair[0], &pair[1]);
                match rfc3484_sort::compare(&self.config.policy, &a.dest, &b.dest) {
                    (Ordering::Less | Ordering::Equal, rule) => Placement::Rule(rule),
                    // `a` started before `b`'s answer came.
                    _ if i < self.answered_after[b.family().index()] => Placement::Attempted,
                    _ if a.tier() == 0 && b.tier() == 1 => Placement::TeredoLast,
                    _ if a.tier() == 0 && b.tier() == 0 && a.family() != b.family() => {
                        Placement::Interleaved
                    }
                    // The plan is sorted within each family and group, so
                    // what is left is an attempted candidate followed by a
                    // better one it was planned before (after a group or
                    // family change the later answer brought)...
                    _ if i < attempted => Placement::Attempted,
                    // ...or a custom table that makes RFC 6724's comparison
                    // intransitive (rule 9 applies within a family only), so
                    // that a sorted pair still compares the other way.
                    _ => Placement::Rule(Rule::KeepOrder),
                }
            })
            .collect()
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
        self.dropped
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
        self.answered_after[family.index()] = self.attempts.len();
        let added = self.merge(candidates);
        // RFC 8305 §3: an A answer first only starts the Resolution Delay,
        // giving AAAA a short head start. An empty A answer has nothing to
        // start anyway, so it does not start the delay either.
        if self.config.strategy == Strategy::Race
            && family == Family::V4
            && added > 0
            && !self.started
            && self.pending[Family::V6.index()]
            && self.resolution_deadline.is_none()
        {
            self.resolution_deadline = now.checked_add(self.config.resolution_delay);
        }
    }

    /// Adds an answer's new candidates and re-plans the untried part of the
    /// order; returns how many were added.
    fn merge(&mut self, mut candidates: Vec<Candidate>) -> usize {
        // Dedupe in place, against what is known and within the answer.
        let mut kept = 0;
        for i in 0..candidates.len() {
            let c = candidates[i];
            let same = |o: &Candidate| o.dest.addr == c.dest.addr && o.port == c.port;
            if !self.order.iter().any(same) && !candidates[..kept].iter().any(same) {
                candidates[kept] = c;
                kept += 1;
            }
        }
        candidates.truncate(kept);
        let mut room = self.config.max_candidates.saturating_sub(self.order.len());
        if self.pending.contains(&true) {
            // The other family's query is still out: keep half the cap for
            // its answer, so that an answer of hundreds of addresses (a
            // broken or hostile server) cannot crowd the other family out
            // of the race.
            room = room.saturating_sub(self.config.max_candidates / 2);
        }
        if candidates.len() > room {
            // Keep the answer's best, not whichever the server listed first.
            sort_candidates(&self.config.policy, &mut candidates, &mut self.scratch);
            self.dropped += candidates.len() - room;
            candidates.truncate(room);
        }
        let added = candidates.len();
        if added > 0 {
            self.order.extend_from_slice(&candidates);
            // Every planned candidate may become an attempt: reserving now
            // keeps `start_next` from allocating.
            self.attempts
                .reserve(self.order.len() - self.attempts.len());
            self.replan();
        }
        added
    }

    /// Re-sorts and re-interleaves the not-yet-attempted candidates.
    fn replan(&mut self) {
        let Self {
            order,
            attempts,
            scratch,
            config,
            first_family_count,
            ..
        } = self;
        let (tried, plan) = order.split_at_mut(attempts.len());
        if plan.is_empty() {
            return;
        }
        sort_candidates(&config.policy, plan, scratch);
        let out = &mut scratch.cands;
        out.clear();
        match config.strategy {
            Strategy::Race => interleave(tried, plan, *first_family_count, out),
            Strategy::Sequential => out.extend(plan.iter().filter(|c| c.tier() == 0)),
        }
        for tier in 1..=2 {
            out.extend(plan.iter().filter(|c| c.tier() == tier));
        }
        plan.copy_from_slice(out);
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
            while self.attempts.len() < self.order.len() && self.may_start(now) {
                self.freed = self.freed.saturating_sub(1);
                self.start_next(now, actions);
            }
        }
        // A failure frees a slot only for a candidate known at the time;
        // one arriving later waits for the usual delay.
        self.freed = 0;
        self.check_exhausted(actions);
    }

    /// Whether the first attempt may start.
    fn ready(&self, now: Instant) -> bool {
        if self.order.is_empty() {
            return false;
        }
        match self.config.strategy {
            Strategy::Race => {
                !self.pending[Family::V6.index()]
                    || self.resolution_deadline.is_some_and(|d| now >= d)
            }
            Strategy::Sequential => !self.pending.contains(&true),
        }
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
        let candidate = self.order[index];
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
            && self.attempts.len() == self.order.len();
        if exhausted {
            let outcome = if self.order.is_empty() {
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

/// Sorts candidates by RFC 6724 with [`rfc3484_sort::sort`], stably.
///
/// The sort orders destinations, not candidates, so the candidates are
/// matched back to the sorted destinations: the `k`th copy of a destination
/// in the sorted list is its `k`th candidate in the input, since a stable
/// sort keeps identical destinations in their input order.
fn sort_candidates(policy: &Policy, candidates: &mut [Candidate], scratch: &mut Scratch) {
    if candidates.len() < 2 {
        return;
    }
    scratch.dests.clear();
    scratch.dests.extend(candidates.iter().map(|c| c.dest));
    rfc3484_sort::sort(policy, &mut scratch.dests);
    scratch.cands.clear();
    scratch.cands.extend_from_slice(candidates);
    scratch.used.clear();
    scratch.used.resize(candidates.len(), false);
    for (slot, dest) in candidates.iter_mut().zip(&scratch.dests) {
        let found = scratch
            .cands
            .iter()
            .zip(scratch.used.iter_mut())
            .find(|(c, used)| !**used && c.dest == *dest);
        if let Some((c, used)) = found {
            *used = true;
            *slot = *c;
        }
    }
}

/// Appends the interleaved order (RFC 8305 §4) of the usable, non-Teredo
/// candidates of the sorted `plan` to `out`, continuing the pattern of the
/// candidates already `tried`.
///
/// With nothing tried, it is `first_family_count` candidates of the family
/// of the best candidate, then one of each family in turn, each family in
/// sorted order; when one family runs out the other follows. After a late
/// answer, the pattern picks up where the attempts left it, so that an
/// IPv4 answer arriving while IPv6 attempts run gets the next turn rather
/// than waiting behind the remaining IPv6 candidates.
fn interleave(
    tried: &[Candidate],
    plan: &[Candidate],
    first_family_count: usize,
    out: &mut Vec<Candidate>,
) {
    let Some(preferred) = plan.iter().find(|c| c.tier() == 0).map(Candidate::family) else {
        return;
    };
    // The family of the last attempt, how many attempts in a row at the end
    // were of it, and whether those are all the attempts.
    let mut tried = tried
        .iter()
        .rev()
        .filter(|c| c.tier() == 0)
        .map(Candidate::family);
    let first_count = match tried.next() {
        None => first_family_count,
        Some(last) => {
            let mut run = 1;
            let mut only = true;
            for family in tried {
                if family == last {
                    run += 1;
                } else {
                    only = false;
                    break;
                }
            }
            match (preferred == last, only) {
                // Still in the opening run of the preferred family.
                (true, true) => first_family_count.saturating_sub(run),
                // Alternating, and the preferred family just had its turn.
                (true, false) => 0,
                // Only the other family was tried: the preferred one gets
                // the opening run it would have had.
                (false, true) => first_family_count,
                // Alternating, and it is the preferred family's turn.
                (false, false) => 1,
            }
        }
    };
    let of = |family: Family| {
        plan.iter()
            .filter(move |c| c.tier() == 0 && c.family() == family)
            .copied()
    };
    let other = match preferred {
        Family::V4 => Family::V6,
        Family::V6 => Family::V4,
    };
    let (mut first, mut second) = (of(preferred), of(other));
    out.extend(first.by_ref().take(first_count));
    loop {
        let a = second.next();
        let b = first.next();
        out.extend(a);
        out.extend(b);
        if a.is_none() && b.is_none() {
            break;
        }
    }
}
