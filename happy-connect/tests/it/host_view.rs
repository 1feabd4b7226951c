//! The connect path's cost in kernel requests: once the host view and its
//! source cache are warm, a connect (by name or by address) sends no
//! netlink request at all. Counted by the view's own statistics, in a
//! namespace of the test's own so that nothing else changes the host
//! meanwhile (root; fails without it).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, TcpListener};

use happy_connect::Connector;
use happy_connect::probe::HostView;
use happy_connect::resolve::StaticResolver;
use netns_harness::Netns;

#[test]
fn a_warm_connect_sends_no_netlink_request() {
    let ns = Netns::new("hcv");
    let (before, after) = ns.run(|| {
        let v4 = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).expect("bind");
        let port = v4.local_addr().unwrap().port();
        let v6 = TcpListener::bind((Ipv6Addr::LOCALHOST, port)).expect("bind ::1");
        let view = HostView::new();
        let mut c = Connector::new();
        c.set_host_view(view.clone())
            .set_resolver(StaticResolver::new().with(
                "dual.test",
                &[
                    IpAddr::V6(Ipv6Addr::LOCALHOST),
                    IpAddr::V4(Ipv4Addr::LOCALHOST),
                ],
            ));
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async {
            // Accept and drop, so that the accept queues never fill.
            for listener in [v4, v6] {
                listener.set_nonblocking(true).unwrap();
                let listener = tokio::net::TcpListener::from_std(listener).unwrap();
                tokio::spawn(async move {
                    while let Ok((stream, _)) = listener.accept().await {
                        drop(stream);
                    }
                });
            }
            let connect = |host: &'static str| {
                let c = &c;
                async move {
                    c.connect(host, port)
                        .await
                        .unwrap_or_else(|e| panic!("{e}\n{}", e.report()));
                }
            };
            // Warm: the view's first reading, the sources of every address.
            for host in ["dual.test", "127.0.0.1", "::1"] {
                connect(host).await;
            }
            let before = view.stats();
            for _ in 0..100 {
                for host in ["dual.test", "127.0.0.1", "::1"] {
                    connect(host).await;
                }
            }
            (before, view.stats())
        })
    });
    println!("warm: {before:?}\nafter 300 connects: {after:?}");
    assert_eq!(
        after.captures, before.captures,
        "no new reading of the host"
    );
    assert_eq!(
        after.lookup_batches, before.lookup_batches,
        "no source lookup"
    );
    assert_eq!(after.lookups, before.lookups);
    assert_eq!(after.reach_probes, before.reach_probes);
    assert!(after.cache_hits > before.cache_hits, "the cache answered");
}

/// The connector on the portable backend (what macOS, the BSDs and other
/// Unix systems without a native backend use: `getifaddrs`, connected UDP
/// sockets, polling), on this host: the loopback race of the demo, with
/// sources and capabilities from that backend.
#[tokio::test]
async fn the_connector_races_on_the_portable_backend() {
    use happy_connect::AttemptOutcome;
    use happy_connect::probe::{Backend, ViewOptions};

    use crate::connect::{Mode, Ports, V4_IP, V6_IP, winner_ip};

    let ports = Ports::new(Mode::Listen, Mode::Refuse);
    let mut c = Connector::new();
    c.set_host_view(HostView::with_options(ViewOptions::with_backend(
        Backend::Portable,
    )))
    .set_resolver(StaticResolver::new().with("dual.test", &[V6_IP, V4_IP]))
    .set_aaaa(happy_connect::AaaaPolicy::Always);
    let (_stream, report) = c
        .connect("dual.test", ports.port)
        .await
        .unwrap_or_else(|e| panic!("{e}\n{}", e.report()));
    println!("{report}");
    assert!(report.capabilities.is_some(), "{report}");
    assert!(report.host_unavailable.is_none(), "{report}");
    assert!(
        report.candidates.iter().all(|c| c.source.is_some()),
        "the portable backend found the sources: {report}"
    );
    assert_eq!(report.attempts[0].address.ip(), V6_IP, "{report}");
    assert_eq!(
        report.attempts[0].outcome,
        AttemptOutcome::Refused,
        "{report}"
    );
    assert_eq!(winner_ip(&report), V4_IP, "{report}");
}
