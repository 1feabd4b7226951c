//! Integration tests against the real kernel, inside network namespaces
//! the tests create (and always delete) with the `ip` command.
//!
//! Everything that needs root lives in [`root`]; those tests fail, not
//! skip, without it, so a CI run that lost its privileges is noticed.

use std::io;
use std::time::Duration;

use stable_addr::{Filter, WaitError, wait_stable};

/// Outside a namespace, without root: the host's table is readable and a
/// wait for an address no host has times out naming it.
#[test]
fn timeout_names_what_is_pending_on_the_host() {
    let ip = "2001:db8:5ab1:e::77".parse().unwrap();
    let err = wait_stable(Filter::Address(ip), Duration::from_millis(200)).unwrap_err();
    let WaitError::Timeout { pending } = &err else {
        panic!("expected a timeout, got {err}")
    };
    assert_eq!(pending.len(), 1);
    assert_eq!(pending[0].ip, Some(ip));
    assert_eq!(
        err.to_string(),
        "timed out waiting for stable addresses; pending: 2001:db8:5ab1:e::77 (not present)"
    );
}

#[test]
fn io_errors_convert() {
    let e: WaitError = io::Error::other("boom").into();
    assert_eq!(e.to_string(), "cannot read the host: boom");
}

#[cfg(target_os = "linux")]
mod root {
    use std::net::IpAddr;
    use std::thread;
    use std::time::{Duration, Instant};

    use stable_addr::{Event, FailureReason, Filter, HostView, PendingReason, WaitError};

    use netns_harness::{Netns, ip_in};

    const TEREDO: &str = "2001:0:c633:640a:8000:f227:bd6a:13fe";

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    /// A namespace with a veth pair `va`/`vb`, both ends in it, `va`
    /// doing DAD with 3 probes 300 ms apart (about a second).
    fn veth_slow_dad() -> Netns {
        let ns = Netns::new("sa");
        ns.ip(&["link", "add", "va", "type", "veth", "peer", "name", "vb"]);
        ns.sysctl("net/ipv6/conf/va/dad_transmits", "3");
        ns.sysctl("net/ipv6/neigh/va/retrans_time_ms", "300");
        ns.ip(&["link", "set", "vb", "up"]);
        ns.ip(&["link", "set", "va", "up"]);
        ns
    }

    #[test]
    fn returns_after_dad_completes_and_not_before() {
        let ns = veth_slow_dad();
        let a = "2001:db8:1::1";
        let (elapsed, table) = ns.run(|| {
            let start = Instant::now();
            ip_in(
                ns.name(),
                &["-6", "addr", "add", &format!("{a}/64"), "dev", "va"],
            );
            assert!(
                ns.addr_show("va").contains("tentative"),
                "the address should start tentative"
            );
            let table = stable_addr::wait_stable_on(
                &HostView::new(),
                Filter::Address(ip(a)),
                Duration::from_secs(10),
            )
            .unwrap();
            (start.elapsed(), table)
        });
        let shown = ns.addr_show("va");
        assert!(shown.contains(a), "{shown}");
        let line = shown.lines().find(|l| l.contains(a)).unwrap();
        assert!(
            !line.contains("tentative"),
            "returned while tentative: {line}"
        );
        assert!(
            elapsed >= Duration::from_millis(800),
            "returned after {elapsed:?}"
        );
        assert!(
            elapsed < Duration::from_secs(5),
            "returned after {elapsed:?}"
        );
        assert_eq!(table.len(), 1);
        let got = &table.addresses()[0];
        assert_eq!((got.ip, got.prefix_len), (ip(a), 64));
        assert_eq!(got.ifname.as_deref(), Some("va"));
    }

    /// A port leaving its bridge is announced with an `RTM_DELLINK` of
    /// family `AF_BRIDGE`; the interface stays, and so must the wait on it
    /// (it would otherwise end with "interface removed").
    #[test]
    fn a_port_leaving_its_bridge_is_not_removed() {
        let ns = veth_slow_dad();
        ns.ip(&["link", "add", "br0", "type", "bridge"]);
        ns.ip(&["link", "set", "va", "master", "br0"]);
        let a = "2001:db8:b::1";
        ns.ip(&["-6", "addr", "add", &format!("{a}/64"), "dev", "va"]);
        let name = ns.name().to_owned();
        let table = ns.run(|| {
            thread::scope(|s| {
                // While DAD runs (about a second), va leaves the bridge.
                s.spawn(|| {
                    thread::sleep(Duration::from_millis(200));
                    ip_in(&name, &["link", "set", "va", "nomaster"]);
                });
                stable_addr::wait_stable_on(
                    &HostView::new(),
                    Filter::InterfaceName("va".into()),
                    Duration::from_secs(10),
                )
            })
        });
        let table = table.unwrap_or_else(|e| panic!("{e}\n{}", ns.addr_show("va")));
        assert!(table.contains(ip(a)), "{table:?}");
    }

    /// The waiter wakes promptly: it returns within 50 ms of the kernel
    /// event that ends DAD, as timed by an independent watcher thread that
    /// receives the same multicast event.
    #[test]
    fn returns_within_50_ms_of_the_dad_event() {
        let ns = veth_slow_dad();
        let a = ip("2001:db8:1::2");
        let (event_at, returned_at) = ns.run(|| {
            // A thread spawned here inherits this thread's namespace.
            let mut watch = stable_addr::watch_on(&HostView::new()).unwrap();
            while watch.next_timeout(Duration::from_secs(5)).unwrap() != Some(Event::Synced) {}
            let watcher = thread::spawn(move || {
                loop {
                    let e = watch
                        .next_timeout(Duration::from_secs(10))
                        .unwrap()
                        .expect("the DAD-complete event");
                    if let Event::Address {
                        ip: got,
                        flags,
                        removed: false,
                        ..
                    } = e
                    {
                        if got == a && !flags.tentative() {
                            return Instant::now();
                        }
                    }
                }
            });
            ip_in(
                ns.name(),
                &["-6", "addr", "add", &format!("{a}/64"), "dev", "va"],
            );
            stable_addr::wait_stable_on(
                &HostView::new(),
                Filter::Address(a),
                Duration::from_secs(10),
            )
            .unwrap();
            let returned_at = Instant::now();
            (watcher.join().unwrap(), returned_at)
        });
        let late = returned_at.saturating_duration_since(event_at);
        let early = event_at.saturating_duration_since(returned_at);
        assert!(
            late <= Duration::from_millis(50),
            "returned {late:?} after the event"
        );
        // Both threads read the same event; the waiter cannot have seen it
        // meaningfully earlier than the watcher.
        assert!(
            early <= Duration::from_millis(50),
            "returned {early:?} before the event"
        );
    }

    #[cfg(feature = "tokio")]
    #[test]
    fn async_interface_wait_covers_link_local_and_global() {
        let ns = veth_slow_dad();
        let a = "2001:db8:2::1";
        let (elapsed, table) = ns.run(|| {
            let start = Instant::now();
            ip_in(
                ns.name(),
                &["-6", "addr", "add", &format!("{a}/64"), "dev", "va"],
            );
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            let table = rt
                .block_on(stable_addr::wait_stable_async_on(
                    &HostView::new(),
                    Filter::InterfaceName("va".into()),
                    Duration::from_secs(10),
                ))
                .unwrap();
            (start.elapsed(), table)
        });
        assert!(
            elapsed >= Duration::from_millis(800),
            "returned after {elapsed:?}"
        );
        assert!(table.contains(ip(a)), "{table:?}");
        assert!(
            table
                .iter()
                .any(|s| matches!(s.ip, IpAddr::V6(v6) if v6.is_unicast_link_local())),
            "{table:?}"
        );
        assert!(!ns.addr_show("va").contains("tentative"));
    }

    /// The async watch sees an address go from tentative to preferred
    /// while being polled with timeouts far shorter than DAD: each expired
    /// timeout drops a `next()` future, and no event may be lost to that.
    #[cfg(feature = "tokio")]
    #[test]
    fn async_watch_sees_dad_end_through_cancelled_polls() {
        let ns = veth_slow_dad();
        let a = ip("2001:db8:7::1");
        let (events, cancelled) = ns.run(|| {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async {
                let mut w = stable_addr::watch_async_on(&HostView::new()).unwrap();
                let step = Duration::from_secs(5);
                loop {
                    let e = tokio::time::timeout(step, w.next()).await.unwrap();
                    if e.unwrap().unwrap() == Event::Synced {
                        break;
                    }
                }
                assert!(w.is_settled());
                ip_in(
                    ns.name(),
                    &["-6", "addr", "add", &format!("{a}/64"), "dev", "va"],
                );
                let give_up = Instant::now() + Duration::from_secs(10);
                let (mut events, mut cancelled) = (Vec::new(), 0u32);
                while Instant::now() < give_up {
                    match tokio::time::timeout(Duration::from_millis(5), w.next()).await {
                        Err(_elapsed) => cancelled += 1,
                        Ok(event) => {
                            let event = event.expect("the watch goes on").unwrap();
                            let Event::Address { ip, flags, .. } = event else {
                                continue;
                            };
                            if ip == a {
                                events.push(flags);
                                if !flags.tentative() {
                                    break;
                                }
                            }
                        }
                    }
                }
                // The view agrees (the link-local addresses may still be
                // doing DAD: only `a` is asked about).
                if let stable_addr::Status::Pending(pending) = w.tracker().status() {
                    assert!(pending.iter().all(|p| p.ip != Some(a)), "{pending:?}");
                }
                (events, cancelled)
            })
        });
        println!("{cancelled} polls timed out; events for {a}: {events:?}");
        assert!(events.first().is_some_and(|f| f.tentative()), "{events:?}");
        assert!(events.last().is_some_and(|f| !f.tentative()), "{events:?}");
        // DAD takes about a second: many polls were cut short meanwhile.
        assert!(cancelled > 20, "only {cancelled} polls timed out");
    }

    #[test]
    fn dad_failure_is_reported() {
        let ns1 = Netns::new("sa");
        let ns2 = Netns::new("sa");
        ns1.ip(&[
            "link",
            "add",
            "va",
            "type",
            "veth",
            "peer",
            "name",
            "vb",
            "netns",
            ns2.name(),
        ]);
        let a = "2001:db8:3::1";
        ns2.addr("vb", &format!("{a}/64"));
        ns2.ip(&["link", "set", "vb", "up"]);
        ns1.ip(&["link", "set", "va", "up"]);
        let (elapsed, result) = ns1.run(|| {
            let start = Instant::now();
            ip_in(
                ns1.name(),
                &["-6", "addr", "add", &format!("{a}/64"), "dev", "va"],
            );
            let r = stable_addr::wait_stable_on(
                &HostView::new(),
                Filter::Address(ip(a)),
                Duration::from_secs(10),
            );
            (start.elapsed(), r)
        });
        let err = result.unwrap_err();
        let WaitError::DadFailed { failed } = &err else {
            panic!("expected a DAD failure, got {err}")
        };
        assert_eq!(failed.len(), 1);
        assert_eq!(failed[0].reason, FailureReason::DadFailed);
        assert_eq!(failed[0].ip, Some(ip(a)));
        assert!(
            err.to_string()
                .starts_with("duplicate address detection failed: 2001:db8:3::1 on va"),
            "{err}"
        );
        assert!(ns1.addr_show("va").contains("dadfailed"));
        assert!(elapsed < Duration::from_secs(5), "took {elapsed:?}");
    }

    #[test]
    fn timeout_lists_the_tentative_address() {
        let ns = Netns::new("sa");
        ns.ip(&["link", "add", "va", "type", "veth", "peer", "name", "vb"]);
        // The peer stays down: no carrier, so DAD never runs and the
        // address stays tentative.
        ns.ip(&["link", "set", "va", "up"]);
        let a = "2001:db8:4::1";
        ns.ip(&["-6", "addr", "add", &format!("{a}/64"), "dev", "va"]);
        let (elapsed, result) = ns.run(|| {
            let start = Instant::now();
            let r = stable_addr::wait_stable_on(
                &HostView::new(),
                Filter::Address(ip(a)),
                Duration::from_millis(500),
            );
            (start.elapsed(), r)
        });
        let err = result.unwrap_err();
        let WaitError::Timeout { pending } = &err else {
            panic!("expected a timeout, got {err}")
        };
        assert_eq!(pending.len(), 1);
        assert_eq!(pending[0].reason, PendingReason::Tentative);
        assert_eq!(pending[0].ifname.as_deref(), Some("va"));
        assert!(
            err.to_string().contains("2001:db8:4::1 on va (index"),
            "{err}"
        );
        assert!(err.to_string().ends_with("(tentative)"), "{err}");
        assert!(elapsed >= Duration::from_millis(500), "{elapsed:?}");
        assert!(elapsed < Duration::from_secs(3), "{elapsed:?}");
    }

    #[test]
    fn interface_deleted_mid_wait_does_not_hang() {
        let ns = Netns::new("sa");
        ns.ip(&["link", "add", "va", "type", "veth", "peer", "name", "vb"]);
        ns.ip(&["link", "set", "va", "up"]);
        ns.ip(&["-6", "addr", "add", "2001:db8:5::1/64", "dev", "va"]);
        let (elapsed, result) = thread::scope(|s| {
            let name = ns.name().to_owned();
            s.spawn(move || {
                thread::sleep(Duration::from_millis(300));
                ip_in(&name, &["link", "del", "va"]);
            });
            ns.run(|| {
                let start = Instant::now();
                let r = stable_addr::wait_stable_on(
                    &HostView::new(),
                    Filter::InterfaceName("va".into()),
                    Duration::from_secs(10),
                );
                (start.elapsed(), r)
            })
        });
        let err = result.unwrap_err();
        let WaitError::InterfaceRemoved { interface } = &err else {
            panic!("expected the interface removed, got {err}")
        };
        assert_eq!(interface.ifname.as_deref(), Some("va"));
        assert!(
            err.to_string()
                .starts_with("interface removed while waiting: interface va"),
            "{err}"
        );
        assert!(elapsed >= Duration::from_millis(250), "{elapsed:?}");
        assert!(elapsed < Duration::from_secs(5), "{elapsed:?}");
    }

    /// A namespace with an up `tun` device named `teredo`, as Miredo makes.
    fn teredo_tun() -> Netns {
        let ns = Netns::new("sa");
        ns.ip(&["tuntap", "add", "dev", "teredo", "mode", "tun"]);
        ns.ip(&["link", "set", "teredo", "up"]);
        ns
    }

    #[test]
    fn teredo_address_already_there_is_stable() {
        let ns = teredo_tun();
        ns.addr("teredo", &format!("{TEREDO}/32"));
        let (elapsed, table) = ns.run(|| {
            let start = Instant::now();
            let t = stable_addr::wait_stable_on(
                &HostView::new(),
                Filter::Teredo,
                Duration::from_secs(5),
            )
            .unwrap();
            (start.elapsed(), t)
        });
        assert!(elapsed < Duration::from_secs(1), "{elapsed:?}");
        assert_eq!(table.len(), 1);
        let got = &table.addresses()[0];
        assert_eq!((got.ip, got.prefix_len), (ip(TEREDO), 32));
        assert_eq!(got.ifname.as_deref(), Some("teredo"));
    }

    #[test]
    fn teredo_waiter_returns_once_the_address_appears() {
        let ns = teredo_tun();
        let (elapsed, table) = thread::scope(|s| {
            let name = ns.name().to_owned();
            s.spawn(move || {
                thread::sleep(Duration::from_millis(400));
                ip_in(
                    &name,
                    &[
                        "-6",
                        "addr",
                        "add",
                        &format!("{TEREDO}/32"),
                        "dev",
                        "teredo",
                        "nodad",
                    ],
                );
            });
            ns.run(|| {
                let start = Instant::now();
                let t = stable_addr::wait_stable_on(
                    &HostView::new(),
                    Filter::Teredo,
                    Duration::from_secs(10),
                )
                .unwrap();
                (start.elapsed(), t)
            })
        });
        assert!(elapsed >= Duration::from_millis(350), "{elapsed:?}");
        assert!(elapsed < Duration::from_secs(5), "{elapsed:?}");
        assert!(table.contains(ip(TEREDO)), "{table:?}");
    }

    #[test]
    fn all_in_a_fresh_namespace() {
        let ns = Netns::new("sa");
        ns.ip(&["link", "set", "lo", "up"]);
        let table = ns.run(|| {
            stable_addr::wait_stable_on(&HostView::new(), Filter::All, Duration::from_secs(5))
                .unwrap()
        });
        assert!(table.contains(ip("::1")), "{table:?}");
        assert!(table.contains(ip("127.0.0.1")), "{table:?}");
        // Only loopback exists: nothing else may appear.
        assert!(
            table.iter().all(|a| a.ifname.as_deref() == Some("lo")),
            "{table:?}"
        );
    }

    #[test]
    fn watch_reports_the_table_then_changes() {
        let ns = teredo_tun();
        let seen = ns.run(|| {
            let mut w = stable_addr::watch_on(&HostView::new()).unwrap();
            let step = Duration::from_secs(5);
            let mut seen = Vec::new();
            // The initial table: the tun device, then Synced.
            loop {
                let e = w.next_timeout(step).unwrap().expect("initial table");
                let done = e == Event::Synced;
                seen.push(e);
                if done {
                    break;
                }
            }
            assert!(w.is_settled());
            let add = [
                "-6",
                "addr",
                "add",
                &format!("{TEREDO}/32"),
                "dev",
                "teredo",
                "nodad",
            ];
            ip_in(ns.name(), &add);
            let e = next_address(&mut w, step);
            assert!(matches!(e, Event::Address { removed: false, .. }), "{e:?}");
            seen.push(e);
            assert!(w.tracker().status().is_stable());
            let del = [
                "-6",
                "addr",
                "del",
                &format!("{TEREDO}/32"),
                "dev",
                "teredo",
            ];
            ip_in(ns.name(), &del);
            let e = next_address(&mut w, step);
            assert!(matches!(e, Event::Address { removed: true, .. }), "{e:?}");
            seen.push(e);
            seen
        });
        assert!(
            seen.iter()
                .any(|e| matches!(e, Event::Link { name, up: true, .. } if name == "teredo")),
            "{seen:?}"
        );
        let teredo: Vec<_> = seen
            .iter()
            .filter(|e| matches!(e, Event::Address { ip: a, .. } if *a == ip(TEREDO)))
            .collect();
        assert_eq!(teredo.len(), 2, "{seen:?}");
    }

    /// The next address event about the Teredo address.
    fn next_address(w: &mut stable_addr::Watch, timeout: Duration) -> Event {
        loop {
            let e = w.next_timeout(timeout).unwrap().expect("an address event");
            if matches!(&e, Event::Address { ip: a, .. } if *a == ip(TEREDO)) {
                return e;
            }
        }
    }

    #[test]
    fn zero_timeout_judges_the_current_table() {
        let ns = teredo_tun();
        let err = ns
            .run(|| stable_addr::wait_stable_on(&HostView::new(), Filter::Teredo, Duration::ZERO))
            .unwrap_err();
        let WaitError::Timeout { pending } = &err else {
            panic!("expected a timeout, got {err}")
        };
        // The table was read in full: the answer is about Teredo, not about
        // a dump still in progress.
        assert_eq!(pending.len(), 1);
        assert_eq!(pending[0].reason, PendingReason::NoTeredoAddress);
        assert_eq!(
            err.to_string(),
            "timed out waiting for stable addresses; pending: no teredo address"
        );
        ns.addr("teredo", &format!("{TEREDO}/32"));
        let table = ns
            .run(|| stable_addr::wait_stable_on(&HostView::new(), Filter::Teredo, Duration::ZERO))
            .unwrap();
        assert!(table.contains(ip(TEREDO)));
    }
}
