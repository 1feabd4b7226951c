//! 6to4 addresses (RFC 3056 §2): `2002:V4ADDR::/48`, a site prefix derived
//! from the public IPv4 address of its 6to4 router.

use core::net::{Ipv4Addr, Ipv6Addr};

/// The 6to4 prefix, `2002::` (RFC 3056 §2); its length is
/// [`SIXTOFOUR_PREFIX_LEN`].
pub const SIXTOFOUR_PREFIX: Ipv6Addr = Ipv6Addr::new(0x2002, 0, 0, 0, 0, 0, 0, 0);

/// The length of [`SIXTOFOUR_PREFIX`] in bits.
pub const SIXTOFOUR_PREFIX_LEN: u8 = 16;

/// Whether `addr` is in `2002::/16`.
pub const fn is_sixtofour(addr: Ipv6Addr) -> bool {
    addr.segments()[0] == 0x2002
}

/// The IPv4 address of the 6to4 router, bits 16 to 47 of a `2002::/16`
/// address, or `None` for any other address.
///
/// ```
/// use std::net::Ipv4Addr;
/// use teredo_addr::sixtofour_ipv4;
/// assert_eq!(
///     sixtofour_ipv4("2002:c000:22a::1".parse().unwrap()),
///     Some(Ipv4Addr::new(192, 0, 2, 42)),
/// );
/// assert_eq!(sixtofour_ipv4("2001:db8::1".parse().unwrap()), None);
/// ```
pub const fn sixtofour_ipv4(addr: Ipv6Addr) -> Option<Ipv4Addr> {
    if is_sixtofour(addr) {
        Some(Ipv4Addr::from_bits((addr.to_bits() >> 80) as u32))
    } else {
        None
    }
}

/// The 6to4 /48 site prefix of `v4`, `2002:V4ADDR::`, with the subnet and
/// interface bits zero.
pub const fn sixtofour_prefix(v4: Ipv4Addr) -> Ipv6Addr {
    Ipv6Addr::from_bits(SIXTOFOUR_PREFIX.to_bits() | ((v4.to_bits() as u128) << 80))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v6(s: &str) -> Ipv6Addr {
        s.parse().unwrap()
    }

    #[test]
    fn rfc3056_layout() {
        // RFC 3056 §2: 2002 (16 bits), V4ADDR (32 bits), SLA ID, interface ID.
        let v4 = Ipv4Addr::new(192, 0, 2, 42);
        assert_eq!(sixtofour_prefix(v4), v6("2002:c000:22a::"));
        assert_eq!(sixtofour_ipv4(v6("2002:c000:22a:1:2:3:4:5")), Some(v4));
        assert_eq!(
            sixtofour_ipv4(v6("2002:ffff:ffff::")),
            Some(Ipv4Addr::BROADCAST)
        );
        assert_eq!(sixtofour_ipv4(v6("2002::")), Some(Ipv4Addr::UNSPECIFIED));
    }

    #[test]
    fn other_prefixes_are_not_6to4() {
        for s in ["2001::1", "2003::1", "::ffff:192.0.2.1", "fe80::2002"] {
            assert_eq!(sixtofour_ipv4(v6(s)), None, "{s}");
            assert!(!is_sixtofour(v6(s)), "{s}");
        }
    }
}
