//! reqwest integration: our resolution and order as reqwest's DNS resolver.
//!
//! [`HappyResolve`] implements [`reqwest::dns::Resolve`] with
//! [`Connector::resolve`]: the A and AAAA queries in parallel, no AAAA
//! query on a host whose only IPv6 is Teredo, and the answers in RFC 6724
//! order with Teredo last (the [`Connector`]'s policy table).
//!
//! ```no_run
//! use std::sync::Arc;
//!
//! use happy_connect::integrations::reqwest::HappyResolve;
//! use happy_connect::Connector;
//!
//! # async fn f() -> Result<(), reqwest::Error> {
//! let client = reqwest::Client::builder()
//!     .dns_resolver(Arc::new(HappyResolve::new(Connector::new())))
//!     .build()?;
//! let body = client.get("http://example.com/").send().await?.text().await?;
//! # drop(body); Ok(()) }
//! ```
//!
//! # What reqwest still does itself
//!
//! A resolver only hands addresses over. reqwest connects with its own
//! connector (hyper-util's `HttpConnector`), which runs its own, simpler
//! happy eyeballs on them, not our RFC 8305 race:
//!
//! - it splits the addresses into two groups by family, the family of the
//!   first address first, and keeps the order inside each group;
//! - it tries the first group's addresses one after the other, and starts
//!   the other group after a fixed 300 ms (reqwest does not expose the
//!   delay) or as soon as the first group has failed;
//! - only two attempts are ever in flight, one per family, whatever our
//!   [`Connector`]'s attempt delay, attempt timeout or total timeout (use
//!   reqwest's `connect_timeout`).
//!
//! What that means:
//!
//! - our order is kept inside each family, and which family goes first is
//!   ours too (that of our first candidate);
//! - Teredo still comes last: it sorts after native IPv6 inside the IPv6
//!   group, and behind IPv4 when IPv4 leads the plan;
//! - AAAA suppression on Teredo-only hosts still applies: reqwest never
//!   sees an IPv6 address we did not ask for;
//! - there is no wait for a stable Teredo source, and no [`ConnectReport`]
//!   per connection (reqwest has nowhere to put it);
//! - names given to reqwest's `ClientBuilder::resolve` bypass this
//!   resolver, and with a proxy it resolves the proxy's name.
//!
//! Where the full race and the report are wanted, use hyper-util's client
//! with `integrations::hyper::HappyConnector` (feature `hyper`) instead.
//!
//! [`ConnectReport`]: crate::ConnectReport

use reqwest::dns::{Addrs, Name, Resolve, Resolving};

use crate::Connector;

/// reqwest's DNS resolver backed by a [`Connector`]: its resolver, AAAA
/// policy and policy table.
///
/// ```
/// use std::sync::Arc;
///
/// use happy_connect::integrations::reqwest::HappyResolve;
/// use happy_connect::{AaaaPolicy, Connector};
///
/// let mut connector = Connector::new();
/// connector.set_aaaa(AaaaPolicy::Auto);
/// let client = reqwest::Client::builder()
///     .dns_resolver(Arc::new(HappyResolve::new(connector)))
///     .build()?;
/// # drop(client);
/// # Ok::<(), reqwest::Error>(())
/// ```
///
/// Each lookup returns the candidates of [`Connector::resolve`] in the
/// planned order, with port 0 (reqwest puts the URL's port in). See the
/// [module docs](self) for what reqwest's connector does with them.
#[derive(Clone, Debug, Default)]
pub struct HappyResolve {
    connector: Connector,
}

impl HappyResolve {
    /// Resolves with this connector.
    pub fn new(connector: Connector) -> Self {
        Self { connector }
    }

    /// The connector in use.
    pub fn connector(&self) -> &Connector {
        &self.connector
    }

    /// Orders by the connection history of this partition only (see
    /// [`Connector::set_history_key`]). A resolver orders by what the
    /// history holds but cannot feed it: reqwest makes the attempts, so
    /// their outcomes are not seen.
    #[must_use]
    pub fn with_history_key(mut self, key: &str) -> Self {
        self.connector.set_history_key(Some(key));
        self
    }
}

impl From<Connector> for HappyResolve {
    fn from(connector: Connector) -> Self {
        Self::new(connector)
    }
}

impl Resolve for HappyResolve {
    fn resolve(&self, name: Name) -> Resolving {
        let connector = self.connector.clone();
        Box::pin(async move {
            let plan = connector.resolve(name.as_str()).await?;
            let addrs: Addrs = Box::new(plan.addrs(0).into_iter());
            Ok(addrs)
        })
    }
}
