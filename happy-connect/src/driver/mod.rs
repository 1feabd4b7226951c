//! The tokio driver of one connect (or resolution): runs the queries,
//! takes sources from the host view, feeds the pure
//! [`Race`](crate::race::Race) and carries out its actions with real
//! sockets, recording what happens in a [`Log`].
//!
//! Every decision is the race's or the planner's; this module does I/O.
//! Queries and attempts are futures polled by the connect future itself
//! (no task is spawned), so dropping it (a caller's timeout, a `select!`)
//! drops them all and closes every socket at once.
//!
//! A connect with one candidate known at once skips the race and makes its
//! one attempt directly, under the same timeouts: a connect to an IP
//! address, or to a name whose answers are all in as soon as its queries
//! are sent (lookups that are `LookupFuture::ready`, such as a table's, or
//! whose futures answer at the first poll a connect made inside a tokio
//! task gives them, such as a cache hit of hickory's) and bring one
//! address. That keeps the common cases as light
//! as a plain connect (a small future, few allocations) without changing
//! what they do: the report and history say what the race would have.
//!
//! This module opens a connect or a resolution (the host read, the target
//! parsed, the queries sent); [`run`] drives the race of a connect to a
//! name; [`slots`] holds its queries and attempts in flight; [`answers`]
//! turns answers into candidates; [`attempt`] makes one attempt; [`memory`]
//! reads and feeds the connection history; [`one`] is the fast path of a
//! connect with one candidate.

use std::borrow::Cow;
use std::future::Future;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::future::Either;
use iface_probe::HostView;
use tokio::net::TcpStream;
use tracing::debug;

use crate::Plan;
use crate::connector::Connector;
use crate::error::{ConnectError, ConnectErrorKind};
use crate::host::{self, HostState};
use crate::nat64::host::Nat64Plan;
use crate::plan::{self, Target};
use crate::race::order::Planner;
use crate::race::{Family, RaceConfig, Strategy};
use crate::report::{ConnectReport, Event, Log};
use crate::resolve::{LookupFuture, RecordType, Resolve};

use answers::{candidates, record_answer};
use attempt::literal;
use memory::Memory;
use run::start_race;
use slots::{Queries, family};

mod answers;
mod attempt;
mod memory;
mod one;
mod run;
mod slots;

/// How long a connect waits for the host view's first reading of the host
/// (the first connect of a process, or of a namespace).
const FIRST_READING: Duration = Duration::from_secs(2);

/// The host as the view has it: at once when the view is up; else the
/// (rare) wait for its first reading, until `deadline` at the latest (the
/// connect's total timeout), boxed so that it does not make every
/// connect's future larger.
async fn host_state(view: &HostView, deadline: Option<Instant>) -> HostState {
    match view.snapshot() {
        Some(snapshot) => HostState {
            snapshot: Some(snapshot),
            unavailable: None,
        },
        None => {
            let left = deadline.map_or(FIRST_READING, |d| {
                d.saturating_duration_since(Instant::now())
            });
            Box::pin(host::state(view, FIRST_READING.min(left))).await
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
/// each decision in `log`; or takes what the fast path opened (a name's
/// queries sent), log and all. Waits (for the host view's first reading,
/// for a DNS64 server) end at `deadline`, the total timeout's.
async fn open(
    connector: &Connector,
    view: &HostView,
    host_name: &str,
    log: &mut Log,
    opened: Option<Box<(Log, Opening)>>,
    deadline: Option<Instant>,
) -> Result<Opening, (ConnectErrorKind, String)> {
    if let Some(opened) = opened {
        let (opened_log, opening) = *opened;
        *log = opened_log;
        return Ok(opening);
    }
    let host = host_state(view, deadline).await;
    log.capabilities = connector.with_facts(host.snapshot.as_ref(), |f| f.capabilities);
    log.host_unavailable.clone_from(&host.unavailable);
    let target = plan::target(host_name, host.snapshot.as_deref())
        .map_err(|invalid| (ConnectErrorKind::InvalidHost, invalid.0))?;
    let literal = match target {
        Target::Literal { ip, .. } => Some(ip),
        Target::Name => None,
    };
    log.nat64 = nat64_plan(connector, &host, literal, deadline).await;
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
    let resolver = connector.resolver_ref().map_err(|err| {
        (
            ConnectErrorKind::NoAddresses,
            format!("cannot set up DNS: {err}"),
        )
    })?;
    let (a, aaaa) = send_queries(connector, resolver, host_name, log);
    queries.push(RecordType::A, a);
    if let Some(aaaa) = aaaa {
        queries.push(RecordType::Aaaa, aaaa);
    }
    Ok(Opening {
        host,
        target,
        queries,
    })
}

/// Sends a name's queries (A always, AAAA as the policy decides for this
/// host's capabilities, already in `log`) and records both decisions in
/// `log`: the A lookup and, if sent, the AAAA one.
fn send_queries(
    connector: &Connector,
    resolver: &dyn Resolve,
    host_name: &str,
    log: &mut Log,
) -> (LookupFuture, Option<LookupFuture>) {
    // Two query decisions: the usual connect to a name records them
    // without growing.
    log.queries.reserve_exact(2);
    let decision = connector.aaaa().decide(log.capabilities.as_ref());
    log.push(Event::Query {
        rtype: RecordType::A,
        sent: true,
        reason: Cow::Borrowed("always asked"),
    });
    let a = resolver.lookup(host_name, RecordType::A);
    log.push(Event::Query {
        rtype: RecordType::Aaaa,
        sent: decision.send,
        reason: Cow::Borrowed(decision.reason.as_str()),
    });
    let aaaa = decision
        .send
        .then(|| resolver.lookup(host_name, RecordType::Aaaa));
    // Named here: most connects send their queries before their span begins.
    debug!(host = host_name, aaaa = decision.send, "queries sent");
    (a, aaaa)
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
    deadline: Option<Instant>,
) -> Option<Arc<Nat64Plan>> {
    let snapshot = host.snapshot.as_ref()?;
    let state = connector.nat64_state();
    let nat64 = state.host(snapshot);
    if !nat64.engaged() {
        return None;
    }
    let dns = if nat64.wants_discovery(literal) {
        let query = state.discover(nat64.network, connector.resolver());
        // Past the connect's deadline, it goes on without the answer (and
        // times out). The query stays in the cache, pending: the next
        // connect on this network waits on it in turn (its answer, if in
        // by then, is taken first; its own 2 s limit counts from its
        // start).
        match deadline {
            Some(deadline) => Box::pin(tokio::time::timeout_at(deadline.into(), query))
                .await
                .ok(),
            None => Some(Box::pin(query).await),
        }
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

/// Connects to `host` on `port`: the whole of [`Connector::connect`]. A
/// connect with one candidate known at once (an IP address, or a name
/// answered at once with one address, its source cached) takes the fast
/// path ([`one`]); anything else the general one, boxed.
pub(crate) fn connect<'a>(
    connector: &'a Connector,
    host: &'a str,
    port: u16,
) -> impl Future<Output = Result<(TcpStream, ConnectReport), ConnectError>> + Send + 'a {
    let start = Instant::now();
    let opened = match one::prepare(connector, host, port, start) {
        one::Prepared::One(one) => return Either::Left(one),
        one::Prepared::Opened(opened) => Some(opened),
        one::Prepared::General => None,
    };
    let span = tracing::debug_span!("connect", host, port);
    Either::Right(Box::pin(tracing::Instrument::instrument(
        general(connector, host, port, start, opened),
        span,
    )))
}

/// The general path of a connect; `opened`, a name's queries when the
/// fast path sent them.
async fn general(
    connector: &Connector,
    host: &str,
    port: u16,
    start: Instant,
    opened: Option<Box<(Log, Opening)>>,
) -> Result<(TcpStream, ConnectReport), ConnectError> {
    let view = connector.host_view();
    let mut log = match opened {
        Some(_) => Log::empty(),
        None => Log::new(host, port, connector.race().strategy),
    };
    if connector.race().total_timeout.is_zero() {
        // No time at all: nothing is sent and no attempt starts, whatever
        // the host (the fast path leaves such a connect to this one).
        let detail = Some("the total timeout is zero".to_owned());
        let report = log.report(None, start.elapsed());
        return Err(ConnectError::new(
            ConnectErrorKind::TimedOut,
            detail,
            report,
        ));
    }
    // (No local holds the deadline or the opening: the future would keep
    // their room beside the race's.)
    let Opening {
        host: host_state,
        target,
        queries,
    } = match open(
        connector,
        view,
        host,
        &mut log,
        opened,
        start.checked_add(connector.race().total_timeout),
    )
    .await
    {
        Ok(opening) => opening,
        Err((kind, detail)) => {
            return Err(ConnectError::new(
                kind,
                Some(detail),
                log.report(None, start.elapsed()),
            ));
        }
    };
    if start.elapsed() >= connector.race().total_timeout {
        // Reading the host (a first connect's wait for the view) or asking
        // DNS64 took the whole time.
        let detail = "the total timeout passed before the host was read and the queries sent";
        return Err(ConnectError::new(
            ConnectErrorKind::TimedOut,
            Some(detail.to_owned()),
            log.report(None, start.elapsed()),
        ));
    }
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

/// Resolves `host` and plans the order without connecting: every query is
/// awaited, and the answers are ordered as a sequential connect would try
/// them.
pub(crate) async fn resolve(connector: &Connector, host: &str) -> Result<Plan, ConnectError> {
    let start = Instant::now();
    let view = connector.host_view();
    let mut log = Log::new(host, 0, Strategy::Sequential);
    let deadline = start.checked_add(connector.race().total_timeout);
    let opening = match open(connector, view, host, &mut log, None, deadline).await {
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
            let since = start.elapsed();
            let memory = Memory::open(
                connector,
                host_state.snapshot.as_deref(),
                network,
                &mut log,
                since,
            )
            .map(|(memory, read)| {
                advice = read;
                memory
            });
            // The same deadline as the opening's: the total timeout counts
            // from the start, whatever the opening waited for.
            let deadline = match deadline {
                Some(deadline) => tokio::time::sleep_until(deadline.into()),
                None => tokio::time::sleep(config.total_timeout),
            };
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

#[cfg(test)]
mod tests {
    use crate::connector::Connector;

    /// The general path's future holds the race once, with the timer and
    /// little else: what comes before the race (the opening, its log, an
    /// argument kept for the future's whole life) must not take room of
    /// its own beside it.
    #[test]
    fn the_general_future_holds_the_race_and_little_else() {
        let connector = Connector::new();
        let general = super::general(&connector, "name.test", 80, std::time::Instant::now(), None);
        let (future, run) = (size_of_val(&general), size_of::<super::run::Run<'_>>());
        assert!(
            future <= run + 512,
            "the general future is {future} bytes, the race's run {run}"
        );
    }
}
