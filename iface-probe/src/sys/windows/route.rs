//! `GetBestRoute2`: the route and source Windows would use for one
//! destination.

use std::ptr;
use std::sync::OnceLock;

use windows_sys::Win32::Foundation::{ERROR_CALL_NOT_IMPLEMENTED, ERROR_NOT_SUPPORTED, NO_ERROR};
use windows_sys::Win32::NetworkManagement::IpHelper::{GetBestRoute2, MIB_IPFORWARD_ROW2};
use windows_sys::Win32::Networking::WinSock::SOCKADDR_INET;

use super::adapters::{inet_of, ip_of_inet};
use crate::model::Route;
use crate::source::Dest;
use crate::windows_records::{self as records, BestRouteRecord};

/// Asks for one destination, within its zone when it has one (a
/// link-local destination needs the interface: the zone is passed both as
/// the interface index and as the destination's scope id). Returns the
/// route, or the Win32 error code (`ERROR_NETWORK_UNREACHABLE`,
/// `ERROR_HOST_UNREACHABLE`, `ERROR_NOT_FOUND`, ...) when there is none.
#[allow(unsafe_code)]
pub(super) fn best_route(dest: Dest) -> Result<Route, i32> {
    let zone = dest.scope_id.unwrap_or(0);
    let destination = inet_of(dest.lookup_ip(), zone);
    let mut row = MIB_IPFORWARD_ROW2::default();
    let mut source = SOCKADDR_INET::default();
    // SAFETY: the destination, the route row and the source are live,
    // initialised locals that the call only reads (destination) or
    // writes (row, source); a null interface LUID and source address are
    // documented as "any"; the sort options must be 0.
    let code = unsafe {
        GetBestRoute2(
            ptr::null(),
            zone,
            ptr::null(),
            &destination,
            0,
            &mut row,
            &mut source,
        )
    };
    if code != NO_ERROR {
        return Err(i32::try_from(code).unwrap_or(i32::MAX));
    }
    let record = record(&row, &source).ok_or(i32::MAX)?;
    Ok(records::route(&record))
}

/// The plain record of an answer; `None` when Windows filled in a family
/// other than IPv4 or IPv6.
fn record(row: &MIB_IPFORWARD_ROW2, source: &SOCKADDR_INET) -> Option<BestRouteRecord> {
    Some(BestRouteRecord {
        interface_index: row.InterfaceIndex,
        prefix: ip_of_inet(&row.DestinationPrefix.Prefix)?,
        prefix_len: row.DestinationPrefix.PrefixLength,
        next_hop: ip_of_inet(&row.NextHop),
        metric: row.Metric,
        protocol: row.Protocol,
        source: ip_of_inet(source)?,
    })
}

/// Whether `GetBestRoute2` answers at all, asked once per process: a
/// stub (Wine 8's) answers every destination, loopback included, with
/// `ERROR_NOT_SUPPORTED`, which no real route lookup does.
pub(super) fn best_route2_works() -> bool {
    static WORKS: OnceLock<bool> = OnceLock::new();
    *WORKS.get_or_init(|| {
        let loopback = Dest::from(std::net::Ipv4Addr::LOCALHOST);
        !matches!(
            best_route(loopback),
            Err(code) if code == ERROR_NOT_SUPPORTED as i32 || code == ERROR_CALL_NOT_IMPLEMENTED as i32
        )
    })
}
