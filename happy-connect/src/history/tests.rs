use std::net::IpAddr;
use std::time::Duration;

use iface_probe::NetworkId;

use super::*;

const HOME: NetworkId = NetworkId::from_u64(1);
const AWAY: NetworkId = NetworkId::from_u64(2);

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

fn ok(ms: u64) -> Past {
    Past::Connected {
        handshake: Duration::from_millis(ms),
    }
}

#[test]
fn notes_are_kept_per_network_and_partition() {
    let h = History::new();
    let a = ip("2001:db8::1");
    h.record(HOME, None, a, Past::TimedOut);
    assert!(h.note(HOME, None, a).unwrap().demoted());
    assert_eq!(h.note(AWAY, None, a), None, "another network knows nothing");
    assert_eq!(h.note(HOME, Some("alice"), a), None, "another partition");
    h.record(HOME, Some("alice"), a, ok(3));
    assert!(!h.note(HOME, Some("alice"), a).unwrap().demoted());
    assert!(h.note(HOME, None, a).unwrap().demoted(), "untouched");
    // Coming back to the first network finds its notes again.
    h.record(AWAY, None, a, ok(5));
    assert!(h.note(HOME, None, a).unwrap().demoted());
}

#[test]
fn every_outcome_also_counts_for_its_family() {
    let h = History::new();
    h.record(HOME, None, ip("2001:db8::1"), Past::TimedOut);
    h.record(HOME, None, ip("2001:db8::2"), Past::Lost { to: Family::V4 });
    h.record(HOME, None, ip("192.0.2.1"), ok(2));
    let v6 = h.family_note(HOME, None, Family::V6).unwrap();
    assert_eq!((v6.timed_out, v6.lost), (1, 1));
    assert!(v6.all_failed());
    let advice = h.partition(HOME, None).advice();
    assert_eq!(advice.demoted_family(), Some(Family::V6));
    // A name never seen before gets the family's delay.
    let (delay, source) = advice.attempt_delay(ip("192.0.2.99"), Duration::from_millis(250));
    assert_eq!(delay, Duration::from_millis(100));
    assert!(matches!(
        source,
        DelaySource::Family {
            family: Family::V4,
            ..
        }
    ));
}

#[test]
fn repeated_connections_are_not_all_written() {
    let h = History::new();
    let a = ip("192.0.2.1");
    for _ in 0..10 {
        h.record(HOME, None, a, ok(1));
    }
    let note = h.note(HOME, None, a).unwrap();
    assert_eq!(note.connected, 1, "within a second, one is enough");
    // A failure is always written, and a connection after it too.
    h.record(HOME, None, a, Past::Refused);
    h.record(HOME, None, a, ok(1));
    let note = h.note(HOME, None, a).unwrap();
    assert_eq!((note.connected, note.refused), (2, 1));
    assert!(!note.demoted());
}

#[test]
fn the_configuration_is_kept_within_bounds() {
    let h = History::with_config(HistoryConfig {
        attempt_delay_min: Duration::from_millis(1),
        attempt_delay_max: Duration::ZERO,
        ..HistoryConfig::default()
    });
    assert_eq!(h.config().attempt_delay_min, Duration::from_millis(10));
    assert_eq!(h.config().attempt_delay_max, Duration::from_millis(10));
    // And at most 2 s.
    let h = History::with_config(HistoryConfig {
        attempt_delay_min: Duration::from_secs(5),
        attempt_delay_max: Duration::from_secs(60),
        ..HistoryConfig::default()
    });
    assert_eq!(h.config().attempt_delay_min, Duration::from_secs(2));
    assert_eq!(h.config().attempt_delay_max, Duration::from_secs(2));
    let h = History::with_config(HistoryConfig {
        attempt_delay_max: Duration::from_secs(60),
        ..HistoryConfig::default()
    });
    assert_eq!(h.config().attempt_delay_max, Duration::from_secs(2));
    // The defaults: 4,096 entries, which fit in 1 MiB.
    let h = History::new();
    assert_eq!(h.capacity(), 4096);
    assert!(store::heap_for(4096 / store::SHARDS) <= 1 << 20);
    // A memory bound lowers the capacity (the test binary
    // `history_memory` measures the heap itself).
    let small = History::with_config(HistoryConfig {
        max_bytes: 64 * 1024,
        ..HistoryConfig::default()
    });
    assert!(small.capacity() < 4096);
    assert!(store::heap_for(small.capacity() / store::SHARDS) <= 64 * 1024);
    assert!(store::heap_for(small.capacity() / store::SHARDS + 1) > 64 * 1024);
    // Even a tiny bound keeps one entry per shard.
    let tiny = HistoryConfig {
        max_bytes: 0,
        ..HistoryConfig::default()
    };
    assert_eq!(History::with_config(tiny).capacity(), 16);
}

/// A configuration without bounds gets the store's own: no overflow
/// sizing it, no allocation that cannot be made.
#[test]
fn a_boundless_configuration_is_capped() {
    let h = History::with_config(HistoryConfig {
        capacity: usize::MAX,
        max_bytes: usize::MAX,
        ..HistoryConfig::default()
    });
    assert_eq!(h.capacity(), store::MAX_CAPACITY);
    assert_eq!(store::heap_for(usize::MAX), usize::MAX);
    let a = ip("192.0.2.1");
    h.record(HOME, None, a, Past::Refused);
    assert!(h.note(HOME, None, a).unwrap().demoted());
}

#[test]
fn one_connect_in_n_ignores_history() {
    let h = History::with_config(HistoryConfig {
        ignore_one_in: 4,
        ..HistoryConfig::default()
    });
    let ignored: Vec<bool> = (0..8).map(|_| h.partition(HOME, None).ignored()).collect();
    assert_eq!(
        ignored,
        [false, false, false, true, false, false, false, true]
    );
    let never = History::new();
    assert!((0..100).all(|_| !never.partition(HOME, None).ignored()));
}

#[test]
fn expired_entries_are_purged_and_clones_share() {
    let h = History::with_config(HistoryConfig {
        ttl: Duration::from_millis(30),
        ..HistoryConfig::default()
    });
    let shared = h.clone();
    assert!(shared.ptr_eq(&h));
    h.record(HOME, None, ip("192.0.2.1"), Past::Refused);
    assert_eq!(shared.len(), 2, "the address and its family");
    std::thread::sleep(Duration::from_millis(40));
    assert_eq!(h.note(HOME, None, ip("192.0.2.1")), None, "expired");
    assert_eq!(shared.purge(), 2);
    assert!(h.is_empty());
}

/// Outcomes stamped far after now (the wall clock stepped back, a file
/// was edited) neither count nor keep the outcomes recorded since out.
#[test]
fn outcomes_stamped_in_the_future_do_not_stick() {
    let h = History::new();
    let family = |f| Key {
        network: HOME,
        partition: 0,
        subject: Subject::Family(f),
    };
    // Recorded while the clock said so.
    let store = &h.shared.store;
    for i in 0..4 {
        let at = u64::MAX - 3 + i;
        store.record(family(Family::V6), Record::new(Past::TimedOut, at), at);
    }
    // Their own entry, with nothing else in it.
    let at = u64::MAX;
    store.record(family(Family::V4), Record::new(Past::Refused, at), at);
    assert_eq!(h.family_note(HOME, None, Family::V4), None, "not counted");
    let now = now_ms();
    for i in 0..5 {
        store.record(family(Family::V6), Record::new(ok(1), now - 5 + i), now);
    }
    let v6 = h.family_note(HOME, None, Family::V6).unwrap();
    assert_eq!(v6.connected, 4, "the four kept are the connections");
    assert_eq!(v6.timed_out, 0);
    assert!(!v6.all_failed());
    // A purge forgets the entry stamped in the future only.
    assert_eq!(h.purge(), 1);
    assert_eq!(h.len(), 1);
    assert!(h.family_note(HOME, None, Family::V6).is_some());
}

/// An outcome is stamped when its attempt ended, not when the connect
/// began: it is as old, and expires as late, as the outcome itself.
#[test]
fn outcomes_are_stamped_when_the_attempt_ended() {
    let h = History::new();
    let a = ip("2001:db8::1");
    let p = h.partition(HOME, None);
    let thirty = Duration::from_secs(30);
    p.record(a, Past::TimedOut, thirty, thirty, None);
    let later = p.now_ms + 30_000;
    let note = |at| h.note_now(HOME, None, Subject::Address(a), at);
    assert_eq!(note(later).unwrap().age, Duration::ZERO);
    let family = h.note_now(HOME, None, Subject::Family(Family::V6), later);
    assert_eq!(family.unwrap().age, Duration::ZERO);
    let ttl = h.ttl_ms();
    assert!(note(later + ttl - 1).is_some(), "not expired early");
    assert_eq!(note(later + ttl), None);
}

/// A connect that read history after waiting (for the host view, for
/// DNS64) stamps its outcomes from its start all the same: an attempt
/// that ended when history was read is stamped then, not later.
#[test]
fn a_partition_taken_late_keeps_the_connects_start() {
    let h = History::new();
    let a = ip("2001:db8::1");
    let now = h.partition(HOME, None).now_ms;
    let late = h.partition_since(HOME, None, Duration::from_secs(3));
    assert!(
        (now - 3_100..=now - 2_900).contains(&late.now_ms),
        "{now} {}",
        late.now_ms
    );
    let three = Duration::from_secs(3);
    late.record(a, Past::TimedOut, three, three, None);
    let note = h.note_now(HOME, None, Subject::Address(a), now).unwrap();
    assert!(note.age < Duration::from_millis(100), "{:?}", note.age);
}

#[test]
fn partition_keys_have_stable_digests() {
    assert_eq!(partition_digest("alice"), partition_digest("alice"));
    assert_ne!(partition_digest("alice"), partition_digest("bob"));
    assert_ne!(partition_digest(""), 0);
    // Pinned: saved histories keep their partitions across builds.
    assert_eq!(partition_digest("a"), 0xaf63_dc4c_8601_ec8c);
}

#[cfg(feature = "serde")]
mod file {
    use super::*;

    fn json(h: &History) -> String {
        serde_json::to_string(&h.export()).unwrap()
    }

    fn load(text: &str) -> Result<usize, String> {
        let file: HistoryFile = serde_json::from_str(text).map_err(|e| e.to_string())?;
        History::new().import(&file).map_err(|e| e.to_string())
    }

    #[test]
    fn an_export_imports_into_another_history() {
        let h = History::new();
        h.record(HOME, None, ip("2001:db8::1"), Past::Lost { to: Family::V4 });
        h.record(HOME, Some("k"), ip("192.0.2.1"), ok(7));
        h.record(AWAY, None, ip("192.0.2.2"), Past::Unreachable);
        let text = json(&h);
        let file: HistoryFile = serde_json::from_str(&text).unwrap();
        assert_eq!(file.len(), 6, "three addresses and their families");
        let restored = History::new();
        assert_eq!(restored.import(&file).unwrap(), 6);
        for (net, key, addr) in [
            (HOME, None, "2001:db8::1"),
            (HOME, Some("k"), "192.0.2.1"),
            (AWAY, None, "192.0.2.2"),
        ] {
            // Each note reads the clock, and the two reads may fall on
            // either side of a millisecond: compare the ages apart.
            let mut was = h.note(net, key, ip(addr)).unwrap();
            let mut now = restored.note(net, key, ip(addr)).unwrap();
            assert!(
                now.age.abs_diff(was.age) < Duration::from_secs(1),
                "{addr}: ages {:?} and {:?}",
                was.age,
                now.age
            );
            (was.age, now.age) = (Duration::ZERO, Duration::ZERO);
            assert_eq!(now, was, "{addr}");
        }
        // Importing twice does not count twice.
        restored.import(&file).unwrap();
        assert_eq!(
            restored.note(HOME, None, ip("2001:db8::1")).unwrap().lost,
            1
        );
    }

    #[test]
    fn a_bad_file_is_refused_whole_with_the_reason() {
        let good = r#"{"format":"happy-connect history","version":1,"entries":[
            {"network":"0000000000000001","address":"192.0.2.1",
             "outcomes":[{"at_ms":TIME,"outcome":"refused"}]}]}"#
            .replace("TIME", &now_ms().to_string());
        assert_eq!(load(&good), Ok(1));
        let cases = [
            (
                r#""format":"happy-connect history""#,
                r#""format":"other""#,
                "not a happy-connect history",
            ),
            (
                r#""version":1"#,
                r#""version":9"#,
                "version 9 is not supported",
            ),
            ("0000000000000001", "xyz", "entry 1: network \"xyz\""),
            (
                r#""address":"192.0.2.1""#,
                r#""family":"IPv5""#,
                "family \"IPv5\"",
            ),
            (
                r#""address":"192.0.2.1""#,
                r#""address":"192.0.2.1","family":"IPv4""#,
                "both",
            ),
            (r#""address":"192.0.2.1","#, "", "neither"),
            (
                r#""outcome":"refused""#,
                r#""outcome":"vanished""#,
                "entry 1, outcome 1: unknown outcome",
            ),
            (
                r#""outcome":"refused""#,
                r#""outcome":"lost""#,
                "without \"lost_to\"",
            ),
            (
                r#""outcome":"refused""#,
                r#""outcome":"connected""#,
                "without \"handshake_us\"",
            ),
            (
                r#""outcome":"refused""#,
                r#""outcome":"lost","lost_to":"IPX""#,
                "neither IPv4 nor IPv6",
            ),
        ];
        for (from, to, why) in cases {
            let bad = good.replacen(from, to, 1);
            let err = load(&bad).unwrap_err();
            assert!(err.contains(why), "{bad}: {err}");
        }
        assert!(load("[1, 2").is_err());
        assert!(load(r#"{"entries": []}"#).is_err(), "no format");
    }

    /// A file whose outcomes are stamped far after now (hand-edited, or
    /// saved before the wall clock stepped back) pins nothing: those
    /// outcomes are skipped, the others imported.
    #[test]
    fn outcomes_stamped_in_the_future_are_not_imported() {
        let now = now_ms();
        let outcome = |at: u64| format!(r#"{{"at_ms":{at},"outcome":"timed out"}}"#);
        let future: Vec<String> = (0..4).map(|i| outcome(u64::MAX - i)).collect();
        let text = format!(
            r#"{{"format":"happy-connect history","version":1,"entries":[
            {{"network":"0000000000000001","family":"IPv6","outcomes":[{}]}},
            {{"network":"0000000000000001","family":"IPv4","outcomes":[{},{}]}}]}}"#,
            future.join(","),
            outcome(u64::MAX),
            outcome(now - 1000),
        );
        let file: HistoryFile = serde_json::from_str(&text).unwrap();
        let h = History::new();
        assert_eq!(h.import(&file), Ok(1), "the IPv4 entry only");
        assert_eq!(h.family_note(HOME, None, Family::V6), None);
        let v4 = h.family_note(HOME, None, Family::V4).unwrap();
        assert_eq!(v4.timed_out, 1);
        assert!(v4.age >= Duration::from_secs(1), "{:?}", v4.age);
        // Connections are learned again, and the export is clean.
        h.record(HOME, None, ip("2001:db8::1"), ok(1));
        let v6 = h.family_note(HOME, None, Family::V6).unwrap();
        assert_eq!(v6.connected, 1);
        assert!(!v6.all_failed());
        let exported = serde_json::to_string(&h.export()).unwrap();
        assert!(!exported.contains(&u64::MAX.to_string()), "{exported}");
    }

    #[test]
    fn expired_outcomes_are_neither_exported_nor_imported() {
        let old = r#"{"format":"happy-connect history","version":1,"entries":[
            {"network":"0000000000000001","family":"IPv6",
             "outcomes":[{"at_ms":1000,"outcome":"timed out"}]}]}"#;
        assert_eq!(load(old), Ok(0));
        let h = History::with_config(HistoryConfig {
            ttl: Duration::from_millis(10),
            ..HistoryConfig::default()
        });
        h.record(HOME, None, ip("192.0.2.1"), Past::Refused);
        std::thread::sleep(Duration::from_millis(20));
        assert!(h.export().is_empty());
    }
}
