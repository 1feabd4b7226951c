//! A name whose answers are in at once (here a table) and bring one
//! address has nothing to race: the connector makes its one attempt
//! without the race. Each case here runs twice, once with the table
//! answering at once (that fast path) and once with the same table
//! answering after a zero delay (the general path, through the race), and
//! the two must agree: the outcome, the report (times aside) and what
//! history learns, which the next connect's report shows.

use std::net::IpAddr;
use std::time::Duration;

use happy_connect::history::{Note, Past};
use happy_connect::resolve::{RecordType, StaticResolver};
use happy_connect::{
    AaaaPolicy, AttemptOutcome, ConnectErrorKind, ConnectReport, Connector, QueryReport,
};

use crate::connect::{Mode, Ports, V4_IP, V6_IP};

const NAME: &str = "one.test";

/// The connector answering at once, and the one answering after a zero
/// delay; each with a history of its own.
fn pair(addrs: &[IpAddr], tune: impl Fn(&mut Connector)) -> [Connector; 2] {
    let table = StaticResolver::new().with(NAME, addrs);
    let delayed = table
        .clone()
        .with_delay(RecordType::A, Duration::ZERO)
        .with_delay(RecordType::Aaaa, Duration::ZERO);
    [table, delayed].map(|resolver| {
        let mut c = Connector::new();
        c.set_resolver(resolver).set_aaaa(AaaaPolicy::Always);
        tune(&mut c);
        c
    })
}

/// A note without its times (the two connectors learned a moment apart).
fn timeless(note: Option<Note>) -> Option<Note> {
    note.map(|mut n| {
        n.age = Duration::ZERO;
        n.handshake = n.handshake.map(|_| Duration::ZERO);
        if let Past::Connected { handshake } = &mut n.last {
            *handshake = Duration::ZERO;
        }
        n
    })
}

/// A query without its time.
fn untimed(q: &QueryReport) -> String {
    format!(
        "{} sent={} ({}) answers={:?} error={:?}",
        q.rtype,
        q.sent,
        q.reason,
        q.answers,
        q.error.as_ref().map(ToString::to_string)
    )
}

/// Asserts that two reports say the same, times aside.
fn assert_same(fast: &ConnectReport, raced: &ConnectReport) {
    let both = format!("answered at once:\n{fast}\nthrough the race:\n{raced}");
    assert_eq!(fast.host, raced.host, "{both}");
    assert_eq!(fast.port, raced.port, "{both}");
    assert_eq!(fast.strategy, raced.strategy, "{both}");
    assert_eq!(fast.capabilities, raced.capabilities, "{both}");
    assert_eq!(fast.host_unavailable, raced.host_unavailable, "{both}");
    assert_eq!(fast.dropped_candidates, raced.dropped_candidates, "{both}");
    assert_eq!(fast.history, raced.history, "{both}");
    assert_eq!(fast.winner, raced.winner, "{both}");
    let queries = |r: &ConnectReport| r.queries.iter().map(untimed).collect::<Vec<_>>();
    assert_eq!(queries(fast), queries(raced), "{both}");
    assert!(
        fast.queries.iter().all(|q| q.elapsed.is_some() == q.sent),
        "{both}"
    );
    let candidates = |r: &ConnectReport| {
        r.candidates
            .iter()
            .map(|c| {
                let mut c = c.clone();
                c.history = timeless(c.history);
                c
            })
            .collect::<Vec<_>>()
    };
    assert_eq!(candidates(fast), candidates(raced), "{both}");
    let attempts = |r: &ConnectReport| {
        r.attempts
            .iter()
            .map(|a| (a.address, a.source, a.outcome.clone(), a.history_delay))
            .collect::<Vec<_>>()
    };
    assert_eq!(attempts(fast), attempts(raced), "{both}");
    for a in &fast.attempts {
        assert!(a.end.is_some_and(|end| end >= a.start), "{both}");
    }
}

/// Connects with both connectors; asserts that they agree and returns
/// the fast one's outcome: the report, and the error's kind if it failed.
async fn both(connectors: &[Connector; 2], port: u16) -> (ConnectReport, Option<ConnectErrorKind>) {
    let mut outcomes = Vec::new();
    for c in connectors {
        outcomes.push(match c.connect(NAME, port).await {
            Ok((_stream, report)) => (report, None),
            Err(err) => (err.report().clone(), Some(err.kind())),
        });
    }
    let raced = outcomes.pop().expect("two outcomes");
    let fast = outcomes.pop().expect("two outcomes");
    println!(
        "answered at once:\n{}\nthrough the race:\n{}",
        fast.0, raced.0
    );
    assert_eq!(fast.1, raced.1, "the error kinds differ");
    assert_same(&fast.0, &raced.0);
    (fast.0, fast.1)
}

#[tokio::test]
async fn one_address_connects_and_is_learned_as_through_the_race() {
    for (ip, ports) in [
        (V4_IP, Ports::new(Mode::Listen, Mode::Refuse)),
        (V6_IP, Ports::new(Mode::Refuse, Mode::Listen)),
    ] {
        let connectors = pair(&[ip], |_| {});
        let (report, kind) = both(&connectors, ports.port).await;
        assert_eq!(kind, None, "{report}");
        assert_eq!(report.candidates.len(), 1, "{report}");
        assert_eq!(report.attempts.len(), 1, "{report}");
        assert_eq!(report.attempts[0].outcome, AttemptOutcome::Connected);
        assert_eq!(report.winner.map(|w| w.address.ip()), Some(ip), "{report}");
        assert!(report.history.is_some(), "history was not read:\n{report}");
        // The other family's query came back empty, and says so.
        let other = if ip.is_ipv4() {
            RecordType::Aaaa
        } else {
            RecordType::A
        };
        let q = report.queries.iter().find(|q| q.rtype == other);
        assert!(q.is_some_and(|q| q.error.is_some()), "{report}");

        // The connection was remembered: the next connect's candidate
        // carries the note.
        let (report, _) = both(&connectors, ports.port).await;
        let note = report.candidates[0].history;
        assert!(note.is_some_and(|n| n.connected == 1), "{report}");
    }
}

#[tokio::test]
async fn a_refused_address_fails_and_is_learned_as_through_the_race() {
    let ports = Ports::new(Mode::Refuse, Mode::Refuse);
    let connectors = pair(&[V4_IP], |_| {});
    let (report, kind) = both(&connectors, ports.port).await;
    assert_eq!(kind, Some(ConnectErrorKind::AllAttemptsFailed), "{report}");
    assert_eq!(report.attempts[0].outcome, AttemptOutcome::Refused);
    assert!(report.winner.is_none());
    let (report, _) = both(&connectors, ports.port).await;
    let note = report.candidates[0].history;
    assert!(note.is_some_and(|n| n.refused == 1), "{report}");
}

#[tokio::test]
async fn a_blackholed_address_times_out_as_through_the_race() {
    let ports = Ports::new(Mode::Blackhole, Mode::Refuse);
    // The attempt's own timeout...
    let connectors = pair(&[V4_IP], |c| {
        c.race_mut().attempt_timeout = Duration::from_millis(300);
    });
    let (report, kind) = both(&connectors, ports.port).await;
    assert_eq!(kind, Some(ConnectErrorKind::AllAttemptsFailed), "{report}");
    assert_eq!(report.attempts[0].outcome, AttemptOutcome::TimedOut);
    let (report, _) = both(&connectors, ports.port).await;
    let note = report.candidates[0].history;
    assert!(note.is_some_and(|n| n.timed_out == 1), "{report}");

    // ...and the connect's, shorter.
    let connectors = pair(&[V4_IP], |c| {
        c.race_mut().total_timeout = Duration::from_millis(300);
    });
    let (report, kind) = both(&connectors, ports.port).await;
    assert_eq!(kind, Some(ConnectErrorKind::TimedOut), "{report}");
    assert_eq!(report.attempts[0].outcome, AttemptOutcome::Abandoned);
}

#[tokio::test]
async fn the_same_address_twice_is_one_candidate_both_ways() {
    let ports = Ports::new(Mode::Listen, Mode::Refuse);
    let connectors = pair(&[V4_IP, V4_IP], |_| {});
    let (report, kind) = both(&connectors, ports.port).await;
    assert_eq!(kind, None, "{report}");
    assert_eq!(report.candidates.len(), 1, "{report}");
}

#[tokio::test]
async fn history_off_or_partitioned_is_reported_alike() {
    let ports = Ports::new(Mode::Listen, Mode::Refuse);
    let connectors = pair(&[V4_IP], |c| {
        c.set_history(None);
    });
    let (report, _) = both(&connectors, ports.port).await;
    assert!(report.history.is_none(), "{report}");
    let connectors = pair(&[V4_IP], |c| {
        c.set_history_key(Some("tenant"));
    });
    let (report, _) = both(&connectors, ports.port).await;
    assert!(report.history.is_some_and(|h| h.partitioned), "{report}");
}
