//! `race/events`: what the RFC 8305 state machine costs per input.
//!
//! One iteration replays a whole race over 4 IPv4 and 4 IPv6 candidates on
//! a virtual clock: the A answer, then the AAAA answer inside the
//! Resolution Delay, staggered starts on timers, refusals, and finally a
//! connection: 10 inputs. Criterion reports the time per race and, as the
//! throughput, inputs per second; the time per input is the time per race
//! divided by 10. The answers' vectors and the `Race` itself are built and
//! dropped outside the timed part, so `Race::new` is not counted.

use std::hint::black_box;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::time::{Duration, Instant};

use criterion::{BatchSize, Criterion, Throughput};
use happy_connect::race::{Action, AttemptId, Candidate, Family, Input, Race, RaceConfig};
use happy_connect::sort::{Destination, SourceAttrs};

fn candidate(dest: IpAddr, source: IpAddr) -> Candidate {
    Candidate::new(
        Destination::with_source(dest, source, SourceAttrs::default()),
        443,
    )
}

fn answers() -> (Vec<Candidate>, Vec<Candidate>) {
    let v4 = (1..=4)
        .map(|i| {
            candidate(
                Ipv4Addr::new(198, 51, 100, i).into(),
                Ipv4Addr::new(192, 0, 2, 10).into(),
            )
        })
        .collect();
    let v6 = (1..=4)
        .map(|i| {
            candidate(
                Ipv6Addr::new(0x2001, 0xdb8, 1, 0, 0, 0, 0, i).into(),
                Ipv6Addr::new(0x2001, 0xdb8, 2, 0, 0, 0, 0, 10).into(),
            )
        })
        .collect();
    (v4, v6)
}

/// The inputs of one race after the two answers, and how far apart they
/// come: `None` for a timer fed at `poll_timeout()`.
const SCRIPT: [(Option<Input>, u64); 8] = [
    (None, 0),
    (Some(Input::AttemptFailed { id: AttemptId(0) }), 5),
    (None, 0),
    (Some(Input::AttemptFailed { id: AttemptId(2) }), 20),
    (None, 0),
    (Some(Input::AttemptFailed { id: AttemptId(1) }), 10),
    (None, 0),
    (Some(Input::Connected { id: AttemptId(4) }), 30),
];

/// Every input of the race: two answers and the script.
const INPUTS: u64 = 2 + SCRIPT.len() as u64;

/// Plays one race; returns it (so that dropping it is not timed) and how
/// many actions it produced.
fn play(
    mut race: Race,
    t0: Instant,
    v4: Vec<Candidate>,
    v6: Vec<Candidate>,
    actions: &mut Vec<Action>,
) -> (Race, usize) {
    actions.clear();
    let ms = Duration::from_millis;
    race.handle(
        Input::Answer {
            family: Family::V4,
            candidates: v4,
        },
        t0 + ms(10),
        actions,
    );
    let mut now = t0 + ms(30);
    race.handle(
        Input::Answer {
            family: Family::V6,
            candidates: v6,
        },
        now,
        actions,
    );
    for (input, after) in SCRIPT {
        let input = match input {
            Some(input) => {
                now += ms(after);
                input
            }
            None => {
                now = race.poll_timeout().unwrap_or(now);
                Input::Timer
            }
        };
        race.handle(black_box(input), now, actions);
    }
    debug_assert!(race.is_done());
    (race, actions.len())
}

fn bench_events(c: &mut Criterion) {
    let (v4, v6) = answers();
    let config = RaceConfig::default();
    let t0 = Instant::now();
    let mut actions = Vec::with_capacity(64);
    // Check the script once: it must end in a connection.
    let (_, ends) = play(
        Race::new(config.clone(), t0, &[Family::V6, Family::V4]),
        t0,
        v4.clone(),
        v6.clone(),
        &mut actions,
    );
    assert!(matches!(
        actions[ends - 1],
        Action::Done(happy_connect::race::Outcome::Connected { .. })
    ));

    let mut group = c.benchmark_group("race");
    group.throughput(Throughput::Elements(INPUTS));
    group.bench_function("events", |b| {
        b.iter_batched(
            || {
                (
                    Race::new(config.clone(), t0, &[Family::V6, Family::V4]),
                    v4.clone(),
                    v6.clone(),
                )
            },
            |(race, v4, v6)| play(race, t0, v4, v6, &mut actions),
            BatchSize::SmallInput,
        );
    });
    group.finish();
}

fn main() {
    let mut criterion = Criterion::default().configure_from_args();
    bench_events(&mut criterion);
    criterion.final_summary();
}
