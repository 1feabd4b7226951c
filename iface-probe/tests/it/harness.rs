//! Helpers of the tests: finding things in snapshots, and what a UDP
//! socket says.

// The root tests (Linux only) are the main users; elsewhere some helpers
// have none.
#![cfg_attr(not(target_os = "linux"), allow(dead_code))]

use std::net::{IpAddr, SocketAddr, SocketAddrV6, UdpSocket};
use std::time::{Duration, Instant};

use iface_probe::{Address, Interface, Snapshot};

/// Snapshots until `pred` holds or `timeout` passes; returns the last one.
pub(crate) fn wait_for(timeout: Duration, pred: impl Fn(&Snapshot) -> bool) -> Snapshot {
    let start = Instant::now();
    loop {
        let snap = Snapshot::capture().expect("capture");
        if pred(&snap) || start.elapsed() > timeout {
            return snap;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// The address `ip` on interface `name` in the snapshot.
pub(crate) fn addr<'a>(snap: &'a Snapshot, name: &str, ip: &str) -> &'a Address {
    let ip: IpAddr = ip.parse().unwrap();
    iface(snap, name)
        .addresses
        .iter()
        .find(|a| a.ip == ip)
        .unwrap_or_else(|| panic!("no {ip} on {name}: {snap:#?}"))
}

/// The interface `name` in the snapshot.
pub(crate) fn iface<'a>(snap: &'a Snapshot, name: &str) -> &'a Interface {
    snap.interface_by_name(name)
        .unwrap_or_else(|| panic!("no interface {name}: {snap:#?}"))
}

/// The source address a UDP socket gets when connected to `dest`
/// (nothing is sent); `None` when `connect` fails.
pub(crate) fn udp_source(dest: IpAddr, scope_id: u32) -> Option<IpAddr> {
    let (bind, target): (SocketAddr, SocketAddr) = match dest {
        IpAddr::V4(_) => ("0.0.0.0:0".parse().unwrap(), SocketAddr::new(dest, 9)),
        IpAddr::V6(v6) => (
            "[::]:0".parse().unwrap(),
            SocketAddr::V6(SocketAddrV6::new(v6, 9, 0, scope_id)),
        ),
    };
    let sock = UdpSocket::bind(bind).ok()?;
    sock.connect(target).ok()?;
    Some(sock.local_addr().ok()?.ip())
}
