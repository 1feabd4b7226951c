//! DNS through hickory-resolver, configured like the system's stub resolver.
//!
//! hickory is used instead of `getaddrinfo` because it is asynchronous (no
//! thread per lookup), lets A and AAAA be asked separately, and reports
//! NXDOMAIN, NODATA, SERVFAIL and timeouts as distinct errors, which the
//! race needs to tell "no IPv6 here" from "IPv6 answer lost".

use std::fmt;
use std::net::{IpAddr, SocketAddr};
#[cfg(unix)]
use std::path::Path;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use hickory_resolver::TokioResolver;
use hickory_resolver::config::{
    NameServerConfig, NameServerConfigGroup, ResolveHosts, ResolverConfig, ResolverOpts,
};
use hickory_resolver::name_server::TokioConnectionProvider;
use hickory_resolver::proto::op::ResponseCode;
use hickory_resolver::proto::rr::{Name, RData, RecordType as HickoryType};
use hickory_resolver::proto::xfer::Protocol;
use hickory_resolver::proto::{ProtoError, ProtoErrorKind};

use super::hosts::{self, HostsTable};
use super::search::{Ask, MAX_NDOTS, Outcome, Query, SearchList, Step, Walks};
use super::{LookupFuture, RecordType, Resolve, ResolveError, dedup, literal};

/// The system's resolver configuration file.
#[cfg(unix)]
const RESOLV_CONF: &str = "/etc/resolv.conf";

/// Options of a [`SystemResolver`] built with
/// [`SystemResolver::with_nameservers`].
///
/// The defaults are those of `resolv.conf(5)`: 5 s timeout, 2 attempts.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct ResolverOptions {
    /// How long to wait for the answer to one query sent to one server
    /// before trying again (`options timeout:` in resolv.conf).
    pub timeout: Duration,
    /// How many times a query is sent in all before giving up, the first
    /// try included (`options attempts:` in resolv.conf). 0 counts as 1.
    pub attempts: usize,
    /// Answer from the hosts file before asking the servers: a name it
    /// lists is answered from it alone, as the C library does.
    pub use_hosts_file: bool,
    /// The hosts file to answer from when [`use_hosts_file`](Self::use_hosts_file)
    /// is set; `None`: the system's (`/etc/hosts`).
    pub hosts_path: Option<PathBuf>,
    /// Keep answers (and negative answers) for their TTL.
    pub cache: bool,
}

impl Default for ResolverOptions {
    fn default() -> Self {
        Self {
            timeout: Duration::from_secs(5),
            attempts: 2,
            use_hosts_file: false,
            hosts_path: None,
            cache: true,
        }
    }
}

impl ResolverOptions {
    /// Sets [`timeout`](Self::timeout).
    #[must_use]
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Sets [`attempts`](Self::attempts).
    #[must_use]
    pub fn with_attempts(mut self, attempts: usize) -> Self {
        self.attempts = attempts;
        self
    }

    /// Sets [`use_hosts_file`](Self::use_hosts_file).
    #[must_use]
    pub fn with_hosts_file(mut self, use_hosts_file: bool) -> Self {
        self.use_hosts_file = use_hosts_file;
        self
    }

    /// Answers from the hosts file at `path` before asking the servers
    /// (sets [`use_hosts_file`](Self::use_hosts_file) and
    /// [`hosts_path`](Self::hosts_path)).
    #[must_use]
    pub fn with_hosts_path(mut self, path: impl Into<PathBuf>) -> Self {
        self.use_hosts_file = true;
        self.hosts_path = Some(path.into());
        self
    }

    /// Sets [`cache`](Self::cache).
    #[must_use]
    pub fn with_cache(mut self, cache: bool) -> Self {
        self.cache = cache;
        self
    }

    /// Writes these options over hickory's.
    fn apply(&self, opts: &mut ResolverOpts) {
        opts.timeout = self.timeout;
        opts.attempts = hickory_attempts(self.attempts);
        // The hosts file is this crate's to answer from (see `hosts`).
        opts.use_hosts_file = ResolveHosts::Never;
        if !self.cache {
            opts.cache_size = 0;
        }
    }
}

/// hickory's `attempts` counts the retries after the first try, resolv.conf
/// counts the tries: `attempts:1` must send one query, not two, or a lost
/// answer takes twice the timeout the user asked for.
fn hickory_attempts(tries: usize) -> usize {
    tries.saturating_sub(1)
}

/// DNS lookups through hickory-resolver.
///
/// [`SystemResolver::new`] follows `/etc/resolv.conf` (name servers,
/// `search`/`domain`, `ndots`, `timeout`, `attempts`) and answers from
/// `/etc/hosts` first, as the C library does with `hosts: files dns`: a
/// name the file lists (as given, before any search-list expansion) is
/// answered from the file alone, for both families, so that
/// `127.0.0.1 api.example.com` is not undone by an AAAA record in DNS. The
/// file is read when the resolver is made.
/// [`SystemResolver::with_nameservers`] asks exactly the servers given.
///
/// A name that does not end with a dot is tried with the search list as
/// the C library tries it, and the A and AAAA lookups of one name made
/// together (as a connect makes them) take their answers from the same
/// name: the first that has records of either type. An IPv4-only
/// `www.example.com` is not given the IPv6 address of a wildcard record
/// in a search domain.
///
/// Queries go over UDP; a truncated answer is asked again over TCP.
/// Cloning is cheap and clones share the cache and connections. Lookups
/// must run inside a tokio runtime with I/O and time enabled.
#[derive(Clone)]
pub struct SystemResolver {
    inner: Arc<TokioResolver>,
    /// The hosts file's names, answered before DNS; `None` when off.
    hosts: Option<Arc<HostsTable>>,
    /// How short names are expanded; hickory itself is asked only for
    /// fully qualified names.
    search: Arc<SearchList>,
    /// The search-list walks in progress.
    walks: Arc<Walks>,
}

impl SystemResolver {
    /// A resolver with the system configuration: on Unix
    /// `/etc/resolv.conf` and `/etc/hosts`; on Windows the name servers
    /// and search list of the network adapters, and the hosts file.
    ///
    /// # Errors
    ///
    /// [`ResolveError::Config`] naming `/etc/resolv.conf` (or on Windows
    /// the adapters' configuration) if it cannot be read or lists no name
    /// server; on other systems, always.
    pub fn new() -> Result<Self, ResolveError> {
        #[cfg(unix)]
        return Self::from_resolv_conf(RESOLV_CONF);
        #[cfg(windows)]
        {
            let config_error = |detail: String| ResolveError::Config {
                path: "the network adapters' DNS configuration".to_owned(),
                detail,
            };
            let (config, mut opts) = hickory_resolver::system_conf::read_system_conf()
                .map_err(|e| config_error(config_detail(&e)))?;
            if config.name_servers().is_empty() {
                return Err(config_error("no name server".to_owned()));
            }
            opts.use_hosts_file = ResolveHosts::Never;
            let search = search_list(&config, &opts);
            Ok(Self::build(config, opts, Some(hosts::default_path())).searching(search))
        }
        #[cfg(not(any(unix, windows)))]
        Err(ResolveError::Config {
            path: "the system's DNS configuration".to_owned(),
            detail: "not known on this system: use SystemResolver::with_nameservers".to_owned(),
        })
    }

    /// Like [`new`](Self::new) but reads the resolv.conf at `path` (a
    /// container's, a test's). `/etc/hosts` is still used. Unix only.
    ///
    /// # Errors
    ///
    /// [`ResolveError::Config`] naming `path` if it cannot be read or
    /// parsed, or lists no name server.
    #[cfg(unix)]
    pub fn from_resolv_conf(path: impl AsRef<Path>) -> Result<Self, ResolveError> {
        let path = path.as_ref();
        let config_error = |detail: String| ResolveError::Config {
            path: path.display().to_string(),
            detail,
        };
        let data = std::fs::read(path).map_err(|e| config_error(format!("cannot read: {e}")))?;
        let (config, mut opts) = hickory_resolver::system_conf::parse_resolv_conf(&data)
            .map_err(|e| config_error(config_detail(&e)))?;
        // The file says how many tries; hickory wants the retries.
        opts.attempts = hickory_attempts(opts.attempts);
        opts.use_hosts_file = ResolveHosts::Never;
        let search = search_list(&config, &opts);
        Ok(Self::build(config, opts, Some(hosts::default_path())).searching(search))
    }

    /// A resolver that sends its queries to exactly `servers` (UDP, then
    /// TCP when an answer is truncated), with no search list (see
    /// [`with_search`](Self::with_search)) and no `/etc/hosts` unless
    /// `opts.use_hosts_file`.
    ///
    /// For tests (a local server on a random port) and setups that must not
    /// depend on the host's configuration. With several servers, they are
    /// tried in turn (hickory orders them by how well they answered).
    pub fn with_nameservers(servers: &[SocketAddr], opts: ResolverOptions) -> Self {
        let mut group = NameServerConfigGroup::with_capacity(servers.len() * 2);
        for &addr in servers {
            for protocol in [Protocol::Udp, Protocol::Tcp] {
                let mut server = NameServerConfig::new(addr, protocol);
                // These servers were chosen explicitly: their NXDOMAIN is
                // the answer, not a reason to ask the next one.
                server.trust_negative_responses = true;
                group.push(server);
            }
        }
        let config = ResolverConfig::from_parts(None, vec![], group);
        let mut hickory_opts = ResolverOpts::default();
        opts.apply(&mut hickory_opts);
        let hosts = opts
            .use_hosts_file
            .then(|| opts.hosts_path.unwrap_or_else(hosts::default_path));
        Self::build(config, hickory_opts, hosts)
    }

    /// A resolver of `config` and `opts` that answers from the hosts file
    /// at `hosts` (read now) first.
    fn build(config: ResolverConfig, opts: ResolverOpts, hosts: Option<PathBuf>) -> Self {
        let resolver =
            TokioResolver::builder_with_config(config, TokioConnectionProvider::default())
                .with_options(opts)
                .build();
        Self {
            inner: Arc::new(resolver),
            hosts: hosts.map(|path| Arc::new(HostsTable::read(&path))),
            search: Arc::default(),
            walks: Arc::default(),
        }
    }

    /// This resolver, expanding short names with `search`.
    fn searching(mut self, search: SearchList) -> Self {
        self.search = Arc::new(search);
        self
    }

    /// Expands names that do not end with a dot with `domains`, as
    /// resolv.conf's `search` line does: a name with at least `ndots` dots
    /// is tried as given first, then with each domain; a shorter one with
    /// each domain first, then as given (`options ndots:`, at most 15).
    /// Replaces the search list the resolver had.
    ///
    /// ```
    /// use happy_connect::resolve::{ResolverOptions, SystemResolver};
    ///
    /// // `printer` is asked as printer.corp.example., then printer.
    /// let resolver = SystemResolver::with_nameservers(
    ///     &["192.0.2.53:53".parse()?],
    ///     ResolverOptions::default(),
    /// )
    /// .with_search(&["corp.example"], 1)?;
    /// # let _ = resolver;
    /// # Ok::<_, Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Errors
    ///
    /// [`ResolveError::Config`] naming the first domain that is not a
    /// valid domain name.
    pub fn with_search<S: AsRef<str>>(
        self,
        domains: &[S],
        ndots: usize,
    ) -> Result<Self, ResolveError> {
        let domains = domains
            .iter()
            .map(|domain| {
                let domain = domain.as_ref();
                Name::from_utf8(domain).map_err(|e| ResolveError::Config {
                    path: "the search list".to_owned(),
                    detail: format!("{domain:?} is not a domain name: {e}"),
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(self.searching(SearchList {
            domains,
            ndots: ndots.min(MAX_NDOTS),
        }))
    }
}

/// The search list of a system configuration as the C library reads it:
/// the `search` domains (or the one `domain`, whichever line came last),
/// else the domain of the host's name.
#[cfg(any(unix, windows))]
fn search_list(config: &ResolverConfig, opts: &ResolverOpts) -> SearchList {
    let domains = if config.search().is_empty() {
        config.domain().cloned().into_iter().collect()
    } else {
        config.search().to_vec()
    };
    SearchList {
        domains,
        ndots: opts.ndots.min(MAX_NDOTS),
    }
}

impl fmt::Debug for SystemResolver {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let servers: Vec<String> = self
            .inner
            .config()
            .name_servers()
            .iter()
            .map(ToString::to_string)
            .collect();
        let search: Vec<String> = self
            .search
            .domains
            .iter()
            .map(ToString::to_string)
            .collect();
        f.debug_struct("SystemResolver")
            .field("name_servers", &servers)
            .field("search", &search)
            .field("ndots", &self.search.ndots)
            .field("timeout", &self.inner.options().timeout)
            .finish_non_exhaustive()
    }
}

impl Resolve for SystemResolver {
    fn lookup(&self, name: &str, rtype: RecordType) -> LookupFuture {
        if let Some(answer) = literal(name, rtype) {
            return LookupFuture::ready(answer);
        }
        if let Some(answer) = self.hosts.as_ref().and_then(|h| h.lookup(name, rtype)) {
            return LookupFuture::ready(answer);
        }
        // Parsed here, not by hickory, so that a bad name is reported as
        // such and not as a failed query. An ASCII name is taken as DNS
        // takes it (`_` and all, as the C library sends it); only another
        // goes through IDNA.
        let parsed = if name.is_ascii() {
            Name::from_ascii(name)
        } else {
            Name::from_utf8(name)
        };
        let query = match parsed {
            Ok(query) => query,
            Err(e) => {
                return LookupFuture::ready(Err(ResolveError::InvalidName {
                    name: name.to_owned(),
                    detail: e.to_string(),
                }));
            }
        };
        let resolver = Arc::clone(&self.inner);
        if query.is_fqdn() || self.search.domains.is_empty() {
            // One name to try.
            let name = name.to_owned();
            let mut fqdn = query;
            fqdn.set_fqdn(true);
            return LookupFuture::new(async move {
                ask(&resolver, fqdn, rtype, &name)
                    .await
                    .map_err(|(error, _)| error)
            });
        }
        let key = query.to_lowercase().to_ascii();
        let walk = self
            .walks
            .join(&key, rtype, || self.search.candidates(&query));
        let given: Arc<str> = name.into();
        let asked_for = Arc::clone(&given);
        let asker: Box<Ask> = Box::new(move |name: &Name, rtype: RecordType| -> Query {
            let (resolver, name, given) =
                (Arc::clone(&resolver), name.clone(), Arc::clone(&asked_for));
            Box::pin(async move { ask(&resolver, name, rtype, &given).await })
        });
        LookupFuture::new(async move { walk.run(rtype, &*asker, &given).await })
    }
}

/// One query of `rtype` for the fully qualified `name`; errors name
/// `given`, the name the lookup was asked for, and say whether a search
/// goes on past them.
async fn ask(resolver: &TokioResolver, name: Name, rtype: RecordType, given: &str) -> Outcome {
    let hickory_type = match rtype {
        RecordType::A => HickoryType::A,
        RecordType::Aaaa => HickoryType::AAAA,
    };
    let answer = resolver
        .lookup(name, hickory_type)
        .await
        .map_err(|e| map_error(&e, given, rtype))?;
    // The answer may hold the CNAME chain too; keep the addresses.
    let mut addrs: Vec<IpAddr> = answer
        .iter()
        .filter_map(|rdata| match (rtype, rdata) {
            (RecordType::A, RData::A(a)) => Some(IpAddr::V4(a.0)),
            (RecordType::Aaaa, RData::AAAA(aaaa)) => Some(IpAddr::V6(aaaa.0)),
            _ => None,
        })
        .collect();
    dedup(&mut addrs);
    if addrs.is_empty() {
        return Err((
            ResolveError::NoRecords {
                name: given.to_owned(),
                rtype,
            },
            Step::NoData,
        ));
    }
    Ok(addrs)
}

/// What hickory said about a resolv.conf it could not use, without the
/// "proto error: io error:" layers of its error chain.
fn config_detail(err: &hickory_resolver::ResolveError) -> String {
    match err.proto().map(ProtoError::kind) {
        Some(ProtoErrorKind::Io(io)) => lowercase_first(&io.to_string()),
        _ => lowercase_first(&err.to_string()),
    }
}

/// Maps one failed hickory lookup onto [`ResolveError`], with whether a
/// search goes on past it: past NXDOMAIN, NODATA and SERVFAIL, as the C
/// library's does; not past a timeout, a refusal or an I/O error.
fn map_error(
    err: &hickory_resolver::ResolveError,
    name: &str,
    rtype: RecordType,
) -> (ResolveError, Step) {
    let server = |detail: String| ResolveError::Server {
        name: name.to_owned(),
        rtype,
        detail,
    };
    let Some(proto) = err.proto() else {
        return (server(lowercase_first(&err.to_string())), Step::Stop);
    };
    let error = match proto.kind() {
        // hickory reports every answer without records as "no records",
        // whatever the response code: NOERROR is NODATA, NXDOMAIN is a name
        // that does not exist, anything else is the server failing.
        ProtoErrorKind::NoRecordsFound { response_code, .. } => {
            return match *response_code {
                ResponseCode::NoError => (
                    ResolveError::NoRecords {
                        name: name.to_owned(),
                        rtype,
                    },
                    Step::NoData,
                ),
                ResponseCode::NXDomain => (
                    ResolveError::NxDomain {
                        name: name.to_owned(),
                    },
                    Step::NxDomain,
                ),
                code => (
                    server(format!("server answered {}", rcode_name(code))),
                    if code == ResponseCode::ServFail {
                        Step::ServFail
                    } else {
                        Step::Stop
                    },
                ),
            };
        }
        ProtoErrorKind::Timeout => ResolveError::Timeout {
            name: name.to_owned(),
            rtype,
        },
        ProtoErrorKind::Io(io) => ResolveError::Io(std::io::Error::new(
            io.kind(),
            format!("{rtype} lookup of {name}: {io}"),
        )),
        ProtoErrorKind::NoConnections => server("no name server could be reached".to_owned()),
        ProtoErrorKind::Busy => server("every name server is busy".to_owned()),
        _ => server(lowercase_first(&proto.to_string())),
    };
    (error, Step::Stop)
}

/// The mnemonic of a response code as DNS tools print it (`SERVFAIL`),
/// which is what an operator searches logs for.
fn rcode_name(code: ResponseCode) -> String {
    match code {
        ResponseCode::FormErr => "FORMERR".to_owned(),
        ResponseCode::ServFail => "SERVFAIL".to_owned(),
        ResponseCode::NotImp => "NOTIMP".to_owned(),
        ResponseCode::Refused => "REFUSED".to_owned(),
        other => format!("response code {}", u16::from(other)),
    }
}

/// Error messages of this crate start lowercase; hickory's and the C
/// library's sometimes do not.
pub(super) fn lowercase_first(s: &str) -> String {
    let mut chars = s.chars();
    match chars.next() {
        // Leave acronyms ("SERVFAIL", "IO") alone.
        Some(c) if chars.next().is_some_and(char::is_lowercase) => {
            c.to_lowercase().chain(s[c.len_utf8()..].chars()).collect()
        }
        _ => s.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn attempts_are_tries() {
        assert_eq!(hickory_attempts(0), 0);
        assert_eq!(hickory_attempts(1), 0);
        assert_eq!(hickory_attempts(2), 1);
    }

    /// The search list as the C library reads resolv.conf: the last of
    /// `search` and `domain`; `ndots` capped at 15.
    #[test]
    #[cfg(unix)]
    fn the_search_list_comes_from_the_last_search_or_domain_line() {
        let read = |text: &str| {
            let (config, opts) =
                hickory_resolver::system_conf::parse_resolv_conf(text.as_bytes()).unwrap();
            let list = search_list(&config, &opts);
            let domains: Vec<String> = list.domains.iter().map(Name::to_ascii).collect();
            (domains, list.ndots)
        };
        assert_eq!(
            read("nameserver 192.0.2.53\nsearch a.example b.example\noptions ndots:2\n"),
            (vec!["a.example".to_owned(), "b.example".to_owned()], 2)
        );
        assert_eq!(
            read("nameserver 192.0.2.53\nsearch a.example\ndomain c.example\n"),
            (vec!["c.example".to_owned()], 1)
        );
        assert_eq!(
            read("nameserver 192.0.2.53\nsearch a.example\noptions ndots:40\n").1,
            MAX_NDOTS
        );
    }

    #[test]
    fn lowercase_first_keeps_acronyms() {
        assert_eq!(
            lowercase_first("Name or service not known"),
            "name or service not known"
        );
        assert_eq!(lowercase_first("SERVFAIL"), "SERVFAIL");
        assert_eq!(lowercase_first(""), "");
    }

    #[test]
    fn options_apply() {
        let mut opts = ResolverOpts::default();
        ResolverOptions::default()
            .with_timeout(Duration::from_millis(300))
            .with_attempts(1)
            .with_cache(false)
            .apply(&mut opts);
        assert_eq!(opts.timeout, Duration::from_millis(300));
        assert_eq!(opts.attempts, 0);
        assert_eq!(opts.cache_size, 0);
        assert_eq!(opts.use_hosts_file, ResolveHosts::Never);
        // The crate answers from the hosts file itself; hickory never does.
        let mut opts = ResolverOpts::default();
        ResolverOptions::default()
            .with_hosts_path("/nonexistent/hosts")
            .apply(&mut opts);
        assert_eq!(opts.use_hosts_file, ResolveHosts::Never);
    }
}
