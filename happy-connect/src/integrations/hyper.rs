//! hyper-util integration: the whole race as the connector of hyper-util's
//! legacy [`Client`](hyper_util::client::legacy::Client), or only the
//! planned order as the resolver of its
//! [`HttpConnector`].
//!
//! Two ways in, from most to least of the connect logic kept:
//!
//! - [`HappyConnector`] is a `tower_service::Service<Uri>`: the client asks
//!   it for a connection and it runs [`Connector::connect`]: parallel A and
//!   AAAA queries, no AAAA on a Teredo-only host, RFC 6724 order with
//!   Teredo last, the RFC 8305 race over every candidate, the wait for a
//!   stable Teredo source. Each connection carries its [`ConnectReport`],
//!   which the client copies into the extensions of every response on that
//!   connection. hyper-util's `HttpConnector` is not involved, so its
//!   settings (`set_nodelay`, `set_keepalive`, `set_local_address`,
//!   `set_connect_timeout`) have their equivalents on the [`Connector`].
//! - [`HappyResolver`] is a `Service<Name>` for
//!   [`HttpConnector::new_with_resolver`]: it returns the candidates in the
//!   planned order and `HttpConnector` connects to them itself. It splits
//!   them by family (the family of the first address first), tries each
//!   family's addresses one after the other, and starts the other family
//!   300 ms later (its `set_happy_eyeballs_timeout`) or as soon as the first
//!   family has failed. Our order is kept inside each family and AAAA is
//!   still skipped on Teredo-only hosts, but there is no report and no wait
//!   for a stable Teredo source. Use it where an `HttpConnector` is
//!   required (a TLS connector that only wraps one, say); otherwise prefer
//!   [`HappyConnector`].
//!
//! Neither enables an HTTP version or TLS: turn on `http1` and/or `http2`
//! of hyper-util (and of hyper) in your own `Cargo.toml`.
//!
//! # Example
//!
//! ```no_run
//! use http_body_util::{BodyExt, Empty};
//! use hyper::body::Bytes;
//! use hyper_util::client::legacy::Client;
//! use hyper_util::rt::TokioExecutor;
//!
//! use happy_connect::integrations::hyper::HappyConnector;
//! use happy_connect::{ConnectReport, Connector};
//!
//! # async fn f() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
//! let client = Client::builder(TokioExecutor::new())
//!     .build::<_, Empty<Bytes>>(HappyConnector::new(Connector::new()));
//! let res = client.get("http://example.com/".parse()?).await?;
//! if let Some(report) = res.extensions().get::<ConnectReport>() {
//!     println!("{report}");
//! }
//! let body = res.into_body().collect().await?.to_bytes();
//! # drop(body); Ok(()) }
//! ```
//!
//! The report is that of the connection the response came on: a pooled
//! connection keeps the report of the connect that opened it.
//!
//! A failed connect is a [`ConnectUriError`] in the source chain of the
//! client's error, with the report of every query and attempt:
//!
//! ```no_run
//! # use std::error::Error as _;
//! # use happy_connect::integrations::hyper::ConnectUriError;
//! # fn f(err: hyper_util::client::legacy::Error) {
//! let mut source = err.source();
//! while let Some(cause) = source {
//!     if let Some(ConnectUriError::Connect(failed)) = cause.downcast_ref::<ConnectUriError>() {
//!         eprintln!("{}", failed.report());
//!     }
//!     source = cause.source();
//! }
//! # }
//! ```
//!
//! # HTTPS
//!
//! [`HappyConnector`] yields plain TCP; a TLS connector that wraps any
//! `Service<Uri>` whose stream is `Connection + Read + Write` adds TLS on
//! top, and the report still reaches the responses (hyper-rustls passes
//! the inner `connected()` through). With hyper-rustls and rustls on the
//! `ring` provider, and http-body-util for the body type:
//!
//! ```toml
//! hyper-rustls = { version = "0.27", default-features = false, features = ["ring", "http1", "tls12", "webpki-roots"] }
//! rustls = { version = "0.23", default-features = false, features = ["ring", "std", "tls12"] }
//! http-body-util = "0.1"
//! ```
//!
//! the client is:
//!
//! ```no_run
//! use hyper_rustls::HttpsConnectorBuilder;
//! use hyper_util::client::legacy::Client;
//! use hyper_util::rt::TokioExecutor;
//!
//! use happy_connect::integrations::hyper::HappyConnector;
//! use happy_connect::Connector;
//!
//! # fn f() -> Result<(), rustls::Error> {
//! let https = HttpsConnectorBuilder::new()
//!     .with_provider_and_webpki_roots(rustls::crypto::ring::default_provider())?
//!     .https_or_http()
//!     .enable_http1()
//!     .wrap_connector(HappyConnector::new(Connector::new()));
//! let client = Client::builder(TokioExecutor::new())
//!     .build::<_, http_body_util::Empty<hyper::body::Bytes>>(https);
//! # drop(client); Ok(()) }
//! ```
//!
//! `tests/https.rs` runs the same wrapping (trusting a test CA instead of
//! the webpki roots) against a TLS server on loopback: the race's
//! fallback, the report in the response, and the certificate check.
//!
//! The TLS server name comes from the URI, never from the address the race
//! picked, so certificates are checked against the host name as usual.
//!
//! [`HttpConnector`]: hyper_util::client::legacy::connect::HttpConnector
//! [`HttpConnector::new_with_resolver`]: hyper_util::client::legacy::connect::HttpConnector::new_with_resolver

use std::fmt;
use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::task::{Context, Poll};

use hyper::Uri;
use hyper::rt::{Read, ReadBufCursor, Write};
use hyper_util::client::legacy::connect::dns::Name;
use hyper_util::client::legacy::connect::{Connected, Connection};
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;
use tower_service::Service;

use crate::{ConnectError, ConnectReport, Connector};

/// A boxed, `Send` future, as hyper-util's client requires (`Unpin`).
type BoxFuture<T, E> = Pin<Box<dyn Future<Output = Result<T, E>> + Send + 'static>>;

/// The connector of hyper-util's legacy client that connects by name
/// with the [`Connector`]'s race.
///
/// ```
/// use hyper_util::client::legacy::Client;
/// use hyper_util::rt::TokioExecutor;
///
/// use happy_connect::integrations::hyper::HappyConnector;
/// use happy_connect::Connector;
///
/// let mut connector = Connector::new();
/// connector.set_nodelay(true);
/// let client = Client::builder(TokioExecutor::new())
///     .build::<_, String>(HappyConnector::new(connector));
/// # drop(client);
/// ```
///
/// The port is the URI's, or the scheme's default (80 for `http`, 443 for
/// `https`); a URI without a host, or without a port and with another
/// scheme, is a [`ConnectUriError`]. Cloning is cheap.
#[derive(Clone, Debug, Default)]
pub struct HappyConnector {
    connector: Connector,
}

impl HappyConnector {
    /// Connects with this connector (and its resolver, policy, timeouts).
    pub fn new(connector: Connector) -> Self {
        Self { connector }
    }

    /// The connector in use.
    pub fn connector(&self) -> &Connector {
        &self.connector
    }

    /// Keeps the connection history of this client apart from other
    /// clients' (a user, a profile, an origin), as Happy Eyeballs v3 asks
    /// of privacy-sensitive state; see
    /// [`Connector::set_history_key`].
    #[must_use]
    pub fn with_history_key(mut self, key: &str) -> Self {
        self.connector.set_history_key(Some(key));
        self
    }
}

impl From<Connector> for HappyConnector {
    fn from(connector: Connector) -> Self {
        Self::new(connector)
    }
}

impl Service<Uri> for HappyConnector {
    type Response = HappyStream;
    type Error = ConnectUriError;
    type Future = BoxFuture<HappyStream, ConnectUriError>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, uri: Uri) -> Self::Future {
        let connector = self.connector.clone();
        Box::pin(async move {
            let (host, port) = host_port(&uri)?;
            let (stream, report) = connector.connect(host, port).await?;
            Ok(HappyStream {
                io: TokioIo::new(stream),
                report,
            })
        })
    }
}

/// The host (without the brackets of an IPv6 literal) and the port of `uri`.
fn host_port(uri: &Uri) -> Result<(&str, u16), ConnectUriError> {
    let host = match uri.host() {
        Some(host) if !host.is_empty() => host,
        _ => return Err(ConnectUriError::NoHost(uri.clone())),
    };
    let host = host
        .strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .unwrap_or(host);
    let port = match (uri.port_u16(), uri.scheme_str()) {
        (Some(port), _) => port,
        (None, Some(scheme)) if scheme.eq_ignore_ascii_case("http") => 80,
        (None, Some(scheme)) if scheme.eq_ignore_ascii_case("https") => 443,
        (None, _) => return Err(ConnectUriError::NoPort(uri.clone())),
    };
    Ok((host, port))
}

/// Why [`HappyConnector`] could not connect to a URI.
#[derive(Debug)]
#[non_exhaustive]
pub enum ConnectUriError {
    /// The URI has no host (`/path`, say): hyper-util's client passes
    /// absolute URIs, so this is a request built without one.
    NoHost(Uri),
    /// The URI has no port and its scheme is neither `http` nor `https`.
    NoPort(Uri),
    /// The connect failed; the error has the report of every query and
    /// attempt.
    Connect(ConnectError),
}

impl ConnectUriError {
    /// The report of the failed connect, if it got that far.
    pub fn report(&self) -> Option<&ConnectReport> {
        match self {
            Self::Connect(err) => Some(err.report()),
            Self::NoHost(_) | Self::NoPort(_) => None,
        }
    }
}

impl fmt::Display for ConnectUriError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NoHost(uri) => write!(f, "cannot connect to `{uri}`: the URI has no host"),
            Self::NoPort(uri) => write!(
                f,
                "cannot connect to `{uri}`: the URI has no port and its scheme has no default \
                 (http is 80, https is 443)"
            ),
            Self::Connect(err) => fmt::Display::fmt(err, f),
        }
    }
}

impl std::error::Error for ConnectUriError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Connect(err) => Some(err),
            Self::NoHost(_) | Self::NoPort(_) => None,
        }
    }
}

impl From<ConnectError> for ConnectUriError {
    fn from(err: ConnectError) -> Self {
        Self::Connect(err)
    }
}

impl From<ConnectUriError> for io::Error {
    /// A connect error keeps its kind (see `From<ConnectError>`); a URI
    /// without a host or port is `InvalidInput`.
    fn from(err: ConnectUriError) -> Self {
        match err {
            ConnectUriError::Connect(err) => err.into(),
            other => Self::new(io::ErrorKind::InvalidInput, other),
        }
    }
}

/// A connection made by [`HappyConnector`]: tokio's [`TcpStream`] for
/// hyper, with the [`ConnectReport`] of the connect that opened it.
///
/// Its [`Connection::connected`] puts a clone of the report in
/// [`Connected::extra`], so hyper-util's client adds it to the extensions
/// of every response on this connection.
#[derive(Debug)]
pub struct HappyStream {
    io: TokioIo<TcpStream>,
    report: ConnectReport,
}

impl HappyStream {
    /// The report of the connect that opened this connection.
    pub fn report(&self) -> &ConnectReport {
        &self.report
    }

    /// The TCP stream.
    pub fn get_ref(&self) -> &TcpStream {
        self.io.inner()
    }

    /// The TCP stream and the report.
    pub fn into_parts(self) -> (TcpStream, ConnectReport) {
        (self.io.into_inner(), self.report)
    }
}

impl Connection for HappyStream {
    fn connected(&self) -> Connected {
        Connected::new().extra(self.report.clone())
    }
}

impl Read for HappyStream {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: ReadBufCursor<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_read(cx, buf)
    }
}

impl Write for HappyStream {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.io).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_shutdown(cx)
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.io).poll_write_vectored(cx, bufs)
    }
}

/// The resolver of hyper-util's [`HttpConnector`]: the candidates of
/// [`Connector::resolve`] in the planned order, with port 0 (the connector
/// puts the URI's port in).
///
/// ```
/// use hyper_util::client::legacy::Client;
/// use hyper_util::client::legacy::connect::HttpConnector;
/// use hyper_util::rt::TokioExecutor;
///
/// use happy_connect::integrations::hyper::HappyResolver;
/// use happy_connect::Connector;
///
/// let http = HttpConnector::new_with_resolver(HappyResolver::new(Connector::new()));
/// let client = Client::builder(TokioExecutor::new()).build::<_, String>(http);
/// # drop(client);
/// ```
///
/// `HttpConnector` only races the two families (see the [module
/// docs](self)); [`HappyConnector`] races every candidate.
///
/// [`HttpConnector`]: hyper_util::client::legacy::connect::HttpConnector
#[derive(Clone, Debug, Default)]
pub struct HappyResolver {
    connector: Connector,
}

impl HappyResolver {
    /// Resolves with this connector's resolver, AAAA policy and policy
    /// table.
    pub fn new(connector: Connector) -> Self {
        Self { connector }
    }

    /// The connector in use.
    pub fn connector(&self) -> &Connector {
        &self.connector
    }

    /// Orders by the connection history of this partition only (see
    /// [`Connector::set_history_key`]). A resolver orders by what the
    /// history holds but cannot feed it: `HttpConnector` makes the
    /// attempts, so their outcomes are not seen.
    #[must_use]
    pub fn with_history_key(mut self, key: &str) -> Self {
        self.connector.set_history_key(Some(key));
        self
    }
}

impl From<Connector> for HappyResolver {
    fn from(connector: Connector) -> Self {
        Self::new(connector)
    }
}

impl Service<Name> for HappyResolver {
    type Response = std::vec::IntoIter<SocketAddr>;
    type Error = ConnectError;
    type Future = BoxFuture<Self::Response, ConnectError>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, name: Name) -> Self::Future {
        let connector = self.connector.clone();
        Box::pin(async move {
            let plan = connector.resolve(name.as_str()).await?;
            Ok(plan.addrs(0).into_iter())
        })
    }
}
