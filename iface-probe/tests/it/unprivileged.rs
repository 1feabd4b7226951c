//! Tests that run in whatever namespace the tests run in, without root.

use std::net::IpAddr;

use iface_probe::{LinkKind, Snapshot, SourceCache, SourceResolver};

use crate::harness::udp_source;

#[test]
fn capture_sees_loopback() {
    let snap = Snapshot::capture().unwrap();
    let lo = snap.interface_by_name("lo").expect("lo");
    assert_eq!(lo.kind, LinkKind::Loopback);
    assert!(lo.is_loopback());
    assert_eq!(snap.interface(lo.index).unwrap().name, "lo");
    let order = snap.interfaces_in_preference_order();
    assert_eq!(order.last().unwrap().name, "lo");
    // Every table is listed: the local table holds the loopback routes.
    // (Netlink lists routes; Windows' backend lists none, by design.)
    #[cfg(any(target_os = "linux", target_os = "android"))]
    assert!(
        snap.routes.iter().any(|r| r.table == 255),
        "{:?}",
        snap.routes
    );
    assert!(snap.reach.is_some(), "the kernel's answers come with it");
}

#[test]
fn loopback_sources_match_udp() {
    let snap = Snapshot::capture().unwrap();
    let mut dests: Vec<IpAddr> = vec!["127.0.0.1".parse().unwrap(), "127.0.0.2".parse().unwrap()];
    if snap.address("::1".parse().unwrap(), None).is_some() {
        dests.push("::1".parse().unwrap());
    }
    let mut resolver = SourceResolver::new().unwrap();
    let got = resolver.sources(&snap, &dests).unwrap();
    for (dest, info) in dests.iter().zip(&got) {
        let info = info
            .as_ref()
            .unwrap_or_else(|| panic!("no source for {dest}"));
        assert_eq!(Some(info.addr), udp_source(*dest, 0), "{dest}");
        assert_eq!(snap.interface(info.oif).unwrap().name, "lo");
        assert!(!info.tunnel);
    }
    // The socket is reused.
    assert_eq!(resolver.sources(&snap, &dests).unwrap(), got);
}

#[test]
fn thousands_of_destinations() {
    // Far more replies than one receive buffer holds at a time.
    let snap = Snapshot::capture().unwrap();
    let dests: Vec<IpAddr> = (0..3000u32)
        .map(|i| IpAddr::from((0x7f00_0001 + i).to_be_bytes()))
        .collect();
    let got = SourceResolver::new()
        .unwrap()
        .sources(&snap, &dests)
        .unwrap();
    assert_eq!(got.len(), dests.len());
    for info in got {
        assert_eq!(info.unwrap().addr, "127.0.0.1".parse::<IpAddr>().unwrap());
    }
}

#[test]
fn cache_answers_as_the_resolver_does() {
    let mut cache = SourceCache::new().unwrap();
    let mut dests: Vec<IpAddr> = vec![
        "127.0.0.1".parse().unwrap(),
        "127.0.0.2".parse().unwrap(),
        "127.0.0.1".parse().unwrap(),
    ];
    if cache
        .snapshot()
        .unwrap()
        .address("::1".parse().unwrap(), None)
        .is_some()
    {
        dests.push("::1".parse().unwrap());
    }
    let first = cache.sources(&dests).unwrap();
    assert_eq!(first.len(), dests.len());
    // Duplicates are asked about once.
    assert_eq!(cache.len(), dests.len() - 1);
    let snap = cache.snapshot().unwrap().clone();
    let direct = SourceResolver::new()
        .unwrap()
        .sources(&snap, &dests)
        .unwrap();
    assert_eq!(first, direct);
    assert_eq!(cache.sources(&dests).unwrap(), first);
    for (dest, info) in dests.iter().zip(&first) {
        assert_eq!(
            info.as_ref().map(|i| i.addr),
            udp_source(*dest, 0),
            "{dest}"
        );
    }
    cache.invalidate();
    assert!(cache.is_empty());
    assert_eq!(cache.sources(&dests).unwrap(), first);
}
