//! Teredo-aware connect-by-name.
//!
//! Connecting by name means resolving A and AAAA, choosing the best order
//! among the destinations and connecting fast even when one path is broken.
//! This crate is the facade of a workspace that does it the way the Windows
//! stack does: destinations in RFC 6724 order (with the Windows table:
//! native IPv6, then 6to4, then IPv4, then Teredo), no AAAA query when
//! Teredo is the only IPv6 the host has, Teredo used only once its address
//! is stable, and an RFC 8305 race between the candidates. On an IPv6-only
//! host behind NAT64 it learns the translator's prefix (from the routers'
//! advertisements, or once per network from the DNS64 server), synthesizes
//! IPv4 destinations and recognises the ones DNS64 made up, as Happy
//! Eyeballs v3 asks: see [`nat64`].
//!
//! The building blocks are re-exported under short names:
//!
//! | module | crate | what |
//! |---|---|---|
//! | [`addr`] | `teredo-addr` | decode Teredo, 6to4, NAT64 and ISATAP addresses; classify any address |
//! | [`sort`] | `rfc3484-sort` | policy tables, RFC 6724 destination ordering, source selection |
//! | [`probe`] | `iface-probe` | the host's interfaces, addresses and routes over netlink |
//! | [`stable`] | `stable-addr` | wait until addresses are stable |
//!
//! # Examples
//!
//! Decode a Teredo address (RFC 4380 §4):
//!
//! ```
//! use happy_connect::addr::TeredoAddr;
//!
//! let teredo: TeredoAddr = "2001:0:4136:e378:8000:63bf:3fff:fdd2".parse()?;
//! assert_eq!(teredo.server().to_string(), "65.54.227.120");
//! assert_eq!(teredo.client().to_string(), "192.0.2.45");
//! assert_eq!(teredo.port(), 40000);
//! assert!(teredo.is_cone());
//! # Ok::<(), happy_connect::addr::ParseTeredoError>(())
//! ```
//!
//! Order a Teredo and an IPv4 destination the way Windows does, and see
//! which rule decided:
//!
//! ```
//! use happy_connect::sort::{explain, sort, Destination, Policy, Rule, Source, SourceAttrs};
//!
//! let dest = |d: &str, s: &str, tunnel: bool| Destination {
//!     addr: d.parse().unwrap(),
//!     source: Some(Source {
//!         addr: s.parse().unwrap(),
//!         attrs: SourceAttrs { tunnel, ..SourceAttrs::default() },
//!     }),
//! };
//! let mut dests = [
//!     dest("2001:0:4136:e378:8000:63bf:3fff:fdd2", "2001:0:c633:640a:8000:f227:bd6a:13fe", true),
//!     dest("198.51.100.20", "192.0.2.45", false),
//! ];
//! let policy = Policy::windows();
//! sort(&policy, &mut dests);
//! assert_eq!(dests[0].addr.to_string(), "198.51.100.20");
//! assert_eq!(explain(&policy, &dests), [Rule::HigherPrecedence]);
//! ```
//!
//! Ask the kernel what this host can reach (Linux, netlink; no root
//! needed):
//!
//! ```no_run
//! let snapshot = happy_connect::probe::Snapshot::capture()?;
//! let caps = snapshot.capabilities();
//! println!("teredo-only: {}", caps.teredo_only);
//! for iface in snapshot.interfaces_in_preference_order() {
//!     println!("{} ({})", iface.name, iface.kind.name());
//! }
//! # Ok::<(), std::io::Error>(())
//! ```
//!
//! Wait until the Teredo address has qualified (the
//! `NotifyStableUnicastIpAddressTable` equivalent):
//!
//! ```no_run
//! use std::time::Duration;
//! use happy_connect::stable::{wait_stable, Filter};
//!
//! let table = wait_stable(Filter::Teredo, Duration::from_secs(30))?;
//! println!("stable: {:?}", table.addresses());
//! # Ok::<(), happy_connect::stable::WaitError>(())
//! ```
//!
//! Connect by name, and see why it went where it went:
//!
//! ```no_run
//! # async fn f() -> Result<(), happy_connect::ConnectError> {
//! let (stream, report) = happy_connect::connect("example.com", 443).await?;
//! println!("{report}");
//! # drop(stream); Ok(()) }
//! ```
//!
//! The same from blocking code, with a `std::net::TcpStream`:
//!
//! ```no_run
//! # fn f() -> Result<(), happy_connect::ConnectError> {
//! let (stream, report) = happy_connect::blocking::connect("example.com", 443)?;
//! # drop((stream, report)); Ok(()) }
//! ```
//!
//! # What a connect does
//!
//! [`Connector::connect`] reads the host from a live view shared by the
//! process ([`probe::HostView`]: one atomic load, no system call), decides
//! whether to ask AAAA ([`AaaaPolicy`]), resolves both families in
//! parallel, plans the order (RFC 6724 under the policy, Teredo last, the
//! [`history`] of this network), races the candidates ([`race::Race`], a
//! pure RFC 8305 state machine) and returns the stream with a
//! [`ConnectReport`] of every decision. [`Connector::resolve`] returns the
//! same plan without connecting. A connect with one candidate known at
//! once (an IP address, or a name whose answers are ready at once and
//! bring one address) makes its one attempt without the race; its report
//! is the one the race would give.
//!
//! [`history`] remembers, per network and partition key, which paths
//! failed, so that a broken path costs its delay once; it is on by default
//! and [`Connector::set_history`] shares or switches it off.
//!
//! # Features
//!
//! - `serde`: `Serialize` for [`ConnectReport`] and [`Plan`]; export and
//!   import of a [`history::History`].
//! - `cli`: the `happy-connect` command-line tool (`demo`, `teredo`,
//!   `classify`, `sort`, `probe` with the NAT64 prefixes, `wait-stable`,
//!   `resolve`, `connect`).
//! - `hyper`, `reqwest`: [`integrations`] with those HTTP clients.

#![deny(unsafe_code)]

mod aaaa;
pub mod blocking;
mod connector;
mod driver;
mod error;
mod fnv;
pub mod history;
mod host;
pub mod integrations;
pub mod nat64;
mod plan;
mod policy;
pub mod race;
mod report;
pub mod resolve;
mod socket;
mod zoned_hosts;

pub use aaaa::{AaaaDecision, AaaaPolicy, AaaaReason};
pub use connector::Connector;
pub use error::{ConnectError, ConnectErrorKind};
pub use plan::Plan;
pub use policy::{GAI_CONF, PolicyFileError, policy_from_file, system_policy};
pub use race::Strategy;
pub use report::{
    AttemptOutcome, AttemptReport, CandidateReport, ConnectReport, HistoryReport, HostCapabilities,
    QueryReport, Winner,
};

pub use iface_probe as probe;
pub use rfc3484_sort as sort;
pub use stable_addr as stable;
pub use teredo_addr as addr;

/// Connects to `host` on `port` with the default [`Connector`]: the
/// system's DNS, RFC 6724 order, AAAA skipped on Teredo-only hosts, and
/// the RFC 8305 race.
///
/// # Errors
///
/// A [`ConnectError`] with the report of every query and attempt.
pub async fn connect(
    host: &str,
    port: u16,
) -> Result<(tokio::net::TcpStream, ConnectReport), ConnectError> {
    Connector::new().connect(host, port).await
}

/// The README's examples, compiled and run as doc tests so that they stay
/// true.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
