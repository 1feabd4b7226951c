//! The resolvers: [`SystemResolver`] against the test DNS server,
//! [`GaiResolver`] against the host's own configuration, and
//! [`StaticResolver`] with its injected faults.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::sync::Arc;
use std::time::{Duration, Instant};

use happy_connect::resolve::{
    GaiResolver, RecordType, Resolve, ResolveError, ResolverOptions, StaticResolver, SystemResolver,
};
use hickory_proto::rr::RecordType as Qtype;

use crate::dns_server::{DnsServer, Fault, LoggedQuery, Transport, Zone};

const V4: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 1);
const V4_2: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 2);
const V6: Ipv6Addr = Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 1);

/// A zone with a dual-stack name, an IPv4-only name and an alias.
fn zone() -> Zone {
    Zone::new()
        .host("dual.test", &[V4, V4_2], &[V6])
        .host("v4only.test", &[V4], &[])
        .cname("alias.test", "dual.test")
}

/// A resolver that asks only `server`, without cache so that every lookup
/// shows in the query log, and with a short timeout so that lost answers do
/// not slow the tests down.
fn resolver(server: &DnsServer) -> SystemResolver {
    SystemResolver::with_nameservers(
        &[server.addr()],
        ResolverOptions::default()
            .with_timeout(Duration::from_millis(300))
            .with_attempts(1)
            .with_cache(false),
    )
}

/// A resolver that asks only `server` and keeps its answers.
fn caching_resolver(server: &DnsServer) -> SystemResolver {
    SystemResolver::with_nameservers(
        &[server.addr()],
        ResolverOptions::default().with_timeout(Duration::from_secs(2)),
    )
}

fn udp(name: &str, qtype: Qtype) -> LoggedQuery {
    LoggedQuery {
        name: name.to_owned(),
        qtype,
        transport: Transport::Udp,
    }
}

fn ips(addrs: &[&str]) -> Vec<IpAddr> {
    addrs.iter().map(|a| a.parse().unwrap()).collect()
}

#[tokio::test]
async fn system_a_and_aaaa_answers() {
    let server = zone().start().await;
    let resolver = resolver(&server);
    let a = resolver.lookup("dual.test", RecordType::A).await.unwrap();
    assert_eq!(a, ips(&["192.0.2.1", "192.0.2.2"]));
    let aaaa = resolver
        .lookup("dual.test", RecordType::Aaaa)
        .await
        .unwrap();
    assert_eq!(aaaa, ips(&["2001:db8::1"]));
}

#[tokio::test]
async fn system_query_log_shows_exactly_the_queries_made() {
    let server = zone().start().await;
    let resolver = resolver(&server);
    resolver.lookup("dual.test", RecordType::A).await.unwrap();
    assert_eq!(server.queries(), [udp("dual.test", Qtype::A)]);
    assert_eq!(
        server.count("dual.test", Qtype::AAAA),
        0,
        "no AAAA query sent"
    );

    resolver
        .lookup("Dual.Test.", RecordType::Aaaa)
        .await
        .unwrap();
    assert_eq!(
        server.queries(),
        [udp("dual.test", Qtype::A), udp("dual.test", Qtype::AAAA)]
    );

    // A literal address is its own answer: nothing is sent.
    server.clear_log();
    let literal = resolver.lookup("192.0.2.9", RecordType::A).await.unwrap();
    assert_eq!(literal, ips(&["192.0.2.9"]));
    let err = resolver
        .lookup("192.0.2.9", RecordType::Aaaa)
        .await
        .unwrap_err();
    assert!(matches!(err, ResolveError::NoRecords { .. }), "{err:?}");
    assert_eq!(server.queries(), []);
}

#[tokio::test]
async fn system_follows_cname() {
    let server = zone().start().await;
    let resolver = resolver(&server);
    let a = resolver.lookup("alias.test", RecordType::A).await.unwrap();
    assert_eq!(a, ips(&["192.0.2.1", "192.0.2.2"]));
    // The server answers the chain in one response: one query.
    assert_eq!(server.queries(), [udp("alias.test", Qtype::A)]);
}

#[tokio::test]
async fn system_nxdomain() {
    let server = zone().start().await;
    let err = resolver(&server)
        .lookup("nope.test", RecordType::A)
        .await
        .unwrap_err();
    match &err {
        ResolveError::NxDomain { name } => assert_eq!(name, "nope.test"),
        other => panic!("expected NxDomain, got {other:?}"),
    }
    assert_eq!(err.to_string(), "nope.test: no such domain (nxdomain)");
}

#[tokio::test]
async fn system_servfail() {
    let server = zone().fault(Qtype::AAAA, Fault::SERVFAIL).start().await;
    let resolver = resolver(&server);
    // Only the AAAA query fails.
    assert!(resolver.lookup("dual.test", RecordType::A).await.is_ok());
    let err = resolver
        .lookup("dual.test", RecordType::Aaaa)
        .await
        .unwrap_err();
    assert!(
        matches!(&err, ResolveError::Server { name, rtype: RecordType::Aaaa, .. } if name == "dual.test"),
        "{err:?}"
    );
    assert_eq!(
        err.to_string(),
        "AAAA lookup of dual.test failed: server answered SERVFAIL"
    );
}

#[tokio::test]
async fn system_injected_nxdomain_for_one_type() {
    let server = zone().fault(Qtype::AAAA, Fault::NXDOMAIN).start().await;
    let err = resolver(&server)
        .lookup("dual.test", RecordType::Aaaa)
        .await
        .unwrap_err();
    assert!(matches!(err, ResolveError::NxDomain { .. }), "{err:?}");
}

#[tokio::test]
async fn system_no_aaaa_records() {
    let server = zone().start().await;
    let err = resolver(&server)
        .lookup("v4only.test", RecordType::Aaaa)
        .await
        .unwrap_err();
    assert!(
        matches!(&err, ResolveError::NoRecords { name, rtype: RecordType::Aaaa } if name == "v4only.test"),
        "{err:?}"
    );
    assert_eq!(err.to_string(), "no AAAA records for v4only.test");
}

#[tokio::test]
async fn system_dropped_aaaa_times_out_within_the_timeout() {
    let server = zone().fault(Qtype::AAAA, Fault::Drop).start().await;
    let resolver = resolver(&server);
    assert!(resolver.lookup("dual.test", RecordType::A).await.is_ok());

    let start = Instant::now();
    let err = resolver
        .lookup("dual.test", RecordType::Aaaa)
        .await
        .unwrap_err();
    let elapsed = start.elapsed();
    assert!(
        matches!(&err, ResolveError::Timeout { name, rtype: RecordType::Aaaa } if name == "dual.test"),
        "{err:?}"
    );
    assert_eq!(err.to_string(), "AAAA lookup of dual.test timed out");
    // 300 ms and one attempt: not earlier, and not a second 300 ms.
    assert!(elapsed >= Duration::from_millis(280), "{elapsed:?}");
    assert!(elapsed < Duration::from_millis(580), "{elapsed:?}");
    // Exactly one try, over UDP (a timeout is no reason to switch to TCP).
    assert_eq!(
        server.queries(),
        [udp("dual.test", Qtype::A), udp("dual.test", Qtype::AAAA)]
    );
}

#[tokio::test]
async fn system_attempts_retry_a_lost_query() {
    let server = zone().fault(Qtype::AAAA, Fault::Drop).start().await;
    let resolver = SystemResolver::with_nameservers(
        &[server.addr()],
        ResolverOptions::default()
            .with_timeout(Duration::from_millis(200))
            .with_attempts(2)
            .with_cache(false),
    );
    let err = resolver
        .lookup("dual.test", RecordType::Aaaa)
        .await
        .unwrap_err();
    assert!(matches!(err, ResolveError::Timeout { .. }), "{err:?}");
    assert_eq!(server.count("dual.test", Qtype::AAAA), 2);
}

#[tokio::test]
async fn system_a_and_aaaa_run_in_parallel() {
    let server = zone()
        .delay(Qtype::AAAA, Duration::from_millis(300))
        .start()
        .await;
    let resolver = SystemResolver::with_nameservers(
        &[server.addr()],
        ResolverOptions::default()
            .with_timeout(Duration::from_secs(2))
            .with_attempts(1),
    );
    let start = Instant::now();
    // Both futures created before either is polled, as the driver does.
    let a = resolver.lookup("dual.test", RecordType::A);
    let aaaa = resolver.lookup("dual.test", RecordType::Aaaa);
    let timed = |fut: happy_connect::resolve::LookupFuture| async move {
        let result = fut.await;
        (result, start.elapsed())
    };
    let ((a, a_at), (aaaa, aaaa_at)) = tokio::join!(timed(a), timed(aaaa));
    assert_eq!(a.unwrap(), ips(&["192.0.2.1", "192.0.2.2"]));
    assert_eq!(aaaa.unwrap(), ips(&["2001:db8::1"]));
    assert!(a_at < Duration::from_millis(150), "A took {a_at:?}");
    assert!(
        aaaa_at >= Duration::from_millis(300),
        "AAAA took {aaaa_at:?}"
    );
    assert!(
        aaaa_at - a_at >= Duration::from_millis(150),
        "A at {a_at:?}, AAAA at {aaaa_at:?}"
    );
}

#[tokio::test]
async fn system_truncated_answer_is_asked_again_over_tcp() {
    let server = zone().fault(Qtype::A, Fault::Truncate).start().await;
    let a = resolver(&server)
        .lookup("dual.test", RecordType::A)
        .await
        .unwrap();
    assert_eq!(a, ips(&["192.0.2.1", "192.0.2.2"]));
    assert_eq!(
        server.queries(),
        [
            udp("dual.test", Qtype::A),
            LoggedQuery {
                transport: Transport::Tcp,
                ..udp("dual.test", Qtype::A)
            }
        ]
    );
}

#[tokio::test]
async fn system_cache_answers_repeated_lookups() {
    let server = zone().start().await;
    let resolver = caching_resolver(&server);
    for _ in 0..3 {
        resolver.lookup("dual.test", RecordType::A).await.unwrap();
    }
    assert_eq!(server.count("dual.test", Qtype::A), 1);
}

/// A cached answer, and a cached "no such records", are there at the
/// lookup's first poll, which is what lets a connect made inside a task
/// take them at once; an answer not cached is not.
#[tokio::test]
async fn system_cached_answers_are_ready_at_the_first_poll() {
    let server = zone().start().await;
    let resolver = caching_resolver(&server);
    let first_poll = |name, rtype| {
        let mut lookup = std::pin::pin!(resolver.lookup(name, rtype));
        let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
        match lookup.as_mut().poll(&mut cx) {
            std::task::Poll::Ready(answer) => Some(answer),
            std::task::Poll::Pending => None,
        }
    };
    // Not cached: the query is on its way.
    assert!(first_poll("dual.test", RecordType::A).is_none());
    resolver.lookup("v4only.test", RecordType::A).await.unwrap();
    let _ = resolver.lookup("v4only.test", RecordType::Aaaa).await;
    assert_eq!(
        first_poll("v4only.test", RecordType::A),
        Some(Ok(vec![IpAddr::V4(V4)]))
    );
    assert!(
        matches!(
            first_poll("v4only.test", RecordType::Aaaa),
            Some(Err(ResolveError::NoRecords { .. }))
        ),
        "a cached negative answer"
    );
    assert_eq!(server.count("v4only.test", Qtype::A), 1);
    assert_eq!(server.count("v4only.test", Qtype::AAAA), 1);
}

#[tokio::test]
async fn system_invalid_name() {
    let server = zone().start().await;
    let long_label = "a".repeat(64);
    let err = resolver(&server)
        .lookup(&format!("{long_label}.test"), RecordType::A)
        .await
        .unwrap_err();
    assert!(matches!(err, ResolveError::InvalidName { .. }), "{err:?}");
    assert_eq!(server.queries(), []);
}

/// A name the hosts file lists is answered from it alone, for both
/// families, as the C library's `files` source answers it: its AAAA
/// record in DNS does not undo an IPv4-only override, and no query leaves
/// the host. A name the file does not list goes to DNS.
#[tokio::test]
async fn system_a_name_the_hosts_file_lists_is_answered_from_it_alone() {
    let server = zone().start().await;
    let dir = std::env::temp_dir().join(format!("hc-hosts-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("hosts");
    // A zoned line is the connector's to answer: its name goes to DNS.
    std::fs::write(
        &path,
        "# an override\n192.0.2.99 dual.test\nfe80::1%lo v4only.test\n",
    )
    .unwrap();
    let resolver = SystemResolver::with_nameservers(
        &[server.addr()],
        ResolverOptions::default()
            .with_timeout(Duration::from_millis(300))
            .with_attempts(1)
            .with_cache(false)
            .with_hosts_path(&path),
    );
    std::fs::remove_dir_all(&dir).unwrap();
    assert_eq!(
        resolver.lookup("DUAL.test.", RecordType::A).await.unwrap(),
        ips(&["192.0.2.99"])
    );
    let err = resolver
        .lookup("dual.test", RecordType::Aaaa)
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            ResolveError::NoRecords {
                rtype: RecordType::Aaaa,
                ..
            }
        ),
        "{err:?}"
    );
    assert_eq!(server.queries(), [], "nothing asked of DNS");
    assert_eq!(
        resolver.lookup("v4only.test", RecordType::A).await.unwrap(),
        ips(&["192.0.2.1"])
    );
    assert_eq!(server.queries(), [udp("v4only.test", Qtype::A)]);
}

/// A name with an underscore (a container's, say) is sent as it is, as
/// the C library sends it; it is not refused as an invalid host name.
#[tokio::test]
async fn system_a_name_with_an_underscore_is_asked() {
    let server = zone().start().await;
    let err = resolver(&server)
        .lookup("my_db.test", RecordType::A)
        .await
        .unwrap_err();
    assert!(matches!(err, ResolveError::NxDomain { .. }), "{err:?}");
    assert_eq!(server.queries(), [udp("my_db.test", Qtype::A)]);
}

#[tokio::test]
async fn resolver_behind_arc_dyn() {
    let server = zone().start().await;
    let shared: Arc<dyn Resolve> = Arc::new(resolver(&server));
    let a = shared.lookup("dual.test", RecordType::A).await.unwrap();
    assert_eq!(a.len(), 2);
}

/// The queries the server received, as (name, type), sorted: the two
/// families' queries go out in parallel, in either order.
fn asked(server: &DnsServer) -> Vec<(String, String)> {
    let mut queries: Vec<(String, String)> = server
        .queries()
        .into_iter()
        .map(|q| (q.name, q.qtype.to_string()))
        .collect();
    queries.sort();
    queries
}

fn pairs(expected: &[(&str, &str)]) -> Vec<(String, String)> {
    let mut pairs: Vec<(String, String)> = expected
        .iter()
        .map(|(n, t)| ((*n).to_owned(), (*t).to_owned()))
        .collect();
    pairs.sort();
    pairs
}

/// The zone of the search-list tests, with the search list `corp.test`,
/// `home.test`: an IPv4-only name with what a wildcard `*.corp.test`
/// would answer for it, and a short name in the second domain.
fn search_zone() -> Zone {
    Zone::new()
        .host("www.example.test", &[V4], &[])
        .host("www.example.test.corp.test", &[], &[V6])
        .host("printer.home.test", &[V4_2], &[V6])
}

/// What a resolver with that search list answers when both families of
/// a name are looked up together (as a connect does), and the exact
/// queries it sends for them.
async fn search_walk_checks(resolver: &SystemResolver, server: &DnsServer) {
    server.clear_log();
    let (a, aaaa) = tokio::join!(
        resolver.lookup("www.example.test", RecordType::A),
        resolver.lookup("www.example.test", RecordType::Aaaa)
    );
    assert_eq!(a.unwrap(), [IpAddr::V4(V4)]);
    let err = aaaa.unwrap_err();
    assert!(
        matches!(&err, ResolveError::NoRecords { name, rtype: RecordType::Aaaa } if name == "www.example.test"),
        "{err:?}"
    );
    assert_eq!(
        asked(server),
        pairs(&[("www.example.test", "A"), ("www.example.test", "AAAA")]),
        "one query per type, none with a search domain"
    );

    // A short name: the search domains first, the first that has it wins.
    server.clear_log();
    let (a, aaaa) = tokio::join!(
        resolver.lookup("printer", RecordType::A),
        resolver.lookup("printer", RecordType::Aaaa)
    );
    assert_eq!(a.unwrap(), [IpAddr::V4(V4_2)]);
    assert_eq!(aaaa.unwrap(), [IpAddr::V6(V6)]);
    assert_eq!(
        asked(server),
        pairs(&[
            ("printer.corp.test", "A"),
            ("printer.corp.test", "AAAA"),
            ("printer.home.test", "A"),
            ("printer.home.test", "AAAA"),
        ])
    );
}

/// With a search list, the A and AAAA lookups of one name made together
/// take their answers from one name, the first with records of either
/// type, as the C library's: an IPv4-only name does not pick up the AAAA
/// of a wildcard in a search domain, and a short name found in a later
/// domain is not mixed with an earlier one.
#[tokio::test]
async fn system_search_list_answers_both_families_from_one_name() {
    let server = search_zone().start().await;
    let resolver = resolver(&server)
        .with_search(&["corp.test", "home.test"], 1)
        .unwrap();
    search_walk_checks(&resolver, &server).await;

    // Asked alone, AAAA walks alone (as the C library for one family).
    let aaaa = resolver
        .lookup("www.example.test", RecordType::Aaaa)
        .await
        .unwrap();
    assert_eq!(aaaa, [IpAddr::V6(V6)]);

    // A name ending with a dot is asked as it is, and only so.
    server.clear_log();
    let err = resolver
        .lookup("printer.", RecordType::A)
        .await
        .unwrap_err();
    assert!(matches!(err, ResolveError::NxDomain { .. }), "{err:?}");
    assert_eq!(asked(&server), pairs(&[("printer", "A")]));

    // A connect's plan has the name's own address only.
    let mut c = happy_connect::Connector::new();
    c.set_resolver(resolver.clone());
    let plan = c.resolve("www.example.test").await.unwrap();
    assert_eq!(plan.addrs(80), [std::net::SocketAddr::from((V4, 80))]);
}

/// Tests that need a network namespace of their own (root).
mod root {
    use happy_connect::resolve::SystemResolver;
    use netns_harness::Netns;

    use super::{TempFile, search_walk_checks, search_zone};

    /// A resolv.conf's `search` and `ndots` reach the walk: a short name
    /// is tried with each domain in turn, a name with enough dots as it
    /// is first, and both families answer from one name. The server is on
    /// 127.0.0.1:53 in a namespace of the test's own, where the file's
    /// `nameserver 127.0.0.1` sends the queries.
    #[test]
    fn system_walks_the_search_list_of_resolv_conf() {
        let conf = TempFile::new(
            "search",
            "nameserver 127.0.0.1\nsearch corp.test home.test\noptions ndots:1 timeout:1 attempts:1\n",
        );
        let ns = Netns::new("hc-search");
        ns.run(|| {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async {
                let server = search_zone().start_on_port_53().await;
                let resolver = SystemResolver::from_resolv_conf(&conf.0).unwrap();
                let debug = format!("{resolver:?}");
                assert!(
                    debug.contains("corp.test") && debug.contains("ndots: 1"),
                    "{debug}"
                );

                search_walk_checks(&resolver, &server).await;
            });
        });
    }
}

#[test]
fn system_search_list_errors_name_the_domain() {
    let resolver = SystemResolver::with_nameservers(
        &["127.0.0.1:53".parse().unwrap()],
        ResolverOptions::default(),
    );
    let err = resolver
        .with_search(&["corp.test", "bad..domain"], 1)
        .unwrap_err();
    assert!(matches!(err, ResolveError::Config { .. }), "{err:?}");
    assert!(err.to_string().contains("\"bad..domain\""), "{err}");
}

#[test]
fn system_new_follows_etc_resolv_conf() {
    match SystemResolver::new() {
        Ok(_) => assert!(std::path::Path::new("/etc/resolv.conf").exists()),
        Err(ResolveError::Config { path, .. }) => assert_eq!(path, "/etc/resolv.conf"),
        Err(other) => panic!("unexpected error {other:?}"),
    }
}

/// A file in the temporary directory, removed when dropped.
struct TempFile(std::path::PathBuf);

impl TempFile {
    fn new(tag: &str, contents: &str) -> Self {
        let path = std::env::temp_dir().join(format!(
            "happy-connect-resolve-{}-{tag}.conf",
            std::process::id()
        ));
        std::fs::write(&path, contents).unwrap();
        Self(path)
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

#[test]
fn system_config_errors_name_the_file() {
    let missing = "/nonexistent/happy-connect/resolv.conf";
    let err = SystemResolver::from_resolv_conf(missing).unwrap_err();
    assert!(
        matches!(&err, ResolveError::Config { path, .. } if path == missing),
        "{err:?}"
    );
    let text = err.to_string();
    assert!(
        text.starts_with(&format!("resolver configuration {missing}: cannot read: ")),
        "{text}"
    );

    for (tag, contents) in [
        ("malformed", "nameserver not-an-address\n"),
        ("empty", "# no nameserver line\nsearch example.test\n"),
    ] {
        let file = TempFile::new(tag, contents);
        let err = SystemResolver::from_resolv_conf(&file.0).unwrap_err();
        let path = file.0.display().to_string();
        assert!(
            matches!(&err, ResolveError::Config { path: p, .. } if *p == path),
            "{tag}: {err:?}"
        );
        assert!(err.to_string().contains(&path), "{tag}: {err}");
    }

    let good = TempFile::new(
        "good",
        "nameserver 192.0.2.53\noptions timeout:1 attempts:1\n",
    );
    let resolver = SystemResolver::from_resolv_conf(&good.0).unwrap();
    assert!(
        format!("{resolver:?}").contains("192.0.2.53"),
        "{resolver:?}"
    );
}

/// Whether /etc/hosts maps `localhost` to ::1.
fn hosts_has_ipv6_localhost() -> bool {
    let hosts = std::fs::read_to_string("/etc/hosts").unwrap_or_default();
    hosts.lines().any(|line| {
        let line = line.split('#').next().unwrap_or("");
        let mut fields = line.split_whitespace();
        fields.next().and_then(|a| a.parse::<IpAddr>().ok())
            == Some(IpAddr::V6(Ipv6Addr::LOCALHOST))
            && fields.any(|name| name.eq_ignore_ascii_case("localhost"))
    })
}

#[tokio::test]
async fn gai_localhost() {
    let a = GaiResolver
        .lookup("localhost", RecordType::A)
        .await
        .unwrap();
    assert!(a.contains(&IpAddr::V4(Ipv4Addr::LOCALHOST)), "{a:?}");
    assert!(a.iter().all(IpAddr::is_ipv4), "{a:?}");

    let aaaa = GaiResolver.lookup("localhost", RecordType::Aaaa).await;
    if hosts_has_ipv6_localhost() {
        let aaaa = aaaa.unwrap();
        assert!(aaaa.contains(&IpAddr::V6(Ipv6Addr::LOCALHOST)), "{aaaa:?}");
        assert!(aaaa.iter().all(IpAddr::is_ipv6), "{aaaa:?}");
    } else {
        // /etc/hosts has no ::1 localhost: the C library may still find
        // one elsewhere (nss-myhostname, DNS), but never an IPv4 address
        // for an AF_INET6 query.
        match aaaa {
            Ok(aaaa) => assert!(aaaa.iter().all(IpAddr::is_ipv6), "{aaaa:?}"),
            Err(err) => {
                assert_eq!(err.name(), Some("localhost"), "{err:?}");
                assert!(err.to_string().contains("localhost"), "{err}");
            }
        }
    }
}

#[tokio::test]
async fn gai_invalid_name_fails() {
    let err = GaiResolver
        .lookup("no-such-host.invalid", RecordType::A)
        .await
        .unwrap_err();
    assert_eq!(err.name(), Some("no-such-host.invalid"), "{err:?}");
    assert!(err.to_string().contains("no-such-host.invalid"), "{err}");
}

#[tokio::test]
async fn gai_literal() {
    let v6 = GaiResolver
        .lookup("2001:db8::7", RecordType::Aaaa)
        .await
        .unwrap();
    assert_eq!(v6, ips(&["2001:db8::7"]));
}

fn table() -> StaticResolver {
    StaticResolver::new().with(
        "dual.test",
        &ips(&["192.0.2.1", "2001:db8::1", "192.0.2.2"]),
    )
}

#[tokio::test]
async fn static_table() {
    let resolver = table().with("v4only.test", &ips(&["192.0.2.3"]));
    assert_eq!(
        resolver.lookup("dual.test", RecordType::A).await.unwrap(),
        ips(&["192.0.2.1", "192.0.2.2"])
    );
    assert_eq!(
        resolver
            .lookup("DUAL.test.", RecordType::Aaaa)
            .await
            .unwrap(),
        ips(&["2001:db8::1"])
    );
    let err = resolver
        .lookup("v4only.test", RecordType::Aaaa)
        .await
        .unwrap_err();
    assert!(matches!(err, ResolveError::NoRecords { .. }), "{err:?}");
    let err = resolver
        .lookup("nope.test", RecordType::A)
        .await
        .unwrap_err();
    assert!(matches!(err, ResolveError::NxDomain { .. }), "{err:?}");
    assert_eq!(
        resolver.lookup("192.0.2.9", RecordType::A).await.unwrap(),
        ips(&["192.0.2.9"])
    );
}

#[tokio::test]
async fn static_delay_holds_back_one_family_only() {
    let resolver = table().with_delay(RecordType::Aaaa, Duration::from_millis(200));
    let start = Instant::now();
    let mut a = resolver.lookup("dual.test", RecordType::A);
    let mut aaaa = resolver.lookup("dual.test", RecordType::Aaaa);
    tokio::select! {
        res = &mut a => assert!(res.is_ok()),
        _ = &mut aaaa => panic!("the delayed AAAA answered first"),
    }
    assert!(start.elapsed() < Duration::from_millis(100));
    assert!(aaaa.await.is_ok());
    assert!(start.elapsed() >= Duration::from_millis(200));
}

#[tokio::test]
async fn static_failing() {
    let resolver = table()
        .failing(RecordType::Aaaa)
        .with_delay(RecordType::Aaaa, Duration::from_millis(50));
    assert!(resolver.lookup("dual.test", RecordType::A).await.is_ok());
    let start = Instant::now();
    let err = resolver
        .lookup("dual.test", RecordType::Aaaa)
        .await
        .unwrap_err();
    assert!(
        start.elapsed() >= Duration::from_millis(50),
        "failure is delayed too"
    );
    assert!(
        matches!(
            &err,
            ResolveError::Server {
                rtype: RecordType::Aaaa,
                ..
            }
        ),
        "{err:?}"
    );
    assert!(
        err.to_string()
            .starts_with("AAAA lookup of dual.test failed: "),
        "{err}"
    );
}

/// Off-path spoofing needs the query's transaction ID and source port:
/// both must be unpredictable, so each lookup gets fresh random ones.
#[tokio::test]
async fn queries_use_random_ids_and_source_ports() {
    let server = zone().start().await;
    let resolver = resolver(&server);
    const N: usize = 24;
    for _ in 0..N {
        resolver.lookup("dual.test", RecordType::A).await.unwrap();
    }
    let origins = server.origins();
    assert_eq!(origins.len(), N);
    let mut ids: Vec<u16> = origins.iter().map(|o| o.0).collect();
    let mut ports: Vec<u16> = origins.iter().map(|o| o.1).collect();
    ids.sort_unstable();
    ids.dedup();
    ports.sort_unstable();
    ports.dedup();
    println!(
        "{N} queries: {} distinct IDs, {} distinct source ports",
        ids.len(),
        ports.len()
    );
    // Two equal values among 24 random 16-bit numbers happen about once in
    // 240 runs; more than two never should.
    assert!(ids.len() >= N - 2, "transaction IDs repeat: {origins:?}");
    assert!(ports.len() >= N - 2, "source ports repeat: {origins:?}");
    // Sequential values would pass the checks above but be guessable.
    let steps = origins
        .windows(2)
        .filter(|w| w[1].0 == w[0].0.wrapping_add(1))
        .count();
    assert!(steps < 3, "transaction IDs look sequential: {origins:?}");
}

/// A failed resolution says "cannot resolve NAME", with no port: there is
/// none to name.
#[tokio::test]
async fn a_failed_resolution_names_no_port() {
    let mut c = happy_connect::Connector::new();
    c.set_resolver(table());
    let err = c.resolve("missing.test").await.expect_err("no such name");
    let text = err.to_string();
    assert!(
        text.starts_with("cannot resolve missing.test: no addresses"),
        "{text}"
    );
    assert!(!text.contains("port"), "{text}");
    let invalid = c.resolve("bad name").await.expect_err("invalid");
    assert!(
        invalid
            .to_string()
            .starts_with("cannot resolve bad name: invalid host"),
        "{invalid}"
    );
}
