//! What a connector remembers of NAT64: the RFC 7050 result of each
//! network it has been on (a pure table on a caller-supplied clock), the
//! one query in flight per network that concurrent connects share, and
//! the host's NAT64 state and plan for the last snapshot seen.

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use arc_swap::ArcSwapOption;
use futures_util::FutureExt as _;
use futures_util::future::Shared;
use iface_probe::{NetworkId, Snapshot};
use rfc3484_sort::Policy;

use super::host::{HostNat64, Nat64Plan};
use super::{Discovery, IPV4ONLY_ARPA, IPV4ONLY_ARPA_QUERY, discover};
use crate::resolve::{RecordType, Resolve, ResolveError};

/// How long a prefix found (or the answer that there is none) is kept
/// before the next connect that needs it asks again.
pub(crate) const ANSWER_TTL: Duration = Duration::from_secs(600);

/// How long a failed query (a timeout, a server failure) is kept: not
/// long, but long enough that a broken resolver does not cost every
/// connect a query.
pub(crate) const FAILURE_TTL: Duration = Duration::from_secs(30);

/// How long a connect waits for the `ipv4only.arpa` answer.
pub(crate) const QUERY_TIMEOUT: Duration = Duration::from_secs(2);

/// How many networks are remembered; the oldest is forgotten first.
pub(crate) const MAX_NETWORKS: usize = 16;

/// The RFC 7050 result of one network.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Discovered {
    /// When the query was sent.
    pub(crate) asked: Instant,
    /// How long its answer took.
    pub(crate) took: Duration,
    /// What the answer gave, or why there was none to read (the error
    /// says so: no DNS64 on this network, a timeout, ...).
    pub(crate) outcome: Result<Discovery, String>,
}

impl Discovered {
    /// The result of an answer (or failure) that took `took` from `asked`.
    pub(crate) fn from_answer(
        asked: Instant,
        took: Duration,
        answer: Result<Vec<std::net::IpAddr>, ResolveError>,
    ) -> Self {
        let outcome = match answer {
            Ok(addrs) => Ok(discover(&addrs)),
            Err(ResolveError::NoRecords { .. } | ResolveError::NxDomain { .. }) => Err(format!(
                "{IPV4ONLY_ARPA} has no AAAA record here: no DNS64 server"
            )),
            Err(err) => Err(err.to_string()),
        };
        Self {
            asked,
            took,
            outcome,
        }
    }

    /// Until when the result holds.
    pub(crate) fn expires(&self) -> Instant {
        let ttl = match &self.outcome {
            Ok(_) => ANSWER_TTL,
            Err(why) if why.contains("no DNS64") => ANSWER_TTL,
            Err(_) => FAILURE_TTL,
        };
        self.asked + self.took + ttl
    }

    /// One line for the report.
    pub(crate) fn describe(&self) -> String {
        let took = self.took.as_secs_f64() * 1000.0;
        match &self.outcome {
            Ok(found) if found.prefixes.is_empty() => {
                format!("{IPV4ONLY_ARPA} AAAA answered in {took:.1} ms with no usable prefix")
            }
            Ok(found) => {
                let list: Vec<String> = found.prefixes.iter().map(ToString::to_string).collect();
                format!(
                    "{IPV4ONLY_ARPA} AAAA answered in {took:.1} ms: {}",
                    list.join(", ")
                )
            }
            Err(why) => format!("{IPV4ONLY_ARPA} AAAA after {took:.1} ms: {why}"),
        }
    }
}

/// The shared future of one query in flight.
pub(crate) type Query = Shared<Pin<Box<dyn Future<Output = Arc<Discovered>> + Send>>>;

/// One network's entry.
enum Slot {
    Pending(Query),
    Done(Arc<Discovered>),
}

/// The RFC 7050 results by network, with the queries in flight.
#[derive(Default)]
pub(crate) struct DiscoveryCache {
    /// Most recently stored last.
    slots: Vec<(NetworkId, Slot)>,
}

/// What the cache holds for a network at some moment.
pub(crate) enum Lookup {
    /// A result that still holds.
    Fresh(Arc<Discovered>),
    /// A query under way.
    Pending(Query),
    /// Nothing, or an expired result: ask.
    Missing,
}

impl DiscoveryCache {
    /// What there is for `network` at `now`.
    pub(crate) fn lookup(&self, network: NetworkId, now: Instant) -> Lookup {
        match self.slots.iter().find(|(n, _)| *n == network) {
            Some((_, Slot::Done(d))) if now < d.expires() => Lookup::Fresh(Arc::clone(d)),
            Some((_, Slot::Pending(q))) => Lookup::Pending(q.clone()),
            _ => Lookup::Missing,
        }
    }

    /// The result for `network` at `now`, without asking: fresh or not
    /// there.
    pub(crate) fn fresh(&self, network: NetworkId, now: Instant) -> Option<Arc<Discovered>> {
        match self.lookup(network, now) {
            Lookup::Fresh(d) => Some(d),
            Lookup::Pending(_) | Lookup::Missing => None,
        }
    }

    fn put(&mut self, network: NetworkId, slot: Slot) {
        self.slots.retain(|(n, _)| *n != network);
        if self.slots.len() >= MAX_NETWORKS {
            self.slots.remove(0);
        }
        self.slots.push((network, slot));
    }

    /// Records a query in flight for `network`.
    pub(crate) fn start(&mut self, network: NetworkId, query: Query) {
        self.put(network, Slot::Pending(query));
    }

    /// Records the result for `network`.
    pub(crate) fn finish(&mut self, network: NetworkId, found: Arc<Discovered>) {
        self.put(network, Slot::Done(found));
    }

    /// How many networks are remembered.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.slots.len()
    }
}

/// A plan and what it was made from: the host state and the DNS result.
struct CachedPlan {
    host: Arc<HostNat64>,
    dns: Option<Arc<Discovered>>,
    plan: Option<Arc<Nat64Plan>>,
}

/// What a connector and its clones share about NAT64.
#[derive(Default)]
pub(crate) struct Nat64State {
    /// The host's NAT64 side for the last snapshot seen.
    host: ArcSwapOption<HostNat64>,
    /// The plan for the last host state, DNS result and policy seen.
    plan: ArcSwapOption<CachedPlan>,
    discoveries: Mutex<DiscoveryCache>,
}

impl Nat64State {
    /// The NAT64 side of `snapshot`: one atomic load and a pointer
    /// comparison when the snapshot has not changed.
    pub(crate) fn host(&self, snapshot: &Arc<Snapshot>) -> Arc<HostNat64> {
        if let Some(host) = &*self.host.load() {
            if Arc::ptr_eq(&host.snapshot, snapshot) {
                return Arc::clone(host);
            }
        }
        let host = Arc::new(HostNat64::of(Arc::clone(snapshot), Instant::now()));
        self.host.store(Some(Arc::clone(&host)));
        host
    }

    /// Whether NAT64 matters on this host ([`HostNat64::engaged`]),
    /// without taking a reference to the host's state when it is current:
    /// the read path of every connect to an IP address.
    pub(crate) fn engaged(&self, snapshot: &Arc<Snapshot>) -> bool {
        if let Some(host) = &*self.host.load() {
            if Arc::ptr_eq(&host.snapshot, snapshot) {
                return host.engaged();
            }
        }
        self.host(snapshot).engaged()
    }

    fn discoveries(&self) -> std::sync::MutexGuard<'_, DiscoveryCache> {
        self.discoveries
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// The RFC 7050 result of `network`: the remembered one, else the
    /// answer of one query through `resolver` (shared with every connect
    /// that asks meanwhile).
    pub(crate) async fn discover(
        self: &Arc<Self>,
        network: NetworkId,
        resolver: Result<Arc<dyn Resolve>, ResolveError>,
    ) -> Arc<Discovered> {
        let query = {
            let mut cache = self.discoveries();
            match cache.lookup(network, Instant::now()) {
                Lookup::Fresh(found) => return found,
                Lookup::Pending(query) => query,
                Lookup::Missing => {
                    let state = Arc::downgrade(self);
                    let query: Pin<Box<dyn Future<Output = Arc<Discovered>> + Send>> =
                        Box::pin(async move {
                            let asked = Instant::now();
                            let answer = match resolver {
                                Ok(r) => {
                                    let lookup = r.lookup(IPV4ONLY_ARPA_QUERY, RecordType::Aaaa);
                                    match tokio::time::timeout(QUERY_TIMEOUT, lookup).await {
                                        Ok(answer) => answer,
                                        Err(_) => Err(ResolveError::Timeout {
                                            name: IPV4ONLY_ARPA.to_owned(),
                                            rtype: RecordType::Aaaa,
                                        }),
                                    }
                                }
                                Err(err) => Err(err),
                            };
                            let found =
                                Arc::new(Discovered::from_answer(asked, asked.elapsed(), answer));
                            if let Some(state) = state.upgrade() {
                                state.discoveries().finish(network, Arc::clone(&found));
                            }
                            found
                        });
                    let query = query.shared();
                    cache.start(network, query.clone());
                    query
                }
            }
        };
        query.await
    }

    /// The RFC 7050 result of `network` if one holds, without asking.
    pub(crate) fn remembered(&self, network: NetworkId) -> Option<Arc<Discovered>> {
        self.discoveries().fresh(network, Instant::now())
    }

    /// The plan for `host` with `dns` under `base`: the last one when
    /// nothing changed.
    pub(crate) fn plan(
        &self,
        host: &Arc<HostNat64>,
        dns: Option<Arc<Discovered>>,
        base: &Policy,
    ) -> Option<Arc<Nat64Plan>> {
        if let Some(cached) = &*self.plan.load() {
            let same_dns = match (&cached.dns, &dns) {
                (Some(a), Some(b)) => Arc::ptr_eq(a, b),
                (None, None) => true,
                _ => false,
            };
            if Arc::ptr_eq(&cached.host, host)
                && same_dns
                && cached.plan.as_ref().is_none_or(|p| p.made_under(base))
            {
                return cached.plan.clone();
            }
        }
        let plan = Nat64Plan::new(host, dns.as_deref(), base).map(Arc::new);
        self.plan.store(Some(Arc::new(CachedPlan {
            host: Arc::clone(host),
            dns,
            plan: plan.clone(),
        })));
        plan
    }
}
