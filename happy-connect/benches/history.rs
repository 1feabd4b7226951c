//! `history/*`: what connection history costs a connect.
//!
//! - `history/note`: what history says of one candidate, in a full
//!   history (4,096 entries over several networks and partitions), read
//!   through the public [`History::note`] (which also reads the clock). A
//!   connect pays this once per candidate; the target is at most 200 ns.
//! - `history/record`: remembering one outcome (a failure, always
//!   written) of an attempt, and of its family.
//! - `history/race_advised/4`: a whole race over 4 IPv4 and 4 IPv6
//!   candidates with history's advice (IPv6 demoted, notes for every
//!   address), next to `history_baseline/race_advised/4`, the same race
//!   without advice.

use std::hint::black_box;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::time::{Duration, Instant};

use criterion::{BatchSize, Criterion};
use happy_connect::history::{Advice, History, Past};
use happy_connect::probe::NetworkId;
use happy_connect::race::{Candidate, Family, Input, Race, RaceConfig};
use happy_connect::sort::{Destination, SourceAttrs};

const HOME: NetworkId = NetworkId::from_u64(7);

fn v6(i: u16) -> IpAddr {
    Ipv6Addr::new(0x2001, 0xdb8, 1, 0, 0, 0, 0, i).into()
}

fn v4(i: u8) -> IpAddr {
    Ipv4Addr::new(198, 51, 100, i).into()
}

/// A history filled to its capacity.
fn full() -> History {
    let history = History::new();
    for i in 0..10_000u32 {
        let addr = IpAddr::V6(Ipv6Addr::new(
            0x2001,
            0xdb8,
            9,
            0,
            0,
            0,
            (i >> 16) as u16,
            i as u16,
        ));
        let network = NetworkId::from_u64(u64::from(i % 5));
        history.record(network, None, addr, Past::TimedOut);
    }
    for i in 1..=4 {
        history.record(HOME, None, v6(i.into()), Past::Lost { to: Family::V4 });
        history.record(
            HOME,
            None,
            v4(i),
            Past::Connected {
                handshake: Duration::from_millis(2),
            },
        );
    }
    history
}

fn candidates(addrs: &[IpAddr], source: IpAddr) -> Vec<Candidate> {
    addrs
        .iter()
        .map(|&a| {
            Candidate::new(
                Destination::with_source(a, source, SourceAttrs::default()),
                443,
            )
        })
        .collect()
}

fn race(advice: Option<&Advice>) -> (Race, Vec<Candidate>, Vec<Candidate>) {
    let mut race = Race::new(
        RaceConfig::default(),
        Instant::now(),
        &[Family::V6, Family::V4],
    );
    if let Some(advice) = advice {
        race.advise(advice.clone());
    }
    let a = candidates(&(1..=4).map(v4).collect::<Vec<_>>(), v4(200));
    let aaaa = candidates(&(1..=4).map(v6).collect::<Vec<_>>(), v6(200));
    (race, a, aaaa)
}

fn run(mut race: Race, a: Vec<Candidate>, aaaa: Vec<Candidate>) -> Race {
    let mut actions = Vec::with_capacity(8);
    let now = Instant::now();
    race.handle(
        Input::Answer {
            family: Family::V6,
            candidates: aaaa,
        },
        now,
        &mut actions,
    );
    race.handle(
        Input::Answer {
            family: Family::V4,
            candidates: a,
        },
        now,
        &mut actions,
    );
    race
}

fn main() {
    let mut c = Criterion::default().configure_from_args();
    let history = full();
    let probe = v6(1);
    c.bench_function("history/note", |b| {
        b.iter(|| black_box(history.note(HOME, None, black_box(probe))));
    });
    let mut i = 0u16;
    c.bench_function("history/record", |b| {
        b.iter(|| {
            i = i.wrapping_add(1);
            history.record(HOME, None, v6(i), Past::Refused);
        });
    });

    let fresh = full();
    let mut advice = Advice::new(
        [
            fresh.family_note(HOME, None, Family::V4),
            fresh.family_note(HOME, None, Family::V6),
        ],
        Duration::from_millis(100),
        Duration::from_secs(2),
    );
    for a in (1..=4).map(v6).chain((1..=4).map(v4)) {
        advice.add(a, fresh.note(HOME, None, a).expect("a note"));
    }
    assert_eq!(advice.demoted_family(), Some(Family::V6));
    c.bench_function("history/race_advised/4", |b| {
        b.iter_batched(
            || race(Some(&advice)),
            |(r, a, aaaa)| black_box(run(r, a, aaaa)),
            BatchSize::SmallInput,
        );
    });
    c.bench_function("history_baseline/race_advised/4", |b| {
        b.iter_batched(
            || race(None),
            |(r, a, aaaa)| black_box(run(r, a, aaaa)),
            BatchSize::SmallInput,
        );
    });
    c.final_summary();
}
