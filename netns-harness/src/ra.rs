//! Router Advertisements sent by hand, as a router on the test's link
//! would send them: for the tests of what a host makes of their options
//! (the NAT64 prefix of RFC 8781 above all), and for the lab's router,
//! which has no daemon that announces one.
//!
//! A [`RouterAdvertiser`] is a raw ICMPv6 socket in the calling thread's
//! namespace, bound to one interface: it sends to all nodes (`ff02::1`)
//! with the hop limit of 255 that receivers check, from the interface's
//! link-local address (the kernel picks it), and can wait for a Router
//! Solicitation to answer. It needs root (`CAP_NET_RAW`).

use std::io::{self, Read as _};
use std::net::{Ipv6Addr, SocketAddrV6};
use std::time::{Duration, Instant};

use socket2::{Domain, Protocol, SockAddr, Socket, Type};

/// `ff02::1`, all nodes on the link.
const ALL_NODES: Ipv6Addr = Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 1);

/// How long [`RouterAdvertiser::send`] retries while the interface is not
/// ready: its carrier not up yet, its link-local address still tentative.
const TENTATIVE_RETRY: Duration = Duration::from_secs(5);

/// The bytes of a Router Advertisement (RFC 4861 §4.2) with a router
/// lifetime of zero (the sender is not a default router, so the receiver's
/// routes stay as the test set them) and `options` appended, each already
/// encoded with its type and length. The checksum is left to the kernel.
pub fn router_advertisement(options: &[&[u8]]) -> Vec<u8> {
    // Type 134, code 0, checksum, current hop limit (unspecified), flags,
    // router lifetime 0, reachable time and retransmission timer
    // unspecified.
    let mut out = vec![134, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0];
    for option in options {
        out.extend_from_slice(option);
    }
    out
}

/// A PREF64 option (RFC 8781 §4) written field by field, valid or not:
/// `scaled_lifetime` in units of 8 seconds (13 bits), the prefix length
/// code `plc` (3 bits) and the first 96 bits of `prefix`.
pub fn pref64_option(scaled_lifetime: u16, plc: u8, prefix: Ipv6Addr) -> [u8; 16] {
    let mut out = [0u8; 16];
    out[0] = 38;
    out[1] = 2;
    let field = ((scaled_lifetime & 0x1fff) << 3) | u16::from(plc & 7);
    out[2..4].copy_from_slice(&field.to_be_bytes());
    out[4..].copy_from_slice(&prefix.octets()[..12]);
    out
}

/// A raw ICMPv6 socket that sends Router Advertisements out of one
/// interface and hears Router Solicitations on it.
#[derive(Debug)]
pub struct RouterAdvertiser {
    socket: Socket,
    index: u32,
}

impl RouterAdvertiser {
    /// Opens the socket for interface `dev` of the calling thread's
    /// namespace.
    ///
    /// # Errors
    ///
    /// When there is no such interface, or the raw socket cannot be opened
    /// (not root).
    pub fn open(dev: &str) -> io::Result<Self> {
        let index = if_index(dev)?;
        let socket = Socket::new(Domain::IPV6, Type::RAW, Some(Protocol::ICMPV6))?;
        socket.set_multicast_hops_v6(255)?;
        socket.set_unicast_hops_v6(255)?;
        socket.set_multicast_if_v6(index)?;
        socket.set_multicast_loop_v6(false)?;
        socket.bind_device(Some(dev.as_bytes()))?;
        Ok(Self { socket, index })
    }

    /// Sends one Router Advertisement with `options` to all nodes. While
    /// the interface is not ready (no carrier yet, its link-local address
    /// tentative), tries again for up to five seconds.
    ///
    /// # Errors
    ///
    /// When the send fails for another reason, or the address stays
    /// tentative.
    pub fn send(&self, options: &[&[u8]]) -> io::Result<()> {
        let packet = router_advertisement(options);
        let to = SockAddr::from(SocketAddrV6::new(ALL_NODES, 0, 0, self.index));
        let deadline = Instant::now() + TENTATIVE_RETRY;
        loop {
            match self.socket.send_to(&packet, &to) {
                Ok(_) => return Ok(()),
                // No source yet (tentative), or no route yet (the kernel
                // raises a new veth's carrier up to a second late).
                Err(e)
                    if matches!(
                        e.raw_os_error(),
                        Some(libc::EADDRNOTAVAIL | libc::ENETUNREACH)
                    ) && Instant::now() < deadline =>
                {
                    std::thread::sleep(Duration::from_millis(20));
                }
                Err(e) => return Err(e),
            }
        }
    }

    /// Waits up to `timeout` for a Router Solicitation on the interface;
    /// returns whether one came (other ICMPv6 messages are skipped).
    ///
    /// # Errors
    ///
    /// When reading the socket fails.
    pub fn wait_solicitation(&self, timeout: Duration) -> io::Result<bool> {
        let deadline = Instant::now() + timeout;
        let mut buf = [0u8; 1500];
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Ok(false);
            }
            self.socket.set_read_timeout(Some(left))?;
            match (&self.socket).read(&mut buf) {
                // A raw ICMPv6 socket reads the ICMPv6 message without the
                // IPv6 header: its first byte is the type, 133 for RS.
                Ok(n) if n > 0 && buf[0] == 133 => return Ok(true),
                Ok(_) => {}
                Err(e)
                    if matches!(
                        e.kind(),
                        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                    ) =>
                {
                    return Ok(false);
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
    }
}

/// The index of interface `dev` in the calling thread's namespace.
fn if_index(dev: &str) -> io::Result<u32> {
    let name = std::ffi::CString::new(dev)
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "NUL in an interface name"))?;
    // SAFETY: if_nametoindex reads the NUL-terminated string, which
    // outlives the call.
    #[allow(unsafe_code)]
    let index = unsafe { libc::if_nametoindex(name.as_ptr()) };
    if index == 0 {
        return Err(io::Error::new(
            io::ErrorKind::NotFound,
            format!("no interface {dev:?}"),
        ));
    }
    Ok(index)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pref64_fields_are_where_rfc_8781_puts_them() {
        let o = pref64_option(75, 0, "2001:db8:64::".parse().unwrap());
        assert_eq!(
            o,
            [
                38, 2, 0x02, 0x58, 0x20, 0x01, 0x0d, 0xb8, 0, 0x64, 0, 0, 0, 0, 0, 0
            ]
        );
        // Out-of-range codes are kept to three bits, so a test can send 7.
        assert_eq!(pref64_option(0, 7, Ipv6Addr::UNSPECIFIED)[3], 7);
        let ra = router_advertisement(&[&o]);
        assert_eq!(ra.len(), 32);
        assert_eq!(ra[0], 134);
        assert_eq!(&ra[16..], &o);
    }
}
