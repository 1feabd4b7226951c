//! From an answer to candidates: the answer recorded (capped when huge,
//! synthesized through NAT64 when the host needs it), and each address's
//! source, from the host view's cache or looked up.

use std::net::IpAddr;
use std::time::Duration;

use iface_probe::{Dest, HostView, SourceInfo, SourcesFuture};
use tracing::debug;

use crate::host::HostState;
use crate::plan;
use crate::race::{Candidate, RaceConfig};
use crate::report::{Event, Log};
use crate::resolve::{RecordType, ResolveError};

/// The candidates for `addrs`, with sources from the view's cache, or
/// `None` when one is not cached (then [`lookup`] asks for them).
pub(super) fn cached_candidates(
    view: &HostView,
    host: &HostState,
    addrs: &[IpAddr],
    scope_id: u32,
    port: u16,
) -> Option<Vec<Candidate>> {
    let mut out = Vec::with_capacity(addrs.len());
    for &ip in addrs {
        let source = if host.snapshot.is_some() {
            view.cached_source(&Dest::new(ip, Some(scope_id)))?
        } else {
            None
        };
        out.push(plan::candidate(ip, source.as_ref(), port).with_scope_id(scope_id));
    }
    Some(out)
}

/// Asks the view's lookup thread for the sources of `addrs`.
pub(super) fn lookup(view: &HostView, addrs: &[IpAddr], scope_id: u32) -> SourcesFuture {
    let dests: Vec<Dest> = addrs
        .iter()
        .map(|&ip| Dest::new(ip, Some(scope_id)))
        .collect();
    view.sources(&dests)
}

/// The candidates from looked-up sources (unknown after a failure).
pub(super) fn looked_up(
    addrs: &[IpAddr],
    sources: std::io::Result<Vec<Option<SourceInfo>>>,
    scope_id: u32,
    port: u16,
) -> Vec<Candidate> {
    let sources = sources.unwrap_or_else(|err| {
        debug!(error = %err, "source lookup failed; sources unknown");
        Vec::new()
    });
    let mut out = plan::candidates(addrs, &sources, port);
    for c in &mut out {
        *c = c.with_scope_id(scope_id);
    }
    out
}

/// The candidates of an answer (or a literal), cached or looked up.
pub(super) async fn candidates(
    view: &HostView,
    host: &HostState,
    addrs: &[IpAddr],
    scope_id: u32,
    port: u16,
) -> Vec<Candidate> {
    match cached_candidates(view, host, addrs, scope_id, port) {
        Some(candidates) => candidates,
        None => {
            let sources = lookup(view, addrs, scope_id).await;
            looked_up(addrs, sources, scope_id, port)
        }
    }
}

/// A huge answer must not cost a kernel lookup per address: the race
/// keeps at most `max_candidates` of them anyway, preferring by RFC 6724,
/// so a generous multiple is enough for it to choose from.
pub(super) fn answer_limit(config: &RaceConfig) -> usize {
    config.max_candidates.saturating_mul(4).max(64)
}

/// The first `limit` distinct addresses of an oversized answer, and how
/// many were dropped.
pub(super) fn cap_answer(addrs: &[IpAddr], limit: usize) -> (Vec<IpAddr>, usize) {
    let mut seen = std::collections::HashSet::new();
    let mut kept: Vec<IpAddr> = addrs.iter().copied().filter(|a| seen.insert(*a)).collect();
    let dropped = addrs.len().saturating_sub(limit.min(kept.len()));
    kept.truncate(limit);
    (kept, dropped)
}

/// An answer as recorded: its record type (the log keeps one answer per
/// query), and the addresses to use when they are not the answer's (an oversized answer
/// capped, an A answer synthesized into NAT64 destinations); the log keeps
/// the answer whole, so that the report shows what came.
pub(super) struct Recorded {
    rtype: RecordType,
    capped: Option<Vec<IpAddr>>,
}

impl Recorded {
    /// The addresses to make candidates of.
    pub(super) fn addrs<'l>(&'l self, log: &'l Log) -> &'l [IpAddr] {
        match &self.capped {
            Some(capped) => capped,
            None => log.answer(self.rtype),
        }
    }
}

/// Records an answer; returns where it is when it brought addresses (of
/// its own family: a resolver that ignores the type must not put IPv4
/// into the IPv6 race).
pub(super) fn record_answer(
    log: &mut Log,
    at: Duration,
    rtype: RecordType,
    result: Result<Vec<IpAddr>, ResolveError>,
    config: &RaceConfig,
) -> Option<Recorded> {
    match result {
        Ok(mut addrs) => {
            addrs.retain(|a| rtype.matches(a));
            debug!(%rtype, count = addrs.len(), "answer");
            let limit = answer_limit(config);
            let mut capped = (addrs.len() > limit).then(|| {
                let (kept, dropped) = cap_answer(&addrs, limit);
                log.dropped_early += dropped;
                kept
            });
            // On an IPv6-only host with a NAT64 prefix, the A answer's
            // addresses are reached through the translator.
            if let (RecordType::A, Some(nat64)) = (rtype, log.nat64.clone()) {
                let use_now = capped.as_deref().unwrap_or(&addrs);
                if let Some(synthesized) = nat64.answer(use_now, &mut log.synthesized) {
                    capped = Some(synthesized);
                }
            }
            log.push(Event::Answer {
                rtype,
                at,
                result: Ok(addrs),
            });
            Some(Recorded { rtype, capped })
        }
        Err(err) => {
            debug!(%rtype, error = %err, "query failed");
            log.push(Event::Answer {
                rtype,
                at,
                result: Err(err),
            });
            None
        }
    }
}
