//! Unit tests of the race on a virtual clock: every `now` is `t0` plus a
//! number of milliseconds, so the tests never sleep.

use std::net::IpAddr;
use std::time::{Duration, Instant};

use proptest::prelude::{
    Just, TestCaseError, any, prop_assert, prop_assert_eq, prop_oneof, proptest,
};
use proptest::strategy::Strategy as _;
use rfc3484_sort::{Destination, Policy, Rule, SourceAttrs};

use super::*;

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

/// A native global IPv6 candidate `2001:db8::<n>`.
fn v6(n: u16) -> Candidate {
    let dest = format!("2001:db8::{n:x}");
    Candidate::new(
        Destination::with_source(ip(&dest), ip("2001:db8:ffff::100"), SourceAttrs::default()),
        443,
    )
}

/// An IPv6 candidate in the source's own /64, which RFC 6724 rule 9
/// prefers over the other IPv6 candidates.
fn near() -> Candidate {
    Candidate::new(
        Destination::with_source(
            ip("2001:db8:ffff::1"),
            ip("2001:db8:ffff::100"),
            SourceAttrs::default(),
        ),
        443,
    )
}

/// A global IPv4 candidate `198.51.100.<n>`.
fn v4(n: u8) -> Candidate {
    let dest = format!("198.51.100.{n}");
    Candidate::new(
        Destination::with_source(ip(&dest), ip("192.0.2.100"), SourceAttrs::default()),
        443,
    )
}

/// A Teredo candidate reached from the host's Teredo address.
fn teredo(n: u16) -> Candidate {
    let dest = format!("2001:0:4136:e378:8000:63bf:3fff:{n:x}");
    let tunnel = SourceAttrs {
        tunnel: true,
        ..SourceAttrs::default()
    };
    Candidate::new(
        Destination::with_source(
            ip(&dest),
            ip("2001:0:c633:640a:8000:f227:bd6a:13fe"),
            tunnel,
        ),
        443,
    )
}

/// A race, its virtual clock and the actions of the last input.
struct Harness {
    race: Race,
    t0: Instant,
    actions: Vec<Action>,
}

impl Harness {
    fn new(config: RaceConfig, pending: &[Family]) -> Self {
        let t0 = Instant::now();
        Self {
            race: Race::new(config, t0, pending),
            t0,
            actions: Vec::new(),
        }
    }

    fn race(pending: &[Family]) -> Self {
        Self::new(RaceConfig::default(), pending)
    }

    fn at(&self, n: u64) -> Instant {
        self.t0 + ms(n)
    }

    /// Feeds `input` at `t0 + at_ms` and returns the actions it caused.
    fn feed(&mut self, input: Input, at_ms: u64) -> Vec<Action> {
        self.actions.clear();
        let now = self.at(at_ms);
        self.race.handle(input, now, &mut self.actions);
        self.actions.clone()
    }

    fn answer(&mut self, family: Family, candidates: &[Candidate], at_ms: u64) -> Vec<Action> {
        let candidates = candidates.to_vec();
        self.feed(Input::Answer { family, candidates }, at_ms)
    }

    fn timer(&mut self, at_ms: u64) -> Vec<Action> {
        self.feed(Input::Timer, at_ms)
    }

    fn fail(&mut self, id: u32, at_ms: u64) -> Vec<Action> {
        self.feed(Input::AttemptFailed { id: AttemptId(id) }, at_ms)
    }

    fn connect(&mut self, id: u32, at_ms: u64) -> Vec<Action> {
        self.feed(Input::Connected { id: AttemptId(id) }, at_ms)
    }

    /// The next timer, in milliseconds since `t0`.
    fn next_ms(&self) -> Option<u64> {
        self.race
            .poll_timeout()
            .map(|t| u64::try_from(t.duration_since(self.t0).as_millis()).unwrap())
    }
}

fn start(id: u32, candidate: Candidate) -> Action {
    Action::Start {
        id: AttemptId(id),
        candidate,
    }
}

fn cancel(id: u32, reason: CancelReason) -> Action {
    Action::Cancel {
        id: AttemptId(id),
        reason,
    }
}

fn order(race: &Race) -> Vec<IpAddr> {
    race.order().iter().map(|c| c.dest.addr).collect()
}

fn addrs(candidates: &[Candidate]) -> Vec<IpAddr> {
    candidates.iter().map(|c| c.dest.addr).collect()
}

const BOTH: [Family; 2] = [Family::V6, Family::V4];

#[test]
fn defaults_are_rfc8305() {
    let config = RaceConfig::default();
    assert_eq!(config.resolution_delay, ms(50));
    assert_eq!(config.attempt_delay(), ms(250));
    assert_eq!(config.first_family_count, 1);
    assert_eq!(config.attempt_timeout, Duration::from_secs(10));
    assert_eq!(config.total_timeout, Duration::from_secs(30));
    assert_eq!(config.max_candidates, 32);
    assert_eq!(config.strategy, Strategy::Race);
    assert_eq!(config.policy, Policy::rfc6724());
    assert_eq!(Strategy::default().to_string(), "race");
    assert_eq!(Strategy::Sequential.to_string(), "sequential");
    assert_eq!(Family::V6.to_string(), "IPv6");
}

#[test]
fn aaaa_first_starts_at_once() {
    let mut h = Harness::race(&BOTH);
    assert_eq!(h.next_ms(), Some(30_000), "only the total timeout");
    assert_eq!(h.answer(Family::V6, &[v6(1), v6(2)], 10), [start(0, v6(1))]);
    assert_eq!(h.next_ms(), Some(260), "next start after the attempt delay");
    // A comes during the first attempt: no start before the delay...
    assert!(h.answer(Family::V4, &[v4(1)], 20).is_empty());
    // ...and IPv4 gets the next turn.
    assert_eq!(
        addrs(&h.race.order()[1..]),
        [v4(1).dest.addr, v6(2).dest.addr]
    );
    assert!(h.timer(259).is_empty());
    assert_eq!(h.timer(260), [start(1, v4(1))]);
    assert_eq!(h.timer(510), [start(2, v6(2))]);
    assert_eq!(h.race.attempted(), 3);
    assert_eq!(h.race.in_flight(), 3);
}

#[test]
fn aaaa_within_resolution_delay() {
    let mut h = Harness::race(&BOTH);
    assert!(h.answer(Family::V4, &[v4(1)], 10).is_empty());
    assert_eq!(h.next_ms(), Some(60), "the Resolution Delay");
    assert!(h.timer(59).is_empty());
    // AAAA at +40: both families known, IPv6 first, at once.
    assert_eq!(h.answer(Family::V6, &[v6(1)], 40), [start(0, v6(1))]);
    assert_eq!(order(&h.race), [v6(1).dest.addr, v4(1).dest.addr]);
    assert_eq!(h.next_ms(), Some(290));
    assert!(h.timer(60).is_empty(), "the old Resolution Delay is gone");
}

#[test]
fn aaaa_after_resolution_delay_is_merged() {
    let mut h = Harness::race(&BOTH);
    assert!(h.answer(Family::V4, &[v4(1), v4(2)], 10).is_empty());
    assert_eq!(h.timer(60), [start(0, v4(1))]);
    // AAAA at +100: the IPv6 candidates take the next turn.
    assert!(h.answer(Family::V6, &[v6(1), v6(2)], 100).is_empty());
    assert_eq!(
        order(&h.race),
        addrs(&[v4(1), v6(1), v4(2), v6(2)]),
        "attempted first, then re-interleaved"
    );
    assert_eq!(h.next_ms(), Some(310));
    assert_eq!(h.timer(310), [start(1, v6(1))]);
    assert_eq!(
        h.race.placements(),
        [
            Placement::Attempted,
            Placement::Rule(Rule::HigherPrecedence),
            Placement::Interleaved
        ]
    );
    assert_eq!(h.race.explain(), [None, Some(Rule::HigherPrecedence), None]);
}

#[test]
fn a_never_answers() {
    let mut h = Harness::race(&BOTH);
    assert_eq!(h.answer(Family::V6, &[v6(1)], 5), [start(0, v6(1))]);
    // The only IPv6 attempt fails; A is still outstanding, so wait.
    assert!(h.fail(0, 30).is_empty());
    assert!(!h.race.is_done());
    assert_eq!(h.next_ms(), Some(30_000));
    assert_eq!(
        h.timer(30_000),
        [Action::Done(Outcome::TimedOut)],
        "nothing in flight to cancel"
    );
}

#[test]
fn a_never_answers_but_aaaa_connects() {
    let mut h = Harness::race(&BOTH);
    assert_eq!(h.answer(Family::V6, &[v6(1)], 5), [start(0, v6(1))]);
    assert_eq!(
        h.connect(0, 40),
        [Action::Done(Outcome::Connected { id: AttemptId(0) })]
    );
}

#[test]
fn single_query_starts_at_once() {
    // A alone (AAAA suppressed, as on a Teredo-only host): no Resolution Delay.
    let mut h = Harness::race(&[Family::V4]);
    assert_eq!(h.answer(Family::V4, &[v4(1)], 10), [start(0, v4(1))]);
    assert_eq!(h.fail(0, 20), [Action::Done(Outcome::AllFailed)]);

    // An answer for a query that was not sent is ignored.
    let mut h = Harness::race(&[Family::V4]);
    assert!(h.answer(Family::V6, &[v6(1)], 5).is_empty());
    assert!(h.race.order().is_empty());
}

#[test]
fn blackholed_first_address() {
    let mut h = Harness::race(&BOTH);
    assert_eq!(h.answer(Family::V6, &[v6(1)], 0), [start(0, v6(1))]);
    assert!(h.answer(Family::V4, &[v4(1)], 1).is_empty());
    // Attempt 0 never answers: attempt 1 starts 250 ms after it.
    assert_eq!(h.next_ms(), Some(250));
    assert_eq!(h.timer(250), [start(1, v4(1))]);
    assert_eq!(
        h.connect(1, 280),
        [
            cancel(0, CancelReason::LostRace),
            Action::Done(Outcome::Connected { id: AttemptId(1) })
        ]
    );
}

#[test]
fn refused_moves_on_at_once() {
    let mut h = Harness::race(&BOTH);
    h.answer(Family::V4, &[v4(1), v4(2)], 0);
    assert_eq!(h.answer(Family::V6, &[v6(1), v6(2)], 10), [start(0, v6(1))]);
    assert_eq!(h.fail(0, 15), [start(1, v4(1))]);
    assert_eq!(
        h.next_ms(),
        Some(265),
        "the delay counts from the last start"
    );
    assert_eq!(h.timer(265), [start(2, v6(2))]);
    // A failure starts the next at once even with attempts in flight.
    assert_eq!(h.fail(1, 270), [start(3, v4(2))]);
}

#[test]
fn all_refused() {
    let mut h = Harness::race(&BOTH);
    h.answer(Family::V6, &[v6(1)], 0);
    h.answer(Family::V4, &[v4(1), v4(2)], 0);
    assert_eq!(h.fail(0, 1), [start(1, v4(1))]);
    assert_eq!(h.fail(1, 2), [start(2, v4(2))]);
    assert_eq!(h.fail(2, 3), [Action::Done(Outcome::AllFailed)]);
    assert_eq!(h.race.outcome(), Some(Outcome::AllFailed));
}

#[test]
fn no_addresses() {
    let mut h = Harness::race(&BOTH);
    assert!(h.answer(Family::V4, &[], 5).is_empty());
    assert_eq!(
        h.feed(Input::QueryFailed { family: Family::V6 }, 8),
        [Action::Done(Outcome::NoAddresses)]
    );

    // No query at all: done at the first wake-up, which is due at once.
    let mut h = Harness::race(&[]);
    assert_eq!(h.next_ms(), Some(0));
    assert_eq!(h.timer(0), [Action::Done(Outcome::NoAddresses)]);
}

#[test]
fn interleaving_first_family_count() {
    let answer = |count: usize| {
        let config = RaceConfig {
            first_family_count: count,
            ..RaceConfig::default()
        };
        let mut h = Harness::new(config, &BOTH);
        h.answer(Family::V4, &[v4(1), v4(2), v4(3)], 0);
        h.answer(Family::V6, &[v6(1), v6(2), v6(3)], 1);
        order(&h.race)
    };
    assert_eq!(
        answer(1),
        addrs(&[v6(1), v4(1), v6(2), v4(2), v6(3), v4(3)])
    );
    assert_eq!(
        answer(2),
        addrs(&[v6(1), v6(2), v4(1), v6(3), v4(2), v4(3)])
    );
    assert_eq!(answer(0), answer(1), "0 is taken as 1");
    // Two of each, as in RFC 8305 §4's example.
    let mut h = Harness::race(&BOTH);
    h.answer(Family::V6, &[v6(1), v6(2)], 0);
    h.answer(Family::V4, &[v4(1), v4(2)], 0);
    assert_eq!(order(&h.race), addrs(&[v6(1), v4(1), v6(2), v4(2)]));
    assert_eq!(
        h.race.explain(),
        [
            Some(Rule::HigherPrecedence),
            None,
            Some(Rule::HigherPrecedence)
        ]
    );
    assert_eq!(
        h.race.placements()[1].to_string(),
        "family interleaving (RFC 8305 §4)"
    );
}

#[test]
fn sorted_before_interleaving() {
    // The answers' order does not matter: RFC 6724 decides within a family
    // (here rule 9: `near` shares the source's /64).
    let mut h = Harness::race(&[Family::V6]);
    h.answer(Family::V6, &[v6(1), near()], 0);
    assert_eq!(order(&h.race), addrs(&[near(), v6(1)]));
    assert_eq!(h.race.explain(), [Some(Rule::LongestPrefix)]);
}

#[test]
fn teredo_last() {
    // RFC 3484's table gives Teredo the precedence of native IPv6, above
    // IPv4: sorting alone puts it second and interleaving would give it the
    // third slot. The Teredo rule moves it behind every IPv4 candidate.
    let config = RaceConfig {
        policy: Policy::rfc3484(),
        ..RaceConfig::default()
    };
    let mut h = Harness::new(config, &BOTH);
    h.answer(Family::V4, &[v4(1), v4(2)], 0);
    h.answer(Family::V6, &[teredo(1), v6(1)], 0);
    assert_eq!(order(&h.race), addrs(&[v6(1), v4(1), v4(2), teredo(1)]));
    assert_eq!(h.race.placements()[2], Placement::TeredoLast);
    assert_eq!(h.race.explain()[2], None);

    // Same under RFC 6724 (where sorting alone already puts it last).
    let mut h = Harness::race(&BOTH);
    h.answer(Family::V6, &[teredo(1), v6(1), teredo(2)], 0);
    h.answer(Family::V4, &[v4(1), v4(2)], 0);
    assert_eq!(
        order(&h.race),
        addrs(&[v6(1), v4(1), v4(2), teredo(1), teredo(2)])
    );

    // A native destination reached from a Teredo source is Teredo too.
    let via_teredo = Candidate::new(
        Destination::with_source(
            ip("2001:db8::9"),
            ip("2001:0:c633:640a:8000:f227:bd6a:13fe"),
            SourceAttrs::default(),
        ),
        443,
    );
    assert!(via_teredo.is_teredo());
    assert!(!v6(1).is_teredo());
    let config = RaceConfig {
        policy: Policy::rfc3484(),
        ..RaceConfig::default()
    };
    let mut h = Harness::new(config, &BOTH);
    h.answer(Family::V6, &[via_teredo, v6(1)], 0);
    h.answer(Family::V4, &[v4(1)], 0);
    assert_eq!(order(&h.race), addrs(&[v6(1), v4(1), via_teredo]));
}

#[test]
fn unusable_candidates_last_but_tried() {
    let unroutable = Candidate::new(Destination::unreachable(ip("198.51.100.77")), 443);
    let mut h = Harness::race(&BOTH);
    h.answer(Family::V4, &[unroutable, v4(1)], 0);
    h.answer(Family::V6, &[v6(1), v6(2), teredo(1)], 0);
    assert_eq!(
        order(&h.race),
        addrs(&[v6(1), v4(1), v6(2), teredo(1), unroutable])
    );
    assert_eq!(h.race.explain()[3], Some(Rule::AvoidUnusable));
    for id in 0..4 {
        h.fail(id, 1);
    }
    assert_eq!(h.race.attempted(), 5, "the unusable one is tried too");
}

#[test]
fn late_answer_mid_race() {
    let mut h = Harness::race(&BOTH);
    assert_eq!(
        h.answer(Family::V6, &[v6(1), v6(2), v6(3)], 0),
        [start(0, v6(1))]
    );
    assert_eq!(h.timer(250), [start(1, v6(2))]);
    // A arrives while two IPv6 attempts run: IPv4 goes next.
    assert!(h.answer(Family::V4, &[v4(1), v4(2)], 300).is_empty());
    assert_eq!(order(&h.race), addrs(&[v6(1), v6(2), v4(1), v6(3), v4(2)]));
    assert_eq!(h.timer(500), [start(2, v4(1))]);
    // Duplicates of known addresses are not added twice.
    let mut h = Harness::race(&BOTH);
    h.answer(Family::V6, &[v6(1), v6(1)], 0);
    h.answer(Family::V4, &[v4(1), v4(1)], 10);
    assert_eq!(order(&h.race), addrs(&[v6(1), v4(1)]));
    assert_eq!(h.race.dropped(), 0);
}

#[test]
fn late_answer_with_nothing_in_flight_starts_at_once() {
    let mut h = Harness::race(&BOTH);
    assert_eq!(h.answer(Family::V6, &[v6(1)], 0), [start(0, v6(1))]);
    assert!(h.fail(0, 10).is_empty());
    assert_eq!(h.answer(Family::V4, &[v4(1)], 100), [start(1, v4(1))]);
}

#[test]
fn per_attempt_timeout() {
    let mut config = RaceConfig {
        attempt_timeout: ms(1000),
        ..RaceConfig::default()
    };
    config.set_attempt_delay(ms(2000));
    let mut h = Harness::new(config, &[Family::V6]);
    assert_eq!(
        h.answer(Family::V6, &[v6(1), v6(2), v6(3)], 0),
        [start(0, v6(1))]
    );
    assert_eq!(h.next_ms(), Some(1000));
    // Timed out: cancelled, and the next starts at once.
    assert_eq!(
        h.timer(1000),
        [cancel(0, CancelReason::AttemptTimeout), start(1, v6(2))]
    );
    assert!(h.connect(0, 1001).is_empty(), "a cancelled attempt is over");
    assert_eq!(
        h.timer(2000),
        [cancel(1, CancelReason::AttemptTimeout), start(2, v6(3))]
    );
    assert_eq!(
        h.timer(3000),
        [
            cancel(2, CancelReason::AttemptTimeout),
            Action::Done(Outcome::AllFailed)
        ]
    );
}

#[test]
fn total_timeout() {
    let config = RaceConfig {
        total_timeout: ms(600),
        ..RaceConfig::default()
    };
    let mut h = Harness::new(config, &BOTH);
    h.answer(Family::V6, &[v6(1), v6(2), v6(3), v6(4)], 0);
    h.timer(250);
    h.timer(500);
    assert_eq!(h.next_ms(), Some(600));
    assert_eq!(
        h.timer(600),
        [
            cancel(0, CancelReason::TotalTimeout),
            cancel(1, CancelReason::TotalTimeout),
            cancel(2, CancelReason::TotalTimeout),
            Action::Done(Outcome::TimedOut)
        ]
    );
    // A late timer or input only, not before: the deadline is checked on
    // any input.
    let config = RaceConfig {
        total_timeout: ms(100),
        ..RaceConfig::default()
    };
    let mut h = Harness::new(config, &BOTH);
    assert_eq!(
        h.answer(Family::V4, &[v4(1)], 150),
        [Action::Done(Outcome::TimedOut)]
    );
}

#[test]
fn losers_cancelled_on_success() {
    let mut h = Harness::race(&BOTH);
    h.answer(Family::V6, &[v6(1), v6(2)], 0);
    h.answer(Family::V4, &[v4(1)], 0);
    h.timer(250);
    h.timer(500);
    assert_eq!(h.race.in_flight(), 3);
    assert_eq!(
        h.connect(1, 510),
        [
            cancel(0, CancelReason::LostRace),
            cancel(2, CancelReason::LostRace),
            Action::Done(Outcome::Connected { id: AttemptId(1) })
        ]
    );
    assert_eq!(h.race.in_flight(), 0);
}

#[test]
fn nothing_after_done() {
    let mut h = Harness::race(&BOTH);
    h.answer(Family::V6, &[v6(1), v6(2)], 0);
    h.connect(0, 10);
    assert!(h.race.is_done());
    assert_eq!(h.race.poll_timeout(), None);
    assert!(h.answer(Family::V4, &[v4(1)], 20).is_empty());
    assert!(h.connect(0, 30).is_empty());
    assert!(h.fail(0, 30).is_empty());
    assert!(h.timer(100_000).is_empty());
    assert_eq!(
        h.race.outcome(),
        Some(Outcome::Connected { id: AttemptId(0) })
    );
}

#[test]
fn unknown_ids_ignored() {
    let mut h = Harness::race(&BOTH);
    assert!(h.connect(0, 0).is_empty(), "nothing started yet");
    assert!(h.fail(7, 0).is_empty());
    assert_eq!(h.answer(Family::V6, &[v6(1), v6(2)], 1), [start(0, v6(1))]);
    assert!(h.connect(99, 2).is_empty());
    assert!(h.connect(u32::MAX, 2).is_empty());
    assert_eq!(h.fail(0, 3), [start(1, v6(2))]);
    assert!(h.fail(0, 4).is_empty(), "already failed");
    assert!(h.connect(0, 5).is_empty(), "already failed");
    assert!(!h.race.is_done());
}

#[test]
fn sequential() {
    let config = RaceConfig {
        strategy: Strategy::Sequential,
        attempt_timeout: ms(1000),
        ..RaceConfig::default()
    };
    let mut h = Harness::new(config, &BOTH);
    // AAAA first with native IPv6: nothing an A answer could bring goes
    // before it, so it starts at once.
    assert_eq!(
        h.answer(Family::V6, &[teredo(1), v6(1), v6(2)], 0),
        [start(0, v6(1))]
    );
    // The A answer joins the untried part; one attempt at a time.
    assert!(h.answer(Family::V4, &[v4(1)], 200).is_empty());
    // Sorted, not interleaved; Teredo last.
    assert_eq!(order(&h.race), addrs(&[v6(1), v6(2), v4(1), teredo(1)]));
    // One at a time: no staggered start.
    assert_eq!(h.next_ms(), Some(1000));
    assert!(h.timer(450).is_empty());
    assert_eq!(h.fail(0, 500), [start(1, v6(2))]);
    assert_eq!(
        h.timer(1500),
        [cancel(1, CancelReason::AttemptTimeout), start(2, v4(1))]
    );
    assert_eq!(h.fail(2, 1600), [start(3, teredo(1))]);
    assert_eq!(
        h.connect(3, 1700),
        [Action::Done(Outcome::Connected { id: AttemptId(3) })]
    );
}

#[test]
fn sequential_waits_for_a_better_answer_up_to_the_resolution_delay() {
    let config = RaceConfig {
        strategy: Strategy::Sequential,
        total_timeout: ms(5000),
        ..RaceConfig::default()
    };
    // A first: native IPv6 could go before it, so AAAA gets the
    // Resolution Delay, as in the race.
    let mut h = Harness::new(config.clone(), &BOTH);
    assert!(h.answer(Family::V4, &[v4(1)], 0).is_empty());
    assert_eq!(h.next_ms(), Some(50));
    assert_eq!(h.timer(50), [start(0, v4(1))]);
    // AAAA within the delay: it goes first.
    let mut h = Harness::new(config, &BOTH);
    assert!(h.answer(Family::V4, &[v4(1)], 0).is_empty());
    assert_eq!(h.answer(Family::V6, &[v6(1)], 30), [start(0, v6(1))]);
}

#[test]
fn attempt_delay_clamped() {
    let mut config = RaceConfig::default();
    config.set_attempt_delay(ms(1));
    assert_eq!(config.attempt_delay(), ms(10));
    config.set_attempt_delay(Duration::from_secs(5));
    assert_eq!(config.attempt_delay(), Duration::from_secs(2));
    config.set_attempt_delay(ms(100));
    assert_eq!(config.attempt_delay(), ms(100));
    // Written directly, it is clamped when read.
    config.attempt_delay = Duration::ZERO;
    assert_eq!(config.attempt_delay(), ms(10));
    let mut h = Harness::new(config, &[Family::V4]);
    assert_eq!(h.answer(Family::V4, &[v4(1), v4(2)], 0), [start(0, v4(1))]);
    assert_eq!(h.next_ms(), Some(10));
}

#[test]
fn max_candidates() {
    let config = RaceConfig {
        max_candidates: 3,
        ..RaceConfig::default()
    };
    let mut h = Harness::new(config, &BOTH);
    // The answer's best are kept, whatever its order.
    h.answer(Family::V4, &[v4(1), v4(2)], 0);
    h.answer(Family::V6, &[v6(1), near(), v6(2)], 10);
    assert_eq!(h.race.order().len(), 3);
    assert_eq!(h.race.dropped(), 2);
    assert_eq!(order(&h.race), addrs(&[near(), v4(1), v4(2)]));

    let config = RaceConfig {
        max_candidates: 0,
        ..RaceConfig::default()
    };
    let mut h = Harness::new(config, &[Family::V4]);
    assert_eq!(
        h.answer(Family::V4, &[v4(1)], 0),
        [Action::Done(Outcome::NoAddresses)]
    );
    assert_eq!(h.race.dropped(), 1);
}

#[test]
fn many_candidates_beyond_inline_sort() {
    let config = RaceConfig {
        max_candidates: 100,
        ..RaceConfig::default()
    };
    let mut h = Harness::new(config, &BOTH);
    let six: Vec<_> = (1..=40).map(v6).collect();
    let four: Vec<_> = (1..=40).map(v4).collect();
    h.answer(Family::V4, &four, 0);
    h.answer(Family::V6, &six, 0);
    assert_eq!(h.race.order().len(), 80);
    assert_eq!(h.race.order()[..2], [v6(1), v4(1)]);
    assert_eq!(h.race.order()[78..], [v6(40), v4(40)]);
}

#[test]
fn candidate_helpers() {
    let c = v6(1);
    assert_eq!(c.addr().to_string(), "[2001:db8::1]:443");
    assert_eq!(c.family(), Family::V6);
    assert_eq!(v4(1).family(), Family::V4);
    assert!(teredo(1).is_teredo());
    assert!(!v4(1).is_teredo());
}

// --- Property test --------------------------------------------------------

/// One step of a random driver.
#[derive(Clone, Debug)]
enum Step {
    Answer(Family, Vec<u8>),
    QueryFailed(Family),
    Connected(u32),
    Failed(u32),
    Timer,
}

fn family() -> impl proptest::strategy::Strategy<Value = Family> {
    prop_oneof![Just(Family::V4), Just(Family::V6)]
}

fn step() -> impl proptest::strategy::Strategy<Value = Step> {
    prop_oneof![
        (family(), proptest::collection::vec(0u8..12, 0..6)).prop_map(|(f, v)| Step::Answer(f, v)),
        family().prop_map(Step::QueryFailed),
        (0u32..10).prop_map(Step::Connected),
        (0u32..10).prop_map(Step::Failed),
        Just(Step::Timer),
    ]
}

/// A candidate of `family` numbered `n`: some Teredo, some unusable.
fn numbered(family: Family, n: u8) -> Candidate {
    match (family, n % 4) {
        (Family::V4, 3) => {
            Candidate::new(Destination::unreachable(ip(&format!("203.0.113.{n}"))), 80)
        }
        (Family::V4, _) => v4(n),
        (Family::V6, 3) => teredo(u16::from(n)),
        (Family::V6, _) => v6(u16::from(n)),
    }
}

/// Checks one batch of actions against the attempts the driver knows of.
fn check_actions(
    actions: &[Action],
    started: &mut Vec<bool>,
    dones: &mut usize,
) -> Result<(), TestCaseError> {
    for (i, action) in actions.iter().enumerate() {
        prop_assert_eq!(*dones, 0, "action after Done: {:?}", action);
        match *action {
            Action::Start { id, .. } => {
                prop_assert_eq!(id.0 as usize, started.len(), "ids count up");
                started.push(true);
            }
            Action::Cancel { id, .. } => {
                let live = started.get(id.0 as usize).copied();
                prop_assert_eq!(live, Some(true), "cancel of {:?}", id);
                started[id.0 as usize] = false;
            }
            Action::Done(outcome) => {
                prop_assert_eq!(i, actions.len() - 1, "Done is last");
                if let Outcome::Connected { id } = outcome {
                    let live = started.get(id.0 as usize).copied();
                    prop_assert_eq!(live, Some(true), "winner {:?}", id);
                    started[id.0 as usize] = false;
                }
                *dones += 1;
            }
        }
    }
    Ok(())
}

proptest! {
    #[test]
    fn random_drivers(
        steps in proptest::collection::vec((step(), 0u64..400), 0..40),
        pending in proptest::sample::subsequence(vec![Family::V6, Family::V4], 0..=2),
        sequential in any::<bool>(),
        first_family_count in 0usize..4,
        max_candidates in 0usize..10,
        attempt_timeout in 1u64..3000,
    ) {
        let config = RaceConfig {
            strategy: if sequential { Strategy::Sequential } else { Strategy::Race },
            first_family_count,
            max_candidates,
            attempt_timeout: ms(attempt_timeout),
            total_timeout: ms(5000),
            ..RaceConfig::default()
        };
        let t0 = Instant::now();
        let mut race = Race::new(config, t0, &pending);
        let mut now = t0;
        let mut actions = Vec::new();
        // Which started attempts the driver still considers in flight.
        let mut started: Vec<bool> = Vec::new();
        let mut dones = 0;
        for (step, advance) in steps {
            now += ms(advance);
            let input = match step {
                Step::Answer(family, ns) => Input::Answer {
                    family,
                    candidates: ns.into_iter().map(|n| numbered(family, n)).collect(),
                },
                Step::QueryFailed(family) => Input::QueryFailed { family },
                Step::Connected(id) => Input::Connected { id: AttemptId(id) },
                Step::Failed(id) => Input::AttemptFailed { id: AttemptId(id) },
                Step::Timer => Input::Timer,
            };
            let live = match &input {
                Input::Connected { id } | Input::AttemptFailed { id } => {
                    started.get(id.0 as usize).copied().unwrap_or(false)
                }
                _ => false,
            };
            actions.clear();
            race.handle(input.clone(), now, &mut actions);
            check_actions(&actions, &mut started, &mut dones)?;
            match input {
                Input::AttemptFailed { id } if live => started[id.0 as usize] = false,
                _ => {}
            }
            prop_assert!(race.order().len() <= max_candidates);
            prop_assert_eq!(race.is_done(), dones == 1);
            prop_assert_eq!(race.in_flight(), started.iter().filter(|&&s| s).count());
            prop_assert_eq!(race.explain().len(), race.order().len().saturating_sub(1));
        }
        // Feeding the timers alone ends the race, within a bounded number
        // of wake-ups: each one starts or ends an attempt, or is a deadline.
        let mut wakeups = 0;
        while let Some(next) = race.poll_timeout() {
            prop_assert!(wakeups < 4 * max_candidates + 8, "no end in sight");
            wakeups += 1;
            now = now.max(next);
            actions.clear();
            race.handle(Input::Timer, now, &mut actions);
            check_actions(&actions, &mut started, &mut dones)?;
        }
        prop_assert_eq!(dones, 1);
        prop_assert!(race.is_done());
        prop_assert!(now <= t0 + ms(5000) || race.outcome().is_some());
    }
}

/// A Teredo-only AAAA answer that comes first does not start ahead of
/// IPv4: the race waits up to the Resolution Delay for the A answer,
/// which goes first (issue: AAAA answered from a cache before A).
#[test]
fn teredo_answered_first_waits_for_ipv4() {
    let mut h = Harness::race(&BOTH);
    assert!(h.answer(Family::V6, &[teredo(1)], 0).is_empty());
    assert_eq!(h.next_ms(), Some(50));
    assert_eq!(h.answer(Family::V4, &[v4(1)], 4), [start(0, v4(1))]);
    assert_eq!(order(&h.race), addrs(&[v4(1), teredo(1)]));
    // And when A never comes, Teredo goes when the delay ends.
    let mut h = Harness::race(&BOTH);
    assert!(h.answer(Family::V6, &[teredo(1)], 0).is_empty());
    assert_eq!(h.timer(50), [start(0, teredo(1))]);
}

/// With prospects that say what this host reaches, a query that cannot
/// bring anything better is not waited for: on a host with no IPv6 at
/// all, an A answer starts at once.
#[test]
fn prospects_of_the_host_decide_whether_to_wait() {
    // The host reaches IPv4 only: its IPv6 prospects have no source.
    let unreachable_v6 = Candidate::new(
        Destination {
            addr: ip("2001:4860:4860::8888"),
            source: None,
        },
        0,
    );
    let ipv4 = Candidate::new(
        Destination::with_source(ip("8.8.8.8"), ip("192.0.2.100"), SourceAttrs::default()),
        0,
    );
    let t0 = Instant::now();
    let mut race =
        Race::with_prospects(RaceConfig::default(), t0, &BOTH, vec![unreachable_v6, ipv4]);
    let mut actions = Vec::new();
    race.handle(
        Input::Answer {
            family: Family::V4,
            candidates: vec![v4(1)],
        },
        t0,
        &mut actions,
    );
    assert_eq!(actions, [start(0, v4(1))]);
}

/// One candidate of each kind, with a source of its own kind.
fn candidate_kinds() -> Vec<(&'static str, Candidate)> {
    let with = |d: &str, s: &str, tunnel: bool| {
        Candidate::new(
            Destination::with_source(
                ip(d),
                ip(s),
                SourceAttrs {
                    tunnel,
                    ..SourceAttrs::default()
                },
            ),
            443,
        )
    };
    vec![
        ("native", with("2001:db8::1", "2001:db8:ffff::100", false)),
        ("6to4", with("2002:c633:6401::1", "2002:c000:201::1", true)),
        ("teredo", teredo(7)),
        ("ula", with("fd00::1", "fd00::100", false)),
        (
            "nat64",
            with("64:ff9b::c633:6401", "2001:db8:ffff::100", false),
        ),
        ("loopback6", with("::1", "::1", false)),
        ("ipv4", v4(1)),
        ("ipv4-private", with("10.1.2.3", "10.0.0.2", false)),
        ("loopback4", with("127.0.0.1", "127.0.0.1", false)),
    ]
}

fn policies() -> Vec<(&'static str, Policy)> {
    let gai = |text: &str| Policy::from_gai_conf(text).unwrap();
    vec![
        ("rfc6724", Policy::rfc6724()),
        ("rfc3484", Policy::rfc3484()),
        ("windows", Policy::windows()),
        ("glibc", Policy::glibc()),
        // A gai.conf that puts IPv4 above everything.
        ("gai:ipv4-first", gai("precedence ::ffff:0:0/96 100\n")),
        // One that puts 6to4 above native IPv6.
        (
            "gai:6to4-first",
            gai("precedence 2002::/16 60\nprecedence ::/0 40\nprecedence ::ffff:0:0/96 35\n"),
        ),
    ]
}

/// For every policy, strategy, order of the two answers and what each
/// holds: the first attempt is the candidate the policy puts first among
/// both answers, as long as the second answer comes within the
/// Resolution Delay; and when the race started before the second answer,
/// nothing in it could have gone first.
#[test]
fn the_first_attempt_is_the_best_whatever_answers_first() {
    let kinds = candidate_kinds();
    let v6: Vec<_> = kinds
        .iter()
        .filter(|(_, c)| c.family() == Family::V6)
        .collect();
    let v4: Vec<_> = kinds
        .iter()
        .filter(|(_, c)| c.family() == Family::V4)
        .collect();
    let mut checked = 0;
    for (policy_name, policy) in policies() {
        for strategy in [Strategy::Race, Strategy::Sequential] {
            let config = RaceConfig {
                policy: policy.clone(),
                strategy,
                ..RaceConfig::default()
            };
            for (v6_name, v6_cand) in &v6 {
                for (v4_name, v4_cand) in &v4 {
                    for first in [Family::V4, Family::V6] {
                        let (first_cands, second_family, second_cands) = match first {
                            Family::V4 => (vec![*v4_cand], Family::V6, vec![*v6_cand]),
                            Family::V6 => (vec![*v6_cand], Family::V4, vec![*v4_cand]),
                        };
                        // What the policy puts first with both in hand.
                        let mut both = Harness::new(config.clone(), &BOTH);
                        both.answer(Family::V4, &[*v4_cand], 0);
                        both.answer(Family::V6, &[*v6_cand], 0);
                        let best = both.race.order()[0];
                        let case =
                            format!("{policy_name} {strategy} {v6_name}+{v4_name}, {first} first");
                        let mut h = Harness::new(config.clone(), &BOTH);
                        let early = h.answer(first, &first_cands, 0);
                        let late = h.answer(second_family, &second_cands, 20);
                        let first_start = early.iter().chain(&late).find_map(|a| match a {
                            Action::Start { candidate, .. } => Some(*candidate),
                            _ => None,
                        });
                        assert_eq!(first_start, Some(best), "{case}: first attempt");
                        if !early.is_empty() {
                            // Started before the second answer: nothing it
                            // held could go first.
                            assert_eq!(first_cands[0], best, "{case}: started too early");
                        }
                        checked += 1;
                    }
                }
            }
        }
    }
    assert_eq!(checked, 6 * 2 * 6 * 3 * 2);
}

/// The delay is bounded: an answer that could go first but comes after
/// the Resolution Delay does not hold the race back, whatever the policy.
#[test]
fn the_resolution_delay_bounds_the_wait_for_every_policy() {
    for (name, policy) in policies() {
        let config = RaceConfig {
            policy,
            ..RaceConfig::default()
        };
        for first in [Family::V4, Family::V6] {
            let mut h = Harness::new(config.clone(), &BOTH);
            let cand = if first == Family::V4 {
                v4(1)
            } else {
                teredo(1)
            };
            let early = h.answer(first, &[cand], 0);
            if early.is_empty() {
                assert_eq!(h.next_ms(), Some(50), "{name} {first}");
                assert_eq!(h.timer(50), [start(0, cand)], "{name} {first}");
            }
        }
    }
}

mod history {
    //! What connection history changes in a race, on the virtual clock.

    use super::*;
    use crate::history::{Advice, DelaySource, Note, Past};

    fn failed(last: Past) -> Note {
        let mut n = Note {
            last,
            ..Note::default()
        };
        match last {
            Past::Lost { to } => {
                n.lost = 1;
                n.lost_to = Some(to);
            }
            _ => n.timed_out = 1,
        }
        n
    }

    fn connected(handshake_ms: u64) -> Note {
        Note {
            connected: 1,
            last: Past::Connected {
                handshake: ms(handshake_ms),
            },
            handshake: Some(ms(handshake_ms)),
            ..Note::default()
        }
    }

    fn advice(v4: Option<Note>, v6: Option<Note>) -> Advice {
        Advice::new([v4, v6], ms(100), ms(2000))
    }

    #[test]
    fn an_address_that_failed_here_goes_after_those_that_did_not() {
        let mut h = Harness::race(&[Family::V6]);
        h.race.advise(advice(None, None));
        // `near` goes first by RFC 6724 rule 9, but it was lost lately.
        h.race
            .add_note(near().dest.addr, failed(Past::Lost { to: Family::V4 }));
        let actions = h.answer(Family::V6, &[near(), v6(1)], 0);
        assert_eq!(actions, [start(0, v6(1))]);
        assert_eq!(h.race.order(), [v6(1), near()]);
        assert_eq!(h.race.placements(), [Placement::History]);
        // It still gets its attempt when the delay passes.
        assert_eq!(h.next_ms(), Some(250));
        assert_eq!(h.timer(250), [start(1, near())]);
    }

    #[test]
    fn a_family_that_failed_here_gives_the_other_the_first_turn() {
        let mut h = Harness::race(&[Family::V6, Family::V4]);
        h.race
            .advise(advice(None, Some(failed(Past::Lost { to: Family::V4 }))));
        // AAAA answers first: with IPv6 demoted the race does not start
        // on it while A is out...
        assert!(h.answer(Family::V6, &[v6(1), v6(2)], 0).is_empty());
        // ...and A's answer starts IPv4 at once, IPv6 one delay later.
        assert_eq!(h.answer(Family::V4, &[v4(1)], 5), [start(0, v4(1))]);
        assert_eq!(h.race.order(), [v4(1), v6(1), v6(2)]);
        assert_eq!(
            h.race.placements(),
            [Placement::History, Placement::Rule(Rule::KeepOrder)]
        );
        assert_eq!(h.timer(255), [start(1, v6(1))]);
    }

    #[test]
    fn a_demoted_family_does_not_hold_the_start_back() {
        // Without history, an A answer waits up to the Resolution Delay for
        // AAAA (native IPv6 would go first)...
        let mut plain = Harness::race(&[Family::V6, Family::V4]);
        assert!(plain.answer(Family::V4, &[v4(1)], 0).is_empty());
        assert_eq!(plain.next_ms(), Some(50));
        // ...with IPv6 failing here lately, it starts at once.
        let mut h = Harness::race(&[Family::V6, Family::V4]);
        h.race.advise(advice(None, Some(failed(Past::TimedOut))));
        assert_eq!(h.answer(Family::V4, &[v4(1)], 0), [start(0, v4(1))]);
    }

    #[test]
    fn the_attempt_delay_follows_the_handshake_times() {
        let mut h = Harness::race(&[Family::V6]);
        h.race.advise(advice(None, None));
        h.race.add_note(v6(1).dest.addr, connected(80));
        assert_eq!(h.answer(Family::V6, &[v6(1), v6(2)], 0), [start(0, v6(1))]);
        // Twice the 80 ms handshake, not the configured 250 ms.
        assert_eq!(h.next_ms(), Some(160));
        assert_eq!(
            h.race.attempt_delay_after(0),
            (ms(160), DelaySource::Address { handshake: ms(80) })
        );
        assert_eq!(h.timer(160), [start(1, v6(2))]);
        // The second is unknown: the configured delay after it.
        assert_eq!(h.race.attempt_delay_after(1).1, DelaySource::Configured);
    }

    /// Whatever bounds the advice was made with, a delay derived from
    /// handshake times stays within RFC 8305's 10 ms to 2 s.
    #[test]
    fn a_derived_attempt_delay_stays_within_rfc_8305s_bounds() {
        let candidates = [v6(1), v6(2), v6(3)];
        let mut h = Harness::race(&[Family::V6]);
        h.race
            .advise(Advice::new([None, None], Duration::ZERO, Duration::ZERO));
        for c in &candidates {
            h.race.add_note(c.dest.addr, connected(0));
        }
        assert_eq!(h.answer(Family::V6, &candidates, 0), [start(0, v6(1))]);
        assert_eq!(h.race.attempt_delay_after(0).0, ms(10));
        assert_eq!(h.next_ms(), Some(10));
        assert_eq!(h.timer(10), [start(1, v6(2))]);
        // The slowest handshakes wait 2 s at most.
        let mut h = Harness::race(&[Family::V6]);
        h.race.advise(Advice::new(
            [None, None],
            Duration::from_secs(5),
            Duration::from_secs(60),
        ));
        h.race.add_note(v6(1).dest.addr, connected(10_000));
        assert_eq!(h.answer(Family::V6, &candidates, 0), [start(0, v6(1))]);
        assert_eq!(h.next_ms(), Some(2000));
    }

    #[test]
    fn a_sequential_connect_tries_the_demoted_family_last() {
        let config = RaceConfig {
            strategy: Strategy::Sequential,
            ..RaceConfig::default()
        };
        let mut h = Harness::new(config, &[Family::V6, Family::V4]);
        h.race.advise(advice(None, Some(failed(Past::TimedOut))));
        h.answer(Family::V6, &[v6(1)], 0);
        assert_eq!(h.answer(Family::V4, &[v4(1), v4(2)], 1), [start(0, v4(1))]);
        assert_eq!(h.race.order(), [v4(1), v4(2), v6(1)]);
    }

    #[test]
    fn advice_given_late_reorders_only_what_is_not_attempted() {
        let mut h = Harness::race(&[Family::V6]);
        assert_eq!(
            h.answer(Family::V6, &[near(), v6(1), v6(2)], 0),
            [start(0, near())]
        );
        let mut a = advice(None, None);
        a.add(v6(1).dest.addr, failed(Past::TimedOut));
        h.race.advise(a);
        assert_eq!(h.race.order(), [near(), v6(2), v6(1)]);
    }

    #[test]
    fn teredo_stays_last_whatever_history_says() {
        let mut h = Harness::race(&[Family::V6, Family::V4]);
        h.race.advise(advice(Some(failed(Past::TimedOut)), None));
        h.race.add_note(v4(1).dest.addr, failed(Past::TimedOut));
        h.answer(Family::V6, &[teredo(1)], 0);
        h.answer(Family::V4, &[v4(1)], 1);
        assert_eq!(h.race.order(), [v4(1), teredo(1)]);
    }
}
