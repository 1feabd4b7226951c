//! The search list, walked as the C library walks it, with both families
//! taking their answers from one name.
//!
//! A short name is tried with each domain of the search list in turn
//! (`printer` → `printer.corp.example.`, `printer.example.`, then
//! `printer.`). The C library asks for A and AAAA together at each name
//! and stops at the first name that has records of either type, so both
//! families' addresses come from that one name. hickory walks the list
//! once per record type: an IPv4-only `www.example.com` would have its
//! AAAA query go on to `www.example.com.corp.example.`, and a wildcard
//! record there would send the connect, IPv6 first, to another host.
//!
//! Here each family's lookup walks the candidate names itself, and the two
//! lookups of one name made together (as a connect makes them) share a
//! [`Walk`]: one query per name and type, awaited by whichever lookup
//! needs it. A family that finds no records at a name looks at the other
//! family's answer for that name before going on: if the other has
//! records, the name is the answer and this family has none. A lookup made
//! alone (the other family not asked, as on a host whose only IPv6 is
//! Teredo) walks alone, as the C library does for one family, and sends no
//! query of the other type.
//!
//! Going on after a failure follows the C library too: past a name that
//! does not exist (NXDOMAIN), has no records (NODATA) or whose server
//! failed (SERVFAIL); not past a timeout or any other error, except when
//! the name was tried as given first (enough dots, `ndots`), whose failure
//! is then the one reported if no later name answers.

use std::collections::HashMap;
use std::future::Future;
use std::net::IpAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError, Weak};

use futures_util::FutureExt;
use futures_util::future::Shared;
use hickory_resolver::proto::rr::Name;

use super::{RecordType, ResolveError};

/// The C library's limit on `ndots` (`RES_MAXNDOTS`).
pub(super) const MAX_NDOTS: usize = 15;

/// The domains a short name is tried with, and how many dots make a name
/// tried as given first (resolv.conf's `search` and `options ndots:`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(super) struct SearchList {
    pub(super) domains: Vec<Name>,
    pub(super) ndots: usize,
}

/// The names to try for one name, in order.
#[derive(Debug, PartialEq, Eq)]
pub(super) struct Candidates {
    /// Fully qualified, without repeats.
    names: Vec<Name>,
    /// Whether the first is the name as given (tried first because it has
    /// `ndots` dots or more).
    as_is_first: bool,
}

impl SearchList {
    /// The names `name` is tried as: only itself when it ends with a dot;
    /// otherwise itself first if it has at least `ndots` dots, then with
    /// each search domain, then itself last if not tried yet. A root
    /// domain in the list stands for the name as given, tried in its place.
    /// A domain that would make the name too long is left out.
    pub(super) fn candidates(&self, name: &Name) -> Candidates {
        let mut fqdn = name.clone();
        fqdn.set_fqdn(true);
        if name.is_fqdn() {
            return Candidates {
                names: vec![fqdn],
                as_is_first: true,
            };
        }
        let dots = usize::from(name.num_labels()).saturating_sub(1);
        let as_is_first = dots >= self.ndots;
        let mut names = Vec::with_capacity(self.domains.len() + 1);
        if as_is_first {
            names.push(fqdn.clone());
        }
        for domain in &self.domains {
            let Ok(mut candidate) = name.clone().append_domain(domain) else {
                continue;
            };
            candidate.set_fqdn(true);
            if !names.contains(&candidate) {
                names.push(candidate);
            }
        }
        if !names.contains(&fqdn) {
            names.push(fqdn);
        }
        Candidates { names, as_is_first }
    }
}

/// What one query said, as the walk needs it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Step {
    /// The name exists without records of the type (NODATA).
    NoData,
    /// The name does not exist (NXDOMAIN).
    NxDomain,
    /// The server failed (SERVFAIL): the next name may still answer.
    ServFail,
    /// Any other failure (a timeout, a refusal, an I/O error): the walk
    /// ends here.
    Stop,
}

/// One query's outcome, shared by the lookups that await it (each gets a
/// copy).
pub(super) type Outcome = Result<Vec<IpAddr>, (ResolveError, Step)>;

/// A query as the walk awaits it.
pub(super) type Query = Pin<Box<dyn Future<Output = Outcome> + Send>>;

/// What makes a query of a type for a fully qualified name.
pub(super) type Ask = dyn Fn(&Name, RecordType) -> Query + Send + Sync;

/// The walks in progress, by name: the second family's lookup of a name
/// joins the first's.
#[derive(Debug, Default)]
pub(super) struct Walks {
    by_name: Mutex<HashMap<Box<str>, Weak<Walk>>>,
}

/// The search-list walk of one name, shared by the lookups of its two
/// families made together.
pub(super) struct Walk {
    key: Box<str>,
    walks: Weak<Walks>,
    candidates: Candidates,
    /// Whether a lookup of each family (A, then AAAA) joined this walk;
    /// it stays joined when it ends, its answers kept for the other.
    asked: [AtomicBool; 2],
    /// Each candidate's queries, A then AAAA, made by the first lookup
    /// that needs one.
    queries: Mutex<Vec<[Option<Shared<Query>>; 2]>>,
}

fn slot(rtype: RecordType) -> usize {
    match rtype {
        RecordType::A => 0,
        RecordType::Aaaa => 1,
    }
}

fn other(rtype: RecordType) -> RecordType {
    match rtype {
        RecordType::A => RecordType::Aaaa,
        RecordType::Aaaa => RecordType::A,
    }
}

impl Walks {
    /// A lookup of `rtype` for `key` (the name, lowercase) joins the walk
    /// of the same name whose `rtype` lookup is not made yet, or starts a
    /// new one with `candidates`. One walk has one lookup of each family:
    /// a second connect to the same name walks on its own.
    pub(super) fn join(
        self: &Arc<Self>,
        key: &str,
        rtype: RecordType,
        candidates: impl FnOnce() -> Candidates,
    ) -> Arc<Walk> {
        let family = slot(rtype);
        let mut by_name = self.by_name.lock().unwrap_or_else(PoisonError::into_inner);
        let walk = match by_name.get(key).and_then(Weak::upgrade) {
            Some(walk) if !walk.asked[family].load(Ordering::Acquire) => walk,
            _ => {
                let candidates = candidates();
                let queries = vec![[None, None]; candidates.names.len()];
                let walk = Arc::new(Walk {
                    key: key.into(),
                    walks: Arc::downgrade(self),
                    candidates,
                    asked: [AtomicBool::new(false), AtomicBool::new(false)],
                    queries: Mutex::new(queries),
                });
                by_name.insert(key.into(), Arc::downgrade(&walk));
                walk
            }
        };
        walk.asked[family].store(true, Ordering::Release);
        walk
    }

    /// How many walks are known (in progress, or ended and not yet
    /// removed).
    #[cfg(test)]
    fn len(&self) -> usize {
        self.by_name
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .len()
    }
}

impl Drop for Walk {
    fn drop(&mut self) {
        let Some(walks) = self.walks.upgrade() else {
            return;
        };
        let mut by_name = walks.by_name.lock().unwrap_or_else(PoisonError::into_inner);
        // Only this walk's entry: a newer walk of the name may hold it.
        if by_name
            .get(&self.key)
            .is_some_and(|w| std::ptr::eq(w.as_ptr(), self))
        {
            by_name.remove(&self.key);
        }
    }
}

impl Walk {
    /// The query of `rtype` for candidate `index`, made with `ask` by the
    /// first lookup that needs it.
    fn query(&self, index: usize, rtype: RecordType, ask: &Ask) -> Shared<Query> {
        let mut queries = self.queries.lock().unwrap_or_else(PoisonError::into_inner);
        queries[index][slot(rtype)]
            .get_or_insert_with(|| ask(&self.candidates.names[index], rtype).shared())
            .clone()
    }

    /// Whether a lookup of `rtype` joined this walk.
    fn asked(&self, rtype: RecordType) -> bool {
        self.asked[slot(rtype)].load(Ordering::Acquire)
    }

    /// The answer for `rtype`: the records at the first name that has
    /// records of either type (of this family alone when the other is not
    /// asked), else the error the C library would report.
    /// `given` is the name as the lookup was asked for it.
    pub(super) async fn run(
        &self,
        rtype: RecordType,
        ask: &Ask,
        given: &str,
    ) -> Result<Vec<IpAddr>, ResolveError> {
        let last = self.candidates.names.len().saturating_sub(1);
        let mut nodata = None;
        let mut servfail = None;
        let mut as_is = None;
        let mut latest = None;
        for index in 0..self.candidates.names.len() {
            let (error, step) = match self.query(index, rtype, ask).await {
                Ok(addrs) => return Ok(addrs),
                Err(failed) => failed,
            };
            // This name has no records of the type; if it has some of the
            // other, it is the answer all the same.
            if index < last
                && step != Step::NxDomain
                && self.asked(other(rtype))
                && self.query(index, other(rtype), ask).await.is_ok()
            {
                return Err(error);
            }
            if index == 0 && self.candidates.as_is_first {
                as_is = Some(error.clone());
            }
            match step {
                Step::NoData if nodata.is_none() => nodata = Some(error.clone()),
                Step::ServFail if servfail.is_none() => servfail = Some(error.clone()),
                Step::NoData | Step::ServFail => {}
                Step::NxDomain => {}
                Step::Stop if index == 0 && self.candidates.as_is_first => {}
                Step::Stop => return Err(error),
            }
            latest = Some(error);
        }
        Err(match as_is.or(nodata).or(servfail).or(latest) {
            Some(error) => error,
            // No name to try (never made so): nothing of that name exists.
            None => ResolveError::NxDomain {
                name: given.to_owned(),
            },
        })
    }
}

#[cfg(test)]
mod tests {
    use std::net::{Ipv4Addr, Ipv6Addr};
    use std::str::FromStr;

    use super::*;

    fn name(s: &str) -> Name {
        Name::from_str(s).unwrap()
    }

    fn list(domains: &[&str], ndots: usize) -> SearchList {
        SearchList {
            domains: domains.iter().map(|d| name(d)).collect(),
            ndots,
        }
    }

    fn names(candidates: &Candidates) -> Vec<String> {
        candidates.names.iter().map(ToString::to_string).collect()
    }

    #[test]
    fn a_short_name_tries_the_domains_first_and_itself_last() {
        let c = list(&["corp.example", "example"], 1).candidates(&name("printer"));
        assert_eq!(
            names(&c),
            ["printer.corp.example.", "printer.example.", "printer."]
        );
        assert!(!c.as_is_first);
    }

    #[test]
    fn a_name_with_ndots_dots_tries_itself_first() {
        let c = list(&["corp.example"], 1).candidates(&name("www.example.com"));
        assert_eq!(
            names(&c),
            ["www.example.com.", "www.example.com.corp.example."]
        );
        assert!(c.as_is_first);
        // ndots:5, as in a cluster: two dots are not enough.
        let c = list(&["ns.svc.cluster.local", "svc.cluster.local"], 5)
            .candidates(&name("www.example.com"));
        assert_eq!(
            names(&c),
            [
                "www.example.com.ns.svc.cluster.local.",
                "www.example.com.svc.cluster.local.",
                "www.example.com."
            ]
        );
        assert!(!c.as_is_first);
        // ndots:0: even a name without dots goes first.
        let c = list(&["corp.example"], 0).candidates(&name("printer"));
        assert_eq!(names(&c), ["printer.", "printer.corp.example."]);
    }

    #[test]
    fn a_name_ending_with_a_dot_is_tried_alone() {
        let c = list(&["corp.example"], 1).candidates(&name("printer."));
        assert_eq!(names(&c), ["printer."]);
        assert!(c.as_is_first);
    }

    #[test]
    fn the_root_domain_stands_for_the_name_in_its_place() {
        let c = list(&["corp.example", ".", "example"], 1).candidates(&name("printer"));
        assert_eq!(
            names(&c),
            ["printer.corp.example.", "printer.", "printer.example."]
        );
    }

    #[test]
    fn a_domain_that_makes_the_name_too_long_is_left_out() {
        // 253 bytes on the wire: a valid domain, too long for `printer.`.
        let label = "a".repeat(62);
        let long = format!("{label}.{label}.{label}.{label}");
        let c = list(&[long.as_str(), "corp.example"], 1).candidates(&name("printer"));
        assert_eq!(names(&c), ["printer.corp.example.", "printer."]);
    }

    const V4: IpAddr = IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1));
    const V6: IpAddr = IpAddr::V6(Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 1));

    /// A zone for the walk: each (name, type)'s answer, the records or how
    /// the query failed; anything not listed is NXDOMAIN. The queries made
    /// are logged.
    #[derive(Default)]
    struct Zone {
        answers: HashMap<(String, RecordType), Result<IpAddr, Step>>,
        log: Mutex<Vec<(String, RecordType)>>,
    }

    impl Zone {
        fn with(mut self, name: &str, rtype: RecordType, answer: Result<IpAddr, Step>) -> Self {
            self.answers.insert((name.to_owned(), rtype), answer);
            self
        }

        fn ask(self: &Arc<Self>) -> Box<Ask> {
            let zone = Arc::clone(self);
            Box::new(move |name: &Name, rtype: RecordType| -> Query {
                let key = (name.to_string(), rtype);
                zone.log.lock().unwrap().push(key.clone());
                let outcome = match zone.answers.get(&key).copied() {
                    Some(Ok(ip)) => Ok(vec![ip]),
                    Some(Err(step)) => Err((error(step, rtype), step)),
                    None => Err((error(Step::NxDomain, rtype), Step::NxDomain)),
                };
                Box::pin(std::future::ready(outcome))
            })
        }

        fn queries(&self) -> Vec<(String, RecordType)> {
            self.log.lock().unwrap().clone()
        }
    }

    /// The error a query of `rtype` for `host` fails with at `step`.
    fn error(step: Step, rtype: RecordType) -> ResolveError {
        let name = "host".to_owned();
        match step {
            Step::NoData => ResolveError::NoRecords { name, rtype },
            Step::NxDomain => ResolveError::NxDomain { name },
            Step::ServFail => ResolveError::Server {
                name,
                rtype,
                detail: "server answered SERVFAIL".to_owned(),
            },
            Step::Stop => ResolveError::Timeout { name, rtype },
        }
    }

    use RecordType::{A, Aaaa};

    /// Walks `host` with the search list `corp.example`, `home.example`
    /// (ndots 1) for each of `families`, all together; the results in the
    /// same order.
    async fn walk(
        zone: &Arc<Zone>,
        host: &str,
        families: &[RecordType],
    ) -> Vec<Result<Vec<IpAddr>, ResolveError>> {
        let walks = Arc::new(Walks::default());
        let search = list(&["corp.example", "home.example"], 1);
        let members: Vec<Arc<Walk>> = families
            .iter()
            .map(|&rtype| walks.join(host, rtype, || search.candidates(&name(host))))
            .collect();
        let ask = zone.ask();
        let runs = members
            .iter()
            .zip(families)
            .map(|(walk, &rtype)| walk.run(rtype, &*ask, host));
        futures_util::future::join_all(runs).await
    }

    /// An IPv4-only name with a wildcard AAAA in a search domain: together,
    /// both families stop at the name itself, and the wildcard is never
    /// asked for.
    #[tokio::test]
    async fn both_families_answer_from_the_first_name_with_records() {
        let zone = Arc::new(
            Zone::default()
                .with("www.example.com.", A, Ok(V4))
                .with("www.example.com.", Aaaa, Err(Step::NoData))
                .with("www.example.com.corp.example.", Aaaa, Ok(V6)),
        );
        let results = walk(&zone, "www.example.com", &[A, Aaaa]).await;
        assert_eq!(results[0].as_ref().unwrap(), &[V4]);
        assert!(
            matches!(results[1], Err(ResolveError::NoRecords { rtype: Aaaa, .. })),
            "{:?}",
            results[1]
        );
        assert_eq!(
            zone.queries(),
            [
                ("www.example.com.".to_owned(), A),
                ("www.example.com.".to_owned(), Aaaa)
            ],
            "one query per name and type, none past the name"
        );

        // AAAA asked alone (A not asked, as on a Teredo-only host) walks
        // alone, as the C library does for one family: no A query.
        let zone = Arc::new(
            Zone::default()
                .with("www.example.com.", A, Ok(V4))
                .with("www.example.com.", Aaaa, Err(Step::NoData))
                .with("www.example.com.corp.example.", Aaaa, Ok(V6)),
        );
        let results = walk(&zone, "www.example.com", &[Aaaa]).await;
        assert_eq!(results[0].as_ref().unwrap(), &[V6]);
        assert!(zone.queries().iter().all(|(_, t)| *t == Aaaa));
    }

    /// A short name found in the second search domain, one family in the
    /// first: the first is the answer for both.
    #[tokio::test]
    async fn a_short_name_stops_at_the_first_domain_with_records() {
        let zone = Arc::new(
            Zone::default()
                .with("printer.corp.example.", A, Err(Step::NoData))
                .with("printer.corp.example.", Aaaa, Ok(V6))
                .with("printer.home.example.", A, Ok(V4)),
        );
        let results = walk(&zone, "printer", &[A, Aaaa]).await;
        assert!(
            matches!(results[0], Err(ResolveError::NoRecords { rtype: A, .. })),
            "{:?}",
            results[0]
        );
        assert_eq!(results[1].as_ref().unwrap(), &[V6]);
        assert!(
            !zone
                .queries()
                .iter()
                .any(|(n, _)| n == "printer.home.example."),
            "{:?}",
            zone.queries()
        );

        // Past names that do not exist, both find the second domain's.
        let zone = Arc::new(
            Zone::default()
                .with("printer.home.example.", A, Ok(V4))
                .with("printer.home.example.", Aaaa, Ok(V6)),
        );
        let results = walk(&zone, "printer", &[A, Aaaa]).await;
        assert_eq!(results[0].as_ref().unwrap(), &[V4]);
        assert_eq!(results[1].as_ref().unwrap(), &[V6]);
    }

    /// Past SERVFAIL the walk goes on; past a timeout it stops, unless
    /// the timeout was the name tried as given first, whose failure is the
    /// one reported when nothing later answers.
    #[tokio::test]
    async fn failures_end_or_continue_the_walk_as_the_c_library_does() {
        let zone = Arc::new(
            Zone::default()
                .with("printer.corp.example.", A, Err(Step::ServFail))
                .with("printer.home.example.", A, Ok(V4)),
        );
        assert_eq!(
            walk(&zone, "printer", &[A]).await[0].as_ref().unwrap(),
            &[V4]
        );

        let zone = Arc::new(
            Zone::default()
                .with("printer.corp.example.", A, Err(Step::Stop))
                .with("printer.home.example.", A, Ok(V4)),
        );
        let result = walk(&zone, "printer", &[A]).await.remove(0);
        assert!(
            matches!(result, Err(ResolveError::Timeout { .. })),
            "{result:?}"
        );
        assert_eq!(zone.queries().len(), 1);

        let zone = Arc::new(
            Zone::default()
                .with("www.example.com.", A, Err(Step::Stop))
                .with("www.example.com.home.example.", A, Ok(V4)),
        );
        let result = walk(&zone, "www.example.com", &[A]).await.remove(0);
        assert_eq!(result.unwrap(), [V4]);
        let zone = Arc::new(Zone::default().with("www.example.com.", A, Err(Step::Stop)));
        let result = walk(&zone, "www.example.com", &[A]).await.remove(0);
        assert!(
            matches!(result, Err(ResolveError::Timeout { .. })),
            "{result:?}"
        );
        assert_eq!(zone.queries().len(), 3, "every name tried");
    }

    /// Nothing anywhere: NXDOMAIN; a name that exists without records
    /// somewhere on the way: NODATA (and SERVFAIL over NXDOMAIN).
    #[tokio::test]
    async fn the_error_at_the_end_says_the_most_telling_thing() {
        let zone = Arc::new(Zone::default());
        let result = walk(&zone, "printer", &[A]).await.remove(0);
        assert!(
            matches!(result, Err(ResolveError::NxDomain { .. })),
            "{result:?}"
        );

        let zone = Arc::new(Zone::default().with("printer.home.example.", A, Err(Step::NoData)));
        let result = walk(&zone, "printer", &[A]).await.remove(0);
        assert!(
            matches!(result, Err(ResolveError::NoRecords { .. })),
            "{result:?}"
        );

        let zone = Arc::new(Zone::default().with("printer.corp.example.", A, Err(Step::ServFail)));
        let result = walk(&zone, "printer", &[A]).await.remove(0);
        assert!(
            matches!(result, Err(ResolveError::Server { .. })),
            "{result:?}"
        );
    }

    /// The registry pairs one lookup of each family, forgets a walk when
    /// its lookups are gone, and gives a second connect to the same name a
    /// walk of its own.
    #[test]
    fn walks_pair_one_lookup_of_each_family() {
        let walks = Arc::new(Walks::default());
        let search = list(&["corp.example"], 1);
        let candidates = || search.candidates(&name("printer"));
        let a = walks.join("printer", A, candidates);
        let aaaa = walks.join("printer", Aaaa, candidates);
        assert!(Arc::ptr_eq(&a, &aaaa));
        let a2 = walks.join("printer", A, candidates);
        assert!(!Arc::ptr_eq(&a, &a2), "A taken: a new walk");
        assert!(a2.asked(A) && !a2.asked(Aaaa));
        drop(a);
        assert!(aaaa.asked(A), "an ended lookup stays joined");
        assert_eq!(walks.len(), 1, "the newer walk holds the name");
        // The first walk ends: the name stays with the newer one.
        drop(aaaa);
        assert_eq!(walks.len(), 1);
        drop(a2);
        assert_eq!(walks.len(), 0, "nothing left behind");
    }
}
