//! IPv6-only networks with NAT64 and DNS64: where the translator's prefix
//! comes from, how IPv4 destinations become IPv6 ones, and how answers a
//! DNS64 server made up are recognised.
//!
//! # Discovery
//!
//! A connector learns the NAT64 prefixes of the network it is on in two
//! ways, and keeps them per network ([`NetworkId`](crate::probe::NetworkId)):
//!
//! - **From the routers (RFC 8781).** The host view hears the PREF64
//!   option of Router Advertisements (Linux; see
//!   [`Snapshot::pref64`](crate::probe::Snapshot::pref64)). No query is
//!   sent. These prefixes come first, as RFC 9872 recommends.
//! - **From the DNS64 server (RFC 7050).** On an IPv6-only host that heard
//!   no PREF64, the first connect on a network that needs a prefix (to an
//!   IPv4 address or a name) asks the connector's resolver for the AAAA
//!   records of `ipv4only.arpa`, whose only addresses are the well-known
//!   `192.0.0.170` and `192.0.0.171`: a DNS64 server answers with them
//!   synthesized, and [`discover`] reads the prefix out of each. The
//!   result (a prefix, none, or a failure) is kept for the network, so
//!   later connects send no query until it expires (10 minutes; 30 s
//!   after a failure) or the host moves to another network. That one
//!   query waits at most 2 s.
//!
//! A dual-stack or IPv4-only host sends no discovery query at all.
//!
//! # Synthesis (RFC 8305 §7, Happy Eyeballs v3)
//!
//! When the host has no IPv4 route and a prefix is known, an IPv4 literal
//! and the addresses of an A answer become IPv6 candidates under the
//! first prefix ([`synthesize`]); the special-purpose blocks that cannot
//! be translated (`0.0.0.0/8`, `127.0.0.0/8`, `169.254.0.0/16`,
//! `255.255.255.255`) stay IPv4. A host with any IPv4 route, a CLAT
//! (464XLAT, IPv4 through `192.0.0.0/29`) among them, does not
//! synthesize: its IPv4 works as it is.
//!
//! # De-synthesis
//!
//! An AAAA answer inside a known prefix is marked NAT64 in the report,
//! with the IPv4 address it stands for, and sorted as that IPv4 address
//! would be ([`Policy::with_nat64`](crate::sort::Policy::with_nat64)), so
//! that native IPv6 goes first. The same address from DNS64 and from
//! local synthesis is one candidate.
//!
//! ```
//! use std::net::Ipv4Addr;
//! use happy_connect::nat64::{discover, synthesize};
//!
//! // What a DNS64 server with prefix 2001:db8:64::/96 answers for
//! // ipv4only.arpa AAAA.
//! let answer = ["2001:db8:64::c000:aa".parse()?, "2001:db8:64::c000:ab".parse()?];
//! let found = discover(&answer);
//! assert_eq!(found.prefixes[0].to_string(), "2001:db8:64::/96");
//! assert!(found.ignored.is_empty());
//!
//! let v6 = synthesize(found.prefixes[0], Ipv4Addr::new(198, 51, 100, 50))?;
//! assert_eq!(v6.to_string(), "2001:db8:64::c633:6432");
//! assert!(synthesize(found.prefixes[0], Ipv4Addr::LOCALHOST).is_err());
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::time::Duration;

pub use teredo_addr::Nat64Prefix;

pub(crate) mod cache;
pub(crate) mod host;

/// The name RFC 7050 asks about: its only addresses are the well-known
/// IPv4-only addresses, so an AAAA answer must have been synthesized.
pub const IPV4ONLY_ARPA: &str = "ipv4only.arpa";

/// [`IPV4ONLY_ARPA`] as the query asks it (RFC 7050 §3: `ipv4only.arpa.`),
/// fully qualified so that no search domain is ever added to it: a
/// wildcard AAAA in a search domain would pass for a DNS64 server.
pub(crate) const IPV4ONLY_ARPA_QUERY: &str = "ipv4only.arpa.";

/// The well-known IPv4-only addresses of `ipv4only.arpa` (RFC 7050 §2.2):
/// `192.0.0.170` and `192.0.0.171`.
pub const WELL_KNOWN_IPV4: [Ipv4Addr; 2] =
    [Ipv4Addr::new(192, 0, 0, 170), Ipv4Addr::new(192, 0, 0, 171)];

/// What [`discover`] found in an answer for `ipv4only.arpa`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Discovery {
    /// The prefixes, each once, in the order of the answer.
    pub prefixes: Vec<Nat64Prefix>,
    /// The addresses of the answer that gave no prefix, and why.
    pub ignored: Vec<Ignored>,
}

/// A piece of discovery data that was not used, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Ignored {
    /// The address of the answer.
    pub address: IpAddr,
    /// Why it gave no prefix.
    pub reason: String,
}

impl fmt::Display for Ignored {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.address, self.reason)
    }
}

/// The NAT64 prefixes in the AAAA answer for `ipv4only.arpa` (RFC 7050
/// §3): for each address, the RFC 6052 length at which it embeds one of
/// the [well-known addresses](WELL_KNOWN_IPV4), its "u" octet and suffix
/// zero ([`Nat64Prefix::find_embedding`]).
///
/// Several addresses may give several prefixes (a network with more than
/// one translator): each is kept once, in the answer's order, which is
/// the order of preference. An address that embeds neither well-known
/// address is ignored, with the reason. RFC 7050 uses the second
/// well-known address to settle the length of an address that embeds the
/// first at several; requiring the "u" octet and the suffix to be zero,
/// as RFC 6052 synthesizes them, leaves a single length possible, so each
/// address is read on its own.
///
/// ```
/// use happy_connect::nat64::discover;
///
/// let found = discover(&["2001:db8::1".parse()?, "64:ff9b::c000:aa".parse()?]);
/// assert_eq!(found.prefixes[0].to_string(), "64:ff9b::/96");
/// assert_eq!(
///     found.ignored[0].to_string(),
///     "2001:db8::1: embeds neither 192.0.0.170 nor 192.0.0.171 at any RFC 6052 prefix length"
/// );
/// # Ok::<(), std::net::AddrParseError>(())
/// ```
pub fn discover(answer: &[IpAddr]) -> Discovery {
    let mut out = Discovery::default();
    for &address in answer {
        let IpAddr::V6(addr) = address else {
            out.ignored.push(Ignored {
                address,
                reason: "not an IPv6 address".to_owned(),
            });
            continue;
        };
        // Every (prefix, well-known address) this address could stand for.
        let mut found: Vec<(Nat64Prefix, Ipv4Addr)> = Vec::new();
        for wka in WELL_KNOWN_IPV4 {
            found.extend(Nat64Prefix::find_embedding(addr, wka).map(|p| (p, wka)));
        }
        let prefix = match found.as_slice() {
            [] => {
                out.ignored.push(Ignored {
                    address,
                    reason: format!(
                        "embeds neither {} nor {} at any RFC 6052 prefix length",
                        WELL_KNOWN_IPV4[0], WELL_KNOWN_IPV4[1]
                    ),
                });
                continue;
            }
            [(p, _)] => *p,
            // With the "u" octet and the suffix zero, a well-known address
            // fits at one length at most: its last octet, never zero, would
            // fall in the suffix of any shorter length. Should another
            // address ever fit twice, which length is meant is unknown.
            several => {
                let lengths: Vec<String> = several
                    .iter()
                    .map(|(p, _)| format!("/{}", p.prefix_len()))
                    .collect();
                out.ignored.push(Ignored {
                    address,
                    reason: format!(
                        "ambiguous: embeds a well-known address at {}",
                        lengths.join(", ")
                    ),
                });
                continue;
            }
        };
        if !out.prefixes.contains(&prefix) {
            out.prefixes.push(prefix);
        }
    }
    out
}

/// Why an IPv4 address is not synthesized (Happy Eyeballs v3 lists the
/// special-purpose blocks a translator cannot reach).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum NotSynthesized {
    /// `0.0.0.0/8`, "this network".
    ThisNetwork,
    /// `127.0.0.0/8`, loopback: the host's own.
    Loopback,
    /// `169.254.0.0/16`, link-local: the host's own link.
    LinkLocal,
    /// `255.255.255.255`, the limited broadcast address.
    Broadcast,
}

impl fmt::Display for NotSynthesized {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::ThisNetwork => "0.0.0.0/8 (this network) is not translated",
            Self::Loopback => "127.0.0.0/8 (loopback) is the host's own",
            Self::LinkLocal => "169.254.0.0/16 (link-local) is on the host's own link",
            Self::Broadcast => "255.255.255.255 (broadcast) is not translated",
        })
    }
}

impl std::error::Error for NotSynthesized {}

/// The IPv6 address that reaches `v4` through the translator of `prefix`
/// (RFC 6052 §2.2), unless `v4` is in a block Happy Eyeballs v3 leaves
/// out.
///
/// # Errors
///
/// [`NotSynthesized`] for `0.0.0.0/8`, `127.0.0.0/8`, `169.254.0.0/16`
/// and `255.255.255.255`.
pub fn synthesize(prefix: Nat64Prefix, v4: Ipv4Addr) -> Result<Ipv6Addr, NotSynthesized> {
    let [a, b, ..] = v4.octets();
    match (a, b) {
        (0, _) => Err(NotSynthesized::ThisNetwork),
        (127, _) => Err(NotSynthesized::Loopback),
        (169, 254) => Err(NotSynthesized::LinkLocal),
        _ if v4.is_broadcast() => Err(NotSynthesized::Broadcast),
        _ => Ok(prefix.embed(v4)),
    }
}

/// How a connector learned a NAT64 prefix.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum PrefixSource {
    /// The PREF64 option of a Router Advertisement (RFC 8781).
    RouterAdvertisement {
        /// The interface it came in on.
        interface: String,
        /// The router, when the system said.
        router: Option<Ipv6Addr>,
        /// The lifetime it was announced with.
        lifetime: Duration,
    },
    /// The DNS64 server's answer for `ipv4only.arpa` (RFC 7050).
    Dns64,
}

impl PrefixSource {
    /// A short name: `ra` or `dns64`.
    pub fn name(&self) -> &'static str {
        match self {
            Self::RouterAdvertisement { .. } => "ra",
            Self::Dns64 => "dns64",
        }
    }
}

impl fmt::Display for PrefixSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::RouterAdvertisement {
                interface,
                router,
                lifetime,
            } => {
                f.write_str("router advertisement (PREF64, RFC 8781)")?;
                if let Some(router) = router {
                    write!(f, " from {router}")?;
                }
                write!(f, " on {interface}, lifetime {} s", lifetime.as_secs())
            }
            Self::Dns64 => write!(f, "DNS64 ({IPV4ONLY_ARPA}, RFC 7050)"),
        }
    }
}

/// A NAT64 prefix and how it was learned.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct LearnedPrefix {
    /// The prefix.
    pub prefix: Nat64Prefix,
    /// Where it came from.
    pub source: PrefixSource,
}

impl fmt::Display for LearnedPrefix {
    /// `2001:db8:64::/96 from DNS64 (ipv4only.arpa, RFC 7050)`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} from {}", self.prefix, self.source)
    }
}

/// What a connect (or a resolution) knew and decided about NAT64; part of
/// every [`ConnectReport`](crate::ConnectReport) and
/// [`Plan`](crate::Plan) on a host where NAT64 matters (an IPv6-only host,
/// or one that knows a prefix).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Nat64Report {
    /// The prefixes known for this network, the one synthesis uses first.
    pub prefixes: Vec<LearnedPrefix>,
    /// The prefix IPv4 literals and A answers were synthesized with;
    /// `None` when the host does not synthesize.
    pub synthesis: Option<Nat64Prefix>,
    /// Why the host synthesizes or not.
    pub reason: String,
    /// What the RFC 7050 query said on this network, when it was asked.
    pub discovery: Option<String>,
    /// Discovery data that was not used, each with its reason (answers for
    /// `ipv4only.arpa`, PREF64 options).
    pub ignored: Vec<String>,
}

impl fmt::Display for Nat64Report {
    /// The report's `nat64` lines.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.prefixes.is_empty() {
            writeln!(f, "  nat64: no prefix known")?;
        }
        for p in &self.prefixes {
            writeln!(f, "  nat64: {p}")?;
        }
        writeln!(f, "  nat64: {}", self.reason)?;
        if let Some(d) = &self.discovery {
            writeln!(f, "  nat64: {d}")?;
        }
        for why in &self.ignored {
            writeln!(f, "  nat64: ignored {why}")?;
        }
        Ok(())
    }
}

/// What `connector` knows of NAT64 on the network the host is on now,
/// having asked its DNS64 server (RFC 7050) unless the answer for this
/// network is remembered: [`Connector::nat64`](crate::Connector::nat64).
pub(crate) async fn probe(
    connector: &crate::Connector,
) -> Result<Nat64Report, crate::probe::ViewError> {
    let view = connector.host_view();
    let snapshot = match view.snapshot() {
        Some(s) => s,
        None => view.ready().await?,
    };
    let state = connector.nat64_state();
    let host = state.host(&snapshot);
    let dns = state.discover(host.network, connector.resolver()).await;
    let plan = host::Nat64Plan::new(&host, Some(&dns), &connector.race().policy);
    Ok(plan.map_or_else(
        // Unreachable: with a DNS result there is always a plan.
        || Nat64Report {
            prefixes: Vec::new(),
            synthesis: None,
            reason: String::new(),
            discovery: Some(dns.describe()),
            ignored: Vec::new(),
        },
        |p| p.report.clone(),
    ))
}

#[cfg(test)]
mod tests;
