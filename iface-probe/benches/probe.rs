//! Benchmarks of the snapshot and of source-address discovery, each next
//! to what a program would do without this crate.
//!
//! The baseline of `GROUP/PARAM` is `GROUP_baseline/PARAM`:
//!
//! - `snapshot/capture`: [`Snapshot::capture`] (links, addresses and
//!   routes over netlink); baseline: glibc `getifaddrs` + `freeifaddrs`.
//! - `sources/8`: one batched `RTM_GETROUTE` lookup of eight destinations
//!   on a reused [`SourceResolver`], nothing cached; baseline: for each
//!   destination a UDP socket that is connected and asked for its local
//!   address, as Go's and most resolvers' address sorting does.
//! - `sources_warm/8`: the same eight destinations answered by a
//!   [`SourceCache`] that has seen them before.
//!
//! Destinations are loopback addresses plus documentation addresses that
//! follow the host's routes (connected or default). Where the host has no
//! route for one, both the netlink lookup and the UDP `connect` fail for
//! it, so both still do the same work.

use std::hint::black_box;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, UdpSocket};

use criterion::Criterion;
use iface_probe::{Snapshot, SourceCache, SourceResolver};

const DESTS: [&str; 8] = [
    "::1",
    "127.0.0.1",
    "127.0.0.2",
    "192.0.2.77",
    "198.51.100.1",
    "203.0.113.9",
    "fd00::1",
    "2001:db8::1",
];

fn dests() -> Vec<IpAddr> {
    DESTS.iter().map(|s| s.parse().unwrap()).collect()
}

/// `getifaddrs` + `freeifaddrs`; returns how many entries there were.
/// Unix only: Windows has no `getifaddrs`, so its capture has no baseline.
#[cfg(unix)]
fn getifaddrs_count() -> usize {
    let mut head: *mut libc::ifaddrs = std::ptr::null_mut();
    // SAFETY: `head` is a valid place for getifaddrs to store the list.
    let rc = unsafe { libc::getifaddrs(&mut head) };
    assert_eq!(rc, 0, "getifaddrs: {}", std::io::Error::last_os_error());
    let mut count = 0;
    let mut cur = head;
    while !cur.is_null() {
        count += 1;
        // SAFETY: `cur` is a non-null node of the list getifaddrs
        // returned, which stays valid until freeifaddrs below.
        cur = unsafe { (*cur).ifa_next };
    }
    // SAFETY: `head` came from a successful getifaddrs and is freed once.
    unsafe { libc::freeifaddrs(head) };
    count
}

/// The source address a UDP socket gets when connected to `dest` (no
/// packet is sent); `None` when `connect` fails.
fn udp_source(dest: IpAddr) -> Option<IpAddr> {
    let bind = match dest {
        IpAddr::V4(_) => SocketAddr::new(IpAddr::V4(Ipv4Addr::UNSPECIFIED), 0),
        IpAddr::V6(_) => SocketAddr::new(IpAddr::V6(Ipv6Addr::UNSPECIFIED), 0),
    };
    let sock = UdpSocket::bind(bind).ok()?;
    sock.connect(SocketAddr::new(dest, 9)).ok()?;
    Some(sock.local_addr().ok()?.ip())
}

fn snapshot(c: &mut Criterion) {
    c.bench_function("snapshot/capture", |b| {
        b.iter(|| black_box(Snapshot::capture().unwrap()));
    });
    #[cfg(unix)]
    c.bench_function("snapshot_baseline/capture", |b| {
        b.iter(|| black_box(getifaddrs_count()));
    });
}

fn sources(c: &mut Criterion) {
    let dests = dests();
    let snap = Snapshot::capture().unwrap();
    let mut resolver = SourceResolver::new().unwrap();
    // Both methods must agree on what they found.
    let netlink: Vec<Option<IpAddr>> = resolver
        .sources(&snap, &dests)
        .unwrap()
        .iter()
        .map(|s| s.as_ref().map(|s| s.addr))
        .collect();
    let udp: Vec<Option<IpAddr>> = dests.iter().map(|d| udp_source(*d)).collect();
    assert_eq!(netlink, udp, "netlink and UDP disagree for {dests:?}");

    c.bench_function("sources/8", |b| {
        b.iter(|| black_box(resolver.sources(&snap, black_box(&dests)).unwrap()));
    });
    c.bench_function("sources_baseline/8", |b| {
        b.iter(|| {
            black_box(&dests)
                .iter()
                .map(|d| udp_source(*d))
                .collect::<Vec<_>>()
        });
    });

    let mut cache = SourceCache::new().unwrap();
    cache.sources(&dests).unwrap();
    c.bench_function("sources_warm/8", |b| {
        b.iter(|| black_box(cache.sources(black_box(&dests)).unwrap()));
    });
}

fn main() {
    let mut c = Criterion::default().configure_from_args();
    snapshot(&mut c);
    sources(&mut c);
    c.final_summary();
}
