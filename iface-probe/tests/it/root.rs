//! Tests that build network namespaces (with `netns-harness`): they need
//! root and fail without it. Each body runs on a thread that has entered
//! its namespace, so every socket the library opens lives there.

use std::collections::BTreeSet;
use std::net::IpAddr;
use std::time::Duration;

use iface_probe::{
    AddrKind, Backend, Dest, LinkKind, Preference, Snapshot, SourceCache, SourceInfo,
    SourceResolver,
};
use netns_harness::{HeldTun, Netns};

use crate::harness::{addr, iface, udp_source, wait_for};

const TEREDO: &str = "2001:0:c633:640a:8000:f227:bd6a:13fe";

/// A namespace with a veth `va` (up) whose peer `vb` is up in a second
/// namespace; `configure` runs on `va` before it is raised.
fn veth_lab(configure: impl FnOnce(&Netns, &str)) -> (Netns, Netns) {
    let (ns, peer) = (Netns::new("ipt"), Netns::new("ipt"));
    ns.veth("va", &peer, "vb");
    configure(&ns, "va");
    ns.ip(&["link", "set", "va", "up"]);
    peer.ip(&["link", "set", "vb", "up"]);
    (ns, peer)
}

fn ipv4(ns: &Netns, dev: &str) {
    ns.addr(dev, "192.0.2.2/24");
    ns.ip(&["route", "add", "default", "via", "192.0.2.1", "dev", dev]);
}

fn native_ipv6(ns: &Netns, dev: &str) {
    ns.addr(dev, "2001:db8::2/64");
    ns.ip(&[
        "-6",
        "route",
        "add",
        "default",
        "via",
        "2001:db8::1",
        "dev",
        dev,
    ]);
}

/// Miredo's interface, qualified: held open (so it has a carrier), the
/// Teredo address and a default route at metric 1029.
fn teredo(ns: &Netns, name: &str) -> HeldTun {
    ns.teredo_tun(name, TEREDO)
}

/// Slow DAD: many probes, far apart.
fn slow_dad(ns: &Netns, dev: &str) {
    ns.sysctl(&format!("net/ipv6/conf/{dev}/dad_transmits"), "50");
    ns.sysctl(&format!("net/ipv6/neigh/{dev}/retrans_time_ms"), "100000");
}

#[test]
fn tentative_while_dad_runs() {
    let (ns, _peer) = veth_lab(slow_dad);
    ns.ip(&["-6", "addr", "add", "2001:db8::2/64", "dev", "va"]);
    ns.ip(&[
        "-6",
        "route",
        "add",
        "default",
        "via",
        "2001:db8::1",
        "dev",
        "va",
    ]);
    let snap = ns.run(|| Snapshot::capture().unwrap());
    let a = addr(&snap, "va", "2001:db8::2");
    assert!(a.flags.tentative(), "{a:?}");
    assert!(!a.flags.dadfailed() && !a.is_usable());
    assert_eq!(a.class, AddrKind::Documentation);
    assert!(!snap.capabilities().native_ipv6);
}

#[test]
fn dadfailed_when_peer_holds_the_address() {
    let (ns, peer) = veth_lab(|_, _| {});
    peer.addr("vb", "2001:db8::7/64");
    ns.ip(&["-6", "addr", "add", "2001:db8::7/64", "dev", "va"]);
    let snap = ns.run(|| {
        wait_for(Duration::from_secs(10), |s| {
            addr(s, "va", "2001:db8::7").flags.dadfailed()
        })
    });
    let a = addr(&snap, "va", "2001:db8::7");
    assert!(a.flags.dadfailed(), "{a:?}");
    assert!(!a.is_usable());
}

#[test]
fn deprecated_with_preferred_lifetime_zero() {
    let (ns, _peer) = veth_lab(|_, _| {});
    ns.ip(&[
        "-6",
        "addr",
        "add",
        "2001:db8::3/64",
        "dev",
        "va",
        "nodad",
        "preferred_lft",
        "0",
    ]);
    ns.ip(&[
        "-6",
        "route",
        "add",
        "default",
        "via",
        "2001:db8::1",
        "dev",
        "va",
    ]);
    let snap = ns.run(|| Snapshot::capture().unwrap());
    let a = addr(&snap, "va", "2001:db8::3");
    assert!(a.flags.deprecated() && a.flags.nodad(), "{a:?}");
    assert_eq!(a.preferred_lft, Some(0));
    assert_eq!(a.valid_lft, None);
    assert!(!a.is_usable());
    assert!(!snap.capabilities().native_ipv6);
}

#[test]
fn capabilities_ipv4_only() {
    let (ns, _peer) = veth_lab(|_, _| {});
    ipv4(&ns, "va");
    let snap = ns.run(|| Snapshot::capture().unwrap());
    let caps = snap.capabilities();
    assert!(caps.ipv4, "{snap:#?}");
    assert!(!caps.native_ipv6 && !caps.sixtofour && !caps.teredo && !caps.teredo_only);
    let dev = iface(&snap, "va");
    assert_eq!(dev.kind, LinkKind::Veth);
    assert_eq!(snap.preference(dev), Preference::Ipv4);
}

#[test]
fn the_network_identity_follows_the_attachment_not_the_addresses() {
    let (ns, _peer) = veth_lab(|_, _| {});
    ipv4(&ns, "va");
    native_ipv6(&ns, "va");
    let home = ns.run(|| Snapshot::capture().unwrap().network());
    // Another address in the same prefix (a privacy address): the same
    // network.
    ns.addr("va", "2001:db8::77/64");
    let again = ns.run(|| Snapshot::capture().unwrap().network());
    assert_eq!(home, again);
    // Another gateway: another network; back to the first: the first
    // identity again.
    ns.ip(&[
        "route",
        "replace",
        "default",
        "via",
        "192.0.2.254",
        "dev",
        "va",
    ]);
    let moved = ns.run(|| Snapshot::capture().unwrap().network());
    assert_ne!(home, moved);
    ns.ip(&[
        "route",
        "replace",
        "default",
        "via",
        "192.0.2.1",
        "dev",
        "va",
    ]);
    let back = ns.run(|| Snapshot::capture().unwrap().network());
    assert_eq!(home, back);
}

#[test]
fn capabilities_native_ipv6() {
    let (ns, _peer) = veth_lab(|_, _| {});
    native_ipv6(&ns, "va");
    let snap = ns.run(|| Snapshot::capture().unwrap());
    let caps = snap.capabilities();
    assert!(caps.native_ipv6, "{snap:#?}");
    assert!(!caps.ipv4 && !caps.teredo && !caps.teredo_only && !caps.sixtofour);
    assert!(snap.is_ipv6_capable(iface(&snap, "va")));
}

#[test]
fn capabilities_teredo_only() {
    let (ns, _peer) = veth_lab(|_, _| {});
    ipv4(&ns, "va");
    let _tun = teredo(&ns, "teredo");
    let snap = ns.run(|| Snapshot::capture().unwrap());
    let caps = snap.capabilities();
    assert!(
        caps.teredo && caps.teredo_only && caps.ipv4,
        "{caps:?} {snap:#?}"
    );
    assert!(!caps.native_ipv6 && !caps.sixtofour);
    let tun = iface(&snap, "teredo");
    assert_eq!(tun.kind, LinkKind::Tun);
    assert!(tun.kind.is_tunnel() && tun.is_operational());
    assert_eq!(tun.link_type, 0xfffe);
    let order: Vec<&str> = snap
        .interfaces_in_preference_order()
        .iter()
        .map(|i| i.name.as_str())
        .collect();
    assert_eq!(order, ["va", "teredo", "lo"]);
}

#[test]
fn teredo_is_recognised_by_address_not_name() {
    let ns = Netns::new("ipt");
    let _tun = teredo(&ns, "anything0");
    let caps = ns.run(|| Snapshot::capture().unwrap().capabilities());
    assert!(caps.teredo && caps.teredo_only && !caps.ipv4, "{caps:?}");
}

#[test]
fn capabilities_native_and_teredo() {
    let (ns, _peer) = veth_lab(|_, _| {});
    native_ipv6(&ns, "va");
    let _tun = teredo(&ns, "teredo");
    let snap = ns.run(|| Snapshot::capture().unwrap());
    let caps = snap.capabilities();
    assert!(caps.native_ipv6 && caps.teredo, "{caps:?} {snap:#?}");
    assert!(!caps.teredo_only && !caps.ipv4);
    let order: Vec<&str> = snap
        .interfaces_in_preference_order()
        .iter()
        .map(|i| i.name.as_str())
        .collect();
    assert_eq!(order, ["va", "teredo", "lo"]);
}

/// A tun that no process holds keeps its address and routes, and the
/// kernel still routes through it, but it has no carrier: it gives the
/// host no Teredo. Held, the same device does.
#[test]
fn a_tun_without_carrier_gives_no_teredo() {
    let ns = Netns::new("ipt");
    let _peer = ipv4_with_peer(&ns);
    ns.ip(&["tuntap", "add", "dev", "teredo", "mode", "tun"]);
    ns.ip(&["link", "set", "teredo", "up"]);
    ns.addr("teredo", &format!("{TEREDO}/32"));
    ns.ip(&[
        "-6", "route", "add", "default", "dev", "teredo", "metric", "1029",
    ]);
    let snap = ns.run(|| Snapshot::capture().unwrap());
    let tun = iface(&snap, "teredo");
    assert!(
        tun.up && !tun.running && tun.carrier == Some(false),
        "{tun:?}"
    );
    let reach = snap.reach();
    assert_eq!(
        reach.teredo.map(|p| p.oif),
        Some(tun.index),
        "the kernel routes Teredo through it all the same"
    );
    let caps = snap.capabilities();
    assert!(caps.ipv4);
    assert!(!caps.teredo && !caps.teredo_only, "{caps:?}");
    assert_eq!(snap.preference(tun), Preference::Unusable);
    // The same name, now held open: the host has Teredo again.
    ns.ip(&["link", "del", "teredo"]);
    let _held = teredo(&ns, "teredo");
    let caps = ns.run(|| Snapshot::capture().unwrap().capabilities());
    assert!(caps.teredo && caps.teredo_only, "{caps:?}");
}

/// IPv4 on a veth towards a peer namespace.
fn ipv4_with_peer(ns: &Netns) -> Netns {
    let peer = Netns::new("ipt");
    ns.veth("va", &peer, "vb");
    ns.ip(&["link", "set", "va", "up"]);
    peer.ip(&["link", "set", "vb", "up"]);
    ipv4(ns, "va");
    peer
}

/// Native IPv6 whose default route lives in table 100, chosen by
/// `ip -6 rule`s as wg-quick sets them up (the main table first, but
/// without its default routes; then table 100), beside a Teredo tunnel
/// whose routes are in the main table: the kernel sends global IPv6
/// natively and Teredo through the tunnel, so the host is not
/// Teredo-only. The main table alone would say it is.
#[test]
fn a_policy_rule_to_native_ipv6_is_not_teredo_only() {
    let (ns, _peer) = veth_lab(|_, _| {});
    ipv4(&ns, "va");
    ns.addr("va", "2001:db8::2/64");
    ns.ip(&[
        "-6",
        "route",
        "add",
        "default",
        "via",
        "2001:db8::1",
        "dev",
        "va",
        "table",
        "100",
    ]);
    let _tun = teredo(&ns, "teredo");
    ns.ip(&[
        "-6",
        "rule",
        "add",
        "priority",
        "100",
        "lookup",
        "main",
        "suppress_prefixlength",
        "0",
    ]);
    ns.ip(&["-6", "rule", "add", "priority", "101", "lookup", "100"]);
    let snap = ns.run(|| Snapshot::capture().unwrap());
    let caps = snap.capabilities();
    assert!(caps.native_ipv6 && caps.teredo && caps.ipv4, "{caps:?}");
    assert!(!caps.teredo_only, "{caps:?} {:?}", snap.reach());
    assert_eq!(snap.reach().ipv6.unwrap().source.to_string(), "2001:db8::2");
    assert!(snap.is_ipv6_capable(iface(&snap, "va")));
    // Without the rules, the same host is Teredo-only.
    ns.ip(&["-6", "rule", "del", "priority", "100"]);
    ns.ip(&["-6", "rule", "del", "priority", "101"]);
    let caps = ns.run(|| Snapshot::capture().unwrap().capabilities());
    assert!(caps.teredo_only && !caps.native_ipv6, "{caps:?}");
}

/// The portable backend (`getifaddrs`, UDP sockets) and netlink see the
/// same host: the same interfaces and addresses, the same sources, the
/// same capabilities.
#[test]
fn the_portable_backend_agrees_with_netlink() {
    let (ns, _peer) = veth_lab(|_, _| {});
    ipv4(&ns, "va");
    native_ipv6(&ns, "va");
    ns.addr("va", "2001:db8::9/64");
    ns.ip(&["route", "add", "unreachable", "203.0.113.0/24"]);
    let _tun = teredo(&ns, "teredo");
    let (native, portable, native_sources, portable_sources, dests) = ns.run(|| {
        let native = Snapshot::capture_with(Backend::Native).unwrap();
        let portable = Snapshot::capture_with(Backend::Portable).unwrap();
        let va = iface(&native, "va");
        let ll = va
            .addresses
            .iter()
            .find(|a| a.class == AddrKind::LinkLocal)
            .unwrap()
            .ip;
        let p = |s: &str| s.parse::<IpAddr>().unwrap();
        let dests = vec![
            Dest::from(p("192.0.2.77")),
            Dest::from(p("198.51.100.1")),
            Dest::from(p("203.0.113.5")),
            Dest::from(p("2001:db8::99")),
            Dest::from(p("2001:db8:1::1")),
            Dest::from(p("2001:0:1:2::3")),
            Dest::from(p("127.0.0.1")),
            Dest::from(p("::1")),
            Dest::new(p("fe80::99"), Some(va.index)),
            Dest::new(ll, Some(va.index)),
        ];
        let native_sources = SourceResolver::with_backend(Backend::Native)
            .unwrap()
            .sources(&native, &dests)
            .unwrap();
        let portable_sources = SourceResolver::with_backend(Backend::Portable)
            .unwrap()
            .sources(&portable, &dests)
            .unwrap();
        (native, portable, native_sources, portable_sources, dests)
    });
    let addresses = |s: &Snapshot| -> BTreeSet<(String, IpAddr, u8)> {
        s.interfaces
            .iter()
            .flat_map(|i| {
                i.addresses
                    .iter()
                    .map(|a| (i.name.clone(), a.ip, a.prefix_len))
            })
            .collect()
    };
    assert_eq!(addresses(&native), addresses(&portable));
    let flags = |s: &Snapshot| -> Vec<(String, u32, bool, bool, bool)> {
        s.interfaces
            .iter()
            .map(|i| (i.name.clone(), i.index, i.up, i.running, i.is_loopback()))
            .collect()
    };
    assert_eq!(flags(&native), flags(&portable));
    assert_eq!(native.capabilities(), portable.capabilities());
    assert!(native.capabilities().native_ipv6 && native.capabilities().teredo);
    assert_eq!(native.reach(), portable.reach());
    let view = |sources: &[Option<SourceInfo>]| -> Vec<Option<(IpAddr, u32, bool)>> {
        sources
            .iter()
            .map(|s| s.as_ref().map(|s| (s.addr, s.oif, s.tunnel)))
            .collect()
    };
    assert_eq!(
        view(&native_sources),
        view(&portable_sources),
        "sources for {dests:?}"
    );
    assert!(
        portable_sources[2].is_none(),
        "unreachable stays unreachable"
    );
}

#[test]
fn batched_sources_match_udp_connect() {
    let (ns, _peer) = veth_lab(|_, _| {});
    // IPv4: only the connected subnet, so other IPv4 is unreachable.
    ns.addr("va", "192.0.2.2/24");
    ns.addr("va", "2001:db8::2/64");
    ns.ip(&[
        "-6",
        "addr",
        "add",
        "2001:db8::3/64",
        "dev",
        "va",
        "nodad",
        "preferred_lft",
        "0",
    ]);
    ns.ip(&[
        "-6",
        "route",
        "add",
        "2000::/3",
        "via",
        "2001:db8::1",
        "dev",
        "va",
    ]);
    ns.ip(&["-6", "route", "add", "unreachable", "2001:db8:dead::/48"]);
    ns.ip(&["-6", "route", "add", "blackhole", "2001:db8:b1ac::/48"]);
    ns.ip(&["route", "add", "unreachable", "203.0.113.0/24"]);
    ns.ip(&["route", "add", "prohibit", "198.18.0.0/15"]);
    let _tun = teredo(&ns, "teredo");
    ns.run(|| {
        let snap = Snapshot::capture().unwrap();
        let dev = iface(&snap, "va");
        let ll = dev
            .addresses
            .iter()
            .find(|a| a.class == AddrKind::LinkLocal)
            .unwrap()
            .ip;
        let p = |s: &str| s.parse::<IpAddr>().unwrap();
        let mut dests: Vec<Dest> = [
            "192.0.2.77",
            "192.0.2.2",
            "127.0.0.1",
            "198.51.100.1",
            "2001:db8::99",
            "2001:db8:1::1",
            "2001:0:1:2::3",
            "2001:db8:dead::1",
            "2001:db8:b1ac::1",
            "203.0.113.5",
            "198.18.0.1",
            "fd00::1",
            "::1",
            "::ffff:192.0.2.9",
        ]
        .iter()
        .map(|s| Dest::from(p(s)))
        .collect();
        dests.push(Dest::new(p("fe80::99"), Some(dev.index)));
        dests.push(Dest::new(ll, Some(dev.index)));
        // More than one batch's worth.
        for i in 0..100u16 {
            dests.push(Dest::from(IpAddr::from([0x2001, 0xdb8, 0, 0, 0, 0, 1, i])));
        }
        let mut resolver = SourceResolver::new().unwrap();
        let got = resolver.sources(&snap, &dests).unwrap();
        assert_eq!(got.len(), dests.len());
        for (dest, info) in dests.iter().zip(&got) {
            let udp = udp_source(dest.ip, dest.scope_id.unwrap_or(0));
            // An IPv6 socket reports an IPv4-mapped source for a mapped
            // destination; the resolver answers with the IPv4 address.
            let udp = udp.map(|a| match a {
                IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(a, IpAddr::V4),
                v4 => v4,
            });
            assert_eq!(info.as_ref().map(|i| i.addr), udp, "{dest:?}: {info:?}");
        }
        let by = |s: &str| got[dests.iter().position(|d| d.ip == p(s)).unwrap()].clone();
        assert!(by("198.51.100.1").is_none());
        for unreachable in [
            "2001:db8:dead::1",
            "2001:db8:b1ac::1",
            "203.0.113.5",
            "198.18.0.1",
        ] {
            assert!(by(unreachable).is_none(), "{unreachable}");
        }
        // No route of its own: ULA follows the default route into the
        // Teredo tunnel.
        assert_eq!(by("fd00::1").unwrap().addr, p(TEREDO));
        let teredo = by("2001:0:1:2::3").unwrap();
        assert_eq!(teredo.addr, p(TEREDO));
        assert!(teredo.tunnel);
        assert_eq!(
            (teredo.class, teredo.prefix_len),
            (AddrKind::Teredo, Some(32))
        );
        let native = by("2001:db8:1::1").unwrap();
        assert_eq!(native.addr, p("2001:db8::2"));
        assert_eq!(native.oif, dev.index);
        assert!(!native.tunnel && !native.deprecated && !native.temporary && !native.home);
        assert_eq!(native.prefix_len, Some(64));
        let v4 = by("192.0.2.77").unwrap();
        assert_eq!((v4.addr, v4.prefix_len), (p("192.0.2.2"), Some(24)));
        // The socket is reused and answers the same.
        assert_eq!(resolver.sources(&snap, &dests).unwrap(), got);
    });
}

#[test]
fn cache_sees_address_route_and_rule_changes() {
    let (ns, _peer) = veth_lab(|_, _| {});
    ns.addr("va", "192.0.2.2/24");
    ns.addr("va", "2001:db8::2/64");
    ns.ip(&[
        "-6",
        "route",
        "add",
        "2000::/3",
        "via",
        "2001:db8::1",
        "dev",
        "va",
    ]);
    let p = |s: &str| s.parse::<IpAddr>().unwrap();
    let dests = [p("192.0.2.77"), p("198.51.100.1"), p("2001:db8:1::1")];
    let mut cache = ns.run(|| SourceCache::new().unwrap());
    // Every answer agrees with what a UDP socket gets right now.
    let check = |got: &[Option<SourceInfo>]| {
        for (dest, info) in dests.iter().zip(got) {
            let udp = ns.run(|| udp_source(*dest, 0));
            assert_eq!(info.as_ref().map(|i| i.addr), udp, "{dest}: {info:?}");
        }
    };
    let addrs = |got: &[Option<SourceInfo>]| -> Vec<Option<IpAddr>> {
        got.iter().map(|i| i.as_ref().map(|i| i.addr)).collect()
    };

    let first = cache.sources(&dests).unwrap();
    check(&first);
    assert_eq!(
        addrs(&first),
        [Some(p("192.0.2.2")), None, Some(p("2001:db8::2"))]
    );
    let stats = cache.stats();
    assert_eq!((stats.hits, stats.misses), (0, 3));
    // Nothing changed: every answer comes from the cache.
    assert_eq!(cache.sources(&dests).unwrap(), first);
    assert_eq!(cache.stats().hits, 3);
    assert_eq!(cache.stats().invalidations, stats.invalidations);

    // A route appears: the unreachable destination gets a source.
    ns.ip(&["route", "add", "198.51.100.0/24", "via", "192.0.2.1"]);
    let got = cache.sources(&dests).unwrap();
    check(&got);
    assert_eq!(
        addrs(&got),
        [
            Some(p("192.0.2.2")),
            Some(p("192.0.2.2")),
            Some(p("2001:db8::2"))
        ]
    );
    assert!(cache.stats().invalidations > stats.invalidations);
    assert_eq!(cache.stats().misses, 6);

    // The source in use goes away and a new address takes its place;
    // the new address's attributes come from a fresh snapshot.
    ns.addr("va", "2001:db8::4/64");
    ns.ip(&["-6", "addr", "del", "2001:db8::2/64", "dev", "va"]);
    let got = cache.sources(&dests).unwrap();
    check(&got);
    let v6 = got[2].as_ref().unwrap();
    assert_eq!((v6.addr, v6.prefix_len), (p("2001:db8::4"), Some(64)));
    assert!(
        cache
            .snapshot()
            .unwrap()
            .address(p("2001:db8::2"), None)
            .is_none()
    );

    // A policy rule sends the IPv6 destination to a table with nothing
    // in it: the change is seen, and the destination is unreachable.
    let before = cache.stats();
    ns.ip(&[
        "-6",
        "rule",
        "add",
        "priority",
        "100",
        "to",
        "2001:db8:1::/48",
        "prohibit",
    ]);
    let got = cache.sources(&dests).unwrap();
    check(&got);
    assert_eq!(got[2], None);
    assert!(cache.stats().invalidations > before.invalidations);
    ns.ip(&["-6", "rule", "del", "priority", "100"]);

    // The last IPv4 address goes, and with it every IPv4 route.
    ns.ip(&["addr", "del", "192.0.2.2/24", "dev", "va"]);
    let got = cache.sources(&dests).unwrap();
    check(&got);
    assert_eq!(addrs(&got), [None, None, Some(p("2001:db8::4"))]);

    // And it stays that way while nothing changes.
    let before = cache.stats();
    assert_eq!(cache.sources(&dests).unwrap(), got);
    assert_eq!(cache.stats().hits, before.hits + 3);
    assert_eq!(cache.stats().misses, before.misses);
}

/// The next change of `sub` that `pred` accepts, within ten seconds.
fn next_matching(
    sub: &mut iface_probe::Subscription,
    pred: impl Fn(&iface_probe::Change) -> bool,
) -> iface_probe::Change {
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        let left = deadline.saturating_duration_since(std::time::Instant::now());
        match sub.recv_timeout(Some(left)) {
            Some(Ok(change)) if pred(&change) => return change,
            Some(Ok(_)) => {}
            Some(Err(e)) => panic!("the view failed: {e}"),
            None => panic!("no matching change in time"),
        }
    }
}

/// A view follows addresses (DAD included), routes and rules as the
/// kernel reports them, and empties its source cache on each change.
#[test]
fn the_view_follows_the_host() {
    use iface_probe::{Change, HostView};
    let (ns, _peer) = veth_lab(slow_dad);
    ns.addr("va", "192.0.2.2/24");
    let view = ns.run(HostView::new);
    let mut sub = ns.run(|| view.subscribe(Duration::from_secs(10)).unwrap());
    assert!(matches!(sub.try_recv(), Some(Ok(Change::Resync(_)))));
    let p = |s: &str| s.parse::<IpAddr>().unwrap();
    let dests = [
        Dest::from(p("198.51.100.1")),
        Dest::from(p("2001:db8:1::1")),
    ];
    let none = view.sources_blocking(&dests).unwrap();
    assert_eq!(none, [None, None]);
    let lookups = view.stats().lookups;
    assert_eq!(view.sources_blocking(&dests).unwrap(), none, "cached");
    assert_eq!(view.stats().lookups, lookups);

    // An address under slow DAD: tentative first, in the snapshot too.
    ns.ip(&["-6", "addr", "add", "2001:db8::2/64", "dev", "va"]);
    let change = next_matching(
        &mut sub,
        |c| matches!(c, Change::Address { address, .. } if address.ip == p("2001:db8::2")),
    );
    let Change::Address { address, .. } = change else {
        unreachable!()
    };
    assert!(address.flags.tentative(), "{address:?}");
    let snap = view.snapshot().unwrap();
    assert!(addr(&snap, "va", "2001:db8::2").flags.tentative());

    // Routes: the destinations become reachable; the cache is emptied.
    ns.ip(&["route", "add", "default", "via", "192.0.2.1"]);
    ns.addr("va", "2001:db8::9/64");
    ns.ip(&[
        "-6",
        "route",
        "add",
        "2000::/3",
        "via",
        "2001:db8::1",
        "dev",
        "va",
    ]);
    next_matching(&mut sub, |c| matches!(c, Change::Routes));
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    let got = loop {
        let got = view.sources_blocking(&dests).unwrap();
        if got.iter().all(Option::is_some) || std::time::Instant::now() > deadline {
            break got;
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    assert_eq!(got[0].as_ref().unwrap().addr, p("192.0.2.2"));
    assert_eq!(got[1].as_ref().unwrap().addr, p("2001:db8::9"));
    assert!(view.stats().lookups > lookups);
    let caps = view.snapshot().unwrap().capabilities();
    assert!(caps.ipv4 && caps.native_ipv6, "{caps:?}");

    // A rule that prohibits the IPv6 destination: seen without polling.
    ns.ip(&[
        "-6",
        "rule",
        "add",
        "priority",
        "100",
        "to",
        "2001:db8:1::/48",
        "prohibit",
    ]);
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        let got = view.sources_blocking(&dests).unwrap();
        if got[1].is_none() {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "rule not seen: {got:?}"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    // No whole re-reading was needed for any of it.
    assert_eq!(view.stats().captures, 1, "{:?}", view.stats());
}

/// The portable backend has no notifications: it reads the host again
/// every second and finds the changes itself.
#[test]
fn a_portable_view_polls() {
    use iface_probe::{Change, HostView, ViewOptions};
    let (ns, _peer) = veth_lab(|_, _| {});
    let view = ns.run(|| HostView::with_options(ViewOptions::with_backend(Backend::Portable)));
    let mut sub = ns.run(|| view.subscribe(Duration::from_secs(10)).unwrap());
    ns.addr("va", "2001:db8::5/64");
    let p = |s: &str| s.parse::<IpAddr>().unwrap();
    next_matching(
        &mut sub,
        |c| matches!(c, Change::Address { address, .. } if address.ip == p("2001:db8::5")),
    );
    assert!(
        view.snapshot()
            .unwrap()
            .address(p("2001:db8::5"), None)
            .is_some()
    );
    assert!(view.stats().captures >= 2);
}

/// A view learns the NAT64 prefix a router announces (RFC 8781 PREF64,
/// `RTM_NEWNDUSEROPT`), keeps it for its lifetime, drops it when
/// withdrawn or expired, and records why it ignored bad announcements;
/// the source cache survives all of it.
#[test]
fn the_view_learns_pref64_from_router_advertisements() {
    use iface_probe::{Change, HostView, Nat64Prefix};
    use netns_harness::ra::{RouterAdvertiser, pref64_option};
    use std::time::Instant;

    let (ns, router) = veth_lab(|ns, dev| {
        // No DAD: the link-local addresses are usable at once.
        ns.sysctl(&format!("net/ipv6/conf/{dev}/accept_dad"), "0");
    });
    router.sysctl("net/ipv6/conf/vb/accept_dad", "0");
    // A router: it joins all-routers (ff02::2), where solicitations go.
    router.sysctl("net/ipv6/conf/all/forwarding", "1");
    native_ipv6(&ns, "va");
    let view = ns.run(HostView::new);
    let mut sub = ns.run(|| view.subscribe(Duration::from_secs(10)).unwrap());
    let dest = [Dest::from("2001:db8::1".parse::<IpAddr>().unwrap())];
    ns.run(|| view.sources_blocking(&dest).unwrap());
    let hits = view.stats().cache_hits;

    // The host asks, and the router hears the solicitation.
    let advertiser = router.run(|| RouterAdvertiser::open("vb").unwrap());
    let solicited = std::thread::scope(|s| {
        let heard = s.spawn(|| {
            router.run(|| {
                advertiser
                    .wait_solicitation(Duration::from_secs(5))
                    .unwrap()
            })
        });
        std::thread::sleep(Duration::from_millis(50));
        assert_eq!(ns.run(|| view.solicit_routers()).unwrap(), 1);
        heard.join().unwrap()
    });
    assert!(solicited, "no router solicitation reached the router");

    let nsp: Nat64Prefix = "2001:db8:64::/96".parse().unwrap();
    let before = Instant::now();
    router
        .run(|| advertiser.send(&[&pref64_option(75, 0, nsp.prefix())]))
        .unwrap();
    next_matching(&mut sub, |c| matches!(c, Change::Nat64));
    let snap = view.snapshot().unwrap();
    assert_eq!(
        snap.pref64_prefixes(Instant::now()),
        [nsp],
        "{:?}",
        snap.pref64
    );
    let p = snap.pref64[0];
    assert_eq!(p.lifetime, Duration::from_secs(600));
    assert_eq!(
        Some(p.interface),
        snap.interface_by_name("va").map(|i| i.index)
    );
    assert!(p.router.is_some_and(|r| r.is_unicast_link_local()), "{p:?}");
    assert!(p.expires >= before + Duration::from_secs(600));
    // Only the prefixes changed: the kernel's sources stay cached.
    ns.run(|| view.sources_blocking(&dest).unwrap());
    assert_eq!(view.stats().cache_hits, hits + 1, "{:?}", view.stats());

    // Bad announcements are ignored, each with its reason.
    let bad = [
        (pref64_option(75, 7, nsp.prefix()), "length code 7"),
        (pref64_option(75, 6, nsp.prefix()), "length code 6"),
        (
            pref64_option(75, 0, "2001:db8:0:0:100::".parse().unwrap()),
            "bits 64 to 71 must be zero",
        ),
    ];
    for (option, why) in &bad {
        router.run(|| advertiser.send(&[option])).unwrap();
        next_matching(&mut sub, |c| matches!(c, Change::Nat64));
        let snap = view.snapshot().unwrap();
        let last = snap.pref64_ignored.last().expect("an ignored option");
        assert!(last.reason.contains(why), "{last:?}");
        assert_eq!(snap.pref64_prefixes(Instant::now()), [nsp]);
    }
    // Withdrawn with a zero lifetime.
    router
        .run(|| advertiser.send(&[&pref64_option(0, 0, nsp.prefix())]))
        .unwrap();
    next_matching(&mut sub, |c| matches!(c, Change::Nat64));
    let snap = view.snapshot().unwrap();
    assert!(snap.pref64.is_empty(), "{:?}", snap.pref64);
    assert_eq!(
        snap.pref64_ignored.last().unwrap().reason,
        "lifetime 0: 2001:db8:64::/96 withdrawn"
    );

    // The shortest lifetime there is, 8 s: gone when it runs out, with
    // nothing else happening.
    let short: Nat64Prefix = "64:ff9b::/96".parse().unwrap();
    router
        .run(|| advertiser.send(&[&pref64_option(1, 0, short.prefix())]))
        .unwrap();
    next_matching(&mut sub, |c| matches!(c, Change::Nat64));
    let announced = Instant::now();
    assert_eq!(view.snapshot().unwrap().pref64_prefixes(announced), [short]);
    let deadline = announced + Duration::from_secs(12);
    loop {
        match sub.recv_timeout(Some(deadline.saturating_duration_since(Instant::now()))) {
            Some(Ok(Change::Nat64)) => break,
            Some(Ok(_)) => {}
            other => panic!("no expiry within 12 s: {other:?}"),
        }
    }
    assert!(
        announced.elapsed() >= Duration::from_secs(7),
        "expired early"
    );
    assert!(view.snapshot().unwrap().pref64.is_empty());

    // The interface going down takes its prefixes along.
    router
        .run(|| advertiser.send(&[&pref64_option(75, 0, nsp.prefix())]))
        .unwrap();
    next_matching(&mut sub, |c| matches!(c, Change::Nat64));
    ns.ip(&["link", "set", "va", "down"]);
    next_matching(&mut sub, |c| matches!(c, Change::Nat64));
    assert!(view.snapshot().unwrap().pref64.is_empty());
    assert_eq!(view.stats().captures, 1, "{:?}", view.stats());
}

/// The IPv4 routes of `snap`, by what the kernel keys them on and where
/// they lead (not their flags, which the kernel changes unreported: a
/// carrier that comes and goes), sorted.
fn ipv4_routes(snap: &Snapshot) -> Vec<String> {
    let mut routes: Vec<String> = snap
        .routes
        .iter()
        .filter(|r| r.family == iface_probe::Family::Ipv4)
        .map(|r| {
            format!(
                "table {} {:?} {:?} metric {} oif {:?} via {:?} src {:?} {:?}",
                r.table, r.kind, r.dst, r.metric, r.oif, r.gateway, r.pref_src, r.multipath
            )
        })
        .collect();
    routes.sort();
    routes
}

/// Linux flushes the IPv4 routes through an interface that goes down or
/// away, or loses its last IPv4 address, without a notice for each; the
/// view drops them all the same, and its IPv4 routes match a fresh
/// reading of the host each time.
#[test]
fn the_view_drops_the_ipv4_routes_the_kernel_flushes() {
    use iface_probe::HostView;
    use std::time::Instant;

    let (ns, _peer) = veth_lab(|_, _| {});
    ipv4(&ns, "va");
    let view = ns.run(HostView::new);
    view.wait_ready(Duration::from_secs(10)).unwrap();
    // The view comes to agree with the kernel within ten seconds; returns
    // the view's snapshot and the kernel's.
    let agrees = |after: &str| -> (Snapshot, Snapshot) {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let seen = view.snapshot().expect("a snapshot");
            let fresh = ns.run(|| Snapshot::capture().unwrap());
            if ipv4_routes(&seen) == ipv4_routes(&fresh) {
                return (Snapshot::clone(&seen), fresh);
            }
            assert!(
                Instant::now() < deadline,
                "{after}: the view's IPv4 routes {:#?}\nthe kernel's {:#?}",
                ipv4_routes(&seen),
                ipv4_routes(&fresh)
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    };
    let has_default = |snap: &Snapshot| {
        snap.routes
            .iter()
            .any(|r| r.family == iface_probe::Family::Ipv4 && r.is_default())
    };
    let default_via_va = || ns.ip(&["route", "add", "default", "via", "192.0.2.1"]);
    let (seen, _) = agrees("at the start");
    assert!(has_default(&seen));

    ns.ip(&["link", "set", "va", "down"]);
    let (seen, _) = agrees("after va went down");
    assert!(!has_default(&seen));
    // Up again, the interface gets its own routes back, not the default.
    ns.ip(&["link", "set", "va", "up"]);
    let (seen, fresh) = agrees("after va came up");
    assert!(!has_default(&seen));
    assert!(!seen.is_ipv4_capable(iface(&seen, "va")));
    assert!(!fresh.is_ipv4_capable(iface(&fresh, "va")));

    default_via_va();
    agrees("with the default route again");
    ns.ip(&["addr", "del", "192.0.2.2/24", "dev", "va"]);
    let (seen, _) = agrees("after va lost its IPv4 address");
    assert!(!has_default(&seen));

    ns.addr("va", "192.0.2.2/24");
    default_via_va();
    agrees("with the address and the default route again");
    ns.ip(&["link", "del", "va"]);
    let (seen, _) = agrees("after va went away");
    assert!(!has_default(&seen));
}
