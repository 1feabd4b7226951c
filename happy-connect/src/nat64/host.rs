//! The pure planning of NAT64: what a state of the host allows (does it
//! synthesize, which prefixes do its routers announce, which network is
//! it on), and what one connect does with it (the prefix to synthesize
//! with, the policy that sorts NAT64 destinations as IPv4, the report).

use std::borrow::Cow;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::sync::Arc;
use std::time::Instant;

use iface_probe::{Family, NetworkId, RouteKind, Snapshot};
use rfc3484_sort::Policy;
use teredo_addr::Nat64Prefix;

use super::cache::Discovered;
use super::{LearnedPrefix, Nat64Report, PrefixSource, synthesize};
use crate::report::CandidateReport;

/// `192.0.0.0/29`, where a CLAT (464XLAT, RFC 6877) puts the host's IPv4
/// address (RFC 7335).
const CLAT_NET: (Ipv4Addr, u8) = (Ipv4Addr::new(192, 0, 0, 0), 29);

/// What one state of the host means for NAT64: worked out once per
/// snapshot.
#[derive(Debug)]
pub(crate) struct HostNat64 {
    /// The snapshot it was worked out from (compared by pointer).
    pub(crate) snapshot: Arc<Snapshot>,
    /// The network the host is on: the key of the discovery cache.
    pub(crate) network: NetworkId,
    /// Why the host does not synthesize; `None` on an IPv6-only host.
    pub(crate) blocked: Option<&'static str>,
    /// The live prefixes the routers announce.
    pub(crate) pref64: Vec<LearnedPrefix>,
    /// The PREF64 options the view rejected, with why.
    pub(crate) pref64_ignored: Vec<String>,
}

impl HostNat64 {
    /// The NAT64 side of `snapshot`, as of `now`.
    pub(crate) fn of(snapshot: Arc<Snapshot>, now: Instant) -> Self {
        let name = |index: u32| {
            snapshot
                .interface(index)
                .map_or_else(|| format!("interface {index}"), |i| i.name.clone())
        };
        let mut pref64: Vec<LearnedPrefix> = Vec::new();
        for p in snapshot.pref64.iter().filter(|p| p.is_live(now)) {
            if !pref64.iter().any(|l| l.prefix == p.prefix) {
                pref64.push(LearnedPrefix {
                    prefix: p.prefix,
                    source: PrefixSource::RouterAdvertisement {
                        interface: name(p.interface),
                        router: p.router,
                        lifetime: p.lifetime,
                    },
                });
            }
        }
        let pref64_ignored = snapshot
            .pref64_ignored
            .iter()
            .map(|i| {
                let from = i.router.map_or_else(String::new, |r| format!(" from {r}"));
                format!(
                    "router advertisement{from} on {}: {}",
                    name(i.interface),
                    i.reason
                )
            })
            .collect();
        Self {
            network: snapshot.network(),
            blocked: blocked(&snapshot),
            pref64,
            pref64_ignored,
            snapshot,
        }
    }

    /// Whether NAT64 changes anything for a connect on this host: it is
    /// IPv6-only, or its routers announce a prefix.
    pub(crate) fn engaged(&self) -> bool {
        self.blocked.is_none() || !self.pref64.is_empty()
    }

    /// Whether a connect to `target` should find out the DNS64 prefix when
    /// the routers announce none: on an IPv6-only host, for a name or an
    /// IPv4 address (an IPv6 address needs no prefix).
    pub(crate) fn wants_discovery(&self, literal: Option<IpAddr>) -> bool {
        self.blocked.is_none() && self.pref64.is_empty() && !matches!(literal, Some(IpAddr::V6(_)))
    }
}

/// Why a host in this state does not synthesize: it has IPv4 of its own
/// (a CLAT's, or any route), or no IPv6 route to reach a translator
/// through; `None` for an IPv6-only host.
pub(crate) fn blocked(snapshot: &Snapshot) -> Option<&'static str> {
    let clat = snapshot.interfaces.iter().any(|i| {
        i.is_operational()
            && i.addresses.iter().any(|a| {
                matches!(a.ip, IpAddr::V4(v4)
                    if u32::from(v4) >> (32 - CLAT_NET.1) == u32::from(CLAT_NET.0) >> (32 - CLAT_NET.1))
            })
    });
    if clat {
        return Some("a CLAT (464XLAT) gives the host IPv4 through 192.0.0.0/29");
    }
    let reach = snapshot.reach();
    let ipv4_route = reach.ipv4.is_some()
        || snapshot.routes.iter().any(|r| {
            r.family == Family::Ipv4
                && r.kind == RouteKind::Unicast
                && !r
                    .oif
                    .and_then(|i| snapshot.interface(i))
                    .is_some_and(iface_probe::Interface::is_loopback)
        });
    if ipv4_route {
        return Some("the host has an IPv4 route");
    }
    if reach.ipv6.is_none() {
        return Some("the host has no route to global IPv6 either");
    }
    None
}

/// What one connect knows and does about NAT64.
#[derive(Debug)]
pub(crate) struct Nat64Plan {
    /// The prefixes known: the routers', then the DNS64 server's (a prefix
    /// from both is there twice).
    pub(crate) prefixes: Vec<LearnedPrefix>,
    /// The prefix to synthesize with; `None` when the host does not.
    pub(crate) synthesize_with: Option<Nat64Prefix>,
    /// The race's policy with the prefixes sorted as IPv4; `None` when no
    /// prefix is known (the configured policy applies as it is).
    pub(crate) policy: Option<Policy>,
    /// The base policy it was made from, to tell whether it still fits.
    base: Policy,
    /// The report's part.
    pub(crate) report: Nat64Report,
}

impl Nat64Plan {
    /// The plan for a host in state `host` that found `dns` (the RFC 7050
    /// result of its network, if any) under `base`; `None` when NAT64 has
    /// nothing to do or say (a host with IPv4 that knows no prefix and
    /// asked no DNS64 server).
    pub(crate) fn new(host: &HostNat64, dns: Option<&Discovered>, base: &Policy) -> Option<Self> {
        let mut prefixes = host.pref64.clone();
        let mut ignored = host.pref64_ignored.clone();
        if let Some(found) = dns.and_then(|d| d.outcome.as_ref().ok()) {
            // A prefix both the routers and DNS64 gave is listed twice, so
            // that the report says it was learned both ways.
            prefixes.extend(found.prefixes.iter().map(|&prefix| LearnedPrefix {
                prefix,
                source: PrefixSource::Dns64,
            }));
            ignored.extend(
                found
                    .ignored
                    .iter()
                    .map(|i| format!("{} answer {i}", super::IPV4ONLY_ARPA)),
            );
        }
        if prefixes.is_empty() && host.blocked.is_some() && dns.is_none() {
            return None;
        }
        let synthesize_with = match host.blocked {
            None => prefixes.first().map(|l| l.prefix),
            Some(_) => None,
        };
        let reason: Cow<'static, str> = match (host.blocked, synthesize_with) {
            (Some(why), _) => format!("not synthesizing: {why}").into(),
            (None, Some(p)) => {
                format!("synthesizing IPv4 destinations under {p}: the host has no IPv4 route")
                    .into()
            }
            (None, None) => "not synthesizing: the host has no IPv4 route, but no NAT64 prefix \
                             is known on this network"
                .into(),
        };
        let policy = (!prefixes.is_empty()).then(|| {
            let mut list: Vec<Nat64Prefix> = Vec::with_capacity(prefixes.len());
            for l in &prefixes {
                if !list.contains(&l.prefix) {
                    list.push(l.prefix);
                }
            }
            base.with_nat64(&list)
        });
        Some(Self {
            report: Nat64Report {
                prefixes: prefixes.clone(),
                synthesis: synthesize_with,
                reason: reason.into_owned(),
                discovery: dns.map(Discovered::describe),
                ignored,
            },
            prefixes,
            synthesize_with,
            policy,
            base: base.clone(),
        })
    }

    /// Whether this plan was made under `base`.
    pub(crate) fn made_under(&self, base: &Policy) -> bool {
        self.base == *base
    }

    /// The known prefixes.
    fn known(&self) -> impl Iterator<Item = Nat64Prefix> + '_ {
        self.prefixes.iter().map(|l| l.prefix)
    }

    /// An IPv4 literal's destination: synthesized when the host
    /// synthesizes and the address may be, else the literal.
    pub(crate) fn literal(&self, ip: IpAddr) -> IpAddr {
        match (ip, self.synthesize_with) {
            (IpAddr::V4(v4), Some(prefix)) => synthesize(prefix, v4).map_or(ip, IpAddr::V6),
            _ => ip,
        }
    }

    /// The addresses to make candidates of for an A answer: each
    /// synthesized (the addresses that may not be stay IPv4), recorded in
    /// `synthesized`; `None` when the host does not synthesize.
    pub(crate) fn answer(
        &self,
        addrs: &[IpAddr],
        synthesized: &mut Vec<Ipv6Addr>,
    ) -> Option<Vec<IpAddr>> {
        self.synthesize_with?;
        let mut out = Vec::with_capacity(addrs.len());
        for &a in addrs {
            let b = self.literal(a);
            if let IpAddr::V6(v6) = b {
                if a.is_ipv4() && !synthesized.contains(&v6) {
                    synthesized.push(v6);
                }
            }
            out.push(b);
        }
        Some(out)
    }

    /// Marks a candidate of the report: its kind with the known prefixes
    /// (`nat64` inside one of them), the IPv4 address it stands for, and
    /// whether it was synthesized here.
    pub(crate) fn annotate(&self, c: &mut CandidateReport, synthesized: &[Ipv6Addr]) {
        let prefixes: Vec<Nat64Prefix> = self.known().collect();
        c.class = teredo_addr::classify_with_nat64(c.address, &prefixes).name();
        if let IpAddr::V6(v6) = c.address {
            c.nat64 = prefixes.iter().find_map(|p| p.extract(v6));
            c.synthesized = synthesized.contains(&v6);
        }
    }
}
