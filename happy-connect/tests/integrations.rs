//! The HTTP-client integrations against a loopback hyper server.
//!
//! The server listens on 127.0.0.1 only, and "dual.test" resolves (through
//! a [`StaticResolver`], no DNS) to `::1` and `127.0.0.1`: RFC 6724 puts
//! `::1` first, the attempt there is refused, and the client must still
//! get its answer over 127.0.0.1.

use std::convert::Infallible;
use std::error::Error as _;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::str::FromStr;
use std::sync::Arc;

use http_body_util::{BodyExt, Empty};
use hyper::body::{Bytes, Incoming};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response, Uri};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::connect::dns::Name;
use hyper_util::rt::{TokioExecutor, TokioIo};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tower_service::Service;

use happy_connect::integrations::hyper::{ConnectUriError, HappyConnector, HappyResolver};
use happy_connect::integrations::reqwest::HappyResolve;
use happy_connect::resolve::StaticResolver;
use happy_connect::{AaaaPolicy, AttemptOutcome, ConnectErrorKind, ConnectReport, Connector};

const V6: IpAddr = IpAddr::V6(Ipv6Addr::LOCALHOST);
const V4: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);

/// A hyper HTTP/1 server on 127.0.0.1 that answers every request with
/// "hello from {path}". Dropping the handle's task stops it.
struct Server {
    port: u16,
    task: JoinHandle<()>,
}

impl Server {
    async fn start() -> Self {
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let task = tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    return;
                };
                tokio::spawn(async move {
                    let service = service_fn(|req: Request<Incoming>| async move {
                        let body = format!("hello from {}", req.uri().path());
                        Ok::<_, Infallible>(Response::new(body))
                    });
                    // A client that goes away mid-request is not a failure
                    // of the test.
                    let _ = http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        Self { port, task }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// A connector that resolves "dual.test" to `::1` then `127.0.0.1`.
///
/// AAAA is asked for whatever the machine's interfaces: `Auto` would skip
/// it only on a Teredo-only host, which a test machine is not, but the
/// test should not depend on that.
fn dual_connector() -> Connector {
    let mut connector = Connector::new();
    connector
        .set_resolver(StaticResolver::new().with("dual.test", &[V6, V4]))
        .set_aaaa(AaaaPolicy::Always);
    connector
}

async fn body_text(res: Response<Incoming>) -> String {
    let bytes = res.into_body().collect().await.unwrap().to_bytes();
    String::from_utf8(bytes.to_vec()).unwrap()
}

#[tokio::test]
async fn hyper_client_with_happy_connector_reports_the_race() {
    let server = Server::start().await;
    let client = Client::builder(TokioExecutor::new())
        .build::<_, Empty<Bytes>>(HappyConnector::new(dual_connector()));

    let uri: Uri = format!("http://dual.test:{}/race", server.port)
        .parse()
        .unwrap();
    let res = client.get(uri).await.unwrap();
    assert_eq!(res.status(), 200);
    let report = res
        .extensions()
        .get::<ConnectReport>()
        .expect("the connection's report is in the response extensions")
        .clone();
    assert_eq!(body_text(res).await, "hello from /race");

    assert_eq!(report.host, "dual.test");
    assert_eq!(report.port, server.port);
    let planned: Vec<IpAddr> = report.candidates.iter().map(|c| c.address).collect();
    assert_eq!(planned, [V6, V4], "RFC 6724 puts ::1 first\n{report}");
    let attempts: Vec<(SocketAddr, &AttemptOutcome)> = report
        .attempts
        .iter()
        .map(|a| (a.address, &a.outcome))
        .collect();
    assert_eq!(
        attempts,
        [
            (SocketAddr::new(V6, server.port), &AttemptOutcome::Refused),
            (SocketAddr::new(V4, server.port), &AttemptOutcome::Connected),
        ],
        "{report}"
    );
    let winner = report.winner.expect("a winner");
    assert_eq!(winner.address, SocketAddr::new(V4, server.port));

    // A second request reuses the pooled connection and gets its report.
    let uri: Uri = format!("http://dual.test:{}/again", server.port)
        .parse()
        .unwrap();
    let res = client.get(uri).await.unwrap();
    let again = res.extensions().get::<ConnectReport>().unwrap();
    assert_eq!(again.winner, report.winner);
    assert_eq!(body_text(res).await, "hello from /again");
}

#[tokio::test]
async fn happy_connector_failure_carries_the_report() {
    // Bound and dropped at once: nothing listens on this port any more.
    let port = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .await
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let client = Client::builder(TokioExecutor::new())
        .build::<_, Empty<Bytes>>(HappyConnector::new(dual_connector()));
    let uri: Uri = format!("http://dual.test:{port}/").parse().unwrap();
    let err = client.get(uri).await.unwrap_err();
    assert!(err.is_connect(), "{err:?}");

    let mut cause = err.source();
    let mut found = None;
    while let Some(c) = cause {
        if let Some(e) = c.downcast_ref::<ConnectUriError>() {
            found = Some(e);
            break;
        }
        cause = c.source();
    }
    let ConnectUriError::Connect(failed) = found.expect("ConnectUriError in the chain") else {
        panic!("not a connect failure: {found:?}");
    };
    assert_eq!(failed.kind(), ConnectErrorKind::AllAttemptsFailed);
    let outcomes: Vec<&AttemptOutcome> = failed
        .report()
        .attempts
        .iter()
        .map(|a| &a.outcome)
        .collect();
    assert_eq!(
        outcomes,
        [&AttemptOutcome::Refused, &AttemptOutcome::Refused]
    );

    // The service's own error, as an io::Error, keeps the cause.
    let mut connector = HappyConnector::new(dual_connector());
    let uri: Uri = format!("http://dual.test:{port}/").parse().unwrap();
    let io: std::io::Error = connector.call(uri).await.unwrap_err().into();
    assert_eq!(io.kind(), std::io::ErrorKind::ConnectionRefused, "{io}");
}

#[tokio::test]
async fn happy_connector_uri_without_host_or_port() {
    let mut connector = HappyConnector::new(dual_connector());

    let err = connector
        .call(Uri::from_static("/no/host"))
        .await
        .unwrap_err();
    assert!(matches!(err, ConnectUriError::NoHost(_)), "{err:?}");
    assert!(err.to_string().contains("has no host"), "{err}");
    assert!(err.report().is_none());
    let io: std::io::Error = err.into();
    assert_eq!(io.kind(), std::io::ErrorKind::InvalidInput);

    let err = connector
        .call(Uri::from_static("ftp://dual.test/file"))
        .await
        .unwrap_err();
    assert!(matches!(err, ConnectUriError::NoPort(_)), "{err:?}");
    assert!(err.to_string().contains("no port"), "{err}");
}

#[tokio::test]
async fn happy_connector_default_ports_and_literals() {
    let server = Server::start().await;
    let mut connector = HappyConnector::new(dual_connector());

    // An explicit port wins; an IPv6 literal loses its brackets.
    let uri: Uri = format!("http://127.0.0.1:{}/", server.port)
        .parse()
        .unwrap();
    let stream = connector.call(uri).await.unwrap();
    assert_eq!(stream.report().host, "127.0.0.1");
    assert_eq!(
        stream.get_ref().peer_addr().unwrap(),
        SocketAddr::new(V4, server.port)
    );

    let err = connector
        .call(format!("http://[::1]:{}/", server.port).parse().unwrap())
        .await
        .unwrap_err();
    let report = err.report().expect("a connect failure");
    assert_eq!(report.host, "::1");

    // The scheme's port when the URI has none: 80 and 443 (a name that
    // does not resolve, so nothing is connected to).
    for (uri, port) in [("http://missing.test/", 80), ("https://missing.test/", 443)] {
        let err = connector.call(Uri::from_static(uri)).await.unwrap_err();
        assert_eq!(err.report().expect("a connect failure").port, port, "{uri}");
    }
}

#[tokio::test]
async fn happy_resolver_gives_the_planned_order() {
    let mut resolver = HappyResolver::new(dual_connector());
    let addrs: Vec<SocketAddr> = resolver
        .call(Name::from_str("dual.test").unwrap())
        .await
        .unwrap()
        .collect();
    assert_eq!(addrs, [SocketAddr::new(V6, 0), SocketAddr::new(V4, 0)]);

    let err = resolver
        .call(Name::from_str("missing.test").unwrap())
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ConnectErrorKind::NoAddresses);
}

#[tokio::test]
async fn hyper_client_with_happy_resolver_in_http_connector() {
    let server = Server::start().await;
    let http = HttpConnector::new_with_resolver(HappyResolver::new(dual_connector()));
    let client = Client::builder(TokioExecutor::new()).build::<_, Empty<Bytes>>(http);

    let uri: Uri = format!("http://dual.test:{}/resolver", server.port)
        .parse()
        .unwrap();
    let res = client.get(uri).await.unwrap();
    assert_eq!(res.status(), 200);
    // HttpConnector connects itself: no report, only its own HttpInfo.
    assert!(res.extensions().get::<ConnectReport>().is_none());
    assert_eq!(body_text(res).await, "hello from /resolver");
}

#[tokio::test]
async fn reqwest_with_happy_resolve() {
    let server = Server::start().await;
    let client = reqwest::Client::builder()
        .dns_resolver(Arc::new(HappyResolve::new(dual_connector())))
        .no_proxy()
        .build()
        .unwrap();

    let res = client
        .get(format!("http://dual.test:{}/reqwest", server.port))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(
        res.remote_addr(),
        Some(SocketAddr::new(V4, server.port)),
        "::1 refused, 127.0.0.1 answered"
    );
    assert_eq!(res.text().await.unwrap(), "hello from /reqwest");
}

#[tokio::test]
async fn happy_resolve_gives_the_planned_order() {
    use reqwest::dns::{Name, Resolve};

    let resolve = HappyResolve::new(dual_connector());
    let addrs: Vec<SocketAddr> = resolve
        .resolve(Name::from_str("dual.test").unwrap())
        .await
        .unwrap()
        .collect();
    assert_eq!(addrs, [SocketAddr::new(V6, 0), SocketAddr::new(V4, 0)]);

    let Err(err) = resolve
        .resolve(Name::from_str("missing.test").unwrap())
        .await
    else {
        panic!("missing.test resolved");
    };
    let err = err
        .downcast_ref::<happy_connect::ConnectError>()
        .expect("the ConnectError itself");
    assert_eq!(err.kind(), ConnectErrorKind::NoAddresses);
}

#[tokio::test]
async fn history_keys_keep_clients_apart() {
    use reqwest::dns::{Name, Resolve};

    let server = Server::start().await;
    // One history, shared by every connector below.
    let connector = dual_connector();
    let client = Client::builder(TokioExecutor::new())
        .build::<_, Empty<Bytes>>(HappyConnector::new(connector.clone()).with_history_key("alice"));
    let uri: Uri = format!("http://dual.test:{}/learn", server.port)
        .parse()
        .unwrap();
    let res = client.get(uri).await.unwrap();
    let report = res.extensions().get::<ConnectReport>().unwrap().clone();
    assert!(report.history.expect("history used").partitioned);
    assert_eq!(body_text(res).await, "hello from /learn");

    // Alice's partition learned that ::1 refused: IPv4 first for her...
    let order = |resolve: HappyResolve| async move {
        resolve
            .resolve(Name::from_str("dual.test").unwrap())
            .await
            .unwrap()
            .map(|a| a.ip())
            .collect::<Vec<_>>()
    };
    assert_eq!(
        order(HappyResolve::new(connector.clone()).with_history_key("alice")).await,
        [V4, V6]
    );
    // ...and the policy's order for anyone else.
    assert_eq!(
        order(HappyResolve::new(connector.clone()).with_history_key("bob")).await,
        [V6, V4]
    );
    let mut hyper_bob = HappyResolver::new(connector).with_history_key("bob");
    let addrs: Vec<IpAddr> = hyper_bob
        .call(hyper_util::client::legacy::connect::dns::Name::from_str("dual.test").unwrap())
        .await
        .unwrap()
        .map(|a| a.ip())
        .collect();
    assert_eq!(addrs, [V6, V4]);
}
