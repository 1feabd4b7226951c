//! NAT64 embedding and extraction for arbitrary prefixes and addresses.

use std::net::{Ipv4Addr, Ipv6Addr};

use proptest::prelude::*;
use teredo_addr::Nat64Prefix;

/// A valid prefix: random bits cut to a random allowed length, with the
/// "u" octet cleared so that /96 prefixes are valid too.
fn prefix() -> impl Strategy<Value = Nat64Prefix> {
    (
        any::<u128>(),
        prop::sample::select(Nat64Prefix::LENGTHS.to_vec()),
    )
        .prop_map(|(bits, len)| {
            let bits = bits & !(u128::MAX >> len) & !(0xff << 56);
            Nat64Prefix::new(Ipv6Addr::from(bits), len).unwrap()
        })
}

proptest! {
    #[test]
    fn embed_then_extract(p in prefix(), v4: u32) {
        let v4 = Ipv4Addr::from(v4);
        let a = p.embed(v4);
        prop_assert!(p.contains(a));
        prop_assert_eq!(p.extract(a), Some(v4));
        // RFC 6052 §2.2: the "u" octet is zero.
        prop_assert_eq!(a.octets()[8], 0);
    }

    #[test]
    fn embed_then_extract_every_length(bits: u128, v4: u32) {
        for len in Nat64Prefix::LENGTHS {
            let bits = bits & !(u128::MAX >> len) & !(0xff << 56);
            let p = Nat64Prefix::new(Ipv6Addr::from(bits), len).unwrap();
            let v4 = Ipv4Addr::from(v4);
            prop_assert_eq!(p.extract(p.embed(v4)), Some(v4), "/{}", len);
        }
    }

    #[test]
    fn extract_then_embed(p in prefix(), addr: u128) {
        // Whatever an address under the prefix holds, re-embedding what was
        // extracted only clears the "u" octet and the suffix.
        let addr = Ipv6Addr::from(p.prefix().to_bits() | (addr & (u128::MAX >> p.prefix_len())));
        let v4 = p.extract(addr).unwrap();
        let again = p.embed(v4);
        prop_assert_eq!(p.extract(again), Some(v4));
    }

    #[test]
    fn an_embedding_is_found_under_its_prefix(p in prefix(), v4: u32) {
        let v4 = Ipv4Addr::from(v4);
        let a = p.embed(v4);
        prop_assert!(p.is_embedding(a));
        let found: Vec<Nat64Prefix> = Nat64Prefix::find_embedding(a, v4).collect();
        prop_assert!(found.contains(&p), "{} not in {:?}", p, found);
        for q in found {
            prop_assert_eq!(q.embed(v4), a);
        }
    }

    #[test]
    fn extract_outside_is_none(p in prefix(), addr: u128) {
        let addr = Ipv6Addr::from(addr);
        prop_assert_eq!(p.extract(addr).is_some(), p.contains(addr));
    }

    #[test]
    fn new_never_panics(bits: u128, len: u8) {
        let p = Nat64Prefix::new(Ipv6Addr::from(bits), len);
        prop_assert_eq!(p.is_ok(), Nat64Prefix::LENGTHS.contains(&len)
            && bits & (u128::MAX.checked_shr(u32::from(len)).unwrap_or(0)) == 0
            && (len != 96 || (bits >> 56) as u8 == 0));
        if let Ok(p) = p {
            prop_assert_eq!(p.to_string().parse::<Nat64Prefix>(), Ok(p));
        }
    }
}
