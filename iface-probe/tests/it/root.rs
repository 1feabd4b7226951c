//! Tests that build network namespaces: they need root and fail without it.

use std::net::IpAddr;
use std::time::Duration;

use iface_probe::{
    AddrKind, Dest, LinkKind, Preference, Snapshot, SourceCache, SourceInfo, SourceResolver,
};

use crate::harness::{Netns, addr, iface, in_netns, udp_source, unique_name, veth};

const TEREDO: &str = "2001:0:c633:640a:8000:f227:bd6a:13fe";

/// A namespace `ns` with a veth `if` (up) whose peer is in a second
/// namespace `peer`; `configure` runs between creating and raising the link.
fn veth_lab(configure: impl FnOnce(&Netns, &str)) -> ((Netns, Netns), String, String) {
    let (ns, peer) = (Netns::new(), Netns::new());
    let (a, b) = veth(&ns, &peer);
    configure(&ns, &a);
    ns.ip(&["link", "set", &a, "up"]);
    peer.ip(&["link", "set", &b, "up"]);
    let name = ns.name.clone();
    ((ns, peer), name, a)
}

/// Adds a `tun` device named `name` with the Teredo address and a default
/// IPv6 route through it, as Miredo does.
fn add_teredo(ns: &Netns, name: &str) {
    ns.ip(&["tuntap", "add", "dev", name, "mode", "tun"]);
    ns.ip(&["link", "set", name, "up"]);
    ns.ip(&[
        "-6",
        "addr",
        "add",
        &format!("{TEREDO}/32"),
        "dev",
        name,
        "nodad",
    ]);
    ns.ip(&[
        "-6", "route", "add", "default", "dev", name, "metric", "1029",
    ]);
}

fn ipv4(ns: &Netns, dev: &str) {
    ns.ip(&["addr", "add", "192.0.2.2/24", "dev", dev]);
    ns.ip(&["route", "add", "default", "via", "192.0.2.1", "dev", dev]);
}

fn native_ipv6(ns: &Netns, dev: &str) {
    ns.ip(&["-6", "addr", "add", "2001:db8::2/64", "dev", dev, "nodad"]);
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

/// Slow DAD: many probes, far apart.
fn slow_dad(ns: &Netns, dev: &str) {
    ns.sysctl(&format!("net.ipv6.conf.{dev}.dad_transmits=50"));
    ns.sysctl(&format!("net.ipv6.neigh.{dev}.retrans_time_ms=100000"));
}

#[test]
fn tentative_while_dad_runs() {
    in_netns(
        "root::tentative_while_dad_runs",
        || {
            let (guard, ns, dev) = veth_lab(slow_dad);
            guard
                .0
                .ip(&["-6", "addr", "add", "2001:db8::2/64", "dev", &dev]);
            guard.0.ip(&[
                "-6",
                "route",
                "add",
                "default",
                "via",
                "2001:db8::1",
                "dev",
                &dev,
            ]);
            (guard, ns, vec![("dev", dev)])
        },
        |vars| {
            let snap = Snapshot::capture().unwrap();
            let a = addr(&snap, vars.get("dev"), "2001:db8::2");
            assert!(a.flags.tentative(), "{a:?}");
            assert!(!a.flags.dadfailed() && !a.is_usable());
            assert_eq!(a.class, AddrKind::Documentation);
            assert!(!snap.capabilities().native_ipv6);
        },
    );
}

#[test]
fn dadfailed_when_peer_holds_the_address() {
    in_netns(
        "root::dadfailed_when_peer_holds_the_address",
        || {
            let (guard, ns, dev) = veth_lab(|_, _| {});
            let peer_dev = {
                // The peer end is the only veth in the peer namespace.
                let out = std::process::Command::new("ip")
                    .args(["-n", &guard.1.name, "-o", "link", "show", "type", "veth"])
                    .output()
                    .unwrap();
                let text = String::from_utf8_lossy(&out.stdout).into_owned();
                let name = text.split(':').nth(1).unwrap().trim();
                name.split('@').next().unwrap().to_owned()
            };
            guard.1.ip(&[
                "-6",
                "addr",
                "add",
                "2001:db8::7/64",
                "dev",
                &peer_dev,
                "nodad",
            ]);
            guard
                .0
                .ip(&["-6", "addr", "add", "2001:db8::7/64", "dev", &dev]);
            (guard, ns, vec![("dev", dev)])
        },
        |vars| {
            let dev = vars.get("dev");
            let snap = crate::harness::wait_for(Duration::from_secs(10), |s| {
                addr(s, dev, "2001:db8::7").flags.dadfailed()
            });
            let a = addr(&snap, dev, "2001:db8::7");
            assert!(a.flags.dadfailed(), "{a:?}");
            assert!(!a.is_usable());
        },
    );
}

#[test]
fn deprecated_with_preferred_lifetime_zero() {
    in_netns(
        "root::deprecated_with_preferred_lifetime_zero",
        || {
            let (guard, ns, dev) = veth_lab(|_, _| {});
            guard.0.ip(&[
                "-6",
                "addr",
                "add",
                "2001:db8::3/64",
                "dev",
                &dev,
                "nodad",
                "preferred_lft",
                "0",
            ]);
            guard.0.ip(&[
                "-6",
                "route",
                "add",
                "default",
                "via",
                "2001:db8::1",
                "dev",
                &dev,
            ]);
            (guard, ns, vec![("dev", dev)])
        },
        |vars| {
            let snap = Snapshot::capture().unwrap();
            let a = addr(&snap, vars.get("dev"), "2001:db8::3");
            assert!(a.flags.deprecated() && a.flags.nodad(), "{a:?}");
            assert_eq!(a.preferred_lft, Some(0));
            assert_eq!(a.valid_lft, None);
            assert!(!a.is_usable());
            assert!(!snap.capabilities().native_ipv6);
        },
    );
}

#[test]
fn capabilities_ipv4_only() {
    in_netns(
        "root::capabilities_ipv4_only",
        || {
            let (guard, ns, dev) = veth_lab(|_, _| {});
            ipv4(&guard.0, &dev);
            (guard, ns, vec![("dev", dev)])
        },
        |vars| {
            let snap = Snapshot::capture().unwrap();
            let caps = snap.capabilities();
            assert!(caps.ipv4, "{snap:#?}");
            assert!(!caps.native_ipv6 && !caps.sixtofour && !caps.teredo && !caps.teredo_only);
            let dev = iface(&snap, vars.get("dev"));
            assert_eq!(dev.kind, LinkKind::Veth);
            assert_eq!(snap.preference(dev), Preference::Ipv4);
        },
    );
}

#[test]
fn capabilities_native_ipv6() {
    in_netns(
        "root::capabilities_native_ipv6",
        || {
            let (guard, ns, dev) = veth_lab(|_, _| {});
            native_ipv6(&guard.0, &dev);
            (guard, ns, vec![("dev", dev)])
        },
        |vars| {
            let snap = Snapshot::capture().unwrap();
            let caps = snap.capabilities();
            assert!(caps.native_ipv6, "{snap:#?}");
            assert!(!caps.ipv4 && !caps.teredo && !caps.teredo_only && !caps.sixtofour);
            assert!(snap.is_ipv6_capable(iface(&snap, vars.get("dev"))));
        },
    );
}

#[test]
fn capabilities_teredo_only() {
    in_netns(
        "root::capabilities_teredo_only",
        || {
            let (guard, ns, dev) = veth_lab(|_, _| {});
            ipv4(&guard.0, &dev);
            add_teredo(&guard.0, "teredo");
            (guard, ns, vec![("dev", dev)])
        },
        |vars| {
            let snap = Snapshot::capture().unwrap();
            let caps = snap.capabilities();
            assert!(
                caps.teredo && caps.teredo_only && caps.ipv4,
                "{caps:?} {snap:#?}"
            );
            assert!(!caps.native_ipv6 && !caps.sixtofour);
            let teredo = iface(&snap, "teredo");
            assert_eq!(teredo.kind, LinkKind::Tun);
            assert!(teredo.kind.is_tunnel() && teredo.up);
            assert_eq!(teredo.link_type, iface_probe::ARPHRD_NONE);
            let order: Vec<&str> = snap
                .interfaces_in_preference_order()
                .iter()
                .map(|i| i.name.as_str())
                .collect();
            assert_eq!(order, [vars.get("dev"), "teredo", "lo"]);
        },
    );
}

#[test]
fn teredo_is_recognised_by_address_not_name() {
    in_netns(
        "root::teredo_is_recognised_by_address_not_name",
        || {
            let ns = Netns::new();
            let name = unique_name();
            add_teredo(&ns, &name);
            let ns_name = ns.name.clone();
            (ns, ns_name, vec![])
        },
        |_| {
            let caps = Snapshot::capture().unwrap().capabilities();
            assert!(caps.teredo && caps.teredo_only && !caps.ipv4, "{caps:?}");
        },
    );
}

#[test]
fn capabilities_native_and_teredo() {
    in_netns(
        "root::capabilities_native_and_teredo",
        || {
            let (guard, ns, dev) = veth_lab(|_, _| {});
            native_ipv6(&guard.0, &dev);
            add_teredo(&guard.0, "teredo");
            (guard, ns, vec![("dev", dev)])
        },
        |vars| {
            let snap = Snapshot::capture().unwrap();
            let caps = snap.capabilities();
            assert!(caps.native_ipv6 && caps.teredo, "{caps:?} {snap:#?}");
            assert!(!caps.teredo_only && !caps.ipv4);
            let order: Vec<&str> = snap
                .interfaces_in_preference_order()
                .iter()
                .map(|i| i.name.as_str())
                .collect();
            assert_eq!(order, [vars.get("dev"), "teredo", "lo"]);
        },
    );
}

#[test]
fn batched_sources_match_udp_connect() {
    in_netns(
        "root::batched_sources_match_udp_connect",
        || {
            let (guard, ns, dev) = veth_lab(|_, _| {});
            let n = &guard.0;
            // IPv4: only the connected subnet, so other IPv4 is unreachable.
            n.ip(&["addr", "add", "192.0.2.2/24", "dev", &dev]);
            n.ip(&["-6", "addr", "add", "2001:db8::2/64", "dev", &dev, "nodad"]);
            n.ip(&[
                "-6",
                "addr",
                "add",
                "2001:db8::3/64",
                "dev",
                &dev,
                "nodad",
                "preferred_lft",
                "0",
            ]);
            n.ip(&[
                "-6",
                "route",
                "add",
                "2000::/3",
                "via",
                "2001:db8::1",
                "dev",
                &dev,
            ]);
            n.ip(&["-6", "route", "add", "unreachable", "2001:db8:dead::/48"]);
            n.ip(&["-6", "route", "add", "blackhole", "2001:db8:b1ac::/48"]);
            n.ip(&["route", "add", "unreachable", "203.0.113.0/24"]);
            n.ip(&["route", "add", "prohibit", "198.18.0.0/15"]);
            add_teredo(n, "teredo");
            (guard, ns, vec![("dev", dev)])
        },
        |vars| {
            let snap = Snapshot::capture().unwrap();
            let dev = iface(&snap, vars.get("dev"));
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
        },
    );
}

#[test]
fn cache_sees_address_and_route_changes() {
    in_netns(
        "root::cache_sees_address_and_route_changes",
        || {
            let (guard, ns, dev) = veth_lab(|_, _| {});
            let n = &guard.0;
            n.ip(&["addr", "add", "192.0.2.2/24", "dev", &dev]);
            n.ip(&["-6", "addr", "add", "2001:db8::2/64", "dev", &dev, "nodad"]);
            n.ip(&[
                "-6",
                "route",
                "add",
                "2000::/3",
                "via",
                "2001:db8::1",
                "dev",
                &dev,
            ]);
            (guard, ns, vec![("dev", dev)])
        },
        |vars| {
            let dev = vars.get("dev");
            let p = |s: &str| s.parse::<IpAddr>().unwrap();
            let dests = [p("192.0.2.77"), p("198.51.100.1"), p("2001:db8:1::1")];
            let mut cache = SourceCache::new().unwrap();
            // Every answer agrees with what a UDP socket gets right now.
            let check = |got: &[Option<SourceInfo>]| {
                for (dest, info) in dests.iter().zip(got) {
                    let udp = udp_source(*dest, 0);
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
            crate::harness::ip(&["route", "add", "198.51.100.0/24", "via", "192.0.2.1"]);
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
            crate::harness::ip(&["-6", "addr", "add", "2001:db8::4/64", "dev", dev, "nodad"]);
            crate::harness::ip(&["-6", "addr", "del", "2001:db8::2/64", "dev", dev]);
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

            // The last IPv4 address goes, and with it every IPv4 route.
            crate::harness::ip(&["addr", "del", "192.0.2.2/24", "dev", dev]);
            let got = cache.sources(&dests).unwrap();
            check(&got);
            assert_eq!(addrs(&got), [None, None, Some(p("2001:db8::4"))]);

            // And it stays that way while nothing changes.
            let before = cache.stats();
            assert_eq!(cache.sources(&dests).unwrap(), got);
            assert_eq!(cache.stats().hits, before.hits + 3);
            assert_eq!(cache.stats().misses, before.misses);
        },
    );
}
