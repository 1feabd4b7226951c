//! Router Advertisements sent by hand, as a router on the test's link
//! would send them: for the tests of what a host makes of their options
//! (the NAT64 prefix of RFC 8781 above all), and for the lab's router,
//! which has no daemon that announces one.
//!
//! A [`RouterAdvertiser`] is a raw ICMPv6 socket in the calling thread's
//! namespace, bound to one interface: it sends to all nodes (`ff02::1`)
//! with the hop limit of 255 that receivers check, from the interface's
//! link-local address, and can wait for a Router Solicitation to answer.
//! It needs root (`CAP_NET_RAW`).
//!
//! The source is bound, not left to the kernel: receivers drop an
//! advertisement from any address but a link-local one (RFC 4861 §6.1.2),
//! and until a new veth has its link-local address (it comes with the
//! carrier, up to a second late) the kernel would pick one of the
//! interface's global addresses for `ff02::1`.

use std::io::{self, Read as _};
use std::net::{Ipv6Addr, SocketAddrV6};
use std::sync::{Mutex, PoisonError};
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
    /// The link-local address the socket is bound to, once it is.
    source: Mutex<Option<Ipv6Addr>>,
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
        Ok(Self {
            socket,
            index,
            source: Mutex::new(None),
        })
    }

    /// Sends one Router Advertisement with `options` to all nodes, from
    /// the interface's link-local address. While the interface is not
    /// ready (no carrier yet, its link-local address missing or
    /// tentative), tries again for up to five seconds. Call it in the
    /// socket's namespace: the first send looks the address up there.
    ///
    /// # Errors
    ///
    /// When the send fails for another reason, or the interface has no
    /// usable link-local address by then.
    pub fn send(&self, options: &[&[u8]]) -> io::Result<()> {
        let packet = router_advertisement(options);
        let to = SockAddr::from(SocketAddrV6::new(ALL_NODES, 0, 0, self.index));
        let deadline = Instant::now() + TENTATIVE_RETRY;
        loop {
            let sent = self
                .bind_source()
                .and_then(|()| self.socket.send_to(&packet, &to));
            match sent {
                Ok(_) => return Ok(()),
                // No source yet (missing or tentative), or no route yet
                // (the kernel raises a new veth's carrier up to a second
                // late).
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

    /// Binds the socket to the interface's link-local address, the first
    /// time it is there and no longer tentative; `EADDRNOTAVAIL` until
    /// then.
    fn bind_source(&self) -> io::Result<()> {
        let mut source = self.source.lock().unwrap_or_else(PoisonError::into_inner);
        if source.is_some() {
            return Ok(());
        }
        // The calling thread's namespace, which may not be the process's.
        let table = std::fs::read_to_string("/proc/thread-self/net/if_inet6")?;
        let addr = usable_link_local(&table, self.index)
            .ok_or_else(|| io::Error::from_raw_os_error(libc::EADDRNOTAVAIL))?;
        self.socket
            .bind(&SockAddr::from(SocketAddrV6::new(addr, 0, 0, self.index)))?;
        *source = Some(addr);
        Ok(())
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

/// `IFA_F_TENTATIVE` and `IFA_F_DADFAILED`: an address not to send from.
const UNUSABLE: u32 = 0x40 | 0x08;

/// The link-local address of interface `index` that may be sent from,
/// read from `/proc/net/if_inet6`'s text: one address per line, as hex
/// fields (address, interface index, prefix length, scope, flags) and the
/// interface's name.
fn usable_link_local(table: &str, index: u32) -> Option<Ipv6Addr> {
    table.lines().find_map(|line| {
        let mut fields = line.split_whitespace();
        let addr = u128::from_str_radix(fields.next()?, 16).ok()?;
        let mut hex = || u32::from_str_radix(fields.next()?, 16).ok();
        let (on, _prefix, scope, flags) = (hex()?, hex()?, hex()?, hex()?);
        let addr = Ipv6Addr::from(addr);
        (on == index && scope == 0x20 && flags & UNUSABLE == 0 && addr.is_unicast_link_local())
            .then_some(addr)
    })
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

    /// The link-local address of the interface asked for, and only one
    /// that may be sent from: not another interface's, not a global one,
    /// not a tentative one or one whose duplicate address detection
    /// failed.
    #[test]
    fn the_source_is_the_interfaces_usable_link_local_address() {
        let table = "\
00000000000000000000000000000001 01 80 10 80       lo
20010db8000600000000000000000001 05 40 00 80       vb
fe800000000000000000000000000007 04 40 20 80       va
fe800000000000000000000000000005 05 40 20 c0       vb
";
        // vb's link-local address is tentative (0x40): none yet.
        assert_eq!(usable_link_local(table, 5), None);
        assert_eq!(
            usable_link_local(table, 4),
            Some("fe80::7".parse().unwrap())
        );
        let settled = table.replace(" 20 c0 ", " 20 80 ");
        assert_eq!(
            usable_link_local(&settled, 5),
            Some("fe80::5".parse().unwrap())
        );
        let failed = table.replace(" 20 c0 ", " 20 88 ");
        assert_eq!(usable_link_local(&failed, 5), None);
        assert_eq!(usable_link_local("", 5), None);
        assert_eq!(usable_link_local("not a table\n", 5), None);
        // Interface indexes past 255 are more hex digits.
        let wide = "fe800000000000000000000000000009 1a0 40 20 80 veth9\n";
        assert_eq!(
            usable_link_local(wide, 0x1a0),
            Some("fe80::9".parse().unwrap())
        );
    }
}
