//! Teredo encoding and decoding for arbitrary inputs.

use std::net::{Ipv4Addr, Ipv6Addr};

use proptest::prelude::*;
use teredo_addr::{ParseTeredoError, TeredoAddr, TeredoFlags, is_teredo};

proptest! {
    #[test]
    fn encode_then_decode(server: u32, client: u32, port: u16, flags: u16) {
        let (server, client) = (Ipv4Addr::from(server), Ipv4Addr::from(client));
        let t = TeredoAddr::new(server, client, port, TeredoFlags::new(flags));
        prop_assert_eq!(t.server(), server);
        prop_assert_eq!(t.client(), client);
        prop_assert_eq!(t.port(), port);
        prop_assert_eq!(t.flags().bits(), flags);
        prop_assert_eq!(t.is_cone(), flags & 0x8000 != 0);
        // Through the IPv6 address and through its text, and back.
        let v6 = Ipv6Addr::from(t);
        prop_assert!(is_teredo(v6));
        prop_assert_eq!(TeredoAddr::from_ipv6(v6), Ok(t));
        prop_assert_eq!(t.to_string().parse::<TeredoAddr>(), Ok(t));
    }

    #[test]
    fn decode_then_encode(low: [u8; 12]) {
        let mut octets = [0x20, 0x01, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0];
        octets[4..].copy_from_slice(&low);
        let v6 = Ipv6Addr::from(octets);
        let t = TeredoAddr::try_from(v6).unwrap();
        let again = TeredoAddr::new(t.server(), t.client(), t.port(), t.flags());
        prop_assert_eq!(again.to_ipv6(), v6);
    }

    #[test]
    fn from_ipv6_accepts_exactly_the_prefix(octets: [u8; 16]) {
        let v6 = Ipv6Addr::from(octets);
        let in_prefix = octets[..4] == [0x20, 0x01, 0, 0];
        match TeredoAddr::from_ipv6(v6) {
            Ok(t) => {
                prop_assert!(in_prefix);
                prop_assert_eq!(t.to_ipv6(), v6);
            }
            Err(e) => {
                prop_assert!(!in_prefix);
                prop_assert_eq!(e, ParseTeredoError::NotTeredo(v6));
            }
        }
        prop_assert_eq!(is_teredo(v6), in_prefix);
    }

    #[test]
    fn flags_random_bits_round_trip(flags: u16, random in 0u16..0x1000) {
        let f = TeredoFlags::new(flags).with_random_bits(random);
        prop_assert_eq!(f.random_bits(), random);
        // Only the random bits change.
        prop_assert_eq!(f.bits() & !0x3cff, flags & !0x3cff);
    }

    #[test]
    fn from_str_never_panics(s in "\\PC{0,80}") {
        if let Err(e) = s.parse::<TeredoAddr>() {
            // The message names the input, truncated or not.
            prop_assert!(!e.to_string().is_empty());
        }
    }
}
