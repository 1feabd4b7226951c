//! Teredo addresses (RFC 4380 §4, flags as updated by RFC 5991).
//!
//! A Teredo address packs everything a peer needs to reach a client behind
//! a NAT into the 128 bits of an IPv6 address:
//!
//! ```text
//! |  32 bits  |   32 bits   | 16 bits |    16 bits    |       32 bits       |
//! | 2001:0000 | server IPv4 |  flags  | port ^ 0xffff | client ^ 0xffffffff |
//! ```
//!
//! The client's mapped port and address are stored inverted ("obfuscated")
//! so that NATs which rewrite every copy of their external address found in
//! a packet payload leave them alone (RFC 4380 §4).

use core::fmt;
use core::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddrV4};
use core::str::FromStr;

use crate::error::{InputText, ParseTeredoError};

/// The Teredo prefix, `2001:0::` (RFC 4380 §2.6); its length is
/// [`TEREDO_PREFIX_LEN`].
pub const TEREDO_PREFIX: Ipv6Addr = Ipv6Addr::new(0x2001, 0, 0, 0, 0, 0, 0, 0);

/// The length of [`TEREDO_PREFIX`] in bits.
pub const TEREDO_PREFIX_LEN: u8 = 32;

/// The UDP port Teredo servers listen on (RFC 4380 §2.7).
pub const TEREDO_SERVER_PORT: u16 = 3544;

/// Whether `addr` is in the Teredo prefix `2001:0::/32`.
///
/// ```
/// use teredo_addr::is_teredo;
/// assert!(is_teredo("2001:0:4136:e378:8000:63bf:3fff:fdd2".parse().unwrap()));
/// assert!(!is_teredo("2001:db8::1".parse().unwrap()));
/// ```
pub const fn is_teredo(addr: Ipv6Addr) -> bool {
    addr.to_bits() >> 96 == 0x2001_0000
}

/// The 16-bit flags field of a Teredo address.
///
/// RFC 5991 lays the field out as `CRAAAAUG AAAAAAAA`, most significant
/// bit first:
///
/// | bit(s) | mask     | meaning                                              |
/// |--------|----------|------------------------------------------------------|
/// | C      | `0x8000` | the client is behind a cone NAT (RFC 4380 §4)        |
/// | R      | `0x4000` | reserved, zero                                       |
/// | A      | `0x3cff` | 12 random bits against address scanning (RFC 5991)   |
/// | U      | `0x0200` | the "universal/local" bit, zero                      |
/// | G      | `0x0100` | the "individual/group" bit, zero                     |
#[derive(Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TeredoFlags(u16);

impl TeredoFlags {
    /// The cone bit (C): the client believed it was behind a cone NAT.
    pub const CONE: Self = Self(0x8000);
    /// The reserved bit (R).
    pub const RESERVED: Self = Self(0x4000);
    /// The U bit, bit 6 of the field (the most significant bit is bit 0);
    /// kept zero like the universal/local bit of a modified EUI-64
    /// interface identifier.
    pub const UNIVERSAL: Self = Self(0x0200);
    /// The G bit, bit 7 of the field; kept zero like the individual/group
    /// bit of a modified EUI-64 interface identifier.
    pub const GROUP: Self = Self(0x0100);
    /// All twelve random bits (A) of RFC 5991.
    pub const RANDOM: Self = Self(0x3cff);

    /// Flags with exactly these bits.
    pub const fn new(bits: u16) -> Self {
        Self(bits)
    }

    /// The raw 16 bits, in the order they appear in the address.
    pub const fn bits(self) -> u16 {
        self.0
    }

    /// Whether every bit set in `other` is also set in `self`.
    pub const fn contains(self, other: Self) -> bool {
        self.0 & other.0 == other.0
    }

    /// Whether the cone bit (C, `0x8000`) is set.
    pub const fn is_cone(self) -> bool {
        self.contains(Self::CONE)
    }

    /// Whether the reserved bit (R, `0x4000`) is set.
    pub const fn is_reserved_set(self) -> bool {
        self.contains(Self::RESERVED)
    }

    /// Whether the U bit (`0x0200`) is set.
    pub const fn is_universal(self) -> bool {
        self.contains(Self::UNIVERSAL)
    }

    /// Whether the G bit (`0x0100`) is set.
    pub const fn is_group(self) -> bool {
        self.contains(Self::GROUP)
    }

    /// The twelve random bits of RFC 5991 as one number below `0x1000`.
    ///
    /// The four A bits of the first octet become bits 11..8 of the result
    /// and the eight of the second octet bits 7..0, so the value reads in
    /// the same order as the bits in the address.
    pub const fn random_bits(self) -> u16 {
        ((self.0 & 0x3c00) >> 2) | (self.0 & 0x00ff)
    }

    /// These flags with the random bits replaced by the low twelve bits of
    /// `random`, laid out as [`random_bits`](Self::random_bits) reads them.
    pub const fn with_random_bits(self, random: u16) -> Self {
        let spread = ((random & 0x0f00) << 2) | (random & 0x00ff);
        Self((self.0 & !Self::RANDOM.0) | spread)
    }
}

impl fmt::Debug for TeredoFlags {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "TeredoFlags({:#06x})", self.0)
    }
}

impl fmt::Display for TeredoFlags {
    /// Writes the field as four hex digits, as it appears in the address.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:#06x}", self.0)
    }
}

impl From<u16> for TeredoFlags {
    fn from(bits: u16) -> Self {
        Self(bits)
    }
}

impl From<TeredoFlags> for u16 {
    fn from(flags: TeredoFlags) -> Self {
        flags.0
    }
}

/// A decoded Teredo address.
///
/// It keeps the IPv6 address itself, so converting back is exact whatever
/// the flags hold.
///
/// ```
/// use std::net::Ipv4Addr;
/// use teredo_addr::TeredoAddr;
///
/// // The example of RFC 4380 §4.
/// let t: TeredoAddr = "2001:0:4136:e378:8000:63bf:3fff:fdd2".parse()?;
/// assert_eq!(t.server(), Ipv4Addr::new(65, 54, 227, 120));
/// assert_eq!(t.client(), Ipv4Addr::new(192, 0, 2, 45));
/// assert_eq!(t.port(), 40000);
/// assert!(t.is_cone());
/// # Ok::<(), teredo_addr::ParseTeredoError>(())
/// ```
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TeredoAddr(Ipv6Addr);

impl TeredoAddr {
    /// Encodes a Teredo address from its parts; `client` and `port` are the
    /// client's external (mapped) address and port, given in clear.
    pub const fn new(server: Ipv4Addr, client: Ipv4Addr, port: u16, flags: TeredoFlags) -> Self {
        let bits = (TEREDO_PREFIX.to_bits())
            | ((server.to_bits() as u128) << 64)
            | ((flags.bits() as u128) << 48)
            | (((port ^ 0xffff) as u128) << 32)
            | ((client.to_bits() ^ 0xffff_ffff) as u128);
        Self(Ipv6Addr::from_bits(bits))
    }

    /// Decodes `addr`, which must be in `2001:0::/32`.
    ///
    /// Any 64 bits after the prefix and server decode, so the only check is
    /// the prefix.
    pub const fn from_ipv6(addr: Ipv6Addr) -> Result<Self, ParseTeredoError> {
        if is_teredo(addr) {
            Ok(Self(addr))
        } else {
            Err(ParseTeredoError::NotTeredo(addr))
        }
    }

    /// The IPv6 address.
    pub const fn to_ipv6(self) -> Ipv6Addr {
        self.0
    }

    /// The Teredo server's IPv4 address (bits 32 to 63).
    pub const fn server(self) -> Ipv4Addr {
        Ipv4Addr::from_bits((self.0.to_bits() >> 64) as u32)
    }

    /// The flags (bits 64 to 79).
    pub const fn flags(self) -> TeredoFlags {
        TeredoFlags((self.0.to_bits() >> 48) as u16)
    }

    /// The client's external UDP port, de-obfuscated (bits 80 to 95).
    pub const fn port(self) -> u16 {
        (self.0.to_bits() >> 32) as u16 ^ 0xffff
    }

    /// The client's external IPv4 address, de-obfuscated (bits 96 to 127).
    pub const fn client(self) -> Ipv4Addr {
        Ipv4Addr::from_bits(self.0.to_bits() as u32 ^ 0xffff_ffff)
    }

    /// The client's external address and port, where peers send to it.
    pub const fn client_socket_addr(self) -> SocketAddrV4 {
        SocketAddrV4::new(self.client(), self.port())
    }

    /// Whether the cone bit is set in the flags.
    pub const fn is_cone(self) -> bool {
        self.flags().is_cone()
    }
}

impl fmt::Debug for TeredoAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TeredoAddr")
            .field("addr", &self.0)
            .field("server", &self.server())
            .field("client", &self.client())
            .field("port", &self.port())
            .field("flags", &self.flags())
            .finish()
    }
}

impl fmt::Display for TeredoAddr {
    /// Writes the IPv6 address in its usual text form.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

impl FromStr for TeredoAddr {
    type Err = ParseTeredoError;

    /// Parses IPv6 text and decodes it.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let addr = s
            .parse::<Ipv6Addr>()
            .map_err(|_| ParseTeredoError::NotIpv6(InputText::new(s)))?;
        Self::from_ipv6(addr)
    }
}

impl TryFrom<Ipv6Addr> for TeredoAddr {
    type Error = ParseTeredoError;

    fn try_from(addr: Ipv6Addr) -> Result<Self, Self::Error> {
        Self::from_ipv6(addr)
    }
}

impl From<TeredoAddr> for Ipv6Addr {
    fn from(t: TeredoAddr) -> Self {
        t.0
    }
}

impl From<TeredoAddr> for IpAddr {
    fn from(t: TeredoAddr) -> Self {
        Self::V6(t.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::format;
    use std::string::ToString;

    fn v6(s: &str) -> Ipv6Addr {
        s.parse().unwrap()
    }

    /// A decoded vector: address, server, client, port, flags.
    type Vector = (&'static str, [u8; 4], [u8; 4], u16, u16);

    /// Decoded vectors.
    ///
    /// The first is the example of RFC 4380 §4. The others were encoded
    /// here and their server, client and port checked against
    /// `ipv6calc --showinfo -m` (ipv6calc 1.0.0), which decodes Teredo but
    /// does not print the flags; they cover the edges: port 0, 1 and 65535,
    /// client 0.0.0.0 and 255.255.255.255, all random bits set.
    const VECTORS: &[Vector] = &[
        (
            "2001:0:4136:e378:8000:63bf:3fff:fdd2",
            [65, 54, 227, 120],
            [192, 0, 2, 45],
            40000,
            0x8000,
        ),
        (
            "2001:0:c000:201:0:f227:34ff:8efa",
            [192, 0, 2, 1],
            [203, 0, 113, 5],
            3544,
            0x0000,
        ),
        (
            "2001:0:c633:6407:0:fffe:9bbf:fefd",
            [198, 51, 100, 7],
            [100, 64, 1, 2],
            1,
            0x0000,
        ),
        (
            "2001:0:53aa:64c:8000:0:39cc:9b37",
            [83, 170, 6, 76],
            [198, 51, 100, 200],
            65535,
            0x8000,
        ),
        (
            "2001:0:a01:203:3cff:ffff::",
            [10, 1, 2, 3],
            [255, 255, 255, 255],
            0,
            0x3cff,
        ),
        (
            "2001::1234:cfc6:ffff:ffff",
            [0, 0, 0, 0],
            [0, 0, 0, 0],
            12345,
            0x1234,
        ),
    ];

    #[test]
    fn rfc4380_example_decodes() {
        let t = TeredoAddr::from_ipv6(v6("2001:0:4136:e378:8000:63bf:3fff:fdd2")).unwrap();
        assert_eq!(t.server(), Ipv4Addr::new(65, 54, 227, 120));
        assert_eq!(t.client(), Ipv4Addr::new(192, 0, 2, 45));
        assert_eq!(t.port(), 40000);
        assert_eq!(t.flags().bits(), 0x8000);
        assert!(t.is_cone());
        assert_eq!(
            t.client_socket_addr(),
            "192.0.2.45:40000".parse::<SocketAddrV4>().unwrap()
        );
    }

    #[test]
    fn vectors_decode_and_encode() {
        for &(text, server, client, port, flags) in VECTORS {
            let t: TeredoAddr = text.parse().unwrap();
            assert_eq!(t.server(), Ipv4Addr::from(server), "{text}");
            assert_eq!(t.client(), Ipv4Addr::from(client), "{text}");
            assert_eq!(t.port(), port, "{text}");
            assert_eq!(t.flags().bits(), flags, "{text}");
            let built =
                TeredoAddr::new(server.into(), client.into(), port, TeredoFlags::new(flags));
            assert_eq!(built, t, "{text}");
            assert_eq!(built.to_string(), text);
        }
    }

    #[test]
    fn flag_bits_follow_craaaaug() {
        let f = TeredoFlags::new(0x8000);
        assert!(f.is_cone() && !f.is_universal() && !f.is_group() && !f.is_reserved_set());
        assert_eq!(f.random_bits(), 0);
        assert!(TeredoFlags::new(0x0200).is_universal());
        assert!(TeredoFlags::new(0x0100).is_group());
        assert!(TeredoFlags::new(0x4000).is_reserved_set());
        // The four A bits of the first octet are the high nibble.
        assert_eq!(TeredoFlags::new(0x3c00).random_bits(), 0x0f00);
        assert_eq!(TeredoFlags::new(0x00ff).random_bits(), 0x00ff);
        assert_eq!(TeredoFlags::new(0xffff).random_bits(), 0x0fff);
        // C, R, U and G are not random bits.
        assert_eq!(TeredoFlags::new(0xc300).random_bits(), 0);
    }

    #[test]
    fn with_random_bits_inverts_random_bits() {
        for r in 0..0x1000 {
            let f = TeredoFlags::CONE.with_random_bits(r);
            assert_eq!(f.random_bits(), r);
            assert!(f.is_cone());
            assert!(!f.is_universal() && !f.is_group() && !f.is_reserved_set());
        }
        // Bits above the twelfth are ignored and other flags are kept.
        let f = TeredoFlags::new(0xffff).with_random_bits(0xf000);
        assert_eq!(f.bits(), 0xc300);
    }

    #[test]
    fn non_teredo_is_rejected() {
        for s in ["2001:db8::1", "2001:1::1", "2002::1", "::", "2000::1"] {
            assert_eq!(
                TeredoAddr::from_ipv6(v6(s)),
                Err(ParseTeredoError::NotTeredo(v6(s)))
            );
            assert!(!is_teredo(v6(s)));
        }
        assert!(is_teredo(v6("2001::")));
        assert!(is_teredo(v6("2001:0:ffff:ffff:ffff:ffff:ffff:ffff")));
    }

    #[test]
    fn from_str_errors_name_the_input() {
        let e = "zz".parse::<TeredoAddr>().unwrap_err();
        assert_eq!(e.to_string(), "\"zz\" is not an IPv6 address");
        let e = "2001:db8::1".parse::<TeredoAddr>().unwrap_err();
        assert_eq!(
            e.to_string(),
            "2001:db8::1 is not a Teredo address (outside 2001:0::/32)"
        );
        // IPv4 text is not IPv6 text.
        assert!(matches!(
            "192.0.2.1".parse::<TeredoAddr>(),
            Err(ParseTeredoError::NotIpv6(_))
        ));
    }

    #[test]
    fn conversions_agree() {
        let a = v6("2001:0:4136:e378:8000:63bf:3fff:fdd2");
        let t = TeredoAddr::try_from(a).unwrap();
        assert_eq!(Ipv6Addr::from(t), a);
        assert_eq!(IpAddr::from(t), IpAddr::V6(a));
        assert_eq!(t.to_ipv6(), a);
        assert_eq!(format!("{t:>40}"), format!("{a:>40}"));
        let dbg = format!("{t:?}");
        assert!(
            dbg.contains("65.54.227.120") && dbg.contains("40000"),
            "{dbg}"
        );
    }
}
