//! What a connect did and why: the queries sent or skipped, the order of
//! the candidates and the rule that placed each, every attempt with its
//! times and outcome, and the winner.

use std::borrow::Cow;
use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use rfc3484_sort::Policy;

use iface_probe::NetworkId;

use crate::history::{Advice, DelaySource, Note};
use crate::nat64::Nat64Report;
use crate::nat64::host::Nat64Plan;
use crate::plan::Plan;
use crate::race::order::Planner;
use crate::race::{Candidate, Family, Placement, Race, Strategy};
use crate::resolve::{RecordType, ResolveError};

/// The account of one connect (or one resolution), returned with the
/// stream and inside every [`ConnectError`](crate::ConnectError).
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct ConnectReport {
    /// The host as given.
    pub host: String,
    /// The port.
    pub port: u16,
    /// How the candidates were tried.
    pub strategy: Strategy,
    /// The host's capabilities as the AAAA decision saw them; `None` when
    /// the host view could not read them (see `host_unavailable`).
    pub capabilities: Option<HostCapabilities>,
    /// Why the host view could not say what the host reaches, if it could
    /// not: the connect then asked for AAAA and knew no sources.
    pub host_unavailable: Option<String>,
    /// The NAT64 prefixes known and whether IPv4 destinations were
    /// synthesized, on a host where NAT64 matters (IPv6-only, or told a
    /// prefix by its routers); see [`crate::nat64`]. Boxed: rare and
    /// large, it would make every report larger to move.
    pub nat64: Option<Box<Nat64Report>>,
    /// One entry per record type: sent (with its answer) or skipped.
    pub queries: Vec<QueryReport>,
    /// The destinations in the order they were planned.
    pub candidates: Vec<CandidateReport>,
    /// Candidates dropped because an answer held more than the cap.
    pub dropped_candidates: usize,
    /// How the connection history was used; `None` when it was not (off,
    /// a connect to an IP address, or the network unknown).
    pub history: Option<HistoryReport>,
    /// Every connection attempt, in the order started.
    pub attempts: Vec<AttemptReport>,
    /// The attempt that connected.
    pub winner: Option<Winner>,
    /// From the start of the call to its end.
    pub total: Duration,
}

/// What the host could reach when the connect started.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct HostCapabilities {
    /// A usable IPv4 address with a default route.
    pub ipv4: bool,
    /// Native IPv6 (neither 6to4 nor Teredo).
    pub native_ipv6: bool,
    /// 6to4 (`2002::/16`).
    pub sixtofour: bool,
    /// A Teredo address on an IPv6-capable interface.
    pub teredo: bool,
    /// Teredo is the only IPv6 the host has.
    pub teredo_only: bool,
}

impl From<iface_probe::Capabilities> for HostCapabilities {
    fn from(c: iface_probe::Capabilities) -> Self {
        Self {
            ipv4: c.ipv4,
            native_ipv6: c.native_ipv6,
            sixtofour: c.sixtofour,
            teredo: c.teredo,
            teredo_only: c.teredo_only,
        }
    }
}

/// How a connect used the connection history ([`crate::history`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct HistoryReport {
    /// The network the history was read for.
    pub network: NetworkId,
    /// Whether the connector has a partition key.
    pub partitioned: bool,
    /// Whether this connect ignored history (one in
    /// [`HistoryConfig::ignore_one_in`](crate::history::HistoryConfig::ignore_one_in));
    /// its outcomes are still remembered.
    pub ignored: bool,
    /// The family whose recent attempts here all failed or lost, which
    /// gave the other family the first turn.
    pub demoted_family: Option<Family>,
}

impl fmt::Display for HistoryReport {
    /// `network 1f2e3d4c5b6a7988, IPv6 demoted (its recent attempts here
    /// all failed)`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "network {}", self.network)?;
        if self.partitioned {
            f.write_str(" (own partition)")?;
        }
        if self.ignored {
            return f.write_str(", ignored by this connect (outcomes still kept)");
        }
        match self.demoted_family {
            Some(family) => write!(
                f,
                ", {family} demoted (its recent attempts here all failed)"
            ),
            None => Ok(()),
        }
    }
}

/// One DNS query: sent or skipped, and what came back.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct QueryReport {
    /// A or AAAA.
    pub rtype: RecordType,
    /// Whether the query was sent.
    pub sent: bool,
    /// Why it was sent or skipped.
    pub reason: Cow<'static, str>,
    /// The addresses in the answer.
    pub answers: Vec<IpAddr>,
    /// When the answer (or the error) came, from the start.
    pub elapsed: Option<Duration>,
    /// The error, if the query failed.
    pub error: Option<ResolveError>,
}

/// One destination in the planned order.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct CandidateReport {
    /// The destination.
    pub address: IpAddr,
    /// The source the kernel would use; `None` when it has no route.
    pub source: Option<IpAddr>,
    /// The destination's kind: `native-global`, `teredo`, `6to4`, `nat64`
    /// (inside a known NAT64 prefix), ...
    pub class: &'static str,
    /// For a destination inside a known NAT64 prefix, the IPv4 address it
    /// stands for.
    pub nat64: Option<Ipv4Addr>,
    /// Whether the destination was synthesized here, from an IPv4 literal
    /// or an A record (a DNS64 server may have sent it as well).
    pub synthesized: bool,
    /// Why it stands before the next candidate: an RFC 6724 rule, family
    /// interleaving (RFC 8305 §4), Teredo as the last resort or history.
    /// `None` for the last candidate.
    pub placed_by: Option<String>,
    /// What the connection history says of it on this network, if
    /// anything; its `Display` is "lost to IPv4 3 times on this network,
    /// last 12 s ago".
    pub history: Option<Note>,
}

/// How an attempt ended.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum AttemptOutcome {
    /// It connected and won.
    Connected,
    /// The peer refused (RST).
    Refused,
    /// No answer within the per-attempt timeout.
    TimedOut,
    /// Cancelled because another attempt connected first.
    Cancelled,
    /// Cancelled because the whole connect ran out of time.
    Abandoned,
    /// The Teredo source did not become stable in time.
    SourceNotStable(String),
    /// The network or the host is unreachable (no route, or an ICMP
    /// error), as the OS said it.
    Unreachable(String),
    /// Any other error, as the OS said it.
    Failed(String),
    /// Still running when the report was taken.
    Running,
}

impl fmt::Display for AttemptOutcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Connected => f.write_str("connected"),
            Self::Refused => f.write_str("refused"),
            Self::TimedOut => f.write_str("timed out"),
            Self::Cancelled => f.write_str("cancelled: another attempt won"),
            Self::Abandoned => f.write_str("cancelled: total timeout"),
            Self::SourceNotStable(why) => write!(f, "source not stable: {why}"),
            Self::Unreachable(why) | Self::Failed(why) => f.write_str(why),
            Self::Running => f.write_str("running"),
        }
    }
}

impl AttemptOutcome {
    /// The outcome of a connect that failed with `err`: refused,
    /// unreachable, timed out (by the kernel), or failed.
    pub(crate) fn from_io(err: &std::io::Error) -> Self {
        use std::io::ErrorKind;
        match err.kind() {
            ErrorKind::ConnectionRefused => Self::Refused,
            ErrorKind::NetworkUnreachable | ErrorKind::HostUnreachable => {
                Self::Unreachable(err.to_string())
            }
            ErrorKind::TimedOut => Self::TimedOut,
            _ => Self::Failed(err.to_string()),
        }
    }
}

/// One connection attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct AttemptReport {
    /// Where it connected to.
    pub address: SocketAddr,
    /// The source the kernel was expected to use.
    pub source: Option<IpAddr>,
    /// When it started, from the start of the call.
    pub start: Duration,
    /// When it ended.
    pub end: Option<Duration>,
    /// How long it waited for its Teredo source to become stable first.
    pub stable_wait: Option<Duration>,
    /// How it ended.
    pub outcome: AttemptOutcome,
    /// The Connection Attempt Delay after it, when history derived it
    /// from handshake times (`None`: the configured delay).
    pub history_delay: Option<(Duration, DelaySource)>,
}

/// The attempt that connected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct Winner {
    /// The peer.
    pub address: SocketAddr,
    /// The local address of the connection: the address the socket was
    /// bound to, else the source the kernel's routing chose for the peer
    /// when the host view looked it up (the choice the connect made),
    /// else what the socket says.
    pub source: Option<IpAddr>,
}

fn ms(d: Duration) -> f64 {
    (d.as_secs_f64() * 1000.0 * 10.0).round() / 10.0
}

impl fmt::Display for ConnectReport {
    /// A human account: queries, the candidate order, and the attempts
    /// drawn on a millisecond timeline.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "connect {} port {} ({})",
            self.host, self.port, self.strategy
        )?;
        fmt_plan(
            f,
            &PlanView {
                capabilities: self.capabilities.as_ref(),
                host_unavailable: self.host_unavailable.as_deref(),
                nat64: self.nat64.as_deref(),
                history: self.history.as_ref(),
                queries: &self.queries,
                candidates: &self.candidates,
                dropped: self.dropped_candidates,
            },
        )?;
        self.fmt_timeline(f)?;
        match &self.winner {
            Some(w) => {
                let from = w.source.map_or_else(String::new, |s| format!(" from {s}"));
                write!(
                    f,
                    "  connected to {}{from} in {:.1} ms",
                    w.address,
                    ms(self.total)
                )
            }
            None => write!(f, "  not connected after {:.1} ms", ms(self.total)),
        }
    }
}

impl ConnectReport {
    /// One row per attempt, with a bar from its start to its end on an
    /// axis that spans the whole call.
    fn fmt_timeline(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.attempts.is_empty() {
            return Ok(());
        }
        const WIDTH: usize = 40;
        let span = ms(self.total).max(1.0);
        let col = |d: Duration| ((ms(d) / span) * WIDTH as f64).round() as usize;
        let label_width = self
            .attempts
            .iter()
            .map(|a| a.address.to_string().len())
            .max()
            .unwrap_or(0);
        writeln!(f, "  attempts (0 to {span:.0} ms):")?;
        for a in &self.attempts {
            let start = col(a.start).min(WIDTH);
            let end = a.end.map_or(WIDTH, col).clamp(start, WIDTH);
            let mut bar = String::with_capacity(WIDTH + 2);
            bar.push_str(&" ".repeat(start));
            bar.push('[');
            bar.push_str(&"=".repeat(end.saturating_sub(start)));
            bar.push(']');
            let end_text = a
                .end
                .map_or_else(|| "-".to_owned(), |e| format!("{:.1}", ms(e)));
            let wait = a.stable_wait.map_or_else(String::new, |w| {
                format!(", waited {:.1} ms for a stable source", ms(w))
            });
            let delay = a.history_delay.map_or_else(String::new, |(d, why)| {
                format!(", next after {:.1} ms ({why})", ms(d))
            });
            writeln!(
                f,
                "   {:<label_width$}  |{bar:<width$}|  {:.1}..{end_text} ms  {}{wait}{delay}",
                a.address.to_string(),
                ms(a.start),
                a.outcome,
                width = WIDTH + 2,
            )?;
        }
        Ok(())
    }
}

/// The part of a report that a resolution has too: the host, NAT64,
/// history, the queries and the order.
pub(crate) struct PlanView<'a> {
    pub(crate) capabilities: Option<&'a HostCapabilities>,
    pub(crate) host_unavailable: Option<&'a str>,
    pub(crate) nat64: Option<&'a Nat64Report>,
    pub(crate) history: Option<&'a HistoryReport>,
    pub(crate) queries: &'a [QueryReport],
    pub(crate) candidates: &'a [CandidateReport],
    pub(crate) dropped: usize,
}

/// Writes a [`PlanView`], as reports and plans show it.
pub(crate) fn fmt_plan(f: &mut fmt::Formatter<'_>, view: &PlanView<'_>) -> fmt::Result {
    let PlanView {
        capabilities,
        host_unavailable,
        nat64,
        history,
        queries,
        candidates,
        dropped,
    } = *view;
    if let Some(c) = capabilities {
        writeln!(
            f,
            "  host: ipv4 {}, native ipv6 {}, 6to4 {}, teredo {}, teredo-only {}",
            yes(c.ipv4),
            yes(c.native_ipv6),
            yes(c.sixtofour),
            yes(c.teredo),
            yes(c.teredo_only)
        )?;
    }
    if let Some(why) = host_unavailable {
        writeln!(f, "  host: unknown: {why}")?;
    }
    if let Some(nat64) = nat64 {
        write!(f, "{nat64}")?;
    }
    for q in queries {
        if !q.sent {
            writeln!(f, "  {:<4} skipped: {}", q.rtype.to_string(), q.reason)?;
            continue;
        }
        let when = q
            .elapsed
            .map_or_else(|| "-".to_owned(), |d| format!("{:.1} ms", ms(d)));
        match &q.error {
            // Still outstanding when the report was taken.
            None if q.elapsed.is_none() => {
                writeln!(f, "  {:<4} sent, unanswered", q.rtype.to_string())?;
            }
            Some(err) => writeln!(
                f,
                "  {:<4} sent, failed after {when}: {err}",
                q.rtype.to_string()
            )?,
            None => writeln!(
                f,
                "  {:<4} sent, answered after {when}: {}",
                q.rtype.to_string(),
                list(&q.answers)
            )?,
        }
    }
    if let Some(h) = history {
        writeln!(f, "  history: {h}")?;
    }
    if !candidates.is_empty() {
        writeln!(f, "  order:")?;
    }
    for (i, c) in candidates.iter().enumerate() {
        let source = c
            .source
            .map_or_else(|| "no route".to_owned(), |s| s.to_string());
        let stands_for = match (c.nat64, c.synthesized) {
            (Some(v4), true) => format!(" for {v4}, synthesized"),
            (Some(v4), false) => format!(" for {v4}"),
            (None, _) => String::new(),
        };
        write!(
            f,
            "   {:>2}. {} ({}{stands_for}) from {}",
            i + 1,
            c.address,
            c.class,
            source
        )?;
        if let Some(why) = &c.placed_by {
            write!(f, "  [before next: {why}]")?;
        }
        writeln!(f)?;
        if let Some(note) = &c.history {
            writeln!(f, "       history: {note}")?;
        }
    }
    if dropped > 0 {
        writeln!(f, "  ({dropped} more addresses dropped by the cap)")?;
    }
    Ok(())
}

fn yes(b: bool) -> &'static str {
    if b { "yes" } else { "no" }
}

fn list(addrs: &[IpAddr]) -> String {
    if addrs.is_empty() {
        return "no addresses".to_owned();
    }
    addrs
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

impl From<ConnectReport> for Plan {
    /// The planning part of a report: for a failed resolution, whose
    /// error carries a report.
    fn from(report: ConnectReport) -> Self {
        Self {
            host: report.host,
            capabilities: report.capabilities,
            host_unavailable: report.host_unavailable,
            nat64: report.nat64,
            queries: report.queries,
            candidates: report.candidates,
            dropped_candidates: report.dropped_candidates,
            history: report.history,
            order: Vec::new(),
        }
    }
}

/// What a connect did, recorded as it happened: the driver appends
/// events, which go straight into the report's queries and attempts; the
/// report (or a resolution's plan) is completed from them and from the
/// race in one place, [`Log::report`] / [`Log::plan`].
#[derive(Debug)]
pub(crate) struct Log {
    pub(crate) host: String,
    pub(crate) port: u16,
    pub(crate) strategy: Strategy,
    pub(crate) capabilities: Option<HostCapabilities>,
    pub(crate) host_unavailable: Option<String>,
    /// One entry per query decision, with its answer once it came.
    pub(crate) queries: Vec<QueryReport>,
    /// The attempts, in start order.
    pub(crate) attempts: Vec<AttemptReport>,
    pub(crate) winner: Option<Winner>,
    /// Addresses of oversized answers never handed to the race.
    pub(crate) dropped_early: usize,
    /// How the connection history was used.
    pub(crate) history: Option<HistoryReport>,
    /// What the connect knew and did about NAT64, when it mattered.
    pub(crate) nat64: Option<Arc<Nat64Plan>>,
    /// The destinations synthesized from IPv4 ones.
    pub(crate) synthesized: Vec<Ipv6Addr>,
}

/// An attempt that ended, as [`Log::ended_attempts`] lists it.
pub(crate) struct Ended<'a> {
    pub(crate) index: usize,
    pub(crate) start: Duration,
    pub(crate) end: Duration,
    pub(crate) stable_wait: Option<Duration>,
    pub(crate) outcome: &'a AttemptOutcome,
}

/// One thing that happened during a connect.
#[derive(Debug)]
pub(crate) enum Event {
    /// A query was decided on: sent or skipped, and why.
    Query {
        rtype: RecordType,
        sent: bool,
        reason: Cow<'static, str>,
    },
    /// A query answered (its addresses) or failed (the error).
    Answer {
        rtype: RecordType,
        at: Duration,
        result: Result<Vec<IpAddr>, ResolveError>,
    },
    /// An attempt started.
    Start {
        address: SocketAddr,
        source: Option<IpAddr>,
        at: Duration,
    },
    /// Attempt number `index` (in start order) ended.
    End {
        index: usize,
        at: Duration,
        outcome: AttemptOutcome,
        stable_wait: Option<Duration>,
    },
    /// Attempt number `index` won; the connection's local address.
    Won { index: usize, local: Option<IpAddr> },
}

impl Log {
    pub(crate) fn new(host: &str, port: u16, strategy: Strategy) -> Self {
        Self {
            host: host.to_owned(),
            port,
            strategy,
            capabilities: None,
            host_unavailable: None,
            // Filled as the connect goes (a connect to an address records
            // its attempt at the end, in one go).
            queries: Vec::new(),
            attempts: Vec::new(),
            winner: None,
            dropped_early: 0,
            history: None,
            nat64: None,
            synthesized: Vec::new(),
        }
    }

    /// A log with nothing in it, left behind when a log moves on.
    pub(crate) fn empty() -> Self {
        Self {
            host: String::new(),
            port: 0,
            strategy: Strategy::Race,
            capabilities: None,
            host_unavailable: None,
            queries: Vec::new(),
            attempts: Vec::new(),
            winner: None,
            dropped_early: 0,
            history: None,
            nat64: None,
            synthesized: Vec::new(),
        }
    }

    pub(crate) fn push(&mut self, event: Event) {
        match event {
            Event::Query {
                rtype,
                sent,
                reason,
            } => self.queries.push(QueryReport {
                rtype,
                sent,
                reason,
                answers: Vec::new(),
                elapsed: None,
                error: None,
            }),
            Event::Answer { rtype, at, result } => {
                if let Some(q) = self.queries.iter_mut().find(|q| q.rtype == rtype) {
                    q.elapsed = Some(at);
                    // Kept as it came (an error is put in words only when
                    // the report is shown).
                    match result {
                        Ok(addrs) => q.answers = addrs,
                        Err(e) => q.error = Some(e),
                    }
                }
            }
            Event::Start {
                address,
                source,
                at,
            } => self.attempts.push(AttemptReport {
                address,
                source,
                start: at,
                end: None,
                stable_wait: None,
                outcome: AttemptOutcome::Running,
                history_delay: None,
            }),
            Event::End {
                index,
                at,
                outcome,
                stable_wait,
            } => {
                if let Some(a) = self.attempts.get_mut(index) {
                    a.end = Some(at);
                    a.outcome = outcome;
                    a.stable_wait = a.stable_wait.or(stable_wait);
                }
            }
            Event::Won { index, local } => {
                if let Some(a) = self.attempts.get(index) {
                    self.winner = Some(Winner {
                        address: a.address,
                        source: local,
                    });
                }
            }
        }
    }

    /// The attempts that ended, with their start and end.
    pub(crate) fn ended_attempts(&self) -> impl Iterator<Item = Ended<'_>> {
        self.attempts.iter().enumerate().filter_map(|(index, a)| {
            Some(Ended {
                index,
                start: a.start,
                end: a.end?,
                stable_wait: a.stable_wait,
                outcome: &a.outcome,
            })
        })
    }

    /// The addresses the `rtype` query's answer brought.
    pub(crate) fn answer(&self, rtype: RecordType) -> &[IpAddr] {
        self.queries
            .iter()
            .find(|q| q.rtype == rtype)
            .map_or(&[], |q| &q.answers)
    }

    /// The candidates in order, each with what placed it before the next
    /// and what history says of it.
    fn candidates(
        order: &[Candidate],
        placed: &[Placement],
        advice: Option<&Advice>,
    ) -> Vec<CandidateReport> {
        order
            .iter()
            .enumerate()
            .map(|(i, c)| CandidateReport {
                address: c.dest.addr,
                source: c.dest.source.map(|s| s.addr),
                class: teredo_addr::classify(c.dest.addr).name(),
                nat64: None,
                synthesized: false,
                placed_by: placed.get(i).map(ToString::to_string),
                history: advice.and_then(|a| a.note(c.dest.addr)).copied(),
            })
            .collect()
    }

    /// Marks the candidates that NAT64 reaches (see [`crate::nat64`]).
    fn annotate(&self, candidates: &mut [CandidateReport]) {
        if let Some(nat64) = &self.nat64 {
            for c in candidates {
                nat64.annotate(c, &self.synthesized);
            }
        }
    }

    /// The report of a connect, from these events and the race.
    pub(crate) fn report(self, race: Option<&Race>, total: Duration) -> ConnectReport {
        let (mut candidates, dropped) = race.map_or_else(Default::default, |race| {
            (
                Self::candidates(race.order(), &race.placements(), race.advice()),
                race.dropped(),
            )
        });
        self.annotate(&mut candidates);
        let mut report = self.finish(candidates, dropped, total);
        if let Some(race) = race.filter(|r| r.advice().is_some()) {
            // The delay after an attempt mattered only if another followed.
            let followed = report.attempts.len().saturating_sub(1);
            for (i, attempt) in report.attempts.iter_mut().take(followed).enumerate() {
                let (delay, source) = race.attempt_delay_after(i);
                if source != DelaySource::Configured {
                    attempt.history_delay = Some((delay, source));
                }
            }
        }
        report
    }

    /// The report of a connect that had one candidate and no race, with
    /// what history says of it (a name's).
    pub(crate) fn report_one(
        self,
        candidate: &Candidate,
        note: Option<Note>,
        total: Duration,
    ) -> ConnectReport {
        let mut candidates = Self::candidates(std::slice::from_ref(candidate), &[], None);
        if let Some(c) = candidates.first_mut() {
            c.history = note;
        }
        self.annotate(&mut candidates);
        self.finish(candidates, 0, total)
    }

    fn finish(
        self,
        candidates: Vec<CandidateReport>,
        dropped: usize,
        total: Duration,
    ) -> ConnectReport {
        ConnectReport {
            host: self.host,
            port: self.port,
            strategy: self.strategy,
            capabilities: self.capabilities,
            host_unavailable: self.host_unavailable,
            nat64: self.nat64.map(|n| Box::new(n.report.clone())),
            queries: self.queries,
            candidates,
            dropped_candidates: dropped + self.dropped_early,
            history: self.history,
            attempts: self.attempts,
            winner: self.winner,
            total,
        }
    }

    /// The plan of a resolution, from these events and the planner that
    /// ordered its answers.
    pub(crate) fn plan(self, planner: &Planner, policy: &Policy, advice: Option<&Advice>) -> Plan {
        let mut candidates = Self::candidates(
            &planner.order,
            &planner.placements(policy, 0, advice),
            advice,
        );
        self.annotate(&mut candidates);
        let dropped = planner.dropped();
        Plan {
            host: self.host,
            capabilities: self.capabilities,
            host_unavailable: self.host_unavailable,
            nat64: self.nat64.map(|n| Box::new(n.report.clone())),
            queries: self.queries,
            candidates,
            dropped_candidates: dropped + self.dropped_early,
            history: self.history,
            order: planner.order.clone(),
        }
    }
}

#[cfg(feature = "serde")]
mod serde_impl {
    //! The JSON shape of a report and of a plan: addresses as plain IP
    //! strings, times as milliseconds.

    use serde::ser::{Serialize, SerializeMap, Serializer};

    use super::{CandidateReport, ConnectReport, HistoryReport, HostCapabilities, QueryReport, ms};
    use crate::Plan;
    use crate::nat64::Nat64Report;

    fn nat64(report: &Nat64Report) -> Nat64<'_> {
        Nat64 {
            prefixes: report
                .prefixes
                .iter()
                .map(|p| Prefix {
                    prefix: p.prefix.to_string(),
                    source: p.source.name(),
                    detail: p.source.to_string(),
                })
                .collect(),
            synthesis: report.synthesis.map(|p| p.to_string()),
            reason: &report.reason,
            discovery: report.discovery.as_deref(),
            ignored: &report.ignored,
        }
    }

    #[derive(serde::Serialize)]
    struct Nat64<'a> {
        prefixes: Vec<Prefix>,
        synthesis: Option<String>,
        reason: &'a str,
        discovery: Option<&'a str>,
        ignored: &'a [String],
    }

    #[derive(serde::Serialize)]
    struct Prefix {
        prefix: String,
        source: &'static str,
        detail: String,
    }

    fn capabilities(c: &HostCapabilities) -> std::collections::BTreeMap<&'static str, bool> {
        [
            ("ipv4", c.ipv4),
            ("native_ipv6", c.native_ipv6),
            ("sixtofour", c.sixtofour),
            ("teredo", c.teredo),
            ("teredo_only", c.teredo_only),
        ]
        .into_iter()
        .collect()
    }

    fn queries(queries: &[QueryReport]) -> Vec<Query<'_>> {
        queries
            .iter()
            .map(|q| Query {
                rtype: q.rtype.to_string(),
                sent: q.sent,
                reason: &q.reason,
                answers: q.answers.iter().map(ToString::to_string).collect(),
                ms: q.elapsed.map(ms),
                error: q.error.as_ref().map(ToString::to_string),
            })
            .collect()
    }

    fn candidates(candidates: &[CandidateReport]) -> Vec<Candidate<'_>> {
        candidates
            .iter()
            .map(|c| Candidate {
                address: c.address.to_string(),
                source: c.source.map(|s| s.to_string()),
                class: c.class,
                nat64: c.nat64.map(|v4| v4.to_string()),
                synthesized: c.synthesized,
                rule: c.placed_by.as_deref(),
                history: c.history.map(|n| n.to_string()),
            })
            .collect()
    }

    fn history(h: &HistoryReport) -> History {
        History {
            network: h.network.to_string(),
            partitioned: h.partitioned,
            ignored: h.ignored,
            demoted_family: h.demoted_family.map(|f| f.to_string()),
        }
    }

    impl Serialize for ConnectReport {
        fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
            let mut m = s.serialize_map(None)?;
            m.serialize_entry("host", &self.host)?;
            m.serialize_entry("port", &self.port)?;
            m.serialize_entry("strategy", &self.strategy.to_string())?;
            if let Some(c) = &self.capabilities {
                m.serialize_entry("capabilities", &capabilities(c))?;
            }
            if let Some(why) = &self.host_unavailable {
                m.serialize_entry("host_unavailable", why)?;
            }
            if let Some(n) = &self.nat64 {
                m.serialize_entry("nat64", &nat64(n))?;
            }
            m.serialize_entry("queries", &queries(&self.queries))?;
            m.serialize_entry("candidates", &candidates(&self.candidates))?;
            if let Some(h) = &self.history {
                m.serialize_entry("history", &history(h))?;
            }
            let attempts: Vec<_> = self
                .attempts
                .iter()
                .map(|a| Attempt {
                    address: a.address.ip().to_string(),
                    port: a.address.port(),
                    source: a.source.map(|s| s.to_string()),
                    start_ms: ms(a.start),
                    end_ms: a.end.map(ms),
                    stable_wait_ms: a.stable_wait.map(ms),
                    outcome: a.outcome.to_string(),
                    history_delay_ms: a.history_delay.map(|(d, _)| ms(d)),
                    history_delay_reason: a.history_delay.map(|(_, why)| why.to_string()),
                })
                .collect();
            m.serialize_entry("attempts", &attempts)?;
            let winner = self.winner.map(|w| Winner {
                address: w.address.ip().to_string(),
                source: w.source.map(|s| s.to_string()),
            });
            m.serialize_entry("winner", &winner)?;
            m.serialize_entry("total_ms", &ms(self.total))?;
            m.end()
        }
    }

    impl Serialize for Plan {
        /// `{"name", "capabilities", "queries", "order"}`: what
        /// `happy-connect resolve --json` prints.
        fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
            let mut m = s.serialize_map(None)?;
            m.serialize_entry("name", &self.host)?;
            if let Some(c) = &self.capabilities {
                m.serialize_entry("capabilities", &capabilities(c))?;
            }
            if let Some(why) = &self.host_unavailable {
                m.serialize_entry("host_unavailable", why)?;
            }
            if let Some(n) = &self.nat64 {
                m.serialize_entry("nat64", &nat64(n))?;
            }
            m.serialize_entry("queries", &queries(&self.queries))?;
            m.serialize_entry("order", &candidates(&self.candidates))?;
            if let Some(h) = &self.history {
                m.serialize_entry("history", &history(h))?;
            }
            if self.dropped_candidates > 0 {
                m.serialize_entry("dropped_candidates", &self.dropped_candidates)?;
            }
            m.end()
        }
    }

    #[derive(serde::Serialize)]
    struct Query<'a> {
        #[serde(rename = "type")]
        rtype: String,
        sent: bool,
        reason: &'a str,
        answers: Vec<String>,
        ms: Option<f64>,
        error: Option<String>,
    }

    #[derive(serde::Serialize)]
    struct Candidate<'a> {
        address: String,
        source: Option<String>,
        class: &'a str,
        #[serde(skip_serializing_if = "Option::is_none")]
        nat64: Option<String>,
        #[serde(skip_serializing_if = "std::ops::Not::not")]
        synthesized: bool,
        rule: Option<&'a str>,
        #[serde(skip_serializing_if = "Option::is_none")]
        history: Option<String>,
    }

    #[derive(serde::Serialize)]
    struct History {
        network: String,
        partitioned: bool,
        ignored: bool,
        demoted_family: Option<String>,
    }

    #[derive(serde::Serialize)]
    struct Attempt {
        address: String,
        port: u16,
        source: Option<String>,
        start_ms: f64,
        end_ms: Option<f64>,
        stable_wait_ms: Option<f64>,
        outcome: String,
        #[serde(skip_serializing_if = "Option::is_none")]
        history_delay_ms: Option<f64>,
        #[serde(skip_serializing_if = "Option::is_none")]
        history_delay_reason: Option<String>,
    }

    #[derive(serde::Serialize)]
    struct Winner {
        address: String,
        source: Option<String>,
    }
}
