//! IPv6 addresses that carry an IPv4 address in their last 32 bits
//! (RFC 4291 §2.5.5): IPv4-mapped and the deprecated IPv4-compatible form.

use core::net::{Ipv4Addr, Ipv6Addr};

/// The IPv4 address inside an IPv4-mapped address `::ffff:a.b.c.d`
/// (`::ffff:0:0/96`, RFC 4291 §2.5.5.2), or `None`.
///
/// ```
/// use std::net::Ipv4Addr;
/// use teredo_addr::ipv4_mapped;
/// assert_eq!(ipv4_mapped("::ffff:192.0.2.1".parse().unwrap()), Some(Ipv4Addr::new(192, 0, 2, 1)));
/// assert_eq!(ipv4_mapped("::192.0.2.1".parse().unwrap()), None);
/// ```
pub const fn ipv4_mapped(addr: Ipv6Addr) -> Option<Ipv4Addr> {
    addr.to_ipv4_mapped()
}

/// The IPv4 address inside an IPv4-compatible address `::a.b.c.d`
/// (`::/96`, RFC 4291 §2.5.5.1, deprecated), or `None`.
///
/// The unspecified address `::` and the loopback address `::1` also lie in
/// `::/96` but are not IPv4-compatible addresses, so they give `None`.
/// (Unlike [`Ipv6Addr::to_ipv4`], this does not accept mapped addresses.)
///
/// ```
/// use std::net::Ipv4Addr;
/// use teredo_addr::ipv4_compatible;
/// assert_eq!(ipv4_compatible("::192.0.2.1".parse().unwrap()), Some(Ipv4Addr::new(192, 0, 2, 1)));
/// assert_eq!(ipv4_compatible("::1".parse().unwrap()), None);
/// ```
pub const fn ipv4_compatible(addr: Ipv6Addr) -> Option<Ipv4Addr> {
    let bits = addr.to_bits();
    if bits >> 32 == 0 && bits > 1 {
        Some(Ipv4Addr::from_bits(bits as u32))
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v6(s: &str) -> Ipv6Addr {
        s.parse().unwrap()
    }

    #[test]
    fn mapped() {
        assert_eq!(
            ipv4_mapped(v6("::ffff:10.0.0.1")),
            Some(Ipv4Addr::new(10, 0, 0, 1))
        );
        assert_eq!(ipv4_mapped(v6("::ffff:0:0")), Some(Ipv4Addr::UNSPECIFIED));
        for s in [
            "::",
            "::1",
            "::10.0.0.1",
            "::fffe:10.0.0.1",
            "1::ffff:10.0.0.1",
        ] {
            assert_eq!(ipv4_mapped(v6(s)), None, "{s}");
        }
    }

    #[test]
    fn compatible() {
        assert_eq!(
            ipv4_compatible(v6("::10.0.0.1")),
            Some(Ipv4Addr::new(10, 0, 0, 1))
        );
        // ::2 is the smallest IPv4-compatible address.
        assert_eq!(ipv4_compatible(v6("::2")), Some(Ipv4Addr::new(0, 0, 0, 2)));
        assert_eq!(
            ipv4_compatible(v6("::255.255.255.255")),
            Some(Ipv4Addr::BROADCAST)
        );
        for s in ["::", "::1", "::ffff:10.0.0.1", "::1:0:0", "1::10.0.0.1"] {
            assert_eq!(ipv4_compatible(v6(s)), None, "{s}");
        }
    }
}
