//! The tokio driver of one connect (or resolution): runs the queries,
//! takes sources from the host view, feeds the pure [`Race`] and carries
//! out its actions with real sockets, recording what happens in a [`Log`].
//!
//! Every decision is the race's or the planner's; this file does I/O.
//! Queries and attempts are futures polled by the connect future itself
//! (no task is spawned), so dropping it (a caller's timeout, a `select!`)
//! drops them all and closes every socket at once.
//!
//! A connect to an IP address has one candidate and no query: it skips the
//! race and makes its one attempt directly, under the same timeouts. That
//! keeps the common case as light as a plain connect (a small future, few
//! allocations) without changing what it does.

use std::borrow::Cow;
use std::future::Future;
use std::net::IpAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::Poll;
use std::time::{Duration, Instant};

use futures_util::future::Either;
use iface_probe::{Dest, HostView, Snapshot, SourceInfo, SourcesFuture};
use tokio::net::TcpStream;
use tracing::debug;

use crate::Plan;
use crate::connector::Connector;
use crate::error::{ConnectError, ConnectErrorKind};
use crate::history::{Advice, Partition, Past};
use crate::host::{self, HostState};
use crate::nat64::host::Nat64Plan;
use crate::plan::{self, Target};
use crate::race::order::Planner;
use crate::race::{
    Action, AttemptId, CancelReason, Candidate, Family, Input, Outcome, Race, RaceConfig, Strategy,
    is_teredo_ip,
};
use crate::report::{AttemptOutcome, ConnectReport, Event, HistoryReport, Log};
use crate::resolve::{LookupFuture, RecordType, ResolveError};
use crate::socket::{self, SocketOptions};

mod one;

/// How long a connect waits for the host view's first reading of the host
/// (the first connect of a process, or of a namespace).
const FIRST_READING: Duration = Duration::from_secs(2);

/// What an attempt hands back.
struct AttemptResult {
    stable_wait: Option<Duration>,
    result: Result<TcpStream, AttemptOutcome>,
}

type AttemptFuture = Pin<Box<dyn Future<Output = AttemptResult> + Send>>;

/// A query's record type and its answer.
type QueryResult = (RecordType, Result<Vec<IpAddr>, ResolveError>);

/// The queries in flight (A, and AAAA unless skipped), each with its
/// record type: two slots polled in place.
#[derive(Default)]
struct Queries {
    slots: [Option<(RecordType, LookupFuture)>; 2],
}

impl Queries {
    fn push(&mut self, rtype: RecordType, lookup: LookupFuture) {
        if let Some(free) = self.slots.iter_mut().find(|slot| slot.is_none()) {
            *free = Some((rtype, lookup));
        }
    }

    fn is_empty(&self) -> bool {
        self.slots.iter().all(Option::is_none)
    }

    fn families(&self) -> ([Family; 2], usize) {
        let mut out = [Family::V4; 2];
        let mut n = 0;
        for (rtype, _) in self.slots.iter().flatten() {
            out[n] = family(*rtype);
            n += 1;
        }
        (out, n)
    }

    /// The next answer to arrive; never resolves while no query runs.
    fn next(&mut self) -> impl Future<Output = QueryResult> + '_ {
        std::future::poll_fn(move |cx| self.poll_next(cx))
    }

    fn poll_next(&mut self, cx: &mut std::task::Context<'_>) -> Poll<QueryResult> {
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
struct Attempts {
    first: Option<(AttemptId, AttemptFuture)>,
    more: Vec<(AttemptId, AttemptFuture)>,
}

impl Attempts {
    fn is_empty(&self) -> bool {
        self.first.is_none() && self.more.is_empty()
    }

    fn push(&mut self, id: AttemptId, attempt: AttemptFuture) {
        if self.first.is_none() {
            self.first = Some((id, attempt));
        } else {
            self.more.push((id, attempt));
        }
    }

    /// Drops the attempt; returns whether it was running.
    fn cancel(&mut self, id: AttemptId) -> bool {
        if self.first.as_ref().is_some_and(|(first, _)| *first == id) {
            self.first = None;
            return true;
        }
        let before = self.more.len();
        self.more.retain(|(running, _)| *running != id);
        self.more.len() != before
    }

    /// The ids still running; empties the set.
    fn drain(&mut self) -> impl Iterator<Item = AttemptId> + use<> {
        let first = self.first.take().map(|(id, _)| id);
        let more: Vec<AttemptId> = self.more.drain(..).map(|(id, _)| id).collect();
        first.into_iter().chain(more)
    }

    /// The next attempt to end.
    fn poll_next(&mut self, cx: &mut std::task::Context<'_>) -> Poll<(AttemptId, AttemptResult)> {
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
fn brings_addresses(result: &Result<Vec<IpAddr>, ResolveError>) -> bool {
    result.as_ref().is_ok_and(|addrs| !addrs.is_empty())
}

/// The time of one poll of a connect, read when first needed: every event
/// handled in that poll is stamped with it (a poll lasts microseconds; a
/// clock read costs tens of nanoseconds).
struct Clock(Option<Instant>);

impl Clock {
    fn new() -> Self {
        Self(None)
    }

    fn now(&mut self) -> Instant {
        *self.0.get_or_insert_with(Instant::now)
    }
}

fn family(rtype: RecordType) -> Family {
    match rtype {
        RecordType::A => Family::V4,
        RecordType::Aaaa => Family::V6,
    }
}

/// The host as the view has it: at once when the view is up; else the
/// (rare) wait for its first reading, boxed so that it does not make
/// every connect's future larger.
async fn host_state(view: &HostView) -> HostState {
    match view.snapshot() {
        Some(snapshot) => HostState {
            snapshot: Some(snapshot),
            unavailable: None,
        },
        None => Box::pin(host::state(view, FIRST_READING)).await,
    }
}

/// The candidates for `addrs`, with sources from the view's cache, or
/// `None` when one is not cached (then [`lookup`] asks for them).
fn cached_candidates(
    view: &HostView,
    host: &HostState,
    addrs: &[IpAddr],
    scope_id: u32,
    port: u16,
) -> Option<Vec<Candidate>> {
    let mut out = Vec::with_capacity(addrs.len());
    for &ip in addrs {
        let source = if host.snapshot.is_some() {
            view.cached_source(&Dest::new(ip, Some(scope_id)))?
        } else {
            None
        };
        out.push(plan::candidate(ip, source.as_ref(), port).with_scope_id(scope_id));
    }
    Some(out)
}

/// Asks the view's lookup thread for the sources of `addrs`.
fn lookup(view: &HostView, addrs: &[IpAddr], scope_id: u32) -> SourcesFuture {
    let dests: Vec<Dest> = addrs
        .iter()
        .map(|&ip| Dest::new(ip, Some(scope_id)))
        .collect();
    view.sources(&dests)
}

/// The candidates from looked-up sources (unknown after a failure).
fn looked_up(
    addrs: &[IpAddr],
    sources: std::io::Result<Vec<Option<SourceInfo>>>,
    scope_id: u32,
    port: u16,
) -> Vec<Candidate> {
    let sources = sources.unwrap_or_else(|err| {
        debug!(error = %err, "source lookup failed; sources unknown");
        Vec::new()
    });
    let mut out = plan::candidates(addrs, &sources, port);
    for c in &mut out {
        *c = c.with_scope_id(scope_id);
    }
    out
}

/// The candidates of an answer (or a literal), cached or looked up.
async fn candidates(
    view: &HostView,
    host: &HostState,
    addrs: &[IpAddr],
    scope_id: u32,
    port: u16,
) -> Vec<Candidate> {
    match cached_candidates(view, host, addrs, scope_id, port) {
        Some(candidates) => candidates,
        None => {
            let sources = lookup(view, addrs, scope_id).await;
            looked_up(addrs, sources, scope_id, port)
        }
    }
}

/// A huge answer must not cost a kernel lookup per address: the race
/// keeps at most `max_candidates` of them anyway, preferring by RFC 6724,
/// so a generous multiple is enough for it to choose from.
fn answer_limit(config: &RaceConfig) -> usize {
    config.max_candidates.saturating_mul(4).max(64)
}

/// The first `limit` distinct addresses of an oversized answer, and how
/// many were dropped.
fn cap_answer(addrs: &[IpAddr], limit: usize) -> (Vec<IpAddr>, usize) {
    let mut seen = std::collections::HashSet::new();
    let mut kept: Vec<IpAddr> = addrs.iter().copied().filter(|a| seen.insert(*a)).collect();
    let dropped = addrs.len().saturating_sub(limit.min(kept.len()));
    kept.truncate(limit);
    (kept, dropped)
}

/// An answer as recorded: its record type (the log keeps one answer per
/// query), and the addresses to use when they are not the answer's (an oversized answer
/// capped, an A answer synthesized into NAT64 destinations); the log keeps
/// the answer whole, so that the report shows what came.
struct Recorded {
    rtype: RecordType,
    capped: Option<Vec<IpAddr>>,
}

impl Recorded {
    /// The addresses to make candidates of.
    fn addrs<'l>(&'l self, log: &'l Log) -> &'l [IpAddr] {
        match &self.capped {
            Some(capped) => capped,
            None => log.answer(self.rtype),
        }
    }
}

/// Records an answer; returns where it is when it brought addresses (of
/// its own family: a resolver that ignores the type must not put IPv4
/// into the IPv6 race).
fn record_answer(
    log: &mut Log,
    at: Duration,
    rtype: RecordType,
    result: Result<Vec<IpAddr>, ResolveError>,
    config: &RaceConfig,
) -> Option<Recorded> {
    match result {
        Ok(mut addrs) => {
            addrs.retain(|a| rtype.matches(a));
            debug!(%rtype, count = addrs.len(), "answer");
            let limit = answer_limit(config);
            let mut capped = (addrs.len() > limit).then(|| {
                let (kept, dropped) = cap_answer(&addrs, limit);
                log.dropped_early += dropped;
                kept
            });
            // On an IPv6-only host with a NAT64 prefix, the A answer's
            // addresses are reached through the translator.
            if let (RecordType::A, Some(nat64)) = (rtype, log.nat64.clone()) {
                let use_now = capped.as_deref().unwrap_or(&addrs);
                if let Some(synthesized) = nat64.answer(use_now, &mut log.synthesized) {
                    capped = Some(synthesized);
                }
            }
            log.push(Event::Answer {
                rtype,
                at,
                result: Ok(addrs),
            });
            Some(Recorded { rtype, capped })
        }
        Err(err) => {
            debug!(%rtype, error = %err, "query failed");
            log.push(Event::Answer {
                rtype,
                at,
                result: Err(err),
            });
            None
        }
    }
}

/// The host, the target and (for a name) the queries sent: what a connect
/// and a resolution both begin with.
struct Opening {
    host: HostState,
    target: Target,
    queries: Queries,
}

/// Reads the host, parses the target and starts the queries, recording
/// each decision in `log`.
async fn open(
    connector: &Connector,
    view: &HostView,
    host_name: &str,
    log: &mut Log,
) -> Result<Opening, (ConnectErrorKind, String)> {
    let host = host_state(view).await;
    log.capabilities = connector.with_facts(host.snapshot.as_ref(), |f| f.capabilities);
    log.host_unavailable.clone_from(&host.unavailable);
    let target = plan::target(host_name, host.snapshot.as_deref())
        .map_err(|invalid| (ConnectErrorKind::InvalidHost, invalid.0))?;
    let literal = match target {
        Target::Literal { ip, .. } => Some(ip),
        Target::Name => None,
    };
    log.nat64 = nat64_plan(connector, &host, literal).await;
    let mut queries = Queries::default();
    if target != Target::Name {
        return Ok(Opening {
            host,
            target,
            queries,
        });
    }
    if let Some((ip, scope_id)) = connector.zoned_hosts(host_name, host.snapshot.as_deref()) {
        // The hosts file gives this name a link-local address with its
        // zone: that is the answer, as for a literal.
        log.push(Event::Query {
            rtype: RecordType::Aaaa,
            sent: false,
            reason: Cow::Borrowed("answered from the hosts file (a zoned link-local address)"),
        });
        return Ok(Opening {
            host,
            target: Target::Literal {
                ip: IpAddr::V6(ip),
                scope_id,
            },
            queries,
        });
    }
    let resolver = connector.resolver().map_err(|err| {
        (
            ConnectErrorKind::NoAddresses,
            format!("cannot set up DNS: {err}"),
        )
    })?;
    // Two query decisions: the usual connect to a name records them
    // without growing.
    log.queries.reserve_exact(2);
    let decision = connector.aaaa().decide(log.capabilities.as_ref());
    log.push(Event::Query {
        rtype: RecordType::A,
        sent: true,
        reason: Cow::Borrowed("always asked"),
    });
    queries.push(RecordType::A, resolver.lookup(host_name, RecordType::A));
    log.push(Event::Query {
        rtype: RecordType::Aaaa,
        sent: decision.send,
        reason: Cow::Borrowed(decision.reason.as_str()),
    });
    if decision.send {
        queries.push(
            RecordType::Aaaa,
            resolver.lookup(host_name, RecordType::Aaaa),
        );
    }
    debug!(aaaa = decision.send, "queries sent");
    Ok(Opening {
        host,
        target,
        queries,
    })
}

/// What NAT64 means for this connect: nothing on a host with IPv4 that
/// knows no prefix (`None`, at the cost of one pointer comparison);
/// otherwise the prefixes and whether to synthesize. On an IPv6-only host
/// that heard no PREF64, the first connect on a network that needs a
/// prefix asks the DNS64 server (RFC 7050), once for every connect then.
async fn nat64_plan(
    connector: &Connector,
    host: &HostState,
    literal: Option<IpAddr>,
) -> Option<Arc<Nat64Plan>> {
    let snapshot = host.snapshot.as_ref()?;
    let state = connector.nat64_state();
    let nat64 = state.host(snapshot);
    if !nat64.engaged() {
        return None;
    }
    let dns = if nat64.wants_discovery(literal) {
        let query = state.discover(nat64.network, connector.resolver());
        Some(Box::pin(query).await)
    } else {
        state.remembered(nat64.network)
    };
    state.plan(&nat64, dns, &connector.race().policy)
}

/// The race's configuration for this connect: the connector's, with the
/// policy that sorts NAT64 destinations as IPv4 when prefixes are known.
fn race_config(connector: &Connector, nat64: Option<&Nat64Plan>) -> RaceConfig {
    let mut config = connector.race().clone();
    if let Some(policy) = nat64.and_then(|n| n.policy.as_ref()) {
        config.policy = policy.clone();
    }
    config
}

/// An IP literal's destination: synthesized into a NAT64 one (and so
/// recorded) when the host synthesizes, else as given.
fn literal_destination(log: &mut Log, ip: IpAddr) -> IpAddr {
    let Some(nat64) = &log.nat64 else {
        return ip;
    };
    let dest = nat64.literal(ip);
    if let (IpAddr::V4(_), IpAddr::V6(v6)) = (ip, dest) {
        log.synthesized.push(v6);
    }
    dest
}

/// The race of a connect to a name, once the host is read and the queries
/// are sent. Not async: built after the last await before the race, the
/// race is the one copy the connect's future holds.
fn start_race<'a>(
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
    let memory = Memory::open(connector, &host_state, network, log).map(|(memory, advice)| {
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

/// A connect to an IP address that missed the fast path (the host view
/// starting, a source not cached yet, a Teredo source to wait for, NAT64):
/// its candidate, then its one attempt.
async fn literal(
    connector: &Connector,
    view: &HostView,
    port: u16,
    start: Instant,
    mut log: Log,
    host_state: HostState,
    (ip, scope_id): (IpAddr, u32),
) -> Result<(TcpStream, ConnectReport), ConnectError> {
    let ip = literal_destination(&mut log, ip);
    let candidate = match cached_candidates(view, &host_state, &[ip], scope_id, port) {
        Some(c) => c[0],
        None => candidates(view, &host_state, &[ip], scope_id, port).await[0],
    };
    connect_one(connector, view, start, log, host_state, candidate).await
}

/// A connect's use of the connection history: the partition it reads
/// and feeds (this network, the connector's key), and whether this
/// connect ignores what it says.
struct Memory<'a> {
    partition: Partition<'a>,
    ignored: bool,
}

impl<'a> Memory<'a> {
    /// The history of a connect to a name, when history is on and the
    /// host view knows which network this is, with the families' advice
    /// (read once, when the connect begins) unless this connect ignores
    /// history; records the decision in `log`.
    fn open(
        connector: &'a Connector,
        host: &HostState,
        network: iface_probe::NetworkId,
        log: &mut Log,
    ) -> Option<(Self, Option<Advice>)> {
        let history = connector.history()?;
        host.snapshot.as_ref()?;
        let partition = history.partition(network, connector.history_key());
        let ignored = partition.ignored();
        let advice = (!ignored).then(|| partition.advice());
        log.history = Some(HistoryReport {
            network,
            partitioned: connector.history_key().is_some(),
            ignored,
            demoted_family: advice.as_ref().and_then(Advice::demoted_family),
        });
        Some((Self { partition, ignored }, advice))
    }

    /// The notes of these candidates' addresses, unless ignored.
    fn notes<'c>(
        &'c self,
        candidates: &'c [Candidate],
    ) -> impl Iterator<Item = (IpAddr, crate::history::Note)> + 'c {
        candidates
            .iter()
            .filter(|_| !self.ignored)
            .filter_map(|c| Some((c.dest.addr, self.partition.note(c.dest.addr)?)))
    }

    /// Remembers what the attempts of a finished race say of their paths.
    fn remember(&self, race: &Race, log: &Log, winner: Option<AttemptId>) {
        let winner_family = winner
            .and_then(|id| race.order().get(id.0 as usize))
            .map(Candidate::family);
        for attempt in log.ended_attempts() {
            let Some(candidate) = race.order().get(attempt.index) else {
                continue;
            };
            let ran = attempt
                .end
                .saturating_sub(attempt.start)
                .saturating_sub(attempt.stable_wait.unwrap_or_default());
            let waited_out = ran >= race.attempt_delay_after(attempt.index).0;
            let past = match attempt.outcome {
                AttemptOutcome::Connected => Past::Connected { handshake: ran },
                AttemptOutcome::Refused => Past::Refused,
                AttemptOutcome::Unreachable(_) => Past::Unreachable,
                AttemptOutcome::TimedOut => Past::TimedOut,
                AttemptOutcome::Abandoned if waited_out => Past::TimedOut,
                AttemptOutcome::Cancelled if waited_out => match winner_family {
                    Some(to) => Past::Lost { to },
                    None => continue,
                },
                // Cancelled early, a source that was not stable, or an
                // error that says nothing of the path (no descriptor
                // left, ...): nothing learned.
                _ => continue,
            };
            self.partition
                .record(candidate.dest.addr, past, race.advice());
        }
    }
}

/// Connects to `host` on `port`: the whole of [`Connector::connect`]. A
/// connect to an IP address whose source the host view has cached takes
/// the fast path ([`one`]); anything else the general one, boxed.
pub(crate) fn connect<'a>(
    connector: &'a Connector,
    host: &'a str,
    port: u16,
) -> impl Future<Output = Result<(TcpStream, ConnectReport), ConnectError>> + Send + 'a {
    let start = Instant::now();
    match one::prepare(connector, host, port, start) {
        Some(one) => Either::Left(one),
        None => {
            let span = tracing::debug_span!("connect", host, port);
            Either::Right(Box::pin(tracing::Instrument::instrument(
                general(connector, host, port, start),
                span,
            )))
        }
    }
}

/// The general path of a connect.
async fn general(
    connector: &Connector,
    host: &str,
    port: u16,
    start: Instant,
) -> Result<(TcpStream, ConnectReport), ConnectError> {
    let view = connector.host_view();
    let mut log = Log::new(host, port, connector.race().strategy);
    let Opening {
        host: host_state,
        target,
        queries,
    } = match open(connector, view, host, &mut log).await {
        Ok(opening) => opening,
        Err((kind, detail)) => {
            return Err(ConnectError::new(
                kind,
                Some(detail),
                log.report(None, start.elapsed()),
            ));
        }
    };
    if let Target::Literal { ip, scope_id } = target {
        // Boxed: rare, and its attempt would take room in every connect's
        // future.
        return Box::pin(literal(
            connector,
            view,
            port,
            start,
            log,
            host_state,
            (ip, scope_id),
        ))
        .await;
    }
    // Built after the last await before the race, which the future then
    // holds once.
    let mut run = start_race(connector, view, port, start, host_state, queries, &mut log);
    drop(log);
    run.drive().await
}

/// The one attempt of a connect to an IP address: the race's first
/// attempt, bounded by the attempt timeout and the total timeout alike.
async fn connect_one(
    connector: &Connector,
    view: &HostView,
    start: Instant,
    mut log: Log,
    host: HostState,
    candidate: Candidate,
) -> Result<(TcpStream, ConnectReport), ConnectError> {
    let config = connector.race();
    let begun = start.elapsed();
    let limit = config
        .attempt_timeout
        .min(config.total_timeout.saturating_sub(begun));
    let attempt = attempt(connector, view, host.snapshot.as_deref(), candidate);
    drop(host);
    let ended = tokio::time::timeout(limit, attempt).await;
    let at = start.elapsed();
    let (outcome, stable_wait, stream) = match ended {
        Ok(AttemptResult {
            stable_wait,
            result: Ok(stream),
        }) => (AttemptOutcome::Connected, stable_wait, Some(stream)),
        Ok(AttemptResult {
            stable_wait,
            result: Err(outcome),
        }) => (outcome, stable_wait, None),
        Err(_) if limit < config.attempt_timeout => (AttemptOutcome::Abandoned, None, None),
        Err(_) => (AttemptOutcome::TimedOut, None, None),
    };
    let timed_out = outcome == AttemptOutcome::Abandoned;
    // Recorded once it is over, so that the events take no room while the
    // attempt runs.
    log.attempts.reserve_exact(1);
    log.push(Event::Start {
        address: candidate.addr(),
        source: candidate.dest.source.map(|s| s.addr),
        at: begun,
    });
    log.push(Event::End {
        index: 0,
        at,
        outcome,
        stable_wait,
    });
    match stream {
        Some(stream) => {
            let known = socket::known_local(&candidate, connector.socket());
            let local = socket::local_address(&stream, known);
            log.push(Event::Won { index: 0, local });
            Ok((stream, log.report_one(&candidate, start.elapsed())))
        }
        None => {
            let kind = if timed_out {
                ConnectErrorKind::TimedOut
            } else {
                ConnectErrorKind::AllAttemptsFailed
            };
            Err(ConnectError::new(
                kind,
                None,
                log.report_one(&candidate, start.elapsed()),
            ))
        }
    }
}

/// One attempt: waits (bounded) for a Teredo source to be stable first,
/// then connects. Without a wait (the usual case) it is the socket's
/// connect alone; the wait is boxed, so that it costs no room otherwise.
fn attempt(
    connector: &Connector,
    view: &HostView,
    snapshot: Option<&Snapshot>,
    candidate: Candidate,
) -> Either<impl Future<Output = AttemptResult> + Send + 'static, AttemptFuture> {
    let address = candidate.addr();
    let source = candidate.dest.source.map(|s| s.addr);
    // Wait for stability (bounded) before going over Teredo: for the
    // Teredo source the kernel chose, or, when a Teredo destination has no
    // source because the Teredo client has not qualified yet, for the
    // client to qualify.
    let stable_filter = match source {
        Some(src) if is_teredo_ip(src) => Some(stable_addr::Filter::Address(src)),
        None if is_teredo_ip(address.ip()) && snapshot.is_some_and(Snapshot::teredo_qualifying) => {
            Some(stable_addr::Filter::Teredo)
        }
        _ => None,
    };
    let opts: Arc<SocketOptions> = connector.socket_options();
    debug!(%address, ?source, "attempt");
    let Some(filter) = stable_filter else {
        return Either::Left(async move {
            AttemptResult {
                stable_wait: None,
                result: connect_socket(address, &opts).await,
            }
        });
    };
    let stable_wait = connector.stable_wait();
    let view = view.clone();
    Either::Right(Box::pin(async move {
        let started = Instant::now();
        let stable = stable_addr::wait_stable_async_on(&view, filter, stable_wait).await;
        let waited = Some(started.elapsed());
        if let Err(err) = stable {
            return AttemptResult {
                stable_wait: waited,
                result: Err(AttemptOutcome::SourceNotStable(err.to_string())),
            };
        }
        AttemptResult {
            stable_wait: waited,
            result: connect_socket(address, &opts).await,
        }
    }))
}

/// The socket's connect, its failure as an attempt's outcome.
async fn connect_socket(
    address: std::net::SocketAddr,
    opts: &SocketOptions,
) -> Result<TcpStream, AttemptOutcome> {
    socket::connect(address, opts)
        .await
        .map_err(|err| AttemptOutcome::from_io(&err))
}

/// Resolves `host` and plans the order without connecting: every query is
/// awaited, and the answers are ordered as a sequential connect would try
/// them.
pub(crate) async fn resolve(connector: &Connector, host: &str) -> Result<Plan, ConnectError> {
    let start = Instant::now();
    let view = connector.host_view();
    let mut log = Log::new(host, 0, Strategy::Sequential);
    let opening = match open(connector, view, host, &mut log).await {
        Ok(opening) => opening,
        Err((kind, detail)) => {
            return Err(ConnectError::for_resolution(
                kind,
                Some(detail),
                log.report(None, start.elapsed()),
            ));
        }
    };
    let Opening {
        host: host_state,
        target,
        mut queries,
    } = opening;
    let mut config = race_config(connector, log.nat64.as_deref());
    config.strategy = Strategy::Sequential;
    let first_family_count = config.first_family_count.max(1);
    let mut planner = Planner::with_capacity(config.max_candidates.min(32));
    let mut advice = None;
    match target {
        Target::Literal { ip, scope_id } => {
            let ip = literal_destination(&mut log, ip);
            let cands = candidates(view, &host_state, &[ip], scope_id, 0).await;
            planner.merge(
                &config,
                first_family_count,
                Family::of(ip),
                cands,
                0,
                false,
                None,
            );
        }
        Target::Name => {
            let (_, network) = connector.prospects(host_state.snapshot.as_ref());
            let memory =
                Memory::open(connector, &host_state, network, &mut log).map(|(memory, read)| {
                    advice = read;
                    memory
                });
            let deadline = tokio::time::sleep(config.total_timeout);
            tokio::pin!(deadline);
            while !queries.is_empty() {
                let (rtype, result) = tokio::select! {
                    answer = queries.next() => answer,
                    () = &mut deadline => break,
                };
                if let Some(recorded) =
                    record_answer(&mut log, start.elapsed(), rtype, result, &config)
                {
                    let addrs = recorded.addrs(&log).to_vec();
                    let cands = candidates(view, &host_state, &addrs, 0, 0).await;
                    if let (Some(memory), Some(advice)) = (&memory, &mut advice) {
                        for (addr, note) in memory.notes(&cands) {
                            advice.add(addr, note);
                        }
                    }
                    planner.merge(
                        &config,
                        first_family_count,
                        family(rtype),
                        cands,
                        0,
                        !queries.is_empty(),
                        advice.as_ref(),
                    );
                }
            }
        }
    }
    let plan = log.plan(&planner, &config.policy, advice.as_ref());
    if plan.candidates.is_empty() {
        let report = ConnectReport {
            host: plan.host,
            port: 0,
            strategy: Strategy::Sequential,
            capabilities: plan.capabilities,
            host_unavailable: plan.host_unavailable,
            nat64: plan.nat64,
            queries: plan.queries,
            candidates: plan.candidates,
            dropped_candidates: plan.dropped_candidates,
            history: plan.history,
            attempts: Vec::new(),
            winner: None,
            total: start.elapsed(),
        };
        return Err(ConnectError::for_resolution(
            ConnectErrorKind::NoAddresses,
            None,
            report,
        ));
    }
    Ok(plan)
}

/// An answer whose sources are being looked up.
struct Waiting {
    family: Family,
    answer: Recorded,
    sources: SourcesFuture,
}

/// One connect to a name in progress.
struct Run<'a> {
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
    async fn drive(&mut self) -> Result<(TcpStream, ConnectReport), ConnectError> {
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
            memory.remember(&self.race, &self.log, winner);
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
