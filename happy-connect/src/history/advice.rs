//! What history tells one connect, as the pure planner and race use it.

use std::fmt;
use std::net::IpAddr;
use std::time::Duration;

use super::Note;
use crate::race::{Family, RaceConfig};

/// History's advice for one connect: the notes of its candidates and of
/// each family on this network, and the bounds of a derived attempt
/// delay. A value, built by the driver from the [`History`](super::History)
/// and handed to the race ([`Race::advise`](crate::race::Race::advise)),
/// so that what history changes is tested on the race's virtual clock.
///
/// ```
/// use std::time::Duration;
/// use happy_connect::history::{Advice, Note, Past};
/// use happy_connect::race::Family;
///
/// let mut failed = Note::default();
/// failed.timed_out = 2;
/// failed.last = Past::TimedOut;
/// let advice = Advice::new(
///     [None, Some(failed)], // IPv4 unknown, IPv6 failed every time
///     Duration::from_millis(100),
///     Duration::from_secs(2),
/// );
/// assert_eq!(advice.demoted_family(), Some(Family::V6));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Advice {
    families: [Option<Note>; 2],
    /// The notes of candidates' addresses: the first in place (a connect
    /// to a name with one address allocates nothing for it), the others
    /// in `more`.
    first: Option<(IpAddr, Note)>,
    more: Vec<(IpAddr, Note)>,
    delay_min: Duration,
    delay_max: Duration,
}

impl Default for Advice {
    /// No notes, and the default delay bounds (100 ms to 2 s).
    fn default() -> Self {
        let config = super::HistoryConfig::default();
        Self::new(
            [None, None],
            config.attempt_delay_min,
            config.attempt_delay_max,
        )
    }
}

/// Where the Connection Attempt Delay after an attempt came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum DelaySource {
    /// The configured delay: history knows no handshake time for it.
    Configured,
    /// Twice the mean handshake time of the attempt's address on this
    /// network.
    Address {
        /// The mean handshake time.
        handshake: Duration,
    },
    /// Twice the mean handshake time of the attempt's family on this
    /// network (the address itself is not known here).
    Family {
        /// The family.
        family: Family,
        /// The mean handshake time.
        handshake: Duration,
    },
}

impl fmt::Display for DelaySource {
    /// `configured`, `2 × the 40.0 ms handshake of this address here`, ...
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let ms = |d: &Duration| d.as_secs_f64() * 1000.0;
        match self {
            Self::Configured => f.write_str("configured"),
            Self::Address { handshake } => write!(
                f,
                "2 × this address's {:.1} ms handshake on this network",
                ms(handshake)
            ),
            Self::Family { family, handshake } => write!(
                f,
                "2 × the {:.1} ms {family} handshake on this network",
                ms(handshake)
            ),
        }
    }
}

impl Advice {
    /// The advice of a history that has these notes for the families
    /// (IPv4, IPv6), deriving attempt delays within `delay_min` and
    /// `delay_max`, themselves kept within RFC 8305's bounds
    /// ([`RaceConfig::MIN_ATTEMPT_DELAY`] to
    /// [`RaceConfig::MAX_ATTEMPT_DELAY`], 10 ms to 2 s; the maximum at
    /// least the minimum).
    pub fn new(families: [Option<Note>; 2], delay_min: Duration, delay_max: Duration) -> Self {
        let (min, max) = (RaceConfig::MIN_ATTEMPT_DELAY, RaceConfig::MAX_ATTEMPT_DELAY);
        let delay_min = delay_min.clamp(min, max);
        Self::within(families, delay_min, delay_max.clamp(delay_min, max))
    }

    /// [`Advice::new`] with bounds known to be RFC 8305's already (a
    /// history's configuration, kept so when it was made): what every
    /// connect that reads history builds.
    pub(crate) fn within(
        families: [Option<Note>; 2],
        delay_min: Duration,
        delay_max: Duration,
    ) -> Self {
        Self {
            families,
            first: None,
            more: Vec::new(),
            delay_min,
            delay_max,
        }
    }

    /// Adds (or replaces) the note of a candidate's address.
    pub fn add(&mut self, addr: IpAddr, note: Note) {
        let known = self.first.iter_mut().chain(&mut self.more);
        if let Some(slot) = known.into_iter().find(|(a, _)| *a == addr) {
            slot.1 = note;
        } else if self.first.is_none() {
            self.first = Some((addr, note));
        } else {
            self.more.push((addr, note));
        }
    }

    /// The note of an address, if history has one.
    pub fn note(&self, addr: IpAddr) -> Option<&Note> {
        self.first
            .iter()
            .chain(&self.more)
            .find(|(a, _)| *a == addr)
            .map(|(_, n)| n)
    }

    /// The note of a family, if history has one.
    pub fn family_note(&self, family: Family) -> Option<&Note> {
        self.families[family.index()].as_ref()
    }

    /// Whether history has nothing to say.
    pub fn is_empty(&self) -> bool {
        self.first.is_none() && self.families.iter().all(Option::is_none)
    }

    /// Whether the address goes after those that did not fail (its
    /// latest outcome here was a failure or a loss).
    pub fn demoted(&self, addr: IpAddr) -> bool {
        self.note(addr).is_some_and(Note::demoted)
    }

    /// The family whose recent attempts here all failed or lost, when the
    /// other's did not all fail: it gives the other family the first turn.
    pub fn demoted_family(&self) -> Option<Family> {
        let failed = |f: Family| self.family_note(f).is_some_and(Note::all_failed);
        match (failed(Family::V4), failed(Family::V6)) {
            (true, false) => Some(Family::V4),
            (false, true) => Some(Family::V6),
            _ => None,
        }
    }

    /// The Connection Attempt Delay after an attempt to `addr`: twice its
    /// mean handshake here (or else its family's), within the bounds;
    /// `configured` when history knows neither. A configured delay below
    /// the lower bound lowers it: history does not slow down a race that
    /// was asked to be quicker.
    pub fn attempt_delay(&self, addr: IpAddr, configured: Duration) -> (Duration, DelaySource) {
        let family = Family::of(addr);
        let (handshake, source) = match self.note(addr).and_then(|n| n.handshake) {
            Some(handshake) => (handshake, DelaySource::Address { handshake }),
            None => match self.family_note(family).and_then(|n| n.handshake) {
                Some(handshake) => (handshake, DelaySource::Family { family, handshake }),
                None => return (configured, DelaySource::Configured),
            },
        };
        let delay = handshake
            .saturating_mul(2)
            .clamp(self.delay_min.min(configured), self.delay_max);
        (delay, source)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::history::Past;

    fn note(last: Past) -> Note {
        let mut n = Note {
            last,
            ..Note::default()
        };
        match last {
            Past::Connected { handshake } => {
                n.connected = 1;
                n.handshake = Some(handshake);
            }
            Past::Lost { to } => {
                n.lost = 1;
                n.lost_to = Some(to);
            }
            _ => n.timed_out = 1,
        }
        n
    }

    fn ok(ms: u64) -> Note {
        note(Past::Connected {
            handshake: Duration::from_millis(ms),
        })
    }

    const MIN: Duration = Duration::from_millis(100);

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }
    const MAX: Duration = Duration::from_secs(2);

    #[test]
    fn a_family_is_demoted_only_when_the_other_did_not_fail_too() {
        let failed = note(Past::TimedOut);
        let cases = [
            ([None, None], None),
            ([None, Some(failed)], Some(Family::V6)),
            ([Some(ok(5)), Some(failed)], Some(Family::V6)),
            ([Some(failed), Some(ok(5))], Some(Family::V4)),
            ([Some(failed), Some(failed)], None),
            ([Some(ok(5)), Some(ok(5))], None),
        ];
        for (families, expected) in cases {
            assert_eq!(
                Advice::new(families, MIN, MAX).demoted_family(),
                expected,
                "{families:?}"
            );
        }
    }

    #[test]
    fn notes_are_added_replaced_and_found_however_many() {
        let mut advice = Advice::new([None, None], MIN, MAX);
        assert!(advice.is_empty());
        let addrs: Vec<IpAddr> = (1..=4).map(|i| IpAddr::from([192, 0, 2, i])).collect();
        for &addr in &addrs {
            advice.add(addr, note(Past::Refused));
        }
        assert!(!advice.is_empty());
        // Replacing the first (kept in place) and a later one.
        advice.add(addrs[0], note(Past::TimedOut));
        advice.add(addrs[2], note(Past::TimedOut));
        let last = |a: IpAddr| advice.note(a).map(|n| n.last);
        assert_eq!(last(addrs[0]), Some(Past::TimedOut));
        assert_eq!(last(addrs[1]), Some(Past::Refused));
        assert_eq!(last(addrs[2]), Some(Past::TimedOut));
        assert_eq!(last(addrs[3]), Some(Past::Refused));
        assert_eq!(last(IpAddr::from([192, 0, 2, 9])), None);
    }

    #[test]
    fn addresses_whose_latest_outcome_failed_are_demoted() {
        let mut advice = Advice::new([None, None], MIN, MAX);
        let (a, b, c): (IpAddr, IpAddr, IpAddr) = (
            "2001:db8::1".parse().unwrap(),
            "192.0.2.1".parse().unwrap(),
            "192.0.2.2".parse().unwrap(),
        );
        assert!(advice.is_empty());
        advice.add(a, note(Past::Lost { to: Family::V4 }));
        advice.add(b, ok(3));
        assert!(advice.demoted(a));
        assert!(!advice.demoted(b));
        assert!(!advice.demoted(c), "unknown");
        // A newer note replaces the older.
        advice.add(a, ok(3));
        assert!(!advice.demoted(a));
        assert!(!advice.is_empty());
    }

    #[test]
    fn the_attempt_delay_follows_handshakes_within_bounds() {
        let configured = Duration::from_millis(250);
        let (fast, slow, known, family_only, unknown): (IpAddr, IpAddr, IpAddr, IpAddr, IpAddr) = (
            "192.0.2.1".parse().unwrap(),
            "192.0.2.2".parse().unwrap(),
            "192.0.2.3".parse().unwrap(),
            "192.0.2.4".parse().unwrap(),
            "2001:db8::1".parse().unwrap(),
        );
        let mut advice = Advice::new([Some(ok(60)), None], MIN, MAX);
        advice.add(fast, ok(1));
        advice.add(slow, ok(5000));
        advice.add(known, ok(300));
        assert_eq!(advice.attempt_delay(fast, configured).0, MIN);
        assert_eq!(advice.attempt_delay(slow, configured).0, MAX);
        assert_eq!(
            advice.attempt_delay(known, configured),
            (
                Duration::from_millis(600),
                DelaySource::Address {
                    handshake: Duration::from_millis(300)
                }
            )
        );
        let (delay, source) = advice.attempt_delay(family_only, configured);
        assert_eq!(delay, Duration::from_millis(120));
        assert_eq!(
            source.to_string(),
            "2 × the 60.0 ms IPv4 handshake on this network"
        );
        assert_eq!(
            advice.attempt_delay(unknown, configured),
            (configured, DelaySource::Configured)
        );
        // A race configured quicker than the lower bound stays quick.
        assert_eq!(advice.attempt_delay(fast, ms(10)).0, ms(10));
        assert_eq!(advice.attempt_delay(known, ms(10)).0, ms(600));
    }
}
