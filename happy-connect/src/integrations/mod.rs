//! Connecting by name from HTTP clients and plain tokio code.
//!
//! | feature | module | for | what you get |
//! |---|---|---|---|
//! | (none) | [`crate::connect`], [`Connector::connect`] | plain tokio | the race, a [`TcpStream`](tokio::net::TcpStream) and its [`ConnectReport`] |
//! | `hyper` | `integrations::hyper` | hyper-util's legacy `Client` | `HappyConnector`: the full race, the report in every response's extensions; `HappyResolver`: the planned order for hyper-util's own `HttpConnector` |
//! | `reqwest` | `integrations::reqwest` | reqwest | `HappyResolve`: the planned order for reqwest's connector |
//!
//! All of them share a [`Connector`]: configure it once (resolver, policy
//! table, AAAA policy, attempt delay, timeouts) and hand a clone to each
//! integration; clones share the resolver and the host view. The
//! resolvers hand over a [`Plan`](crate::Plan)'s addresses: the same
//! planning as a connect, as data.
//!
//! What each one keeps of the connect logic:
//!
//! | | RFC 6724 order, Teredo last | no AAAA on Teredo-only hosts | RFC 8305 race over every candidate | waits for a stable Teredo source | report |
//! |---|---|---|---|---|---|
//! | `connect`, `HappyConnector` | yes | yes | yes | yes | yes |
//! | `HappyResolver`, `HappyResolve` | yes, within each family | yes | no: the client's own two-family fallback | no | no |
//!
//! # Plain tokio: the free function is the one way
//!
//! Code that wants a [`tokio::net::TcpStream`] calls [`crate::connect`]
//! (the default [`Connector`]) or [`Connector::connect`] (a configured
//! one). There is deliberately no extension trait such as
//! `TcpStreamExt::connect_by_name`:
//!
//! - it would be a second name for the same call, and a worse one: an
//!   associated function of a trait is found only once the trait is
//!   imported, and `TcpStream::connect_by_name` reads as if tokio offered
//!   it;
//! - it could not carry a configuration without growing a [`Connector`]
//!   argument, which is [`Connector::connect`] again;
//! - the result is not just a stream: the [`ConnectReport`] (why this
//!   address, which attempts failed) comes with it, and a tuple returned by
//!   a `TcpStream::` function would surprise.
//!
//! Code that speaks [`std::io::Error`] keeps using `?`: a
//! [`ConnectError`](crate::ConnectError) converts into an `io::Error` with
//! a kind that follows the cause and the whole message, report included.
//!
//! ```no_run
//! use tokio::io::AsyncWriteExt;
//!
//! async fn send(host: &str, port: u16, data: &[u8]) -> std::io::Result<()> {
//!     let (mut stream, report) = happy_connect::connect(host, port).await?;
//!     eprintln!("{report}");
//!     stream.write_all(data).await
//! }
//! ```
//!
//! For blocking code, [`crate::blocking::connect`] does the same with a
//! [`std::net::TcpStream`].
//!
//! [`Connector`]: crate::Connector
//! [`Connector::connect`]: crate::Connector::connect
//! [`ConnectReport`]: crate::ConnectReport

#[cfg(feature = "hyper")]
pub mod hyper;
#[cfg(feature = "reqwest")]
pub mod reqwest;
