//! The Windows backend against the system it runs on: Windows itself, or
//! Wine on Linux, whose IP Helper reads Linux's own interfaces.
//!
//! Under Wine, `cargo xtask cross` first runs the `snapshot_json` example
//! on Linux (netlink) and names its output in `IFACE_PROBE_LINUX_VIEW`;
//! [`capture_agrees_with_the_linux_view`] checks the Windows backend
//! against it. What Wine only stubs is said on the test's output, and the
//! pure conversion behind it is tested on hand-made records in
//! `windows_records.rs` on every platform.

use std::collections::BTreeSet;
use std::ffi::CStr;
use std::net::IpAddr;
use std::time::{Duration, Instant};

use windows_sys::Win32::System::LibraryLoader::{GetModuleHandleA, GetProcAddress};
use windows_sys::core::PCSTR;

use super::{Lookups, Notifier, RouteSource};
use crate::model::Interface;
use crate::snapshot::Snapshot;
use crate::source::Dest;
use crate::sys::Notice;

/// The environment variable naming the Linux view's JSON file.
const LINUX_VIEW: &str = "IFACE_PROBE_LINUX_VIEW";

/// Wine's version, when the tests run under Wine: its ntdll exports
/// `wine_get_version`, Windows' does not.
#[allow(unsafe_code)]
fn wine_version() -> Option<String> {
    // SAFETY: a NUL-terminated module name; ntdll is loaded in every
    // process, and the handle is not freed (GetModuleHandle takes no
    // reference).
    let ntdll = unsafe { GetModuleHandleA(c"ntdll.dll".as_ptr().cast()) };
    if ntdll.is_null() {
        return None;
    }
    // SAFETY: a live module handle and a NUL-terminated export name.
    let export = unsafe { GetProcAddress(ntdll, c"wine_get_version".as_ptr().cast()) }?;
    // SAFETY: Wine's `const char *wine_get_version(void)`, which returns
    // a static NUL-terminated string.
    let get: unsafe extern "C" fn() -> PCSTR = unsafe { std::mem::transmute(export) };
    // SAFETY: as above.
    let text = unsafe { CStr::from_ptr(get().cast()) };
    Some(text.to_string_lossy().into_owned())
}

/// Interfaces by name: (index, operational, mtu, addresses).
type Summary = Vec<(String, u32, bool, u32, BTreeSet<(IpAddr, u8)>)>;

fn summary(interfaces: &[Interface]) -> Summary {
    interfaces
        .iter()
        .map(|i| {
            let addrs = i.addresses.iter().map(|a| (a.ip, a.prefix_len)).collect();
            (i.name.clone(), i.index, i.is_operational(), i.mtu, addrs)
        })
        .collect()
}

fn linux_summary(view: &serde_json::Value) -> Summary {
    let interfaces = view["interfaces"].as_array().expect("interfaces");
    interfaces
        .iter()
        .map(|i| {
            let addrs = i["addresses"]
                .as_array()
                .expect("addresses")
                .iter()
                .map(|a| {
                    let ip = a["ip"].as_str().expect("ip").parse().expect("an address");
                    let len = u8::try_from(a["prefix_len"].as_u64().expect("prefix_len"));
                    (ip, len.expect("a prefix length"))
                })
                .collect();
            (
                i["name"].as_str().expect("name").to_owned(),
                u32::try_from(i["index"].as_u64().expect("index")).expect("an index"),
                i["operational"].as_bool().expect("operational"),
                u32::try_from(i["mtu"].as_u64().expect("mtu")).expect("an mtu"),
                addrs,
            )
        })
        .collect()
}

/// The Linux view's path as Windows sees it: xtask writes a Unix path;
/// Wine shows the Unix root as drive `Z:`.
fn windows_path(unix: &str) -> String {
    if unix.starts_with('/') {
        format!("Z:{}", unix.replace('/', "\\"))
    } else {
        unix.to_owned()
    }
}

#[test]
fn capture_agrees_with_the_linux_view() {
    let wine = wine_version();
    let Ok(path) = std::env::var(LINUX_VIEW) else {
        assert!(
            wine.is_none(),
            "under Wine this test compares with Linux's view: set {LINUX_VIEW} \
             (`cargo xtask cross` does)"
        );
        println!("not under Wine: no Linux view to compare with; capture checked alone");
        let snap = Snapshot::capture().unwrap();
        assert!(
            snap.interfaces.iter().any(Interface::is_loopback),
            "{snap:#?}"
        );
        return;
    };
    let text = std::fs::read_to_string(windows_path(&path))
        .unwrap_or_else(|e| panic!("cannot read {path}: {e}"));
    let linux: serde_json::Value = serde_json::from_str(&text).expect("the Linux view's JSON");
    let snap = Snapshot::capture().unwrap();
    let (ours, theirs) = (summary(&snap.interfaces), linux_summary(&linux));
    let mut problems = Vec::new();
    for (name, index, operational, mtu, addrs) in &theirs {
        match ours.iter().find(|o| o.0 == *name) {
            None => problems.push(format!("{name}: on Linux, not in GetAdaptersAddresses")),
            Some((_, o_index, o_operational, o_mtu, o_addrs)) => {
                if (o_index, o_operational, o_mtu) != (index, operational, mtu) {
                    problems.push(format!(
                        "{name}: index, operational, mtu: Linux {:?}, Windows {:?}",
                        (index, operational, mtu),
                        (o_index, o_operational, o_mtu)
                    ));
                }
                if o_addrs != addrs {
                    problems.push(format!(
                        "{name}: addresses: Linux {addrs:?}, Windows {o_addrs:?}"
                    ));
                }
            }
        }
    }
    for (name, ..) in &ours {
        if !theirs.iter().any(|t| t.0 == *name) {
            problems.push(format!("{name}: in GetAdaptersAddresses, not on Linux"));
        }
    }
    let reach = snap.reach();
    let answers = [
        ("ipv4", reach.ipv4),
        ("ipv6", reach.ipv6),
        ("sixtofour", reach.sixtofour),
        ("teredo", reach.teredo),
    ];
    for (key, path) in answers {
        let ours = path.map(|p| (p.source.to_string(), u64::from(p.oif)));
        let theirs = linux["reach"][key].as_object().map(|p| {
            let source = p["source"].as_str().expect("source").to_owned();
            (source, p["oif"].as_u64().expect("oif"))
        });
        if ours != theirs {
            problems.push(format!("reach {key}: Linux {theirs:?}, Windows {ours:?}"));
        }
    }
    let address_count: usize = ours.iter().map(|o| o.4.len()).sum();
    println!(
        "GetAdaptersAddresses under {}: {} interfaces, {address_count} addresses, \
         compared with netlink's view ({path})",
        wine.as_deref()
            .map_or("Windows".to_owned(), |v| format!("Wine {v}")),
        ours.len()
    );
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    if wine.is_some() {
        let flags: BTreeSet<String> = snap
            .interfaces
            .iter()
            .flat_map(|i| i.addresses.iter().map(|a| a.flags.to_string()))
            .collect();
        println!(
            "what Wine does not provide: DAD states (address flags seen: {flags:?}; \
             Linux's tentative, deprecated and temporary states are not carried over), \
             the kernel's lifetimes, prefix and suffix origins, tunnel types \
             (no Teredo adapter), Ipv6IfIndex (always 0)"
        );
    }
}

#[test]
fn route_lookups_use_get_best_route2_unless_it_is_a_stub() {
    let mut lookups = Lookups::open().unwrap();
    match (lookups.source(), wine_version()) {
        (RouteSource::BestRoute2, _) => println!("GetBestRoute2 answers the lookups"),
        (RouteSource::Udp, Some(version)) => println!(
            "GetBestRoute2 skipped: Wine {version} stubs it (ERROR_NOT_SUPPORTED for \
             127.0.0.1); connected UDP sockets answer instead"
        ),
        (RouteSource::Udp, None) => panic!("GetBestRoute2 answers 127.0.0.1 with not supported"),
    }
    let dests: Vec<Dest> = ["127.0.0.1", "::1", "::ffff:127.0.0.1"]
        .iter()
        .map(|d| Dest::from(d.parse::<IpAddr>().unwrap()))
        .collect();
    let answers = lookups.routes(&dests).unwrap();
    let sources: Vec<Option<IpAddr>> = answers
        .iter()
        .map(|a| a.as_ref().ok().and_then(|r| r.pref_src))
        .collect();
    let v4: IpAddr = "127.0.0.1".parse().unwrap();
    assert_eq!(sources[0], Some(v4), "{answers:?}");
    assert_eq!(sources[2], Some(v4), "mapped asked as IPv4: {answers:?}");
    if lookups.source() == RouteSource::BestRoute2 {
        assert_eq!(sources[1], Some("::1".parse().unwrap()), "{answers:?}");
        let loopback = answers[0].as_ref().unwrap().oif.unwrap();
        let snap = Snapshot::capture().unwrap();
        assert!(snap.interface(loopback).unwrap().is_loopback());
    }
}

#[test]
fn the_notifier_registers_and_is_woken() {
    let mut notifier = Notifier::open(None).unwrap();
    let stubbed = notifier.stubbed().to_vec();
    if stubbed.is_empty() {
        println!(
            "NotifyUnicastIpAddressChange, NotifyRouteChange2, NotifyIpInterfaceChange registered"
        );
    } else {
        let Some(version) = wine_version() else {
            panic!("registrations without a handle outside Wine: {stubbed:?}")
        };
        println!(
            "change notifications skipped: Wine {version} stubs {} (no error, no handle, \
             no callback); the notifier asks for a resync every {:?} instead",
            stubbed.join(", "),
            super::notify::STUB_POLL
        );
        // Polling stands in: a resync comes within a poll period.
        let start = Instant::now();
        let mut out = Vec::new();
        while out.is_empty() && start.elapsed() < Duration::from_secs(5) {
            notifier
                .wait(Some(Duration::from_secs(5)), &mut out)
                .unwrap();
        }
        assert_eq!(out, [Notice::Resync]);
        assert!(start.elapsed() <= super::notify::STUB_POLL + Duration::from_millis(500));
    }
    // An interrupt ends a wait at once, with nothing.
    let interrupter = notifier.interrupter();
    let thread = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(50));
        interrupter.interrupt();
    });
    let mut out = Vec::new();
    let start = Instant::now();
    notifier
        .wait(Some(Duration::from_secs(10)), &mut out)
        .unwrap();
    thread.join().unwrap();
    assert!(
        start.elapsed() < Duration::from_secs(1),
        "{:?}",
        start.elapsed()
    );
    drop(notifier);
}

#[test]
fn a_view_runs_on_the_windows_backend() {
    let view = crate::view::HostView::new();
    let snap = view.wait_ready(Duration::from_secs(10)).unwrap();
    assert!(snap.interfaces.iter().any(Interface::is_loopback));
    let dests = [Dest::from("127.0.0.1".parse::<IpAddr>().unwrap())];
    let sources = view.sources_blocking(&dests).unwrap();
    let source = sources[0].as_ref().expect("a source for 127.0.0.1");
    assert_eq!(source.addr.to_string(), "127.0.0.1");
    assert!(snap.interface(source.oif).unwrap().is_loopback());
}
