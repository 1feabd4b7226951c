//! The tokio driver: runs the queries, asks the kernel for sources, feeds
//! the pure [`Race`] and carries out its actions with real sockets.
//!
//! Every decision is the race's; this file only does I/O and keeps the
//! report. Queries and attempts are futures polled by the connect future
//! itself (no task is spawned), so dropping it (a caller's timeout, a
//! `select!`) drops them all and closes every socket at once.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::task::Poll;
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use futures_util::future::{AbortHandle, Abortable, BoxFuture};
use futures_util::stream::FuturesUnordered;
use iface_probe::{Dest, Snapshot, SourceCache, SourceInfo};
use rfc3484_sort::{Destination, Policy, Source, SourceAttrs};
use socket2::{Domain, Protocol, Socket, TcpKeepalive, Type};
use tokio::net::{TcpSocket, TcpStream};
use tracing::{Instrument, debug, debug_span};

use crate::error::{ConnectError, ConnectErrorKind};
use crate::race::{
    Action, AttemptId, CancelReason, Candidate, Family, Input, Outcome, Race, RaceConfig, Strategy,
    is_teredo_ip,
};
use crate::report::{
    AttemptOutcome, AttemptReport, CandidateReport, ConnectReport, HostCapabilities, QueryReport,
    Winner,
};
use crate::resolve::{LookupFuture, RecordType, Resolve, ResolveError, SystemResolver};

/// Whether to send the AAAA query.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum AaaaPolicy {
    /// Skip AAAA when Teredo is the host's only IPv6 (what Windows does):
    /// such a host reaches native IPv6 only through a relay, so IPv4 is
    /// the better path. Otherwise ask.
    #[default]
    Auto,
    /// Always ask for AAAA.
    Always,
    /// Never ask for AAAA.
    Never,
}

impl AaaaPolicy {
    /// Whether to send the AAAA query on a host with these capabilities
    /// (`Err` when they could not be read, with the reason), and why: the
    /// pure decision the connector records in its report.
    ///
    /// ```
    /// use happy_connect::{AaaaPolicy, HostCapabilities};
    ///
    /// let mut teredo_only = HostCapabilities::default();
    /// teredo_only.ipv4 = true;
    /// teredo_only.teredo = true;
    /// teredo_only.teredo_only = true;
    /// let (send, why) = AaaaPolicy::Auto.decide(Ok(&teredo_only));
    /// assert!(!send, "{why}");
    /// assert!(AaaaPolicy::Always.decide(Ok(&teredo_only)).0);
    /// ```
    pub fn decide(self, caps: Result<&HostCapabilities, &str>) -> (bool, String) {
        match (self, caps) {
            (Self::Never, _) => (false, "AAAA policy is never".to_owned()),
            (Self::Always, _) => (true, "AAAA policy is always".to_owned()),
            (Self::Auto, Ok(c)) if c.teredo_only => (
                false,
                "the host is Teredo-only: its only IPv6 is Teredo, which reaches native IPv6 \
                 only through a relay, so IPv4 is used (as Windows does)"
                    .to_owned(),
            ),
            (Self::Auto, Ok(c)) if c.native_ipv6 => (true, "the host has native IPv6".to_owned()),
            (Self::Auto, Ok(c)) if c.teredo => {
                (true, "the host has IPv6 besides Teredo".to_owned())
            }
            (Self::Auto, Ok(_)) => (
                true,
                "the host has no IPv6-capable interface, asked anyway (policy auto skips AAAA \
                 only on Teredo-only hosts)"
                    .to_owned(),
            ),
            (Self::Auto, Err(why)) => (
                true,
                format!("host capabilities unknown ({why}), asked anyway"),
            ),
        }
    }
}

/// Connects by name: resolves A and AAAA, orders the destinations by RFC
/// 6724 (with Teredo as the last resort), races them (RFC 8305) and
/// reports every decision.
///
/// Cloning is cheap; clones share the resolver and the cache of the
/// kernel's source addresses.
///
/// ```no_run
/// # async fn f() -> Result<(), happy_connect::ConnectError> {
/// use std::time::Duration;
/// use happy_connect::{Connector, sort::Policy};
///
/// let mut connector = Connector::new();
/// connector
///     .set_policy(Policy::windows())
///     .set_attempt_delay(Duration::from_millis(100));
/// let (stream, report) = connector.connect("example.com", 443).await?;
/// println!("{report}");
/// # drop(stream); Ok(()) }
/// ```
#[derive(Clone)]
pub struct Connector {
    resolver: Option<Arc<dyn Resolve>>,
    config: RaceConfig,
    aaaa: AaaaPolicy,
    stable_wait: Duration,
    local_v4: Option<Ipv4Addr>,
    local_v6: Option<Ipv6Addr>,
    device: Option<String>,
    nodelay: bool,
    keepalive: Option<Duration>,
    host: Arc<Mutex<HostState>>,
    /// The system resolver, built on first use and shared by clones so
    /// its cache and configuration are read once.
    system_resolver: Arc<Mutex<Option<Arc<dyn Resolve>>>>,
}

impl std::fmt::Debug for Connector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Connector")
            .field("config", &self.config)
            .field("aaaa", &self.aaaa)
            .field("stable_wait", &self.stable_wait)
            .field("local_v4", &self.local_v4)
            .field("local_v6", &self.local_v6)
            .field("device", &self.device)
            .field("nodelay", &self.nodelay)
            .field("keepalive", &self.keepalive)
            .finish_non_exhaustive()
    }
}

/// The kernel-facing state shared by clones: opened on first use.
#[derive(Default)]
enum HostState {
    #[default]
    Unopened,
    Open(Box<SourceCache>),
    /// Netlink is not available (another OS, a sandbox): sources unknown.
    Unavailable(String),
}

impl Default for Connector {
    fn default() -> Self {
        Self::new()
    }
}

impl Connector {
    /// A connector with the defaults: the system's DNS configuration, RFC
    /// 6724, AAAA policy `Auto`, the RFC 8305 race with a 250 ms
    /// Connection Attempt Delay, 10 s per attempt, 30 s in all, and up to
    /// 2 s of waiting for a Teredo source to become stable.
    pub fn new() -> Self {
        Self {
            resolver: None,
            config: RaceConfig::default(),
            aaaa: AaaaPolicy::Auto,
            stable_wait: Duration::from_secs(2),
            local_v4: None,
            local_v6: None,
            device: None,
            nodelay: false,
            keepalive: None,
            host: Arc::new(Mutex::new(HostState::Unopened)),
            system_resolver: Arc::new(Mutex::new(None)),
        }
    }

    /// Uses this resolver instead of the system's DNS configuration.
    pub fn set_resolver(&mut self, resolver: impl Resolve) -> &mut Self {
        self.resolver = Some(Arc::new(resolver));
        self
    }

    /// The policy table destinations are sorted with (RFC 6724 by
    /// default; [`Policy::windows`] gives native IPv6, 6to4, IPv4,
    /// Teredo).
    pub fn set_policy(&mut self, policy: Policy) -> &mut Self {
        self.config.policy = policy;
        self
    }

    /// Race (the default) or one attempt at a time.
    pub fn set_strategy(&mut self, strategy: Strategy) -> &mut Self {
        self.config.strategy = strategy;
        self
    }

    /// Whether to ask for AAAA records.
    pub fn set_aaaa(&mut self, policy: AaaaPolicy) -> &mut Self {
        self.aaaa = policy;
        self
    }

    /// The Connection Attempt Delay (RFC 8305 §5), clamped to 10 ms..2 s.
    pub fn set_attempt_delay(&mut self, delay: Duration) -> &mut Self {
        self.config.set_attempt_delay(delay);
        self
    }

    /// The Resolution Delay (RFC 8305 §3): how long to wait for AAAA after
    /// the A answer.
    pub fn set_resolution_delay(&mut self, delay: Duration) -> &mut Self {
        self.config.resolution_delay = delay;
        self
    }

    /// How many addresses of the first family to try before alternating
    /// (RFC 8305 §4; at least 1).
    pub fn set_first_family_count(&mut self, count: usize) -> &mut Self {
        self.config.first_family_count = count.max(1);
        self
    }

    /// The longest one attempt may take.
    pub fn set_attempt_timeout(&mut self, timeout: Duration) -> &mut Self {
        self.config.attempt_timeout = timeout;
        self
    }

    /// The longest the whole connect may take, resolution included.
    pub fn set_timeout(&mut self, timeout: Duration) -> &mut Self {
        self.config.total_timeout = timeout;
        self
    }

    /// The most candidates one connect considers; more addresses in the
    /// answers are dropped (and counted in the report).
    pub fn set_max_candidates(&mut self, max: usize) -> &mut Self {
        self.config.max_candidates = max.max(1);
        self
    }

    /// How long an attempt from a Teredo source waits for that address to
    /// become stable (qualified) before it connects.
    pub fn set_stable_wait(&mut self, wait: Duration) -> &mut Self {
        self.stable_wait = wait;
        self
    }

    /// Binds IPv4 attempts to this local address.
    pub fn set_local_v4(&mut self, addr: Option<Ipv4Addr>) -> &mut Self {
        self.local_v4 = addr;
        self
    }

    /// Binds IPv6 attempts to this local address.
    pub fn set_local_v6(&mut self, addr: Option<Ipv6Addr>) -> &mut Self {
        self.local_v6 = addr;
        self
    }

    /// Binds every attempt to this interface (`SO_BINDTODEVICE`, Linux).
    pub fn set_device(&mut self, device: Option<String>) -> &mut Self {
        self.device = device;
        self
    }

    /// Sets `TCP_NODELAY` on the connection.
    pub fn set_nodelay(&mut self, nodelay: bool) -> &mut Self {
        self.nodelay = nodelay;
        self
    }

    /// Turns TCP keepalive on with this idle time.
    pub fn set_keepalive(&mut self, idle: Option<Duration>) -> &mut Self {
        self.keepalive = idle;
        self
    }

    /// A clone that builds its own system resolver: for a caller that
    /// drives this connector on a runtime of its own, since the shared
    /// resolver's pooled connections belong to the runtime that made them.
    pub(crate) fn for_new_runtime(&self) -> Self {
        let mut clone = self.clone();
        clone.system_resolver = Arc::new(Mutex::new(None));
        clone
    }

    /// The race configuration in use.
    pub fn config(&self) -> &RaceConfig {
        &self.config
    }

    fn resolver(&self) -> Result<Arc<dyn Resolve>, ResolveError> {
        if let Some(r) = &self.resolver {
            return Ok(Arc::clone(r));
        }
        let mut shared = self
            .system_resolver
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(r) = &*shared {
            return Ok(Arc::clone(r));
        }
        // A failure is not kept: the configuration may be fixed later.
        let r: Arc<dyn Resolve> = Arc::new(SystemResolver::new()?);
        *shared = Some(Arc::clone(&r));
        Ok(r)
    }

    /// Asks for AAAA records whatever the host's capabilities: the
    /// explicit lookup that still works on a Teredo-only host.
    ///
    /// # Errors
    ///
    /// The resolver's error.
    pub async fn lookup_aaaa(&self, name: &str) -> Result<Vec<IpAddr>, ResolveError> {
        self.resolver()?.lookup(name, RecordType::Aaaa).await
    }

    /// Connects to `host` (a name or an IP address) on `port`.
    ///
    /// # Errors
    ///
    /// A [`ConnectError`] carrying the report of every query and attempt.
    pub async fn connect(
        &self,
        host: &str,
        port: u16,
    ) -> Result<(TcpStream, ConnectReport), ConnectError> {
        let span = debug_span!("connect", host, port);
        Run::new(self, host, port, false)
            .drive()
            .instrument(span)
            .await
            .map(|(stream, report)| (stream.expect("a connect run yields a stream"), report))
    }

    /// Resolves `host` and plans the order without connecting: the report
    /// has the queries (sent or skipped, and why) and the candidates in
    /// the order a sequential connect would try them, which is RFC 6724's
    /// with Teredo and unreachable destinations last. A race interleaves
    /// the families of that order (RFC 8305 §4) as it goes.
    ///
    /// # Errors
    ///
    /// A [`ConnectError`] when the host is invalid or has no addresses.
    pub async fn resolve(&self, host: &str, port: u16) -> Result<ConnectReport, ConnectError> {
        let span = debug_span!("resolve", host, port);
        Run::new(self, host, port, true)
            .drive()
            .instrument(span)
            .await
            .map(|(_, report)| report)
    }

    /// The host's capabilities (when `caps` is set) and the kernel's source
    /// for each address, from the shared cache.
    fn probe(
        &self,
        addrs: &[IpAddr],
        caps: bool,
    ) -> (Result<HostCapabilities, String>, Vec<Option<SourceInfo>>) {
        let mut host = self
            .host
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if matches!(*host, HostState::Unopened) {
            *host = match SourceCache::new() {
                Ok(cache) => HostState::Open(Box::new(cache)),
                Err(err) => HostState::Unavailable(err.to_string()),
            };
        }
        match &mut *host {
            HostState::Open(cache) if !caps => {
                let dests: Vec<Dest> = addrs.iter().map(|&a| Dest::from(a)).collect();
                let sources = if dests.is_empty() {
                    Vec::new()
                } else {
                    cache.sources(&dests).unwrap_or_else(|err| {
                        debug!(error = %err, "kernel source lookup failed; sources unknown");
                        vec![None; addrs.len()]
                    })
                };
                (Err("not asked".to_owned()), sources)
            }
            HostState::Open(cache) => {
                let caps = cache
                    .snapshot()
                    .map(|s| HostCapabilities::from(s.capabilities()))
                    .map_err(|e| e.to_string());
                let dests: Vec<Dest> = addrs.iter().map(|&a| Dest::from(a)).collect();
                let sources = if dests.is_empty() {
                    Vec::new()
                } else {
                    cache.sources(&dests).unwrap_or_else(|err| {
                        debug!(error = %err, "kernel source lookup failed; sources unknown");
                        vec![None; addrs.len()]
                    })
                };
                (caps, sources)
            }
            HostState::Unavailable(why) => (Err(why.clone()), vec![None; addrs.len()]),
            HostState::Unopened => unreachable!("opened above"),
        }
    }
}

impl Connector {
    /// Whether a Teredo client looks started but not qualified (see
    /// [`Snapshot::teredo_qualifying`](iface_probe::Snapshot::teredo_qualifying)):
    /// an attempt to a Teredo destination without a source then waits for
    /// qualification instead of failing at once with "network unreachable".
    fn teredo_client_pending(&self) -> bool {
        let mut host = self
            .host
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let HostState::Open(cache) = &mut *host else {
            return false;
        };
        cache.snapshot().is_ok_and(Snapshot::teredo_qualifying)
    }
}

/// What an attempt task hands back.
struct AttemptResult {
    stable_wait: Option<Duration>,
    result: Result<TcpStream, AttemptOutcome>,
}

/// A query's record type and its answer.
type QueryResult = (RecordType, Result<Vec<IpAddr>, ResolveError>);

/// The queries in flight (A, and AAAA unless skipped), each with its
/// record type: two slots polled in place, rather than a
/// `FuturesUnordered` that allocates for itself and for every future.
#[derive(Default)]
struct Queries {
    slots: [Option<(RecordType, LookupFuture)>; 2],
}

impl Queries {
    fn push(&mut self, rtype: RecordType, lookup: LookupFuture) {
        let free = self.slots.iter_mut().find(|slot| slot.is_none());
        *free.expect("at most two queries per connect") = Some((rtype, lookup));
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

/// One connect (or resolve) in progress.
struct Run<'a> {
    connector: &'a Connector,
    host: String,
    port: u16,
    plan_only: bool,
    start: Instant,
    report: ConnectReport,
    race: Option<Race>,
    queries: Queries,
    attempts: FuturesUnordered<Abortable<BoxFuture<'static, (AttemptId, AttemptResult)>>>,
    /// The attempts in flight: their abort handles and their places in
    /// the report. A handful at most, so a vector beats a map.
    running: Vec<(AttemptId, AbortHandle, usize)>,
    connected: Option<(AttemptId, TcpStream)>,
    actions: Vec<Action>,
    /// Addresses of oversized answers never handed to the race.
    dropped_early: usize,
}

impl<'a> Run<'a> {
    fn new(connector: &'a Connector, host: &str, port: u16, plan_only: bool) -> Self {
        Self {
            connector,
            host: host.to_owned(),
            port,
            plan_only,
            start: Instant::now(),
            report: ConnectReport {
                host: host.to_owned(),
                port,
                strategy: connector.config.strategy,
                ..ConnectReport::default()
            },
            race: None,
            queries: Queries::default(),
            attempts: FuturesUnordered::new(),
            running: Vec::new(),
            connected: None,
            actions: Vec::new(),
            dropped_early: 0,
        }
    }

    fn fail(mut self, kind: ConnectErrorKind, detail: Option<String>) -> ConnectError {
        self.finish_report();
        ConnectError::new(kind, detail, self.report)
    }

    async fn drive(mut self) -> Result<(Option<TcpStream>, ConnectReport), ConnectError> {
        let mut config = self.connector.config.clone();
        if self.plan_only {
            // Planning needs every answer: no attempt may start early.
            config.strategy = Strategy::Sequential;
            self.report.strategy = Strategy::Sequential;
        }
        if let Some(ip) = literal_ip(&self.host) {
            let family = Family::of(ip);
            let mut race = Race::new(config, self.start, &[family]);
            let candidates = self.candidates(&[ip]);
            race.handle(
                Input::Answer { family, candidates },
                Instant::now(),
                &mut self.actions,
            );
            self.race = Some(race);
        } else {
            if self.host.is_empty() || self.host.contains(char::is_whitespace) {
                let detail = format!("{:?} is not a host name or an IP address", self.host);
                return Err(self.fail(ConnectErrorKind::InvalidHost, Some(detail)));
            }
            let resolver = match self.connector.resolver() {
                Ok(r) => r,
                Err(err) => {
                    let detail = format!("cannot set up DNS: {err}");
                    return Err(self.fail(ConnectErrorKind::NoAddresses, Some(detail)));
                }
            };
            let families = self.start_queries(&resolver);
            self.race = Some(Race::new(config, self.start, &families));
        }

        // One timer, moved to each new deadline rather than re-created.
        let timer = tokio::time::sleep_until(self.start.into());
        tokio::pin!(timer);
        let mut armed: Option<Instant> = None;
        loop {
            if let Some(outcome) = self.apply_actions() {
                return self.finish(outcome);
            }
            if self.plan_only && self.queries.is_empty() {
                self.finish_report();
                return Ok((None, self.report));
            }
            let race = self.race.as_ref().expect("race set up");
            let deadline = race.poll_timeout();
            if let Some(at) = deadline.filter(|at| armed != Some(*at)) {
                timer.as_mut().reset(at.into());
                armed = Some(at);
            }
            tokio::select! {
                (rtype, result) = self.queries.next(), if !self.queries.is_empty() => {
                    self.on_answer(rtype, result);
                }
                Some(done) = self.attempts.next(), if !self.attempts.is_empty() => {
                    // An aborted attempt was cancelled by the race already.
                    if let Ok((id, result)) = done {
                        self.on_attempt(id, result);
                    }
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

    /// Decides which queries to send, records the decision, and starts
    /// them. Returns the families asked for.
    fn start_queries(&mut self, resolver: &Arc<dyn Resolve>) -> Vec<Family> {
        let (caps, _) = self.connector.probe(&[], true);
        self.report.capabilities = caps.as_ref().ok().copied();
        let (send_aaaa, aaaa_reason) = self
            .connector
            .aaaa
            .decide(caps.as_ref().map_err(String::as_str));
        let mut families = vec![Family::V4];
        self.queries
            .push(RecordType::A, resolver.lookup(&self.host, RecordType::A));
        if send_aaaa {
            self.queries.push(
                RecordType::Aaaa,
                resolver.lookup(&self.host, RecordType::Aaaa),
            );
            families.push(Family::V6);
        }
        self.report.queries.push(QueryReport {
            rtype: RecordType::A,
            sent: true,
            reason: "always asked".to_owned(),
            answers: Vec::new(),
            elapsed: None,
            error: None,
        });
        self.report.queries.push(QueryReport {
            rtype: RecordType::Aaaa,
            sent: send_aaaa,
            reason: aaaa_reason,
            answers: Vec::new(),
            elapsed: None,
            error: None,
        });
        debug!(aaaa = send_aaaa, "queries sent");
        families
    }

    /// The candidates for these addresses, with the kernel's sources.
    fn candidates(&mut self, addrs: &[IpAddr]) -> Vec<Candidate> {
        let (_, sources) = self.connector.probe(addrs, false);
        addrs
            .iter()
            .zip(sources)
            .map(|(&addr, info)| Candidate {
                dest: Destination {
                    addr,
                    source: info.map(|s| Source {
                        addr: s.addr,
                        attrs: SourceAttrs {
                            deprecated: s.deprecated,
                            home: s.home,
                            care_of: false,
                            tunnel: s.tunnel,
                            temporary: s.temporary,
                            prefix_len: s.prefix_len,
                        },
                    }),
                },
                port: self.port,
            })
            .collect()
    }

    fn on_answer(&mut self, rtype: RecordType, result: Result<Vec<IpAddr>, ResolveError>) {
        let elapsed = self.start.elapsed();
        let family = match rtype {
            RecordType::A => Family::V4,
            RecordType::Aaaa => Family::V6,
        };
        let entry = self.report.queries.iter_mut().find(|q| q.rtype == rtype);
        match result {
            Ok(addrs) => {
                // An answer of the other family (a resolver that ignores
                // the type) is kept out: the race is per family.
                let addrs: Vec<IpAddr> = addrs
                    .into_iter()
                    .filter(|a| Family::of(*a) == family)
                    .collect();
                debug!(%rtype, count = addrs.len(), "answer");
                if let Some(q) = entry {
                    q.elapsed = Some(elapsed);
                    q.answers.clone_from(&addrs);
                }
                // A huge answer must not cost a kernel lookup per address:
                // the race keeps at most `max_candidates` of them anyway,
                // preferring by RFC 6724, so a generous multiple is enough
                // for it to choose from.
                let mut addrs = addrs;
                let limit = self
                    .connector
                    .config
                    .max_candidates
                    .saturating_mul(4)
                    .max(64);
                if addrs.len() > limit {
                    let mut seen = std::collections::HashSet::new();
                    addrs.retain(|a| seen.insert(*a));
                    self.dropped_early += addrs.len().saturating_sub(limit);
                    addrs.truncate(limit);
                }
                let candidates = self.candidates(&addrs);
                self.race_input(Input::Answer { family, candidates });
            }
            Err(err) => {
                debug!(%rtype, error = %err, "query failed");
                if let Some(q) = entry {
                    q.elapsed = Some(elapsed);
                    q.error = Some(err.to_string());
                }
                self.race_input(Input::QueryFailed { family });
            }
        }
    }

    fn on_attempt(&mut self, id: AttemptId, result: AttemptResult) {
        let Some((_, index)) = self.take_running(id) else {
            return;
        };
        let end = self.start.elapsed();
        let attempt = &mut self.report.attempts[index];
        attempt.end = Some(end);
        attempt.stable_wait = result.stable_wait;
        match result.result {
            Ok(stream) => {
                debug!(address = %attempt.address, "connected");
                attempt.outcome = AttemptOutcome::Connected;
                self.connected = Some((id, stream));
                self.race_input(Input::Connected { id });
            }
            Err(outcome) => {
                debug!(address = %attempt.address, %outcome, "attempt failed");
                attempt.outcome = outcome;
                self.race_input(Input::AttemptFailed { id });
            }
        }
    }

    /// Removes a running attempt, returning its abort handle and its place
    /// in the report.
    fn take_running(&mut self, id: AttemptId) -> Option<(AbortHandle, usize)> {
        let at = self
            .running
            .iter()
            .position(|(running, ..)| *running == id)?;
        let (_, handle, index) = self.running.swap_remove(at);
        Some((handle, index))
    }

    fn race_input(&mut self, input: Input) {
        let race = self.race.as_mut().expect("race set up");
        race.handle(input, Instant::now(), &mut self.actions);
    }

    /// Carries out the race's actions; returns its outcome when done.
    fn apply_actions(&mut self) -> Option<Outcome> {
        let mut done = None;
        for action in std::mem::take(&mut self.actions) {
            match action {
                Action::Start { id, candidate } => {
                    if self.plan_only {
                        continue;
                    }
                    self.start_attempt(id, candidate);
                }
                Action::Cancel { id, reason } => {
                    if let Some((handle, index)) = self.take_running(id) {
                        handle.abort();
                        let attempt = &mut self.report.attempts[index];
                        attempt.end = Some(self.start.elapsed());
                        attempt.outcome = match reason {
                            CancelReason::LostRace => AttemptOutcome::Cancelled,
                            CancelReason::AttemptTimeout => AttemptOutcome::TimedOut,
                            _ => AttemptOutcome::Abandoned,
                        };
                    }
                }
                Action::Done(outcome) => done = Some(outcome),
            }
        }
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
        let stable_filter = match source {
            Some(src) if is_teredo_ip(src) => Some(stable_addr::Filter::Address(src)),
            None if is_teredo_ip(address.ip()) && self.connector.teredo_client_pending() => {
                Some(stable_addr::Filter::Teredo)
            }
            _ => None,
        };
        let opts = SocketOptions {
            local: match address {
                SocketAddr::V4(_) => self.connector.local_v4.map(IpAddr::V4),
                SocketAddr::V6(_) => self.connector.local_v6.map(IpAddr::V6),
            },
            device: self.connector.device.clone(),
            nodelay: self.connector.nodelay,
            keepalive: self.connector.keepalive,
        };
        let stable_wait = self.connector.stable_wait;
        let (handle, registration) = AbortHandle::new_pair();
        let attempt = Box::pin(async move {
            let mut waited = None;
            if let Some(filter) = stable_filter {
                let started = Instant::now();
                let stable = stable_addr::wait_stable_async(filter, stable_wait).await;
                waited = Some(started.elapsed());
                if let Err(err) = stable {
                    return (
                        id,
                        AttemptResult {
                            stable_wait: waited,
                            result: Err(AttemptOutcome::SourceNotStable(err.to_string())),
                        },
                    );
                }
            }
            let result = connect_socket(address, &opts).await.map_err(|err| {
                if err.kind() == std::io::ErrorKind::ConnectionRefused {
                    AttemptOutcome::Refused
                } else {
                    AttemptOutcome::Failed(err.to_string())
                }
            });
            (
                id,
                AttemptResult {
                    stable_wait: waited,
                    result,
                },
            )
        });
        let attempt: BoxFuture<'static, (AttemptId, AttemptResult)> = attempt;
        self.attempts.push(Abortable::new(attempt, registration));
        self.report.attempts.push(AttemptReport {
            address,
            source,
            start: self.start.elapsed(),
            end: None,
            stable_wait: None,
            outcome: AttemptOutcome::Running,
        });
        self.running
            .push((id, handle, self.report.attempts.len() - 1));
    }

    /// Fills the candidate list and the total time from the race.
    fn finish_report(&mut self) {
        if let Some(race) = &self.race {
            let placed = race.placements();
            self.report.candidates = race
                .order()
                .iter()
                .enumerate()
                .map(|(i, c)| CandidateReport {
                    address: c.dest.addr,
                    source: c.dest.source.map(|s| s.addr),
                    class: teredo_addr::classify(c.dest.addr).name(),
                    placed_by: placed.get(i).map(ToString::to_string),
                })
                .collect();
            self.report.dropped_candidates = race.dropped() + self.dropped_early;
        }
        self.report.total = self.start.elapsed();
    }

    fn finish(
        mut self,
        outcome: Outcome,
    ) -> Result<(Option<TcpStream>, ConnectReport), ConnectError> {
        // Whatever is still running lost: abort it now (dropping the
        // attempts would too, but the report should say so).
        for (_, handle, index) in self.running.drain(..) {
            handle.abort();
            let attempt = &mut self.report.attempts[index];
            attempt.end = Some(self.start.elapsed());
            attempt.outcome = AttemptOutcome::Cancelled;
        }
        match outcome {
            Outcome::Connected { id } => {
                let Some((won, stream)) = self.connected.take().filter(|(won, _)| *won == id)
                else {
                    return Err(self.fail(
                        ConnectErrorKind::AllAttemptsFailed,
                        Some("the race named a winner whose stream is gone".into()),
                    ));
                };
                let index = self
                    .report
                    .attempts
                    .iter()
                    .position(|a| a.outcome == AttemptOutcome::Connected)
                    .unwrap_or(0);
                let address = self.report.attempts[index].address;
                let local = stream.local_addr().ok().map(|a| a.ip());
                self.report.winner = Some(Winner {
                    address,
                    source: local,
                });
                debug!(?won, %address, "won");
                self.finish_report();
                Ok((Some(stream), self.report))
            }
            Outcome::NoAddresses => Err(self.fail(ConnectErrorKind::NoAddresses, None)),
            Outcome::TimedOut => Err(self.fail(ConnectErrorKind::TimedOut, None)),
            _ => Err(self.fail(ConnectErrorKind::AllAttemptsFailed, None)),
        }
    }
}

/// `192.0.2.1`, `2001:db8::1` or `[2001:db8::1]`.
fn literal_ip(host: &str) -> Option<IpAddr> {
    let bare = host
        .strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .unwrap_or(host);
    bare.parse().ok()
}

/// Socket options applied to every attempt.
#[derive(Debug, Clone)]
struct SocketOptions {
    local: Option<IpAddr>,
    device: Option<String>,
    nodelay: bool,
    keepalive: Option<Duration>,
}

/// One non-blocking TCP connect with the options applied first.
async fn connect_socket(addr: SocketAddr, opts: &SocketOptions) -> std::io::Result<TcpStream> {
    // Created non-blocking where the OS allows it in the same call.
    #[cfg(any(target_os = "linux", target_os = "android"))]
    let socket = Socket::new(
        Domain::for_address(addr),
        Type::STREAM.nonblocking(),
        Some(Protocol::TCP),
    )?;
    #[cfg(not(any(target_os = "linux", target_os = "android")))]
    let socket = {
        let socket = Socket::new(Domain::for_address(addr), Type::STREAM, Some(Protocol::TCP))?;
        socket.set_nonblocking(true)?;
        socket
    };
    if opts.nodelay {
        socket.set_tcp_nodelay(true)?;
    }
    if let Some(idle) = opts.keepalive {
        socket.set_tcp_keepalive(&TcpKeepalive::new().with_time(idle))?;
    }
    #[cfg(any(target_os = "linux", target_os = "android"))]
    if let Some(device) = &opts.device {
        socket.bind_device(Some(device.as_bytes()))?;
    }
    #[cfg(not(any(target_os = "linux", target_os = "android")))]
    if opts.device.is_some() {
        return Err(std::io::Error::new(
            std::io::ErrorKind::Unsupported,
            "binding to a device needs SO_BINDTODEVICE (Linux)",
        ));
    }
    if let Some(local) = opts.local {
        socket.bind(&SocketAddr::new(local, 0).into())?;
    }
    let std_stream: std::net::TcpStream = socket.into();
    TcpSocket::from_std_stream(std_stream).connect(addr).await
}
