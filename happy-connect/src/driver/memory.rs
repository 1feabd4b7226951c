//! A connect's use of the connection history: what it reads when it
//! begins, and what it records of its attempts when it ends.

use std::net::IpAddr;
use std::time::Duration;

use crate::connector::Connector;
use crate::history::{Advice, Partition, Past};
use crate::race::{AttemptId, Candidate, Family, Race};
use crate::report::{AttemptOutcome, Ended, HistoryReport, Log};

/// A connect's use of the connection history: the partition it reads
/// and feeds (this network, the connector's key), and whether this
/// connect ignores what it says.
pub(super) struct Memory<'a> {
    partition: Partition<'a>,
    ignored: bool,
}

impl<'a> Memory<'a> {
    /// The history of a connect to a name, when history is on and the
    /// host view knows which network this is, with the families' advice
    /// (read once, when the connect begins) unless this connect ignores
    /// history; records the decision in `log`. The connect began `since`
    /// ago: its outcomes are stamped from its start.
    pub(super) fn open(
        connector: &'a Connector,
        snapshot: Option<&iface_probe::Snapshot>,
        network: iface_probe::NetworkId,
        log: &mut Log,
        since: Duration,
    ) -> Option<(Self, Option<Advice>)> {
        let history = connector.history()?;
        snapshot?;
        let partition = history.partition_since(network, connector.history_key(), since);
        let ignored = partition.ignored();
        let advice = (!ignored).then(|| partition.advice());
        log.history = Some(HistoryReport {
            network,
            partitioned: connector.history_key().is_some(),
            ignored,
            demoted_family: advice.as_ref().and_then(Advice::demoted_family),
        });
        Some((Self { partition, ignored }, advice))
    }

    /// The notes of these candidates' addresses, unless ignored.
    pub(super) fn notes<'c>(
        &'c self,
        candidates: &'c [Candidate],
    ) -> impl Iterator<Item = (IpAddr, crate::history::Note)> + 'c {
        candidates
            .iter()
            .filter(|_| !self.ignored)
            .filter_map(|c| Some((c.dest.addr, self.partition.note(c.dest.addr)?)))
    }

    /// Remembers what the attempts of a finished race say of their paths;
    /// `now` is when it finished, from the connect's start.
    pub(super) fn remember(
        &self,
        race: &Race,
        log: &Log,
        winner: Option<AttemptId>,
        now: Duration,
    ) {
        let winner_family = winner
            .and_then(|id| race.order().get(id.0 as usize))
            .map(Candidate::family);
        for attempt in log.ended_attempts() {
            let Some(candidate) = race.order().get(attempt.index) else {
                continue;
            };
            let delay = race.attempt_delay_after(attempt.index).0;
            if let Some(past) = past(&attempt, delay, winner_family) {
                self.partition
                    .record(candidate.dest.addr, past, attempt.end, now, race.advice());
            }
        }
    }

    /// Remembers what the one attempt of a connect without a race says of
    /// its path: as [`Memory::remember`] would of a race with one
    /// candidate, whose advice was `advice`.
    pub(super) fn remember_one(
        &self,
        addr: IpAddr,
        log: &Log,
        advice: Option<&Advice>,
        configured: Duration,
    ) {
        let delay = advice.map_or(configured, |a| a.attempt_delay(addr, configured).0);
        let winner_family = log.winner.is_some().then(|| Family::of(addr));
        for attempt in log.ended_attempts() {
            if let Some(past) = past(&attempt, delay, winner_family) {
                self.partition
                    .record(addr, past, attempt.end, attempt.end, advice);
            }
        }
    }
}

/// What an ended attempt says of its path, if anything: `delay` is the
/// Connection Attempt Delay after it, `winner_family` the family of the
/// attempt that won, if one did.
fn past(attempt: &Ended<'_>, delay: Duration, winner_family: Option<Family>) -> Option<Past> {
    let ran = attempt
        .end
        .saturating_sub(attempt.start)
        .saturating_sub(attempt.stable_wait.unwrap_or_default());
    let waited_out = ran >= delay;
    Some(match attempt.outcome {
        AttemptOutcome::Connected => Past::Connected { handshake: ran },
        AttemptOutcome::Refused => Past::Refused,
        AttemptOutcome::Unreachable(_) => Past::Unreachable,
        AttemptOutcome::TimedOut => Past::TimedOut,
        AttemptOutcome::Abandoned if waited_out => Past::TimedOut,
        AttemptOutcome::Cancelled if waited_out => Past::Lost { to: winner_family? },
        // Cancelled early, a source that was not stable, or an error that
        // says nothing of the path (no descriptor left, ...): nothing
        // learned.
        _ => return None,
    })
}
