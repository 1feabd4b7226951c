//! The connection race of RFC 8305 ("Happy Eyeballs Version 2") as a pure
//! state machine.
//!
//! [`Race`] does no I/O and reads no clock. A driver owns the sockets, the
//! DNS queries and a timer; it feeds the race [`Input`]s, each stamped with
//! the current time, and carries out the [`Action`]s the race appends to a
//! vector: start a connection attempt, cancel one, or finish with an
//! [`Outcome`]. After each call the driver arms its timer for
//! [`Race::poll_timeout`] and feeds [`Input::Timer`] when it fires. Because
//! time only enters through the `now` arguments, a test can replay a whole
//! race on a virtual clock, and the same inputs always give the same actions.
//!
//! # The phases
//!
//! 1. **Resolution (RFC 8305 §3, generalised).** The driver tells
//!    [`Race::with_prospects`] which queries it sent and what each could
//!    bring on this host. The first answer with addresses starts the
//!    *Resolution Delay* (50 ms). While the other query is out, the race
//!    starts at once only if nothing that query could bring would go
//!    before the best candidate in hand under the policy; otherwise it
//!    waits for that answer, up to the Resolution Delay. So an A answer
//!    waits for AAAA on a host with native IPv6 (native IPv6 would go
//!    first), an AAAA answer holding only Teredo waits for A (IPv4 goes
//!    before Teredo), and an answer nothing can beat starts at once,
//!    whichever query answers first and whatever the policy table. With a
//!    single query the race starts as soon as it answers. A failed query
//!    counts as an empty answer. Answers that arrive after the race
//!    started are merged into the not-yet-attempted part of the list.
//! 2. **Ordering (RFC 8305 §4).** The candidates are sorted by RFC 6724 §6
//!    with [`rfc3484_sort::sort`] under the configured policy, then the
//!    families are interleaved: *First Address Family Count* candidates of
//!    the preferred family, then one of each family in turn. Two groups are
//!    kept out of the interleaving and go last, in sorted order:
//!    - Teredo candidates (destination or source in `2001:0::/32`), after
//!      every other usable candidate. This is the project's rule, the one
//!      Windows follows: Teredo is a last resort, so it must not take a turn
//!      ahead of IPv4 just because interleaving alternates families.
//!    - Candidates with no usable source, which RFC 6724 rule 1 already puts
//!      last. They are still tried: the kernel may find a route the source
//!      probe did not.
//!
//!    Identical socket addresses are tried once, and at most
//!    [`RaceConfig::max_candidates`] are kept; the first answer keeps at
//!    most the cap less half of it while the other query is outstanding.
//! 3. **Attempts (RFC 8305 §5).** One attempt starts at once, then the next
//!    when the *Connection Attempt Delay* (250 ms) has passed since the last
//!    start, or at once when an attempt fails. Several attempts may be in
//!    flight. The first one to connect wins and every other is cancelled.
//!    Each attempt has its own timeout, after which it is cancelled and
//!    counts as failed; the whole race has a total timeout counted from
//!    [`Race::new`].
//! 4. **Done.** Exactly one [`Action::Done`] is emitted; afterwards the race
//!    ignores every input.
//!
//! [`Strategy::Sequential`] replaces phases 2 and 3 with what
//! `WSAConnectByName` does: one candidate at a time in sorted order (no
//! interleaving, Teredo still last), each bounded by the attempt timeout.
//! Phase 1 is the same: it waits for a query that could bring a better
//! candidate up to the Resolution Delay, and merges later answers into
//! the untried part of the order.
//!
//! # Attempt ids
//!
//! The `n`th attempt started gets [`AttemptId`]`(n)`, counting from 0, and
//! is `order()[n]`: attempted candidates keep their place when the rest of
//! the list is re-planned. Inputs naming an id that was never started, or an
//! attempt that already finished, are ignored, and the race never emits an
//! action for such an id.
//!
//! # Example
//!
//! ```
//! use std::time::{Duration, Instant};
//! use happy_connect::race::{Action, Candidate, Family, Input, Outcome, Race, RaceConfig};
//! use happy_connect::sort::{Destination, SourceAttrs};
//!
//! let cand = |d: &str, s: &str| {
//!     Candidate::new(
//!         Destination::with_source(d.parse().unwrap(), s.parse().unwrap(), SourceAttrs::default()),
//!         443,
//!     )
//! };
//! let t0 = Instant::now();
//! let mut race = Race::new(RaceConfig::default(), t0, &[Family::V6, Family::V4]);
//! let mut actions = Vec::new();
//!
//! // A answers first: nothing starts during the Resolution Delay.
//! race.handle(
//!     Input::Answer { family: Family::V4, candidates: vec![cand("192.0.2.1", "192.0.2.100")] },
//!     t0,
//!     &mut actions,
//! );
//! assert!(actions.is_empty());
//! assert_eq!(race.poll_timeout(), Some(t0 + Duration::from_millis(50)));
//!
//! // AAAA answers 20 ms later: IPv6 starts at once.
//! let t1 = t0 + Duration::from_millis(20);
//! race.handle(
//!     Input::Answer { family: Family::V6, candidates: vec![cand("2001:db8::1", "2001:db8::100")] },
//!     t1,
//!     &mut actions,
//! );
//! let Action::Start { id, candidate } = actions[0] else { panic!() };
//! assert_eq!(candidate.addr().to_string(), "[2001:db8::1]:443");
//!
//! // It connects: the race is over.
//! actions.clear();
//! race.handle(Input::Connected { id }, t1 + Duration::from_millis(30), &mut actions);
//! assert!(matches!(actions[..], [Action::Done(Outcome::Connected { .. })]));
//! ```

mod config;
mod machine;
pub(crate) mod order;
mod types;

#[cfg(test)]
mod tests;

pub use config::RaceConfig;
pub use machine::{Race, default_prospects};
pub(crate) use types::is_teredo_ip;
pub use types::{
    Action, AttemptId, CancelReason, Candidate, Family, Input, Outcome, Placement, Strategy,
};
