//! The portable way to learn the kernel's source address for a
//! destination: connect a UDP socket (which sends nothing) and read its
//! local address back. One socket per destination, since a connected UDP
//! socket keeps the first source it was given.

use std::io;
use std::net::{IpAddr, SocketAddr, SocketAddrV6};

use socket2::{Domain, Protocol, SockAddr, Socket, Type};

use crate::model::{Family, Route};
use crate::reach::Reach;
use crate::snapshot::Snapshot;
use crate::source::Dest;

/// Any port will do: connecting a UDP socket sends nothing.
const PORT: u16 = 9;

/// The kernel's answer for one destination as a [`Route`] holding the
/// source address (`pref_src`) and no outgoing interface (the caller
/// finds it from the address), or the positive errno of the failure
/// (`ENETUNREACH`, `EHOSTUNREACH`, ...).
pub(crate) fn lookup(dest: Dest) -> io::Result<Result<Route, i32>> {
    let ip = dest.lookup_ip();
    let target = match ip {
        IpAddr::V4(v4) => SocketAddr::from((v4, PORT)),
        IpAddr::V6(v6) => {
            SocketAddr::V6(SocketAddrV6::new(v6, PORT, 0, dest.scope_id.unwrap_or(0)))
        }
    };
    let socket = Socket::new(
        Domain::for_address(target),
        Type::DGRAM,
        Some(Protocol::UDP),
    )?;
    if let Err(e) = socket.connect(&SockAddr::from(target)) {
        return match e.raw_os_error() {
            // The routing decision said no: that is the answer.
            Some(errno) if e.kind() != io::ErrorKind::Interrupted => Ok(Err(errno)),
            _ => Err(e),
        };
    }
    let local = socket
        .local_addr()?
        .as_socket()
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidData, "local address of no family"))?;
    let mut route = Route::new(
        Family::of(ip),
        Some((ip, if ip.is_ipv4() { 32 } else { 128 })),
    );
    route.pref_src = Some(local.ip());
    if let SocketAddr::V6(v6) = local {
        route.oif = (v6.scope_id() != 0).then_some(v6.scope_id());
    }
    Ok(Ok(route))
}

/// The kernel's answers for [`Reach::PROBES`], each with the interface
/// that holds its source in `snap`.
pub(crate) fn reach(snap: &Snapshot) -> io::Result<Reach> {
    let mut paths = [None; 4];
    for (path, dest) in paths.iter_mut().zip(Reach::PROBES) {
        *path = lookup(Dest::from(dest))?.ok().and_then(|mut route| {
            if route.oif.is_none() {
                route.oif = snap
                    .address(route.pref_src?, None)
                    .map(|(iface, _)| iface.index);
            }
            super::path_of(&route)
        });
    }
    Ok(Reach::from_answers(paths))
}

/// [`lookup`] for each destination, in order.
pub(crate) fn lookups(dests: &[Dest]) -> io::Result<Vec<Result<Route, i32>>> {
    dests.iter().map(|d| lookup(*d)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_answers_with_loopback() {
        let got = lookup(Dest::from("127.0.0.1".parse::<IpAddr>().unwrap()))
            .unwrap()
            .unwrap();
        assert_eq!(got.pref_src, Some("127.0.0.1".parse().unwrap()));
        // An IPv4-mapped destination is asked as IPv4.
        let mapped = lookup(Dest::from("::ffff:127.0.0.1".parse::<IpAddr>().unwrap()))
            .unwrap()
            .unwrap();
        assert_eq!(mapped.pref_src, Some("127.0.0.1".parse().unwrap()));
    }
}
