//! What is remembered of one destination (or of one family) on one
//! network, and what it says at a given moment: the pure half of history.

use std::fmt;
use std::time::Duration;

use crate::race::Family;

/// How one attempt ended, as history keeps it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Past {
    /// It connected; the handshake took this long.
    Connected {
        /// From the attempt's start to the connection.
        handshake: Duration,
    },
    /// The peer refused (RST).
    Refused,
    /// The network or host was unreachable (an ICMP error, no route).
    Unreachable,
    /// No answer within the attempt timeout.
    TimedOut,
    /// Abandoned without connecting: another attempt won after this one
    /// had waited out the Connection Attempt Delay. It says the path is
    /// slower than the winner's, or broken.
    Lost {
        /// The family of the attempt that won.
        to: Family,
    },
}

impl Past {
    /// Whether the outcome counts against the destination.
    pub fn is_failure(self) -> bool {
        !matches!(self, Self::Connected { .. })
    }

    fn code(self) -> u8 {
        match self {
            Self::Connected { .. } => 0,
            Self::Refused => 1,
            Self::Unreachable => 2,
            Self::TimedOut => 3,
            Self::Lost { to: Family::V4 } => 4,
            Self::Lost { to: Family::V6 } => 5,
        }
    }

    fn name(self) -> &'static str {
        match self {
            Self::Connected { .. } => "connected",
            Self::Refused => "refused",
            Self::Unreachable => "unreachable",
            Self::TimedOut => "timed out",
            Self::Lost { .. } => "lost",
        }
    }
}

impl fmt::Display for Past {
    /// `connected in 1.2 ms`, `refused`, `lost to IPv4`, ...
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Connected { handshake } => write!(f, "connected in {}", Ms(*handshake)),
            Self::Lost { to } => write!(f, "lost to {to}"),
            other => f.write_str(other.name()),
        }
    }
}

/// One remembered outcome, packed: when (milliseconds since the Unix
/// epoch), what, and the handshake time in microseconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct Record {
    pub(crate) at_ms: u64,
    handshake_us: u32,
    /// [`Past::code`] + 1; 0 for an empty slot.
    kind: u8,
}

impl Record {
    pub(crate) fn new(past: Past, at_ms: u64) -> Self {
        let handshake_us = match past {
            Past::Connected { handshake } => {
                u32::try_from(handshake.as_micros()).unwrap_or(u32::MAX)
            }
            _ => 0,
        };
        Self {
            at_ms,
            handshake_us,
            kind: past.code() + 1,
        }
    }

    pub(crate) fn past(self) -> Option<Past> {
        Some(match self.kind {
            1 => Past::Connected {
                handshake: Duration::from_micros(u64::from(self.handshake_us)),
            },
            2 => Past::Refused,
            3 => Past::Unreachable,
            4 => Past::TimedOut,
            5 => Past::Lost { to: Family::V4 },
            6 => Past::Lost { to: Family::V6 },
            _ => return None,
        })
    }
}

/// How many outcomes are kept per destination: the most recent ones.
pub(crate) const KEPT: usize = 4;

/// How far after now an outcome may be stamped and still count, as just
/// now (milliseconds): one minute, for clocks that disagree a little. An
/// outcome stamped later than that says nothing that can be trusted (the
/// wall clock stepped back since, or a file was edited): it is ignored,
/// and forgotten when its entry is next written or purged.
pub(crate) const SKEW_MS: u64 = 60_000;

impl Record {
    /// Whether it is stamped more than [`SKEW_MS`] after `now_ms`.
    pub(crate) fn is_future(self, now_ms: u64) -> bool {
        self.at_ms > now_ms.saturating_add(SKEW_MS)
    }
}

/// The recent outcomes of one destination, oldest first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct Records {
    slots: [Record; KEPT],
}

impl Records {
    /// Adds an outcome, at `now_ms`, forgetting the oldest when full.
    /// Outcomes are kept in time order even when they are added out of it
    /// (an import). Those stamped in the future ([`Record::is_future`])
    /// are forgotten first, and such an outcome is not added.
    pub(crate) fn push(&mut self, record: Record, now_ms: u64) {
        self.forget_future(now_ms);
        if record.is_future(now_ms) {
            return;
        }
        let len = self.len();
        if len == KEPT {
            if record.at_ms < self.slots[0].at_ms {
                return;
            }
            self.slots.copy_within(1.., 0);
            self.slots[KEPT - 1] = record;
        } else {
            self.slots[len] = record;
        }
        let len = self.len();
        self.slots[..len].sort_by_key(|r| r.at_ms);
    }

    /// Forgets the outcomes stamped in the future at `now_ms`
    /// ([`Record::is_future`]).
    pub(crate) fn forget_future(&mut self, now_ms: u64) {
        let mut kept = 0;
        for record in self.slots {
            if record.kind != 0 && !record.is_future(now_ms) {
                self.slots[kept] = record;
                kept += 1;
            }
        }
        self.slots[kept..].fill(Record::default());
    }

    /// Whether this very outcome (what and when) is kept.
    pub(crate) fn contains(&self, record: Record) -> bool {
        self.slots.contains(&record)
    }

    pub(crate) fn len(&self) -> usize {
        self.slots.iter().take_while(|r| r.kind != 0).count()
    }

    #[cfg(any(test, feature = "serde"))]
    pub(crate) fn iter(&self) -> impl Iterator<Item = (u64, Past)> + '_ {
        self.slots
            .iter()
            .filter_map(|r| r.past().map(|p| (r.at_ms, p)))
    }

    /// The most recent outcome at `now_ms`, with its time: outcomes
    /// stamped in the future ([`Record::is_future`]) do not count.
    pub(crate) fn latest(&self, now_ms: u64) -> Option<(u64, Past)> {
        self.slots
            .iter()
            .filter(|r| !r.is_future(now_ms))
            .filter_map(|r| r.past().map(|p| (r.at_ms, p)))
            .max_by_key(|(at, _)| *at)
    }

    /// What the outcomes recorded since `now_ms - ttl_ms` say at `now_ms`;
    /// `None` when none is that recent. An outcome stamped a little after
    /// `now_ms` (up to [`SKEW_MS`]) counts as just now; one stamped later
    /// does not count.
    pub(crate) fn note(&self, now_ms: u64, ttl_ms: u64) -> Option<Note> {
        let mut note = Note::default();
        // Summed in nanoseconds: the mean is what dividing the Durations'
        // sum would give, without their checked arithmetic.
        let mut handshakes_ns = 0_u64;
        let mut last: Option<(u64, Past)> = None;
        for record in &self.slots {
            let Some(past) = record.past() else { continue };
            let at = record.at_ms;
            if now_ms.saturating_sub(at) >= ttl_ms || record.is_future(now_ms) {
                continue;
            }
            match past {
                Past::Connected { .. } => {
                    note.connected += 1;
                    handshakes_ns += u64::from(record.handshake_us) * 1_000;
                }
                Past::Refused => note.refused += 1,
                Past::Unreachable => note.unreachable += 1,
                Past::TimedOut => note.timed_out += 1,
                Past::Lost { to } => {
                    note.lost += 1;
                    note.lost_to = Some(to);
                }
            }
            if last.is_none_or(|(t, _)| at >= t) {
                last = Some((at, past));
            }
        }
        let (at, past) = last?;
        note.last = past;
        note.age = Duration::from_millis(now_ms.saturating_sub(at));
        if note.connected > 0 {
            note.handshake = Some(Duration::from_nanos(
                handshakes_ns / u64::from(note.connected),
            ));
        }
        Some(note)
    }
}

/// What history says of one destination (or one family) on this network
/// now: the outcomes within the time to live, counted, the latest one,
/// and the mean handshake time of the connections.
///
/// Its [`Display`](fmt::Display) is the note a report gives a candidate:
///
/// ```
/// use std::time::Duration;
/// use happy_connect::history::{Note, Past};
/// use happy_connect::race::Family;
///
/// let mut note = Note::default();
/// note.lost = 3;
/// note.lost_to = Some(Family::V4);
/// note.last = Past::Lost { to: Family::V4 };
/// note.age = Duration::from_secs(12);
/// assert!(note.demoted());
/// assert_eq!(note.to_string(), "lost to IPv4 3 times on this network, last 12 s ago");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct Note {
    /// Connections.
    pub connected: u16,
    /// Refusals.
    pub refused: u16,
    /// Unreachable errors.
    pub unreachable: u16,
    /// Attempt timeouts.
    pub timed_out: u16,
    /// Attempts abandoned after the attempt delay because another won.
    pub lost: u16,
    /// The family of the winner, the last time this one lost.
    pub lost_to: Option<Family>,
    /// The latest outcome.
    pub last: Past,
    /// How long ago the latest outcome was.
    pub age: Duration,
    /// The mean handshake time of the connections, if any.
    pub handshake: Option<Duration>,
}

impl Default for Note {
    fn default() -> Self {
        Self {
            connected: 0,
            refused: 0,
            unreachable: 0,
            timed_out: 0,
            lost: 0,
            lost_to: None,
            last: Past::Refused,
            age: Duration::ZERO,
            handshake: None,
        }
    }
}

impl Note {
    /// Whether the destination goes after those that did not fail: its
    /// latest outcome on this network is a failure or a loss.
    pub fn demoted(&self) -> bool {
        self.last.is_failure()
    }

    /// For a family's note: whether every recent attempt of the family
    /// failed or lost (none connected).
    pub fn all_failed(&self) -> bool {
        self.connected == 0
    }

    fn count(&self, past: Past) -> u16 {
        match past {
            Past::Connected { .. } => self.connected,
            Past::Refused => self.refused,
            Past::Unreachable => self.unreachable,
            Past::TimedOut => self.timed_out,
            Past::Lost { .. } => self.lost,
        }
    }
}

impl fmt::Display for Note {
    /// `lost to IPv4 3 times on this network, last 12 s ago`, `connected
    /// 5 times on this network (handshake 1.2 ms), last 2 s ago`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.last {
            Past::Lost { to } => write!(f, "lost to {to} ")?,
            other => write!(f, "{} ", other.name())?,
        }
        match self.count(self.last) {
            1 => f.write_str("once")?,
            n => write!(f, "{n} times")?,
        }
        f.write_str(" on this network")?;
        if let (Past::Connected { .. }, Some(h)) = (self.last, self.handshake) {
            write!(f, " (handshake {:.1} ms)", h.as_secs_f64() * 1000.0)?;
        }
        f.write_str(", last ")?;
        let s = self.age.as_secs();
        if s < 1 {
            write!(f, "{} ms ago", self.age.as_millis())
        } else if s < 120 {
            write!(f, "{s} s ago")
        } else {
            write!(f, "{} min ago", s / 60)
        }
    }
}

/// Milliseconds with one decimal: `1.2 ms`.
struct Ms(Duration);

impl fmt::Display for Ms {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:.1} ms", self.0.as_secs_f64() * 1000.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TTL: u64 = 600_000;

    fn records(outcomes: &[(u64, Past)]) -> Records {
        let mut r = Records::default();
        for (at, past) in outcomes {
            r.push(Record::new(*past, *at), *at);
        }
        r
    }

    #[test]
    fn a_record_keeps_every_outcome() {
        for past in [
            Past::Connected {
                handshake: Duration::from_micros(1234),
            },
            Past::Refused,
            Past::Unreachable,
            Past::TimedOut,
            Past::Lost { to: Family::V4 },
            Past::Lost { to: Family::V6 },
        ] {
            assert_eq!(Record::new(past, 7).past(), Some(past));
        }
        assert_eq!(Record::default().past(), None);
        // A handshake too long for the record is capped, not wrapped.
        let long = Record::new(
            Past::Connected {
                handshake: Duration::from_secs(1 << 40),
            },
            0,
        );
        assert_eq!(
            long.past(),
            Some(Past::Connected {
                handshake: Duration::from_micros(u64::from(u32::MAX))
            })
        );
    }

    #[test]
    fn the_most_recent_outcomes_are_kept_in_time_order() {
        let r = records(&[
            (10, Past::Refused),
            (20, Past::TimedOut),
            (5, Past::Unreachable),
            (30, Past::Lost { to: Family::V4 }),
            (40, Past::Refused),
        ]);
        let times: Vec<u64> = r.iter().map(|(at, _)| at).collect();
        assert_eq!(times, [10, 20, 30, 40], "the oldest (5) goes first");
        // Older than all four kept: not kept.
        let mut r2 = r;
        r2.push(Record::new(Past::TimedOut, 1), 40);
        assert_eq!(r2, r);
        assert_eq!(r.latest(40), Some((40, Past::Refused)));
    }

    #[test]
    fn a_note_counts_what_is_within_the_time_to_live() {
        let now = 1_000_000;
        let r = records(&[
            (
                now - TTL - 1,
                Past::Connected {
                    handshake: Duration::from_millis(9),
                },
            ),
            (now - 30_000, Past::Lost { to: Family::V4 }),
            (now - 12_000, Past::Lost { to: Family::V4 }),
        ]);
        let note = r.note(now, TTL).unwrap();
        assert_eq!(note.connected, 0, "expired");
        assert_eq!(note.lost, 2);
        assert_eq!(note.lost_to, Some(Family::V4));
        assert_eq!(note.age, Duration::from_secs(12));
        assert!(note.demoted());
        assert!(note.all_failed());
        assert_eq!(note.handshake, None);
        assert_eq!(
            note.to_string(),
            "lost to IPv4 2 times on this network, last 12 s ago"
        );
        // Everything expired: nothing to say.
        assert_eq!(r.note(now + TTL, TTL), None);
    }

    /// The mean handshake is exact to the nanosecond, whatever the
    /// microseconds kept: (1 µs + 2 µs) / 2 is 1.5 µs; an expired
    /// connection does not count.
    #[test]
    fn the_mean_handshake_is_the_connections_mean() {
        let now = 1_000_000;
        let connected = |us| Past::Connected {
            handshake: Duration::from_micros(us),
        };
        let r = records(&[
            (now - TTL, connected(1_000_000)),
            (now - 3, connected(1)),
            (now - 2, Past::Refused),
            (now - 1, connected(2)),
        ]);
        let note = r.note(now, TTL).unwrap();
        assert_eq!(note.connected, 2);
        assert_eq!(note.refused, 1);
        assert_eq!(note.handshake, Some(Duration::from_nanos(1_500)));
        assert_eq!(note.last, connected(2));
        assert_eq!(note.age, Duration::from_millis(1));
    }

    #[test]
    fn a_connection_after_failures_lifts_the_demotion() {
        let now = 1_000_000;
        let r = records(&[
            (now - 3000, Past::TimedOut),
            (
                now - 2000,
                Past::Connected {
                    handshake: Duration::from_millis(2),
                },
            ),
            (
                now - 1000,
                Past::Connected {
                    handshake: Duration::from_millis(4),
                },
            ),
        ]);
        let note = r.note(now, TTL).unwrap();
        assert!(!note.demoted());
        assert!(!note.all_failed());
        assert_eq!(note.handshake, Some(Duration::from_millis(3)));
        assert_eq!(
            note.to_string(),
            "connected 2 times on this network (handshake 3.0 ms), last 1 s ago"
        );
        let once = records(&[(now - 500, Past::Refused)])
            .note(now, TTL)
            .unwrap();
        assert_eq!(
            once.to_string(),
            "refused once on this network, last 500 ms ago"
        );
        let old = records(&[(now - 300_000, Past::TimedOut)])
            .note(now, TTL)
            .unwrap();
        assert_eq!(
            old.to_string(),
            "timed out once on this network, last 5 min ago"
        );
    }

    #[test]
    fn a_clock_that_went_back_makes_outcomes_recent_not_broken() {
        let r = records(&[(5_000, Past::Unreachable)]);
        let note = r.note(1_000, TTL).unwrap();
        assert_eq!(note.age, Duration::ZERO);
        assert!(note.demoted());
        // Up to a minute ahead counts as just now; further does not.
        let r = records(&[(1_000 + SKEW_MS, Past::Unreachable)]);
        assert_eq!(r.note(1_000, TTL).unwrap().age, Duration::ZERO);
        assert_eq!(r.note(999, TTL), None);
        assert_eq!(r.latest(999), None);
    }

    /// Four outcomes stamped far ahead do not keep a newer one out: they
    /// make room for it, whatever its time.
    #[test]
    fn outcomes_stamped_in_the_future_make_room() {
        let far = u64::MAX - 10;
        let mut r = records(&[
            (far, Past::TimedOut),
            (far + 1, Past::TimedOut),
            (far + 2, Past::TimedOut),
            (far + 3, Past::TimedOut),
        ]);
        let now = 1_000_000;
        r.push(Record::new(Past::Refused, now), now);
        assert_eq!(r.iter().collect::<Vec<_>>(), [(now, Past::Refused)]);
        // A future outcome is not added at all.
        r.push(Record::new(Past::TimedOut, far), now);
        assert_eq!(r.len(), 1);
    }
}
