//! IPv4-embedded IPv6 addresses for NAT64 (RFC 6052 §2, RFC 8215).
//!
//! A NAT64 prefix is 32, 40, 48, 56, 64 or 96 bits long. The IPv4 address
//! follows the prefix, except that it jumps over bits 64 to 71 (the "u"
//! octet), which RFC 6052 §2.2 reserves and requires to be zero; the bits
//! left after the IPv4 address form the suffix, also zero:
//!
//! ```text
//! /32: | prefix (32)         | v4 (32)  | u | suffix (56)       |
//! /40: | prefix (40)         | v4 (24)  | u | v4 (8) | suffix   |
//! /48: | prefix (48)         | v4 (16)  | u | v4 (16) | suffix  |
//! /56: | prefix (56)         | v4 (8)   | u | v4 (24) | suffix  |
//! /64: | prefix (64)                    | u | v4 (32) | suffix  |
//! /96: | prefix (96, u included)                    | v4 (32) |
//! ```

use core::fmt;
use core::net::{Ipv4Addr, Ipv6Addr};
use core::str::FromStr;

use crate::error::{InputText, Nat64PrefixError};

/// A NAT64 prefix (RFC 6052 §2.2): an IPv6 prefix of length 32, 40, 48,
/// 56, 64 or 96 with no bits set after its length.
///
/// ```
/// use std::net::Ipv4Addr;
/// use teredo_addr::Nat64Prefix;
///
/// let p: Nat64Prefix = "2001:db8:122:344::/64".parse()?;
/// let a = p.embed(Ipv4Addr::new(192, 0, 2, 33));
/// assert_eq!(a.to_string(), "2001:db8:122:344:c0:2:2100:0");
/// assert_eq!(p.extract(a), Some(Ipv4Addr::new(192, 0, 2, 33)));
/// # Ok::<(), teredo_addr::Nat64PrefixError>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Nat64Prefix {
    prefix: Ipv6Addr,
    len: u8,
}

impl Nat64Prefix {
    /// The well-known prefix `64:ff9b::/96` (RFC 6052 §2.1).
    pub const WELL_KNOWN: Self = Self {
        prefix: Ipv6Addr::new(0x64, 0xff9b, 0, 0, 0, 0, 0, 0),
        len: 96,
    };

    /// The local-use prefix `64:ff9b:1::/48` (RFC 8215); networks carve
    /// their own NAT64 prefixes out of it.
    pub const LOCAL_USE: Self = Self {
        prefix: Ipv6Addr::new(0x64, 0xff9b, 1, 0, 0, 0, 0, 0),
        len: 48,
    };

    /// The prefix lengths RFC 6052 §2.2 allows.
    pub const LENGTHS: [u8; 6] = [32, 40, 48, 56, 64, 96];

    /// Checks and builds a prefix.
    ///
    /// Fails if `len` is not one of [`LENGTHS`](Self::LENGTHS), if `prefix`
    /// has bits set after `len`, or if a /96 prefix has a non-zero "u"
    /// octet (bits 64 to 71). Host bits are an error rather than being
    /// cleared because they usually mean the wrong length was written.
    pub const fn new(prefix: Ipv6Addr, len: u8) -> Result<Self, Nat64PrefixError> {
        if !matches!(len, 32 | 40 | 48 | 56 | 64 | 96) {
            return Err(Nat64PrefixError::BadLength { prefix, len });
        }
        let bits = prefix.to_bits();
        if len == 96 && (bits >> 56) as u8 != 0 {
            return Err(Nat64PrefixError::ReservedOctet { prefix });
        }
        if bits & (u128::MAX >> len) != 0 {
            return Err(Nat64PrefixError::HostBits { prefix, len });
        }
        Ok(Self { prefix, len })
    }

    /// The prefix address, with zero bits after the length.
    pub const fn prefix(self) -> Ipv6Addr {
        self.prefix
    }

    /// The prefix length in bits.
    pub const fn prefix_len(self) -> u8 {
        self.len
    }

    /// Whether `addr` starts with this prefix.
    pub const fn contains(self, addr: Ipv6Addr) -> bool {
        (addr.to_bits() ^ self.prefix.to_bits()) >> (128 - self.len as u32) == 0
    }

    /// The IPv4-embedded IPv6 address of `v4` under this prefix, with the
    /// "u" octet and suffix zero (RFC 6052 §2.2).
    pub const fn embed(self, v4: Ipv4Addr) -> Ipv6Addr {
        let mut out = self.prefix.octets();
        let v4 = v4.octets();
        let mut at = (self.len / 8) as usize;
        let mut i = 0;
        while i < 4 {
            if at == U_OCTET {
                at += 1;
            }
            out[at] = v4[i];
            at += 1;
            i += 1;
        }
        Ipv6Addr::from_bits(u128::from_be_bytes(out))
    }

    /// The IPv4 address embedded in `addr`, or `None` if `addr` is not
    /// under this prefix.
    ///
    /// The "u" octet and the suffix are not checked: RFC 6052 §2.2 asks
    /// translators to ignore the value of suffix bits, and an IPv4 address
    /// can be read out whatever the reserved octet holds.
    pub const fn extract(self, addr: Ipv6Addr) -> Option<Ipv4Addr> {
        if !self.contains(addr) {
            return None;
        }
        let octets = addr.octets();
        let mut v4 = [0; 4];
        let mut at = (self.len / 8) as usize;
        let mut i = 0;
        while i < 4 {
            if at == U_OCTET {
                at += 1;
            }
            v4[i] = octets[at];
            at += 1;
            i += 1;
        }
        Some(Ipv4Addr::from_bits(u32::from_be_bytes(v4)))
    }
}

/// The index of the reserved "u" octet (bits 64 to 71).
const U_OCTET: usize = 8;

impl Nat64Prefix {
    /// Whether `addr` is exactly what [`embed`](Self::embed) makes of the
    /// IPv4 address it carries: under this prefix, with the "u" octet and
    /// the suffix zero, as RFC 6052 §2.2 says a synthesized address is.
    ///
    /// [`extract`](Self::extract) is lenient (a translator ignores the
    /// suffix); this is the strict test that prefix discovery needs to
    /// tell the one right prefix length from others that merely contain
    /// the address.
    pub const fn is_embedding(self, addr: Ipv6Addr) -> bool {
        match self.extract(addr) {
            Some(v4) => self.embed(v4).to_bits() == addr.to_bits(),
            None => false,
        }
    }

    /// Every prefix, one per length RFC 6052 allows (shortest first), under
    /// which `addr` is the strict embedding of `v4` (see
    /// [`is_embedding`](Self::is_embedding)).
    ///
    /// This is the per-address step of RFC 7050's discovery: the answer to
    /// an AAAA query for `ipv4only.arpa` synthesized by a DNS64 server
    /// embeds one of the well-known addresses `192.0.0.170` and
    /// `192.0.0.171`, and where it sits in the address gives the prefix.
    /// More than one prefix means the address is ambiguous on its own
    /// (the prefix's own bits look like the IPv4 address), which RFC 7050
    /// resolves with the other well-known address.
    ///
    /// ```
    /// use std::net::Ipv4Addr;
    /// use teredo_addr::Nat64Prefix;
    ///
    /// let wka = Ipv4Addr::new(192, 0, 0, 170);
    /// let found: Vec<Nat64Prefix> =
    ///     Nat64Prefix::find_embedding("2001:db8:64::c000:aa".parse()?, wka).collect();
    /// assert_eq!(found, ["2001:db8:64::/96".parse()?]);
    /// let found: Vec<Nat64Prefix> =
    ///     Nat64Prefix::find_embedding("2001:db8:122:c000:0:aa00::".parse()?, wka).collect();
    /// assert_eq!(found, ["2001:db8:122::/48".parse()?]);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub const fn find_embedding(addr: Ipv6Addr, v4: Ipv4Addr) -> FindEmbedding {
        FindEmbedding { addr, v4, next: 0 }
    }

    /// The prefix of this length that `addr` starts with, or `None` when
    /// that prefix is not a valid NAT64 prefix (a /96 with a non-zero "u"
    /// octet).
    const fn of_length(addr: Ipv6Addr, len: u8) -> Option<Self> {
        let bits = addr.to_bits() & !(u128::MAX >> len);
        match Self::new(Ipv6Addr::from_bits(bits), len) {
            Ok(p) => Some(p),
            Err(_) => None,
        }
    }
}

/// The iterator of [`Nat64Prefix::find_embedding`].
#[derive(Debug, Clone)]
pub struct FindEmbedding {
    addr: Ipv6Addr,
    v4: Ipv4Addr,
    /// The index in [`Nat64Prefix::LENGTHS`] to try next.
    next: usize,
}

impl Iterator for FindEmbedding {
    type Item = Nat64Prefix;

    fn next(&mut self) -> Option<Nat64Prefix> {
        while let Some(&len) = Nat64Prefix::LENGTHS.get(self.next) {
            self.next += 1;
            if let Some(p) = Nat64Prefix::of_length(self.addr, len) {
                if p.embed(self.v4).to_bits() == self.addr.to_bits() {
                    return Some(p);
                }
            }
        }
        None
    }
}

impl Default for Nat64Prefix {
    /// The well-known prefix `64:ff9b::/96`.
    fn default() -> Self {
        Self::WELL_KNOWN
    }
}

impl fmt::Display for Nat64Prefix {
    /// Writes `address/length`, e.g. `64:ff9b::/96`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.prefix, self.len)
    }
}

impl FromStr for Nat64Prefix {
    type Err = Nat64PrefixError;

    /// Parses `address/length`, e.g. `64:ff9b::/96`, then checks it as
    /// [`new`](Self::new) does.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let syntax = || Nat64PrefixError::Syntax(InputText::new(s));
        let (addr, len) = s.split_once('/').ok_or_else(syntax)?;
        let prefix = addr.parse::<Ipv6Addr>().map_err(|_| syntax())?;
        // `u8::from_str` accepts a leading `+`, which is not prefix syntax.
        if len.is_empty() || !len.bytes().all(|b| b.is_ascii_digit()) {
            return Err(syntax());
        }
        let len = len.parse::<u8>().map_err(|_| syntax())?;
        Self::new(prefix, len)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::string::ToString;

    fn v6(s: &str) -> Ipv6Addr {
        s.parse().unwrap()
    }

    const V4: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 33);

    /// RFC 6052 §2.4, Table 1: 192.0.2.33 under each prefix length, plus
    /// the well-known prefix.
    const TABLE: &[(&str, u8, &str)] = &[
        ("2001:db8::", 32, "2001:db8:c000:221::"),
        ("2001:db8:100::", 40, "2001:db8:1c0:2:21::"),
        ("2001:db8:122::", 48, "2001:db8:122:c000:2:2100::"),
        ("2001:db8:122:300::", 56, "2001:db8:122:3c0:0:221::"),
        ("2001:db8:122:344::", 64, "2001:db8:122:344:c0:2:2100::"),
        ("2001:db8:122:344::", 96, "2001:db8:122:344::192.0.2.33"),
        ("64:ff9b::", 96, "64:ff9b::192.0.2.33"),
    ];

    #[test]
    fn rfc6052_table_1() {
        for &(prefix, len, embedded) in TABLE {
            let p = Nat64Prefix::new(v6(prefix), len).unwrap();
            assert_eq!(p.embed(V4), v6(embedded), "{prefix}/{len}");
            assert_eq!(p.extract(v6(embedded)), Some(V4), "{prefix}/{len}");
        }
        assert_eq!(Nat64Prefix::WELL_KNOWN.embed(V4), v6("64:ff9b::c000:221"));
    }

    #[test]
    fn every_length_is_in_the_table() {
        for len in Nat64Prefix::LENGTHS {
            assert!(TABLE.iter().any(|&(_, l, _)| l == len), "/{len}");
        }
    }

    #[test]
    fn extract_outside_prefix_is_none() {
        let p = Nat64Prefix::new(v6("2001:db8:100::"), 40).unwrap();
        assert_eq!(p.extract(v6("2001:db8:200::1")), None);
        assert_eq!(Nat64Prefix::WELL_KNOWN.extract(v6("64:ff9b:1::1")), None);
        assert_eq!(
            Nat64Prefix::LOCAL_USE.extract(v6("64:ff9b:1:c000:2:2100::")),
            Some(V4)
        );
    }

    #[test]
    fn extract_ignores_suffix() {
        let p = Nat64Prefix::new(v6("2001:db8::"), 32).unwrap();
        assert_eq!(
            p.extract(v6("2001:db8:c000:221:0:ffff:ffff:ffff")),
            Some(V4)
        );
    }

    #[test]
    fn strict_embedding() {
        for &(prefix, len, embedded) in TABLE {
            let p = Nat64Prefix::new(v6(prefix), len).unwrap();
            assert!(p.is_embedding(v6(embedded)), "{prefix}/{len}");
            if len == 96 {
                // No suffix: every address under a /96 embeds something.
                continue;
            }
            // A set suffix bit is still extracted, but is no embedding.
            let bits = v6(embedded).to_bits() | 1;
            assert!(p.extract(Ipv6Addr::from_bits(bits)).is_some());
            assert!(!p.is_embedding(Ipv6Addr::from_bits(bits)), "{prefix}/{len}");
        }
        // A set "u" octet is no embedding either.
        let p = Nat64Prefix::new(v6("2001:db8::"), 32).unwrap();
        assert!(!p.is_embedding(v6("2001:db8:c000:221:100::")));
        assert!(!p.is_embedding(v6("2001:db9:c000:221::")));
    }

    #[test]
    fn find_embedding_every_length_of_table_1() {
        for &(prefix, len, embedded) in TABLE {
            let found: std::vec::Vec<Nat64Prefix> =
                Nat64Prefix::find_embedding(v6(embedded), V4).collect();
            assert_eq!(
                found,
                [Nat64Prefix::new(v6(prefix), len).unwrap()],
                "{embedded}"
            );
        }
        assert_eq!(
            Nat64Prefix::find_embedding(v6("2001:db8::1"), V4).count(),
            0
        );
    }

    #[test]
    fn find_embedding_reports_every_ambiguous_length() {
        // Zero bits embed 0.0.0.0 under every length at once.
        let zeros = v6("2001:db8::");
        let found: std::vec::Vec<u8> = Nat64Prefix::find_embedding(zeros, Ipv4Addr::UNSPECIFIED)
            .map(Nat64Prefix::prefix_len)
            .collect();
        assert_eq!(found, Nat64Prefix::LENGTHS);
        // With the suffix and "u" octet zero, an address that embeds a
        // well-known address (192.0.0.170) at one length cannot embed it
        // at another: the non-zero first and last octets of the IPv4
        // address would have to sit where the other length has zeros.
        let wka = Ipv4Addr::new(192, 0, 0, 170);
        for len in Nat64Prefix::LENGTHS {
            let p = Nat64Prefix::new(v6("2001:db8::"), len).unwrap();
            assert_eq!(Nat64Prefix::find_embedding(p.embed(wka), wka).count(), 1);
        }
    }

    #[test]
    fn invalid_prefixes() {
        assert_eq!(
            Nat64Prefix::new(v6("2001:db8::"), 33),
            Err(Nat64PrefixError::BadLength {
                prefix: v6("2001:db8::"),
                len: 33
            })
        );
        assert_eq!(
            Nat64Prefix::new(v6("2001:db8::100:0:0:0"), 96),
            Err(Nat64PrefixError::ReservedOctet {
                prefix: v6("2001:db8::100:0:0:0")
            })
        );
        assert_eq!(
            Nat64Prefix::new(v6("2001:db8::1"), 32),
            Err(Nat64PrefixError::HostBits {
                prefix: v6("2001:db8::1"),
                len: 32
            })
        );
        // The u octet after a /64 is a host bit, not part of the prefix.
        assert!(matches!(
            Nat64Prefix::new(v6("2001:db8:0:0:100::"), 64),
            Err(Nat64PrefixError::HostBits { .. })
        ));
    }

    #[test]
    fn text_round_trip_and_errors() {
        for &(prefix, len, _) in TABLE {
            let p = Nat64Prefix::new(v6(prefix), len).unwrap();
            let text = p.to_string();
            assert_eq!(text.parse::<Nat64Prefix>(), Ok(p));
        }
        assert_eq!(Nat64Prefix::WELL_KNOWN.to_string(), "64:ff9b::/96");
        assert_eq!(Nat64Prefix::LOCAL_USE.to_string(), "64:ff9b:1::/48");
        assert_eq!(
            "64:ff9b::/96".parse::<Nat64Prefix>(),
            Ok(Nat64Prefix::WELL_KNOWN)
        );
        for bad in [
            "64:ff9b::",
            "64:ff9b::/+96",
            "64:ff9b::/",
            "zz/96",
            "64:ff9b::/300",
        ] {
            let e = bad.parse::<Nat64Prefix>().unwrap_err();
            assert_eq!(
                e.to_string(),
                std::format!("\"{bad}\" is not an IPv6 prefix (expected address/length)")
            );
        }
        assert_eq!(
            "2001:db8::/33"
                .parse::<Nat64Prefix>()
                .unwrap_err()
                .to_string(),
            "2001:db8::/33 is not a valid NAT64 prefix \
             (the length must be 32, 40, 48, 56, 64 or 96)"
        );
        assert_eq!(
            "2001:db8::1/32"
                .parse::<Nat64Prefix>()
                .unwrap_err()
                .to_string(),
            "2001:db8::1/32 is not a valid NAT64 prefix (bits are set after the first 32)"
        );
    }
}
