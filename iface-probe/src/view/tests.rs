//! The view on this host, without privileges; the tests that change a
//! host (in network namespaces) are in `tests/it/root.rs`.

use std::collections::BTreeSet;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use super::*;
use crate::source::SourceResolver;

const READY: Duration = Duration::from_secs(10);

fn addresses(snap: &Snapshot) -> BTreeSet<(u32, IpAddr)> {
    snap.interfaces
        .iter()
        .flat_map(|i| i.addresses.iter().map(move |a| (i.index, a.ip)))
        .collect()
}

#[test]
fn a_view_is_ready_and_agrees_with_a_capture() {
    let view = HostView::new();
    let snap = view.wait_ready(READY).unwrap();
    assert_eq!(view.status(), ViewStatus::Ready);
    let captured = Snapshot::capture().unwrap();
    assert_eq!(addresses(&snap), addresses(&captured));
    assert_eq!(snap.capabilities(), captured.capabilities());
    assert!(
        Arc::ptr_eq(&snap, &view.snapshot().unwrap()),
        "nothing changed"
    );
    let stats = view.stats();
    assert_eq!((stats.captures, stats.starts), (1, 1));
}

#[test]
fn sources_come_from_the_kernel_once_then_from_the_cache() {
    let view = HostView::new();
    let snap = view.wait_ready(READY).unwrap();
    let dests: Vec<Dest> = ["127.0.0.1", "127.0.0.2", "::1", "127.0.0.1"]
        .iter()
        .map(|s| Dest::from(s.parse::<IpAddr>().unwrap()))
        .collect();
    let expected = SourceResolver::new()
        .unwrap()
        .sources(&snap, &dests)
        .unwrap();
    let mut out = Vec::new();
    assert!(!view.cached_sources(&dests, &mut out) && out.is_empty());
    assert_eq!(view.sources_blocking(&dests).unwrap(), expected);
    let stats = view.stats();
    assert_eq!(
        (stats.lookup_batches, stats.lookups),
        (1, 3),
        "one batch, duplicates once"
    );
    // Now cached: no lookup, and the future is ready at once.
    let again = view.sources(&dests);
    assert!(again.is_ready());
    assert_eq!(again.wait().unwrap(), expected);
    assert!(view.cached_sources(&dests, &mut out));
    assert_eq!(out, expected);
    assert_eq!(view.stats().lookups, 3);
}

#[test]
fn concurrent_lookups_share_batches() {
    let view = HostView::new();
    view.wait_ready(READY).unwrap();
    let threads: Vec<_> = (0..8u8)
        .map(|i| {
            let view = view.clone();
            std::thread::spawn(move || {
                let dests = [Dest::from(IpAddr::from([127, 0, 1, i]))];
                view.sources_blocking(&dests).unwrap()
            })
        })
        .collect();
    for (i, t) in threads.into_iter().enumerate() {
        let got = t.join().unwrap();
        assert_eq!(
            got[0].as_ref().map(|s| s.addr),
            Some(IpAddr::from([127, 0, 0, 1])),
            "127.0.1.{i}"
        );
    }
    let stats = view.stats();
    assert_eq!(stats.lookups, 8);
    assert!(stats.lookup_batches <= 8);
}

/// A bare executor: polls with a waker that unparks this thread.
fn block_on<F: Future>(f: F) -> F::Output {
    struct Unpark(std::thread::Thread);
    impl std::task::Wake for Unpark {
        fn wake(self: Arc<Self>) {
            self.0.unpark();
        }
    }
    let waker = std::task::Waker::from(Arc::new(Unpark(std::thread::current())));
    let mut cx = Context::from_waker(&waker);
    let mut f = std::pin::pin!(f);
    loop {
        if let Poll::Ready(out) = f.as_mut().poll(&mut cx) {
            return out;
        }
        std::thread::park_timeout(Duration::from_millis(100));
    }
}

#[test]
fn async_callers_need_no_runtime_of_ours() {
    let view = HostView::new();
    let snap = block_on(view.ready()).unwrap();
    assert!(!snap.interfaces.is_empty());
    let dests = [Dest::from("127.0.0.1".parse::<IpAddr>().unwrap())];
    let got = block_on(view.sources(&dests)).unwrap();
    assert_eq!(got[0].as_ref().unwrap().addr.to_string(), "127.0.0.1");
    let mut sub = view.subscribe(READY).unwrap();
    match block_on(sub.recv()) {
        Ok(Change::Resync(whole)) => assert_eq!(addresses(&whole), addresses(&snap)),
        other => panic!("{other:?}"),
    }
}

/// A lookup whose view is dropped before the lookup thread answers it
/// still completes, blocking or async: with the source, or with an error
/// that says the view was closed.
#[test]
fn a_lookup_that_outlives_its_view_completes() {
    const RUNS: usize = 40;
    let dest = Dest::from(IpAddr::from([127, 0, 0, 1]));
    let (done, finished) = std::sync::mpsc::channel();
    // The runs go on a thread of their own: one that hangs must not hang
    // the test.
    std::thread::spawn(move || {
        for run in 0..RUNS {
            let future = {
                let view = HostView::new();
                view.wait_ready(READY).unwrap();
                view.sources(&[dest])
            };
            let answer = if run % 2 == 0 {
                future.wait()
            } else {
                block_on(future)
            };
            if done.send(answer.map_err(|e| e.to_string())).is_err() {
                return;
            }
        }
    });
    for run in 0..RUNS {
        match finished.recv_timeout(Duration::from_secs(10)) {
            Ok(Ok(sources)) => assert_eq!(
                sources[0].as_ref().map(|s| s.addr),
                Some(IpAddr::from([127, 0, 0, 1]))
            ),
            Ok(Err(e)) => assert!(e.contains("closed"), "run {run}: {e}"),
            Err(_) => panic!("run {run} of {RUNS} never completed"),
        }
    }
}

#[test]
fn a_subscription_starts_with_the_whole_host() {
    let view = HostView::new();
    let snap = view.wait_ready(READY).unwrap();
    let mut sub = view.subscribe(READY).unwrap();
    let Some(Ok(Change::Resync(whole))) = sub.try_recv() else {
        panic!("no resync first")
    };
    assert!(Arc::ptr_eq(&whole, &snap));
    assert!(sub.recv_timeout(Some(Duration::from_millis(10))).is_none());
}

#[test]
fn a_dropped_view_is_freed() {
    let view = HostView::new();
    view.wait_ready(READY).unwrap();
    let weak = Arc::downgrade(&view.shared);
    drop(view);
    // The threads hold only weak references while they wait.
    let start = Instant::now();
    while weak.strong_count() > 0 {
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "the view is kept alive"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
}

#[test]
fn the_shared_view_is_one() {
    let a = HostView::shared();
    let b = HostView::shared();
    assert!(Arc::ptr_eq(&a.shared, &b.shared));
    assert_eq!(a.backend(), Backend::Native);
}

#[test]
fn a_failure_is_reported_and_retried_after_the_back_off() {
    let view = HostView::with_options(ViewOptions {
        retry_min: Duration::from_millis(20),
        retry_max: Duration::from_millis(40),
        ..ViewOptions::default()
    });
    view.wait_ready(READY).unwrap();
    let dest = Dest::from("127.0.0.1".parse::<IpAddr>().unwrap());
    view.sources_blocking(&[dest]).unwrap();
    assert!(view.cached_source(&dest).is_some());
    // Fail it by hand, as a watcher whose notifications broke would.
    {
        let mut control = view.shared.control();
        watcher::fail(&view.shared, &mut control, "simulated failure".into());
    }
    match view.status() {
        ViewStatus::Unavailable { reason, retry_in } => {
            assert_eq!(reason, "simulated failure");
            assert!(retry_in <= Duration::from_millis(20));
        }
        other => panic!("{other}"),
    }
    assert!(view.shared.current.load().is_none());
    // Nor are sources answered from before the failure.
    assert_eq!(view.cached_source(&dest), None);
    assert!(!view.cached_sources(&[dest], &mut Vec::new()));
    std::thread::sleep(Duration::from_millis(25));
    // The next use restarts it.
    let snap = view.wait_ready(READY).unwrap();
    assert!(!snap.interfaces.is_empty());
    assert_eq!(view.stats().starts, 2);
    assert_eq!(view.status(), ViewStatus::Ready);
}

/// A re-reading of the host that finds nothing changed still empties the
/// source cache: what made it read again (a setting the system does not
/// report, lost notices) may change the kernel's answers all the same.
#[test]
fn a_refresh_empties_the_source_cache() {
    let view = HostView::new();
    view.wait_ready(READY).unwrap();
    let dest = Dest::from(IpAddr::from([127, 0, 0, 1]));
    view.sources_blocking(&[dest]).unwrap();
    assert!(view.cached_source(&dest).is_some());
    let captures = view.stats().captures;
    view.refresh();
    let deadline = Instant::now() + READY;
    while view.cached_source(&dest).is_some() {
        assert!(
            Instant::now() < deadline,
            "still cached after the refresh: {:?}",
            view.stats()
        );
        std::thread::sleep(Duration::from_millis(5));
    }
    assert!(view.stats().captures > captures);
}

/// A refresh asked for while the view reads the host for the first time
/// (before it follows notices, so with nothing to interrupt) is carried
/// out after that reading, not held back until the next notice, which on
/// a quiet host may never come.
#[test]
fn a_refresh_during_the_first_reading_is_not_held_back() {
    let view = HostView::new();
    view.refresh();
    view.wait_ready(READY).unwrap();
    let deadline = Instant::now() + READY;
    while view.stats().captures < 2 {
        assert!(
            Instant::now() < deadline,
            "the host was not read again: {:?}",
            view.stats()
        );
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// Tests that change a host: in network namespaces, as root.
#[cfg(target_os = "linux")]
mod root {
    use super::*;
    use netns_harness::Netns;

    /// A namespace with a veth pair `va`/`vb`, both up, `va` with
    /// 192.0.2.2/24, and no IPv6 (whose DAD would report changes later).
    fn veth_ipv4_only() -> Netns {
        let ns = Netns::new("ipv");
        ns.sysctl("net/ipv6/conf/all/disable_ipv6", "1");
        ns.sysctl("net/ipv6/conf/default/disable_ipv6", "1");
        ns.ip(&["link", "add", "va", "type", "veth", "peer", "name", "vb"]);
        ns.addr("va", "192.0.2.2/24");
        ns.ip(&["link", "set", "va", "up"]);
        ns.ip(&["link", "set", "vb", "up"]);
        ns
    }

    /// A policy rule that changes as the view reads the whole host again
    /// (after lost notices, or a refresh) is not lost in the re-reading,
    /// which cannot see rules: the cached source goes, and subscribers get
    /// [`Change::Routes`].
    #[test]
    fn a_rule_change_during_a_re_read_is_not_lost() {
        let ns = veth_ipv4_only();
        let view = ns.run(HostView::new);
        let mut sub = view.subscribe(READY).unwrap();
        assert!(matches!(sub.try_recv(), Some(Ok(Change::Resync(_)))));
        let dest = Dest::from(IpAddr::from([192, 0, 2, 77]));
        let got = view.sources_blocking(&[dest]).unwrap();
        assert_eq!(
            got[0].as_ref().map(|s| s.addr),
            Some(IpAddr::from([192, 0, 2, 2]))
        );
        assert!(view.cached_source(&dest).is_some());
        // The watcher reads the host again when it wakes for the rule's
        // notice, as it would after an overrun.
        let captures = view.stats().captures;
        view.shared.resync.store(true, Ordering::SeqCst);
        ns.ip(&[
            "rule",
            "add",
            "priority",
            "100",
            "to",
            "192.0.2.77",
            "prohibit",
        ]);
        let deadline = Instant::now() + READY;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match sub.recv_timeout(Some(left)) {
                Some(Ok(Change::Routes)) => break,
                Some(Ok(_)) => {}
                Some(Err(e)) => panic!("{e}"),
                None => panic!("no Change::Routes; {:?}", view.stats()),
            }
        }
        assert!(view.stats().captures > captures, "{:?}", view.stats());
        assert_eq!(view.cached_source(&dest), None);
        assert_eq!(view.sources_blocking(&[dest]).unwrap(), [None]);
    }

    /// With a notification buffer too small for a burst, the kernel drops
    /// notices; the view notices the overrun, reads the host again, and
    /// hands its subscribers the difference: nothing is missed.
    #[test]
    fn an_overrun_is_noticed_and_the_view_converges() {
        let ns = Netns::new("ipv");
        let view = ns.run(|| {
            HostView::with_options(ViewOptions {
                notify_buffer: Some(0),
                ..ViewOptions::default()
            })
        });
        let mut sub = view.subscribe(READY).unwrap();
        let batch: String = (1..=300)
            .map(|i| format!("address add 2001:db8:ff::{i:x}/128 dev lo\n"))
            .collect();
        let file = std::env::temp_dir().join(format!("ipv-batch-{}", std::process::id()));
        std::fs::write(&file, batch).unwrap();
        ns.ip(&["-batch", file.to_str().unwrap()]);
        let _ = std::fs::remove_file(&file);
        // Everything arrives, by notice or by difference.
        let mut seen = BTreeSet::new();
        let deadline = Instant::now() + Duration::from_secs(20);
        while seen.len() < 300 {
            let left = deadline.saturating_duration_since(Instant::now());
            match sub.recv_timeout(Some(left)) {
                Some(Ok(Change::Address { address, .. })) => {
                    seen.insert(address.ip);
                }
                Some(Ok(Change::Resync(whole))) => {
                    seen.extend(
                        whole
                            .interfaces
                            .iter()
                            .flat_map(|i| i.addresses.iter().map(|a| a.ip)),
                    );
                }
                Some(Ok(_)) => {}
                Some(Err(e)) => panic!("{e}"),
                None => panic!("only {} of 300 seen; {:?}", seen.len(), view.stats()),
            }
            seen.retain(|ip| ip.to_string().starts_with("2001:db8:ff::"));
        }
        let snap = view.snapshot().unwrap();
        let lo = snap.interface_by_name("lo").unwrap();
        assert!(lo.addresses.len() >= 300, "{}", lo.addresses.len());
        assert!(
            view.stats().captures >= 2,
            "an overrun re-reads: {:?}",
            view.stats()
        );
    }
}
