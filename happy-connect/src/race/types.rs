//! The race's vocabulary: families, candidates, inputs, actions and
//! outcomes.

use std::fmt;
use std::net::{IpAddr, SocketAddr, SocketAddrV6};

use rfc3484_sort::{Destination, Rule};

#[cfg(doc)]
use super::{Race, RaceConfig};

/// An address family, and the DNS query that yields it: A for [`Family::V4`],
/// AAAA for [`Family::V6`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Family {
    /// IPv4, the A query.
    V4,
    /// IPv6, the AAAA query.
    V6,
}

impl Family {
    /// The family of `addr` (an IPv4-mapped IPv6 address counts as IPv6:
    /// it is what the socket would be opened as).
    pub fn of(addr: IpAddr) -> Self {
        match addr {
            IpAddr::V4(_) => Self::V4,
            IpAddr::V6(_) => Self::V6,
        }
    }

    pub(crate) const fn index(self) -> usize {
        match self {
            Self::V4 => 0,
            Self::V6 => 1,
        }
    }
}

/// How the candidates are tried.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Strategy {
    /// RFC 8305: staggered, overlapping attempts with interleaved families.
    #[default]
    Race,
    /// `WSAConnectByName`-like: wait for every answer, then one attempt at a
    /// time in sorted order.
    Sequential,
}

impl fmt::Display for Strategy {
    /// Writes `race` or `sequential`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Race => "race",
            Self::Sequential => "sequential",
        })
    }
}

impl fmt::Display for Family {
    /// Writes `IPv4` or `IPv6`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::V4 => "IPv4",
            Self::V6 => "IPv6",
        })
    }
}

/// Names one connection attempt: the `n`th attempt started is
/// `AttemptId(n)`, counting from 0, and is `order()[n]`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct AttemptId(pub u32);

/// A socket address to try, with the source the host would use for it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Candidate {
    /// The destination address and its source, as sorted by RFC 6724.
    pub dest: Destination,
    /// The destination port.
    pub port: u16,
    /// The zone of a scoped IPv6 destination (a link-local address): the
    /// index of the interface to leave through, 0 for none.
    pub scope_id: u32,
}

impl Candidate {
    /// A candidate for `dest` on `port`, with no zone.
    pub const fn new(dest: Destination, port: u16) -> Self {
        Self {
            dest,
            port,
            scope_id: 0,
        }
    }

    /// The same candidate in zone `scope_id` (an interface index).
    #[must_use]
    pub const fn with_scope_id(mut self, scope_id: u32) -> Self {
        self.scope_id = scope_id;
        self
    }

    /// The socket address to connect to, with its zone.
    pub fn addr(&self) -> SocketAddr {
        match self.dest.addr {
            IpAddr::V6(v6) => SocketAddr::V6(SocketAddrV6::new(v6, self.port, 0, self.scope_id)),
            v4 => SocketAddr::new(v4, self.port),
        }
    }

    /// The address family of the destination.
    pub fn family(&self) -> Family {
        Family::of(self.dest.addr)
    }

    /// Whether the destination or its source is a Teredo address
    /// (`2001:0::/32`): either way the connection would run over Teredo.
    pub fn is_teredo(&self) -> bool {
        is_teredo_ip(self.dest.addr) || self.dest.source.is_some_and(|s| is_teredo_ip(s.addr))
    }

    /// Which group of the planned order the candidate belongs to: 0 for the
    /// interleaved usable candidates, 1 for Teredo, 2 for those with no
    /// usable source (RFC 6724 rule 1 already sorts them last).
    pub(crate) fn tier(&self) -> u8 {
        if self.dest.source.is_none() {
            2
        } else if self.is_teredo() {
            1
        } else {
            0
        }
    }
}

pub(crate) fn is_teredo_ip(addr: IpAddr) -> bool {
    matches!(addr, IpAddr::V6(v6) if teredo_addr::is_teredo(v6))
}

/// Something that happened, for [`Race::handle`].
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Input {
    /// A query answered (possibly with no addresses). Answers for a family
    /// that was not listed in [`Race::new`], or that already answered, are
    /// ignored.
    Answer {
        /// Which query answered.
        family: Family,
        /// The addresses it gave, with their sources and the port.
        candidates: Vec<Candidate>,
    },
    /// A query failed; the same as an empty answer.
    QueryFailed {
        /// Which query failed.
        family: Family,
    },
    /// An attempt connected.
    Connected {
        /// Which attempt.
        id: AttemptId,
    },
    /// An attempt failed (refused, unreachable...).
    AttemptFailed {
        /// Which attempt.
        id: AttemptId,
    },
    /// The driver's timer fired, or any other wake-up; harmless when early.
    Timer,
}

/// Why an attempt is cancelled.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum CancelReason {
    /// Another attempt connected first.
    LostRace,
    /// The attempt ran past [`RaceConfig::attempt_timeout`].
    AttemptTimeout,
    /// The race ran past [`RaceConfig::total_timeout`].
    TotalTimeout,
}

/// How the race ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Outcome {
    /// This attempt connected; it is the driver's to keep.
    Connected {
        /// The winning attempt.
        id: AttemptId,
    },
    /// Every candidate was tried and none connected.
    AllFailed,
    /// Every query answered, with no address at all.
    NoAddresses,
    /// The total timeout passed first.
    TimedOut,
}

/// What put a candidate of [`Race::order`] before the next one; see
/// [`Race::placements`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Placement {
    /// An RFC 6724 §6 rule, as [`rfc3484_sort::compare`] says.
    Rule(Rule),
    /// The family interleaving of RFC 8305 §4.
    Interleaved,
    /// Teredo goes after every other usable candidate.
    TeredoLast,
    /// The candidate was attempted before the next one was known.
    Attempted,
    /// Connection history: the next candidate, or its whole family,
    /// failed or lost recently on this network (see
    /// [`history`](crate::history)).
    History,
}

impl fmt::Display for Placement {
    /// Writes e.g. `rule 6 (prefer higher precedence)` or
    /// `family interleaving (RFC 8305 §4)`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Rule(rule) => rule.fmt(f),
            Self::Interleaved => f.write_str("family interleaving (RFC 8305 §4)"),
            Self::TeredoLast => f.write_str("Teredo last"),
            Self::Attempted => f.write_str("attempted before the next was known"),
            Self::History => f.write_str("history (the next failed here lately)"),
        }
    }
}

/// What the driver must do, appended by [`Race::handle`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Action {
    /// Start connecting to `candidate`; report back with `id`.
    Start {
        /// The new attempt's id.
        id: AttemptId,
        /// What to connect to.
        candidate: Candidate,
    },
    /// Abandon an attempt (close its socket). No input for it is expected
    /// any more, and any that comes is ignored.
    Cancel {
        /// The attempt.
        id: AttemptId,
        /// Why.
        reason: CancelReason,
    },
    /// The race is over; emitted once, always last.
    Done(Outcome),
}
