//! `happy_connect::race::Race` driven by inputs decoded from bytes, with
//! its contract checked: only started, unfinished attempts are named, Done
//! comes once and last, and a driver that ends what it has sees the race
//! end.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use happy_connect::race::{
    Action, AttemptId, Candidate, Family, Input, Outcome, Race, RaceConfig, Strategy,
};
use happy_connect::sort::{Destination, SourceAttrs};

/// Reads bytes, 0 once they run out.
struct Bytes<'a>(&'a [u8]);

impl Bytes<'_> {
    fn u8(&mut self) -> u8 {
        match self.0.split_first() {
            Some((&b, rest)) => {
                self.0 = rest;
                b
            }
            None => 0,
        }
    }

    fn u16(&mut self) -> u16 {
        u16::from_le_bytes([self.u8(), self.u8()])
    }
}

fn candidate(family: Family, n: u8) -> Candidate {
    let port = if n & 0x80 != 0 { 8080 } else { 443 };
    let dest = match (family, n % 5) {
        (Family::V4, 4) => Destination::unreachable(IpAddr::V4(Ipv4Addr::new(203, 0, 113, n))),
        (Family::V4, _) => Destination::with_source(
            IpAddr::V4(Ipv4Addr::new(198, 51, 100, n)),
            IpAddr::V4(Ipv4Addr::new(192, 0, 2, 100)),
            SourceAttrs::default(),
        ),
        (Family::V6, 4) => Destination::with_source(
            IpAddr::V6(Ipv6Addr::new(
                0x2001,
                0,
                0x4136,
                0xe378,
                0x8000,
                0x63bf,
                0x3fff,
                n.into(),
            )),
            IpAddr::V6(Ipv6Addr::new(
                0x2001, 0, 0xc633, 0x640a, 0x8000, 0xf227, 0xbd6a, 0x13fe,
            )),
            SourceAttrs::default(),
        ),
        (Family::V6, _) => Destination::with_source(
            IpAddr::V6(Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, n.into())),
            IpAddr::V6(Ipv6Addr::new(0x2001, 0xdb8, 0xffff, 0, 0, 0, 0, 0x100)),
            SourceAttrs::default(),
        ),
    };
    Candidate::new(dest, port)
}

fn family(b: u8) -> Family {
    if b & 1 == 0 { Family::V4 } else { Family::V6 }
}

/// Checks a batch of actions against the attempts the driver knows.
fn check(actions: &[Action], live: &mut Vec<bool>, dones: &mut usize) {
    for (i, action) in actions.iter().enumerate() {
        assert_eq!(*dones, 0, "action after Done: {action:?}");
        match *action {
            Action::Start { id, .. } => {
                assert_eq!(id.0 as usize, live.len(), "ids count up");
                live.push(true);
            }
            Action::Cancel { id, .. } => {
                assert_eq!(live.get(id.0 as usize), Some(&true), "cancel of {id:?}");
                live[id.0 as usize] = false;
            }
            Action::Done(outcome) => {
                assert_eq!(i, actions.len() - 1, "Done is last");
                if let Outcome::Connected { id } = outcome {
                    assert_eq!(live.get(id.0 as usize), Some(&true), "winner {id:?}");
                    live[id.0 as usize] = false;
                }
                *dones += 1;
            }
            _ => panic!("unknown action {action:?}"),
        }
    }
}

fn drive(data: &[u8]) {
    let mut b = Bytes(data);
    let flags = b.u8();
    let mut config = RaceConfig {
        strategy: if flags & 1 == 0 {
            Strategy::Race
        } else {
            Strategy::Sequential
        },
        first_family_count: usize::from(b.u8() % 5),
        max_candidates: usize::from(b.u8() % 48),
        attempt_timeout: Duration::from_millis(b.u16().into()),
        total_timeout: Duration::from_millis(u64::from(b.u16()) * 4),
        resolution_delay: Duration::from_millis(b.u8().into()),
        ..RaceConfig::default()
    };
    if flags & 2 != 0 {
        config.attempt_timeout = Duration::MAX;
    }
    if flags & 4 != 0 {
        config.total_timeout = Duration::MAX;
    }
    config.set_attempt_delay(Duration::from_millis(b.u16().into()));
    let pending: Vec<Family> = match (flags >> 3) & 3 {
        0 => vec![],
        1 => vec![Family::V4],
        2 => vec![Family::V6],
        _ => vec![Family::V6, Family::V4],
    };
    let t0 = Instant::now();
    let mut race = Race::new(config, t0, &pending);
    let mut now = t0;
    let mut live = Vec::new();
    let mut dones = 0;
    let mut actions = Vec::new();
    for _ in 0..64 {
        if b.0.is_empty() {
            break;
        }
        let op = b.u8();
        let step = Duration::from_millis(u64::from(b.u8()) * 4);
        now = if op & 0x80 != 0 {
            now.checked_sub(step).unwrap_or(now)
        } else {
            now + step
        };
        let input = match op % 6 {
            0 | 1 => {
                let f = family(op >> 3);
                let n = b.u8() % 64;
                Input::Answer {
                    family: f,
                    candidates: (0..n).map(|_| candidate(f, b.u8())).collect(),
                }
            }
            2 => Input::QueryFailed {
                family: family(op >> 3),
            },
            3 => Input::Connected {
                id: AttemptId(b.u16().into()),
            },
            4 => Input::AttemptFailed {
                id: AttemptId(b.u16().into()),
            },
            _ => Input::Timer,
        };
        // A failure report ends the attempt for the driver too, if it was
        // live before the call (the call itself may start that id).
        let failed = match input {
            Input::AttemptFailed { id } => {
                Some(id.0 as usize).filter(|&i| live.get(i).copied().unwrap_or(false))
            }
            _ => None,
        };
        actions.clear();
        race.handle(input, now, &mut actions);
        check(&actions, &mut live, &mut dones);
        if let Some(l) = failed.and_then(|i| live.get_mut(i)) {
            *l = false;
        }
        assert!(race.order().len() <= race.config().max_candidates.max(1));
        assert_eq!(race.in_flight(), live.iter().filter(|&&l| l).count());
        let _ = race.placements();
    }
    let mut wakeups = 0;
    while !race.is_done() {
        wakeups += 1;
        assert!(wakeups < 256, "no end in sight");
        now += Duration::from_millis(1);
        for f in [Family::V4, Family::V6] {
            actions.clear();
            race.handle(Input::QueryFailed { family: f }, now, &mut actions);
            check(&actions, &mut live, &mut dones);
        }
        for i in 0..live.len() {
            if live[i] {
                live[i] = false;
                actions.clear();
                race.handle(
                    Input::AttemptFailed {
                        id: AttemptId(i as u32),
                    },
                    now,
                    &mut actions,
                );
                check(&actions, &mut live, &mut dones);
            }
        }
        if let Some(next) = race.poll_timeout() {
            now = now.max(next);
        }
        actions.clear();
        race.handle(Input::Timer, now, &mut actions);
        check(&actions, &mut live, &mut dones);
    }
    assert_eq!(dones, 1);
}

fn main() -> ExitCode {
    let seeds: &[&[u8]] = &[
        &[
            0x18, 1, 8, 0xe8, 0x03, 0x10, 0x27, 50, 250, 0, 0, 5, 1, 2, 3, 4, 5, 1, 10, 3, 9, 8, 7,
            3, 0, 0, 0,
        ],
        &[
            0x19, 2, 4, 100, 0, 200, 0, 10, 10, 0, 2, 0, 2, 0, 1, 3, 1, 2, 3, 5, 50, 4, 0, 0,
        ],
        &[
            0x0e, 0, 47, 0, 0, 0, 0, 0, 0, 0, 0, 1, 40, 1, 2, 3, 4, 5, 6, 7, 8, 9,
        ],
    ];
    happy_connect_fuzz::main("race", seeds, 512, drive)
}
