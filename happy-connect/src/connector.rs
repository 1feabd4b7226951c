//! The public [`Connector`] and its configuration.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::path::PathBuf;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use arc_swap::ArcSwapOption;
use iface_probe::{HostView, NetworkId, Snapshot};
use tokio::net::TcpStream;
use tracing::{Instrument, debug_span};

use crate::aaaa::AaaaPolicy;
use crate::driver;
use crate::error::ConnectError;
use crate::history::History;
use crate::nat64::cache::Nat64State;
use crate::plan::{self, Plan, zone_index};
use crate::race::{Candidate, RaceConfig};
use crate::report::{ConnectReport, HostCapabilities};
use crate::resolve::{RecordType, Resolve, ResolveError, SystemResolver};
use crate::socket::SocketOptions;
use crate::zoned_hosts::{self, ZonedHosts};

/// Connects by name: resolves A and AAAA, orders the destinations by RFC
/// 6724 (with Teredo as the last resort), races them (RFC 8305) and
/// reports every decision.
///
/// What the connector knows of the host (capabilities, the kernel's source
/// for each destination, whether a Teredo address is stable) comes from a
/// [`HostView`]: the process's shared one unless [`set_host_view`]
/// gives another. A connect reads it without blocking and without a lock
/// other connects contend on.
///
/// Cloning is cheap; clones share the resolver, the host view and the
/// configuration they were cloned with.
///
/// ```no_run
/// # async fn f() -> Result<(), happy_connect::ConnectError> {
/// use std::time::Duration;
/// use happy_connect::{Connector, sort::Policy};
///
/// let mut connector = Connector::new();
/// let race = connector.race_mut();
/// race.policy = Policy::windows();
/// race.set_attempt_delay(Duration::from_millis(100));
/// let (stream, report) = connector.connect("example.com", 443).await?;
/// println!("{report}");
/// # drop(stream); Ok(()) }
/// ```
///
/// [`set_host_view`]: Connector::set_host_view
#[derive(Clone)]
pub struct Connector {
    /// The settings, shared by clones until one changes them: a clone is
    /// one pointer, which matters to a program that moves a clone into
    /// each of thousands of tasks.
    inner: Arc<Settings>,
}

/// What a [`Connector`] holds.
#[derive(Clone)]
struct Settings {
    resolver: Option<Arc<dyn Resolve>>,
    /// The system resolver, built on first use and shared by clones so
    /// its cache and configuration are read once; a failure is not kept,
    /// so the next connect tries again.
    system_resolver: Arc<OnceLock<Arc<dyn Resolve>>>,
    race: RaceConfig,
    aaaa: AaaaPolicy,
    stable_wait: Duration,
    socket: Arc<SocketOptions>,
    /// The view given, or the shared one found on first use (finding it
    /// costs a system call on Linux, so it is done once).
    view: Arc<OnceLock<HostView>>,
    hosts_path: Option<Arc<PathBuf>>,
    /// The zoned entries of the hosts file, read on first use.
    hosts: Arc<OnceLock<ZonedHosts>>,
    /// What each query could bring, the network's identity and the
    /// host's capabilities, for the last state of the host seen: worked
    /// out once per snapshot, not once per connect.
    facts: Arc<ArcSwapOption<HostFacts>>,
    /// The connection history, shared by clones; `None` when switched off.
    history: Option<History>,
    /// The history partition of this connector's connects.
    history_key: Option<Arc<str>>,
    /// The NAT64 prefixes learned per network through the resolver, and
    /// the NAT64 side of the last state of the host seen.
    nat64: Arc<Nat64State>,
}

/// What the connector works out once per snapshot.
pub(crate) struct HostFacts {
    snapshot: Option<Arc<Snapshot>>,
    /// What each query could bring ([`plan::prospects`]).
    pub(crate) prospects: Arc<[Candidate]>,
    pub(crate) network: NetworkId,
    /// `None` without a snapshot.
    pub(crate) capabilities: Option<HostCapabilities>,
}

impl std::fmt::Debug for Connector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Connector")
            .field("race", &self.inner.race)
            .field("aaaa", &self.inner.aaaa)
            .field("stable_wait", &self.inner.stable_wait)
            .field("socket", &self.inner.socket)
            .finish_non_exhaustive()
    }
}

impl Default for Connector {
    fn default() -> Self {
        Self::new()
    }
}

impl Connector {
    /// A connector with the defaults: the system's DNS configuration, RFC
    /// 6724, AAAA policy `Auto`, the RFC 8305 race with a 250 ms
    /// Connection Attempt Delay, 10 s per attempt, 30 s in all, up to 2 s
    /// of waiting for a Teredo source to become stable, and the process's
    /// shared host view.
    pub fn new() -> Self {
        Self {
            inner: Arc::new(Settings {
                resolver: None,
                system_resolver: Arc::new(OnceLock::new()),
                race: RaceConfig::default(),
                aaaa: AaaaPolicy::Auto,
                stable_wait: Duration::from_secs(2),
                socket: Arc::new(SocketOptions::default()),
                view: Arc::new(OnceLock::new()),
                hosts_path: None,
                hosts: Arc::new(OnceLock::new()),
                facts: Arc::new(ArcSwapOption::empty()),
                history: Some(History::new()),
                history_key: None,
                nat64: Arc::default(),
            }),
        }
    }

    /// Uses this resolver instead of the system's DNS configuration. The
    /// NAT64 prefixes learned through the previous one are forgotten.
    pub fn set_resolver(&mut self, resolver: impl Resolve) -> &mut Self {
        let settings = Arc::make_mut(&mut self.inner);
        settings.resolver = Some(Arc::new(resolver));
        settings.nat64 = Arc::default();
        self
    }

    /// The race's configuration (policy table, strategy, delays,
    /// timeouts, candidate cap), to change in place:
    ///
    /// ```
    /// use std::time::Duration;
    /// use happy_connect::{Connector, Strategy};
    ///
    /// let mut connector = Connector::new();
    /// let race = connector.race_mut();
    /// race.strategy = Strategy::Sequential;
    /// race.attempt_timeout = Duration::from_secs(3);
    /// race.set_attempt_delay(Duration::from_millis(100));
    /// assert_eq!(connector.race().attempt_delay(), Duration::from_millis(100));
    /// ```
    pub fn race_mut(&mut self) -> &mut RaceConfig {
        &mut Arc::make_mut(&mut self.inner).race
    }

    /// The race's configuration.
    pub fn race(&self) -> &RaceConfig {
        &self.inner.race
    }

    /// Whether to ask for AAAA records.
    pub fn set_aaaa(&mut self, policy: AaaaPolicy) -> &mut Self {
        Arc::make_mut(&mut self.inner).aaaa = policy;
        self
    }

    /// The AAAA policy.
    pub fn aaaa(&self) -> AaaaPolicy {
        self.inner.aaaa
    }

    /// How long an attempt from a Teredo source waits for that address to
    /// become stable (qualified) before it connects.
    pub fn set_stable_wait(&mut self, wait: Duration) -> &mut Self {
        Arc::make_mut(&mut self.inner).stable_wait = wait;
        self
    }

    /// How long an attempt from a Teredo source waits to be stable.
    pub fn stable_wait(&self) -> Duration {
        self.inner.stable_wait
    }

    /// Binds IPv4 attempts to this local address.
    pub fn set_local_v4(&mut self, addr: Option<Ipv4Addr>) -> &mut Self {
        Arc::make_mut(&mut Arc::make_mut(&mut self.inner).socket).local_v4 = addr.map(IpAddr::V4);
        self
    }

    /// Binds IPv6 attempts to this local address.
    pub fn set_local_v6(&mut self, addr: Option<Ipv6Addr>) -> &mut Self {
        Arc::make_mut(&mut Arc::make_mut(&mut self.inner).socket).local_v6 = addr.map(IpAddr::V6);
        self
    }

    /// Binds every attempt to this interface (`SO_BINDTODEVICE`, Linux;
    /// elsewhere every attempt fails with `Unsupported`).
    pub fn set_device(&mut self, device: Option<String>) -> &mut Self {
        Arc::make_mut(&mut Arc::make_mut(&mut self.inner).socket).device = device;
        self
    }

    /// Sets `TCP_NODELAY` on the connection.
    pub fn set_nodelay(&mut self, nodelay: bool) -> &mut Self {
        Arc::make_mut(&mut Arc::make_mut(&mut self.inner).socket).nodelay = nodelay;
        self
    }

    /// Turns TCP keepalive on with this idle time.
    pub fn set_keepalive(&mut self, idle: Option<Duration>) -> &mut Self {
        Arc::make_mut(&mut Arc::make_mut(&mut self.inner).socket).keepalive = idle;
        self
    }

    pub(crate) fn socket_options(&self) -> Arc<SocketOptions> {
        Arc::clone(&self.inner.socket)
    }

    pub(crate) fn socket(&self) -> &SocketOptions {
        &self.inner.socket
    }

    /// Uses this view of the host instead of the shared one: a view of
    /// another backend, or of another network namespace.
    pub fn set_host_view(&mut self, view: HostView) -> &mut Self {
        Arc::make_mut(&mut self.inner).view = Arc::new(OnceLock::from(view));
        self
    }

    /// The view of the host this connector reads: the one given, or else
    /// the shared view of the network namespace the connector (or the
    /// clone it was made from) was first used in.
    pub fn host_view(&self) -> &HostView {
        self.inner.view.get_or_init(HostView::shared)
    }

    /// Reads zoned link-local entries (`fe80::1%eth0 printer.lan`) from
    /// this hosts file instead of the system's. The file is read once, on
    /// the first connect to a name.
    pub fn set_hosts_file(&mut self, path: impl Into<PathBuf>) -> &mut Self {
        let settings = Arc::make_mut(&mut self.inner);
        settings.hosts_path = Some(Arc::new(path.into()));
        settings.hosts = Arc::new(OnceLock::new());
        self
    }

    /// The first zoned hosts entry of `name` whose zone names an interface
    /// the host has: its address and interface index. None under
    /// [`AaaaPolicy::Never`], which asks for no IPv6 answer to a name.
    pub(crate) fn zoned_hosts(
        &self,
        name: &str,
        snapshot: Option<&Snapshot>,
    ) -> Option<(Ipv6Addr, u32)> {
        if self.aaaa() == AaaaPolicy::Never {
            return None;
        }
        let hosts = self.inner.hosts.get_or_init(|| {
            let path = self
                .inner
                .hosts_path
                .as_deref()
                .cloned()
                .unwrap_or_else(zoned_hosts::default_path);
            ZonedHosts::read(&path)
        });
        hosts
            .lookup(name)
            .find_map(|(ip, zone)| zone_index(zone, snapshot).map(|index| (ip, index)))
    }

    /// What each query could bring on a host in this state (see
    /// [`Race::with_prospects`](crate::race::Race::with_prospects)), and
    /// the identity of the network it is on.
    pub(crate) fn prospects(
        &self,
        snapshot: Option<&Arc<Snapshot>>,
    ) -> (Arc<[Candidate]>, NetworkId) {
        self.with_facts(snapshot, |facts| {
            (Arc::clone(&facts.prospects), facts.network)
        })
    }

    /// Calls `f` with what the connector works out from this state of the
    /// host, worked out on the first call for it; without taking a
    /// reference (whose count every thread would write) when cached.
    pub(crate) fn with_facts<R>(
        &self,
        snapshot: Option<&Arc<Snapshot>>,
        f: impl FnOnce(&HostFacts) -> R,
    ) -> R {
        let same = |cached: &HostFacts| match (&cached.snapshot, snapshot) {
            (Some(a), Some(b)) => Arc::ptr_eq(a, b),
            (None, None) => true,
            _ => false,
        };
        let cached = self.inner.facts.load();
        if let Some(facts) = cached.as_deref().filter(|c| same(c)) {
            return f(facts);
        }
        drop(cached);
        let facts = Arc::new(HostFacts {
            snapshot: snapshot.cloned(),
            prospects: plan::prospects(snapshot.map(Arc::as_ref)).into(),
            network: snapshot.map_or(NetworkId::NONE, |s| s.network()),
            capabilities: snapshot.map(|s| HostCapabilities::from(s.capabilities())),
        });
        self.inner.facts.store(Some(Arc::clone(&facts)));
        f(&facts)
    }

    /// Uses this connection history (shared with every connector given
    /// the same), or none: `None` switches history off. A new connector
    /// has a history of its own, which its clones share. See
    /// [`history`](crate::history) for what is remembered and how it is
    /// used.
    pub fn set_history(&mut self, history: Option<History>) -> &mut Self {
        Arc::make_mut(&mut self.inner).history = history;
        self
    }

    /// The connection history, unless switched off.
    pub fn history(&self) -> Option<&History> {
        self.inner.history.as_ref()
    }

    /// Keeps this connector's history apart from that of connectors with
    /// another key (a user, a profile, an origin: Happy Eyeballs v3 asks
    /// that history be partitioned like other privacy-sensitive state).
    /// `None`, the default, is a partition of its own.
    pub fn set_history_key(&mut self, key: Option<&str>) -> &mut Self {
        Arc::make_mut(&mut self.inner).history_key = key.map(Arc::from);
        self
    }

    /// The history partition key.
    pub fn history_key(&self) -> Option<&str> {
        self.inner.history_key.as_deref()
    }

    /// What this connector (and its clones) know of NAT64.
    pub(crate) fn nat64_state(&self) -> &Arc<Nat64State> {
        &self.inner.nat64
    }

    /// A clone that builds its own system resolver: for a caller that
    /// drives this connector on a runtime of its own, since the shared
    /// resolver's pooled connections belong to the runtime that made them.
    pub(crate) fn for_new_runtime(&self) -> Self {
        let mut clone = self.clone();
        Arc::make_mut(&mut clone.inner).system_resolver = Arc::new(OnceLock::new());
        clone
    }

    pub(crate) fn resolver(&self) -> Result<Arc<dyn Resolve>, ResolveError> {
        if let Some(r) = &self.inner.resolver {
            return Ok(Arc::clone(r));
        }
        Ok(Arc::clone(self.system_resolver()?))
    }

    /// The resolver, borrowed (no reference count written).
    pub(crate) fn resolver_ref(&self) -> Result<&dyn Resolve, ResolveError> {
        match &self.inner.resolver {
            Some(r) => Ok(&**r),
            None => Ok(&**self.system_resolver()?),
        }
    }

    fn system_resolver(&self) -> Result<&Arc<dyn Resolve>, ResolveError> {
        if let Some(r) = self.inner.system_resolver.get() {
            return Ok(r);
        }
        // Two first connects may both build one; the first kept wins.
        let built: Arc<dyn Resolve> = Arc::new(SystemResolver::new()?);
        Ok(self.inner.system_resolver.get_or_init(|| built))
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

    /// The NAT64 prefixes of the network the host is on now and how they
    /// were learned (the routers' PREF64 as the host view heard it; the
    /// DNS64 server's answer for `ipv4only.arpa`, asked through this
    /// connector's resolver unless remembered for this network), and
    /// whether connects would synthesize: what `happy-connect probe`
    /// shows. Unlike a connect, this asks DNS64 on any host, IPv4 or not.
    ///
    /// # Errors
    ///
    /// When the host view cannot read the host.
    pub async fn nat64(&self) -> Result<crate::nat64::Nat64Report, iface_probe::ViewError> {
        crate::nat64::probe(self).await
    }

    /// Connects to `host` (a name, an IP address, or a link-local address
    /// with its zone: `fe80::1%eth0`) on `port`.
    ///
    /// The connect begins when this is called: a name's lookups are made
    /// then and, inside a tokio task, each is polled once, so that an
    /// answer already known (a resolver's cache) is taken at once. Such a
    /// future is to be polled on that task's runtime, where its lookups
    /// started; a resolver's future that panics does so here. Dropping
    /// the future abandons its lookups. A future made outside a task (in
    /// `block_on`, or outside any runtime) starts them at its first poll,
    /// on the runtime that polls it.
    ///
    /// # Errors
    ///
    /// A [`ConnectError`] carrying the report of every query and attempt.
    pub fn connect<'a>(
        &'a self,
        host: &'a str,
        port: u16,
    ) -> impl Future<Output = Result<(TcpStream, ConnectReport), ConnectError>> + Send + 'a {
        driver::connect(self, host, port)
    }

    /// Resolves `host` and plans the order without connecting: the
    /// [`Plan`] has the queries (sent or skipped, and why) and the
    /// candidates in the order a sequential connect would try them, which
    /// is RFC 6724's with Teredo and unreachable destinations last. A race
    /// interleaves the families of that order (RFC 8305 §4) as it goes.
    ///
    /// # Errors
    ///
    /// A [`ConnectError`] when the host is invalid or has no addresses.
    pub async fn resolve(&self, host: &str) -> Result<Plan, ConnectError> {
        let span = debug_span!("resolve", host);
        driver::resolve(self, host).instrument(span).await
    }
}
