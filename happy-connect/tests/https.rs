//! HTTPS through hyper-rustls wrapping [`HappyConnector`], against a
//! tokio-rustls server on loopback.
//!
//! As in `integrations.rs`, the server listens on 127.0.0.1 only and
//! "dual.test" resolves to `::1` then `127.0.0.1`, so the race's first
//! attempt is refused and the TLS session runs over the second. The
//! certificates in `tests/data/` were made for these tests with openssl:
//! a CA ("happy-connect test CA", P-256) and a server certificate for
//! `dual.test` signed by it, both valid from 2000 to 2126 (so a machine
//! whose clock is off still accepts them); the CA's key was not kept.

use std::error::Error as _;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::sync::Arc;

use http_body_util::{BodyExt, Empty};
use hyper::body::{Bytes, Incoming};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response, Uri};
use hyper_rustls::HttpsConnectorBuilder;
use hyper_util::client::legacy::Client;
use hyper_util::rt::{TokioExecutor, TokioIo};
use rustls::{ClientConfig, RootCertStore, ServerConfig};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tokio_rustls::TlsAcceptor;

use happy_connect::integrations::hyper::HappyConnector;
use happy_connect::resolve::StaticResolver;
use happy_connect::{AaaaPolicy, AttemptOutcome, ConnectReport, Connector};

const V6: IpAddr = IpAddr::V6(Ipv6Addr::LOCALHOST);
const V4: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);

const CA_PEM: &[u8] = include_bytes!("data/tls-ca.pem");
const SERVER_PEM: &[u8] = include_bytes!("data/tls-server.pem");
const SERVER_KEY: &[u8] = include_bytes!("data/tls-server.key");

fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// A TLS server on 127.0.0.1 answering "hello over tls from {path}".
struct Server {
    port: u16,
    task: JoinHandle<()>,
}

impl Server {
    async fn start() -> Self {
        let cert = CertificateDer::from_pem_slice(SERVER_PEM).expect("server certificate");
        let key = PrivateKeyDer::from_pem_slice(SERVER_KEY).expect("server key");
        let config = ServerConfig::builder_with_provider(provider())
            .with_safe_default_protocol_versions()
            .expect("protocol versions")
            .with_no_client_auth()
            .with_single_cert(vec![cert], key)
            .expect("certificate and key match");
        let acceptor = TlsAcceptor::from(Arc::new(config));
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let task = tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    return;
                };
                let acceptor = acceptor.clone();
                tokio::spawn(async move {
                    // A client that rejects the certificate ends the
                    // handshake: not a failure of the server.
                    let Ok(tls) = acceptor.accept(stream).await else {
                        return;
                    };
                    let service = service_fn(|req: Request<Incoming>| async move {
                        let body = format!("hello over tls from {}", req.uri().path());
                        Ok::<_, std::convert::Infallible>(Response::new(body))
                    });
                    let _ = http1::Builder::new()
                        .serve_connection(TokioIo::new(tls), service)
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

/// An HTTPS client trusting only the test CA, connecting through
/// [`HappyConnector`] with `names` resolving to `::1` then `127.0.0.1`.
fn client(names: &[&str]) -> Client<hyper_rustls::HttpsConnector<HappyConnector>, Empty<Bytes>> {
    let mut roots = RootCertStore::empty();
    roots
        .add(CertificateDer::from_pem_slice(CA_PEM).expect("CA certificate"))
        .expect("a usable trust anchor");
    let tls = ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .expect("protocol versions")
        .with_root_certificates(roots)
        .with_no_client_auth();
    let mut resolver = StaticResolver::new();
    for name in names {
        resolver = resolver.with(name, &[V6, V4]);
    }
    let mut connector = Connector::new();
    connector
        .set_resolver(resolver)
        .set_aaaa(AaaaPolicy::Always);
    let https = HttpsConnectorBuilder::new()
        .with_tls_config(tls)
        .https_only()
        .enable_http1()
        .wrap_connector(HappyConnector::new(connector));
    Client::builder(TokioExecutor::new()).build(https)
}

#[tokio::test]
async fn https_through_happy_connector_falls_back_and_reports() {
    let server = Server::start().await;
    let client = client(&["dual.test"]);
    let uri: Uri = format!("https://dual.test:{}/tls", server.port)
        .parse()
        .unwrap();
    let res = client.get(uri).await.unwrap();
    assert_eq!(res.status(), 200);
    // hyper-rustls passes the inner connection's metadata through: the
    // race's report reaches the response.
    let report = res
        .extensions()
        .get::<ConnectReport>()
        .expect("the connection's report is in the response extensions")
        .clone();
    let body = res.into_body().collect().await.unwrap().to_bytes();
    assert_eq!(&body[..], b"hello over tls from /tls");
    println!("{report}");
    let outcomes: Vec<(IpAddr, &AttemptOutcome)> = report
        .attempts
        .iter()
        .map(|a| (a.address.ip(), &a.outcome))
        .collect();
    assert_eq!(
        outcomes,
        [
            (V6, &AttemptOutcome::Refused),
            (V4, &AttemptOutcome::Connected)
        ],
        "{report}"
    );
    assert_eq!(report.winner.map(|w| w.address.ip()), Some(V4), "{report}");
}

/// The certificate is checked against the URI's host name, not against
/// the address the race picked: a name the certificate does not cover
/// fails the handshake though the TCP connection succeeded.
#[tokio::test]
async fn the_certificate_is_checked_against_the_uri_host() {
    let server = Server::start().await;
    let client = client(&["other.test"]);
    let uri: Uri = format!("https://other.test:{}/", server.port)
        .parse()
        .unwrap();
    let err = client.get(uri).await.unwrap_err();
    let found = err
        .source()
        .and_then(tls_error)
        .unwrap_or_else(|| panic!("no TLS error in the chain of {err:?}"));
    assert!(
        matches!(
            found,
            rustls::Error::InvalidCertificate(rustls::CertificateError::NotValidForName)
                | rustls::Error::InvalidCertificate(
                    rustls::CertificateError::NotValidForNameContext { .. }
                )
        ),
        "{found:?}"
    );
}

/// The rustls error somewhere in `err`'s chain. `io::Error` hides the
/// error it wraps from `source()` (it reports that error's source), so
/// each one is opened with `get_ref` too.
fn tls_error(err: &(dyn std::error::Error + 'static)) -> Option<rustls::Error> {
    if let Some(tls) = err.downcast_ref::<rustls::Error>() {
        return Some(tls.clone());
    }
    if let Some(inner) = err
        .downcast_ref::<std::io::Error>()
        .and_then(std::io::Error::get_ref)
    {
        if let Some(tls) = tls_error(inner) {
            return Some(tls);
        }
    }
    err.source().and_then(tls_error)
}
