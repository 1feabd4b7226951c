//! ISATAP interface identifiers (RFC 5214 §6.1).
//!
//! An ISATAP interface identifier is a modified EUI-64 identifier made of
//! the IANA OUI `00-00-5E`, the type octet `FE` and an IPv4 address:
//!
//! ```text
//! |000000ug00000000|0101111011111110|mmmmmmmmmmmmmmmm|mmmmmmmmmmmmmmmm|
//! ```
//!
//! The "u" bit is 1 when the IPv4 address is known to be globally unique
//! and 0 otherwise; the "g" bit is always 0. In text this is
//! `::0:5efe:a.b.c.d` or `::200:5efe:a.b.c.d` after any /64 prefix. Because
//! it is an interface identifier, it can follow any prefix, so ISATAP is
//! not a prefix class of its own in [`classify`](crate::classify).

use core::net::{Ipv4Addr, Ipv6Addr};

/// The middle of the identifier: OUI `00-00-5E` and type `FE`, with the
/// "u" bit clear.
const ISATAP_MARK: u64 = 0x0000_5efe;

/// The "u" (universal/local) bit in the first 32 bits of the identifier.
const U_BIT: u64 = 0x0200_0000;

/// Whether the interface identifier of `addr` (its last 64 bits) is an
/// ISATAP identifier, with the "u" bit set or not.
pub const fn is_isatap(addr: Ipv6Addr) -> bool {
    let high = (addr.to_bits() >> 32) as u32 as u64;
    high & !U_BIT == ISATAP_MARK
}

/// The IPv4 address in the ISATAP interface identifier of `addr`, or `None`
/// if the identifier is not an ISATAP one.
///
/// ```
/// use std::net::Ipv4Addr;
/// use teredo_addr::isatap_ipv4;
/// let a = "fe80::200:5efe:192.0.2.143".parse().unwrap();
/// assert_eq!(isatap_ipv4(a), Some(Ipv4Addr::new(192, 0, 2, 143)));
/// assert_eq!(isatap_ipv4("fe80::1".parse().unwrap()), None);
/// ```
pub const fn isatap_ipv4(addr: Ipv6Addr) -> Option<Ipv4Addr> {
    if is_isatap(addr) {
        Some(Ipv4Addr::from_bits(addr.to_bits() as u32))
    } else {
        None
    }
}

/// Whether the ISATAP identifier of `addr` has the "u" bit set, claiming a
/// globally unique IPv4 address; `None` if it is not an ISATAP identifier.
pub const fn isatap_is_universal(addr: Ipv6Addr) -> Option<bool> {
    if is_isatap(addr) {
        Some((addr.to_bits() >> 32) as u64 & U_BIT != 0)
    } else {
        None
    }
}

/// The 64-bit ISATAP interface identifier for `v4`.
///
/// Pass `universal = true` only when `v4` is known to be globally unique
/// (RFC 5214 §6.1); that sets the "u" bit.
pub const fn isatap_interface_id(v4: Ipv4Addr, universal: bool) -> u64 {
    let high = if universal {
        ISATAP_MARK | U_BIT
    } else {
        ISATAP_MARK
    };
    (high << 32) | v4.to_bits() as u64
}

/// The address made of the first 64 bits of `prefix` and the ISATAP
/// interface identifier for `v4` (see [`isatap_interface_id`]).
///
/// ```
/// use std::net::Ipv4Addr;
/// use teredo_addr::isatap_addr;
/// let a = isatap_addr("2001:db8::".parse().unwrap(), Ipv4Addr::new(192, 0, 2, 1), false);
/// assert_eq!(a, "2001:db8::5efe:192.0.2.1".parse::<std::net::Ipv6Addr>().unwrap());
/// ```
pub const fn isatap_addr(prefix: Ipv6Addr, v4: Ipv4Addr, universal: bool) -> Ipv6Addr {
    let net = prefix.to_bits() & !(u64::MAX as u128);
    Ipv6Addr::from_bits(net | isatap_interface_id(v4, universal) as u128)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v6(s: &str) -> Ipv6Addr {
        s.parse().unwrap()
    }

    #[test]
    fn rfc5214_identifiers() {
        let v4 = Ipv4Addr::new(192, 0, 2, 143);
        assert_eq!(isatap_interface_id(v4, false), 0x0000_5efe_c000_028f);
        assert_eq!(isatap_interface_id(v4, true), 0x0200_5efe_c000_028f);
        assert_eq!(
            isatap_addr(v6("fe80::"), v4, false),
            v6("fe80::0:5efe:192.0.2.143")
        );
        assert_eq!(
            isatap_addr(v6("2001:db8:1:2:3:4:5:6"), v4, true),
            v6("2001:db8:1:2:200:5efe:192.0.2.143")
        );
    }

    #[test]
    fn detection_and_extraction() {
        let v4 = Ipv4Addr::new(198, 51, 100, 9);
        for s in ["fe80::5efe:198.51.100.9", "2001:db8::200:5efe:198.51.100.9"] {
            assert!(is_isatap(v6(s)), "{s}");
            assert_eq!(isatap_ipv4(v6(s)), Some(v4), "{s}");
        }
        assert_eq!(isatap_is_universal(v6("fe80::5efe:1.2.3.4")), Some(false));
        assert_eq!(
            isatap_is_universal(v6("fe80::200:5efe:1.2.3.4")),
            Some(true)
        );
        // The g bit must be zero, the OUI must be 00-00-5E and the type FE.
        for s in [
            "fe80::100:5efe:1.2.3.4",
            "fe80::300:5efe:1.2.3.4",
            "fe80::5eff:1.2.3.4",
            "fe80::1:5efe:1.2.3.4",
            "fe80::1",
            "::",
        ] {
            assert!(!is_isatap(v6(s)), "{s}");
            assert_eq!(isatap_ipv4(v6(s)), None, "{s}");
            assert_eq!(isatap_is_universal(v6(s)), None, "{s}");
        }
    }
}
