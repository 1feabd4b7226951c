//! The tokio driver of one connect (or resolution): runs the queries,
//! asks the host view for sources, feeds the pure [`Race`] and carries out
//! its actions with real sockets, recording what happens in a [`Log`].
//!
//! Every decision is the race's or the planner's; this file does I/O.
//! Queries and attempts are futures polled by the connect future itself
//! (no task is spawned), so dropping it (a caller's timeout, a `select!`)
//! drops them all and closes every socket at once.

use std::borrow::Cow;
use std::future::Future;
use std::net::IpAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::Poll;
use std::time::{Duration, Instant};

use iface_probe::{Dest, HostView, Snapshot, SourceInfo};
use tokio::net::TcpStream;
use tracing::debug;

use crate::Plan;
use crate::connector::Connector;
use crate::error::{ConnectError, ConnectErrorKind};
use crate::host::{self, HostState};
use crate::plan::{self, Target};
use crate::race::order::Planner;
use crate::race::{
    Action, AttemptId, CancelReason, Candidate, Family, Input, Outcome, Race, RaceConfig, Strategy,
    is_teredo_ip,
};
use crate::report::{AttemptOutcome, ConnectReport, Event, Log};
use crate::resolve::{LookupFuture, RecordType, Resolve, ResolveError};
use crate::socket::{self, SocketOptions};

/// How long a connect waits for the host view's first reading of the host
/// (the first connect of a process, or of a namespace).
const FIRST_READING: Duration = Duration::from_secs(2);

/// What an attempt future hands back.
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

    /// The next answer to arrive; never resolves while no query runs.
    fn next(&mut self) -> impl Future<Output = QueryResult> + '_ {
        std::future::poll_fn(move |cx| {
            for slot in &mut self.slots {
                if let Some((rtype, lookup)) = slot {
                    if let Poll::Ready(result) = lookup.as_mut().poll(cx) {
                        let rtype = *rtype;
                        *slot = None;
                        return Poll::Ready((rtype, result));
                    }
                }
            }
            Poll::Pending
        })
    }
}

/// The attempts in flight: a handful at most, so a vector polled in place
/// beats a set of spawned or separately woken futures. Cancelling one
/// drops its future, which closes its socket.
#[derive(Default)]
struct Attempts {
    running: Vec<(AttemptId, AttemptFuture)>,
}

impl Attempts {
    fn is_empty(&self) -> bool {
        self.running.is_empty()
    }

    fn push(&mut self, id: AttemptId, attempt: AttemptFuture) {
        self.running.push((id, attempt));
    }

    /// Drops the attempt; returns whether it was running.
    fn cancel(&mut self, id: AttemptId) -> bool {
        let before = self.running.len();
        self.running.retain(|(running, _)| *running != id);
        self.running.len() != before
    }

    /// The next attempt to end.
    fn next(&mut self) -> impl Future<Output = (AttemptId, AttemptResult)> + '_ {
        std::future::poll_fn(move |cx| {
            for i in 0..self.running.len() {
                if let Poll::Ready(result) = self.running[i].1.as_mut().poll(cx) {
                    let (id, _) = self.running.swap_remove(i);
                    return Poll::Ready((id, result));
                }
            }
            Poll::Pending
        })
    }
}

/// One connect in progress.
struct Run<'a> {
    connector: &'a Connector,
    view: HostView,
    port: u16,
    start: Instant,
    log: Log,
    host: HostState,
    race: Race,
    queries: Queries,
    attempts: Attempts,
    connected: Option<(AttemptId, TcpStream)>,
    actions: Vec<Action>,
}

/// Elapsed since `start`.
fn since(start: Instant) -> Duration {
    start.elapsed()
}

/// The host state, the target, and (for a name) the queries to send:
/// what a connect and a resolution both begin with.
struct Opening {
    log: Log,
    host: HostState,
    target: Target,
    /// For a name: the families asked, and their lookups.
    lookups: Vec<(RecordType, LookupFuture)>,
}

/// Reads the host, parses the target and starts the queries, recording
/// each decision.
async fn open(
    connector: &Connector,
    view: &HostView,
    host_name: &str,
    port: u16,
    strategy: Strategy,
) -> Result<Opening, ConnectError> {
    let mut log = Log::new(host_name, port, strategy);
    let host = host::state(view, FIRST_READING).await;
    log.capabilities = host.capabilities();
    log.host_unavailable.clone_from(&host.unavailable);
    let target = match plan::target(host_name, host.snapshot.as_deref()) {
        Ok(target) => target,
        Err(invalid) => {
            return Err(ConnectError::new(
                ConnectErrorKind::InvalidHost,
                Some(invalid.0),
                log.report(None, Duration::ZERO),
            ));
        }
    };
    let mut lookups = Vec::new();
    if target == Target::Name {
        if let Some(zoned) = connector.zoned_hosts(host_name, host.snapshot.as_deref()) {
            // The hosts file gives this name link-local addresses with
            // their zones: they are the answer, as for a literal.
            let reason = Cow::Borrowed("answered from the hosts file (a zoned link-local address)");
            log.push(Event::Query {
                rtype: RecordType::Aaaa,
                sent: false,
                reason,
            });
            return Ok(Opening {
                log,
                host,
                target: Target::Literal {
                    ip: IpAddr::V6(zoned.0),
                    scope_id: zoned.1,
                },
                lookups,
            });
        }
        let resolver = match connector.resolver() {
            Ok(r) => r,
            Err(err) => {
                let detail = format!("cannot set up DNS: {err}");
                return Err(ConnectError::new(
                    ConnectErrorKind::NoAddresses,
                    Some(detail),
                    log.report(None, Duration::ZERO),
                ));
            }
        };
        let decision = connector.aaaa().decide(log.capabilities.as_ref());
        log.push(Event::Query {
            rtype: RecordType::A,
            sent: true,
            reason: Cow::Borrowed("always asked"),
        });
        lookups.push((RecordType::A, resolver.lookup(host_name, RecordType::A)));
        log.push(Event::Query {
            rtype: RecordType::Aaaa,
            sent: decision.send,
            reason: Cow::Borrowed(decision.reason.as_str()),
        });
        if decision.send {
            lookups.push((
                RecordType::Aaaa,
                resolver.lookup(host_name, RecordType::Aaaa),
            ));
        }
        debug!(aaaa = decision.send, "queries sent");
    }
    Ok(Opening {
        log,
        host,
        target,
        lookups,
    })
}

fn family(rtype: RecordType) -> Family {
    match rtype {
        RecordType::A => Family::V4,
        RecordType::Aaaa => Family::V6,
    }
}

/// The candidates of an answer (or a literal): the addresses with the
/// kernel's sources from the host view (cached, or one batched lookup).
async fn candidates(
    view: &HostView,
    host: &HostState,
    addrs: &[IpAddr],
    scope_id: u32,
    port: u16,
) -> Vec<Candidate> {
    let dests: Vec<Dest> = addrs
        .iter()
        .map(|&ip| Dest::new(ip, Some(scope_id)))
        .collect();
    let sources: Vec<Option<SourceInfo>> = if host.snapshot.is_none() {
        Vec::new()
    } else {
        match view.sources(&dests).await {
            Ok(sources) => sources,
            Err(err) => {
                debug!(error = %err, "source lookup failed; sources unknown");
                Vec::new()
            }
        }
    };
    let mut out = plan::candidates(addrs, &sources, port);
    if scope_id != 0 {
        for c in &mut out {
            *c = c.with_scope_id(scope_id);
        }
    }
    out
}

/// A huge answer must not cost a kernel lookup per address: the race
/// keeps at most `max_candidates` of them anyway, preferring by RFC 6724,
/// so a generous multiple is enough for it to choose from. Returns how
/// many were dropped.
fn cap_answer(addrs: &mut Vec<IpAddr>, config: &RaceConfig) -> usize {
    let limit = config.max_candidates.saturating_mul(4).max(64);
    if addrs.len() <= limit {
        return 0;
    }
    let mut seen = std::collections::HashSet::new();
    addrs.retain(|a| seen.insert(*a));
    let dropped = addrs.len().saturating_sub(limit);
    addrs.truncate(limit);
    dropped
}

/// An answer's addresses of its own family (a resolver that ignores the
/// type must not put IPv4 into the IPv6 race), logged.
fn take_answer(
    log: &mut Log,
    start: Instant,
    rtype: RecordType,
    result: Result<Vec<IpAddr>, ResolveError>,
) -> Option<Vec<IpAddr>> {
    let at = since(start);
    match result {
        Ok(mut addrs) => {
            addrs.retain(|a| rtype.matches(a));
            debug!(%rtype, count = addrs.len(), "answer");
            log.push(Event::Answer {
                rtype,
                at,
                result: Ok(addrs.clone()),
            });
            Some(addrs)
        }
        Err(err) => {
            debug!(%rtype, error = %err, "query failed");
            log.push(Event::Answer {
                rtype,
                at,
                result: Err(err.to_string()),
            });
            None
        }
    }
}

/// Connects to `host` on `port`: the whole of [`Connector::connect`].
pub(crate) async fn connect(
    connector: &Connector,
    host: &str,
    port: u16,
) -> Result<(TcpStream, ConnectReport), ConnectError> {
    let start = Instant::now();
    let view = connector.host_view().clone();
    let config = connector.race();
    let opening = open(connector, &view, host, port, config.strategy).await?;
    let Opening {
        log,
        host: host_state,
        target,
        lookups,
    } = opening;
    let run = match target {
        Target::Literal { ip, scope_id } => {
            let family = Family::of(ip);
            let mut race = Race::with_prospects(config.clone(), start, &[family], &[]);
            let candidates = candidates(&view, &host_state, &[ip], scope_id, port).await;
            let mut actions = Vec::new();
            race.handle(
                Input::Answer { family, candidates },
                Instant::now(),
                &mut actions,
            );
            Run::new(connector, view, port, start, log, host_state, race, actions)
        }
        Target::Name => {
            let families: Vec<Family> = lookups.iter().map(|(r, _)| family(*r)).collect();
            let prospects = plan::prospects(host_state.snapshot.as_deref());
            let race = Race::with_prospects(config.clone(), start, &families, &prospects);
            let mut run = Run::new(
                connector,
                view,
                port,
                start,
                log,
                host_state,
                race,
                Vec::new(),
            );
            for (rtype, lookup) in lookups {
                run.queries.push(rtype, lookup);
            }
            run
        }
    };
    run.drive().await
}

/// Resolves `host` and plans the order without connecting: every query is
/// awaited, and the answers are ordered as a sequential connect would try
/// them.
pub(crate) async fn resolve(connector: &Connector, host: &str) -> Result<Plan, ConnectError> {
    let start = Instant::now();
    let view = connector.host_view().clone();
    let mut config = connector.race().clone();
    config.strategy = Strategy::Sequential;
    let opening = open(connector, &view, host, 0, Strategy::Sequential)
        .await
        .map_err(ConnectError::into_resolution)?;
    let Opening {
        mut log,
        host: host_state,
        target,
        lookups,
    } = opening;
    let mut planner = Planner::with_capacity(config.max_candidates.min(32));
    match target {
        Target::Literal { ip, scope_id } => {
            let cands = candidates(&view, &host_state, &[ip], scope_id, 0).await;
            planner.merge(
                &config,
                config.first_family_count.max(1),
                Family::of(ip),
                cands,
                0,
                false,
            );
        }
        Target::Name => {
            let mut queries = Queries::default();
            for (rtype, lookup) in lookups {
                queries.push(rtype, lookup);
            }
            let deadline = tokio::time::sleep(config.total_timeout);
            tokio::pin!(deadline);
            while !queries.is_empty() {
                let (rtype, result) = tokio::select! {
                    answer = queries.next() => answer,
                    () = &mut deadline => break,
                };
                if let Some(mut addrs) = take_answer(&mut log, start, rtype, result) {
                    log.dropped_early += cap_answer(&mut addrs, &config);
                    let cands = candidates(&view, &host_state, &addrs, 0, 0).await;
                    planner.merge(
                        &config,
                        config.first_family_count.max(1),
                        family(rtype),
                        cands,
                        0,
                        !queries.is_empty(),
                    );
                }
            }
        }
    }
    let plan = log.plan(&planner, &config.policy);
    if plan.candidates.is_empty() {
        let report = plan_report(plan, start.elapsed());
        return Err(ConnectError::for_resolution(
            ConnectErrorKind::NoAddresses,
            None,
            report,
        ));
    }
    Ok(plan)
}

/// A failed resolution's plan, as the report an error carries.
fn plan_report(plan: Plan, total: Duration) -> ConnectReport {
    ConnectReport {
        host: plan.host,
        port: 0,
        strategy: Strategy::Sequential,
        capabilities: plan.capabilities,
        host_unavailable: plan.host_unavailable,
        queries: plan.queries,
        candidates: plan.candidates,
        dropped_candidates: plan.dropped_candidates,
        attempts: Vec::new(),
        winner: None,
        total,
    }
}

impl<'a> Run<'a> {
    #[allow(clippy::too_many_arguments)]
    fn new(
        connector: &'a Connector,
        view: HostView,
        port: u16,
        start: Instant,
        log: Log,
        host: HostState,
        race: Race,
        actions: Vec<Action>,
    ) -> Self {
        Self {
            connector,
            view,
            port,
            start,
            log,
            host,
            race,
            queries: Queries::default(),
            attempts: Attempts::default(),
            connected: None,
            actions,
        }
    }

    fn fail(self, kind: ConnectErrorKind, detail: Option<String>) -> ConnectError {
        let report = self.log.report(Some(&self.race), since(self.start));
        ConnectError::new(kind, detail, report)
    }

    async fn drive(mut self) -> Result<(TcpStream, ConnectReport), ConnectError> {
        // One timer, moved to each new deadline rather than re-created.
        let timer = tokio::time::sleep_until(self.start.into());
        tokio::pin!(timer);
        let mut armed: Option<Instant> = None;
        loop {
            if let Some(outcome) = self.apply_actions() {
                return self.finish(outcome);
            }
            let deadline = self.race.poll_timeout();
            if let Some(at) = deadline.filter(|at| armed != Some(*at)) {
                timer.as_mut().reset(at.into());
                armed = Some(at);
            }
            tokio::select! {
                (rtype, result) = self.queries.next(), if !self.queries.is_empty() => {
                    self.on_answer(rtype, result).await;
                }
                (id, result) = self.attempts.next(), if !self.attempts.is_empty() => {
                    self.on_attempt(id, result);
                }
                () = &mut timer, if deadline.is_some() => {
                    armed = None;
                    self.race_input(Input::Timer);
                }
                else => {
                    // Nothing can happen any more: the race would have said
                    // so, but never wait forever on a bug.
                    return Err(self.fail(ConnectErrorKind::AllAttemptsFailed, Some("no work left".into())));
                }
            }
        }
    }

    async fn on_answer(&mut self, rtype: RecordType, result: Result<Vec<IpAddr>, ResolveError>) {
        let family = family(rtype);
        match take_answer(&mut self.log, self.start, rtype, result) {
            Some(mut addrs) => {
                self.log.dropped_early += cap_answer(&mut addrs, self.race.config());
                let candidates = candidates(&self.view, &self.host, &addrs, 0, self.port).await;
                self.race_input(Input::Answer { family, candidates });
            }
            None => self.race_input(Input::QueryFailed { family }),
        }
    }

    fn on_attempt(&mut self, id: AttemptId, result: AttemptResult) {
        let at = since(self.start);
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
                self.race_input(Input::Connected { id });
            }
            Err(outcome) => {
                debug!(?id, %outcome, "attempt failed");
                self.log.push(Event::End {
                    index,
                    at,
                    outcome,
                    stable_wait: result.stable_wait,
                });
                self.race_input(Input::AttemptFailed { id });
            }
        }
    }

    fn race_input(&mut self, input: Input) {
        self.race.handle(input, Instant::now(), &mut self.actions);
    }

    /// Carries out the race's actions; returns its outcome when done.
    fn apply_actions(&mut self) -> Option<Outcome> {
        let mut done = None;
        let mut actions = std::mem::take(&mut self.actions);
        for action in actions.drain(..) {
            match action {
                Action::Start { id, candidate } => self.start_attempt(id, candidate),
                Action::Cancel { id, reason } => {
                    if self.attempts.cancel(id) {
                        self.log.push(Event::End {
                            index: id.0 as usize,
                            at: since(self.start),
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

    fn start_attempt(&mut self, id: AttemptId, candidate: Candidate) {
        let address = candidate.addr();
        let source = candidate.dest.source.map(|s| s.addr);
        debug!(%address, ?source, "attempt");
        // Wait for stability (bounded) before going over Teredo: for the
        // Teredo source the kernel chose, or, when a Teredo destination has
        // no source because the Teredo client has not qualified yet, for
        // the client to qualify.
        let qualifying = || {
            self.host
                .snapshot
                .as_deref()
                .is_some_and(Snapshot::teredo_qualifying)
        };
        let stable_filter = match source {
            Some(src) if is_teredo_ip(src) => Some(stable_addr::Filter::Address(src)),
            None if is_teredo_ip(address.ip()) && qualifying() => Some(stable_addr::Filter::Teredo),
            _ => None,
        };
        let opts: Arc<SocketOptions> = self.connector.socket_options();
        let stable_wait = self.connector.stable_wait();
        let view = self.view.clone();
        let attempt: AttemptFuture = Box::pin(async move {
            let mut waited = None;
            if let Some(filter) = stable_filter {
                let started = Instant::now();
                let stable = stable_addr::wait_stable_async_on(&view, filter, stable_wait).await;
                waited = Some(started.elapsed());
                if let Err(err) = stable {
                    return AttemptResult {
                        stable_wait: waited,
                        result: Err(AttemptOutcome::SourceNotStable(err.to_string())),
                    };
                }
            }
            let result = socket::connect(address, &opts).await.map_err(|err| {
                if err.kind() == std::io::ErrorKind::ConnectionRefused {
                    AttemptOutcome::Refused
                } else {
                    AttemptOutcome::Failed(err.to_string())
                }
            });
            AttemptResult {
                stable_wait: waited,
                result,
            }
        });
        self.attempts.push(id, attempt);
        self.log.push(Event::Start {
            address,
            source,
            at: since(self.start),
        });
    }

    fn finish(mut self, outcome: Outcome) -> Result<(TcpStream, ConnectReport), ConnectError> {
        // Whatever is still running lost: drop it now (the report says so).
        let at = since(self.start);
        for (id, _) in std::mem::take(&mut self.attempts.running) {
            self.log.push(Event::End {
                index: id.0 as usize,
                at,
                outcome: AttemptOutcome::Cancelled,
                stable_wait: None,
            });
        }
        match outcome {
            Outcome::Connected { id } => {
                let Some((_, stream)) = self.connected.take().filter(|(won, _)| *won == id) else {
                    return Err(self.fail(
                        ConnectErrorKind::AllAttemptsFailed,
                        Some("the race named a winner whose stream is gone".into()),
                    ));
                };
                let local = stream.local_addr().ok().map(|a| a.ip());
                self.log.push(Event::Won {
                    index: id.0 as usize,
                    local,
                });
                debug!(?id, "won");
                let report = self.log.report(Some(&self.race), since(self.start));
                Ok((stream, report))
            }
            Outcome::NoAddresses => Err(self.fail(ConnectErrorKind::NoAddresses, None)),
            Outcome::TimedOut => Err(self.fail(ConnectErrorKind::TimedOut, None)),
            _ => Err(self.fail(ConnectErrorKind::AllAttemptsFailed, None)),
        }
    }
}
