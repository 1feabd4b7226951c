//! A connect with one candidate known at once, on the fast path: an IP
//! address whose source the host view has cached, or a name whose answers
//! are in at once (`LookupFuture::ready`, such as a table's, or a future
//! that answers at its first poll, such as a cache hit of hickory's: each
//! lookup is polled once when the connect is made inside a tokio task)
//! and bring one address. The connect is then one socket, a timer armed
//! only if the connect is not done after the runtime's next I/O turn, and
//! the report, in a future written by hand so that it holds little more
//! than a plain tokio connect does: with one candidate there is nothing to
//! race, and the report and history say what the race would have.
//!
//! Everything else (a name that waits for its answers or brings several
//! addresses, a host view still starting, a source not cached yet, a
//! Teredo source that must be stable first, a host where NAT64 matters)
//! takes the general path; a name's queries, once sent, go with it.

use std::future::{Future, Ready};
use std::io;
use std::net::IpAddr;
use std::pin::{Pin, pin};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use futures_util::future::Either;
use iface_probe::{Dest, Snapshot};
use pin_project_lite::pin_project;
use tokio::net::TcpStream;
use tokio::time::Sleep;

use super::answers::{answer_limit, record_answer};
use super::memory::Memory;
use super::slots::Queries;
use super::{Opening, send_queries};
use crate::connector::Connector;
use crate::error::{ConnectError, ConnectErrorKind};
use crate::history::{Advice, Note};
use crate::host::HostState;
use crate::plan::{self, Target};
use crate::race::{Candidate, RaceConfig, Strategy, is_teredo_ip};
use crate::report::{AttemptOutcome, ConnectReport, Event, HostCapabilities, Log};
use crate::resolve::{LookupFuture, LookupResult, RecordType};
use crate::socket;

pin_project! {
    /// The one attempt of a connect with one candidate.
    pub(crate) struct ConnectOne<'a, F> {
        host: &'a str,
        port: u16,
        strategy: Strategy,
        capabilities: HostCapabilities,
        candidate: Candidate,
        // The connection's local address, when known without asking.
        known_local: Option<IpAddr>,
        start: Instant,
        // When the attempt began, from `start`.
        begun: Duration,
        // Whether the timer is the total timeout (not the attempt's).
        total_bound: bool,
        // A name's queries and history; `None` for an IP address.
        named: Option<Box<Named<'a>>>,
        #[pin]
        connect: F,
        #[pin]
        timer: Timer,
    }
}

/// What a connect to a name adds to its one attempt: the log of its
/// queries and answers, and the history it read and feeds.
pub(crate) struct Named<'a> {
    log: Log,
    memory: Option<Memory<'a>>,
    /// What history said when the connect began, with the candidate's
    /// note: what the race would have been advised.
    advice: Option<Advice>,
    /// The configured Connection Attempt Delay (history's weighs the
    /// attempt's length against it).
    attempt_delay: Duration,
}

pin_project! {
    /// The attempt's timeout, armed lazily. A tokio timer costs about as
    /// much as the rest of a connect's bookkeeping (registered in the
    /// runtime's wheel, cleared when dropped), and most connects never need
    /// it: a connect that is not done at its first poll has the task polled
    /// once more, after the runtime's next look at its I/O (the wake
    /// `tokio::task::yield_now` defers), and only a connect still pending
    /// then arms the timer, at the same deadline. That costs a connect over
    /// a real network one more poll; a loopback connect, whose handshake is
    /// over before that look, none of the timer. Made at the first poll,
    /// not before, so that the connect's future may be made outside the
    /// runtime that polls it (it registers with the runtime of that
    /// poll).
    #[project = TimerProj]
    pub(crate) enum Timer {
        /// Not polled yet.
        Unarmed { deadline: Instant },
        /// Polled once, the task's next poll asked for.
        Deferred { deadline: Instant },
        Armed { #[pin] sleep: Sleep },
        /// A deadline past what an `Instant` holds: none.
        Never,
    }
}

impl Timer {
    /// A timer for `limit` after `begun`, both from `start`; one that never
    /// fires when that is past what an `Instant` holds (a timeout of
    /// `Duration::MAX`, say).
    fn new(start: Instant, begun: Duration, limit: Duration) -> Self {
        match start.checked_add(begun.saturating_add(limit)) {
            Some(deadline) => Self::Unarmed { deadline },
            None => Self::Never,
        }
    }
}

impl Future for Timer {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        match self.as_mut().project() {
            TimerProj::Unarmed { deadline } => {
                let deadline = *deadline;
                // Polled once, `yield_now` hands the task's waker to the
                // runtime to wake after its next I/O turn (or wakes it at
                // once outside a runtime); dropping it then is fine.
                let _ = pin!(tokio::task::yield_now()).poll(cx);
                self.set(Self::Deferred { deadline });
                return Poll::Pending;
            }
            TimerProj::Deferred { deadline } => {
                let sleep = tokio::time::sleep_until((*deadline).into());
                self.set(Self::Armed { sleep });
            }
            TimerProj::Armed { .. } => {}
            TimerProj::Never => return Poll::Pending,
        }
        match self.project() {
            TimerProj::Armed { sleep } => sleep.poll(cx),
            _ => Poll::Pending,
        }
    }
}

/// The socket's connect, or the error that prevented it.
pub(crate) type SocketConnect<C> = Either<C, Ready<io::Result<TcpStream>>>;

/// How a connect begins.
#[allow(
    clippy::large_enum_variant,
    reason = "the fast path's future, moved once into the connect's: boxing it would cost an allocation per connect"
)]
pub(super) enum Prepared<'a, F> {
    /// On the fast path.
    One(ConnectOne<'a, F>),
    /// On the general path, with a name's queries sent (and any answer
    /// already in, put back) and recorded in the log.
    Opened(Box<(Log, Opening)>),
    /// On the general path, from the start.
    General,
}

/// How a connect to `host` begins: on the fast path when it applies.
#[inline(always)]
pub(super) fn prepare<'a>(
    connector: &'a Connector,
    host: &'a str,
    port: u16,
    start: Instant,
) -> Prepared<'a, SocketConnect<impl Future<Output = io::Result<TcpStream>> + Send + use<>>> {
    // No time at all: the general path says so, for every host alike.
    if connector.race().total_timeout.is_zero() {
        return Prepared::General;
    }
    if plan::may_be_literal(host) {
        return match literal(connector, host) {
            Some((candidate, capabilities)) => Prepared::One(one(
                connector,
                (host, port, start, start.elapsed()),
                candidate,
                capabilities,
                None,
            )),
            None => Prepared::General,
        };
    }
    // The snapshot borrowed (a reference of its own is taken only for the
    // general path).
    let begins = connector
        .host_view()
        .with_snapshot(|snapshot| match snapshot {
            Some(snapshot) => name(connector, host, port, start, snapshot),
            None => NameStart::General,
        });
    match begins {
        NameStart::One {
            candidate,
            capabilities,
            named,
            at,
        } => Prepared::One(one(
            connector,
            (host, port, start, at),
            candidate,
            capabilities,
            Some(named),
        )),
        NameStart::Opened(opened) => Prepared::Opened(opened),
        NameStart::General => Prepared::General,
    }
}

/// How a connect to a name begins.
enum NameStart<'a> {
    /// With one candidate, answered when `at` had passed.
    One {
        candidate: Candidate,
        capabilities: HostCapabilities,
        named: Box<Named<'a>>,
        at: Duration,
    },
    /// Boxed: it goes on into the general future, whose arguments stay
    /// for its whole life.
    Opened(Box<(Log, Opening)>),
    General,
}

/// How a connect to `host`, not an IP literal, begins on a host the view
/// knows.
#[inline(always)]
fn name<'a>(
    connector: &'a Connector,
    host: &str,
    port: u16,
    start: Instant,
    snapshot: &Arc<Snapshot>,
) -> NameStart<'a> {
    // Not an IP literal, so a name unless it is invalid (which the general
    // path reports).
    if !plan::is_name(host)
        || connector.nat64_state().engaged(snapshot)
        || connector.zoned_hosts(host, Some(snapshot)).is_some()
    {
        return NameStart::General;
    }
    let Ok(resolver) = connector.resolver_ref() else {
        return NameStart::General;
    };
    // The queries, as the general path's opening sends them.
    let mut log = Log::new(host, port, connector.race().strategy);
    let (capabilities, network) =
        connector.with_facts(Some(snapshot), |f| (f.capabilities, f.network));
    log.capabilities = capabilities;
    let (mut a, mut aaaa) = send_queries(connector, resolver, host, &mut log);
    // The second is `None` only when no AAAA query was sent.
    let answers = match (a.answer_now(), aaaa.as_mut().map(LookupFuture::answer_now)) {
        (Some(a), None) => Some((a, None)),
        (Some(a), Some(Some(aaaa))) => Some((a, Some(aaaa))),
        (Some(answer), _) => {
            // The AAAA answer is still to come: the A answer goes back.
            a = LookupFuture::ready(answer);
            None
        }
        (None, Some(Some(answer))) => {
            aaaa = Some(LookupFuture::ready(answer));
            None
        }
        (None, _) => None,
    };
    if let Some((a_answer, aaaa_answer)) = answers {
        let config = connector.race();
        let capabilities = log.capabilities;
        match single(
            connector,
            snapshot,
            config,
            &a_answer,
            aaaa_answer.as_ref(),
            port,
        )
        .zip(capabilities)
        {
            Some((candidate, capabilities)) => {
                // The answers' time is the attempt's.
                let at = start.elapsed();
                record_answer(&mut log, at, RecordType::A, a_answer, config);
                if let Some(answer) = aaaa_answer {
                    record_answer(&mut log, at, RecordType::Aaaa, answer, config);
                }
                return NameStart::One {
                    named: named(connector, snapshot, network, &candidate, log),
                    candidate,
                    capabilities,
                    at,
                };
            }
            None => {
                a = LookupFuture::ready(a_answer);
                aaaa = aaaa_answer.map(LookupFuture::ready);
            }
        }
    }
    let mut queries = Queries::default();
    queries.push(RecordType::A, a);
    if let Some(aaaa) = aaaa {
        queries.push(RecordType::Aaaa, aaaa);
    }
    NameStart::Opened(Box::new((
        log,
        Opening {
            host: HostState {
                snapshot: Some(Arc::clone(snapshot)),
                unavailable: None,
            },
            target: Target::Name,
            queries,
        },
    )))
}

/// An IP literal's candidate, when the fast path applies to it.
#[inline(always)]
fn literal(connector: &Connector, host: &str) -> Option<(Candidate, HostCapabilities)> {
    let view = connector.host_view();
    view.with_snapshot(|snapshot| {
        let snapshot = snapshot?;
        let Ok(Target::Literal { ip, scope_id }) = plan::target(host, Some(snapshot)) else {
            return None;
        };
        // On an IPv6-only host, or one whose routers announce a NAT64
        // prefix, the general path synthesizes and reports.
        if connector.nat64_state().engaged(snapshot) {
            return None;
        }
        let source = view.cached_source(&Dest::new(ip, Some(scope_id)))?;
        let candidate = plan::candidate(ip, source.as_ref(), 0).with_scope_id(scope_id);
        if needs_stable_wait(&candidate, snapshot) {
            return None;
        }
        let capabilities = connector.with_facts(Some(snapshot), |f| f.capabilities)?;
        Some((candidate, capabilities))
    })
}

/// A name's one candidate, when its answers (all in) bring one address
/// whose source the host view has cached and that needs no wait: what
/// the race would be handed, deduplicated, with nothing to choose.
fn single(
    connector: &Connector,
    snapshot: &Snapshot,
    config: &RaceConfig,
    a: &LookupResult,
    aaaa: Option<&LookupResult>,
    port: u16,
) -> Option<Candidate> {
    if config.max_candidates == 0 {
        return None;
    }
    let limit = answer_limit(config);
    let mut only = None;
    for (rtype, answer) in [(RecordType::A, Some(a)), (RecordType::Aaaa, aaaa)] {
        let Some(Ok(addrs)) = answer else {
            continue;
        };
        if addrs.len() > limit {
            return None;
        }
        for &addr in addrs.iter().filter(|a| rtype.matches(a)) {
            match only {
                None => only = Some(addr),
                Some(seen) if seen == addr => {}
                Some(_) => return None,
            }
        }
    }
    let ip = only?;
    let source = connector
        .host_view()
        .cached_source(&Dest::new(ip, Some(0)))?;
    let candidate = plan::candidate(ip, source.as_ref(), port).with_scope_id(0);
    (!needs_stable_wait(&candidate, snapshot)).then_some(candidate)
}

/// A name's log and history for its one attempt: history read as the
/// race would read it.
fn named<'a>(
    connector: &'a Connector,
    snapshot: &Snapshot,
    network: iface_probe::NetworkId,
    candidate: &Candidate,
    log: Log,
) -> Box<Named<'a>> {
    // Boxed first and filled in place: the advice is large, and a box
    // made of a finished value would be one more copy of it.
    let mut named = Box::new(Named {
        log,
        memory: None,
        advice: None,
        attempt_delay: connector.race().attempt_delay(),
    });
    let Named {
        log,
        memory,
        advice,
        ..
    } = &mut *named;
    // Read within microseconds of the start: no clock is read for that.
    if let Some((opened, read)) =
        Memory::open(connector, Some(snapshot), network, log, Duration::ZERO)
    {
        *advice = read;
        let opened = memory.insert(opened);
        let note = opened
            .notes(std::slice::from_ref(candidate))
            .next()
            .map(|(_, note)| note);
        if let Some(note) = note {
            advice
                .get_or_insert_default()
                .add(candidate.dest.addr, note);
        }
    }
    named
}

/// The one attempt's future, its socket open and its timer set; it
/// begins `begun` after `start`.
#[inline(always)]
fn one<'a>(
    connector: &Connector,
    (host, port, start, begun): (&'a str, u16, Instant, Duration),
    candidate: Candidate,
    capabilities: HostCapabilities,
    named: Option<Box<Named<'a>>>,
) -> ConnectOne<'a, SocketConnect<impl Future<Output = io::Result<TcpStream>> + Send + use<>>> {
    let candidate = Candidate { port, ..candidate };
    let config = connector.race();
    let total_left = config.total_timeout.saturating_sub(begun);
    let total_bound = total_left < config.attempt_timeout;
    let limit = config.attempt_timeout.min(total_left);
    let address = candidate.addr();
    let connect = match socket::open(address, connector.socket()) {
        Ok(socket) => Either::Left(socket.connect(address)),
        Err(err) => Either::Right(std::future::ready(Err(err))),
    };
    ConnectOne {
        host,
        port,
        strategy: config.strategy,
        capabilities,
        candidate,
        known_local: socket::known_local(&candidate, connector.socket()),
        start,
        begun,
        total_bound,
        named,
        connect,
        timer: Timer::new(start, begun, limit),
    }
}

/// Whether an attempt to `candidate` must first wait for a Teredo address
/// to be stable (see the general path's attempts).
fn needs_stable_wait(candidate: &Candidate, snapshot: &Snapshot) -> bool {
    match candidate.dest.source {
        Some(s) => is_teredo_ip(s.addr),
        None => is_teredo_ip(candidate.dest.addr) && snapshot.teredo_qualifying(),
    }
}

impl<F> Future for ConnectOne<'_, F>
where
    F: Future<Output = io::Result<TcpStream>>,
{
    type Output = Result<(TcpStream, ConnectReport), ConnectError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let result = match this.connect.poll(cx) {
            Poll::Ready(Ok(stream)) => Ok(stream),
            Poll::Ready(Err(err)) => Err(AttemptOutcome::from_io(&err)),
            Poll::Pending => match this.timer.poll(cx) {
                Poll::Ready(()) if *this.total_bound => Err(AttemptOutcome::Abandoned),
                Poll::Ready(()) => Err(AttemptOutcome::TimedOut),
                Poll::Pending => return Poll::Pending,
            },
        };
        let candidate = *this.candidate;
        let at = this.start.elapsed();
        let (begun, known_local) = (*this.begun, *this.known_local);
        Poll::Ready(match this.named.take() {
            None => {
                let mut log = Log::new(this.host, *this.port, *this.strategy);
                log.capabilities = Some(*this.capabilities);
                let result = record(&mut log, &candidate, (begun, at), result, known_local);
                conclude(log, &candidate, None, result, at)
            }
            Some(named) => {
                // The log moved out, the rest read in place: the box's
                // other fields are large and only read.
                let Named {
                    mut log,
                    ref memory,
                    ref advice,
                    attempt_delay,
                } = *named;
                let result = record(&mut log, &candidate, (begun, at), result, known_local);
                if let Some(memory) = memory {
                    memory.remember_one(candidate.dest.addr, &log, advice.as_ref(), attempt_delay);
                }
                // The candidate's note, as the race's report takes it from
                // its advice.
                let note = advice.as_ref().and_then(|a| a.note(candidate.dest.addr));
                conclude(log, &candidate, note.copied(), result, at)
            }
        })
    }
}

/// Records the one attempt, from `begun` to `at`, and how it ended;
/// gives the stream, or the error's kind.
#[inline(always)]
fn record(
    log: &mut Log,
    candidate: &Candidate,
    (begun, at): (Duration, Duration),
    result: Result<TcpStream, AttemptOutcome>,
    known_local: Option<IpAddr>,
) -> Result<TcpStream, ConnectErrorKind> {
    log.attempts.reserve_exact(1);
    log.push(Event::Start {
        address: candidate.addr(),
        source: candidate.dest.source.map(|s| s.addr),
        at: begun,
    });
    match result {
        Ok(stream) => {
            log.push(Event::End {
                index: 0,
                at,
                outcome: AttemptOutcome::Connected,
                stable_wait: None,
            });
            let local = socket::local_address(&stream, known_local);
            log.push(Event::Won { index: 0, local });
            Ok(stream)
        }
        Err(outcome) => {
            let kind = if outcome == AttemptOutcome::Abandoned {
                ConnectErrorKind::TimedOut
            } else {
                ConnectErrorKind::AllAttemptsFailed
            };
            log.push(Event::End {
                index: 0,
                at,
                outcome,
                stable_wait: None,
            });
            Err(kind)
        }
    }
}

/// The connect's result, with its report; it took `total`.
#[inline(always)]
fn conclude(
    log: Log,
    candidate: &Candidate,
    note: Option<Note>,
    result: Result<TcpStream, ConnectErrorKind>,
    total: Duration,
) -> Result<(TcpStream, ConnectReport), ConnectError> {
    let report = log.report_one(candidate, note, total);
    match result {
        Ok(stream) => Ok((stream, report)),
        Err(kind) => Err(ConnectError::new(kind, None, report)),
    }
}

#[cfg(test)]
mod tests {
    use std::mem::size_of_val;
    use std::net::{IpAddr, Ipv4Addr};
    use std::pin::pin;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::task::{Context, Wake, Waker};
    use std::time::{Duration, Instant};

    use super::{Prepared, Timer, prepare};
    use crate::connector::Connector;
    use crate::resolve::{LookupFuture, RecordType, Resolve, StaticResolver};

    const LOOPBACK: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);

    /// Which way `prepare` takes.
    fn way(connector: &Connector, host: &str, port: u16) -> &'static str {
        match prepare(connector, host, port, Instant::now()) {
            Prepared::One(_) => "fast",
            Prepared::Opened(..) => "general, queries sent",
            Prepared::General => "general",
        }
    }

    /// A name answered at once with one address (its source cached) takes
    /// the fast path; one with two addresses, or whose answers wait, goes
    /// to the race with its queries sent; what the fast path does not
    /// handle goes to the general path from the start.
    #[tokio::test]
    async fn the_fast_path_takes_one_address_answered_at_once() {
        let listener = tokio::net::TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
            .await
            .expect("listen");
        let port = listener.local_addr().expect("bound").port();
        let table = StaticResolver::new()
            .with("one.test", &[LOOPBACK])
            .with("twice.test", &[LOOPBACK, LOOPBACK])
            .with(
                "two.test",
                &[LOOPBACK, IpAddr::V4(Ipv4Addr::new(127, 0, 0, 2))],
            );
        let mut connector = Connector::new();
        connector.set_resolver(table.clone());
        // Warm: the host view and the source of 127.0.0.1.
        let (_stream, report) = connector.connect("one.test", port).await.expect("connect");
        assert!(report.winner.is_some(), "{report}");

        assert_eq!(way(&connector, "one.test", port), "fast");
        assert_eq!(way(&connector, "ONE.test.", port), "fast");
        assert_eq!(way(&connector, "twice.test", port), "fast");
        assert_eq!(way(&connector, "127.0.0.1", port), "fast");
        assert_eq!(way(&connector, "two.test", port), "general, queries sent");
        assert_eq!(way(&connector, "none.test", port), "general, queries sent");
        assert_eq!(way(&connector, "bad host", port), "general");
        for rtype in [RecordType::A, RecordType::Aaaa] {
            let mut waiting = connector.clone();
            waiting.set_resolver(table.clone().with_delay(rtype, Duration::ZERO));
            assert_eq!(way(&waiting, "one.test", port), "general, queries sent");
        }
        // A resolver whose futures answer at their first poll (a cache) is
        // taken at once too, by a connect made inside a task (one made in
        // `block_on`, as this test's body is, might be polled elsewhere).
        struct AtFirstPoll(StaticResolver);
        impl Resolve for AtFirstPoll {
            fn lookup(&self, name: &str, rtype: RecordType) -> LookupFuture {
                LookupFuture::new(self.0.lookup(name, rtype))
            }
        }
        let mut cached = connector.clone();
        cached.set_resolver(AtFirstPoll(table.clone()));
        assert_eq!(way(&cached, "one.test", port), "general, queries sent");
        let in_task = tokio::spawn(async move {
            [
                way(&cached, "one.test", port),
                way(&cached, "two.test", port),
            ]
        });
        assert_eq!(
            in_task.await.expect("no panic"),
            ["fast", "general, queries sent"]
        );
        let mut capped = connector.clone();
        capped.race_mut().max_candidates = 0;
        assert_eq!(way(&capped, "one.test", port), "general, queries sent");
        let mut no_time = connector.clone();
        no_time.race_mut().total_timeout = Duration::ZERO;
        assert_eq!(way(&no_time, "one.test", port), "general");
        assert_eq!(way(&no_time, "127.0.0.1", port), "general");
    }

    /// Timeouts too long for an `Instant` (`Duration::MAX`) mean no
    /// timeout, on the fast path as on the general one: no panic.
    #[tokio::test]
    async fn timeouts_past_what_an_instant_holds_are_no_timeouts() {
        let listener = tokio::net::TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
            .await
            .expect("listen");
        let port = listener.local_addr().expect("bound").port();
        let mut connector = Connector::new();
        connector.set_resolver(StaticResolver::new().with("one.test", &[LOOPBACK]));
        connector.race_mut().total_timeout = Duration::MAX;
        connector.race_mut().attempt_timeout = Duration::MAX;
        // The first connects warm the host view; the later take the fast
        // path.
        for host in ["127.0.0.1", "one.test", "127.0.0.1", "one.test"] {
            let (_stream, report) = connector.connect(host, port).await.expect("connect");
            assert!(report.winner.is_some(), "{report}");
        }
        assert_eq!(way(&connector, "one.test", port), "fast");
        let timer = Timer::new(Instant::now(), Duration::from_secs(1), Duration::MAX);
        assert!(matches!(timer, Timer::Never));
    }

    /// The timeout's timer asks for one more poll before it arms (a
    /// connect done by then never registers a timer); armed at that poll,
    /// it fires at its deadline, counted from when the connect began.
    #[tokio::test(start_paused = true)]
    async fn the_timer_arms_at_its_second_poll_and_fires_at_its_deadline() {
        struct Count(AtomicUsize);
        impl Wake for Count {
            fn wake(self: Arc<Self>) {
                self.0.fetch_add(1, Ordering::SeqCst);
            }
        }
        let start = tokio::time::Instant::now();
        let mut timer = pin!(Timer::Unarmed {
            deadline: (start + Duration::from_secs(5)).into_std(),
        });
        let count = Arc::new(Count(AtomicUsize::new(0)));
        let waker = Waker::from(Arc::clone(&count));
        let mut cx = Context::from_waker(&waker);

        assert!(timer.as_mut().poll(&mut cx).is_pending());
        assert!(matches!(*timer, Timer::Deferred { .. }));
        assert_eq!(
            count.0.load(Ordering::SeqCst),
            0,
            "the wake waits for the runtime's turn"
        );
        tokio::task::yield_now().await;
        assert_eq!(
            count.0.load(Ordering::SeqCst),
            1,
            "woken after the runtime's turn"
        );

        tokio::time::advance(Duration::from_secs(2)).await;
        assert!(timer.as_mut().poll(&mut cx).is_pending());
        assert!(matches!(*timer, Timer::Armed { .. }));
        timer.await;
        assert_eq!(start.elapsed(), Duration::from_secs(5));
    }

    /// Thousands of connects at once each hold a clone of the connector
    /// and the connect's future: both stay close to what a plain tokio
    /// connect holds (the peak memory is measured by the `rss/load`
    /// benchmark).
    #[test]
    fn a_connect_by_literal_holds_little_more_than_tokio() {
        let connector = Connector::new();
        assert_eq!(
            size_of_val(&connector),
            size_of::<usize>(),
            "a clone is one pointer"
        );
        let ours = connector.connect("127.0.0.1", 9);
        let tokio = tokio::net::TcpStream::connect((Ipv4Addr::LOCALHOST, 9));
        let (ours, tokio) = (size_of_val(&ours), size_of_val(&tokio));
        assert!(
            ours <= tokio + 256,
            "the connect future is {ours} bytes, plain tokio's {tokio}"
        );
    }

    /// Every connect's output is moved through the futures that await it:
    /// the report keeps what is rare and large (NAT64) behind a box, so
    /// that it stays a few cache lines.
    #[test]
    #[cfg(target_pointer_width = "64")]
    fn the_report_stays_small_to_move() {
        let report = size_of::<crate::report::ConnectReport>();
        assert!(report <= 256, "a ConnectReport is {report} bytes");
    }
}
